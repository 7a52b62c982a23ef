"""Random-features training dynamics: the spectrum of ``U`` and the errors along gradient flow or
gradient descent, theory beside simulation (every data model), and when to stop.

Every seed is one sweep task (:func:`dynamics_task`, cached and parallel under a runner); the
per-seed curves are assembled time by time into the same :class:`~lowdim.simulate.rf.RFMeasurement`
as the ridge simulation, so the package's tolerance policy (:func:`lowdim.compare.rf.judge`,
the 1/d extrapolation of :func:`lowdim.compare.rf.richardson`) applies unchanged.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from lowdim.theory.rf import RFSetting

from ._lazy import LazyModule
from .provenance import provenance
from .sweep import map_tasks
from .table import Table
from .rf import _m_label
from .verdict import Report, combine, compare

sim = LazyModule("lowdim.simulate.rf")
dyn = LazyModule("lowdim.simulate.rf_dynamics")

__all__ = ["dynamics_task", "measure_dynamics", "spectrum_task", "spectrum_table",
           "dynamics_table", "early_stopping", "DYNAMICS_COLUMNS", "SPLIT_QUANTITIES",
           "SPECTRUM_COLUMNS", "W1_ALLOWANCE_D"]

#: columns of :func:`spectrum_table`
SPECTRUM_COLUMNS = ["psi_n", "psi_p", "m", "t", "activation", "kind", "x", "density",
                    "density_se", "mass"]

#: finite-size allowance of the W1 distance between the simulated eigenvalues and the
#: limiting law, relative to the mean eigenvalue: ``W1_ALLOWANCE_D / d``.  Measured
#: ``d W1 / mean`` 1.7-2.1 for m = 1 to 64 at d = 100 and 200 (docs/dynamics.md sect. 3).
#: The Kolmogorov distance is reported too; it also falls like 1/d but its constant grows
#: with m (the steep lower edge of the narrow bulk that becomes the m = inf atom).
W1_ALLOWANCE_D = 4.0


def dynamics_task(setting: RFSetting, size, seed: int, times, gd_step=None) -> dict:
    """One sweep task: :func:`lowdim.simulate.rf_dynamics.fit_dynamics` on one seed, as plain
    data for the cache."""
    return dataclasses.asdict(dyn.fit_dynamics(setting, size, seed, times, gd_step=gd_step))


def measure_dynamics(setting: RFSetting, size, times, *, gd_step=None, progress=None) -> list:
    """One :class:`~lowdim.simulate.rf.RFMeasurement` per time of ``times`` (gradient-flow
    ``tau``, or step counts with ``gd_step``), every seed of ``size`` simulated once for all
    times; ``progress(done, total)`` in seeds."""
    if setting.size != 1:
        raise ValueError(f"setting: simulate one grid point at a time (got shape {setting.shape})")
    if setting.shape != ():
        setting = setting.point((0,) * len(setting.shape))
    times = [float(x) for x in np.atleast_1d(np.asarray(times, dtype=float))]
    items = [{"setting": setting, "size": size, "seed": int(s), "times": times,
              "gd_step": gd_step} for s in size.seeds]
    runs = map_tasks(dynamics_task, items, progress=progress)
    out = []
    for j in range(len(times)):
        per_seed = [sim.SeedResult(seed=r["seed"], n=r["n"], p=r["p"], m=r["m"], D=r["D"],
                                   values={q: float(v[j]) for q, v in r["values"].items()},
                                   mc_se={q: float(v[j]) for q, v in r["mc_se"].items()},
                                   seconds=r["seconds"] / len(times), timings={})
                    for r in runs]
        out.append(sim.measurement(setting, size, per_seed))
    return out


def spectrum_task(setting: RFSetting, size, seed: int) -> dict:
    """One sweep task: the eigenvalues of ``U`` of one seed
    (:func:`lowdim.simulate.rf_dynamics.spectrum`)."""
    return {"eigenvalues": dyn.spectrum(setting, size, seed)}


def _base(point) -> dict:
    """The setting columns of one point: the data model's own only (``data``, ``psi_d`` and
    the manifold's map off isotropic data)."""
    base = {"psi_n": float(point.psi_n), "psi_p": float(point.psi_p),
            "m": _m_label(float(point.m)), "t": float(point.t), "lam": float(point.lam),
            "activation": point.activation.name}
    if point.data != "gaussian":
        base.update(data=point.data, psi_d=float(point.psi_d))
    if point.data == "hidden-manifold":
        base["manifold_activation"] = point.manifold_activation.name
    return base


