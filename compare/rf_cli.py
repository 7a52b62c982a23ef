"""``lowdim rf ...``, random-features learning curves: ``curve`` (theory), ``validate`` (theory against
a finite-size simulation) and ``sample-complexity``."""
from __future__ import annotations

import sys
import time

import numpy as np

from .cli_common import (CURVE_POINT_BYTES, CURVE_POINT_WORK,
                         EXIT_NOT_CONVERGED, EXIT_OK, add_device_option, add_output_options, announce,
                         check_budget, chosen_columns, emit, integer_option, named_as_typed,
                         option_axis, option_count, save_plot, text_columns, with_progress)
from .registry import Family, action

__all__ = ["FAMILY"]


#: Bytes and operations per point of a sample-complexity search (measured about 240 KiB
#: and 5 ms).
SEARCH_POINT_BYTES = 256 * 2**10
SEARCH_POINT_WORK = 3e8


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
    points = option_count(v, *names)
    return Footprint(points * CURVE_POINT_BYTES, points * CURVE_POINT_WORK,
                     f"a grid of {points:,} points")


def _footprint_rf_validate(v):
    from .limits import Footprint
    from .ranges import parse_seeds

    psi_n, psi_p = option_axis(v, "psi_n"), option_axis(v, "psi_p")
    m = np.maximum(1.0, option_axis(v, "m", inf_as=v["sim_m"]))
    other = option_count(v, "t", "lam", "psi_d")
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

    pairs = (option_count(v, "psi_d") if v.get("psi_d") is not None
             else option_count(v, "d", "intrinsic_dim"))
    points = pairs * option_count(v, "psi_p", "t", "lam", "m")
    return Footprint(points * SEARCH_POINT_BYTES, points * SEARCH_POINT_WORK,
                     f"a search over {points:,} settings")


def _footprint_of_u(v, points, theory, what, *, n_test=0, matrices=1, test_work=0.0,
                    repeat=1.0):
    """``theory`` alone, or with ``--simulate`` the simulation of ``U`` per seed and setting:
    the features and Gram matrix (:func:`_rf_fit_bytes`), ``matrices`` more p x p matrices,
    an eigendecomposition (about ``10 p^3``) and ``test_work p^2`` more per seed; all
    ``repeat`` times (1.125 with the d/2 run of the extrapolation)."""
    from .limits import Footprint
    from .ranges import parse_seeds

    if not v["simulate"]:
        return theory
    psi_n, psi_p = option_axis(v, "psi_n"), option_axis(v, "psi_p")
    m = np.maximum(1.0, option_axis(v, "m", inf_as=v["sim_m"]))
    d, seeds = v["d"], len(parse_seeds(v["seeds"]))
    n, p = psi_n.max() * d, psi_p.max() * d
    peak = _rf_fit_bytes(d, n, p, m.max(), n_test and 256) + matrices * 8.0 * p * p
    work = repeat * seeds * points * (_rf_fit_work(d, psi_n * d, psi_p * d, m, n_test)
                                      + 10.0 * p ** 3 + test_work * p * p)
    return Footprint(peak, work, f"{what} at d = {d} (p = {p:.3g})",
                     f"{points:,} settings x {seeds} seeds at d = {d}")


def _footprint_rf_spectrum(v):
    from .limits import Footprint

    points = option_count(v, "psi_n", "psi_p", "t", "m")
    theory = Footprint(points * CURVE_POINT_BYTES * 40, points * CURVE_POINT_WORK * 400,
                       f"the spectra of {points:,} settings")
    return _footprint_of_u(v, points, theory, "the eigenvalues of U")


def _footprint_rf_dynamics(v):
    from .limits import Footprint

    points = option_count(v, "psi_n", "psi_p", "t", "lam", "m")
    theory = Footprint(points * CURVE_POINT_BYTES * 200, points * CURVE_POINT_WORK * 4000,
                       f"the curves of {points:,} settings")
    return _footprint_of_u(v, points, theory, "a training-time simulation",
                           n_test=v["n_test"], matrices=6, test_work=2.0 * v["n_test"],
                           repeat=1.125 if v["extrapolate"] else 1.0)


