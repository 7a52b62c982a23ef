"""``lowdim localized ...``, localized score models: ``radius`` (the predicted error against the
radius, and r*) and ``validate``."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from .cli_common import (EXIT_NOT_CONVERGED, EXIT_OK, add_output_options, add_run_options,
                         add_validate_options, announce, check_budget, emit, int_range, integer_option,
                         named_as_typed, text_columns, validation_run, with_progress)
from .registry import Family, action

__all__ = ["FAMILY"]


#: ``localized``: operations per time step and radius in units of d**4 (the exact Van Loan
#: steps of the generated law), and the fixed and per-training-set parts of ``validate``.
LOCALIZED_STEP_WORK = 70.0
LOCALIZED_VALIDATE_WORK = 6e12
LOCALIZED_VALIDATE_SET_WORK = 7.5e11
LOCALIZED_VALIDATE_SET_BYTES = 16 * 2**20


def _footprint_localized_radius(v):
    from .limits import Footprint

    args = argparse.Namespace(**v)
    lattice = _localized_lattice(args)
    d, T = float(lattice.size), float(v["steps"]) + 1
    ns = int_range("n", v["n"], 1)
    R = float(len(_localized_radii(args, lattice)))
    S = float(v["datasets"]) if v["simulate"] else 0.0
    peak = 8.0 * (8 * d * d + 4 * T * d * d + 4 * S * T * d * d + S * max(abs(n) for n in ns) * d)
    work = LOCALIZED_STEP_WORK * R * T * d ** 4 * (1 + len(ns) * S)
    sets = f", {S:.3g} training sets per cell" if S else ""
    return Footprint(peak, work, f"the {d:.3g}-site model over {T:.3g} times{sets}",
                     f"{R:.3g} radii x {T:.3g} times on {d:.3g} sites{sets}")


def _footprint_localized_validate(v):
    from .limits import Footprint

    S = float(v["datasets"])
    return Footprint(S * LOCALIZED_VALIDATE_SET_BYTES,
                     LOCALIZED_VALIDATE_WORK + S * LOCALIZED_VALIDATE_SET_WORK,
                     f"{S:.3g} training sets per cell")


def _localized_lattice(args):
    """The lattice of ``--d`` sites (a chain, or a square grid); cheap, no matrices."""
    from lowdim.theory.localized import Lattice

    if args.lattice == "grid":
        side = int(round(args.d ** 0.5))
        if side * side != args.d:
            raise ValueError(f"d: a square grid needs a square number of sites (got {args.d})")
        return Lattice((side, side), periodic=not args.open)
    return Lattice((args.d,), periodic=not args.open)


def _localized_target(args):
    from lowdim.theory.localized import banded_gaussian

    return banded_gaussian(_localized_lattice(args), args.r0, args.kappa)


def _localized_radii(args, lattice) -> list:
    """``--radii`` below the lattice diameter, then ``None`` (the global model)."""
    radii = int_range("radii", args.radii, 0)
    if min(radii) < 0:
        raise ValueError(f"radii: a radius must be >= 0 (got {args.radii!r})")
    return [r for r in radii if r < lattice.diameter] + [None]


#: The text tables of ``localized radius``, after ``n`` and ``r``: the calculator's terms,
#: its r* and whether the first-order statistical term holds (which the note on stderr
#: names); with ``--simulate`` the measured errors beside the predicted ones.
RADIUS_RESULTS = ["localization", "statistical", "path", "kl", "r_star", "first_order",
                  "r_star_path", "closed_form", "floor"]
SWEEP_RESULTS = ["score_error", "score_error_se", "theory_integral", "kl", "kl_se",
                 "theory_kl", "theory_path", "path_bound", "bound_holds", "floor", "seconds"]

#: The drawing of ``localized radius --plot``.
_PLOT = "localized_figures:plot_radius_table"


@named_as_typed(T="horizon")
def _cmd_localized_radius(args):
    """Predicted KL against the radius and r* per n (--simulate: measured on the linear
    estimator)."""
    from lowdim.theory.localized import time_grid

    lattice = _localized_lattice(args)
    ns = int_range("n", args.n, 1)
    if min(ns) < 1:
        raise ValueError(f"n: sample sizes must be >= 1 (got {args.n!r})")
    radii = _localized_radii(args, lattice)
    if args.simulate and args.datasets < 2:
        raise ValueError(f"datasets: need at least 2 training sets (got {args.datasets})")
    grid = time_grid(args.delta, args.horizon, args.steps)
    fp = check_budget(args, _footprint_localized_radius)
    if args.simulate:
        from lowdim.simulate.device import resolve_device

        resolve_device(args.device)
    from .localized import calculator_table, optimal_radius_table, sweep_table

    target = _localized_target(args)
    announce(fp)
    table, curve = calculator_table(target, ns, radii, grid=grid)
    if args.simulate:
        sweep = with_progress(not args.quiet, len(ns) * len(radii), "localized radius",
                               lambda update: sweep_table(target, ns, radii,
                                                          datasets=args.datasets,
                                                          seed=args.seed, device=args.device,
                                                          grid=grid, curve=curve,
                                                          progress=update))
        emit(sweep, args, text_columns(sweep, ["n", "r", "datasets"], SWEEP_RESULTS),
             plot=_PLOT)
        opt = optimal_radius_table(sweep)
        print(opt.to_text(), file=sys.stderr)
    else:
        emit(table, args, text_columns(table, ["n", "r"], RADIUS_RESULTS), plot=_PLOT)
        kl_stars = curve.r_star if curve.r_star_kl is None else curve.r_star_kl
        if any(r is not None for r in curve.radii):
            stars = ", ".join(f"n = {int(n)}: r* = {r} (path side {rp}, closed form "
                              + (f"{c:.2f})" if np.isfinite(c) else "not fitted)")
                              for n, r, rp, c in zip(curve.n, kl_stars, curve.r_star,
                                                      curve.closed_form))
        else:
            stars = "no finite radius below the lattice diameter: only the global model"
        print(stars, file=sys.stderr)
    if not curve.success:
        print(f"lowdim: {curve.message}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    if not curve.first_order.all():
        # the calculator's table shows which rows (first_order NO); the simulated one has
        # no such column, the n are in the message
        where = "" if args.simulate else " (the rows with first_order NO)"
        print(f"note: {curve.message.split('; ', 1)[1]}{where}", file=sys.stderr)
    return EXIT_OK


_cmd_localized_validate = validation_run(
    "localized", "The localization claims, each with a verdict.", 6,
    _footprint_localized_validate, {"datasets": (4, "training sets")})


# --------------------------------------------------------------------------- options
def _datasets_option(p):
    p.add_argument("--datasets", type=integer_option("datasets", 1), default=8,
                   help="training sets per n (default 8)")


def _radius_options(lr):
    lr.add_argument("--d", type=integer_option("d", 1), default=64, help="number of sites (default 64)")
    lr.add_argument("--lattice", choices=("chain", "grid"), default="chain",
                    help="chain, or a square grid of d sites (default chain)")
    lr.add_argument("--open", action="store_true", help="open boundary (default periodic)")
    lr.add_argument("--r0", type=integer_option("r0", 1), default=1,
                    help="precision bandwidth (default 1)")
    lr.add_argument("--kappa", type=float, default=20.0, help="condition number (default 20)")
    lr.add_argument("--n", default="16,64,256,1024",
                    help="sample sizes: a list and/or ranges (default 16,64,256,1024)")
    lr.add_argument("--radii", default="0-12", help="radii: a list and/or ranges; the global "
                                                    "model is always added (default 0-12)")
    lr.add_argument("--delta", type=float, default=1e-2, help="stopping time (default 0.01)")
    lr.add_argument("--horizon", type=float, default=6.0, help="horizon T (default 6)")
    lr.add_argument("--steps", type=integer_option("steps", 1), default=60,
                    help="sampler steps (default 60)")
    lr.add_argument("--simulate", action="store_true",
                    help="also fit the localized linear estimator on --datasets training sets "
                         "and measure its score error and exact KL")
    _datasets_option(lr)
    add_run_options(lr)
    add_output_options(lr)


def _validate_options(lv):
    _datasets_option(lv)
    add_validate_options(lv)


FAMILY = Family("localized", "localized score models: localization against statistical "
                "error, the optimal radius",
                actions=(action("radius", _radius_options, _cmd_localized_radius),
                         action("validate", _validate_options, _cmd_localized_validate)),
                figures=("localized_figures",), bench="localized")
