"""Random-features learning curves: theory tables and theory-vs-simulation experiments.

Agreement rule (issue criterion, and the default of ``lowdim rf validate``): a measured
value agrees with the theory when::

    |sim - theory| <= max(k * SE, rel_tol * |theory|),

with ``rel_tol = 0.03`` and ``k`` the ``z = 3`` (99.73 %, two-sided) multiplier.  ``SE`` is the
standard error of the seed mean (never below the Monte Carlo part).  It is estimated from
the seeds themselves, so ``k`` is the Student-t quantile at that confidence with
``n_seeds - 1`` degrees of freedom (Welch-Satterthwaite for an extrapolated value); it tends
to 3 with many seeds (5.5 at 6 seeds, 4.5 at 8, 19 at 3).  ``rel_tol`` is the finite-size
allowance.  A value within ``rel_tol`` agrees whatever the number of seeds; a value that
agrees only through the ``k SE`` band needs at least :data:`MIN_SEEDS` seeds (with fewer the
band is too wide to mean anything) and is otherwise reported ``inconclusive``.  The theory is the
``d -> inf`` limit and the measured deviations shrink like ``1/d`` (figure
``rf-finite-size``), so the allowance is a statement about ``d``: about ``6/d`` covers
every setting we measured away from interpolation peaks.  For ``m = inf`` the simulation
runs at a large finite ``sim_m`` and is compared with the finite-m theory at that same
``sim_m``; the ``m = inf`` theory is reported next to it.

Finite-size extrapolation (``extrapolate=True``): every point is also simulated at ``d/2``
and the leading ``1/d`` correction is removed by Richardson extrapolation,
``E_inf = 2 E(d) - E(d/2)`` with ``SE_inf = sqrt(4 SE(d)^2 + SE(d/2)^2)``; the verdict then
compares ``E_inf`` with the theory.  The raw values at ``d`` are always reported.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from lowdim.theory.rf import RFSetting, predict

from ._lazy import LazyModule
from .provenance import provenance
from .sweep import map_tasks
from .table import Table
from .verdict import Check, Report, combine, compare, se_multiplier

# imported at first use: `lowdim rf curve` needs no simulation (and no torch)
sim = LazyModule("lowdim.simulate.rf")

__all__ = ["curve", "experiment", "wide_view", "tolerance", "se_multiplier", "judge",
           "richardson",
           "MIN_SEEDS",
           "SETTING_COLUMNS", "CURVE_COLUMNS", "DEFAULT_Z", "DEFAULT_REL_TOL",
           "ALLOWANCE_MIN_D"]

SETTING_COLUMNS = ["psi_n", "psi_p", "m", "t", "lam", "activation", "data", "psi_d",
                   "manifold_activation"]
CURVE_COLUMNS = SETTING_COLUMNS + ["test_error", "train_error", "train_error_reg", "score_error",
                                   "test_error_par", "test_error_perp",
                                   "exact_score_test_error", "converged", "residual"]
TIDY_COLUMNS = SETTING_COLUMNS + [
    "quantity", "theory", "sim_m", "theory_at_sim_m", "d", "sim_mean", "sim_se", "sim_mc_se",
    "sim_dof",
    "d_half", "sim_mean_half", "sim_se_half", "extrapolated", "extrapolated_se", "compared",
    "dof", "deviation", "rel_deviation", "tolerance", "verdict", "reason", "n_seeds", "n", "p",
    "device", "dtype", "seconds", "converged"]
DEFAULT_Z = 3.0
DEFAULT_REL_TOL = 0.03
# the smallest d at which the 3 % allowance was measured to cover the K/d finite-size
# corrections (K <= 5 for test and score errors; README "How theory and simulation agree")
ALLOWANCE_MIN_D = 200
MIN_SEEDS = 5


def _m_label(m: float):
    return "inf" if math.isinf(m) else int(m)


def curve(setting: RFSetting, *, tol: float = 1e-12) -> Table:
    """Theory only: one row per grid point (columns :data:`CURVE_COLUMNS`).

    Errors of points that did not converge are ``None`` (never a number).
    """
    t0 = time.perf_counter()
    pred = predict(setting, tol=tol)
    seconds = time.perf_counter() - t0
    rows = pred.rows()
    for r in rows:
        r.setdefault("psi_d", 1.0)
        r.setdefault("manifold_activation", "")
        if not r["converged"]:
            for q in ("test_error", "train_error", "train_error_reg", "score_error",
                      "test_error_par", "test_error_perp"):
                r[q] = None
    meta = provenance(kind="rf-curve", setting=setting.to_dict(), seconds=seconds,
                      success=bool(pred.success), message=pred.message,
                      moments_method=setting.moments.method)
    return Table(list(CURVE_COLUMNS), rows, meta)


def extrapolated_dof(se_full, dof_full, se_half, dof_half) -> float:
    """Welch-Satterthwaite degrees of freedom of ``2 E(d) - E(d/2)``."""
    a, b = 4.0 * se_full**2, se_half**2
    den = (a * a / dof_full if np.isfinite(dof_full) else 0.0) + (
        b * b / dof_half if np.isfinite(dof_half) else 0.0)
    return float("inf") if den == 0 else (a + b) ** 2 / den


def richardson(full, half, quantity: str):
    """``(value, se, dof)`` of the ``1/d``-extrapolated ``2 E(d) - E(d/2)`` of two measurements.

    ``SE = sqrt(4 SE(d)^2 + SE(d/2)^2)`` (independent runs); ``dof`` by Welch-Satterthwaite.
    """
    se_f, se_h = full.uncertainty(quantity), half.uncertainty(quantity)
    value = 2.0 * full.mean[quantity] - half.mean[quantity]
    se = math.sqrt(4.0 * se_f**2 + se_h**2)
    return value, se, extrapolated_dof(se_f, full.dof(quantity), se_h, half.dof(quantity))


def tolerance(theory, se, dof, z=DEFAULT_Z, rel_tol=DEFAULT_REL_TOL) -> float:
    """``max(k SE, rel_tol |theory|)`` with ``k = se_multiplier(z, dof)``."""
    k = se_multiplier(z, dof)
    return max(k * se if np.isfinite(se) else 0.0, rel_tol * abs(theory))


def judge(theory, value, se, dof, n_seeds, z=DEFAULT_Z, rel_tol=DEFAULT_REL_TOL,
          name="", scale=None) -> Check:
    """One measured ``value`` against ``theory`` by the package's band rule
    (:func:`lowdim.compare.verdict.compare`, allowance ``rel_tol |theory|``, at least
    :data:`MIN_SEEDS` distinct seeds for the ``k SE`` band); ``theory=None`` (not converged)
    is inconclusive."""
    return compare(name, value, theory, se=se, dof=dof, n_seeds=n_seeds, z=z, rel_tol=rel_tol,
                   scale=scale, min_seeds=MIN_SEEDS)


def _check_distinct_seeds(size: sim.RFSize) -> None:
    """Seeds are independent draws only when distinct: a repeated seed would shrink the
    standard error and pass the :data:`MIN_SEEDS` rule with copies of one draw."""
    if len(set(size.seeds)) != len(size.seeds):
        raise ValueError(f"seeds: each seed must be distinct (got {tuple(size.seeds)!r})")


def seed_task(setting: RFSetting, size: sim.RFSize, seed: int) -> dict:
    """One sweep task: :func:`lowdim.simulate.rf.fit_seed` on one seed, as plain data (the
    fields of its :class:`~lowdim.simulate.rf.SeedResult`, timings included) for the cache."""
    return dataclasses.asdict(sim.fit_seed(setting, size, seed))


def simulate_points(jobs, progress=None) -> list:
    """Measurements of many ``(setting point, size)`` jobs, every seed one sweep task.

    Equivalent to ``[lowdim.simulate.rf.run(s, z) for s, z in jobs]``, but the seeds of all jobs go
    through :func:`lowdim.compare.sweep.map_tasks` at once: cached and parallel under a runner.
    ``progress(done, total)`` is called as seed tasks finish (counted in tasks).
    """
    jobs = [(s if s.shape == () else s.point((0,) * len(s.shape)), z) for s, z in jobs]
    for s, z in jobs:
        if s.size != 1:
            raise ValueError(f"setting: simulate one grid point at a time (got shape {s.shape})")
        _check_distinct_seeds(z)
    items = [{"setting": s, "size": z, "seed": int(seed)} for s, z in jobs for seed in z.seeds]
    results = [sim.SeedResult(**r) for r in map_tasks(seed_task, items, progress=progress)]
    out, k = [], 0
    for s, z in jobs:
        out.append(sim.measurement(s, z, results[k:k + len(z.seeds)]))
        k += len(z.seeds)
    return out


def experiment(setting: RFSetting, size: sim.RFSize | None = None, *, sim_m: int = 64,
               z: float = DEFAULT_Z, rel_tol: float = DEFAULT_REL_TOL, extrapolate: bool = False,
               progress=None) -> Table:
    """Theory and simulation on every point of ``setting``; a tidy table.

    Parameters
    ----------
    setting : RFSetting
        Grid of settings.  Points with ``m = inf`` are simulated at ``sim_m``.
    size : lowdim.simulate.rf.RFSize
        Simulation size (d, seeds, device, ...).
    sim_m : int
        Noise samples per data point used to simulate ``m = inf``.
    z, rel_tol : float
        Agreement rule (module docstring).
    extrapolate : bool
        Also simulate at ``d // 2`` and judge the ``1/d``-extrapolated value.
    progress : callable, optional
        ``progress(done, total)`` as simulation tasks (one seed of one point) finish.

    Returns
    -------
    Table
        One row per (grid point, quantity), columns :data:`TIDY_COLUMNS`; ``meta`` holds the
        provenance and an agreement summary.
    """
    if isinstance(sim_m, bool) or not isinstance(sim_m, (int, np.integer)) or sim_m < 1:
        raise ValueError(f"sim_m: must be an integer >= 1 (got {sim_m!r})")
    if not (z > 0):
        raise ValueError(f"z: must be > 0 (got {z!r})")
    if not (0 <= rel_tol < 1):
        raise ValueError(f"rel_tol: must be in [0, 1) (got {rel_tol!r})")
    size = sim.RFSize() if size is None else size
    _check_distinct_seeds(size)
    half = None
    if extrapolate:
        if size.d < 8:
            raise ValueError(f"d: extrapolation needs d >= 8 (got {size.d})")
        # independent draws at d/2 (their own random stream), so the two errors add
        half = sim.RFSize(d=size.d // 2, seeds=size.seeds, n_test=size.n_test, device=size.device,
                      dtype=size.dtype, noise_block=size.noise_block,
                      test_block=size.test_block, stream=f"{size.stream}half")
    pred = predict(setting)
    m_sim_grid = np.where(np.isinf(setting.m), float(sim_m), setting.m)
    pred_sim_m = predict(setting.replace(m=m_sim_grid)) if np.any(np.isinf(setting.m)) else pred
    rows, report = [], Report()
    idxs = list(np.ndindex(setting.shape))
    sim_points = [setting.point(idx).replace(m=float(m_sim_grid[idx])) for idx in idxs]
    jobs = [(p, size) for p in sim_points] + ([(p, half) for p in sim_points] if half else [])
    measured = simulate_points(jobs, progress=progress)
    for k, idx in enumerate(idxs):
        point = setting.point(idx)
        converged = bool(pred.converged[idx]) and bool(pred_sim_m.converged[idx])
        meas = measured[k]
        meas_h = measured[len(idxs) + k] if half is not None else None
        for q in [q for q in sim.MEASURED if q in meas.per_seed]:
            theory = (float(getattr(pred, q)[idx]), float(getattr(pred_sim_m, q)[idx]))
            row, check = _judged_row(point, q, theory, converged, meas, meas_h, size.d,
                                     z, rel_tol)
            rows.append(row)
            report.add(check)
    meta = provenance(
        kind="rf-validate", setting=setting.to_dict(),
        size={"d": size.d, "seeds": list(size.seeds), "n_test": size.n_test,
              "device": size.device, "dtype": size.dtype},
        sim_m=sim_m, rule={"z": z, "rel_tol": rel_tol, "extrapolate": bool(extrapolate)},
        summary=report.summary(rows=len(rows),
                               theory_not_converged=sum(not r["converged"] for r in rows),
                               seconds=_point_seconds(rows)),
    )
    return Table(list(TIDY_COLUMNS), rows, meta)


def _judged_row(point, q, theory, converged, meas, meas_h, d, z, rel_tol) -> tuple:
    """The tidy row of quantity ``q`` at one grid point and its check (:func:`judge`):
    ``theory = (at m, at sim_m)``, the measurement at ``d`` (and at ``d/2`` in ``meas_h``
    when extrapolating)."""
    th, th_sim = theory
    se = meas.uncertainty(q)
    row = {
        "psi_n": float(point.psi_n), "psi_p": float(point.psi_p),
        "m": _m_label(float(point.m)), "t": float(point.t), "lam": float(point.lam),
        "activation": point.activation.name, "data": point.data,
        "psi_d": float(point.psi_d),
        "manifold_activation": (point.manifold_activation.name
                                if point.data == "hidden-manifold" else ""),
        "quantity": q,
        "theory": th if converged else None,
        "sim_m": meas.m, "theory_at_sim_m": th_sim if converged else None,
        "d": d, "sim_mean": meas.mean[q], "sim_se": se, "sim_mc_se": meas.mc_se[q],
        "sim_dof": meas.dof(q),
        "d_half": None, "sim_mean_half": None, "sim_se_half": None,
        "extrapolated": None, "extrapolated_se": None, "compared": f"d={d}",
        "n_seeds": meas.n_seeds, "n": meas.n, "p": meas.p, "device": meas.device,
        "dtype": meas.dtype, "seconds": meas.seconds + (meas_h.seconds if meas_h else 0.0),
        "converged": converged,
    }
    value, value_se = meas.mean[q], se
    dof = meas.dof(q)
    if meas_h is not None:
        value, value_se, dof = richardson(meas, meas_h, q)
        row.update({"d_half": d // 2, "sim_mean_half": meas_h.mean[q],
                    "sim_se_half": meas_h.uncertainty(q),
                    "extrapolated": value, "extrapolated_se": value_se,
                    "compared": "d->inf"})
    row["dof"] = dof
    check = judge(th_sim if converged else None, value, value_se, dof, meas.n_seeds, z,
                  rel_tol, name=q)
    dev = check.deviation
    row.update({"deviation": float("nan") if dev is None else dev,
                "rel_deviation": dev / abs(th_sim) if dev is not None and th_sim else None,
                "tolerance": float("nan") if check.tolerance is None else check.tolerance,
                "verdict": check.verdict, "reason": check.reason})
    return row, check


def _point_seconds(rows) -> float:
    """Simulation seconds summed over grid points (each point's rows repeat its time)."""
    seen = {}
    for r in rows:
        seen[tuple(r[c] for c in SETTING_COLUMNS)] = r["seconds"]
    return float(sum(seen.values()))


def wide_view(tidy: Table) -> Table:
    """One row per grid point: theory and ``sim_<quantity>``/``sim_<quantity>_se`` columns
    and a verdict for the point (``agree`` when every quantity agrees)."""
    groups: dict = {}
    order = []
    for r in tidy.rows:
        key = tuple(r[c] for c in SETTING_COLUMNS)
        if key not in groups:
            groups[key] = {c: r[c] for c in SETTING_COLUMNS}
            groups[key].update({"sim_m": r["sim_m"], "d": r["d"], "n_seeds": r["n_seeds"],
                                "_verdicts": [], "_bad": []})
            order.append(key)
        g = groups[key]
        q = r["quantity"]
        g[q] = r["theory"]
        if r["m"] == "inf":
            g[f"{q}_at_sim_m"] = r["theory_at_sim_m"]
        g[f"sim_{q}"] = r["sim_mean"]
        g[f"sim_{q}_se"] = r["sim_se"]
        if r["extrapolated"] is not None:
            g[f"sim_{q}_extrap"] = r["extrapolated"]
            g[f"sim_{q}_extrap_se"] = r["extrapolated_se"]
        g["_verdicts"].append(r["verdict"])
        g["_bad"].append(f"{q}: {r['reason']}" if r["reason"] else q)
    cols = list(SETTING_COLUMNS) + ["sim_m", "d", "n_seeds"]
    any_inf = any(r["m"] == "inf" for r in tidy.rows)
    any_ex = any(r["extrapolated"] is not None for r in tidy.rows)
    present = {r["quantity"] for r in tidy.rows}
    for q in [q for q in sim.MEASURED if q in present]:
        cols += [q] + ([f"{q}_at_sim_m"] if any_inf else []) + [f"sim_{q}", f"sim_{q}_se"]
        if any_ex:
            cols += [f"sim_{q}_extrap", f"sim_{q}_extrap_se"]
    cols += ["verdict", "reason"]
    rows = []
    for key in order:
        g = groups.pop(key)
        g["verdict"], g["reason"] = combine(g.pop("_verdicts"), g.pop("_bad"))
        rows.append(g)
    return Table(cols, rows, dict(tidy.meta))