def _add_setting_options(p, *, psi_p_default, m_default):
    g = p.add_argument_group("setting (each accepts a list a,b,c or a log range start:stop:count)")
    g.add_argument("--data", default="gaussian",
                   help="gaussian, subspace, linear-manifold, hidden-manifold or spectrum "
                        "(default gaussian)")
    g.add_argument("--spectrum", default=None, metavar="FILE",
                   help="with --data spectrum: the covariance eigenvalues (.npy or text, "
                        "1-d, used as given), or a data matrix (.npy or text, 2-d, samples "
                        "in rows: centred, eigenvalues scaled to mean 1)")
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


def _setting_from_args(args):
    from lowdim.theory.rf import RFSetting

    from .ranges import parse_values

    psi_n = parse_values("psi-n", args.psi_n)
    psi_p = parse_values("psi-p", args.psi_p)
    t = parse_values("t", args.t)
    lam = parse_values("lam", args.lam)
    m = parse_values("m", args.m, allow_inf=True)
    psi_d = parse_values("psi-d", args.psi_d) if args.psi_d is not None else None
    eigenvalues = _spectrum_file(args)
    axes = [psi_n, psi_p, t, lam, m] + ([psi_d] if psi_d is not None else [])
    grids = [g.ravel() for g in np.meshgrid(*axes, indexing="ij")]
    return RFSetting(psi_n=grids[0], psi_p=grids[1], t=grids[2], lam=grids[3], m=grids[4],
                     activation=args.activation, data=args.data,
                     psi_d=grids[5] if psi_d is not None else None,
                     manifold_activation=args.manifold_activation, eigenvalues=eigenvalues)


def _spectrum_file(args):
    """The eigenvalues of ``--spectrum FILE`` (``None`` without it): a 1-d array as given,
    a 2-d data matrix by its centred, mean-1 covariance eigenvalues."""
    path = getattr(args, "spectrum", None)
    wanted = args.data == "spectrum"
    if wanted != (path is not None):
        raise ValueError("spectrum: --data spectrum and --spectrum FILE go together")
    if not wanted:
        return None
    from lowdim.theory.spectra import covariance_eigenvalues

    values = read_array("spectrum", path)
    return covariance_eigenvalues(values) if values.ndim == 2 else values


def read_array(name, path) -> np.ndarray:
    """A numeric array from ``path``: NumPy's ``.npy`` (no pickles), else text (numbers
    separated by spaces or commas, one row per line); a ValueError names ``name``."""
    import os

    if not os.path.isfile(path):
        raise ValueError(f"{name}: no such file {path!r}")
    try:
        if path.endswith(".npy"):
            arr = np.load(path, allow_pickle=False)
        else:
            with open(path) as fh:
                rows = [line.replace(",", " ").split() for line in fh
                        if line.strip() and not line.lstrip().startswith("#")]
            arr = np.array([[float(v) for v in r] for r in rows])
            if arr.ndim == 2 and 1 in arr.shape:
                arr = arr.ravel()
    except (ValueError, OSError) as exc:
        raise ValueError(f"{name}: cannot read numbers from {path!r} ({exc})") from None
    if arr.ndim not in (1, 2) or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name}: expected a 1-d array of eigenvalues or a 2-d data matrix "
                         f"(got shape {arr.shape}, dtype {arr.dtype})")
    return np.asarray(arr, dtype=float)


#: The setting columns of an rf table, in the order a text table shows them.
SETTING_TEXT = ["psi_n", "psi_p", "m", "t", "lam", "activation", "data", "psi_d",
                "manifold_activation"]
#: The errors of a theory row, most telling first (the on/off-manifold split off
#: isotropic data only, see :func:`_other_models`).
ERROR_TEXT = ["test_error", "test_error_par", "test_error_perp", "train_error", "score_error",
              "converged", "train_error_reg", "exact_score_test_error", "residual"]


def _other_models(rows) -> set:
    """The columns that mean nothing for the data models of ``rows``: on isotropic Gaussian
    data the intrinsic ratio (``psi_d`` = 1), the data column itself, and the split of the
    test error along the manifold (its off part is 0); off the hidden manifold its map.
    They stay in csv and json (one schema whatever the data); the text table leaves them
    out."""
    models = {r.get("data") or "gaussian" for r in rows}
    hide = set()
    if models == {"gaussian"}:
        hide |= {"data", "psi_d", "test_error_par", "test_error_perp",
                 "sim_test_error_par", "sim_test_error_par_se", "sim_test_error_perp",
                 "sim_test_error_perp_se", "test_error_par_at_m_inf", "test_error_perp_at_m_inf"}
    if "hidden-manifold" not in models:
        hide.add("manifold_activation")
    return hide


