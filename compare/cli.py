"""The ``lowdim`` command line.

    lowdim rf curve     [setting options] [--format table|csv|json] [--plot FILE] [--output FILE]
    lowdim rf validate  [setting options] [--d 200] [--seeds 3] [--device auto] [--sim-m 64] ...
    lowdim rf sample-complexity [--data linear-manifold] [--d 1000 --D 25,50,100] [--eps 0.01]
    lowdim sampling bound [--grid edm,geometric] [--N 18] [--d 1] [--m2] [--score-error 0] ...
    lowdim sampling validate [--grid edm,geometric,uniform] [--N 6,18,50] [--eta 0,0.1] ...
    lowdim molrmog bound [--n-modes 4,4] [--dims 4,4] [--n 1000,10000] [--t 0.1,0.5,1] [--R 5]
    lowdim molrmog validate [--n-train 4096] [--steps 1500] [--device auto]
    lowdim molrg phase [--K 2] [--learner ideal|trained|oracle] [--d 2-8] [--N 1-15] [--D 48] ...
    lowdim molrg validate [--trials 40] [--device auto]
    lowdim localized radius [--d 64] [--r0 1] [--kappa 20] [--n 16,64,256,1024] [--radii 0-12]
    lowdim localized validate [--datasets 8] [--device auto]
    lowdim figures      [ID ...|--all] [--preset quick|paper] [--out figures] [--list]
                        [--executor local|serial|dask] [--workers N] [--scheduler ADDR]
                        [--cache DIR | --no-cache]
    lowdim cache        [--dir DIR] [--clear]
    lowdim doctor       [--device auto] [--cache DIR] [--no-smoke] [--format table|csv|json]
    lowdim bench        [--quick]

Every action that computes also takes ``--max-memory SIZE`` and ``--max-work OPS``: a request
whose estimated memory or work exceeds them (defaults: half the physical memory, 1e15
operations; ``LOWDIM_MAX_MEMORY``, ``LOWDIM_MAX_WORK``) is refused before any work, naming
the option responsible (:mod:`lowdim.compare.limits`).  ``-o FILE`` is written atomically; ``-o -``
is stdout.

Exit codes: 0 success; 2 bad input (one line on stderr); 3 a theory point did not converge;
4 ``rf validate``, ``sampling validate``, ``molrmog validate``, ``molrg validate`` or
``localized validate`` found a disagreement; ``localized radius`` exits 3 when r* sits at the
largest radius asked for (the minimum may lie beyond); 5 ``rf validate`` was
inconclusive somewhere (too few seeds to confirm a deviation beyond the 3 % allowance); 1 any
other failure (``doctor``: a check failed).  ``figures`` builds every figure asked for,
misses included, reports the agreement of each, and exits 4 when the stated checks of any
figure disagree (the closing lines name them), 0 when all agree.  Interrupted: 130 (Ctrl-C)
or 143 (SIGTERM), after one line on stderr, with no temporary file and no worker process
left behind.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import time

import numpy as np

from .limits import MAX_INT, MAX_SEED, check_integer

__all__ = ["main"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_NOT_CONVERGED, EXIT_DISAGREE, EXIT_INCONCLUSIVE = (
    0, 1, 2, 3, 4, 5)


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and no traceback."""

    def error(self, message):
        raise UsageError(message)


def _progress(enabled: bool, total: int, desc: str):
    """A tqdm bar on stderr when enabled and stderr is a terminal, else a no-op callback."""
    if not enabled or not sys.stderr.isatty() or total <= 1:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False)

    def update(done, total_now):
        bar.total = total_now
        bar.n = done
        bar.refresh()

    return update, bar.close


