"""Figures of the random-features learning curves (Gaussian data): data builders and plots.

Each builder returns a tidy :class:`~lowdim.compare.table.Table` whose rows are either
``kind = "theory"`` (a dense curve) or ``kind = "simulation"`` (a measured point with its
standard error, the theory at the simulated m and a verdict); each plotter draws from that
table alone, so a figure can be redrawn from its CSV.

Verdicts follow :mod:`lowdim.compare.rf` (``|sim - theory| <= max(k SE, 3 %)``, ``k`` the 3-sigma
Student-t multiplier for the number of seeds).  Points within a
factor 1.5 of an interpolation peak ``psi_p = m psi_n`` are drawn but marked ``near peak``
and left out of the agreement summary: finite-size effects there are not small at the
sizes we run.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from lowdim.simulate.rf import MEASURED, RFSize
from lowdim.theory.activations import centred
from lowdim.theory.rf import RFSetting, predict

from .plots import (COLORS, LABELS, new_figure, overlay, save, shared_legend, subtitle,
                    tolerance_band, value_ticks)
from .registry import FigureSpec, THIS_PACKAGE
from .rf import DEFAULT_REL_TOL, experiment, judge, simulate_points
from .table import Table
from .verdict import AGREE, INCONCLUSIVE, Check, Report, holds

__all__ = ["FIG_COLUMNS", "plot_curve_table", "plot_validation_table", "BUILDERS", "PLOTTERS",
           "near_peak"]

FIG_COLUMNS = ["panel", "kind", "series", "psi_n", "psi_p", "m", "t", "lam", "activation", "d",
               "quantity", "value", "se", "theory", "sim_m", "n_seeds", "verdict",
               "extrapolated", "extrapolated_se", "verdict_extrapolated", "counted", "reason"]

PEAK_FACTOR = 1.5

PRESETS = {
    "quick": {"d": 100, "seeds": (0, 1, 2, 3, 4), "sim_m": 32, "n_test": 2048, "dense": 160},
    "paper": {"d": 400, "seeds": tuple(range(8)), "sim_m": 64, "n_test": 8192, "dense": 400},
}


def near_peak(psi_n, psi_p, m) -> bool:
    if math.isinf(m):
        return False
    ratio = psi_p / (m * psi_n)
    return 1.0 / PEAK_FACTOR < ratio < PEAK_FACTOR


def _m_label(m):
    return "inf" if math.isinf(float(m)) else int(m)


def _theory_rows(pred, panel, series, quantities):
    s = pred.setting
    rows = []
    for idx in np.ndindex(s.shape):
        for q in quantities:
            val = float(getattr(pred, q)[idx]) if pred.converged[idx] else None
            rows.append({"panel": panel, "kind": "theory", "series": series,
                         "psi_n": float(s.psi_n[idx]), "psi_p": float(s.psi_p[idx]),
                         "m": _m_label(s.m[idx]), "t": float(s.t[idx]), "lam": float(s.lam[idx]),
                         "activation": s.activation.name, "quantity": q, "value": val})
    return rows


PEAK_REASON = "near an interpolation peak (psi_p within 1.5x of m psi_n): shown, not counted"


def _judged(theory, value, se, dof, n_seeds, peak, name, scale=None) -> Check:
    check = judge(theory, value, se, dof, n_seeds, name=name, scale=scale)
    return check.not_counted(PEAK_REASON) if peak else check


def _sim_rows(tidy: Table, panel, series, quantities):
    """Simulation rows with the raw check at d and, when present, the extrapolated one."""
    rows = []
    for r in tidy.rows:
        if r["quantity"] not in quantities:
            continue
        peak = near_peak(r["psi_n"], r["psi_p"], float(r["sim_m"]))  # the simulated m
        k = r["n_seeds"]
        check = _judged(r["theory_at_sim_m"], r["sim_mean"], r["sim_se"], r["sim_dof"], k, peak,
                        r["quantity"])
        ex = None
        if r.get("extrapolated") is not None:
            ex = _judged(r["theory_at_sim_m"], r["extrapolated"], r["extrapolated_se"], r["dof"],
                         k, peak, f"{r['quantity']} (d->inf)")
        rows.append({"panel": panel, "kind": "simulation", "series": series,
                     "psi_n": r["psi_n"], "psi_p": r["psi_p"], "m": r["m"], "t": r["t"],
                     "lam": r["lam"], "activation": r["activation"], "d": r["d"],
                     "quantity": r["quantity"], "value": r["sim_mean"], "se": r["sim_se"],
                     "theory": r["theory_at_sim_m"], "sim_m": r["sim_m"],
                     "n_seeds": r["n_seeds"], "verdict": check.verdict,
                     "extrapolated": r.get("extrapolated"),
                     "extrapolated_se": r.get("extrapolated_se"),
                     "verdict_extrapolated": None if ex is None else ex.verdict,
                     "counted": check.counted, "reason": (ex or check).reason,
                     "_checks": (check, ex)})
    return rows


def _summary(rows):
    """The figure's report: the raw check of every simulated value and, when extrapolated,
    the extrapolated one; the figure agrees when the extrapolated checks do (the raw ones
    when there are none).  Near-peak points are shown, not counted."""
    sims = [r for r in rows if r["kind"] == "simulation"]
    checks = [r.pop("_checks") for r in sims]
    raw = Report([c for c, _ in checks])
    ex_checks = [c for _, c in checks if c is not None]
    counted = [r for r, c in zip(sims, raw.checks) if c.counted]

    def worst(rs, key):
        # a difference (the generalization gap) is measured on the scale it is judged on
        devs = [(abs(r[key] - r["theory"]) / abs(r.get("scale") or r["theory"]), r) for r in rs
                if r["theory"] not in (None, 0) and r.get(key) is not None]
        return max(devs, key=lambda x: x[0]) if devs else (float("nan"), None)

    w, wr = worst(counted, "value")
    where = f" ({wr['quantity']} at psi_p={wr['psi_p']:g}, m={wr['m']})" if wr else ""
    d = counted[0]["d"] if counted else None
    text = (f"d={d}: {raw.count(AGREE)}/{len(raw.counted)} simulated values within "
            f"max(3 SE, 3%) of the theory (3 SE as a Student-t 99.73% band); max |rel. dev.| "
            f"{w:.1%}{where}")
    if raw.count(INCONCLUSIVE):
        text += f" ({raw.count(INCONCLUSIVE)} inconclusive: too few seeds)"
    extra = {"shown": len(sims), "max_rel_deviation": w}
    judged = raw
    if ex_checks:
        ex = Report(ex_checks)
        w_ex, _ = worst([r for r in counted if r.get("extrapolated") is not None], "extrapolated")
        text += (f"; extrapolated d->inf: {ex.count(AGREE)}/{len(ex.counted)} agree, "
                 f"max |rel. dev.| {w_ex:.1%}")
        extra.update({"raw_agree": raw.count(AGREE), "raw_counted": len(raw.counted),
                      "max_rel_deviation_extrapolated": w_ex})
        judged = ex
    if len(sims) > len(counted):
        text += f"; {len(sims) - len(counted)} near-peak points shown, not counted"
    judged.text = text
    return judged.summary(**extra)


def _size(preset, device, **over):
    p = PRESETS[preset]
    kw = {"d": p["d"], "seeds": p["seeds"], "n_test": p["n_test"], "device": device}
    kw.update(over)
    return RFSize(**kw)


def _finish(rows, meta):
    summary = _summary(rows)
    meta = dict(meta, summary=summary)
    return Table(list(FIG_COLUMNS), rows, meta)


# =========================================================================== builders
def build_m1_vs_minf(preset="quick", device="auto", progress=None):
    """Test/train error against psi_p at psi_n = 2 for m = 1 and m = inf (tanh, t = 0.1)."""
    P = PRESETS[preset]
    psi_n, t, lam = 2.0, 0.1, 1e-3
    dense = np.geomspace(0.1, 100, P["dense"])
    sim_pp = [0.25, 1.0, 4.0, 16.0] if preset == "quick" else [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    rows = []
    for panel, m in (("m=1", 1), ("m=inf", math.inf)):
        pred = predict(RFSetting(psi_n=psi_n, psi_p=dense, t=t, lam=lam, m=m))
        rows += _theory_rows(pred, panel, "theory", ("test_error", "train_error"))
        if math.isinf(m):
            pred_s = predict(RFSetting(psi_n=psi_n, psi_p=dense, t=t, lam=lam, m=P["sim_m"]))
            rows += _theory_rows(pred_s, panel, f"theory m={P['sim_m']}", ("test_error", "train_error"))
        tidy = experiment(RFSetting(psi_n=psi_n, psi_p=np.array(sim_pp), t=t, lam=lam, m=m),
                          _size(preset, device), sim_m=P["sim_m"], progress=progress)
        rows += _sim_rows(tidy, panel, "simulation", ("test_error", "train_error"))
    return _finish(rows, {"setting": {"psi_n": psi_n, "t": t, "lam": lam, "activation": "tanh"},
                          "c_t": math.exp(-2 * t), "sim_m": P["sim_m"]})


def build_finite_m(preset="quick", device="auto", progress=None):
    """Test error against psi_p for m = 1, 2, 4, 8, inf at psi_n = 1: peaks at psi_p = m psi_n."""
    P = PRESETS[preset]
    psi_n, t, lam = 1.0, 0.1, 1e-3
    dense = np.geomspace(0.1, 100, P["dense"])
    ms = [1, 2, 4, 8, math.inf]
    sim_pp = [0.3, 3.0, 20.0] if preset == "quick" else [0.3, 1.4, 3.0, 5.7, 12.0, 20.0, 50.0]
    rows = []
    for m in ms:
        series = f"m={_m_label(m)}"
        pred = predict(RFSetting(psi_n=psi_n, psi_p=dense, t=t, lam=lam, m=m))
        rows += _theory_rows(pred, "test", series, ("test_error",))
        if not math.isinf(m):
            tidy = experiment(RFSetting(psi_n=psi_n, psi_p=np.array(sim_pp), t=t, lam=lam, m=m),
                              _size(preset, device), progress=progress)
            rows += _sim_rows(tidy, "test", series, ("test_error",))
    return _finish(rows, {"setting": {"psi_n": psi_n, "t": t, "lam": lam, "activation": "tanh"}})


def build_phase_diagram(preset="quick", device="auto", progress=None):
    """Generalization gap (test - train) over (psi_n, psi_p), m = 1 and m = inf."""
    P = PRESETS[preset]
    t, lam = 0.1, 1e-3
    k = 60 if preset == "quick" else 140
    grid = np.geomspace(0.1, 100, k)
    lattice = [0.5, 2.0, 8.0] if preset == "quick" else [0.25, 1.0, 4.0, 16.0, 64.0]
    d = 100 if preset == "quick" else 200
    rows = []
    for panel, m in (("m=1", 1), ("m=inf", math.inf)):
        PN, PP = np.meshgrid(grid, grid, indexing="ij")
        pred = predict(RFSetting(psi_n=PN, psi_p=PP, t=t, lam=lam, m=m))
        rows += _theory_rows(pred, panel, "theory", ("generalization_gap",))
        LN, LP = np.meshgrid(lattice, lattice, indexing="ij")
        pts = [(a, b) for a, b in zip(LN.ravel(), LP.ravel())
               if a * d >= 8 and b * d >= 8 and b * d <= 4096]
        pred_sim = predict(RFSetting(psi_n=np.array([a for a, _ in pts]),
                                     psi_p=np.array([b for _, b in pts]), t=t, lam=lam,
                                     m=m if not math.isinf(m) else P["sim_m"]))
        size = _size(preset, device, d=d)
        m_sim = m if not math.isinf(m) else P["sim_m"]
        measured = simulate_points([(RFSetting(psi_n=a, psi_p=b, t=t, lam=lam, m=m_sim), size)
                                    for a, b in pts], progress=progress)
        for i, ((a, b), meas) in enumerate(zip(pts, measured)):
            # the gap per seed: test and train come from the same draws
            gaps = meas.per_seed["test_error"] - meas.per_seed["train_error"]
            k_seeds = len(gaps)
            gap = float(np.mean(gaps))
            se = max(float(np.std(gaps, ddof=1) / math.sqrt(k_seeds)), meas.mc_se["test_error"])
            te_th = float(pred_sim.test_error[i])
            tr_th = float(pred_sim.train_error[i])
            th = te_th - tr_th
            # a difference is judged on the scale of the errors it is the difference of
            scale = max(abs(te_th), abs(tr_th))
            check = _judged(th, gap, se, k_seeds - 1, k_seeds, near_peak(a, b, float(m_sim)),
                            "generalization_gap", scale=scale)
            rows.append({"panel": panel, "kind": "simulation", "series": "simulation",
                         "psi_n": a, "psi_p": b, "m": _m_label(m), "t": t, "lam": lam,
                         "activation": "tanh", "d": d, "quantity": "generalization_gap",
                         "value": gap, "se": se, "theory": th, "sim_m": m_sim,
                         "n_seeds": k_seeds, "verdict": check.verdict, "extrapolated": None,
                         "extrapolated_se": None, "verdict_extrapolated": None,
                         "counted": check.counted, "reason": check.reason,
                         "scale": scale, "_checks": (check, None)})
    return _finish(rows, {"setting": {"t": t, "lam": lam, "activation": "tanh"}, "grid": k})


def build_m_approach(preset="quick", device="auto", progress=None):
    """Errors against 1/m: finite-m theory and simulation approach the m = inf theory."""
    psi_n, psi_p, t, lam = 4.0, 2.0, 0.1, 1e-3
    m_dense = np.unique(np.round(np.geomspace(1, 4096, 120)))
    sim_ms = [1, 2, 4, 8, 16, 32] if preset == "quick" else [1, 2, 4, 8, 16, 32, 64, 128]
    rows = []
    pred = predict(RFSetting(psi_n=psi_n, psi_p=psi_p, t=t, lam=lam, m=m_dense))
    rows += _theory_rows(pred, "errors", "theory", ("test_error", "train_error"))
    pred_inf = predict(RFSetting(psi_n=psi_n, psi_p=psi_p, t=t, lam=lam, m=math.inf))
    rows += _theory_rows(pred_inf, "errors", "theory m=inf", ("test_error", "train_error"))
    tidy = experiment(RFSetting(psi_n=psi_n, psi_p=psi_p, t=t, lam=lam, m=np.array(sim_ms, float)),
                      _size(preset, device, d=100 if preset == "quick" else 200), progress=progress)
    rows += _sim_rows(tidy, "errors", "simulation", ("test_error", "train_error"))
    return _finish(rows, {"setting": {"psi_n": psi_n, "psi_p": psi_p, "t": t, "lam": lam,
                                      "activation": "tanh"}})


def build_finite_size(preset="quick", device="auto", progress=None):
    """Relative deviation of simulation from lowdim.theory against d; relu against centred relu."""
    ds = [50, 100, 200] if preset == "quick" else [50, 100, 200, 400]
    cases = [("tanh", 1, 4.0), ("tanh", 1, 16.0), ("relu", 4, 16.0)]
    psi_n, t, lam = 2.0, 0.1, 1e-3
    rows = []

    def size_at(d):
        return RFSize(d=d, seeds=tuple(range(max(2, 1600 // d))), n_test=4096, device=device)

    base = RFSetting(psi_n=psi_n, psi_p=16.0, t=t, lam=lam, m=1, activation="relu")
    cent = base.replace(activation=centred("relu"))
    settings = [RFSetting(psi_n=psi_n, psi_p=pp, t=t, lam=lam, m=m, activation=act)
                for act, m, pp in cases]
    jobs = [(s, size_at(d)) for s in settings + [base, cent] for d in ds]
    measured = iter(simulate_points(jobs, progress=progress))
    for (act, m, pp), setting in zip(cases, settings):
        th = predict(setting)
        for d in ds:
            seeds = size_at(d).seeds
            meas = next(measured)
            for q in ("test_error", "train_error_reg"):
                tv = float(getattr(th, q))
                rows.append({"panel": "deviation", "kind": "simulation",
                             "series": f"{act}, m={m}, psi_p={pp:g}", "psi_n": psi_n,
                             "psi_p": pp, "m": m, "t": t, "lam": lam, "activation": act, "d": d,
                             "quantity": q, "value": meas.mean[q], "se": meas.uncertainty(q),
                             "theory": tv, "sim_m": m, "n_seeds": len(seeds),
                             "verdict": None})
    # non-centred relu: paired difference with the centred activation on the same draws
    th = float(predict(base).test_error)
    th_c = float(predict(cent).test_error)
    base_meas = [next(measured) for _ in ds]
    cent_meas = [next(measured) for _ in ds]
    for d, mb, mc in zip(ds, base_meas, cent_meas):
        seeds = size_at(d).seeds
        diff = mb.per_seed["test_error"] - mc.per_seed["test_error"]
        rows.append({"panel": "mean spike", "kind": "simulation", "series": "relu - centred relu",
                     "psi_n": psi_n, "psi_p": 16.0, "m": 1, "t": t, "lam": lam,
                     "activation": "relu", "d": d, "quantity": "test_error_difference",
                     "value": float(np.mean(diff)) / th,
                     "se": float(np.std(diff, ddof=1) / math.sqrt(len(diff))) / th,
                     "theory": th - th_c, "sim_m": 1, "n_seeds": len(seeds), "verdict": None})
    table = Table(list(FIG_COLUMNS), rows)
    # fitted exponents of |deviation| ~ d^slope
    fits = {}
    for series in sorted({r["series"] for r in rows if r["panel"] == "deviation"}):
        pts = [r for r in rows if r["series"] == series and r["quantity"] == "test_error"]
        x = np.log([r["d"] for r in pts])
        y = np.log([abs(r["value"] - r["theory"]) / r["theory"] + 1e-12 for r in pts])
        fits[series] = float(np.polyfit(x, y, 1)[0])
    spike = [r for r in rows if r["panel"] == "mean spike"]
    x = np.log([r["d"] for r in spike])
    y = np.log([abs(r["value"]) + 1e-12 for r in spike])
    fits["relu - centred relu"] = float(np.polyfit(x, y, 1)[0])
    text = "fitted slopes of log|deviation| vs log d: " + ", ".join(
        f"{k}: {v:+.2f}" for k, v in fits.items())
    # the rows are not judged one by one: the claim is the 1/d approach
    report = Report([holds(f"|deviation| falls at least like d^-0.6: {k}", v < -0.6, v, "< -0.6")
                     for k, v in fits.items()], text)
    table.meta = {"summary": report.summary(slopes=fits),
                  "theory_relu_minus_centred": th - th_c}
    return table


def _validation_grid(preset):
    if preset == "quick":
        return dict(acts=("tanh", "relu"), ms=(1, 4, 32), ts=(0.1,), pps=(0.5, 4.0), d=100,
                    seeds=tuple(range(6)))
    return dict(acts=("tanh", "relu"), ms=(1, 4, 32), ts=(0.01, 0.1, 1.0), pps=(0.5, 4.0, 16.0),
                d=400, seeds=tuple(range(8)))


def validation_rows(g, device, progress, datas=((None, None),), psi_n=2.0, lam=1e-3):
    """Simulation rows of a validation table over the grid ``g`` (activations, m, t, psi_p,
    d, seeds) for each ``(data, psi_d)`` in ``datas`` (``None``: isotropic Gaussian data),
    1/d-extrapolated from d/2; ``progress(done, total)`` over the tasks of each block."""
    rows = []
    T, PP = np.meshgrid(np.array(g["ts"]), np.array(g["pps"]), indexing="ij")
    size = RFSize(d=g["d"], seeds=g["seeds"], n_test=4096, device=device)
    for data, psi_d in datas:
        model = {} if data is None else {"data": data, "psi_d": psi_d}
        for act in g["acts"]:
            for m in g["ms"]:
                setting = RFSetting(psi_n=psi_n, psi_p=PP.ravel(), t=T.ravel(), lam=lam, m=m,
                                    activation=act, **model)
                tidy = experiment(setting, size, extrapolate=True, progress=progress)
                panel = act if data is None else f"{data} {act}"
                for r in _sim_rows(tidy, panel, f"m={m}", MEASURED):
                    r.update(model)
                    rows.append(r)
    return rows


def build_validation(preset="quick", device="auto", progress=None):
    """The validation table: tanh and relu, m in {1, 4, large}, t in {0.01, 0.1, 1}."""
    g = _validation_grid(preset)
    psi_n, lam = 2.0, 1e-3
    rows = validation_rows(g, device, progress, psi_n=psi_n, lam=lam)
    return _finish(rows, {"grid": dict(g), "psi_n": psi_n, "lam": lam})


# =========================================================================== plotters
def _rows(table, **eq):
    return [r for r in table.rows if all(r.get(k) == v for k, v in eq.items())]


def _xy(rows, x="psi_p"):
    rows = sorted(rows, key=lambda r: r[x])
    return (np.array([r[x] for r in rows], float),
            np.array([np.nan if r["value"] is None else r["value"] for r in rows], float), rows)


#: The relative allowance of the verdicts, ``max(k SE, 3 %)``: the grey band of a residual row.
_TOL_PCT = 100 * DEFAULT_REL_TOL   # the verdict's allowance, in %
#: A 1/d-extrapolated value is drawn this factor right of the raw one at the same x.
_EXTRAP_SHIFT = 1.12
#: Colour and marker of each measured quantity in the validation figures (fixed, so that a
#: quantity looks the same in every figure).
_QUANTITY_STYLE = {"test_error": (COLORS[0], "o"), "train_error": (COLORS[1], "s"),
                   "train_error_reg": (COLORS[2], "^"), "score_error": (COLORS[3], "D"),
                   "test_error_par": (COLORS[4], "v"), "test_error_perp": (COLORS[5], "p")}
_QUANTITY_LABEL = dict(LABELS, test_error_par="test error on the manifold",
                       test_error_perp="test error off the manifold")


def _line(color="0.35", ls="-", **kw):
    """A legend entry: a line (or, with ``ls="none"``, a marker) of these properties."""
    from matplotlib.lines import Line2D

    return Line2D([], [], color=color, ls=ls, **kw)


def _dot(marker="o", color="0.35", filled=False):
    """A legend entry for simulation points: open (raw at d) or filled."""
    return _line(color, "none", marker=marker, ms=3.5, markeredgewidth=1.0,
                 markerfacecolor=color if filled else "white")


def _band():
    """A legend entry for the ±3 % tolerance band."""
    from matplotlib.patches import Patch

    return Patch(color="0.86", lw=0)


def _pretty(series: str) -> str:
    """A series name as the figures write it: ``relu, m=4, psi_p=16`` → ``relu, m = 4, ψ_p = 16``."""
    for name, sym in (("psi_p", r"$\psi_p$"), ("psi_n", r"$\psi_n$"), ("psi_d", r"$\psi_D$")):
        series = series.replace(f"{name}=", f"{sym} = ")
    return series.replace("m=", "m = ").replace("inf", "∞")


def _residuals(ax, rows, x, *, color, marker="o"):
    """Simulation over theory minus one, in %, with ±3 SE bars: open markers the raw values
    at d, filled ones (shifted right) their 1/d extrapolation where the table has one."""
    for key, se_key, shift, filled in (("value", "se", 1.0, False),
                                       ("extrapolated", "extrapolated_se", _EXTRAP_SHIFT, True)):
        pts = [r for r in rows if r.get(key) is not None and r.get("theory")]
        if not pts:
            continue
        th = np.array([r["theory"] for r in pts], float)
        val = np.array([r[key] for r in pts], float)
        se = np.array([r[se_key] for r in pts], float)
        ax.errorbar(np.array([float(r[x]) for r in pts]) * shift, 100 * (val - th) / np.abs(th),
                    yerr=300 * se / np.abs(th), fmt=marker, color=color, ms=3.5,
                    markerfacecolor=color if filled else "white", markeredgewidth=1.0,
                    elinewidth=0.9, zorder=5)


def _agreement(sims) -> str:
    """``within max(k SE, 3 %): 6/8 at d = 100, 8/8 at d → ∞`` for the counted ``sims``."""
    sims = [r for r in sims if r.get("counted", True) is not False]
    text = (f"within max(k SE, 3 %): {sum(r.get('verdict') == AGREE for r in sims)}/{len(sims)}"
            f" at d = {sims[0]['d']}" if sims else "")
    ex = [r for r in sims if r.get("verdict_extrapolated") is not None]
    if ex:
        text += f", {sum(r['verdict_extrapolated'] == AGREE for r in ex)}/{len(ex)} at d → ∞"
    return text


def _with_residuals(ncols, width=4.3, height=2.4, column=None):
    """Panels of curves over a short row of residuals sharing their x axis."""
    return new_figure(ncols, 2, width=width, height=height, column=column, sharex="col",
                      height_ratios=[2.3, 1.0])


def _setting_line(s: dict, *keys) -> str:
    """``tanh features, ψ_n = 2, t = 0.1, λ = 0.001`` from a figure's setting."""
    sym = {"psi_n": r"$\psi_n$", "psi_p": r"$\psi_p$", "psi_d": r"$\psi_D$", "t": "t",
           "lam": r"$\lambda$", "m": "m"}
    parts = [f"{s['activation']} features"] if s.get("activation") else []
    parts += [f"{sym[k]} = {_pretty(str(s[k])) if isinstance(s[k], str) else format(s[k], 'g')}"
              for k in keys if k in s]
    return ", ".join(parts)


