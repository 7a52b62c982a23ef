"""Figures of the random-features training dynamics (isotropic data): the spectrum of
``U = F^T F/(nm)``, test and train errors along gradient flow, what a finite number of noise
samples m changes, and a map of what early stopping buys.

Same conventions as :mod:`lowdim.compare.rf_figures`: each builder returns a tidy table of
theory rows (dense curves) and simulation rows (measured points with their standard errors,
the theory they are judged against and the verdict), and each plotter draws from that table
alone.  Simulated errors are judged by the package's verdict (:func:`lowdim.compare.rf.judge`:
``|sim - theory| <= max(3 SE, 3 %)``) after the 1/d extrapolation ``2 E(d) - E(d/2)``
(:func:`lowdim.compare.rf.richardson`); ``m = inf`` is simulated at ``sim_m`` and judged
against the theory at ``sim_m``, with the ``m = inf`` theory drawn beside it.

Time ``tau`` is the gradient-flow time of docs/dynamics.md; Bonnaire, Urfin, Biroli and
Mezard (2025) write ``tau_B = psi_p tau / (2 Delta_t)``.  Their gradient flow has no ridge;
the package needs ``lam > 0``, and :data:`LAM_BUBM25` is far below the spectrum of ``U``
(lowest bulk edge about 4e-3 at ``t = 0.01`` and higher at ``t = 0.1``).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from matplotlib.ticker import FixedLocator, LogLocator, NullFormatter

from lowdim.simulate.rf import RFSize
from lowdim.theory.processes import ou_coefficients
from lowdim.theory.rf import RFSetting, generalization_curve, time_scales, train_curve
from lowdim.theory.rf import MEM_FRACTION
from lowdim.theory.rf import spectrum as theory_spectrum

from .plots import COLORS, new_figure, save, shared_legend, subtitle, tolerance_band
from .registry import FigureSpec, THIS_PACKAGE
from .rf import DEFAULT_REL_TOL, _m_label, judge, richardson
from .rf_dynamics import (SPECTRUM_COLUMNS, W1_ALLOWANCE_D, dynamics_table, early_stopping,
                          measure_dynamics, spectrum_table, spectrum_task)
from .sweep import map_tasks
from .table import Table
from .verdict import AGREE, Report, compare

__all__ = ["PRESETS", "COLUMNS", "BUILDERS", "PLOTTERS", "FIGURES"]

#: the ridge of the BUBM25 settings (their flow has none; the package needs lam > 0)
LAM_BUBM25 = 1e-5
#: the finite-m figure's setting
FINITE_M = {"psi_n": 4.0, "psi_p": 8.0, "t": 0.1, "lam": 1e-3}

PRESETS = {
    "quick": {
        # psi_p = 64 makes p = 64 d: the finite-size gap is large (d (sim - theory) about 12
        # for the test error at tau = 300, psi_n = 8, measured d = 16 to 64) and the cost is
        # the p x p eigendecomposition, so the quick preset simulates one psi_n at small d
        "spectrum": {"d": 32, "seeds": 4, "bins": 24},
        "dynamics": {"psi_n": (4.0,), "d": 40, "seeds": 5, "n_test": 1024},
        "finite_m": {"m": (1.0, 4.0, 16.0, math.inf), "d": 100, "seeds": 5, "n_test": 2048},
        "map": {"psi_n": (0.25, 1.0, 4.0, 16.0, 64.0), "psi_p": (1.0, 4.0, 16.0, 64.0, 256.0),
                "spots": ((1.0, 16.0), (4.0, 4.0)), "d": 60, "seeds": 5, "n_test": 1024},
        "sim_m": 64, "dense": 49,
    },
    "paper": {
        "spectrum": {"d": 64, "seeds": 4, "bins": 30},
        "dynamics": {"psi_n": (4.0, 8.0, 16.0), "d": 96, "seeds": 6, "n_test": 4096},
        "finite_m": {"m": (1.0, 4.0, 16.0, math.inf), "d": 300, "seeds": 8, "n_test": 8192},
        "map": {"psi_n": (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0),
                "psi_p": (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0),
                "spots": ((1.0, 16.0), (4.0, 4.0), (0.25, 4.0), (16.0, 16.0)),
                "d": 160, "seeds": 6, "n_test": 4096},
        "sim_m": 64, "dense": 97,
    },
}

#: columns of the dynamics figures' tables
COLUMNS = ["panel", "kind", "series", "psi_n", "psi_p", "m", "t", "lam", "activation",
           "quantity", "time", "value", "se", "theory", "d", "sim_m", "n_seeds", "value_at_d",
           "se_at_d", "value_at_half_d", "verdict", "counted", "reason"]
_QUANTITIES = ("test_error", "train_error")
_SIM_TIMES = (0.1, 1.0, 10.0, 100.0, 1000.0, math.inf)
_BAND = "max(3 SE, 3%)"
#: bulks of U closer than this factor are counted together in the spectrum's share checks
GAP_FACTOR = 2.0


def _size(block, device):
    return RFSize(d=block["d"], seeds=block["seeds"], n_test=block.get("n_test", 2048),
                  device=device)


def _setting_text(**s) -> str:
    """``psi_n = 4, psi_p = 64, t = 0.1, lam = 1e-05, tanh, m = inf`` (keys as given)."""
    names = {"psi_n": r"$\psi_n$", "psi_p": r"$\psi_p$", "t": "t", "lam": "λ", "m": "m"}
    parts = []
    for k, v in s.items():
        if k == "activation":
            parts.append(f"{v} features")
        else:
            v = "∞" if v in ("inf", math.inf) else (f"{v:g}" if isinstance(v, float) else v)
            parts.append(f"{names.get(k, k)} = {v}")
    return ", ".join(parts)


# =========================================================================== simulation
def _simulated(point: RFSetting, times, size: RFSize, sim_m: int, report: Report, *,
               panel: str, series: str, progress=None) -> list:
    """Simulation rows of ``point`` at ``times``: the raw means at ``d`` and ``d/2`` and their
    1/d extrapolation, judged (extrapolated) against the theory at the simulated m; every
    check goes into ``report``."""
    sim_point = point.replace(m=float(sim_m)) if math.isinf(float(point.m)) else point
    times = [float(x) for x in times]
    theory = {"train_error": train_curve(sim_point, times)["train_error"],
              "test_error": generalization_curve(sim_point, times)["test_error"]}
    full = measure_dynamics(sim_point, size, times, progress=progress)
    half_size = dataclasses.replace(size, d=size.d // 2, stream=f"{size.stream}half")
    half = measure_dynamics(sim_point, half_size, times, progress=progress)
    rows = []
    for j, tau in enumerate(times):
        for q in _QUANTITIES:
            th = float(theory[q][j])
            value, se, dof = richardson(full[j], half[j], q)
            check = report.add(judge(
                th, value, se, dof, full[j].n_seeds,
                name=f"{q} at tau={tau:g}, psi_n={float(point.psi_n):g}, "
                     f"psi_p={float(point.psi_p):g}, m={_m_label(float(sim_point.m))}"))
            rows.append({
                "panel": panel, "kind": "simulation", "series": series,
                "psi_n": float(point.psi_n), "psi_p": float(point.psi_p),
                "m": _m_label(float(point.m)), "t": float(point.t), "lam": float(point.lam),
                "activation": point.activation.name, "quantity": q, "time": tau,
                "value": value, "se": se, "theory": th, "d": size.d,
                "sim_m": _m_label(float(sim_point.m)), "n_seeds": full[j].n_seeds,
                "value_at_d": full[j].mean[q], "se_at_d": full[j].uncertainty(q),
                "value_at_half_d": half[j].mean[q], "verdict": check.verdict,
                "counted": check.counted, "reason": check.reason})
    return rows


def _theory(setting: RFSetting, times, *, panel: str, series: str) -> tuple:
    """Dense theory rows (test and train error) of every point of ``setting`` at ``times``,
    and one early-stopping row per point (:func:`lowdim.compare.rf_dynamics.dynamics_table`)."""
    table = dynamics_table(setting, times)
    rows = []
    for r in table.rows:
        for q in _QUANTITIES:
            rows.append({"panel": panel, "kind": "theory", "series": series,
                         **{k: r[k] for k in ("psi_n", "psi_p", "m", "t", "lam", "activation")},
                         "quantity": q, "time": r["time"],
                         "value": r[q] if r["converged"] else None})
    stops = []
    for s in table.meta["early_stopping"]:
        stops.append({"panel": panel, "kind": "early stopping", "series": series,
                      **{k: s[k] for k in ("psi_n", "psi_p", "m", "t", "lam", "activation")},
                      "quantity": "test_error", "time": s["time"], "value": s["test_error"],
                      "theory": s["test_error_converged"],
                      "reason": "time at the grid's end" if s["at_edge"] else ""})
    return rows, stops


def _summary_text(report: Report, rows, what: str) -> str:
    sims = [r for r in rows if r["kind"] == "simulation"]
    if not sims:
        return report.counts_text()
    dev = max(sims, key=lambda r: abs(r["value"] / r["theory"] - 1))
    raw = max(sims, key=lambda r: abs(r["value_at_d"] / r["theory"] - 1))
    d = sims[0]["d"]
    inf = sorted({r["sim_m"] for r in sims if r["m"] == "inf"})
    at = "the simulated m" + (f" (m = inf at {inf[0]})" if inf else "")
    return (f"{report.count(AGREE)}/{len(report.counted)} simulated {what} within {_BAND} of "
            f"the theory at {at} after the 1/d extrapolation from "
            f"d = {d // 2}, {d} ({sims[0]['n_seeds']} seeds); max |rel. dev.| "
            f"{abs(dev['value'] / dev['theory'] - 1):.1%} ({dev['quantity']} at "
            f"tau={dev['time']:g}, psi_n={dev['psi_n']:g}, m={dev['m']}); raw at d = {d}: "
            f"max |rel. dev.| {abs(raw['value_at_d'] / raw['theory'] - 1):.1%}"
            + "".join(f"; disagrees: {r['quantity']} at tau={r['time']:g}, psi_n={r['psi_n']:g},"
                      f" m={r['m']} ({r['value'] / r['theory'] - 1:+.1%}, "
                      f"{(r['value'] - r['theory']) / r['se']:+.1f} SE)"
                      for r in sims if r["verdict"] == "disagree"))


# =========================================================================== builders
def build_spectrum(preset="quick", device="auto", progress=None):
    """The density of U at psi_p = 64, psi_n = 8, t = 0.01, tanh, m = inf, with the
    eigenvalues of simulated U (m = inf at sim_m) judged by the W1 distance and by the share
    of eigenvalues in each bulk."""
    P = PRESETS[preset]
    block = P["spectrum"]
    s = RFSetting(psi_n=8.0, psi_p=64.0, t=0.01, lam=LAM_BUBM25, m=math.inf)
    size = RFSize(d=block["d"], seeds=block["seeds"], device=device)
    table = spectrum_table(s, size=size, sim_m=P["sim_m"], bins=block["bins"],
                           progress=progress)
    spec = table.meta["spectra"][0]
    report = Report()
    w1 = max(spec["w1_relative"])
    report.add(compare(f"W1 / mean eigenvalue (largest over {len(size.seeds)} seeds), "
                       f"m={spec['simulated_m']}", w1, 0.0,
                       abs_tol=W1_ALLOWANCE_D / size.d))
    # the share of eigenvalues in each group of bulks of the law at the simulated m (bulks
    # closer than a factor GAP_FACTOR merged: the finite-size spread of the lowest bulks is
    # wider than their gap at these d), split at the geometric middle of each gap; the
    # eigenvalues come from the same sweep tasks as the table's (from the cache when there
    # is one)
    sim_point = s.replace(m=float(P["sim_m"]))
    sp = theory_spectrum(sim_point)
    groups = [[sp.bulks[0]]]
    for b in sp.bulks[1:]:
        if b[0] < GAP_FACTOR * groups[-1][-1][1]:
            groups[-1].append(b)
        else:
            groups.append([b])
    cuts = [math.sqrt(a[-1][1] * b[0][0]) for a, b in zip(groups, groups[1:])]
    masses = [sum(_bulk_mass(sp, lo, hi) for lo, hi in g) for g in groups]
    # the trapezoid shares, scaled to the continuous mass of the theory's own quadrature
    masses = [w * sp.mass / sum(masses) for w in masses]
    for where, weight in sp.atoms:
        masses[int(np.searchsorted(cuts, where))] += weight
    evs = [np.asarray(r["eigenvalues"], float) for r in map_tasks(
        spectrum_task, [{"setting": sim_point, "size": size, "seed": int(k)}
                        for k in size.seeds], progress=progress)]
    shares = np.array([np.histogram(e, [-np.inf, *cuts, np.inf])[0] / e.size for e in evs])
    mass_rows = []
    for k, (g, mass) in enumerate(zip(groups, masses)):
        lo, hi = g[0][0], g[-1][1]
        share = shares[:, k]
        se = float(np.std(share, ddof=1) / math.sqrt(len(share)))
        what = "bulks" if len(g) > 1 else "bulk"
        check = report.add(compare(f"share of eigenvalues in the {what} [{lo:.3g}, {hi:.3g}]",
                                   float(share.mean()), mass, se=se, dof=len(share) - 1,
                                   n_seeds=len(share), abs_tol=W1_ALLOWANCE_D / size.d))
        mass_rows.append({"bulks": [list(b) for b in g], "theory_mass": mass,
                          "simulated_share": float(share.mean()), "se": se,
                          "verdict": check.verdict})
    ev = np.concatenate(evs)
    below = float(np.mean(ev < sp.bulks[0][0]))
    rows = list(table.rows) + _log_histogram(table.rows[0], ev, len(evs), sim_point)
    gap = max(abs(r["simulated_share"] - r["theory_mass"]) for r in mass_rows)
    report.text = (f"{report.counts_text()} at d = {size.d} (p = {64 * size.d}), "
                   f"m = {P['sim_m']}, {len(size.seeds)} seeds: W1 / mean eigenvalue "
                   f"{w1:.3f} (allowance {W1_ALLOWANCE_D:g}/d = {W1_ALLOWANCE_D / size.d:.3f}); "
                   f"shares of the {len(groups)} groups of bulks within {W1_ALLOWANCE_D:g}/d "
                   f"of the theory's masses (largest gap {gap:.4f}); largest Kolmogorov "
                   f"distance {max(spec['kolmogorov_distance']):.3f}, at the narrow lowest "
                   f"bulk ({below:.0%} of the eigenvalues lie below its edge "
                   f"{sp.bulks[0][0]:.3g}: finite-size spread)")
    meta = dict(table.meta, summary=report.summary(bulk_shares=mass_rows, below_edge=below),
                spectrum_summary=table.meta["summary"],
                setting={"psi_n": 8.0, "psi_p": 64.0, "t": 0.01, "m": "inf",
                         "activation": "tanh"},
                d=size.d, seeds=list(size.seeds), sim_m=P["sim_m"],
                simulated_bulks=[list(b) for b in sp.bulks], below_edge=below)
    return Table(list(SPECTRUM_COLUMNS), rows, meta)


def _log_histogram(like: dict, ev, k: int, point, per_decade: int = 12) -> list:
    """Rows of the simulated eigenvalues ``ev`` (``k`` seeds) in log-spaced bins: ``density``
    is the density of u (so ``u density`` is the density of ln u at the bin's geometric
    centre), with its Poisson standard error; non-positive eigenvalues are left out."""
    pos = ev[ev > 0]
    p = ev.size // k
    lo, hi = math.log10(pos.min()), math.log10(pos.max())
    edges = 10.0 ** np.linspace(lo - 1e-9, hi + 1e-9, max(int((hi - lo) * per_decade), 1) + 1)
    counts, _ = np.histogram(pos, edges)
    centres = np.sqrt(edges[1:] * edges[:-1])
    width = np.log(edges[1:] / edges[:-1])
    base = {key: like[key] for key in ("psi_n", "psi_p", "t", "activation")}
    return [dict(base, m=_m_label(float(point.m)), kind="simulation (log bins)", x=float(x),
                 density=float(c / (k * p * w * x)),
                 density_se=float(math.sqrt(c) / (k * p * w * x)), mass=None)
            for x, c, w in zip(centres, counts, width) if c > 0]


def _bulk_mass(sp, lo, hi) -> float:
    """The mass of ``sp``'s continuous part on ``[lo, hi]`` (its nodes there, trapezoid
    with the edges, where the density vanishes)."""
    sel = (sp.x >= lo) & (sp.x <= hi)
    x = np.concatenate([[lo], sp.x[sel], [hi]])
    rho = np.concatenate([[0.0], sp.density[sel], [0.0]])
    order = np.argsort(x)
    x, rho = x[order], rho[order]
    return float(np.sum(0.5 * (rho[1:] + rho[:-1]) * np.diff(x)))


def build_dynamics(preset="quick", device="auto", progress=None):
    """Test and train error along gradient flow at psi_p = 64 for psi_n in {4, 8, 16, 32}
    (t = 0.1, tanh, m = inf: BUBM25's setting), with the early-stopping times and simulated
    points (the quick preset: psi_n = 4 only)."""
    P = PRESETS[preset]
    block = P["dynamics"]
    psi_p, t = 64.0, 0.1
    dense = np.geomspace(1e-3, 1e5, P["dense"]).tolist() + [math.inf]
    base = dict(psi_p=psi_p, t=t, lam=LAM_BUBM25, activation="tanh")
    rows, stops = _theory(RFSetting(psi_n=np.array([4.0, 8.0, 16.0, 32.0]), m=math.inf, **base),
                          dense, panel="dynamics", series="theory m=inf")
    rows += stops
    report = Report()
    size = _size(block, device)
    for pn in block["psi_n"]:
        th, _ = _theory(RFSetting(psi_n=pn, m=float(P["sim_m"]), **base), dense,
                        panel="dynamics", series=f"theory m={P['sim_m']}")
        rows += th
        rows += _simulated(RFSetting(psi_n=pn, m=math.inf, **base), _SIM_TIMES, size,
                           P["sim_m"], report, panel="dynamics", series="simulation",
                           progress=progress)
    scales = [time_scales(RFSetting(psi_n=r["psi_n"], m=math.inf, **base)) for r in stops]
    mems = [dict(r, kind="memorization time", time=ts.tau_mem,
                 value=ts.test_at_tau_star + MEM_FRACTION * ts.gain,
                 reason="lowdim.theory.rf.time_scales: the test error has made half of its "
                        "rise above the minimum")
            for r, ts in zip(stops, scales)]
    rows += mems
    report.text = _summary_text(report, rows, "errors")
    report.text += "; theory (m = inf, lowdim.theory.rf.time_scales): " + ", ".join(
        f"psi_n={r['psi_n']:g}: tau_gen={ts.tau_gen:.2g}, tau*={ts.tau_star:.2g}, "
        f"tau_mem={ts.tau_mem:.3g} (tau_mem/psi_n={ts.tau_mem / r['psi_n']:.2g}; spectral "
        f"1/u_-={ts.tau_mem_spectral:.3g})" for r, ts in zip(mems, scales))
    _, delta = ou_coefficients(t)
    return Table(list(COLUMNS), rows, {
        "setting": dict(base, m="inf"), "sim_m": P["sim_m"], "d": size.d,
        "seeds": list(size.seeds), "simulated_psi_n": list(block["psi_n"]),
        "delta_t": float(delta), "tau_B_per_tau": float(psi_p / (2.0 * delta)),
        "summary": report.summary(
            early_stopping=[{k: r[k] for k in ("psi_n", "time", "value", "theory")}
                            for r in stops],
            time_scales={f"{r['psi_n']:g}": {k: getattr(ts, k) for k in (
                "tau_gen", "tau_star", "tau_mem", "tau_mem_spectral", "gain")}
                for r, ts in zip(mems, scales)})})


def build_finite_m(preset="quick", device="auto", progress=None):
    """Test and train error along gradient flow for m in {1, 4, 16, inf} at psi_n = 4,
    psi_p = 8, t = 0.1, lam = 1e-3, tanh: theory lines, simulated points, early stopping."""
    P = PRESETS[preset]
    block = P["finite_m"]
    dense = np.geomspace(1e-3, 1e5, P["dense"]).tolist() + [math.inf]
    size = _size(block, device)
    rows, report = [], Report()
    for m in block["m"]:
        s = RFSetting(m=m, activation="tanh", **FINITE_M)
        series = f"m={_m_label(m)}"
        th, stops = _theory(s, dense, panel="finite-m", series=series)
        rows += th + stops
        if math.isinf(m):
            th_sim, _ = _theory(s.replace(m=float(P["sim_m"])), dense, panel="finite-m",
                                series=f"theory m={P['sim_m']}")
            rows += th_sim
        rows += _simulated(s, _SIM_TIMES, size, P["sim_m"], report, panel="finite-m",
                           series=series, progress=progress)
    report.text = _summary_text(report, rows, "errors")
    stops = [r for r in rows if r["kind"] == "early stopping"]
    report.text += "; early stopping (theory) " + ", ".join(
        f"m={r['m']}: tau*={r['time']:.3g}, gain {r['theory'] - r['value']:.3f}" for r in stops)
    return Table(list(COLUMNS), rows, {
        "setting": dict(FINITE_M, activation="tanh"), "sim_m": P["sim_m"], "d": size.d,
        "seeds": list(size.seeds), "m": [_m_label(m) for m in block["m"]],
        "summary": report.summary(early_stopping=[
            {"m": r["m"], "time": r["time"], "test_error": r["value"],
             "test_error_converged": r["theory"]} for r in stops])})


def build_stopping_map(preset="quick", device="auto", progress=None):
    """Early stopping over (psi_n, psi_p) at t = 0.1, tanh, m = inf: the test error it saves
    (converged minus stopped) and the stopping time; simulated spot checks of the two test
    errors at a few cheap points."""
    P = PRESETS[preset]
    block = P["map"]
    base = dict(t=0.1, lam=LAM_BUBM25, activation="tanh")
    rows, failed = [], []
    for pn in block["psi_n"]:
        for pp in block["psi_p"]:
            s = RFSetting(psi_n=pn, psi_p=pp, m=math.inf, **base)
            common = {"panel": "map", "kind": "theory", "psi_n": pn, "psi_p": pp, "m": "inf",
                      "t": base["t"], "lam": base["lam"], "activation": "tanh"}
            try:
                e = early_stopping(s)
            except RuntimeError as err:   # drawn as a blank cell and named in the summary
                failed.append(f"psi_n={pn:g}, psi_p={pp:g}: {err}")
                rows += [dict(common, series=q, quantity=q, value=None, reason=str(err))
                         for q in ("stopping_time", "gain")]
                continue
            common["reason"] = "time at the grid's end" if e["at_edge"] else ""
            rows.append(dict(common, series="tau*", quantity="stopping_time", time=e["time"],
                             value=e["time"]))
            rows.append(dict(common, series="gain", quantity="gain", time=e["time"],
                             value=e["gain"], theory=e["test_error_converged"]))
            rows.append(dict(common, series="stopped", quantity="test_error", time=e["time"],
                             value=e["test_error"]))
    report = Report()
    size = _size(block, device)
    for pn, pp in block["spots"]:
        s = RFSetting(psi_n=pn, psi_p=pp, m=math.inf, **base)
        # the stopping time of the law the simulation is judged against (m = sim_m)
        tau = early_stopping(s.replace(m=float(P["sim_m"])))["time"]
        rows += _simulated(s, (tau, math.inf), size, P["sim_m"], report, panel="spots",
                           series=f"psi_n={pn:g}, psi_p={pp:g}", progress=progress)
    rows = [r for r in rows if r["kind"] != "simulation" or r["quantity"] == "test_error"]
    report = Report([c for c in report.checks if c.name.startswith("test_error")])
    gains = [r for r in rows if r["quantity"] == "gain" and r["value"] is not None]
    best = max(gains, key=lambda r: r["value"])
    report.text = (_summary_text(report, rows, "test errors (at tau* and tau = inf)")
                   + f"; largest gain (theory) {best['value']:.3g} at psi_n={best['psi_n']:g}, "
                   f"psi_p={best['psi_p']:g}; "
                   f"{sum(r['value'] < 1e-2 for r in gains)}/{len(gains)} grid points gain "
                   "< 0.01")
    if failed:
        report.text += (f"; {len(failed)} grid point(s) not solved by the spectrum of U "
                        f"({failed[0]})")
    return Table(list(COLUMNS), rows, {
        "setting": dict(base, m="inf"), "sim_m": P["sim_m"], "d": size.d,
        "seeds": list(size.seeds), "grid": {"psi_n": list(block["psi_n"]),
                                            "psi_p": list(block["psi_p"])},
        "summary": report.summary(unsolved=failed)})


# =========================================================================== plotters
def _is_inf(m) -> bool:
    """``m = inf`` as a table holds it: ``"inf"`` when built, a float when read from CSV."""
    return str(m) in ("inf", "∞") or (isinstance(m, float) and math.isinf(m))


def _rows(table, **eq):
    return [r for r in table.rows if all(r.get(k) == v for k, v in eq.items())]


def _inf_at(dense_max: float) -> float:
    """Where ``tau = inf`` is drawn: two decades right of the dense grid."""
    return dense_max * 100.0


def _curve(rows, x_of):
    pts = sorted(((x_of(r), r["value"]) for r in rows if r["value"] is not None
                  and math.isfinite(r["time"])), key=lambda p: p[0])
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


def _time_axis(ax, lo, hi, x_inf, label):
    """Log time axis from ``lo`` to the ``inf`` slot: labelled ticks every second decade,
    ``∞`` at the slot, a break mark between."""
    ax.set_xscale("log")
    ax.set_xlim(lo / 2, x_inf * 2.5)
    decades = np.arange(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1)
    ticks = [10.0 ** k for k in decades if k % 2 == 0]
    ax.xaxis.set_major_locator(FixedLocator(ticks + [x_inf]))
    ax.set_xticklabels([_pow10(t) for t in ticks] + ["∞"])
    ax.xaxis.set_minor_locator(FixedLocator([10.0 ** k for k in decades if k % 2]))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvspan(hi * 1.6, x_inf / 1.6, color="0.93", lw=0, zorder=0)
    ax.set_xlabel(label)


def _pow10(x: float) -> str:
    k = int(round(math.log10(x)))
    return {0: "1", 1: "10"}.get(k, f"$10^{{{k}}}$")


def _error_axis(ax, subs=(1.0, 2.0, 5.0)):
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(_plain())
    ax.yaxis.set_minor_formatter(NullFormatter())


def _plain():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:g}")


def _sim_points(ax, rows, x_of, color, *, with_raw=True, z=3.0):
    """Extrapolated simulation (filled, ±z SE) and raw at d (open, small)."""
    if not rows:
        return
    x = np.array([x_of(r) for r in rows])
    ax.errorbar(x, [r["value"] for r in rows], yerr=[z * r["se"] for r in rows], fmt="o",
                color=color, ms=4.2, mec="k", mew=0.5, elinewidth=1.0, capsize=2, zorder=6)
    if with_raw:
        ax.errorbar(x, [r["value_at_d"] for r in rows], yerr=[z * r["se_at_d"] for r in rows],
                    fmt="s", color=color, ms=3.2, mfc="white", mew=0.9, elinewidth=0.7,
                    capsize=1.5, alpha=0.8, zorder=5)


def _legend_below(fig, handles, ncol, y=0.0):
    fig.legend(handles=handles, loc="lower center", ncol=ncol, frameon=False,
               fontsize=7.2, bbox_to_anchor=(0.5, y), handlelength=2.2, columnspacing=1.4)


def plot_spectrum(table, path):
    """Density of U per unit log u (``u rho(u)``) on a log u axis: the m = inf theory, the
    theory at the simulated m, the simulated histogram and the m = inf atom."""
    from matplotlib.lines import Line2D

    meta = table.meta
    spec = meta["spectra"][0]
    sim_m = str(spec.get("simulated_m", meta.get("sim_m")))
    fig, axes = new_figure(1, 1, width=7.0, height=2.5, column="double")
    ax = axes[0][0]
    th_inf = sorted([r for r in table.rows if r["kind"] == "theory" and _is_inf(r["m"])],
                    key=lambda r: r["x"])
    th_sim = sorted([r for r in table.rows if r["kind"] == "theory" and str(r["m"]) == sim_m],
                    key=lambda r: r["x"])
    floor = 1e-3

    def draw(rows, bulks, **kw):
        for lo, hi in bulks:
            seg = [r for r in rows if lo <= r["x"] <= hi]
            x = np.array([lo] + [r["x"] for r in seg] + [hi])
            y = np.array([0.0] + [r["x"] * r["density"] for r in seg] + [0.0])
            ax.plot(x, np.maximum(y, floor * 0.3), **kw)

    draw(th_sim, meta["simulated_bulks"], color=COLORS[1], lw=1.0, ls="--")
    draw(th_inf, spec["bulks"], color=COLORS[0], lw=1.5)
    sim = [r for r in table.rows if r["kind"] == "simulation (log bins)"]
    ax.errorbar([r["x"] for r in sim], [r["x"] * r["density"] for r in sim],
                yerr=[r["x"] * r["density_se"] for r in sim], fmt="o", ms=2.8, color="k",
                mfc="white", mew=0.7, elinewidth=0.7, capsize=0, zorder=5)
    for where, mass in spec["atoms"]:
        ax.axvline(where, color=COLORS[0], ls=":", lw=1.2)
        ax.annotate(f"m = ∞: atom at u = {where:.3g}\n(mass {mass:.3f})", (where, 1.6),
                    xytext=(where * 12, 1.1), ha="left", va="center", fontsize=6.5,
                    color=COLORS[0], arrowprops={"arrowstyle": "->", "color": COLORS[0],
                                                 "lw": 0.8})
    edge = min(b[0] for b in meta["simulated_bulks"])
    ax.annotate(f"{meta['below_edge']:.0%} of the simulated\neigenvalues lie below\nthis "
                f"edge (finite size)", (edge, 2e-3), xytext=(0.01, 0.97),
                textcoords="axes fraction", ha="left", va="top", fontsize=6.5,
                arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.7})
    ax.set_xscale("log")
    ax.set_yscale("log")
    lo = min(b[0] for b in spec["bulks"] + [[a[0]] for a in spec["atoms"]])
    lo = min(lo, min((r["x"] for r in th_sim + sim), default=lo))
    hi = max(b[1] for b in spec["bulks"])
    ax.set_xlim(lo / 3, hi * 3)
    ax.set_ylim(floor, 3.0)
    ax.yaxis.set_major_formatter(_plain())
    ax.xaxis.set_major_formatter(_plain())
    ax.set_xlabel("eigenvalue u of U = FᵀF/(nm)")
    ax.set_ylabel("u ρ(u)  (density of ln u)")
    s = meta["setting"]
    d = meta["d"]
    subtitle(fig, f"{_setting_text(psi_n=s['psi_n'], psi_p=s['psi_p'], t=s['t'])}, "
             f"{s['activation']} features; simulation: d = {d} (p = {int(s['psi_p'] * d)}), "
             f"m = {sim_m}, {len(meta['seeds'])} seeds, log bins, bars ±1 SE (Poisson)")
    handles = [Line2D([], [], color=COLORS[0], lw=1.5, label="theory, m = ∞"),
               Line2D([], [], color=COLORS[0], ls=":", lw=1.2, label="atom of m = ∞"),
               Line2D([], [], color=COLORS[1], lw=1.0, ls="--",
                      label=f"theory, m = {sim_m} (the simulated m)"),
               Line2D([], [], color="k", marker="o", mfc="white", ms=3.5, ls="none",
                      label=f"simulated eigenvalues, m = {sim_m}")]
    shared_legend(fig, handles, [h.get_label() for h in handles], ncol=4)
    save(fig, path)


_TOL_PCT = 100 * DEFAULT_REL_TOL   # the verdict's allowance, in %


def _residual_row(ax, rows, x_of, color, *, shift=1.0, marker="o"):
    """Judged simulation points as ``sim/theory − 1`` in %, with ±3 SE bars (the theory
    they are judged against, at the simulated m)."""
    pts = [r for r in rows if r.get("theory")]
    if not pts:
        return
    th = np.array([r["theory"] for r in pts], float)
    val = np.array([r["value"] for r in pts], float)
    se = np.array([r["se"] for r in pts], float)
    ax.errorbar(np.array([x_of(r) for r in pts]) * shift, 100 * (val - th) / np.abs(th),
                yerr=300 * se / np.abs(th), fmt=marker, color=color, ms=3.5, mec="k",
                mew=0.5, elinewidth=0.9, capsize=1.5, zorder=5)


def _agree_text(sims) -> str:
    sims = [r for r in sims if r.get("counted", True) is not False]
    return f"{sum(r.get('verdict') == AGREE for r in sims)}/{len(sims)} agree"


def plot_dynamics(table, path):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    meta = table.meta
    s = meta["setting"]
    pns = sorted({r["psi_n"] for r in _rows(table, series="theory m=inf")})
    colors = {pn: COLORS[i] for i, pn in enumerate(pns)}
    dense_max = max(r["time"] for r in table.rows if r["kind"] == "theory"
                    and math.isfinite(r["time"]))
    x_inf = _inf_at(dense_max)
    fig, axes = new_figure(2, 2, width=3.5, height=2.0, sharex="col",
                           height_ratios=[2.4, 1.0])
    sims = _rows(table, kind="simulation")
    for j, scaled in enumerate((False, True)):
        ax, res = axes[0][j], axes[1][j]

        def x_of(r, scaled=scaled):
            tau = x_inf if not math.isfinite(r["time"]) else r["time"]
            return tau / r["psi_n"] if scaled and math.isfinite(r["time"]) else tau

        for pn in pns:
            col = colors[pn]
            for q, ls in (("test_error", "-"), ("train_error", "--")):
                x, y = _curve(_rows(table, series="theory m=inf", psi_n=pn, quantity=q), x_of)
                ax.plot(x, y, color=col, ls=ls, lw=1.4)
                conv = [r for r in _rows(table, series="theory m=inf", psi_n=pn, quantity=q)
                        if not math.isfinite(r["time"])]
                if conv:
                    ax.plot([x_inf], [conv[0]["value"]], marker="_", ms=9, mew=1.5, color=col,
                            gid="no-se: theory at convergence")
                xs, ys = _curve(_rows(table, series=f"theory m={meta['sim_m']}", psi_n=pn,
                                      quantity=q), x_of)
                if len(xs):
                    ax.plot(xs, ys, color=col, ls=ls, lw=0.7, alpha=0.55)
                rows = _rows(table, kind="simulation", psi_n=pn, quantity=q)
                _sim_points(ax, rows, x_of, col)
                _residual_row(res, rows, x_of, col, marker="o" if q == "test_error" else "s",
                              shift=0.8 if q == "test_error" else 1.25)
            stop = _rows(table, kind="early stopping", psi_n=pn)
            if stop:
                ax.plot([x_of(stop[0])], [stop[0]["value"]], marker="*", ms=9, color=col,
                        mec="k", mew=0.5, zorder=7, gid="no-se: theory")
            mem = [r for r in _rows(table, kind="memorization time", psi_n=pn)
                   if r["time"] is not None and math.isfinite(r["time"])]
            if mem:
                ax.plot([x_of(mem[0])], [mem[0]["value"]], marker="D", ms=4.5, color=col,
                        mec="k", mew=0.5, zorder=7, gid="no-se: theory")
        lo = 1e-3 / (max(pns) if scaled else 1.0)
        hi = dense_max / (min(pns) if scaled else 1.0)
        label = r"$\tau/\psi_n$" if scaled else r"training time $\tau$"
        _time_axis(res, lo, hi, x_inf, label)
        ax.axvspan(hi * 1.6, x_inf / 1.6, color="0.93", lw=0, zorder=0)
        ax.tick_params(labelbottom=False)
        ax.set_xlabel("")
        _error_axis(ax)
        ax.set_ylabel("error (—— test, - - train)")
        ax.set_title(r"(b) against $\tau/\psi_n$ (BUBM25: $\tau_{mem} \propto n$)" if scaled
                     else r"(a) against gradient-flow time $\tau$", loc="left")
        tolerance_band(res, _TOL_PCT)
        res.set_title(f"({'cd'[j]}) against the theory at m = {meta['sim_m']}: "
                      + _agree_text(sims), loc="left", fontsize=6.5, pad=2)
    d = meta["d"]
    sim_pn = ", ".join(f"{x:g}" for x in meta["simulated_psi_n"])
    handles = [Line2D([], [], color=colors[pn], lw=1.4, label=rf"$\psi_n$ = {pn:g}")
               for pn in pns]
    handles += [
        Line2D([], [], color="0.3", lw=1.4, label="theory, m = ∞"),
        Line2D([], [], color="0.3", lw=0.7, alpha=0.6,
               label=f"theory, m = {meta['sim_m']} (judged against)"),
        Line2D([], [], color="0.3", marker="*", ms=8, mec="k", mew=0.5, ls="none",
               label=r"early stopping $\tau^*$ (min. test error)"),
        Line2D([], [], color="0.3", marker="D", ms=4, mec="k", mew=0.5, ls="none",
               label=r"$\tau_{mem}$: half of the rise made"),
        Line2D([], [], color="0.3", marker="o", mec="k", mew=0.5, ms=4, ls="none",
               label=rf"simulation, $\psi_n$ = {sim_pn}, m = {meta['sim_m']}, ±3 SE, "
                     f"1/d-extrapolated from d = {d // 2}, {d}"),
        Line2D([], [], color="0.3", marker="s", mfc="white", ms=3.5, ls="none",
               label=f"simulation raw at d = {d} (p = {int(s['psi_p'] * d)})"),
        Line2D([], [], color="0.3", marker="s", mec="k", mew=0.5, ms=3.5, ls="none",
               label="(c), (d): ● test, ■ train error"),
        Patch(color="0.86", lw=0, label="±3 %; agree: within max(3 SE, 3 %)")]
    shared_legend(fig, handles, [h.get_label() for h in handles], ncol=3)
    subtitle(fig, f"gradient flow: {_setting_text(psi_p=s['psi_p'], t=s['t'], lam=s['lam'])} "
             f"(BUBM25: λ = 0), {s['activation']} features, m = ∞; BUBM25's time "
             rf"$\tau_B = \psi_p\tau/(2\Delta_t)$ = {meta['tau_B_per_tau']:.0f} $\tau$")
    save(fig, path)


def plot_finite_m(table, path):
    from matplotlib.lines import Line2D

    meta = table.meta
    s = meta["setting"]
    series = [f"m={m}" for m in meta["m"]]
    colors = {m: COLORS[i] for i, m in enumerate(series)}
    dense_max = max(r["time"] for r in table.rows if r["kind"] == "theory"
                    and math.isfinite(r["time"]))
    x_inf = _inf_at(dense_max)

    def x_of(r):
        return x_inf if not math.isfinite(r["time"]) else r["time"]

    fig, axes = new_figure(2, 1, width=3.5, height=3.2)
    for ax, q, title in zip(axes[0], _QUANTITIES, ("(a) test error", "(b) train error")):
        for name in series:
            col = colors[name]
            x, y = _curve(_rows(table, kind="theory", series=name, quantity=q), x_of)
            ax.plot(x, y, color=col, lw=1.4)
            conv = [r for r in _rows(table, kind="theory", series=name, quantity=q)
                    if not math.isfinite(r["time"])]
            if conv:
                ax.plot([x_inf], [conv[0]["value"]], marker="_", ms=9, mew=1.5, color=col,
                        gid="no-se: theory at convergence")
            if name == "m=inf":
                xs, ys = _curve(_rows(table, kind="theory", series=f"theory m={meta['sim_m']}",
                                      quantity=q), x_of)
                ax.plot(xs, ys, color=col, lw=0.8, ls="--", alpha=0.8)
            _sim_points(ax, _rows(table, kind="simulation", series=name, quantity=q), x_of,
                        col, with_raw=False)
            if q == "test_error":
                stop = _rows(table, kind="early stopping", series=name)
                if stop:
                    ax.plot([stop[0]["time"]], [stop[0]["value"]], marker="*", ms=9,
                            color=col, mec="k", mew=0.5, zorder=7, gid="no-se: theory")
        _time_axis(ax, 1e-3, dense_max, x_inf, r"training time $\tau$")
        if q == "train_error":
            _error_axis(ax, subs=(1.0,))
        ax.set_title(title, fontsize=8.5, loc="left")
    axes[0][0].set_ylabel("test error")
    axes[0][1].set_ylabel("train error")
    d = meta["d"]
    setting = _setting_text(**{k: s[k] for k in ("psi_n", "psi_p", "t", "lam")})
    subtitle(fig, f"finite m along training: {setting}, {s['activation']} features")
    handles = [Line2D([], [], color=colors[n], lw=1.4, label=n.replace("inf", "∞").replace(
        "m=", "m = ")) for n in series]
    handles += [
        Line2D([], [], color=colors.get("m=inf", "0.3"), lw=0.8, ls="--",
               label=f"theory at m = {meta['sim_m']} (m = ∞ is simulated there)"),
        Line2D([], [], color="0.3", marker="*", ms=8, mec="k", mew=0.5, ls="none",
               label=r"early stopping $\tau^*$"),
        Line2D([], [], color="0.3", marker="o", mec="k", mew=0.5, ms=4, ls="none",
               label=f"simulation, 1/d-extrapolated from d = {d // 2}, {d}, "
                     f"{len(meta['seeds'])} seeds, ±3 SE")]
    shared_legend(fig, handles, [h.get_label() for h in handles], ncol=3)
    save(fig, path)


def _cell(v: float) -> str:
    """A map cell's value in at most four characters: ``3.6``, ``0.15``, ``4e-4``."""
    if v < 1e-4:
        return "<1e-4"
    if v < 0.01:
        return f"{v:.0e}".replace("e-0", "e-")
    return f"{v:.2g}"


def plot_stopping_map(table, path):
    import matplotlib.colors as mcolors
    from matplotlib.lines import Line2D

    meta = table.meta
    s = meta["setting"]
    pn = np.array(meta["grid"]["psi_n"], float)
    pp = np.array(meta["grid"]["psi_p"], float)

    def edges(v):
        mid = np.sqrt(v[1:] * v[:-1])
        return np.concatenate([[v[0] ** 2 / mid[0]], mid, [v[-1] ** 2 / mid[-1]]])

    fig, axes = new_figure(3, 1, width=2.75, height=2.75)
    spots = sorted({(r["psi_n"], r["psi_p"]) for r in _rows(table, kind="simulation")})
    for ax, q, title, cmap, cb_label in (
            (axes[0][0], "gain", r"(a) gain $L_{test}(\infty) - L_{test}(\tau^*)$", "viridis",
             "test error saved"),
            (axes[0][1], "stopping_time", r"(b) early-stopping time $\tau^*$", "cividis",
             r"$\tau^*$ (gradient-flow time)")):
        Z = np.full((len(pn), len(pp)), np.nan)
        for r in _rows(table, kind="theory", quantity=q):
            if r["value"] is not None:
                Z[list(pn).index(r["psi_n"]), list(pp).index(r["psi_p"])] = r["value"]
        pos = np.where(Z > 0, Z, np.nan)
        norm = mcolors.LogNorm(vmin=max(np.nanmin(pos), 1e-4), vmax=np.nanmax(pos))
        mesh = ax.pcolormesh(edges(pn), edges(pp), np.clip(Z, norm.vmin, None).T, norm=norm,
                             cmap=cmap, shading="flat")
        for i, a in enumerate(pn):
            for j, b in enumerate(pp):
                v = Z[i, j]
                if not np.isfinite(v):
                    ax.text(a, b, "not\nsolved", ha="center", va="center", fontsize=5.5,
                            color="k")
                    continue
                bright = norm(max(v, norm.vmin)) > 0.6
                ax.text(a, b, _cell(v), ha="center", va="center", fontsize=6,
                        color="k" if bright else "w")
        line = np.geomspace(edges(pn)[0], edges(pn)[-1], 50)
        ax.plot(line, 1 + line, color="w", ls="--", lw=1.0)
        for a, b in spots:
            ax.plot(a, b, marker="o", ms=17, mfc="none", mec="r", mew=1.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(edges(pn)[0], edges(pn)[-1])
        ax.set_ylim(edges(pp)[0], edges(pp)[-1])
        ax.set_xticks(pn)
        ax.set_xticklabels([f"{x:g}" for x in pn])
        ax.set_yticks(pp)
        ax.set_yticklabels([f"{x:g}" for x in pp])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(False)
        ax.set_xlabel(r"$\psi_n = n/d$")
        ax.set_ylabel(r"$\psi_p = p/d$")
        ax.set_title(title, loc="left")
        fig.colorbar(mesh, ax=ax, fraction=0.05, pad=0.03, label=cb_label)
    ax = axes[0][2]
    sims = _rows(table, kind="simulation")
    labels = []
    for k, (a, b) in enumerate(spots):
        for j, (tau_kind, col) in enumerate((("τ*", COLORS[0]), ("∞", COLORS[1]))):
            rs = [r for r in sims if (r["psi_n"], r["psi_p"]) == (a, b)
                  and (math.isfinite(r["time"]) == (tau_kind == "τ*"))]
            if not rs:
                continue
            r = rs[0]
            x = k + (j - 0.5) * 0.3
            ax.plot([x - 0.12, x + 0.12], [r["theory"]] * 2, color=col, lw=2.0)
            ax.errorbar([x], [r["value"]], yerr=[3 * r["se"]], fmt="o", color=col, ms=4,
                        mec="k", mew=0.5, capsize=2)
        labels.append(f"$\\psi_n$ = {a:g}\n$\\psi_p$ = {b:g}")
    ax.set_xticks(range(len(spots)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_xlim(-0.6, len(spots) - 0.4)
    _error_axis(ax)
    ax.set_ylabel("test error")
    ax.set_title(f"(c) circled cells: {_agree_text(sims)}", loc="left")
    d = meta["d"]
    subtitle(fig, f"what early stopping buys: {_setting_text(t=s['t'], lam=s['lam'])}, "
             f"{s['activation']} features, m = ∞ (theory); white dashes: "
             r"$\psi_p = 1 + \psi_n$")
    handles = [Line2D([], [], color=COLORS[0], lw=2, label=r"(c): theory at $\tau^*$"),
               Line2D([], [], color=COLORS[1], lw=2, label=r"(c): theory at $\tau = \infty$"),
               Line2D([], [], color="0.3", marker="o", mec="k", mew=0.5, ms=4, ls="none",
                      label=f"simulation, m = {meta['sim_m']} (theory at m = {meta['sim_m']}), "
                            f"1/d-extrapolated from d = {d // 2}, {d}, "
                            f"{len(meta['seeds'])} seeds, ±3 SE")]
    shared_legend(fig, handles, [h.get_label() for h in handles], ncol=3)
    save(fig, path)


BUILDERS = {
    "bubm25-spectrum": build_spectrum,
    "bubm25-dynamics": build_dynamics,
    "rf-dynamics-finite-m": build_finite_m,
    "rf-early-stopping-map": build_stopping_map,
}
PLOTTERS = {
    "bubm25-spectrum": plot_spectrum,
    "bubm25-dynamics": plot_dynamics,
    "rf-dynamics-finite-m": plot_finite_m,
    "rf-early-stopping-map": plot_stopping_map,
}

# --------------------------------------------------------------------------- gallery
_BUBM25 = "BUBM25"  # Bonnaire, Urfin, Biroli, Mezard 2025, "Why diffusion models don't memorize"

#: The gallery figures of this module (:mod:`lowdim.compare.figures`).
FIGURES = (
    FigureSpec(
        "bubm25-spectrum", "Spectrum of U = FᵀF/(nm) at psi_p = 64: bulks decades apart",
        _BUBM25,
        "At m = inf, psi_p = 64, psi_n = 8, t = 0.01 the law of U has an atom (mass "
        "1 - (1 + psi_n)/psi_p) and bulks on scales decades apart, which set the time scales "
        "of training; the eigenvalues of simulated U follow it (W1 distance and bulk shares), "
        "the narrow lowest bulk (the atom at finite m) only slowly in d.",
        build_spectrum, plot_spectrum),
    FigureSpec(
        "bubm25-dynamics", "Test and train error along gradient flow at psi_p = 64", _BUBM25,
        "The test error falls to its minimum at an early time tau* that hardly depends on n, "
        "then rises as the model memorizes; the memorization time tau_mem grows with n (BUBM25: "
        "in proportion; here tau_mem/psi_n falls as psi_n approaches psi_p/2, see the "
        "summary). The quick preset simulates psi_n = 4 only.",
        build_dynamics, plot_dynamics),
    FigureSpec(
        "rf-dynamics-finite-m", "Finite m along training: test and train error", THIS_PACKAGE,
        "With m noise samples per data point the memorization phase depends on m: the "
        "converged train error falls as m decreases (to nearly 0 at m = 1, where p > mn) and "
        "the converged test error is largest near the interpolation point p = mn, while the "
        "test errors at early stopping differ far less than the converged ones; theory against "
        "simulation at every m.",
        build_finite_m, plot_finite_m),
    FigureSpec(
        "rf-early-stopping-map", "What early stopping buys over (psi_n, psi_p)", THIS_PACKAGE,
        "Test error saved by stopping at the test-error minimum rather than training to "
        "convergence, and the stopping time, over (psi_n, psi_p) at m = inf; the saving is "
        "large where p >> n (memorization), small near p = n and vanishes for p << n; the "
        "stopping time falls with p and grows with n.",
        build_stopping_map, plot_stopping_map),
)
