"""``lowdim molrmog ...``, MoLR-MoG: ``bound`` (the estimation bound) and ``validate`` (exact score,
trained models, bound and gradient-descent rate)."""
from __future__ import annotations

import numpy as np

from .cli_common import (CURVE_POINT_BYTES, CURVE_POINT_WORK, EXIT_OK, add_output_options,
                         add_validate_options, announce, check_budget, emit, int_list, integer_option,
                         named_as_typed, option_count, validation_run)
from .registry import Family, action

__all__ = ["FAMILY"]


#: ``molrmog validate``: bytes per training sample, operations per Adam step (measured
#: 2.3e9) and the fixed part (exact-score checks, gradient-descent rate; measured 4.5e12).
MOLRMOG_SAMPLE_BYTES = 4 * 2**10
MOLRMOG_STEP_WORK = 4e9
MOLRMOG_VALIDATE_WORK = 4.5e12


def _footprint_molrmog_bound(v):
    from .limits import Footprint

    points = option_count(v, "n", "t") + option_count(v, "n")
    return Footprint(points * CURVE_POINT_BYTES, points * CURVE_POINT_WORK,
                     f"{points:,} bounds")


def _footprint_molrmog_validate(v):
    from .limits import Footprint

    n, steps = float(v["n_train"]), float(v["steps"])
    return Footprint(n * MOLRMOG_SAMPLE_BYTES,
                     MOLRMOG_VALIDATE_WORK + steps * MOLRMOG_STEP_WORK + n * 1e6,
                     f"{n:.3g} training samples", f"{steps:.3g} training steps")


@named_as_typed(D="ambient-dim", T="horizon")
def _cmd_molrmog_bound(args):
    """The estimation bound per t and over the window."""
    from .molrmog import bound_table
    from .ranges import parse_values

    nk, dk = int_list("n-modes", args.n_modes), int_list("dims", args.dims)
    if len(nk) != len(dk):
        raise ValueError(f"dims: need one d_k per subspace ({len(nk)} n_k given, {len(dk)} d_k)")
    ns = parse_values("n", args.n)
    if np.any(ns < 1):
        raise ValueError(f"n: sample sizes must be >= 1 (got {args.n!r})")
    ts = parse_values("t", args.t)
    announce(check_budget(args, _footprint_molrmog_bound))
    table = bound_table(nk, dk, [int(round(n)) for n in ns], [float(t) for t in ts], R=args.R,
                        B_mu=args.B_mu, C1=args.C1, C2=args.C2, eta=args.eta, D=args.ambient_dim,
                        learned_bases=args.learned_bases, window=not args.no_window,
                        delta=args.delta, T=args.horizon, weighting=args.weighting)
    emit(table, args, plot="molrmog_figures:plot_bound_table")
    return EXIT_OK


_cmd_molrmog_validate = validation_run(
    "molrmog", "Exact score, three trained models, bound and gradient-descent rate, each with "
    "a verdict.", 2, _footprint_molrmog_validate,
    {"n_train": (64, "training samples"), "steps": (1, "training steps")})


# --------------------------------------------------------------------------- options
def _bound_options(mb):
    g = mb.add_argument_group("model and data")
    g.add_argument("--n-modes", default="4,4", help="n_k per subspace (default 4,4)")
    g.add_argument("--dims", default="4,4", help="d_k per subspace (default 4,4)")
    g.add_argument("--n", default="1000,10000",
                   help="training sizes; a list or range (default 1000,10000)")
    g.add_argument("--t", default="0.1,0.5,1",
                   help="diffusion times (VP); a list or range (default 0.1,0.5,1)")
    g.add_argument("--R", type=float, default=5.0, help="data radius (default 5)")
    g.add_argument("--B-mu", type=float, default=0.0, help="max ||mu|| (default 0)")
    g = mb.add_argument_group("constants")
    g.add_argument("--C1", type=float, default=1.0, help="complexity constant (default 1)")
    g.add_argument("--C2", type=float, default=None,
                   help="confidence constant (default 4 (R + s B_mu)^2 / (sqrt 2 gamma^4))")
    g.add_argument("--eta", type=float, default=0.05, help="failure probability (default 0.05)")
    g.add_argument("--ambient-dim", type=integer_option("ambient-dim", 1), default=None,
                   help="ambient dimension (learned bases only)")
    g.add_argument("--learned-bases", action="store_true",
                   help="add the C3 D max d_k^3 / sqrt(n) term of learned encoders")
    g = mb.add_argument_group("window")
    g.add_argument("--no-window", action="store_true", help="omit the window average")
    g.add_argument("--delta", type=float, default=1e-3, help="early stopping (default 1e-3)")
    g.add_argument("--horizon", type=float, default=5.0, help="horizon T (default 5)")
    g.add_argument("--weighting", choices=("gamma2", "none"), default="gamma2",
                   help="window weighting: gamma_t^2 or none (default gamma2)")
    add_output_options(mb)


def _validate_options(mv):
    mv.add_argument("--n-train", type=integer_option("n-train", 1), default=4096,
                    help="training draws (default 4096)")
    mv.add_argument("--steps", type=integer_option("steps", 1), default=1500,
                    help="Adam steps per model (default 1500)")
    add_validate_options(mv)


FAMILY = Family("molrmog", "MoLR-MoG: estimation bound, score models, convergence",
                actions=(action("bound", _bound_options, _cmd_molrmog_bound),
                         action("validate", _validate_options, _cmd_molrmog_validate)),
                figures=("molrmog_figures",), bench="molrmog")