def _errors_with_residuals(table, path, panels, *, titles, threshold, threshold_label, setting):
    """Test and train error against psi_p, one column per panel (theory lines, simulation
    points at d), over a row of residuals: simulation over theory minus one with ±3 SE bars,
    the ±3 % band of the verdicts, open raw and filled 1/d-extrapolated values.  The
    residuals are taken against the theory at the simulated m."""
    fig, axes = _with_residuals(len(panels))
    sim_m = d = None
    extrapolated = False
    c_t = table.meta.get("c_t")
    for j, panel in enumerate(panels):
        ax, res = axes[0, j], axes[1, j]
        for q, col in (("test_error", COLORS[0]), ("train_error", COLORS[1])):
            x, y, _ = _xy(_rows(table, panel=panel, kind="theory", series="theory", quantity=q))
            ax.plot(x, y, color=col)
            extra = [r for r in _rows(table, panel=panel, kind="theory", quantity=q)
                     if r["series"].startswith("theory m=")]
            if extra:
                xe, ye, _ = _xy(extra)
                ax.plot(xe, ye, color=col, lw=0.9, ls=":")
                sim_m = extra[0]["series"].split("=", 1)[1]
            xs, ys, rs = _xy(_rows(table, panel=panel, kind="simulation", quantity=q))
            if len(xs):
                overlay(ax, [], [], color=col, x_sim=xs, y_sim=ys, se_sim=[r["se"] for r in rs])
                _residuals(res, rs, "psi_p", color=col)
                d = rs[0]["d"]
                extrapolated |= any(r.get("extrapolated") is not None for r in rs)
        if c_t:
            ax.axhline(c_t, color="k", lw=0.8, ls="--")
        for a in (ax, res):
            a.axvline(threshold(panel), color="0.5", lw=0.8, ls="-.")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("error")
        ax.set_title(titles[j])
        tolerance_band(res, _TOL_PCT)
        res.set_title(_agreement(_rows(table, panel=panel, kind="simulation")), loc="left",
                      fontsize=6.5, pad=2)
        res.set_xlabel(LABELS["psi_p"])
    handles = [_line(COLORS[0]), _line(COLORS[1])]
    labels = ["test error", "train error"]
    if sim_m:
        handles.append(_line(ls=":", lw=0.9))
        labels.append(f"theory at the simulated m = {sim_m}")
    handles.append(_dot())
    labels.append(f"simulation, d = {d} (±3 SE)")
    if extrapolated:
        handles.append(_dot(filled=True))
        labels.append("1/d extrapolation, d → ∞")
    if c_t:
        handles.append(_line("k", "--", lw=0.8))
        labels.append(r"exact score $C_t = e^{-2t}$")
    handles += [_line("0.5", "-.", lw=0.8), _band()]
    labels += [threshold_label, "±3 % (verdict: max(k SE, 3 %))"]
    shared_legend(fig, handles, labels, ncol=4)
    subtitle(fig, setting + ("; residuals against the theory at the simulated m" if sim_m else ""))
    save(fig, path)