def _columns(rows, first) -> list:
    """``first`` with the data model's setting columns after ``activation`` when any row has
    them."""
    extra = [c for c in ("data", "psi_d", "manifold_activation") if any(c in r for r in rows)]
    at = first.index("activation") + 1
    return first[:at] + extra + first[at:]


def _point_rows(base, sp) -> list:
    rows = [dict(base, kind="theory", x=float(x), density=float(v), density_se=None, mass=None)
            for x, v in zip(sp.x, sp.density)]
    rows += [dict(base, kind="atom", x=float(x), density=None, density_se=None, mass=float(w))
             for x, w in sp.atoms]
    return rows


def _histogram_rows(base, sp, ev, p: int, bins: int) -> list:
    """Simulated density over ``bins`` bins per bulk of ``sp`` (eigenvalues of all seeds in
    ``ev``, ``p`` per seed) with a Poisson standard error, and the mass on each atom."""
    k = ev.size // p
    rows = []
    for lo, hi in sp.bulks:
        width = (hi - lo) / bins
        edges = np.linspace(lo - width, hi + width, bins + 3)
        counts, _ = np.histogram(ev, edges)
        centres = 0.5 * (edges[1:] + edges[:-1])
        for x, c in zip(centres, counts):
            rows.append(dict(base, kind="simulation", x=float(x), density=c / (k * p * width),
                             density_se=np.sqrt(c) / (k * p * width), mass=None))
    scale = float(np.max(np.abs(ev)))
    for where, _ in sp.atoms:
        on = np.abs(ev - where) <= 1e-9 * scale
        rows.append(dict(base, kind="simulated atom", x=float(where), density=None,
                         density_se=None, mass=float(on.sum()) / ev.size))
    return rows


def spectrum_table(setting: RFSetting, *, size=None, sim_m: int = 64, bins: int = 30,
                   progress=None) -> Table:
    """The limiting spectral law of ``U`` at every point of ``setting`` (any data model):
    density rows at the theory's edge-clustered nodes, atom rows, and with ``size`` a
    histogram of simulated eigenvalues (``bins`` per bulk; ``m = inf`` simulated at
    ``sim_m`` and compared with the theory at that ``m``).  The verdict per point: the
    largest W1 distance over seeds between the simulated eigenvalues and the theory's law,
    relative to their mean, within the finite-size allowance ``W1_ALLOWANCE_D / d``
    (:mod:`lowdim.compare.verdict`); the Kolmogorov distances are reported beside it."""
    from lowdim.theory.rf import spectrum

    rows, report, specs = [], Report(), []
    points = [setting.point(idx) for idx in np.ndindex(setting.shape)] if setting.shape \
        else [setting]
    for point in points:
        m = float(point.m)
        base = {k: v for k, v in _base(point).items() if k != "lam"}   # U has no ridge
        sp = spectrum(point)
        rows += _point_rows(base, sp)
        specs.append({"setting": base, "bulks": [list(b) for b in sp.bulks],
                      "atoms": [list(a) for a in sp.atoms], "mass": sp.mass})
        if size is None:
            continue
        sim_point = point.replace(m=float(sim_m)) if np.isinf(m) else point
        sp_sim = sp if sim_point is point else spectrum(sim_point)
        sim_base = dict(base, m=_m_label(float(sim_point.m)))
        if sim_point is not point:   # the law the simulation is judged against
            rows += [r for r in _point_rows(sim_base, sp_sim) if r["kind"] == "theory"]
        items = [{"setting": sim_point, "size": size, "seed": int(s)} for s in size.seeds]
        ev = np.concatenate([r["eigenvalues"] for r in map_tasks(spectrum_task, items,
                                                                 progress=progress)])
        p = ev.size // len(size.seeds)
        rows += _histogram_rows(sim_base, sp_sim, ev, p, bins)
        per_seed = np.split(ev, len(size.seeds))
        ks = [sp_sim.kolmogorov_distance(e) for e in per_seed]
        w1 = [sp_sim.wasserstein_distance(e) / float(np.mean(e)) for e in per_seed]
        check = report.add(compare(
            f"W1 / mean eigenvalue, psi_n={base['psi_n']:g}, psi_p={base['psi_p']:g}, "
            f"m={sim_base['m']}, t={base['t']:g}", max(w1), 0.0,
            abs_tol=W1_ALLOWANCE_D / size.d))
        specs[-1].update({"simulated_m": sim_base["m"], "w1_relative": w1,
                          "kolmogorov_distance": ks, "verdict": check.verdict})
    if size is not None:
        worst_ks = max(max(s["kolmogorov_distance"]) for s in specs)
        report.text = (f"{report.counts_text()}: W1 distance / mean eigenvalue within "
                       f"{W1_ALLOWANCE_D:g}/d = {W1_ALLOWANCE_D / size.d:.3g} (d = {size.d}, "
                       f"{len(size.seeds)} seeds); largest Kolmogorov distance {worst_ks:.3f}")
    meta = provenance(kind="rf-spectrum", setting=setting.to_dict(), spectra=specs,
                      summary=report.summary())
    return Table(_columns(rows, list(SPECTRUM_COLUMNS)), rows, meta)