def _with_progress(enabled: bool, total: int, desc: str, run):
    """``run(update)`` under a progress bar (see :func:`_progress`), closed whatever happens."""
    update, close = _progress(enabled, total, desc)
    try:
        return run(update)
    finally:
        close()


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1 (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1 (got {text!r})")
    return value


def _integer_option(name: str, low: int, high: int = MAX_INT):
    """An argparse ``type`` for an integer option in ``[low, high]``.

    A bad value is the one line ``<name>: must be an integer between low and high (got ...)``,
    naming the option as typed, at parse time (before any work); ``1e3`` is read as 1000, and
    integers beyond what the backends take (``1e23``) are refused, not handed to torch.
    """
    def convert(text):
        try:
            return check_integer(name, text, low, high)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    convert.__name__ = f"{name} integer"
    return convert


def _as_typed(message: str, args) -> str:
    """``message`` with the options of the action spelled as typed: an error
    ``sigma_min: must be smaller than sigma_max`` (Python names, from a library) becomes
    ``sigma-min: must be smaller than sigma-max`` when ``--sigma-min`` and ``--sigma-max``
    are options of the action.  Other words are left as they are."""
    import re

    options = [k for k in vars(args) if "_" in k and not k.startswith("_")]
    if not options:
        return message
    pattern = r"(?<![\w-])(" + "|".join(map(re.escape, options)) + r")(?![\w-])"
    return re.sub(pattern, lambda m: m.group(1).replace("_", "-"), message)


def _named_as_typed(func):
    """Decorate an action so that its errors name options as the user typed them
    (:func:`_as_typed`)."""
    @functools.wraps(func)
    def run(args):
        try:
            return func(args)
        except ValueError as exc:
            message = _as_typed(str(exc), args)
            if message == str(exc):
                raise
            raise ValueError(message) from None

    return run


def _emit_verdict(table, args):
    """Write a validation table, its one-line summary on stderr, and the exit code."""
    _emit(table, args)
    summary = table.meta["summary"]
    print(summary["text"], file=sys.stderr)
    return EXIT_OK if summary["ok"] else EXIT_DISAGREE


# --------------------------------------------------------------------------- resources
# Estimates of each action's peak memory (bytes) and work (floating-point operations, the
# slow loops counted at what they cost), from the option values alone: an option's list is
# read (counted first, at most lowdim.compare.limits.MAX_VALUES values), but no grid is formed and
# no setting is built.  They mirror what the code allocates (simulate/rf.py:
# W, X, the p x p Gram matrix and its factor, one noise block of features, one test block;
# simulate/molrg.py: the (B, N, D, d) gather of draw_batch; theory/localized: (T, d, d)
# stacks of matrices) with measured constants, and err on the large side.
#: Bytes per point of a theory curve: prediction arrays and the table row (measured 2.7 KiB
#: for a table, 6.5 KiB for JSON).
CURVE_POINT_BYTES = 8 * 2**10
#: Operations per point of a curve (the self-consistent solve, about 40 us).
CURVE_POINT_WORK = 2e6
#: Bytes and operations per point of a sample-complexity search (measured about 240 KiB
#: and 5 ms).
SEARCH_POINT_BYTES = 256 * 2**10
SEARCH_POINT_WORK = 3e8
#: Bytes and operations per step of a sampling grid and its bound (measured 77 bytes).
SAMPLING_STEP_BYTES = 128
SAMPLING_STEP_WORK = 5e4
#: Bytes per Monte Carlo sample of ``sampling validate`` and operations per sample and step.
SAMPLING_SAMPLE_BYTES = 256
SAMPLING_SAMPLE_WORK = 5e5
#: ``molrmog validate``: bytes per training sample, operations per Adam step (measured
#: 2.3e9) and the fixed part (exact-score checks, gradient-descent rate; measured 4.5e12).
MOLRMOG_SAMPLE_BYTES = 4 * 2**10
MOLRMOG_STEP_WORK = 4e9
MOLRMOG_VALIDATE_WORK = 4.5e12
#: ``molrg validate``: bytes and operations per trial (measured about 65 MiB and 7.8e11).
MOLRG_TRIAL_BYTES = 64 * 2**20
MOLRG_TRIAL_WORK = 8e11
#: ``localized``: operations per time step and radius in units of d**4 (the exact Van Loan
#: steps of the generated law), and the fixed and per-training-set parts of ``validate``.
LOCALIZED_STEP_WORK = 70.0
LOCALIZED_VALIDATE_WORK = 6e12
LOCALIZED_VALIDATE_SET_WORK = 7.5e11
LOCALIZED_VALIDATE_SET_BYTES = 16 * 2**20


def _count(values: dict, *names, allow_inf=("m",)) -> int:
    """Product of the numbers of values of list options (``None`` ones count 1), counted
    without expanding a range."""
    from .ranges import count_values

    total = 1
    for name in names:
        if values.get(name) is not None:
            total *= count_values(name.replace("_", "-"), values[name],
                                  allow_inf=name in allow_inf)
    return total


def _axis(values: dict, name: str, *, inf_as=None) -> np.ndarray:
    """The magnitudes of a list option, for an estimate: infinities become ``inf_as`` and a
    NaN is left out (the setting refuses it by name later)."""
    from .ranges import parse_values

    x = parse_values(name.replace("_", "-"), values[name], allow_inf=inf_as is not None)
    if inf_as is not None:
        x = np.where(np.isinf(x), float(inf_as), x)
    x = np.abs(x[np.isfinite(x)])
    return x if x.size else np.ones(1)


def _rf_fit_bytes(d, n, p, m, n_test) -> float:
    """Peak bytes of one seed of :func:`lowdim.simulate.rf.fit_seed` (float64): W and its
    transpose, X, the p x p Gram matrix with its copy and Cholesky factor, the p x d
    right-hand sides and solution, one block of 8 noise copies (noises, inputs, features),
    one test block, and the data model's d x d matrices."""
    d, n, p = float(d), max(1.0, float(np.ceil(n))), max(1.0, float(np.ceil(p)))
    rows = min(8.0, max(1.0, float(m))) * n
    tb = min(2048.0, 256.0 * np.ceil(n_test / 256.0))
    elems = (7 * p * d + 2 * n * d + 4 * p * p + rows * (3 * d + 2 * p)
             + tb * (6 * d + 2 * p) + 3 * d * d)
    return 8.0 * elems


def _rf_fit_work(d, n, p, m, n_test) -> float:
    """Operations of one seed of :func:`lowdim.simulate.rf.fit_seed`, summed over a grid of ``n``
    (array), ``p`` (array) and ``m`` (array) values: features and Gram matrix over the n m
    noisy inputs, the ridge solve, the test set."""
    d = float(d)
    sn, sm, sp = n.sum(), m.sum(), p.sum()
    return float(2 * sn * sm * ((p ** 2).sum() + 3 * d * sp) + 3 * d * sn * sm * p.size
                 + n.size * m.size * ((p ** 3).sum() + 4.0 * n_test * d * sp))


def _footprint_rf_curve(v):
    from .limits import Footprint

    names = ("psi_n", "psi_p", "t", "lam", "m", "psi_d")
    points = _count(v, *names)
    return Footprint(points * CURVE_POINT_BYTES, points * CURVE_POINT_WORK,
                     f"a grid of {points:,} points")


def _footprint_rf_validate(v):
    from .limits import Footprint
    from .ranges import parse_seeds

    psi_n, psi_p = _axis(v, "psi_n"), _axis(v, "psi_p")
    m = np.maximum(1.0, _axis(v, "m", inf_as=v["sim_m"]))
    other = _count(v, "t", "lam", "psi_d")
    seeds = len(parse_seeds(v["seeds"]))
    points = psi_n.size * psi_p.size * m.size * other
    dims = [v["d"]] + ([v["d"] // 2] if v["extrapolate"] else [])
    d = v["d"]
    n, p = float(np.ceil(psi_n.max() * d)), float(np.ceil(psi_p.max() * d))
    peak = max(_rf_fit_bytes(k, psi_n.max() * k, psi_p.max() * k, m.max(), v["n_test"])
               for k in dims)
    work = seeds * other * sum(_rf_fit_work(k, psi_n * k, psi_p * k, m, v["n_test"])
                               for k in dims)
    return Footprint(peak + 2 * points * CURVE_POINT_BYTES, work,
                     f"a simulation at d = {d} (n = {n:.3g}, p = {p:.3g}, m = {m.max():.3g}, "
                     f"{v['n_test']} test samples)",
                     f"{points:,} points x {seeds} seeds at d = {d}")


def _footprint_rf_sample_complexity(v):
    from .limits import Footprint

    pairs = _count(v, "psi_d") if v.get("psi_d") is not None else _count(v, "d", "D")
    points = pairs * _count(v, "psi_p", "t", "lam", "m")
    return Footprint(points * SEARCH_POINT_BYTES, points * SEARCH_POINT_WORK,
                     f"a search over {points:,} settings")


def _footprint_sampling_bound(v):
    from .limits import Footprint

    Ns = _axis(v, "N")
    grids = max(1, len([g for g in str(v["grid"]).split(",") if g.strip()]))
    return Footprint(Ns.max() * SAMPLING_STEP_BYTES + Ns.size * grids * 2**11,
                     grids * Ns.sum() * SAMPLING_STEP_WORK,
                     f"a grid of {Ns.max():.3g} steps", f"{grids * Ns.size} grids")


def _footprint_sampling_validate(v):
    from .limits import Footprint

    Ns = _axis(v, "N")
    combos = _count(v, "eta") * max(1, len(str(v["grid"]).split(","))) * max(
        1, len(str(v["data"]).split(",")))
    n = float(v["n"])
    return Footprint(n * SAMPLING_SAMPLE_BYTES + Ns.max() * SAMPLING_STEP_BYTES,
                     combos * Ns.sum() * n * SAMPLING_SAMPLE_WORK,
                     f"{n:.3g} Monte Carlo samples",
                     f"{n:.3g} Monte Carlo samples through {Ns.sum() * combos:.3g} steps")


def _footprint_molrmog_bound(v):
    from .limits import Footprint

    points = _count(v, "n", "t") + _count(v, "n")
    return Footprint(points * CURVE_POINT_BYTES, points * CURVE_POINT_WORK,
                     f"{points:,} bounds")


def _footprint_molrmog_validate(v):
    from .limits import Footprint

    n, steps = float(v["n_train"]), float(v["steps"])
    return Footprint(n * MOLRMOG_SAMPLE_BYTES,
                     MOLRMOG_VALIDATE_WORK + steps * MOLRMOG_STEP_WORK + n * 1e6,
                     f"{n:.3g} training samples", f"{steps:.3g} training steps")


def _footprint_molrg_phase(v):
    from .limits import Footprint
    from .molrg import TRAIN_DEFAULTS

    ds, Ns = _int_range("d", v["d"], 1), _int_range("N", v["N"], 1)
    K, D, trials = float(v["K"]), float(v["D"]), float(v["trials"])
    problems = len(Ns) * trials
    rows = K * max(1, max(Ns))
    trained = v["learner"] == "trained"
    steps = float(v["steps"] or TRAIN_DEFAULTS["steps"]) if trained else 0.0
    restarts = float(v["restarts"] or TRAIN_DEFAULTS["restarts"]) if trained else 4.0
    d_max = float(max(abs(d) for d in ds))
    copies = restarts if trained else 1.0
    peak = 8.0 * problems * (rows * D * (d_max + 24) + 8 * K * D * D) * copies

    def work(d):
        # K-subspaces: 4 restarts of up to 30 alternations; training: per SGD step the
        # noisy pairs, the soft-max denoiser and its gradient (measured about 500 K
        # operations per sample, dimension and step)
        fits = restarts * (60 * K + 500 * steps * K)
        return problems * (rows * D * (d + 1) * fits + 30 * restarts * K * D ** 3)

    return Footprint(peak, float(sum(work(float(abs(d))) for d in ds)),
                     f"{problems:.3g} problems of {rows:.3g} samples in D = {D:.3g}",
                     f"{problems * len(ds):.3g} problems")


def _footprint_molrg_validate(v):
    from .limits import Footprint

    trials = float(v["trials"])
    return Footprint(trials * MOLRG_TRIAL_BYTES, trials * MOLRG_TRIAL_WORK,
                     f"{trials:.3g} trials per cell")


def _footprint_localized_radius(v):
    from .limits import Footprint

    args = argparse.Namespace(**v)
    lattice = _localized_lattice(args)
    d, T = float(lattice.size), float(v["steps"]) + 1
    ns = _int_range("n", v["n"], 1)
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


def _option_defaults(args) -> dict:
    """Every option's default for the action of ``args``."""
    parser, _ = build_parser()
    return vars(parser.parse_args([args.command, args.action]))


def _check_budget(args, estimate):
    """Refuse, before any work, a request whose estimated peak memory or work exceeds the
    budgets (:mod:`lowdim.compare.limits`), naming the option responsible as typed.  Returns the
    footprint, for :func:`_announce`."""
    from .limits import check_footprint

    return check_footprint(estimate, vars(args), lambda: _option_defaults(args),
                           max_memory=args.max_memory, max_work=args.max_work)


def _announce(footprint) -> None:
    """Once every check has passed, just before the work: say on stderr (even under
    ``--quiet``) when the run will take a while."""
    from . import limits

    if footprint.flops > limits.NOTE_WORK:
        print(f"lowdim: note: {footprint.work_what} is about {footprint.flops:.2g} "
              f"floating-point operations, roughly {limits.duration(footprint.flops)} on two "
              f"CPU cores", file=sys.stderr)


# --------------------------------------------------------------------------- rf
def _add_setting_options(p, *, psi_p_default, m_default):
    g = p.add_argument_group("setting (each accepts a list a,b,c or a log range start:stop:count)")
    g.add_argument("--data", default="gaussian",
                   help="gaussian, subspace, linear-manifold or hidden-manifold (default gaussian)")
    g.add_argument("--psi-d", default=None,
                   help="intrinsic ratio D/d in (0, 1] (subspace and manifold data)")
    g.add_argument("--manifold-activation", default=None,
                   help="phi of the hidden manifold x = phi(Mz/sqrt(D)) (default tanh)")
    g.add_argument("--activation", default="tanh", help="tanh, relu, erf or linear (default tanh)")
    g.add_argument("--t", default="0.1", help="diffusion time (default 0.1)")
    g.add_argument("--lam", default="1e-3", help="ridge lambda > 0 (default 1e-3)")
    g.add_argument("--m", default=m_default, help=f"noise samples per data point, or inf "
                                                  f"(default {m_default})")
    g.add_argument("--psi-n", default="2", help="n/d (default 2)")
    g.add_argument("--psi-p", default=psi_p_default, help=f"p/d (default {psi_p_default})")


def _add_run_options(p):
    """``--seed``, ``--device`` and ``--quiet``, shared by every command that simulates."""
    p.add_argument("--seed", type=_integer_option("seed", 0, MAX_SEED), default=0,
                   help="random seed, an integer >= 0 (default 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _add_output_options(p, *, plot=True):
    """``--format``, ``--output``, ``--plot`` (where the action draws one) and the resource
    options (:func:`_add_limit_options`): every action that computes takes them."""
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write the table to FILE (atomically, with FILE.meta.json beside it "
                        "unless --format json); - for stdout")
    if plot:
        p.add_argument("--plot", metavar="FILE",
                       help="also draw a picture to FILE (PNG, or the format its extension "
                            "names: pdf, svg, ...)")
    _add_limit_options(p)


def _add_limit_options(p):
    """``--max-memory`` and ``--max-work``: the budgets a request is checked against, from
    its arguments, before any work (:mod:`lowdim.compare.limits`)."""
    g = p.add_argument_group("resources (requests estimated beyond these are refused up front)")
    g.add_argument("--max-memory", metavar="SIZE", default=None,
                   help="memory budget, e.g. 4G or 512M (default: $LOWDIM_MAX_MEMORY, else "
                        "half the physical memory)")
    g.add_argument("--max-work", metavar="OPS", default=None,
                   help="work budget in floating-point operations, e.g. 1e16 (default: "
                        "$LOWDIM_MAX_WORK, else 1e15, about 5 hours on two CPU cores)")


def _setting_from_args(args):
    from lowdim.theory.rf import RFSetting

    from .ranges import parse_values

    psi_n = parse_values("psi-n", args.psi_n)
    psi_p = parse_values("psi-p", args.psi_p)
    t = parse_values("t", args.t)
    lam = parse_values("lam", args.lam)
    m = parse_values("m", args.m, allow_inf=True)
    psi_d = parse_values("psi-d", args.psi_d) if args.psi_d is not None else None
    axes = [psi_n, psi_p, t, lam, m] + ([psi_d] if psi_d is not None else [])
    grids = [g.ravel() for g in np.meshgrid(*axes, indexing="ij")]
    return RFSetting(psi_n=grids[0], psi_p=grids[1], t=grids[2], lam=grids[3], m=grids[4],
                     activation=args.activation, data=args.data,
                     psi_d=grids[5] if psi_d is not None else None,
                     manifold_activation=args.manifold_activation)


def _save_plot(path, draw):
    """``draw(tmp)`` to a temporary file beside ``path``, renamed over it when complete."""
    from .atomic import write_with

    write_with(path, draw)


def _emit(table, args, columns=None):
    """Write ``table`` in ``--format`` to stdout, or atomically to ``--output`` (``-`` is
    stdout) with its metadata in ``FILE.meta.json`` (json output carries it already)."""
    if args.format == "csv":
        text = table.select(columns or table.columns).to_csv()
    elif args.format == "json":
        text = table.select(columns or table.columns).to_json()
    else:
        text = table.to_text(columns)
    text = text if text.endswith("\n") else text + "\n"
    if args.output and args.output != "-":
        import json

        from .atomic import write_text

        write_text(args.output, text)
        if args.format != "json":
            write_text(args.output + ".meta.json",
                       json.dumps(table.meta, indent=1, default=str) + "\n")
    else:
        sys.stdout.write(text)


def _sweep_axis(setting):
    """The setting column with the most distinct values (the x axis of a plot)."""
    counts = {k: len(np.unique(getattr(setting, k)))
              for k in ("psi_p", "psi_n", "lam", "t", "m", "psi_d")}
    return max(counts, key=lambda k: counts[k])


@_named_as_typed
def _cmd_rf_curve(args):
    from .rf import curve

    if not (args.tol > 0):
        raise ValueError(f"tol: must be > 0 (got {args.tol!r})")
    fp = _check_budget(args, _footprint_rf_curve)
    setting = _setting_from_args(args)
    _announce(fp)
    table = curve(setting, tol=args.tol)
    _emit(table, args)
    if args.plot:
        from .rf_figures import plot_curve_table

        _save_plot(args.plot, lambda path: plot_curve_table(table, _sweep_axis(setting), path))
    if not table.meta["success"]:
        print(f"lowdim: {table.meta['message']}; their errors are left empty", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return EXIT_OK


@_named_as_typed
def _cmd_rf_validate(args):
    from .ranges import parse_seeds

    seeds = parse_seeds(args.seeds)
    if not (args.z > 0):
        raise ValueError(f"z: must be > 0 (got {args.z!r})")
    if not (0 <= args.rel_tol < 1):
        raise ValueError(f"rel-tol: must be in [0, 1) (got {args.rel_tol!r})")
    if args.extrapolate and args.d < 8:
        raise ValueError(f"d: the 1/d extrapolation needs d >= 8 (got {args.d}); "
                         "or pass --no-extrapolate")
    fp = _check_budget(args, _footprint_rf_validate)
    from lowdim.simulate.device import resolve_device
    from lowdim.simulate.rf import RFSize

    from .rf import ALLOWANCE_MIN_D, DEFAULT_REL_TOL, experiment, wide_view
    from .rf_figures import plot_validation_table

    resolve_device(args.device)
    setting = _setting_from_args(args)
    size = RFSize(d=args.d, seeds=seeds, n_test=args.n_test, device=args.device,
                  dtype=args.dtype)
    _announce(fp)
    t0 = time.perf_counter()
    tidy = _with_progress(not args.quiet, setting.size, "simulating", lambda update: experiment(
        setting, size, sim_m=args.sim_m, z=args.z, rel_tol=args.rel_tol,
        extrapolate=args.extrapolate, progress=update))
    wide = wide_view(tidy)
    if args.format == "table":
        cols = ["psi_n", "psi_p", "m", "t", "lam", "activation"]
        if setting.data != "gaussian":
            cols += ["psi_d"]
        cols += ["quantity", "theory"]
        if any(r["m"] == "inf" for r in tidy.rows):
            cols += ["sim_m", "theory_at_sim_m"]
        cols += ["d", "sim_mean", "sim_se"]
        if args.extrapolate:
            cols += ["extrapolated", "extrapolated_se"]
        cols += ["rel_deviation", "verdict"]
        _emit(tidy, args, cols)
    else:
        _emit(tidy if args.tidy else wide, args)
    if args.plot:
        _save_plot(args.plot, lambda path: plot_validation_table(
            tidy, _sweep_axis(setting), path, z=args.z))
    s = tidy.meta["summary"]
    n_points = len(wide)
    bad_points = sum(1 for r in wide.rows if r["verdict"] != "agree")
    n_disagree = sum(1 for r in wide.rows if r["verdict"].startswith("DISAGREE"))
    judged = (f"1/d-extrapolated from d={args.d // 2},{args.d}" if args.extrapolate
              else f"d={args.d}")
    msg = (f"{n_points - bad_points} of {n_points} points agree "
           f"(|sim - theory| <= max({args.z:g} SE, {args.rel_tol:.0%}), {args.z:g} SE as a "
           f"Student-t band, {judged}); "
           f"{len(size.seeds)} seeds, {time.perf_counter() - t0:.1f} s")
    if args.d < ALLOWANCE_MIN_D:
        msg += (f"\nnote: d = {args.d} is small for the d -> inf theory: the "
                f"{DEFAULT_REL_TOL:.0%} allowance covers its finite-size corrections (about 5/d) "
                f"from d = {ALLOWANCE_MIN_D} on; here expect about {5 / args.d:.0%}")
    print(msg, file=sys.stderr)
    if s["theory_not_converged"]:
        return EXIT_NOT_CONVERGED
    if n_disagree:
        return EXIT_DISAGREE
    return EXIT_INCONCLUSIVE if bad_points else EXIT_OK


def _sample_complexity_pairs(args) -> list:
    """The distinct ``(d, D, D/d)`` of ``--d``/``--D`` (``(None, None, psi_d)`` for
    ``--psi-d``), in the order given; repeated values are computed once."""
    from .ranges import parse_values

    pairs = []
    if args.psi_d is not None:
        if args.d is not None or args.D is not None:
            raise ValueError("psi-d: give either --psi-d, or --d with --D, not both")
        pairs = [(None, None, float(g)) for g in parse_values("psi-d", args.psi_d)]
    else:
        if args.d is None or args.D is None:
            raise ValueError("d: give --d and --D (lists), or --psi-d")
        for d in parse_values("d", args.d):
            for D in parse_values("D", args.D):
                if D > d:
                    continue
                pairs.append((int(round(d)), int(round(D)), D / d))
        if not pairs:
            raise ValueError("D: every D exceeds every d")
    return list(dict.fromkeys(pairs))


@_named_as_typed
def _cmd_rf_sample_complexity(args):
    from lowdim.theory.rf import RFSetting, sample_complexity

    from .provenance import provenance
    from .ranges import parse_values
    from .table import Table

    if args.data == "gaussian":
        raise ValueError("data: sample complexity against D needs subspace or manifold data")
    fp = _check_budget(args, _footprint_rf_sample_complexity)
    pairs = _sample_complexity_pairs(args)
    psi_p = parse_values("psi-p", args.psi_p)
    t = parse_values("t", args.t)
    lam = parse_values("lam", args.lam)
    m = parse_values("m", args.m, allow_inf=True)
    grids = [g.ravel() for g in np.meshgrid(np.arange(len(pairs)), psi_p, t, lam, m,
                                             indexing="ij")]
    k = grids[0].astype(int)
    setting = RFSetting(psi_n=1.0, psi_p=grids[1], t=grids[2], lam=grids[3], m=grids[4],
                        activation=args.activation, data=args.data,
                        psi_d=np.array([pairs[i][2] for i in k]),
                        manifold_activation=args.manifold_activation)
    _announce(fp)
    t0 = time.perf_counter()
    res = sample_complexity(setting, eps=args.eps, criterion=args.criterion)
    rows = []
    for j, i in enumerate(k):
        d, D, g = pairs[i]
        mm = float(setting.m[j])
        star = float(res.psi_n_star[j])
        rows.append({
            "psi_p": float(setting.psi_p[j]), "m": "inf" if np.isinf(mm) else int(mm),
            "t": float(setting.t[j]), "lam": float(setting.lam[j]), "d": d, "D": D, "psi_d": g,
            "psi_n_star": star if np.isfinite(star) else None,
            "n_star": (star * d if np.isfinite(star) else None) if d is not None else None,
            "n_star_per_D": float(res.n_star_per_D[j]) if np.isfinite(star) else None,
            "monotone": bool(res.monotone[j]), "status": int(res.status[j])})
    cols = ["psi_p", "m", "t", "lam"] + (["d", "D"] if pairs[0][0] is not None else []) + [
        "psi_d", "psi_n_star"] + (["n_star"] if pairs[0][0] is not None else []) + [
        "n_star_per_D", "monotone", "status"]
    meta = provenance(kind="rf-sample-complexity", setting=setting.to_dict(), eps=args.eps,
                      criterion=args.criterion, seconds=time.perf_counter() - t0,
                      success=bool(res.success), message=res.message)
    table = Table(cols, rows, meta)
    _emit(table, args)
    if args.plot:
        from .rf_manifold_figures import plot_sample_complexity_table

        _save_plot(args.plot, lambda path: plot_sample_complexity_table(table, path))
    for line in _sample_complexity_slopes(rows):
        print(line, file=sys.stderr)
    if not res.success:
        print(f"lowdim: {res.message}", file=sys.stderr)
        return EXIT_NOT_CONVERGED if np.any(res.status == 3) else EXIT_OK
    return EXIT_OK


def _sample_complexity_slopes(rows):
    """Fitted log-log slopes of n* against D (fixed d) and against d (fixed D).

    A slope is fitted only through at least two distinct abscissae: rows repeating a D (or
    d) count once (their mean n*), and a group with a single D gets no slope."""
    out = []
    base = ("psi_p", "m", "t", "lam")
    for axis, fixed in (("D", "d"), ("d", "D")):
        groups: dict = {}
        for r in rows:
            if r["d"] is None or r["n_star"] is None or not r["n_star"] > 0:
                continue
            key = tuple(r[c] for c in base) + (r[fixed],)
            groups.setdefault(key, {}).setdefault(r[axis], []).append(r["n_star"])
        for key, by_x in groups.items():
            if len(by_x) < 2:
                continue
            xs = sorted(by_x)
            x = np.log(xs)
            y = np.log([float(np.mean(by_x[a])) for a in xs])
            slope = np.polyfit(x, y, 1)[0]
            out.append(f"slope of log n* against log {axis} at {fixed}={key[-1]} "
                       f"(psi_p={key[0]:g}, m={key[1]}): {slope:.3f}")
    return out


# --------------------------------------------------------------------------- figures / bench
def _warn_line(message: str) -> None:
    """One line on stderr for a problem the run goes on despite."""
    print(f"lowdim: warning: {message}", file=sys.stderr, flush=True)


def _check_workers(args) -> None:
    """``--workers`` within the core count (unless ``--oversubscribe``), before any work."""
    if args.workers is None:
        return
    cores = os.cpu_count() or 1
    if args.workers > cores and not args.oversubscribe:
        raise ValueError(f"workers: {args.workers} is more than the {cores} cores of this "
                         f"machine (each worker holds its own copy of the libraries, about "
                         f"0.5 GB); pass --oversubscribe to run that many anyway")
    from .sweep import max_workers

    if args.workers > max_workers():
        raise ValueError(f"workers: at most {max_workers()} processes on this machine "
                         f"(got {args.workers})")


def _check_scheduler(address: str) -> None:
    """A Dask scheduler address, ``tcp://host:port`` or ``host:port``, checked by form."""
    from urllib.parse import urlsplit

    text = address if "://" in address else f"tcp://{address}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if parts is None or parts.scheme not in ("tcp", "tls", "inproc", "ucx", "ws", "wss") \
            or not parts.hostname or (parts.scheme != "inproc" and port is None):
        raise ValueError(f"scheduler: expected an address like tcp://host:8786 "
                         f"(got {address!r})")


def _cmd_figures(args):
    from .figures import REGISTRY, build_figures

    if args.list:
        for fid, fig in REGISTRY.items():
            print(f"{fid:24s} {fig.paper:10s} {fig.title}")
        return EXIT_OK
    ids = list(REGISTRY) if args.all or not args.ids else args.ids
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        raise ValueError(f"figure id: unknown {', '.join(unknown)}; see `lowdim figures --list`")
    if args.scheduler and args.executor != "dask":
        raise ValueError("scheduler: only meaningful with --executor dask")
    if args.scheduler:
        _check_scheduler(args.scheduler)
    _check_workers(args)
    if args.out == "-" or os.path.isfile(args.out):
        raise ValueError(f"out: {args.out!r} is not a folder")
    from .cache import ResultCache

    cache = None if args.no_cache else ResultCache(args.cache, warn=_warn_line)
    t0 = time.perf_counter()

    def report(r):
        t = r["tasks"]
        how = ("figure data from the cache" if r["cached"] else
               f"{t['computed']} tasks computed, {t['cached']} from the cache")
        print(f"{r['id']:24s} {r['run_seconds']:7.1f} s  ({how})  {r['summary']}",
              file=sys.stderr, flush=True)

    results = build_figures(ids, preset=args.preset, out_dir=args.out, device=args.device,
                            quiet=args.quiet, cache=cache, executor=args.executor,
                            workers=args.workers, scheduler=args.scheduler, report=report)
    computed = sum(r["tasks"]["computed"] for r in results)
    from_cache = sum(r["cached"] for r in results)
    if cache is None:
        where = "no cache"
    elif cache.stats["write_errors"] or not cache.writable()[0]:
        where = f"cache {cache.root} not written"
    else:
        where = f"cache {cache.root}"
    corrupt = f", {cache.stats['corrupt']} corrupt entries recomputed" if cache and \
        cache.stats["corrupt"] else ""
    disagree = [r["id"] for r in results if not r["ok"]]
    print(f"{len(results)} figures in {time.perf_counter() - t0:.1f} s on {args.executor}: "
          f"{from_cache} whole from the cache, {computed} sweep tasks computed ({where}"
          f"{corrupt}); gallery {args.out}/README.md", file=sys.stderr)
    # every figure is built, misses included; the exit code says whether all checks agree
    if disagree:
        print(f"{len(disagree)} of {len(results)} figures have checks that disagree: "
              f"{', '.join(disagree)}", file=sys.stderr)
        return EXIT_DISAGREE
    print(f"every stated check of the {len(results)} figures agrees", file=sys.stderr)
    return EXIT_OK


def _cmd_doctor(args):
    from .doctor import diagnose

    table = diagnose(device=args.device, cache_dir=args.cache, smoke=not args.no_smoke)
    _emit(table, args)
    if not table.meta["ok"]:
        print(f"lowdim doctor: failed: {', '.join(table.meta['failed'])}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def _cmd_cache(args):
    from .cache import MARKER, ResultCache

    cache = ResultCache(args.dir)
    if os.path.lexists(cache.root) and not os.path.isdir(cache.root):
        raise ValueError(f"dir: {cache.root!r} is not a folder")
    entries = cache.entries()
    size = sum(os.path.getsize(p) for p in entries)
    if args.clear:
        removed = cache.clear()
        print(f"{cache.root}: removed {removed} files ({size / 1e6:.1f} MB of entries)")
    else:
        note = "" if cache.is_marked() or not os.path.isdir(cache.root) else \
            f" (no {MARKER}: not a lowdim cache)"
        print(f"{cache.root}: {len(entries)} entries, {size / 1e6:.1f} MB{note}")
    return EXIT_OK


def _choice_list(name, text, known) -> list:
    """A comma-separated list of option values, each one of ``known`` (checked up front)."""
    items = [g.strip() for g in str(text).split(",") if g.strip()]
    unknown = [g for g in items if g not in known]
    if unknown or not items:
        raise ValueError(f"{name}: unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
                         f"use {', '.join(known)}")
    return items


def _grid_kinds(text) -> list:
    """The sampling grids of ``--grid``, each one of the known kinds."""
    from lowdim.theory.sampling import GRID_KINDS

    return _choice_list("grid", text, tuple(GRID_KINDS))


def _step_counts(text) -> np.ndarray:
    """``--N``: numbers of steps, integers >= 1."""
    from .ranges import parse_values

    Ns = parse_values("N", text)
    if np.any(Ns < 1) or np.any(Ns != np.round(Ns)):
        raise ValueError(f"N: the number of steps must be an integer >= 1 (got {text!r})")
    return Ns


@_named_as_typed
def _cmd_sampling_bound(args):
    from .sampling import bound_table

    grids = _grid_kinds(args.grid)
    Ns = _step_counts(args.N)
    if args.data_variance is not None:
        dv = args.data_variance
        if not (np.isfinite(dv) and dv > 0):
            raise ValueError(f"data-variance: must be a finite number > 0 (got {dv!r})")
        if args.m2 is None and not np.isfinite(args.d * dv):
            raise ValueError(f"data-variance: d * data variance overflows (got {dv!r})")
    _announce(_check_budget(args, _footprint_sampling_bound))
    table = bound_table(grids, [int(n) for n in np.unique(np.round(Ns))], d=args.d, m2=args.m2,
                        score_error=args.score_error, sigma_min=args.sigma_min,
                        sigma_max=args.sigma_max, rho=args.rho, schedule=args.schedule,
                        form=args.form, data_variance=args.data_variance)
    cols = [c for c in table.columns
            if args.data_variance is not None or c not in ("gaussian_kl", "bound_over_kl")]
    _emit(table, args, cols)
    if args.plot:
        from .sampling_figures import plot_bound_table

        _save_plot(args.plot, lambda path: plot_bound_table(table, path))
    return EXIT_OK


@_named_as_typed
def _cmd_sampling_validate(args):
    from .ranges import parse_values

    Ns = _step_counts(args.N)
    etas = parse_values("eta", args.eta)
    if np.any(etas < 0):
        raise ValueError(f"eta: relative score-error sizes must be >= 0 (got {args.eta!r})")
    if args.n < 200:
        raise ValueError(f"n: need at least 200 Monte Carlo samples (got {args.n})")
    if not (args.z > 0):
        raise ValueError(f"z: must be > 0 (got {args.z!r})")
    data = _sampling_data(args.data)
    grids = _grid_kinds(args.grid)
    fp = _check_budget(args, _footprint_sampling_validate)
    from lowdim.simulate.device import resolve_device

    from .sampling import validation_table

    resolve_device(args.device)
    _announce(fp)
    combos = len(grids) * len(Ns) * len(etas) * len(data)
    table = _with_progress(not args.quiet, combos, "sampling validate", lambda update:
                           validation_table(grids, [int(n) for n in np.unique(np.round(Ns))],
                                            [float(e) for e in etas], data, n=args.n,
                                            seed=args.seed, device=args.device, z=args.z,
                                            progress=update))
    return _emit_verdict(table, args)


def _sampling_data(text) -> list:
    """``--data`` of ``sampling validate``: known data models, checked up front."""
    from .sampling import DATA_MODELS

    return _choice_list("data", text, tuple(DATA_MODELS))


def _int_list(name, text, low=None, high=MAX_INT):
    """A comma list of integers, each in ``[low, high]`` (``low=None``: ``-high``), counted
    before it is read (at most ``lowdim.compare.limits.MAX_VALUES``)."""
    from .limits import MAX_VALUES

    items = [v for v in str(text).split(",") if v.strip()]
    if len(items) > MAX_VALUES:
        raise ValueError(f"{name}: at most {MAX_VALUES} values (got {len(items)})")
    try:
        vals = [int(v) for v in items]
    except ValueError:
        raise ValueError(f"{name}: expected comma-separated integers (got {text!r})") from None
    if not vals:
        raise ValueError(f"{name}: expected at least one value")
    low = -high if low is None else low
    for v in vals:
        if not low <= v <= high:
            raise ValueError(f"{name}: must be an integer between {low} and {high} (got {v})")
    return vals


@_named_as_typed
def _cmd_molrmog_bound(args):
    from .molrmog import bound_table
    from .ranges import parse_values

    nk, dk = _int_list("n-modes", args.n_modes), _int_list("dims", args.dims)
    if len(nk) != len(dk):
        raise ValueError(f"dims: need one d_k per subspace ({len(nk)} n_k given, {len(dk)} d_k)")
    ns = parse_values("n", args.n)
    if np.any(ns < 1):
        raise ValueError(f"n: sample sizes must be >= 1 (got {args.n!r})")
    ts = parse_values("t", args.t)
    _announce(_check_budget(args, _footprint_molrmog_bound))
    table = bound_table(nk, dk, [int(round(n)) for n in ns], [float(t) for t in ts], R=args.R,
                        B_mu=args.B_mu, C1=args.C1, C2=args.C2, eta=args.eta, D=args.D,
                        learned_bases=args.learned_bases, window=not args.no_window,
                        delta=args.delta, T=args.T, weighting=args.weighting)
    _emit(table, args)
    if args.plot:
        from .molrmog_figures import plot_bound_table

        _save_plot(args.plot, lambda path: plot_bound_table(table, path))
    return EXIT_OK


@_named_as_typed
def _cmd_molrmog_validate(args):
    if args.n_train < 64:
        raise ValueError(f"n-train: need at least 64 training samples (got {args.n_train})")
    if args.steps < 1:
        raise ValueError(f"steps: must be >= 1 (got {args.steps})")
    fp = _check_budget(args, _footprint_molrmog_validate)
    from lowdim.simulate.device import resolve_device

    from .molrmog import validation_table

    resolve_device(args.device)
    _announce(fp)
    table = _with_progress(not args.quiet, 2, "molrmog validate", lambda update: validation_table(
        n_train=args.n_train, steps=args.steps, seed=args.seed, device=args.device,
        progress=update))
    return _emit_verdict(table, args)


def _int_range(name, text, low=None, high=MAX_INT):
    """Integer grid option: a comma list whose items are integers or inclusive ranges ``a-b``
    (the notation of ``--seeds``; ``start:stop:count`` stays the log range of real-valued
    options) -> sorted distinct integers, each in ``[low, high]`` (``low=None``: ``-high``).

    The values are counted before any range is expanded: at most
    ``lowdim.compare.limits.MAX_VALUES`` of them."""
    from .limits import MAX_VALUES

    items, count = [], 0
    for item in str(text).split(","):
        item = item.strip()
        if "-" in item[1:]:                    # a leading "-" is a sign, not a range
            head, _, b = item[1:].partition("-")
            lo = _int_list(name, item[0] + head, low, high)[0]
            hi = _int_list(name, b, low, high)[0]
            if hi < lo:
                raise ValueError(f"{name}: empty range {item!r}")
            items.append((lo, hi))
            count += hi - lo + 1
        elif item:
            v = _int_list(name, item, low, high)[0]
            items.append((v, v))
            count += 1
        if count > MAX_VALUES:
            raise ValueError(f"{name}: at most {MAX_VALUES} values (the list "
                             f"{str(text)[:40]!r} asks for more)")
    if not items:
        raise ValueError(f"{name}: expected integers or ranges like 2-8 (got {text!r})")
    vals = set()
    for lo, hi in items:
        vals.update(range(lo, hi + 1))
    return sorted(vals)


@_named_as_typed
def _cmd_molrg_phase(args):
    ds, Ns = _int_range("d", args.d, 1), _int_range("N", args.N, 1)
    if min(Ns) < 1:
        raise ValueError(f"N: samples per component must be >= 1 (got {args.N!r})")
    if args.trials < 1:
        raise ValueError(f"trials: must be >= 1 (got {args.trials})")
    fp = _check_budget(args, _footprint_molrg_phase)
    from lowdim.simulate.device import resolve_device

    from .molrg import phase_table

    resolve_device(args.device)
    _announce(fp)
    train = {k: getattr(args, k) for k in ("steps", "restarts", "init")
             if getattr(args, k) is not None}
    table = _with_progress(
        not args.quiet, len(ds), f"molrg phase K={args.K} {args.learner}",
        lambda update: phase_table(args.K, args.learner, ds=ds, Ns=Ns, D=args.D,
                                   noise=args.noise, threshold=args.threshold,
                                   trials=args.trials, orthogonal=not args.random_subspaces,
                                   seed=args.seed, device=args.device, train=train or None,
                                   progress=update))
    cols = ["K", "d", "N_k", "learner", "success", "success_se", "mean_error",
            "theory_success", "theory_rms_error", "theory_floor"]
    _emit(table, args, None if args.format != "table" else cols)
    if args.plot:
        from .molrg_figures import plot_phase_table

        _save_plot(args.plot, lambda path: plot_phase_table(table, path))
    return EXIT_OK


@_named_as_typed
def _cmd_molrg_validate(args):
    if args.trials < 10:
        raise ValueError(f"trials: need at least 10 trials per cell (got {args.trials})")
    fp = _check_budget(args, _footprint_molrg_validate)
    from lowdim.simulate.device import resolve_device

    from .molrg import validation_table

    resolve_device(args.device)
    _announce(fp)
    table = _with_progress(not args.quiet, 6, "molrg validate", lambda update: validation_table(
        trials=args.trials, seed=args.seed, device=args.device, progress=update))
    return _emit_verdict(table, args)


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
    radii = _int_range("radii", args.radii, 0)
    if min(radii) < 0:
        raise ValueError(f"radii: a radius must be >= 0 (got {args.radii!r})")
    return [r for r in radii if r < lattice.diameter] + [None]


@_named_as_typed
def _cmd_localized_radius(args):
    from lowdim.theory.localized import time_grid

    lattice = _localized_lattice(args)
    ns = _int_range("n", args.n, 1)
    if min(ns) < 1:
        raise ValueError(f"n: sample sizes must be >= 1 (got {args.n!r})")
    radii = _localized_radii(args, lattice)
    if args.simulate and args.datasets < 2:
        raise ValueError(f"datasets: need at least 2 training sets (got {args.datasets})")
    grid = time_grid(args.delta, args.T, args.steps)
    fp = _check_budget(args, _footprint_localized_radius)
    if args.simulate:
        from lowdim.simulate.device import resolve_device

        resolve_device(args.device)
    from .localized import calculator_table, optimal_radius_table, sweep_table

    target = _localized_target(args)
    _announce(fp)
    table, curve = calculator_table(target, ns, radii, grid=grid)
    if args.simulate:
        sweep = _with_progress(not args.quiet, len(ns) * len(radii), "localized radius",
                               lambda update: sweep_table(target, ns, radii,
                                                          datasets=args.datasets,
                                                          seed=args.seed, device=args.device,
                                                          grid=grid, curve=curve,
                                                          progress=update))
        _emit(sweep, args, ["n", "r", "score_error", "score_error_se", "theory_integral", "kl",
                            "kl_se", "theory_kl", "theory_path", "path_bound"])
        opt = optimal_radius_table(sweep)
        print(opt.to_text(), file=sys.stderr)
        table = sweep
    else:
        _emit(table, args, None if args.format != "table" else
              ["n", "r", "localization", "statistical", "path", "kl", "r_star"])
        kl_stars = curve.r_star if curve.r_star_kl is None else curve.r_star_kl
        if any(r is not None for r in curve.radii):
            stars = ", ".join(f"n = {int(n)}: r* = {r} (path side {rp}, closed form "
                              + (f"{c:.2f})" if np.isfinite(c) else "not fitted)")
                              for n, r, rp, c in zip(curve.n, kl_stars, curve.r_star,
                                                      curve.closed_form))
        else:
            stars = "no finite radius below the lattice diameter: only the global model"
        print(stars, file=sys.stderr)
    if args.plot:
        from .localized_figures import plot_radius_table

        _save_plot(args.plot, lambda path: plot_radius_table(table, path))
    if not curve.success:
        print(f"lowdim: {curve.message}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    if not curve.first_order.all():
        print(f"note: {curve.message.split('; ', 1)[1]} (column first_order)", file=sys.stderr)
    return EXIT_OK


@_named_as_typed
def _cmd_localized_validate(args):
    if args.datasets < 4:
        raise ValueError(f"datasets: need at least 4 training sets (got {args.datasets})")
    fp = _check_budget(args, _footprint_localized_validate)
    from lowdim.simulate.device import resolve_device

    from .localized import validation_table

    resolve_device(args.device)
    _announce(fp)
    table = _with_progress(not args.quiet, 7, "localized validate",
                           lambda update: validation_table(datasets=args.datasets,
                                                           seed=args.seed, device=args.device,
                                                           progress=update))
    return _emit_verdict(table, args)


def _cmd_bench(args):
    from .bench import run_benchmarks

    table = run_benchmarks(quick=args.quick, device=args.device)
    _emit(table, args)
    return EXIT_OK


# --------------------------------------------------------------------------- parser
def build_parser():
    from .provenance import package_version

    p = _Parser(prog="lowdim", description="Theory of diffusion models on low-dimensional data, "
                                           "checked against finite-size simulations.")
    p.add_argument("--version", action="version", version=f"lowdim-diffusion {package_version()}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    rf = sub.add_parser("rf", help="random-features score learning curves")
    rf_sub = rf.add_subparsers(dest="action", parser_class=_Parser)
    c = rf_sub.add_parser("curve", help="asymptotic test/train/score errors (theory)")
    _add_setting_options(c, psi_p_default="0.1:100:60", m_default="1")
    _add_output_options(c)
    c.add_argument("--tol", type=float, default=1e-12,
                   help="relative residual required of the solver (default 1e-12)")
    c.set_defaults(func=_cmd_rf_curve)

    v = rf_sub.add_parser("validate", help="theory against a finite-size simulation")
    _add_setting_options(v, psi_p_default="0.5,1,4,16", m_default="1,4,inf")
    g = v.add_argument_group("simulation")
    g.add_argument("--d", type=_integer_option("d", 2), default=200, help="dimension (default 200)")
    g.add_argument("--seeds", default="6", help="a count, a list 0,1,2 or a range 0-4 (default 6)")
    g.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda")
    g.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    g.add_argument("--sim-m", type=_integer_option("sim-m", 1), default=64,
                   help="m used to simulate m = inf (default 64)")
    g.add_argument("--n-test", type=_integer_option("n-test", 2), default=4096,
                   help="test samples per seed (default 4096)")
    g.add_argument("--z", type=float, default=3.0,
                   help="confidence in normal standard errors (default 3, i.e. 99.73%%); "
                        "applied as the Student-t quantile for the number of seeds")
    g.add_argument("--rel-tol", type=float, default=0.03,
                   help="finite-size allowance, relative (default 0.03)")
    g.add_argument("--no-extrapolate", dest="extrapolate", action="store_false",
                   help="judge the raw values at d instead of the 1/d extrapolation from d/2, d")
    g.add_argument("--tidy", action="store_true", help="csv/json: one row per quantity")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_output_options(v)
    v.set_defaults(func=_cmd_rf_validate)

    sc = rf_sub.add_parser("sample-complexity",
                           help="smallest n reaching a relative excess error eps, against D or d")
    g = sc.add_argument_group("setting (lists a,b,c or log ranges start:stop:count)")
    g.add_argument("--data", default="linear-manifold",
                   help="subspace, linear-manifold or hidden-manifold (default linear-manifold)")
    g.add_argument("--manifold-activation", default=None, help="phi of the hidden manifold")
    g.add_argument("--activation", default="relu", help="random-features activation (default relu)")
    g.add_argument("--t", default="0.1")
    g.add_argument("--lam", default="1e-3")
    g.add_argument("--m", default="inf")
    g.add_argument("--psi-p", default="16", help="p/d (default 16)")
    g.add_argument("--d", default=None, help="ambient dimensions, e.g. 1000 or 250,500,1000")
    g.add_argument("--D", default=None, help="intrinsic dimensions, e.g. 25,50,100,200")
    g.add_argument("--psi-d", default=None, help="or intrinsic ratios D/d directly")
    sc.add_argument("--eps", type=float, default=0.01,
                    help="target relative excess error (L(n) - L(inf)) / (L(0) - L(inf)) "
                         "(default 0.01)")
    sc.add_argument("--criterion", choices=("par", "total"), default="par",
                    help="on-manifold part of the test error (default) or all of it")
    _add_output_options(sc)
    sc.set_defaults(func=_cmd_rf_sample_complexity)

    sa = sub.add_parser("sampling", help="VE sampling error: bounds and schedules")
    sa_sub = sa.add_subparsers(dest="action", parser_class=_Parser)
    sb = sa_sub.add_parser("bound", help="every term of the KL bound (Wang-He-Tao Theorem 2)")
    g = sb.add_argument_group("grid")
    g.add_argument("--grid", default="edm,geometric",
                   help="edm (polynomial rho), geometric, uniform; a list (default edm,geometric)")
    g.add_argument("--schedule", default=None,
                   help="edm (sigma_bar = t) or song (sigma_bar = sqrt t); default: EDM's for the "
                        "edm and uniform grids, Song's for geometric")
    g.add_argument("--rho", type=float, default=7.0, help="polynomial exponent (default 7)")
    g.add_argument("--sigma-min", type=float, default=0.002, help="default 0.002")
    g.add_argument("--sigma-max", type=float, default=80.0, help="default 80")
    g.add_argument("--N", default="18", help="number of steps; a list or range (default 18)")
    g = sb.add_argument_group("data and score")
    g.add_argument("--d", type=_integer_option("d", 1), default=1, help="dimension (default 1)")
    g.add_argument("--m2", type=float, default=None,
                   help="second moment E||X0||^2 (default d * data variance, or d)")
    g.add_argument("--score-error", type=float, default=0.0,
                   help="E||S - grad log p||^2 at every level (default 0)")
    g.add_argument("--data-variance", type=float, default=None,
                   help="isotropic Gaussian data: also the exact KL and bound / KL")
    sb.add_argument("--form", choices=("explicit", "paper"), default="explicit",
                    help="explicit-constant bound (default) or the paper's statement")
    _add_output_options(sb)
    sb.set_defaults(func=_cmd_sampling_bound)

    sv = sa_sub.add_parser("validate", help="the bound against what the sampler does: exact and "
                                            "Monte Carlo KLs, Gaussian and bimodal data")
    g = sv.add_argument_group("grid")
    g.add_argument("--grid", default="edm,geometric,uniform",
                   help="edm (rho = 7), geometric, uniform on sigma in [0.002, 80]; a list "
                        "(default all three)")
    g.add_argument("--N", default="6,18,50", help="numbers of steps (default 6,18,50)")
    g = sv.add_argument_group("data and score")
    g.add_argument("--data", default="gaussian,bimodal",
                   help="gaussian (d = 4, variance 0.25) and/or bimodal (1-D, modes +-1, sd 0.1)")
    g.add_argument("--eta", default="0,0.1",
                   help="relative score-error sizes: eps_j^2 = eta E||grad log p||^2 (default 0,0.1)")
    g = sv.add_argument_group("simulation")
    g.add_argument("--n", type=_integer_option("n", 1), default=20000,
                   help="Monte Carlo samples (default 20000)")
    g.add_argument("--seed", type=_integer_option("seed", 0, MAX_SEED), default=0,
                   help="random seed, an integer >= 0 (default 0)")
    g.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda")
    g.add_argument("--z", type=float, default=3.0, help="agreement in standard errors (default 3)")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_output_options(sv, plot=False)
    sv.set_defaults(func=_cmd_sampling_validate)

    mo = sub.add_parser("molrmog", help="MoLR-MoG: estimation bound, score models, convergence")
    mo_sub = mo.add_subparsers(dest="action", parser_class=_Parser)
    mb = mo_sub.add_parser("bound", help="the estimation bound per t and over the window")
    g = mb.add_argument_group("model and data")
    g.add_argument("--n-modes", default="4,4", help="n_k per subspace (default 4,4)")
    g.add_argument("--dims", default="4,4", help="d_k per subspace (default 4,4)")
    g.add_argument("--n", default="1000,10000", help="training sizes; a list or range")
    g.add_argument("--t", default="0.1,0.5,1", help="diffusion times (VP); a list or range")
    g.add_argument("--R", type=float, default=5.0, help="data radius (default 5)")
    g.add_argument("--B-mu", type=float, default=0.0, help="max ||mu|| (default 0)")
    g = mb.add_argument_group("constants")
    g.add_argument("--C1", type=float, default=1.0, help="complexity constant (default 1)")
    g.add_argument("--C2", type=float, default=None,
                   help="confidence constant (default 4 (R + s B_mu)^2 / (sqrt 2 gamma^4))")
    g.add_argument("--eta", type=float, default=0.05, help="failure probability (default 0.05)")
    g.add_argument("--D", type=_integer_option("D", 1), default=None,
                   help="ambient dimension (learned bases only)")
    g.add_argument("--learned-bases", action="store_true",
                   help="add the C3 D max d_k^3 / sqrt(n) term of learned encoders")
    g = mb.add_argument_group("window")
    g.add_argument("--no-window", action="store_true", help="omit the window average")
    g.add_argument("--delta", type=float, default=1e-3, help="early stopping (default 1e-3)")
    g.add_argument("--T", type=float, default=5.0, help="horizon (default 5)")
    g.add_argument("--weighting", choices=("gamma2", "none"), default="gamma2")
    _add_output_options(mb)
    mb.set_defaults(func=_cmd_molrmog_bound)

    mv = mo_sub.add_parser("validate", help="exact score, three trained models, bound and "
                                            "gradient-descent rate, each with a verdict")
    mv.add_argument("--n-train", type=_integer_option("n-train", 1), default=4096,
                    help="training draws (default 4096)")
    mv.add_argument("--steps", type=_integer_option("steps", 1), default=1500,
                    help="Adam steps per model (default 1500)")
    _add_run_options(mv)
    _add_output_options(mv, plot=False)
    mv.set_defaults(func=_cmd_molrmog_validate)

    mg = sub.add_parser("molrg", help="MoLRG: subspace clustering and the N_k = d phase transition")
    mg_sub = mg.add_subparsers(dest="action", parser_class=_Parser)
    mp = mg_sub.add_parser("phase", help="success rate over (N_k, d) with the theory's boundary")
    mp.add_argument("--K", type=_integer_option("K", 1), default=2,
                    help="number of subspaces (default 2)")
    mp.add_argument("--learner", choices=("ideal", "trained", "oracle"), default="ideal",
                    help="ideal: PCA / K-subspaces; trained: the low-rank denoiser trained on "
                         "the denoising loss; oracle: PCA with the true labels")
    mp.add_argument("--d", default="2-8", help="subspace dimensions: a list and/or ranges a-b")
    mp.add_argument("--N", default="1-15",
                    help="samples per component: a list and/or ranges a-b")
    mp.add_argument("--D", type=_integer_option("D", 1), default=48,
                    help="ambient dimension (default 48)")
    mp.add_argument("--noise", type=float, default=0.05, help="RMS noise norm (default 0.05)")
    mp.add_argument("--threshold", type=float, default=0.1,
                    help="success: normalized subspace error below this (default 0.1)")
    mp.add_argument("--trials", type=_integer_option("trials", 1), default=20,
                    help="trials per cell (default 20)")
    mp.add_argument("--random-subspaces", action="store_true",
                    help="independent random subspaces instead of mutually orthogonal ones")
    mp.add_argument("--steps", type=_integer_option("steps", 1), default=None,
                    help="trained: SGD steps (default 800)")
    mp.add_argument("--restarts", type=_integer_option("restarts", 1), default=None,
                    help="trained: restarts (default 1)")
    mp.add_argument("--init", choices=("neighbours", "samples", "random"), default=None,
                    help="trained: initialization (default neighbours)")
    _add_run_options(mp)
    _add_output_options(mp)
    mp.set_defaults(func=_cmd_molrg_phase)
    mgv = mg_sub.add_parser("validate", help="the phase-transition claims, each with a verdict")
    mgv.add_argument("--trials", type=_integer_option("trials", 1), default=40,
                     help="trials per cell (default 40)")
    _add_run_options(mgv)
    _add_output_options(mgv, plot=False)
    mgv.set_defaults(func=_cmd_molrg_validate)

    lo = sub.add_parser("localized", help="localized score models: localization vs statistical "
                                          "error, the optimal radius")
    lo_sub = lo.add_subparsers(dest="action", parser_class=_Parser)
    lr = lo_sub.add_parser("radius", help="predicted KL against the radius and r* per n "
                                          "(--simulate: measured on the linear estimator)")
    lr.add_argument("--d", type=_integer_option("d", 1), default=64, help="number of sites (default 64)")
    lr.add_argument("--lattice", choices=("chain", "grid"), default="chain",
                    help="chain, or a square grid of d sites (default chain)")
    lr.add_argument("--open", action="store_true", help="open boundary (default periodic)")
    lr.add_argument("--r0", type=_integer_option("r0", 1), default=1,
                    help="precision bandwidth (default 1)")
    lr.add_argument("--kappa", type=float, default=20.0, help="condition number (default 20)")
    lr.add_argument("--n", default="16,64,256,1024", help="sample sizes: a list and/or ranges")
    lr.add_argument("--radii", default="0-12", help="radii: a list and/or ranges a-b; the "
                                                    "global model is always added")
    lr.add_argument("--delta", type=float, default=1e-2, help="stopping time (default 0.01)")
    lr.add_argument("--T", type=float, default=6.0, help="horizon (default 6)")
    lr.add_argument("--steps", type=_integer_option("steps", 1), default=60,
                    help="sampler steps (default 60)")
    lr.add_argument("--simulate", action="store_true",
                    help="also fit the localized linear estimator on --datasets training sets "
                         "and measure its score error and exact KL")
    lr.add_argument("--datasets", type=_integer_option("datasets", 1), default=8,
                    help="training sets per n (default 8)")
    _add_run_options(lr)
    _add_output_options(lr)
    lr.set_defaults(func=_cmd_localized_radius)
    lv = lo_sub.add_parser("validate", help="the localization claims, each with a verdict")
    lv.add_argument("--datasets", type=_integer_option("datasets", 1), default=8,
                    help="training sets per n (default 8)")
    _add_run_options(lv)
    _add_output_options(lv, plot=False)
    lv.set_defaults(func=_cmd_localized_validate)

    f = sub.add_parser("figures", help="regenerate the paper figures into figures/")
    f.add_argument("ids", nargs="*", help="figure ids (default: all)")
    f.add_argument("--all", action="store_true", help="every registered figure")
    f.add_argument("--list", action="store_true", help="list the figures and exit")
    f.add_argument("--preset", choices=("quick", "paper"), default="quick")
    f.add_argument("--out", default="figures", help="output directory (default figures)")
    f.add_argument("--device", default="auto")
    f.add_argument("--executor", choices=("local", "serial", "dask"), default="local",
                   help="where sweep tasks run: local processes (default), this process, or "
                        "a Dask cluster")
    f.add_argument("--workers", type=_positive_int, default=None,
                   help="local processes, or workers of a local Dask cluster (default: one per "
                        "core; one local process on a GPU; at most one per core without "
                        "--oversubscribe)")
    f.add_argument("--oversubscribe", action="store_true",
                   help="allow more --workers than cores")
    f.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="address of a running Dask scheduler (tcp://host:8786); without it "
                        "--executor dask starts a local cluster")
    f.add_argument("--cache", default=None, metavar="DIR",
                   help="result cache (default $LOWDIM_CACHE or ~/.cache/lowdim-diffusion)")
    f.add_argument("--no-cache", action="store_true", help="compute everything, keep nothing")
    f.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    f.set_defaults(func=_cmd_figures)

    dr = sub.add_parser("doctor", help="versions, devices, threads, dtypes, cache, smoke checks")
    dr.add_argument("--device", default="auto", help="device to resolve and smoke-test")
    dr.add_argument("--cache", default=None, metavar="DIR", help="cache directory to inspect")
    dr.add_argument("--no-smoke", action="store_true", help="skip the two smoke checks")
    dr.add_argument("--format", choices=("table", "csv", "json"), default="table")
    dr.add_argument("--output", "-o", metavar="FILE")
    dr.set_defaults(func=_cmd_doctor)

    c = sub.add_parser("cache", help="where the result cache is, how big, and clearing it")
    c.add_argument("--dir", default=None, metavar="DIR",
                   help="cache directory (default $LOWDIM_CACHE or ~/.cache/lowdim-diffusion)")
    c.add_argument("--clear", action="store_true",
                   help="remove every entry (only the cache's own files: a folder without "
                        "its CACHEDIR.TAG marker is refused)")
    c.set_defaults(func=_cmd_cache)

    b = sub.add_parser("bench", help="speed of theory and simulation, as ratios to their floors")
    b.add_argument("--quick", action="store_true", help="smaller sizes (seconds)")
    b.add_argument("--device", default="auto")
    b.add_argument("--format", choices=("table", "csv", "json"), default="table")
    b.add_argument("--output", "-o", metavar="FILE")
    b.set_defaults(func=_cmd_bench)
    return p, {"rf": rf, "sampling": sa, "molrmog": mo, "molrg": mg, "localized": lo}


def _join_negative_values(argv):
    """``--lam -1e-3`` -> ``--lam=-1e-3`` so that negative numbers reach our validators
    (argparse would take ``-1e-3`` for an option)."""
    out = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if (tok.startswith("--") and "=" not in tok and i + 1 < len(argv)
                and argv[i + 1].startswith("-") and len(argv[i + 1]) > 1):
            try:
                float(argv[i + 1].split(",")[0].split(":")[0])
                out.append(f"{tok}={argv[i + 1]}")
                i += 2
                continue
            except ValueError:
                pass
        out.append(tok)
        i += 1
    return out


def _check_plot_format(path: str) -> None:
    """``--plot FILE``: a file name whose extension is a format matplotlib writes (checked
    before any work, not after it)."""
    if path == "-":
        raise UsageError("plot: a picture cannot go to stdout; give a file name like plot.png")
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if ext not in formats:
        got = f"extension .{ext}" if ext else "no extension"
        raise UsageError(f"plot: {path!r} has {got}; use one of "
                         f"{', '.join('.' + f for f in sorted(formats))}")


def _check_destinations(args) -> None:
    """Fail before computing when ``--output`` or ``--plot`` cannot be written, or when
    ``--plot`` names a format matplotlib does not write."""
    plot = getattr(args, "plot", None)
    if isinstance(plot, str) and plot:
        _check_plot_format(plot)
    for name in ("output", "plot"):
        path = getattr(args, name, None)
        if not isinstance(path, str) or not path or path == "-":
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise UsageError(f"{name}: {path!r} is a directory; give a file name")
        if not os.path.isdir(folder):
            raise UsageError(f"{name}: folder {folder!r} does not exist")
        if not os.access(folder, os.W_OK):
            raise UsageError(f"{name}: folder {folder!r} is not writable")


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that it unwinds like Ctrl-C: temporary files
    removed, worker processes ended, one line on stderr."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    import signal
    import threading

    parser, subs = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        args = parser.parse_args(_join_negative_values(argv))
        if getattr(args, "command", None) is None:
            parser.print_help()
            return EXIT_USAGE
        if args.command in subs and getattr(args, "action", None) is None:
            subs[args.command].print_help()
            return EXIT_USAGE
        _check_destinations(args)
        return int(args.func(args))
    except UsageError as exc:
        print(f"lowdim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"lowdim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Terminated:
        print("lowdim: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("lowdim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback
        print(f"lowdim: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