def _sweep_axis(setting):
    """The setting column with the most distinct values (the x axis of a plot)."""
    counts = {k: len(np.unique(getattr(setting, k)))
              for k in ("psi_p", "psi_n", "lam", "t", "m", "psi_d")}
    return max(counts, key=lambda k: counts[k])


@named_as_typed
def _cmd_rf_curve(args):
    """Asymptotic test/train/score errors (theory)."""
    from .rf import curve

    if not (args.tol > 0):
        raise ValueError(f"tol: must be > 0 (got {args.tol!r})")
    fp = check_budget(args, _footprint_rf_curve)
    setting = _setting_from_args(args)
    announce(fp)
    table = curve(setting, tol=args.tol)
    emit(table, args, text_columns(table, SETTING_TEXT, ERROR_TEXT,
                                   hide=_other_models(table.rows)))
    if args.plot:
        from .rf_figures import plot_curve_table

        save_plot(args.plot, lambda path: plot_curve_table(table, _sweep_axis(setting), path))
    if not table.meta["success"]:
        print(f"lowdim: {table.meta['message']}; their errors are left empty", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    return EXIT_OK


@named_as_typed
def _cmd_rf_validate(args):
    """Theory against a finite-size simulation."""
    from .ranges import parse_seeds

    seeds = parse_seeds(args.seeds)
    if not (args.z > 0):
        raise ValueError(f"z: must be > 0 (got {args.z!r})")
    if not (0 <= args.rel_tol < 1):
        raise ValueError(f"rel-tol: must be in [0, 1) (got {args.rel_tol!r})")
    if args.extrapolate and args.d < 8:
        raise ValueError(f"d: the 1/d extrapolation needs d >= 8 (got {args.d}); "
                         "or pass --no-extrapolate")
    from .rf import ALLOWANCE_MIN_D, DEFAULT_REL_TOL, TIDY_COLUMNS, experiment, wide_view

    if args.format == "table" or args.tidy:   # a table of known columns: check them first
        chosen_columns(args, TIDY_COLUMNS)
    fp = check_budget(args, _footprint_rf_validate)
    from lowdim.simulate.device import resolve_device
    from lowdim.simulate.rf import RFSize

    from .rf_figures import plot_validation_table

    resolve_device(args.device)
    setting = _setting_from_args(args)
    size = RFSize(d=args.d, seeds=seeds, n_test=args.n_test, device=args.device,
                  dtype=args.dtype)
    announce(fp)
    t0 = time.perf_counter()
    tidy = with_progress(not args.quiet, setting.size, "simulating", lambda update: experiment(
        setting, size, sim_m=args.sim_m, z=args.z, rel_tol=args.rel_tol,
        extrapolate=args.extrapolate, progress=update))
    wide = wide_view(tidy)
    if args.format == "table":
        emit(tidy, args, _validate_text_columns(tidy, args.extrapolate))
    else:
        emit(tidy if args.tidy else wide, args)
    if args.plot:
        save_plot(args.plot, lambda path: plot_validation_table(
            tidy, _sweep_axis(setting), path, z=args.z))
    s = tidy.meta["summary"]
    n_points = len(wide)
    bad_points = sum(1 for r in wide.rows if r["verdict"] != "agree")
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
    return EXIT_NOT_CONVERGED if s["theory_not_converged"] else s["exit_code"]


def _validate_text_columns(tidy, extrapolate: bool) -> list:
    """The text table of ``rf validate``, one row per point and quantity: what is judged
    first (the theory, the value compared with it, the deviation and the verdict), then
    its standard error, the raw values at d, and the theory at the simulated m where
    ``m = inf`` was simulated at ``sim_m``."""
    judged = ["extrapolated", "rel_deviation", "verdict", "extrapolated_se"] if extrapolate \
        else ["sim_mean", "rel_deviation", "verdict", "sim_se"]
    raw = ["sim_mean", "sim_se", "d"]
    at_sim_m = ["sim_m", "theory_at_sim_m"] if any(r["m"] == "inf" for r in tidy.rows) else []
    results = ["theory"] + judged + [c for c in raw if c not in judged] + at_sim_m + ["reason"]
    return text_columns(tidy, SETTING_TEXT + ["quantity"], results,
                        hide=_other_models(tidy.rows))


def _dynamics_text_columns(table) -> list:
    """The text table of ``rf dynamics``: per time each error beside its simulation (with
    ``--simulate``) and the verdict, the standard errors and the ``m = inf`` theory
    after them."""
    errors = [c for c in ERROR_TEXT if c not in ("exact_score_test_error", "residual")]
    paired = [c for q in errors for c in (q, f"sim_{q}")]
    at = paired.index("sim_test_error") + 1 if "verdict" in table.columns else 0
    results = paired[:at] + ["verdict"] + paired[at:] + [
        f"sim_{q}_se" for q in errors] + [f"{q}_at_m_inf" for q in errors] + ["reason"]
    return text_columns(table, SETTING_TEXT + ["time"], ["time_kind"] + results,
                        hide=_other_models(table.rows))


def _setting_and_size(args, estimate, **size_options):
    """The setting of the options and, under ``--simulate``, the simulation size, once the
    budget (``estimate``) and the device are checked; announces a long run."""
    from .ranges import parse_seeds

    seeds = parse_seeds(args.seeds) if args.simulate else None
    fp = check_budget(args, estimate)
    setting = _setting_from_args(args)
    size = None
    if args.simulate:
        from lowdim.simulate.device import resolve_device
        from lowdim.simulate.rf import RFSize

        resolve_device(args.device)
        size = RFSize(d=args.d, seeds=seeds, device=args.device, **size_options)
    announce(fp)
    return setting, size


@named_as_typed
def _cmd_rf_spectrum(args):
    """Spectrum of U = F^T F/(n m): density, atoms, bulk edges (every data model)."""
    from .rf_dynamics import spectrum_table

    setting, size = _setting_and_size(args, _footprint_rf_spectrum)
    seeds = size.seeds if size is not None else None
    table = with_progress(args.simulate and not args.quiet, setting.size * len(seeds or ()),
                          "simulating", lambda update: spectrum_table(
                              setting, size=size, sim_m=args.sim_m, bins=args.bins,
                              progress=update))
    emit(table, args, text_columns(table, SETTING_TEXT + ["kind"], table.columns,
                                   hide=_other_models(table.rows)),
         plot="rf_dynamics_plots:plot_spectrum")
    for spec in table.meta["spectra"]:
        s = spec["setting"]
        bulks = ", ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in spec["bulks"])
        atoms = ", ".join(f"{w:.4g} at {x:.4g}" for x, w in spec["atoms"]) or "none"
        print(f"psi_n={s['psi_n']:g} psi_p={s['psi_p']:g} m={s['m']} t={s['t']:g}: bulks "
              f"{bulks}; atoms {atoms}", file=sys.stderr)
    if size is None:
        return EXIT_OK
    print(table.meta["summary"]["text"], file=sys.stderr)
    return table.meta["summary"]["exit_code"]


@named_as_typed
def _cmd_rf_dynamics(args):
    """Errors along gradient flow or gradient descent, and when to stop (every data model)."""
    from .ranges import parse_values
    from .rf_dynamics import dynamics_table

    times = parse_values("tau", args.tau, allow_inf=True)
    if not np.all(times >= 0):
        raise ValueError(f"tau: every time must be >= 0, inf allowed, NaN not (got {args.tau})")
    if args.gd_step is not None and not (np.isfinite(args.gd_step) and args.gd_step > 0):
        raise ValueError(f"gd-step: must be a finite number > 0 (got {args.gd_step!r})")
    if not (args.z > 0):
        raise ValueError(f"z: must be > 0 (got {args.z!r})")
    if not (0 <= args.rel_tol < 1):
        raise ValueError(f"rel-tol: must be in [0, 1) (got {args.rel_tol!r})")
    if args.simulate and args.extrapolate and args.d < 8:
        raise ValueError(f"d: the 1/d extrapolation needs d >= 8 (got {args.d}); "
                         "or pass --no-extrapolate")
    setting, size = _setting_and_size(args, _footprint_rf_dynamics, n_test=args.n_test)
    seeds = size.seeds if size is not None else None
    tasks = setting.size * len(seeds or ()) * (2 if args.extrapolate else 1)
    table = with_progress(args.simulate and not args.quiet, tasks, "simulating",
                          lambda update: dynamics_table(
                              setting, times, gd_step=args.gd_step, size=size, sim_m=args.sim_m,
                              z=args.z, rel_tol=args.rel_tol, extrapolate=args.extrapolate,
                              progress=update))
    emit(table, args, _dynamics_text_columns(table))
    unit = "tau" if args.gd_step is None else "steps"
    for stop in table.meta["early_stopping"]:
        edge = " (at the end of the searched range)" if stop["at_edge"] else ""
        print(f"psi_n={stop['psi_n']:g} psi_p={stop['psi_p']:g} m={stop['m']} "
              f"t={stop['t']:g} lam={stop['lam']:g}: stop at {unit} = {stop['time']:.3g}{edge}, "
              f"test error {stop['test_error']:.4g} against {stop['test_error_converged']:.4g} "
              f"trained to convergence", file=sys.stderr)
    if size is None:
        return EXIT_OK
    print(table.meta["summary"]["text"], file=sys.stderr)
    return table.meta["summary"]["exit_code"]


STOP_COLUMNS = ["time_kind", "stop_at", "test_at_stop", "test_converged", "gain",
                "time_gen", "time_mem", "window"]


def _plain_gd_step(args, point) -> float | None:
    """The step ``c = 2 Delta_t eta / (d p)`` of plain gradient descent with learning rate
    ``eta = --lr`` on the README's loss at dimension ``--d`` (docs/dynamics.md sect. 1)."""
    from lowdim.theory.processes import ou_coefficients

    if args.lr is None:
        return args.gd_step
    _, delta = ou_coefficients(float(point.t))
    return 2.0 * float(delta) * args.lr / (args.d * float(point.psi_p) * args.d)


@named_as_typed
def _cmd_rf_stop(args):
    """When to stop training and what it buys: early-stopping time, test error there and at
    convergence, generalization and memorization times."""
    from lowdim.theory.rf import time_scales

    from .provenance import provenance
    from .rf_dynamics import _base
    from .table import Table

    if args.lr is not None:
        if args.gd_step is not None:
            raise ValueError("lr: give either --lr (with --d) or --gd-step, not both")
        if not (np.isfinite(args.lr) and args.lr > 0):
            raise ValueError(f"lr: must be a finite number > 0 (got {args.lr!r})")
        if args.d is None:
            raise ValueError("d: --lr needs the data dimension --d (p = psi_p d)")
    elif args.d is not None:
        raise ValueError("d: only used with --lr (to convert to steps of plain gradient descent)")
    if args.gd_step is not None and not (np.isfinite(args.gd_step) and args.gd_step > 0):
        raise ValueError(f"gd-step: must be a finite number > 0 (got {args.gd_step!r})")
    setting = _setting_from_args(args)
    points = [setting.point(idx) for idx in np.ndindex(setting.shape)] if setting.shape \
        else [setting]
    rows = []
    for point in points:
        c = _plain_gd_step(args, point)
        try:
            ts = time_scales(point, gd_step=c)
        except ValueError as err:
            if args.lr is not None and str(err).startswith("gd_step:"):
                from lowdim.theory.rf import spectrum

                top = spectrum(point).bulks[-1][1] + float(point.lam)
                lr_max = args.lr * (2.0 / top) / c
                raise ValueError(f"lr: plain gradient descent diverges at lr = {args.lr:g} "
                                 f"here (it needs lr < {lr_max:.4g}, the inverse of the "
                                 f"largest curvature)") from None
            raise
        kind = "tau" if c is None else ("steps of plain GD" if args.lr is not None
                                        else f"steps (c = {c:g})")
        rows.append(dict(_base(point), time_kind=kind, stop_at=ts.tau_star,
                         test_at_stop=ts.test_at_tau_star, test_converged=ts.test_converged,
                         gain=ts.gain, time_gen=ts.tau_gen, time_mem=ts.tau_mem,
                         window=ts.window))
    from .rf_dynamics import _columns

    columns = _columns(rows, ["psi_n", "psi_p", "m", "t", "lam", "activation"] + STOP_COLUMNS)
    meta = provenance(kind="rf-stop", setting=setting.to_dict(), lr=args.lr, d=args.d,
                      gd_step=args.gd_step)
    table = Table(columns, rows, meta)
    emit(table, args, text_columns(table, SETTING_TEXT, STOP_COLUMNS,
                                   hide=_other_models(rows)))
    for r in rows:
        unit = r["time_kind"]
        if not np.isfinite(r["stop_at"]):
            print(f"psi_n={r['psi_n']:g} psi_p={r['psi_p']:g} m={r['m']}: the test error never "
                  f"rises; train to convergence ({r['test_converged']:.4g})", file=sys.stderr)
            continue
        share = r["gain"] / r["test_converged"] if r["test_converged"] > 0 else 0.0
        print(f"psi_n={r['psi_n']:g} psi_p={r['psi_p']:g} m={r['m']}: stop at {unit} "
              f"{r['stop_at']:.3g}, test error {r['test_at_stop']:.4g} against "
              f"{r['test_converged']:.4g} trained to convergence ({share:.0%} lower); "
              f"generalized by {r['time_gen']:.3g}, memorizing from {r['time_mem']:.3g}",
              file=sys.stderr)
    return EXIT_OK


def _sample_complexity_pairs(args) -> list:
    """The distinct ``(d, D, D/d)`` of ``--d``/``--D`` (``(None, None, psi_d)`` for
    ``--psi-d``), in the order given; repeated values are computed once."""
    from .ranges import parse_values

    pairs = []
    if args.psi_d is not None:
        if args.d is not None or args.intrinsic_dim is not None:
            raise ValueError("psi-d: give either --psi-d, or --d with --intrinsic-dim, not both")
        pairs = [(None, None, float(g)) for g in parse_values("psi-d", args.psi_d)]
    else:
        if args.d is None or args.intrinsic_dim is None:
            raise ValueError("d: give --d and --intrinsic-dim (lists), or --psi-d")
        for d in parse_values("d", args.d):
            for D in parse_values("intrinsic-dim", args.intrinsic_dim):
                if D > d:
                    continue
                pairs.append((int(round(d)), int(round(D)), D / d))
        if not pairs:
            raise ValueError("intrinsic-dim: every D exceeds every d")
    return list(dict.fromkeys(pairs))


@named_as_typed
def _cmd_rf_sample_complexity(args):
    """Smallest n reaching a relative excess error eps, against D or d."""
    from lowdim.theory.rf import RFSetting, sample_complexity

    from .provenance import provenance
    from .ranges import parse_values
    from .table import Table

    if args.data == "gaussian":
        raise ValueError("data: sample complexity against D needs subspace or manifold data")
    fp = check_budget(args, _footprint_rf_sample_complexity)
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
    announce(fp)
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
    emit(table, args, plot="rf_manifold_figures:plot_sample_complexity_table")
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


# --------------------------------------------------------------------------- options
def _real_data_rows(args):
    """The data matrix of ``--dataset``: a shipped data set's name, or a 2-d file."""
    from .rf_real_data import DATASETS

    if args.dataset in DATASETS:
        return args.dataset
    rows = read_array("dataset", args.dataset)
    if rows.ndim != 2:
        raise ValueError(f"dataset: {args.dataset!r} holds a 1-d array; a data matrix (samples "
                         "in rows) is needed (for eigenvalues alone use rf curve --data spectrum)")
    return rows


def _footprint_rf_real_data(v):
    from .limits import Footprint
    from .ranges import parse_seeds

    psi_n = option_axis(v, "psi_n")
    m = option_axis(v, "m")
    other = option_count(v, "t")
    seeds = len(parse_seeds(v["seeds"]))
    psi_p = option_axis(v, "psi_p")
    d = v.get("rows_d") or (144 if str(v["dataset"]).startswith("patches") else 64)
    s_d = v["surrogate_d"] or max(256, 2 * d)
    dims = (d, d, s_d, s_d // 2)
    peak = max(_rf_fit_bytes(k, psi_n.max() * k, psi_p.max() * k, m.max(), v["n_test"])
               for k in dims)
    work = seeds * other * sum(_rf_fit_work(k, psi_n * k, psi_p * k, m, v["n_test"])
                               for k in dims)
    points = psi_n.size * psi_p.size * m.size * other
    return Footprint(peak + 2 * points * CURVE_POINT_BYTES, work,
                     f"a simulation at d = {s_d} (n = {psi_n.max() * s_d:.3g})",
                     f"{points:,} points x {seeds} seeds at four sizes")


@named_as_typed
def _cmd_rf_real_data(args):
    """Real data against the theory with their own covariance: where Gaussian equivalence holds."""
    from .ranges import parse_seeds, parse_values
    from .rf_real_data import COLUMNS, experiment

    seeds = parse_seeds(args.seeds)
    t = parse_values("t", args.t)
    m = parse_values("m", args.m)
    psi_n = parse_values("psi-n", args.psi_n)
    psi_p = parse_values("psi-p", args.psi_p)
    if args.format == "table":
        chosen_columns(args, COLUMNS)
    rows = _real_data_rows(args)
    args.rows_d = None if isinstance(rows, str) else rows.shape[1]
    fp = check_budget(args, _footprint_rf_real_data)
    from lowdim.simulate.device import resolve_device

    resolve_device(args.device)
    announce(fp)
    table = with_progress(not args.quiet, 1, "simulating", lambda update: experiment(
        rows, t=t, m=m, psi_n=psi_n, psi_p=psi_p, lam=args.lam,
        activation=args.activation, seeds=seeds, n_test=args.n_test,
        surrogate_d=args.surrogate_d, device=args.device, progress=update))
    emit(table, args, ["t", "m", "psi_n", "psi_p", "quantity", "theory", "surrogate",
                       "surrogate_verdict", "gaussian", "real", "rel_gap", "gap_verdict",
                       "real_rel_deviation", "gap_se"],
         plot="rf_real_data_figures:plot_real_data")
    s, eq = table.meta["summary"], table.meta["equivalence"]
    print(f"surrogate against the theory: {s['text']}; real data against the Gaussian at "
          f"d = {table.meta['d']}: {eq['agree']} agree, {eq['disagree']} differ by more than "
          f"max(3 SE, 3 %), {eq['inconclusive']} inconclusive", file=sys.stderr)
    return s["exit_code"]


def _real_data_options(r):
    g = r.add_argument_group("data and grid (t, m, psi-n, psi-p accept a list a,b,c)")
    g.add_argument("--dataset", default="digits",
                   help="digits, patches (12x12 grey patches of scikit-learn's sample images), "
                        "patches-centred (each patch less its mean), or a data matrix FILE "
                        "(.npy or text, samples in rows) (default digits)")
    g.add_argument("--t", default="0.05,0.3,1.5", help="diffusion times (default 0.05,0.3,1.5)")
    g.add_argument("--m", default="1,16", help="noise samples per data point (default 1,16)")
    g.add_argument("--psi-n", default="1,4", help="n/d (default 1,4)")
    g.add_argument("--psi-p", default="2", help="p/d (default 2)")
    g.add_argument("--lam", type=float, default=1e-2, help="ridge lambda (default 1e-2)")
    g.add_argument("--activation", default="tanh", help="tanh, relu, erf or linear (default tanh)")
    s = r.add_argument_group("simulation")
    s.add_argument("--seeds", default="6", help="a count, a list 0,1,2 or a range 0-4 (default 6)")
    s.add_argument("--n-test", type=integer_option("n-test", 2), default=2048,
                   help="test samples per seed (default 2048)")
    s.add_argument("--surrogate-d", type=integer_option("surrogate-d", 8), default=None,
                   help="d of the extrapolated Gaussian surrogate (default 2 d, at least 256)")
    add_device_option(s)
    s.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_output_options(r)


def _curve_options(c):
    _add_setting_options(c, psi_p_default="0.1:100:60", m_default="1")
    add_output_options(c)
    c.add_argument("--tol", type=float, default=1e-12,
                   help="relative residual required of the solver (default 1e-12)")


def _validate_options(v):
    _add_setting_options(v, psi_p_default="0.5,1,4,16", m_default="1,4,inf")
    g = v.add_argument_group("simulation")
    g.add_argument("--d", type=integer_option("d", 2), default=200, help="dimension (default 200)")
    g.add_argument("--seeds", default="6", help="a count, a list 0,1,2 or a range 0-4 (default 6)")
    add_device_option(g)
    g.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                   help="precision of the simulation (default float64)")
    g.add_argument("--sim-m", type=integer_option("sim-m", 1), default=64,
                   help="m used to simulate m = inf (default 64)")
    g.add_argument("--n-test", type=integer_option("n-test", 2), default=4096,
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
    add_output_options(v)


def _simulate_group(p, what: str, seeds: str):
    """``--simulate`` (doing ``what``), ``--d``, ``--seeds``, ``--sim-m``, ``--device`` and
    ``--quiet``: the options of an action whose simulation is optional."""
    g = p.add_argument_group("simulation (with --simulate)")
    g.add_argument("--simulate", action="store_true", help=f"also {what}")
    g.add_argument("--d", type=integer_option("d", 2), default=100, help="dimension (default 100)")
    g.add_argument("--seeds", default=seeds,
                   help=f"a count, a list 0,1,2 or a range 0-4 (default {seeds})")
    g.add_argument("--sim-m", type=integer_option("sim-m", 1), default=64,
                   help="m used to simulate m = inf (default 64)")
    add_device_option(g)
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return g


def _spectrum_options(sp):
    _add_setting_options(sp, psi_p_default="4", m_default="1,4,inf")
    g = _simulate_group(sp, "histogram the eigenvalues of simulated U and judge the distance",
                        "2")
    g.add_argument("--bins", type=integer_option("bins", 1, 10**4), default=30,
                   help="histogram bins per bulk (default 30)")
    add_output_options(sp)


def _dynamics_options(dy):
    _add_setting_options(dy, psi_p_default="4", m_default="4")
    dy.add_argument("--tau", default="0.01:1e4:13,inf",
                    help="gradient-flow times (or step counts with --gd-step); a list, a log "
                         "range start:stop:count, inf for convergence (default 0.01:1e4:13,inf)")
    dy.add_argument("--gd-step", type=float, default=None,
                    help="gradient descent with this step c (in the time units of "
                         "docs/dynamics.md) instead of gradient flow (default: flow)")
    g = _simulate_group(dy, "simulate and judge every row (theory against simulation)", "5")
    g.add_argument("--n-test", type=integer_option("n-test", 512), default=2048,
                   help="test samples per seed (default 2048)")
    g.add_argument("--z", type=float, default=3.0,
                   help="confidence in normal standard errors (default 3, i.e. 99.73%%)")
    g.add_argument("--rel-tol", type=float, default=0.03,
                   help="finite-size allowance, relative (default 0.03)")
    g.add_argument("--no-extrapolate", dest="extrapolate", action="store_false",
                   help="judge the raw values at d instead of the 1/d extrapolation from d/2, d")
    add_output_options(dy, plot=False)


def _stop_options(st):
    _add_setting_options(st, psi_p_default="4", m_default="4")
    st.add_argument("--gd-step", type=float, default=None,
                    help="gradient descent with this step c (docs/dynamics.md units); times "
                         "are then step counts (default: gradient flow, times tau)")
    g = st.add_argument_group("your run in its own units (optional)")
    g.add_argument("--lr", type=float, default=None,
                   help="learning rate eta of plain gradient descent A <- A - eta grad L on "
                        "the README's loss; times are then its step counts (needs --d)")
    g.add_argument("--d", type=integer_option("d", 1), default=None,
                   help="data dimension d (p = psi_p d, n = psi_n d), with --lr")
    add_output_options(st, plot=False)


def _sample_complexity_options(sc):
    g = sc.add_argument_group("setting (lists a,b,c or log ranges start:stop:count)")
    g.add_argument("--data", default="linear-manifold",
                   help="subspace, linear-manifold or hidden-manifold (default linear-manifold)")
    g.add_argument("--manifold-activation", default=None, help="phi of the hidden manifold")
    g.add_argument("--activation", default="relu", help="random-features activation (default relu)")
    g.add_argument("--t", default="0.1", help="diffusion time (default 0.1)")
    g.add_argument("--lam", default="1e-3", help="ridge lambda > 0 (default 1e-3)")
    g.add_argument("--m", default="inf", help="noise samples per data point (default inf)")
    g.add_argument("--psi-p", default="16", help="p/d (default 16)")
    g.add_argument("--d", default=None, help="ambient dimensions, e.g. 1000 or 250,500,1000")
    g.add_argument("--intrinsic-dim", default=None,
                   help="intrinsic dimensions D, e.g. 25,50,100,200")
    g.add_argument("--psi-d", default=None, help="or intrinsic ratios D/d directly")
    sc.add_argument("--eps", type=float, default=0.01,
                    help="target relative excess error (L(n) - L(inf)) / (L(0) - L(inf)) "
                         "(default 0.01)")
    sc.add_argument("--criterion", choices=("par", "total"), default="par",
                    help="on-manifold part of the test error (default) or all of it")
    add_output_options(sc)


FAMILY = Family("rf", "random-features score learning curves",
                actions=(action("curve", _curve_options, _cmd_rf_curve),
                         action("validate", _validate_options, _cmd_rf_validate),
                         action("spectrum", _spectrum_options, _cmd_rf_spectrum),
                         action("dynamics", _dynamics_options, _cmd_rf_dynamics),
                         action("stop", _stop_options, _cmd_rf_stop),
                         action("sample-complexity", _sample_complexity_options,
                                _cmd_rf_sample_complexity),
                         action("real-data", _real_data_options, _cmd_rf_real_data)),
                figures=("rf_figures", "rf_manifold_figures", "rf_dynamics_figures",
                         "rf_dynamics_manifold_figures", "rf_real_data_figures"),
                bench="rf_bench")
