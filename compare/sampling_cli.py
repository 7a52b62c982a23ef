"""``lowdim sampling ...``, VE sampling error: ``bound`` (every term of the KL bound) and ``validate``
(the bound against what the sampler does)."""
from __future__ import annotations

import numpy as np

from .cli_common import (EXIT_OK, add_output_options, add_validate_options, announce, check_budget,
                         choice_list, emit, integer_option, named_as_typed, option_axis, option_count,
                         run_validation, text_columns)
from .registry import Family, action

__all__ = ["FAMILY"]


#: Bytes and operations per step of a sampling grid and its bound (measured 77 bytes).
SAMPLING_STEP_BYTES = 128
SAMPLING_STEP_WORK = 5e4
#: Bytes per Monte Carlo sample of ``sampling validate`` and operations per sample and step.
SAMPLING_SAMPLE_BYTES = 256
SAMPLING_SAMPLE_WORK = 5e5


def _footprint_sampling_bound(v):
    from .limits import Footprint

    Ns = option_axis(v, "steps")
    grids = max(1, len([g for g in str(v["grid"]).split(",") if g.strip()]))
    return Footprint(Ns.max() * SAMPLING_STEP_BYTES + Ns.size * grids * 2**11,
                     grids * Ns.sum() * SAMPLING_STEP_WORK,
                     f"a grid of {Ns.max():.3g} steps", f"{grids * Ns.size} grids")


def _footprint_sampling_validate(v):
    from .limits import Footprint

    Ns = option_axis(v, "steps")
    combos = option_count(v, "eta") * max(1, len(str(v["grid"]).split(","))) * max(
        1, len(str(v["data"]).split(",")))
    n = float(v["n"])
    return Footprint(n * SAMPLING_SAMPLE_BYTES + Ns.max() * SAMPLING_STEP_BYTES,
                     combos * Ns.sum() * n * SAMPLING_SAMPLE_WORK,
                     f"{n:.3g} Monte Carlo samples",
                     f"{n:.3g} Monte Carlo samples through {Ns.sum() * combos:.3g} steps")


#: The text tables of ``sampling bound`` and ``validate``: settings (those that vary
#: first, :func:`lowdim.compare.cli_common.text_columns`) and results, most telling first:
#: the verdicts of ``validate`` right after the setting of a row, standard errors last.
BOUND_SETTINGS = ["grid", "schedule", "N", "rho", "sigma_min", "sigma_max", "d", "m2",
                  "score_error", "form"]
BOUND_RESULTS = ["total", "E_I", "E_S", "E_D", "E_D1", "E_D2", "E_D3", "gaussian_kl",
                 "bound_over_kl"]
VALIDATE_SETTINGS = ["data", "grid", "N", "eta", "d"]
VALIDATE_RESULTS = ["mc_verdict", "order_verdict", "bound", "path_kl", "path_kl_mc",
                    "sampled_kl", "sampled_kl_mc", "bound_over_sampled", "path_kl_mc_se",
                    "sampled_kl_mc_se"]


def _grid_kinds(text) -> list:
    """The sampling grids of ``--grid``, each one of the known kinds."""
    from lowdim.theory.sampling import GRID_KINDS

    return choice_list("grid", text, tuple(GRID_KINDS))


def _step_counts(text) -> np.ndarray:
    """``--steps``: numbers of steps, integers >= 1 (a log range is rounded)."""
    from .ranges import parse_integers

    return np.array(parse_integers("steps", text, 1), dtype=float)


@named_as_typed(N="steps")
def _cmd_sampling_bound(args):
    """Every term of the KL bound (Wang-He-Tao Theorem 2)."""
    from .sampling import bound_table

    grids = _grid_kinds(args.grid)
    Ns = _step_counts(args.steps)
    if args.data_variance is not None:
        dv = args.data_variance
        if not (np.isfinite(dv) and dv > 0):
            raise ValueError(f"data-variance: must be a finite number > 0 (got {dv!r})")
        if args.m2 is None and not np.isfinite(args.d * dv):
            raise ValueError(f"data-variance: d * data variance overflows (got {dv!r})")
    announce(check_budget(args, _footprint_sampling_bound))
    table = bound_table(grids, [int(n) for n in np.unique(np.round(Ns))], d=args.d, m2=args.m2,
                        score_error=args.score_error, sigma_min=args.sigma_min,
                        sigma_max=args.sigma_max, rho=args.rho, schedule=args.schedule,
                        form=args.form, data_variance=args.data_variance)
    # the Gaussian KL columns are empty without --data-variance: the text table leaves
    # them out, csv and json keep them
    emit(table, args, text_columns(table, BOUND_SETTINGS, BOUND_RESULTS),
         plot="sampling_figures:plot_bound_table")
    return EXIT_OK