#: columns of :func:`dynamics_table` (``sim_*`` and the verdict only with a simulation)
DYNAMICS_QUANTITIES = ("test_error", "train_error", "train_error_reg", "score_error")
#: the on- and off-manifold parts of the test error (data models other than isotropic)
SPLIT_QUANTITIES = ("test_error_par", "test_error_perp")
DYNAMICS_COLUMNS = ["psi_n", "psi_p", "m", "t", "lam", "activation", "time", "time_kind",
                    *DYNAMICS_QUANTITIES, "converged"]


def _quantities(point) -> tuple:
    """The quantities of a point's rows: the on/off-manifold split off isotropic data."""
    return DYNAMICS_QUANTITIES + (SPLIT_QUANTITIES if point.data != "gaussian" else ())
#: the grid on which the early-stopping time is searched
_STOP_GRID = np.geomspace(1e-3, 1e8, 221)


def _stop_grid(gd_step) -> np.ndarray:
    """The times searched for early stopping: 221 log-spaced from 1e-3 to 1e8 (whole step
    counts with ``gd_step``)."""
    if gd_step is None:
        return _STOP_GRID
    grid = np.unique(np.round(_STOP_GRID / gd_step))
    return grid[grid >= 1]


def _stop_from(grid, test, converged: float, gd_step) -> dict:
    """The smallest test error on ``grid`` (refined by a parabola in log time under gradient
    flow) against the converged one."""
    j = int(np.argmin(test))
    best_time = float(grid[j])
    if 0 < j < len(grid) - 1 and gd_step is None:
        lx = np.log(grid[j - 1:j + 2])
        a, b, _ = np.polyfit(lx, test[j - 1:j + 2], 2)
        if a > 0:
            best_time = float(np.exp(np.clip(-b / (2 * a), lx[0], lx[-1])))
    return {"time": best_time, "test_error": float(test[j]), "test_error_converged": converged,
            "gain": converged - float(test[j]), "at_edge": j in (0, len(grid) - 1)}


def early_stopping(setting: RFSetting, *, gd_step=None) -> dict:
    """When to stop: the time (or step count) of the smallest test error on a log grid of
    221 times from 1e-3 to 1e8, refined by a parabola in log time, and what it buys over
    training to convergence: ``{"time", "test_error", "test_error_converged", "gain",
    "at_edge"}``."""
    from lowdim.theory.rf import generalization_curve

    grid = _stop_grid(gd_step)
    test = generalization_curve(setting, np.append(grid, np.inf), gd_step=gd_step)["test_error"]
    return _stop_from(grid, test[:-1], float(test[-1]), gd_step)


def _theory_rows(point, times, gd_step) -> tuple:
    """The theory's rows at ``times`` and the point's early stopping, from one solve of the
    test curve over ``times`` and the search grid together."""
    from lowdim.theory.rf import generalization_curve, train_curve

    grid = _stop_grid(gd_step)
    train = train_curve(point, times, gd_step=gd_step)
    both = generalization_curve(point, np.concatenate([times, grid, [np.inf]]), gd_step=gd_step)
    k = len(times)
    split = SPLIT_QUANTITIES if point.data != "gaussian" else ()
    gen = {q: both[q][:k] for q in ("test_error", "score_error") + split}
    stop = _stop_from(grid, both["test_error"][k:-1], float(both["test_error"][-1]), gd_step)
    base = dict(_base(point), time_kind="tau" if gd_step is None else f"steps (c = {gd_step:g})")
    converged = bool(train["converged"] and both["converged"])
    rows = []
    for j, time_ in enumerate(times):
        row = dict(base, time=float(time_), converged=converged)
        for q in _quantities(point):
            row[q] = float((train if q.startswith("train") else gen)[q][j])
        rows.append(row)
    return rows, dict(base, **stop)