def plot_m1_vs_minf(table, path):
    s = table.meta.get("setting", {})
    psi_n = s.get("psi_n", 2.0)
    sim_m = table.meta.get("sim_m", "?")
    _errors_with_residuals(
        table, path, ("m=1", "m=inf"),
        titles=["(a) m = 1", f"(b) m = ∞ (points simulated at m = {sim_m})"],
        threshold=lambda panel: psi_n, threshold_label=r"$\psi_p = \psi_n$",
        setting=_setting_line(s, "psi_n", "t", "lam"))


def plot_finite_m(table, path):
    fig, axes = new_figure(1, 1, width=4.6, height=3.4)
    ax = axes[0, 0]
    psi_n = table.meta["setting"]["psi_n"]
    series = [f"m={m}" for m in (1, 2, 4, 8, "inf")]
    d = None
    near = False
    for i, s in enumerate(series):
        x, y, _ = _xy(_rows(table, kind="theory", series=s))
        ax.plot(x, y, color=COLORS[i])
        top = int(np.nanargmax(y)) if np.isfinite(y).any() else -1   # each curve named at its peak
        last = top == len(x) - 1
        ax.annotate(s.replace("inf", "∞"), (x[top], y[top]), xytext=(0, 3), textcoords="offset points",
                    ha="right" if last else "center", va="bottom", fontsize=6.5, color=COLORS[i],
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none"})
        _, _, rs = _xy(_rows(table, kind="simulation", series=s))
        for counted, face in ((True, "white"), (False, "0.7")):   # near a peak: not judged
            grp = [r for r in rs if bool(r.get("counted", True)) == counted]
            if grp:
                ax.errorbar([r["psi_p"] for r in grp], [r["value"] for r in grp],
                            yerr=[3 * r["se"] for r in grp], fmt="o", color=COLORS[i],
                            markerfacecolor=face, ms=3.5, markeredgewidth=1.0, elinewidth=0.9,
                            zorder=5)
                near |= not counted
                d = grp[0]["d"]
        if s != "m=inf":
            ax.axvline(float(s[2:]) * psi_n, color=COLORS[i], lw=0.7, ls=":")
    handles, labels = [_dot()], [f"simulation, d = {d}"]
    if near:
        handles.append(_line("0.35", "none", marker="o", ms=3.5, mfc="0.7", mew=1.0))
        labels.append("near the peak: not counted")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(LABELS["psi_p"])
    ax.set_ylabel(LABELS["test_error"])
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * 1.15)   # room for the names above the peaks
    ax.set_title(r"test error peaks at $\psi_p = m\,\psi_n$ (dotted lines)")
    shared_legend(fig, handles, labels)
    subtitle(fig, _setting_line(table.meta["setting"], "psi_n", "t", "lam")
             + "; ±3 SE bars < markers")
    save(fig, path)