@named_as_typed(N="steps")
def _cmd_sampling_validate(args):
    """The bound against what the sampler does: exact and Monte Carlo KLs, Gaussian and
    bimodal data."""
    from .ranges import parse_values

    Ns = _step_counts(args.steps)
    etas = parse_values("eta", args.eta)
    if np.any(etas < 0):
        raise ValueError(f"eta: relative score-error sizes must be >= 0 (got {args.eta!r})")
    if args.n < 200:
        raise ValueError(f"n: need at least 200 Monte Carlo samples (got {args.n})")
    if not (args.z > 0):
        raise ValueError(f"z: must be > 0 (got {args.z!r})")
    data = _sampling_data(args.data)
    grids = _grid_kinds(args.grid)
    from .sampling import VALIDATION_COLUMNS, validation_table

    combos = len(grids) * len(Ns) * len(etas) * len(data)
    return run_validation(args, _footprint_sampling_validate, combos, "sampling validate",
                          lambda update: validation_table(
                              grids, [int(n) for n in np.unique(np.round(Ns))],
                              [float(e) for e in etas], data, n=args.n, seed=args.seed,
                              device=args.device, z=args.z, progress=update),
                          known=VALIDATION_COLUMNS,
                          text=lambda table: text_columns(table, VALIDATE_SETTINGS,
                                                          VALIDATE_RESULTS))


def _sampling_data(text) -> list:
    """``--data`` of ``sampling validate``: known data models, checked up front."""
    from .sampling import DATA_MODELS

    return choice_list("data", text, tuple(DATA_MODELS))


# --------------------------------------------------------------------------- options
def _bound_options(sb):
    g = sb.add_argument_group("grid")
    g.add_argument("--grid", default="edm,geometric",
                   help="edm (polynomial rho), geometric, uniform; a list (default edm,geometric)")
    g.add_argument("--schedule", default=None,
                   help="edm (sigma_bar = t) or song (sigma_bar = sqrt t); default: EDM's for the "
                        "edm and uniform grids, Song's for geometric")
    g.add_argument("--rho", type=float, default=7.0, help="polynomial exponent (default 7)")
    g.add_argument("--sigma-min", type=float, default=0.002, help="default 0.002")
    g.add_argument("--sigma-max", type=float, default=80.0, help="default 80")
    g.add_argument("--steps", default="18", help="number of steps N; a list or range (default 18)")
    g = sb.add_argument_group("data and score")
    g.add_argument("--d", type=integer_option("d", 1), default=1, help="dimension (default 1)")
    g.add_argument("--m2", type=float, default=None,
                   help="second moment E||X0||^2 (default d * data variance, or d)")
    g.add_argument("--score-error", type=float, default=0.0,
                   help="E||S - grad log p||^2 at every level (default 0)")
    g.add_argument("--data-variance", type=float, default=None,
                   help="isotropic Gaussian data: also the exact KL and bound / KL")
    sb.add_argument("--form", choices=("explicit", "paper"), default="explicit",
                    help="explicit-constant bound (default) or the paper's statement")
    add_output_options(sb)


def _validate_options(sv):
    g = sv.add_argument_group("grid")
    g.add_argument("--grid", default="edm,geometric,uniform",
                   help="edm (rho = 7), geometric, uniform on sigma in [0.002, 80]; a list "
                        "(default all three)")
    g.add_argument("--steps", default="6,18,50", help="numbers of steps N (default 6,18,50)")
    g = sv.add_argument_group("data and score")
    g.add_argument("--data", default="gaussian,bimodal",
                   help="gaussian (d = 4, variance 0.25) and/or bimodal (1-D, modes +-1, "
                        "sd 0.1) (default both)")
    g.add_argument("--eta", default="0,0.1",
                   help="relative score-error sizes: eps_j^2 = eta E||grad log p||^2 (default 0,0.1)")
    g = sv.add_argument_group("simulation")
    g.add_argument("--n", type=integer_option("n", 1), default=20000,
                   help="Monte Carlo samples (default 20000)")
    g.add_argument("--z", type=float, default=3.0, help="agreement in standard errors (default 3)")
    add_validate_options(sv)


FAMILY = Family("sampling", "VE sampling error: bounds and schedules",
                actions=(action("bound", _bound_options, _cmd_sampling_bound),
                         action("validate", _validate_options, _cmd_sampling_validate)),
                figures=("sampling_figures",), bench="sampling")