def _simulated(point, times, gd_step, size, extrapolate, sim_m, progress) -> list:
    """Per time, ``(value, se, dof, n_seeds)`` of every quantity: the raw mean at ``d`` or
    its 1/d extrapolation from ``d/2`` and ``d`` (:func:`lowdim.compare.rf.richardson`)."""
    from .rf import richardson

    sim_point = point.replace(m=float(sim_m)) if np.isinf(float(point.m)) else point
    full = measure_dynamics(sim_point, size, times, gd_step=gd_step, progress=progress)
    if not extrapolate:
        return [{q: (m.mean[q], m.uncertainty(q), m.dof(q), m.n_seeds)
                 for q in _quantities(point)} for m in full]
    half_size = dataclasses.replace(size, d=size.d // 2, stream=f"{size.stream}half")
    half = measure_dynamics(sim_point, half_size, times, gd_step=gd_step, progress=progress)
    return [{q: (*richardson(f, h, q), f.n_seeds) for q in _quantities(point)}
            for f, h in zip(full, half)]


def dynamics_table(setting: RFSetting, times, *, gd_step=None, size=None, sim_m: int = 64,
                   z: float = 3.0, rel_tol: float = 0.03, extrapolate: bool = True,
                   progress=None) -> Table:
    """Test, train and score errors along gradient flow (``times`` = tau) or gradient descent
    (``gd_step``; ``times`` = step counts) at every point of ``setting`` (any data model; the
    on- and off-manifold parts of the test error beside it off isotropic data), with
    the early-stopping time of each point in ``meta``.  With ``size``: simulated columns
    (``m = inf`` simulated at ``sim_m`` and judged against the theory at ``sim_m``, the
    ``m = inf`` theory beside it), judged per row by the package's verdict
    (:func:`lowdim.compare.rf.judge`), after the 1/d extrapolation when ``extrapolate``."""
    from .rf import judge

    times = [float(x) for x in np.atleast_1d(np.asarray(times, dtype=float))]
    points = [setting.point(idx) for idx in np.ndindex(setting.shape)] if setting.shape \
        else [setting]
    rows, stops, report = [], [], Report()
    for point in points:
        sim_point = point.replace(m=float(sim_m)) if (size is not None
                                                      and np.isinf(float(point.m))) else point
        point_rows, stop = _theory_rows(sim_point, times, gd_step)
        if sim_point is not point:   # the theory at m = inf beside the one judged
            inf_rows, stop = _theory_rows(point, times, gd_step)
            for r, r_inf in zip(point_rows, inf_rows):
                r.update({f"{q}_at_m_inf": r_inf[q] for q in _quantities(point)})
        stops.append(stop)
        if size is not None:
            measured = _simulated(point, times, gd_step, size, extrapolate, sim_m, progress)
            for r, meas in zip(point_rows, measured):
                checks = []
                for q in _quantities(point):
                    value, se, dof, k = meas[q]
                    checks.append(report.add(judge(r[q], value, se, dof, k, z, rel_tol,
                                                   name=q)))
                    r[f"sim_{q}"], r[f"sim_{q}_se"] = value, se
                r["verdict"], r["reason"] = combine([c.verdict for c in checks],
                                                    [f"{c.name}: {c.reason}" for c in checks])
        rows += point_rows
    quantities = [q for q in DYNAMICS_QUANTITIES + SPLIT_QUANTITIES if any(q in r for r in rows)]
    columns = _columns(rows, list(DYNAMICS_COLUMNS))
    at = columns.index("converged")
    columns[at:at] = [q for q in quantities if q not in columns]
    if any(f"{DYNAMICS_QUANTITIES[0]}_at_m_inf" in r for r in rows):
        columns += [f"{q}_at_m_inf" for q in quantities]
    if size is not None:
        columns += [c for q in quantities for c in (f"sim_{q}", f"sim_{q}_se")]
        columns += ["verdict", "reason"]
        judged = f"1/d-extrapolated from d = {size.d // 2}, {size.d}" if extrapolate else \
            f"d = {size.d}"
        report.text = (f"{report.counts_text()} (|sim - theory| <= max({z:g} SE, "
                       f"{rel_tol:.0%}), {judged}, {len(size.seeds)} seeds)")
    meta = provenance(kind="rf-dynamics", setting=setting.to_dict(), times=times,
                      gd_step=gd_step, early_stopping=stops, summary=report.summary())
    return Table(columns, rows, meta)