def _label_spots(cs, avoid):
    """One spot per contour level of ``cs`` (log-log axes) for its label: the point of the
    level's longest line farthest from the points ``avoid`` and from the diagonal p = n,
    kept off the panel's edges."""
    spots = []
    ax = cs.axes
    (x0, x1), (y0, y1) = np.log10(ax.get_xlim()), np.log10(ax.get_ylim())
    far = np.log10(np.array(avoid, float)) if avoid else np.zeros((0, 2))
    for segs in cs.allsegs:
        segs = [np.log10(sg) for sg in segs if len(sg) > 1]
        if not segs:
            continue
        seg = max(segs, key=len)
        inside = ((seg[:, 0] > x0 + 0.12 * (x1 - x0)) & (seg[:, 0] < x1 - 0.12 * (x1 - x0))
                  & (seg[:, 1] > y0 + 0.12 * (y1 - y0)) & (seg[:, 1] < y1 - 0.12 * (y1 - y0)))
        cand = seg[inside] if inside.any() else seg
        gap = np.abs(cand[:, 1] - cand[:, 0]) / np.sqrt(2)
        if len(far):
            gap = np.minimum(gap, np.min(np.linalg.norm(cand[:, None] - far[None], axis=2), axis=1))
        spots.append(tuple(10 ** cand[int(np.argmax(gap))]))
    return spots


def plot_phase_diagram(table, path):
    import matplotlib.colors as mcolors
    from matplotlib import patheffects

    fig, axes = new_figure(2, 1, width=4.0, height=3.7)
    vals = [r["value"] for r in table.rows if r["value"] is not None and r["kind"] == "theory"]
    vmin, vmax = max(min(vals), 1e-3), max(vals)
    norm = mcolors.LogNorm(vmin=vmin, vmax=vmax)
    outline = [patheffects.withStroke(linewidth=1.5, foreground="k")]
    d = None
    for ax, panel, letter in zip(axes[0], ("m=1", "m=inf"), "ab"):
        th = _rows(table, panel=panel, kind="theory")
        pn = np.array(sorted({r["psi_n"] for r in th}))
        pp = np.array(sorted({r["psi_p"] for r in th}))
        Z = np.full((len(pn), len(pp)), np.nan)
        idx_n = {v: i for i, v in enumerate(pn)}
        idx_p = {v: i for i, v in enumerate(pp)}
        for r in th:
            if r["value"] is not None:
                Z[idx_n[r["psi_n"]], idx_p[r["psi_p"]]] = max(r["value"], vmin)
        mesh = ax.pcolormesh(pn, pp, Z.T, norm=norm, cmap="magma", shading="auto",
                             rasterized=True)
        cs = ax.contour(pn, pp, Z.T, levels=[0.1, 0.3, 1.0], colors="w", linewidths=0.7)
        sims = _rows(table, panel=panel, kind="simulation")
        ax.clabel(cs, fmt=lambda v: f"{v:g}", fontsize=6, inline=True,
                  manual=_label_spots(cs, [(r["psi_n"], r["psi_p"]) for r in sims]))
        ax.plot(pn, pn, color="cyan", lw=1.0, ls="--")
        for counted, edge in ((True, "cyan"), (False, "0.6")):
            grp = [r for r in sims if bool(r.get("counted", True)) == counted]
            if grp:
                ax.scatter([r["psi_n"] for r in grp], [r["psi_p"] for r in grp],
                           c=[max(r["value"], vmin) for r in grp], norm=norm, cmap="magma",
                           edgecolors=edge, s=34, linewidths=1.1, zorder=5)
        for r in sims:
            ax.annotate(f"{r['value']:.2g}", (r["psi_n"], r["psi_p"]), xytext=(4, 3),
                        textcoords="offset points", fontsize=5.5, color="w", zorder=6,
                        path_effects=outline)
        if sims:
            d = sims[0]["d"]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(LABELS["psi_n"])
        ax.set_ylabel(LABELS["psi_p"])
        sim_m = sims[0]["sim_m"] if sims else None
        ax.set_title(f"({letter}) m = 1" if panel == "m=1"
                     else f"({letter}) m = ∞ (points simulated at m = {sim_m})")
    handles = [_line("cyan", "--"), _line("cyan", "none", marker="o", ms=5, mfc="0.8", mew=1.1),
               _line("0.6", "none", marker="o", ms=5, mfc="0.8", mew=1.1)]
    labels = [r"$p = n$", f"simulation, d = {d}: fill and number = measured gap",
              "near the peak: shown, not counted"]
    shared_legend(fig, handles, labels, ncol=3)
    subtitle(fig, _setting_line(table.meta.get("setting", {}), "t", "lam")
             + "; white contours: theory at gap = 0.1, 0.3, 1")
    save(fig, path, rect=(0, 0, 0.88, 1), colorbar=(mesh, "gap = test − train error"))


def plot_m_approach(table, path):
    fig, axes = new_figure(1, 1, width=4.6, height=3.4)
    ax = axes[0, 0]
    d = None
    for i, q in enumerate(("test_error", "train_error")):
        th = sorted(_rows(table, kind="theory", series="theory", quantity=q),
                    key=lambda r: -float(r["m"]))
        x, y = [1.0 / float(r["m"]) for r in th], [r["value"] for r in th]
        ax.plot(x, y, color=COLORS[i])
        ax.annotate(LABELS[q], (0.75, np.interp(0.75, x, y)), xytext=(0, 6 if i == 0 else -6),
                    textcoords="offset points", ha="center", va="bottom" if i == 0 else "top",
                    fontsize=7, color=COLORS[i])   # the quantity named beside its line
        inf = _rows(table, kind="theory", series="theory m=inf", quantity=q)
        ax.plot([0.0], [inf[0]["value"]], marker="*", ms=9, color=COLORS[i], ls="none",
                gid="no-se: the m = inf theory, exact")
        sims = _rows(table, kind="simulation", quantity=q)
        overlay(ax, [], [], color=COLORS[i], x_sim=[1.0 / float(r["m"]) for r in sims],
                y_sim=[r["value"] for r in sims], se_sim=[r["se"] for r in sims])
        d = sims[0]["d"] if sims else d
    ax.set_xlabel("1/m  (m noise samples per data point)")
    ax.set_ylabel("error")
    ax.set_title("finite m approaches m = ∞ linearly in 1/m")
    handles = [_line(), _line(ls="none", marker="*", ms=8), _dot()]
    labels = ["finite-m theory", "m = ∞ theory (exact)",
              f"simulation, d = {d}\n(±3 SE < markers)"]
    ax.legend(handles, labels, loc="upper left")
    subtitle(fig, _setting_line(table.meta["setting"], "psi_n", "psi_p", "t", "lam"))
    save(fig, path)


def plot_finite_size(table, path):
    fig, axes = new_figure(2, 1, width=4.3, height=3.4)
    ds = sorted({r["d"] for r in table.rows})
    dd = np.array([0.8 * ds[0], 1.25 * ds[-1]])
    slopes = table.meta.get("summary", {}).get("slopes", {})
    ax = axes[0, 0]
    series = sorted({r["series"] for r in table.rows if r["panel"] == "deviation"})
    for i, s in enumerate(series):
        for q, mk, ls in (("test_error", "o", "-"), ("train_error_reg", "s", "--")):
            pts = sorted(_rows(table, panel="deviation", series=s, quantity=q), key=lambda r: r["d"])
            d = np.array([r["d"] for r in pts], float)
            dev = np.array([(r["value"] - r["theory"]) / r["theory"] for r in pts])
            se = np.array([r["se"] / r["theory"] for r in pts])
            ax.errorbar(d, np.abs(dev), yerr=3 * se, fmt=mk, ls=ls, color=COLORS[i],
                        markerfacecolor="white", ms=3.5)
    # colours name the settings (first legend row), styles the quantities (second row)
    colours = [(_line(COLORS[i]), _pretty(s) + (f": slope {slopes[s]:+.2f}".replace("-", "−")
                                                 if s in slopes else "")) for i, s in enumerate(series)]
    styles = [(_line(marker="o", mfc="white"), "test error"),
              (_line(ls="--", marker="s", mfc="white"), "train error (with ridge)"),
              (_line("k", ":", lw=0.8), "∝ 1/d")]
    entries = [e for pair in itertools.zip_longest(colours, styles) for e in pair if e]
    ax.plot(dd, 2.0 / dd, color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    value_ticks(ax, ds)
    ax.set_xlabel("dimension d")
    ax.set_ylabel("|sim − theory| / theory")
    ax.set_title("(a) deviation from the theory")
    ax = axes[0, 1]
    pts = sorted(_rows(table, panel="mean spike"), key=lambda r: r["d"])
    d = np.array([r["d"] for r in pts], float)
    v = np.array([r["value"] for r in pts])
    se = np.array([r["se"] for r in pts])
    ax.errorbar(d, np.abs(v), yerr=3 * se, fmt="o-", color=COLORS[3], markerfacecolor="white",
                ms=3.5, label=r"relu − centred relu, $\psi_p$ = 16, m = 1")
    ax.plot(dd, np.abs(v[0]) * d[0] / dd, color="k", lw=0.8, ls=":", label="∝ 1/d")
    ax.set_xscale("log")
    ax.set_yscale("log")
    value_ticks(ax, ds)
    ax.set_xlabel("dimension d")
    ax.set_ylabel("test-error difference / test error")
    ax.set_title(r"(b) mean spike of relu ($\mu_0 \neq 0$)")
    ax.legend()
    shared_legend(fig, *map(list, zip(*entries)), ncol=max(len(colours), len(styles)))
    subtitle(fig, r"$\psi_n$ = 2, t = 0.1, $\lambda$ = 0.001; bars ±3 SE; slopes of the test "
                  "error's deviation against d")
    save(fig, path)


def plot_validation(table, path):
    fig, axes = new_figure(2, 1, width=4.3, height=3.6)
    sims = [r for r in table.rows if r["kind"] == "simulation" and r["theory"]]
    present = [q for q in _QUANTITY_STYLE if any(r["quantity"] == q for r in sims)]
    d = sims[0]["d"] if sims else "?"
    for ax, key, se_key, vkey, title in (
            (axes[0, 0], "value", "se", "verdict", f"(a) raw, d = {d}"),
            (axes[0, 1], "extrapolated", "extrapolated_se", "verdict_extrapolated",
             "(b) 1/d extrapolation, d → ∞")):
        pts_all = [r for r in sims if r.get(key) is not None]
        for q in present:
            col, mk = _QUANTITY_STYLE[q]
            for ok in (True, False):
                grp = [r for r in pts_all if r["quantity"] == q and (r.get(vkey) == AGREE) == ok]
                if grp:
                    ax.errorbar([r["theory"] for r in grp], [r[key] / r["theory"] for r in grp],
                                yerr=[3 * r[se_key] / abs(r["theory"]) for r in grp], fmt=mk,
                                color=col, markerfacecolor="white" if ok else col, ms=3.5,
                                markeredgewidth=1.0, elinewidth=0.9)
        ax.axhspan(1 - _TOL_PCT / 100, 1 + _TOL_PCT / 100, color="0.86", lw=0, zorder=0)
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlabel("theory (value of the error)")
        ax.set_ylabel("simulation / theory")
        n_ok = sum(r.get(vkey) == AGREE for r in pts_all)
        ax.set_title(f"{title}: {n_ok}/{len(pts_all)} agree")
    handles = [_dot(_QUANTITY_STYLE[q][1], _QUANTITY_STYLE[q][0]) for q in present]
    labels = [_QUANTITY_LABEL[q] for q in present]
    handles += [_dot(filled=True), _band()]
    labels += ["filled: outside the tolerance", "±3 %"]
    shared_legend(fig, handles, labels, ncol=4)
    subtitle(fig, "one point per setting of the grid; agree: within max(k SE, 3 %), "
                  "k the 3σ Student-t multiplier; bars ±3 SE")
    save(fig, path)


BUILDERS = {
    "gvm25-m1-vs-minf": build_m1_vs_minf,
    "gvm25-finite-m": build_finite_m,
    "gvm25-phase-diagram": build_phase_diagram,
    "rf-m-approach": build_m_approach,
    "rf-finite-size": build_finite_size,
    "rf-validation": build_validation,
}
PLOTTERS = {
    "gvm25-m1-vs-minf": plot_m1_vs_minf,
    "gvm25-finite-m": plot_finite_m,
    "gvm25-phase-diagram": plot_phase_diagram,
    "rf-m-approach": plot_m_approach,
    "rf-finite-size": plot_finite_size,
    "rf-validation": plot_validation,
}


# =========================================================================== CLI helpers
def _group_by_others(rows, x):
    """Rows grouped by every setting column but ``x`` (one line per group)."""
    present = rows[0] if rows else {}
    others = [c for c in ("psi_n", "psi_p", "t", "lam", "m", "psi_d") if c != x and c in present]
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(r[c] for c in others), []).append(r)
    return others, groups


#: How the CLI plots write a setting column.
_SYMBOL = {"psi_n": r"$\psi_n$", "psi_p": r"$\psi_p$", "t": "t", "lam": r"$\lambda$", "m": "m",
           "psi_d": r"$\psi_D$",
           "activation": "", "data": "data", "manifold_activation": "φ"}
#: At most this many lines of a second swept setting (evenly spread over its values).
MAX_LINES = 6


def _value(v) -> str:
    if isinstance(v, str):
        return "∞" if v == "inf" else v
    v = float(v)
    return "∞" if np.isinf(v) else f"{v:.3g}"


def _setting_text(rows, skip) -> str:
    """The columns every row shares, as ``tanh, ψ_n = 2, t = 0.1, λ = 0.001`` (the
    subtitle of a CLI plot)."""
    parts = []
    for col in ("activation", "data", "psi_d", "manifold_activation", "psi_n", "psi_p", "m",
                "t", "lam"):
        values = {r.get(col) for r in rows} - {None, ""}
        if col in skip or len(values) != 1:
            continue
        value = _value(values.pop())
        if col == "psi_d" and rows[0].get("data", "gaussian") == "gaussian":
            continue
        parts.append(value if col == "activation" else f"{_SYMBOL[col]} = {value}")
    return ", ".join(parts)


def _spread(keys, most=MAX_LINES) -> list:
    """At most ``most`` of ``keys``, evenly spread (first and last kept)."""
    if len(keys) <= most:
        return list(keys)
    picks = np.unique(np.round(np.linspace(0, len(keys) - 1, most)).astype(int))
    return [keys[i] for i in picks]


def _as_float(v):
    return float("inf") if v == "inf" else float(v)


def plot_curve_table(table: Table, x: str, path: str):
    """Theory table from ``lowdim rf curve``: test (solid) and train (dashed) error against
    the most-swept setting ``x``, one colour per value of the others (at most six, evenly
    spread), the fixed setting in the subtitle."""
    fig, axes = new_figure(1, 1, width=4.6, height=3.4)
    ax = axes[0, 0]
    others, groups = _group_by_others(table.rows, x)
    varying = [c for c in others if len({r[c] for r in table.rows}) > 1]
    keys = sorted(groups, key=lambda k: tuple(_as_float(v) for v in k))
    shown = _spread(keys)
    for i, key in enumerate(shown):
        rows = sorted(groups[key], key=lambda r: _as_float(r[x]))
        xv = [_as_float(r[x]) for r in rows]
        lab = ", ".join(f"{_SYMBOL[c]} = {_value(v)}" for c, v in zip(others, key)
                        if c in varying)
        for q, ls in (("test_error", "-"), ("train_error", "--")):
            y = [np.nan if r[q] is None else r[q] for r in rows]
            ax.plot(xv, y, ls=ls, color=COLORS[i % len(COLORS)],
                    label=(lab or "theory") if q == "test_error" else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(LABELS.get(x, x))
    ax.set_ylabel("error (solid: test, dashed: train)")
    if len(shown) < len(keys):
        ax.set_title(f"{len(shown)} of {len(keys)} settings shown (evenly spread)")
    if varying or len(shown) > 1:
        ax.legend()
    subtitle(fig, _setting_text(table.rows, {x}))
    save(fig, path)


def plot_validation_table(tidy: Table, x: str, path: str, z: float = 3.0):
    """Validation table from ``lowdim rf validate``: dense theory lines (solid: test,
    dashed: train) and measured points with ``z``-SE bars (circles: test, squares: train),
    one colour per value of the other swept settings."""
    fig, axes = new_figure(1, 1, width=4.6, height=3.4)
    ax = axes[0, 0]
    others, groups = _group_by_others(tidy.rows, x)
    varying = [c for c in others if len({r[c] for r in tidy.rows}) > 1]
    act = tidy.rows[0]["activation"] if tidy.rows else "tanh"
    keys = _spread(list(groups))
    for i, key in enumerate(keys):
        rows = groups[key]
        base = dict(zip(others, key))
        color = COLORS[i % len(COLORS)]
        xs_sim = sorted({float(r[x]) for r in rows if r[x] != "inf"})
        if x in ("psi_p", "psi_n", "lam", "t", "psi_d") and len(xs_sim) > 1:
            dense = np.geomspace(min(xs_sim) / 1.5, max(xs_sim) * 1.5, 200)
            kw = {k: (np.inf if v == "inf" else float(v)) for k, v in base.items()}
            kw[x] = dense
            sim_m = rows[0]["sim_m"]
            if kw.get("m") == np.inf:
                kw["m"] = float(sim_m)
            data = rows[0].get("data", "gaussian")
            if data == "gaussian":
                kw.pop("psi_d", None)
            pred = predict(RFSetting(**kw, activation=act, data=data,
                                     manifold_activation=rows[0].get("manifold_activation")
                                     or None))
            ax.plot(dense, pred.test_error, color=color)
            ax.plot(dense, pred.train_error, color=color, ls="--")
        lab = ", ".join(f"{_SYMBOL[c]} = {_value(v)}" for c, v in base.items() if c in varying)
        for q, mk in (("test_error", "o"), ("train_error", "s")):
            pts = sorted([r for r in rows if r["quantity"] == q], key=lambda r: float(r[x]))
            y, se = zip(*[_judged_value(r) for r in pts]) if pts else ((), ())
            ax.errorbar([float(r[x]) for r in pts], y, yerr=[z * e for e in se], fmt=mk,
                        color=color, ms=3.5, label=(lab or "simulation") if q == "test_error"
                        else None, markerfacecolor="white")
            off = [(float(r[x]), v) for r, v in zip(pts, y) if r.get("verdict") == "disagree"]
            if off:   # a miss is drawn filled
                ax.plot(*zip(*off), mk, color=color, ms=3.5, gid="no-se: drawn above with bars")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(LABELS.get(x, x))
    ax.set_ylabel("error (○ ── test, □ - - train)")
    n_ok = sum(r.get("verdict") == "agree" for r in tidy.rows)
    extrapolated = any(r.get("extrapolated") is not None for r in tidy.rows)
    ax.set_title(f"{n_ok}/{len(tidy.rows)} checks agree (filled: disagree); points "
                 + ("1/d-extrapolated" if extrapolated else "at d") + f", ±{z:g} SE")
    ax.legend()
    subtitle(fig, _setting_text(tidy.rows, {x, "d"}))
    save(fig, path)


def _judged_value(row) -> tuple:
    """The simulated value a validation row's verdict judged, and its SE: the 1/d
    extrapolation when there is one, else the mean at d."""
    if row.get("extrapolated") is not None:
        return row["extrapolated"], row["extrapolated_se"]
    return row["sim_mean"], row["sim_se"]


# --------------------------------------------------------------------------- gallery
_GVM25 = "GVM25"  # George, Veiga, Macris 2025, arXiv:2502.00336
_PROJ = THIS_PACKAGE

#: The gallery figures of this module (:mod:`lowdim.compare.figures`).
FIGURES = (
    FigureSpec(
        "gvm25-m1-vs-minf", "Test and train error against psi_p, m = 1 and m = inf", _GVM25,
        "m = 1 has an interpolation peak at psi_p = psi_n; m = inf has none and a single test-error "
        "minimum below psi_n, while its train error drops for psi_p > psi_n (memorization).",
        build_m1_vs_minf, plot_m1_vs_minf),
    FigureSpec(
        "gvm25-finite-m", "Finite m: the interpolation peak sits at psi_p = m psi_n", _GVM25,
        "With m noise samples per data point the test error peaks at psi_p = m psi_n; the peak "
        "moves right and fades as m grows.",
        build_finite_m, plot_finite_m),
    FigureSpec(
        "gvm25-phase-diagram", "Generalization gap over (psi_n, psi_p)", _GVM25,
        "The train-test gap opens for p > n (memorization) and stays small for p < n "
        "(generalization); more noise samples widen the memorization region's gap.",
        build_phase_diagram, plot_phase_diagram),
    FigureSpec(
        "rf-m-approach", "Errors against 1/m approach the m = inf theory", _PROJ,
        "The finite-m theory and simulation converge to the m = inf theory linearly in 1/m.",
        build_m_approach, plot_m_approach),
    FigureSpec(
        "rf-finite-size", "Finite-size deviations shrink like 1/d; the relu mean spike too", _PROJ,
        "Simulation minus theory decays like 1/d, so the theory is the d -> inf limit; a "
        "non-centred activation differs from its centred version by O(1/d) only.",
        build_finite_size, plot_finite_size),
    FigureSpec(
        "rf-validation", "Validation table: theory against simulation", _PROJ,
        "tanh and relu, m in {1, 4, large}, t in {0.01, 0.1, 1}: simulation agrees with the theory "
        "within max(3 SE, 3 %) away from interpolation peaks.",
        build_validation, plot_validation),
)
