"""Figures of the random-features training dynamics on manifold data: the test error along
gradient flow (and its on- and off-manifold parts) on linear and hidden manifolds, and how
the memorization time moves with the number of data points and with the intrinsic dimension.

Same conventions as :mod:`lowdim.compare.rf_dynamics_figures`: each builder returns a tidy
table of theory rows (dense curves, time scales, fits) and simulation rows (measured points
with their standard errors, the theory they are judged against and the verdict), and each
plotter draws from that table alone.  Simulated errors are judged by the package's verdict
(:func:`lowdim.compare.rf.judge`: ``|sim - theory| <= max(3 SE, 3 %)``) after the 1/d
extrapolation ``2 E(d) - E(d/2)`` (:func:`lowdim.compare.rf.richardson`), from the same
per-seed sweep tasks as :func:`lowdim.compare.rf_dynamics.dynamics_table`.

The time scales ``tau_gen``, ``tau*`` and ``tau_mem`` are those of
:func:`lowdim.theory.rf.time_scales` (docs/dynamics.md sect. 8): the memorization figure calls
it once per point (one sweep task each, cached; on manifold data each costs about one spectrum
of ``U``), and the dynamics figure reads them off its dense test curves by the same
definitions and refinements (:func:`read_time_scales`), checked against ``time_scales`` at
the isotropic point.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from matplotlib.ticker import FixedLocator, LogLocator, NullFormatter

from lowdim.simulate.rf import RFSize
from lowdim.theory.rf import RFSetting, generalization_curve, time_scales

from .plots import COLORS, new_figure, save, shared_legend, subtitle, value_ticks
from .registry import FigureSpec, THIS_PACKAGE
from .rf import judge, richardson
from .rf_dynamics import measure_dynamics
from .sweep import map_tasks
from .table import Table
from .verdict import AGREE, INCONCLUSIVE, Check, Report, compare, holds

__all__ = ["PRESETS", "COLUMNS", "BUILDERS", "PLOTTERS", "FIGURES", "read_time_scales"]

#: the setting of the dynamics figure: m = 16 rather than inf (module docstring of
#: :func:`build_dynamics`)
DYNAMICS = {"psi_n": 2.0, "psi_p": 16.0, "t": 0.1, "lam": 1e-3, "m": 16.0,
            "activation": "tanh"}
#: the setting of the memorization figure (BUBM25's m = inf; psi_p large enough that the
#: isotropic tau_mem grows nearly like n, docs/dynamics.md sect. 8)
MEMORIZATION = {"psi_p": 128.0, "t": 0.1, "lam": 1e-4, "m": math.inf, "activation": "tanh"}
#: the isotropic slope of log tau_mem against log psi_n at MEMORIZATION for psi_n = 2-16
#: (docs/dynamics.md sect. 8, table "Measured scalings")
ISOTROPIC_SLOPE_DOC = 0.91
MANIFOLDS = ("linear-manifold", "hidden-manifold")

PRESETS = {
    "quick": {
        "dynamics": {"psi_d": (0.125, 0.25, 0.5), "sim_psi_d": (0.25,), "d": 64, "seeds": 5,
                     "n_test": 1024, "per_decade": 12},
        # two psi_d: each manifold point costs one spectrum of U (5-15 s at psi_p = 128)
        "memorization": {"psi_n": (2.0, 4.0, 8.0, 16.0), "psi_d": (0.125, 0.5)},
    },
    "paper": {
        "dynamics": {"psi_d": (0.125, 0.25, 0.5), "sim_psi_d": (0.125, 0.25, 0.5), "d": 128,
                     "seeds": 8, "n_test": 4096, "per_decade": 25},
        "memorization": {"psi_n": (2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0),
                         "psi_d": (0.0625, 0.125, 0.25, 0.5)},
    },
}

COLUMNS = ["panel", "kind", "series", "data", "psi_d", "psi_n", "psi_p", "m", "t", "lam",
           "activation", "quantity", "time", "value", "se", "theory", "d", "n_seeds",
           "value_at_d", "se_at_d", "value_at_half_d", "verdict", "counted", "reason"]
_PARTS = ("test_error", "test_error_par", "test_error_perp")
_SIM_TIMES = (0.1, 1.0, 10.0, 100.0, 1000.0, math.inf)
_BAND = "max(3 SE, 3%)"
_DATA_TITLE = {"linear-manifold": "linear manifold", "hidden-manifold": "hidden manifold",
               "gaussian": "isotropic"}
_ISO_COLOR = "0.45"
#: the fields of :class:`lowdim.theory.rf.TimeScales` kept in the memorization figure
_TIME_FIELDS = ("tau_gen", "tau_star", "tau_mem", "gain", "test_at_tau_star",
                "test_converged", "tau_gen_spectral", "tau_mem_spectral", "tau_slowest")


def _point(data: str, psi_d: float, **setting) -> RFSetting:
    extra = {} if data == "gaussian" else {"data": data, "psi_d": float(psi_d)}
    return RFSetting(**setting, **extra)


def _base(data: str, psi_d: float, setting: dict) -> dict:
    m = float(setting["m"])
    pn = float(setting["psi_n"]) if "psi_n" in setting else None
    return {"data": data, "psi_d": float(psi_d), "psi_n": pn,
            "psi_p": float(setting["psi_p"]), "m": "inf" if math.isinf(m) else int(m),
            "t": float(setting["t"]), "lam": float(setting["lam"]),
            "activation": setting["activation"]}


def _series(data: str, psi_d: float) -> str:
    return "isotropic" if data == "gaussian" else f"{data} psi_d={psi_d:g}"


def _grid(lo: float, hi: float, per_decade: int) -> np.ndarray:
    return np.geomspace(lo, hi, int(round(per_decade * math.log10(hi / lo))) + 1)


# =========================================================================== time scales
def read_time_scales(grid, test, start: float, converged: float) -> dict:
    """``tau_gen``, ``tau*``, ``tau_mem`` and the gain of one test curve (``test`` on the
    log ``grid``, ``start`` at tau = 0, ``converged`` at tau = inf), by
    :func:`lowdim.theory.rf.times_from_curve`."""
    from lowdim.theory.rf import times_from_curve

    return times_from_curve(grid, test, start=start, converged=converged)


def time_scales_task(setting: RFSetting) -> dict:
    """One sweep task: :func:`lowdim.theory.rf.time_scales` of one point as plain data, or
    ``{"error": message}`` when the theory's numerics fail."""
    try:
        ts = time_scales(setting)
    except RuntimeError as err:
        return {"error": str(err)}
    return {q: float(getattr(ts, q)) for q in _TIME_FIELDS}


def _curve(point: RFSetting, grid) -> dict:
    """The test error (and its parts off isotropic data) at ``0``, every time of ``grid`` and
    ``inf``, in one solve."""
    c = generalization_curve(point, np.concatenate([[0.0], grid, [math.inf]]))
    return {q: np.asarray(c[q], float) for q in _PARTS if q in c}


# =========================================================================== simulation
def _simulated(point: RFSetting, base: dict, size: RFSize, report: Report, *, panel: str,
               series: str, progress=None) -> list:
    """Simulation rows of ``point`` at :data:`_SIM_TIMES`: the raw means at ``d`` and
    ``d/2`` and their 1/d extrapolation, each of the three test errors judged (extrapolated)
    against the theory; every check goes into ``report``."""
    times = list(_SIM_TIMES)
    theory = generalization_curve(point, times)
    full = measure_dynamics(point, size, times, progress=progress)
    half_size = dataclasses.replace(size, d=size.d // 2, stream=f"{size.stream}half")
    half = measure_dynamics(point, half_size, times, progress=progress)
    rows = []
    for j, tau in enumerate(times):
        for q in _PARTS:
            th = float(theory[q][j])
            value, se, dof = richardson(full[j], half[j], q)
            check = report.add(judge(th, value, se, dof, full[j].n_seeds,
                                     name=f"{q} at tau={tau:g}, {series}"))
            rows.append(dict(base, panel=panel, kind="simulation", series=series, quantity=q,
                             time=tau, value=value, se=se, theory=th, d=size.d,
                             n_seeds=full[j].n_seeds, value_at_d=full[j].mean[q],
                             se_at_d=full[j].uncertainty(q), value_at_half_d=half[j].mean[q],
                             verdict=check.verdict, counted=check.counted,
                             reason=check.reason))
    return rows


# =========================================================================== builders
def build_dynamics(preset="quick", device="auto", progress=None):
    """Test error along gradient flow, and its on- and off-manifold parts, on linear and
    hidden manifolds for several psi_d at psi_n = 2, psi_p = 16, t = 0.1, lam = 1e-3,
    tanh, m = 16, isotropic data for reference; simulated points at ``sim_psi_d``.

    m = 16 rather than inf: the memorization rise is larger (fitting the noise samples adds
    to it: on the linear manifold at psi_d = 0.25 the test error climbs from 0.27 to 0.85
    at m = 16 against 0.26 to 0.67 at m = inf), and the simulation runs at the m that is
    drawn (m = inf would be simulated at a finite m and judged against another curve)."""
    block = PRESETS[preset]["dynamics"]
    grid = _grid(1e-3, 1e5, block["per_decade"])
    size = RFSize(d=block["d"], seeds=block["seeds"], n_test=block["n_test"], device=device)
    rows, report, scales = [], Report(), []
    models = tuple(block.get("data", MANIFOLDS))
    cases = [("gaussian", 1.0)] + [(data, g) for data in models for g in block["psi_d"]]
    for data, g in cases:
        base = _base(data, g, DYNAMICS)
        point = _point(data, g, **DYNAMICS)
        series = _series(data, g)
        c = _curve(point, grid)
        for q, v in c.items():
            rows += [dict(base, panel="curve", kind="theory", series=series, quantity=q,
                          time=float(tau), value=float(x))
                     for tau, x in zip([0.0, *grid, math.inf], v)]
        ts = read_time_scales(grid, c["test_error"][1:-1], c["test_error"][0],
                              c["test_error"][-1])
        scales.append(dict(ts, series=series, data=data, psi_d=g))
        for q in ("tau_gen", "tau_star", "tau_mem"):
            at = float(np.interp(math.log(ts[q]), np.log(grid), c["test_error"][1:-1])) \
                if math.isfinite(ts[q]) else None
            rows.append(dict(base, panel="curve", kind="time scale", series=series, quantity=q,
                             time=ts[q], value=ts["test_at_tau_star"] if q == "tau_star" else at,
                             theory=ts["test_converged"]))
        if data != "gaussian":
            # the rise that the figure is about: the test error at convergence exceeds its
            # minimum along training by at least 10 %
            report.add(holds(f"test error rises after tau* ({series})",
                             ts["gain"] >= 0.1 * ts["test_at_tau_star"],
                             measured=round(ts["gain"] / ts["test_at_tau_star"], 4),
                             reference=">= 0.1 (gain / L*)"))
            # where the rise happens: on or off the manifold
            par, perp = c["test_error_par"], c["test_error_perp"]
            k = int(np.argmin(np.abs(np.log(grid) - math.log(ts["tau_star"])))) + 1
            scales[-1].update(rise_par=float(par[-1] - par[k]), rise_perp=float(perp[-1] - perp[k]))
        if data != "gaussian" and g in block["sim_psi_d"]:
            rows += _simulated(point, base, size, report, panel="curve", series=series,
                               progress=progress)
    # the reading of the time scales is time_scales' own (one cheap point: isotropic data)
    ref = time_scales(_point("gaussian", 1.0, **DYNAMICS))
    iso = scales[0]
    for q in ("tau_gen", "tau_star", "tau_mem"):
        report.add(compare(f"{q} read off the curve vs time_scales (isotropic)", iso[q],
                           getattr(ref, q), rel_tol=0.03))
    sims = [r for r in rows if r["kind"] == "simulation"]
    n_sim = sum(1 for r in sims if r["verdict"] == AGREE)
    dev = max(sims, key=lambda r: abs(r["value"] / r["theory"] - 1))
    raw = max(sims, key=lambda r: abs(r["value_at_d"] / r["theory"] - 1))
    text = (f"{report.counts_text()}: {n_sim}/{len(sims)} simulated test errors (total, on- "
            f"and off-manifold) within {_BAND} of the theory after the 1/d extrapolation "
            f"from d = {size.d // 2}, {size.d} ({len(size.seeds)} seeds), max |rel. dev.| "
            f"{abs(dev['value'] / dev['theory'] - 1):.1%} ({dev['quantity']} at "
            f"tau={dev['time']:g}, {dev['series']}), raw at d = {size.d} "
            f"{abs(raw['value_at_d'] / raw['theory'] - 1):.1%}; theory: ")
    text += "; ".join(
        f"{s['series']}: L* {s['test_at_tau_star']:.3g} at tau*={s['tau_star']:.3g}, "
        f"tau_mem={s['tau_mem']:.3g}, L(inf) {s['test_converged']:.3g}"
        + (f" (rise on/off manifold {s['rise_par']:.3f}/{s['rise_perp']:.3f})"
           if "rise_par" in s else "") for s in scales)
    report.text = text
    return Table(list(COLUMNS), rows, {
        "setting": dict(DYNAMICS, m=16), "d": size.d, "seeds": list(size.seeds),
        "n_test": size.n_test, "sim_psi_d": list(block["sim_psi_d"]),
        "psi_d": list(block["psi_d"]), "data": list(models),
        "summary": report.summary(time_scales=scales)})


def _slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(y) & (y > 0)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def _range(fit: dict, pns) -> str:
    """`` (psi_n A-B)`` when a fit covers fewer points than the grid."""
    r = fit.get("psi_n") or []
    if len(r) == 2 and (r[0] != pns[0] or r[1] != pns[-1]):
        return f" (psi_n {r[0]:g}-{r[1]:g} only)"
    return ""


def build_memorization(preset="quick", device="auto", progress=None):
    """tau_mem, tau* and tau_gen against psi_n for several psi_d on linear and hidden
    manifolds (theory, m = inf, psi_p = 128, t = 0.1, lam = 1e-4, tanh), isotropic data for
    reference, with the log-log slope of tau_mem against psi_n per psi_d; and tau_mem
    against psi_d at each psi_n."""
    block = PRESETS[preset]["memorization"]
    pns = [float(x) for x in block["psi_n"]]
    cases = [("gaussian", 1.0)] + [(data, float(g)) for data in MANIFOLDS
                                   for g in block["psi_d"]]
    keys = [(data, g, pn) for data, g in cases for pn in pns]
    # one sweep task per point (cached, parallel under a runner): on manifold data each
    # costs about one spectrum of U
    results = map_tasks(time_scales_task, [
        {"setting": _point(data, g, **dict(MEMORIZATION, psi_n=pn))} for data, g, pn in keys],
        progress=progress)
    rows, report, failed, read = [], Report(), [], {}
    for (data, g, pn), ts in zip(keys, results):
        series = _series(data, g)
        if "error" in ts:     # named in the summary, left out of the fits
            failed.append(f"{series}, psi_n={pn:g}: {ts['error']}")
            report.add(Check(f"theory solved ({series}, psi_n={pn:g})",
                             verdict=INCONCLUSIVE, reason=ts["error"]))
            continue
        read[(data, g, pn)] = ts
        base = _base(data, g, dict(MEMORIZATION, psi_n=pn))
        for q, v in ts.items():
            rows.append(dict(base, panel="times", kind="theory", series=series, quantity=q,
                             value=v))
    slopes, fits = {}, {}
    for data, g in cases:
        series = _series(data, g)
        got = [(pn, read[(data, g, pn)]) for pn in pns if (data, g, pn) in read]
        x = [pn for pn, _ in got]
        for q in ("tau_mem", "tau_gen", "tau_star"):
            slope = _slope(x, [ts[q] for _, ts in got])
            fits[f"{series} {q}"] = slope
            local = [math.log(b[1][q] / a[1][q]) / math.log(b[0] / a[0])
                     for a, b in zip(got, got[1:])]
            y = np.array([ts[q] for _, ts in got], float)
            ok = np.isfinite(y) & (y > 0)
            lnc = float(np.mean(np.log(y[ok]) - slope * np.log(np.array(x)[ok]))) \
                if ok.sum() > 1 else math.nan
            rows.append(dict(_base(data, g, MEMORIZATION), panel="times", kind="fit",
                             series=series, quantity=f"{q}_slope", value=slope,
                             theory=math.exp(lnc) if math.isfinite(lnc) else None,
                             reason="local slopes " + ", ".join(f"{s:.2f}" for s in local)))
            if q == "tau_mem":
                slopes[series] = {"slope": slope, "local": local,
                                  "psi_n": [min(x), max(x)] if x else []}
        # the ordering of the three times, at every point of the series
        order = [ts["tau_gen"] < ts["tau_star"] < ts["tau_mem"] < math.inf for _, ts in got]
        report.add(holds(f"tau_gen < tau* < tau_mem < inf at every solved psi_n ({series})",
                         all(order), measured=f"{sum(order)}/{len(order)} points",
                         reference=f"{len(order)}/{len(order)} points"))
    iso = slopes["isotropic"]["slope"]
    if pns[0] == 2.0 and pns[-1] == 16.0 and MEMORIZATION["psi_p"] == 128.0:
        report.add(compare("isotropic slope of log tau_mem vs log psi_n (psi_n 2-16) against "
                           "docs/dynamics.md sect. 8", iso, ISOTROPIC_SLOPE_DOC, abs_tol=0.05))
    # tau_mem against psi_d at each psi_n: the slope of log tau_mem against log psi_d
    by_d = {}
    for data in MANIFOLDS:
        for pn in pns:
            gs = [float(g) for g in block["psi_d"] if (data, float(g), pn) in read]
            by_d[f"{data} psi_n={pn:g}"] = _slope(gs, [read[(data, g, pn)]["tau_mem"]
                                                       for g in gs])
    # tau_mem against n/D = psi_n/psi_d: its spread over the points of equal n/D (isotropic
    # data, D = d, counted with the linear manifold)
    collapse = {}
    for data in MANIFOLDS:
        groups = {}
        for (dd, g, pn), ts in read.items():
            if dd == data or (dd == "gaussian" and data == "linear-manifold"):
                groups.setdefault(round(pn / g, 6), []).append(ts["tau_mem"])
        spread = [max(v) / min(v) - 1.0 for v in groups.values() if len(v) > 1]
        collapse[data] = {"max_spread": max(spread) if spread else math.nan,
                          "groups": sum(len(v) > 1 for v in groups.values())}
    man = {k: v for k, v in slopes.items() if k != "isotropic"}
    text = (f"{report.counts_text()}; slope of log tau_mem against log psi_n "
            f"(psi_n {pns[0]:g}-{pns[-1]:g}, psi_p = {MEMORIZATION['psi_p']:g}, m = inf): "
            f"isotropic {iso:.2f}; " + ", ".join(f"{k} {v['slope']:.2f}" + _range(v, pns)
                                                for k, v in man.items()))
    lo = min(v["slope"] for v in man.values())
    hi = max(v["slope"] for v in man.values())
    gen = [fits[f"{k} tau_gen"] for k in slopes]
    lin, hid = collapse["linear-manifold"], collapse["hidden-manifold"]
    text += (f"; on manifold data tau_mem grows like psi_n^{lo:.2f} to psi_n^{hi:.2f}, "
             f"{'slower than n' if hi < 0.8 else 'close to n'} (isotropic {iso:.2f}), the "
             "local slope falling with psi_n (last pair: " + ", ".join(
                 f"{k} {v['local'][-1]:.2f}" for k, v in man.items() if v["local"])
             + f"); tau_mem is nearly a function of n/D = psi_n/psi_d: at equal n/D it "
             f"differs by at most {lin['max_spread']:.0%} on the linear manifold (isotropic "
             f"data included, {lin['groups']} groups) and {hid['max_spread']:.0%} on the "
             f"hidden manifold ({hid['groups']} groups), so a smaller psi_d delays "
             "memorization (slope of log tau_mem against log psi_d: " + ", ".join(
                 f"{k} {v:.2f}" for k, v in by_d.items())
             + f"); tau_gen slopes in psi_n {min(gen):.2f} to {max(gen):.2f}")
    if failed:
        text += f"; {len(failed)} point(s) not solved ({failed[0]})"
    report.text = text
    return Table(list(COLUMNS), rows, {
        "setting": dict(MEMORIZATION, m="inf"), "psi_n": pns,
        "psi_d": [float(g) for g in block["psi_d"]],
        "summary": report.summary(tau_mem_slopes=slopes, slopes=fits,
                                  tau_mem_psi_d_slopes=by_d, n_over_D_collapse=collapse,
                                  unsolved=failed)})


# =========================================================================== plotters
def _rows(table, **eq):
    return [r for r in table.rows if all(r.get(k) == v for k, v in eq.items())]


def _pow10(x: float) -> str:
    k = int(round(math.log10(x)))
    return {0: "1", 1: "10"}.get(k, f"$10^{{{k}}}$")


def _time_axis(ax, lo, hi, x_inf):
    """Log time axis from ``lo`` to the ``inf`` slot: labelled ticks every second decade,
    ``∞`` at the slot, a grey band for the break."""
    ax.set_xscale("log")
    ax.set_xlim(lo / 2, x_inf * 2.5)
    decades = np.arange(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1)
    ticks = [10.0 ** k for k in decades if k % 2 == 1]
    ax.xaxis.set_major_locator(FixedLocator(ticks + [x_inf]))
    ax.set_xticklabels([_pow10(t) for t in ticks] + ["∞"])
    ax.xaxis.set_minor_locator(FixedLocator([10.0 ** k for k in decades if k % 2 == 0]))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axvspan(hi * 1.6, x_inf / 1.6, color="0.93", lw=0, zorder=0)
    ax.set_xlabel(r"training time $\tau$ (gradient flow)")


def _log_axis(axis, subs=(1.0, 2.0, 5.0)):
    from matplotlib.ticker import FuncFormatter

    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _setting_text(s: dict) -> str:
    m = "∞" if s["m"] in ("inf", math.inf) else f"{s['m']:g}"
    parts = [rf"$\psi_n$ = {s['psi_n']:g}"] if "psi_n" in s else []
    parts += [rf"$\psi_p$ = {s['psi_p']:g}", f"t = {s['t']:g}", f"λ = {s['lam']:g}",
              f"{s['activation']} features", f"m = {m}"]
    return ", ".join(parts)


def plot_dynamics(table, path):
    from matplotlib.lines import Line2D

    meta = table.meta
    s = meta["setting"]
    gs = [float(g) for g in meta["psi_d"]]
    colors = {g: COLORS[i] for i, g in enumerate(gs)}
    dense = [r["time"] for r in _rows(table, kind="theory") if 0 < r["time"] < math.inf]
    lo, hi = min(dense), max(dense)
    x_inf = hi * 100.0

    def x_of(r):
        return x_inf if not math.isfinite(r["time"]) else r["time"]

    def line(ax, rows, **kw):
        rows = sorted([r for r in rows if r["time"] > 0 and math.isfinite(r["time"])],
                      key=lambda r: r["time"])
        ax.plot([r["time"] for r in rows], [r["value"] for r in rows], **kw)
        conv = [r for r in _rows(table, kind="theory", series=rows[0]["series"],
                                 quantity=rows[0]["quantity"]) if math.isinf(r["time"])]
        if conv:
            ax.plot([x_inf], [conv[0]["value"]], marker="_", ms=9, mew=1.5,
                    color=kw.get("color"), alpha=kw.get("alpha", 1.0),
                    gid="no-se: theory at convergence")

    def points(ax, rows, color, marker):
        if rows:
            ax.errorbar([x_of(r) for r in rows], [r["value"] for r in rows],
                        yerr=[3 * r["se"] for r in rows], fmt=marker, color=color, ms=4.2,
                        mec="k", mew=0.5, elinewidth=1.0, capsize=2, zorder=6)

    models = list(meta.get("data", MANIFOLDS))
    fig, axes = new_figure(len(models), 2, width=3.7, height=2.9)
    for col, data in enumerate(models):
        top, bottom = axes[0][col], axes[1][col]
        iso = _rows(table, kind="theory", series="isotropic", quantity="test_error")
        line(top, iso, color=_ISO_COLOR, lw=1.2, ls="-.")
        for g in gs:
            series = _series(data, g)
            c = colors[g]
            line(top, _rows(table, kind="theory", series=series, quantity="test_error"),
                 color=c, lw=1.4)
            for q, mk in (("tau_star", "*"), ("tau_mem", "D")):
                r = _rows(table, kind="time scale", series=series, quantity=q)
                if r and r[0]["value"] is not None and math.isfinite(r[0]["time"]):
                    top.plot([r[0]["time"]], [r[0]["value"]], marker=mk,
                             ms=9 if mk == "*" else 4.5, color=c, mec="k", mew=0.5, zorder=7,
                             gid="no-se: theory")
            points(top, _rows(table, kind="simulation", series=series, quantity="test_error"),
                   c, "o")
            line(bottom, _rows(table, kind="theory", series=series, quantity="test_error_par"),
                 color=c, lw=1.4)
            line(bottom, _rows(table, kind="theory", series=series,
                               quantity="test_error_perp"), color=c, lw=1.2, ls="--")
            points(bottom, _rows(table, kind="simulation", series=series,
                                 quantity="test_error_par"), c, "o")
            points(bottom, _rows(table, kind="simulation", series=series,
                                 quantity="test_error_perp"), c, "s")
        for ax in (top, bottom):
            _time_axis(ax, lo, hi, x_inf)
            ax.set_yscale("log")
            _log_axis(ax.yaxis)
        top.set_ylim(0.08, 4.0)
        bottom.set_ylim(0.004, 2.0)
        letter = "ab"[col]
        top.set_title(f"({letter}) {_DATA_TITLE[data]}: test error", loc="left")
        bottom.set_title(f"({'cd'[col]}) {_DATA_TITLE[data]}: on (—) and off (--) manifold",
                         loc="left")
        top.set_ylabel(r"test error $L_{test}(\tau)$")
        bottom.set_ylabel(r"part of $L_{test}(\tau)$")
    d, k = meta["d"], len(meta["seeds"])
    subtitle(fig, f"training on manifold data: {_setting_text(s)}; "
             r"$\psi_D = D/d$; hidden manifold $x = \varphi(Mz/\sqrt{D})$, $\varphi$ = tanh")
    sim_g = ", ".join(f"{g:g}" for g in meta["sim_psi_d"])
    handles = [Line2D([], [], color=colors[g], lw=1.4, label=rf"$\psi_D$ = {g:g}") for g in gs]
    handles += [
        Line2D([], [], color=_ISO_COLOR, lw=1.2, ls="-.", label=r"isotropic data ($\psi_D$ = 1)"),
        Line2D([], [], color="0.3", lw=1.4, label="theory: total or on-manifold part"),
        Line2D([], [], color="0.3", lw=1.2, ls="--", label="theory: off-manifold part"),
        Line2D([], [], color="0.3", marker="*", ms=8, mec="k", mew=0.5, ls="none",
               label=r"$\tau^*$: smallest test error"),
        Line2D([], [], color="0.3", marker="D", ms=4, mec="k", mew=0.5, ls="none",
               label=r"$\tau_{mem}$: half of the rise made"),
        Line2D([], [], color="0.3", marker="o", mec="k", mew=0.5, ms=4, ls="none",
               label=rf"simulation ($\psi_D$ = {sim_g}): total / on-manifold"),
        Line2D([], [], color="0.3", marker="s", mec="k", mew=0.5, ms=4, ls="none",
               label="simulation: off-manifold"),
        Line2D([], [], color="none",
               label=f"(1/d-extrapolated from d = {d // 2}, {d}; {k} seeds; ±3 SE)")]
    shared_legend(fig, handles, [h.get_label() for h in handles], ncol=3)
    save(fig, path)


def plot_memorization(table, path):
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    meta = table.meta
    s = meta["setting"]
    gs = [float(g) for g in meta["psi_d"]]
    pns = [float(x) for x in meta["psi_n"]]
    colors = {g: COLORS[i] for i, g in enumerate(gs)}
    n_colors = {pn: plt.cm.viridis(0.8 * i / max(len(pns) - 1, 1)) for i, pn in enumerate(pns)}
    slopes = {r["series"]: r for r in _rows(table, kind="fit", quantity="tau_mem_slope")}

    def values(series, q):
        rs = {r["psi_n"]: r["value"] for r in _rows(table, kind="theory", series=series,
                                                    quantity=q)}
        x = [pn for pn in pns if rs.get(pn) is not None and math.isfinite(rs[pn])]
        return np.array(x), np.array([rs[pn] for pn in x])

    def log_axes(ax, ticks):
        ax.set_xscale("log")
        ax.set_yscale("log")
        value_ticks(ax, ticks, "x")
        ax.xaxis.set_minor_locator(FixedLocator([]))

    def legend(ax, handles, ncol=1):
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                  frameon=False, ncol=ncol, columnspacing=1.2)

    fig, axes = new_figure(2, 2, width=4.1, height=3.9)
    styles = (("tau_mem", "-", "o", 1.5), ("tau_star", "--", "^", 1.0),
              ("tau_gen", ":", "v", 1.0))
    for ax, data, letter in zip(axes[0], MANIFOLDS, "ab"):
        handles = []
        for series, c in [("isotropic", _ISO_COLOR)] + [(_series(data, g), colors[g])
                                                         for g in gs]:
            for q, ls, mk, lw in styles:
                x, y = values(series, q)
                ax.plot(x, y, ls=ls, marker=mk, ms=3.5, color=c, lw=lw)
            fit = slopes.get(series)
            x_fit = values(series, "tau_mem")[0]
            if fit is not None and fit["theory"] is not None and len(x_fit) > 1:
                xf = np.array([x_fit[0], x_fit[-1]])
                ax.plot(xf, fit["theory"] * xf ** fit["value"], color=c, lw=3.5, alpha=0.2)
            missing = [pn for pn in pns if pn not in set(x_fit)]
            name = "isotropic" if series == "isotropic" else \
                rf"$\psi_D$ = {series.split('psi_d=')[1]}"
            slope = "n/a" if fit is None else f"{fit['value']:.2f}"
            label = rf"{name}: $\tau_{{mem}} \propto \psi_n^{{{slope}}}$"
            if missing:
                label += rf" ($\psi_n$ = {', '.join(f'{x:g}' for x in missing)} not solved)"
            handles.append(Line2D([], [], color=c, lw=1.5, marker="o", ms=3.5, label=label))
        if letter == "a":   # what the line styles mean, once
            handles += [
                Line2D([], [], color="0.3", ls="-", marker="o", ms=3.5, lw=1.5,
                       label=r"$\tau_{mem}$: half of the test error's rise made"),
                Line2D([], [], color="0.3", ls="--", marker="^", ms=3.5,
                       label=r"$\tau^*$: smallest test error"),
                Line2D([], [], color="0.3", ls=":", marker="v", ms=3.5,
                       label=r"$\tau_{gen}$: 90 % of the drop made")]
        else:
            handles += [Patch(color="0.3", alpha=0.2, lw=0,
                              label=r"log-log fit of $\tau_{mem}$"),
                        Line2D([], [], color="k", lw=0.9, ls=(0, (1, 2)),
                               label=r"slope 1 ($\tau_{mem} \propto n$)")]
        # a slope-1 guide between the tau_mem and the tau* groups
        xr = np.array([pns[0], pns[-1]])
        y0 = 0.4 * values("isotropic", "tau_mem")[1][0]
        ax.plot(xr, y0 * xr / xr[0], color="k", lw=0.9, ls=(0, (1, 2)))
        log_axes(ax, pns)
        ax.set_xlabel(r"$\psi_n = n/d$ (training points per dimension)")
        ax.set_ylabel(r"time $\tau$ (gradient flow)")
        ax.set_title(rf"({letter}) {_DATA_TITLE[data]}: $\tau_{{mem}}$ (—), $\tau^*$ (--), "
                     r"$\tau_{gen}$ (··)", loc="left")
        legend(ax, handles, ncol=2)
    lo = min(a.get_ylim()[0] for a in axes[0])
    hi = max(a.get_ylim()[1] for a in axes[0])
    for a in axes[0]:     # one scale for both data models
        a.set_ylim(lo, max(hi, 150.0))
    ax = axes[1][0]
    handles = []
    for pn in pns:
        c = n_colors[pn]
        for data, ls, mk in (("linear-manifold", "-", "o"), ("hidden-manifold", "--", "s")):
            pts = [(g, r["value"]) for g in gs for r in _rows(
                table, kind="theory", series=_series(data, g), quantity="tau_mem", psi_n=pn)]
            pts = [(g, v) for g, v in pts if v is not None and math.isfinite(v)]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], ls=ls, marker=mk, ms=3.5,
                    color=c, lw=1.3)
        iso = _rows(table, kind="theory", series="isotropic", quantity="tau_mem", psi_n=pn)
        if iso:
            ax.plot([1.0], [iso[0]["value"]], marker="*", ms=9, color=c, mec="k", mew=0.5,
                    gid="no-se: theory")
        handles.append(Line2D([], [], color=c, lw=1.3, label=rf"$\psi_n$ = {pn:g}"))
    handles += [Line2D([], [], color="0.3", ls="-", marker="o", ms=3.5, label="linear manifold"),
                Line2D([], [], color="0.3", ls="--", marker="s", ms=3.5,
                       label="hidden manifold"),
                Line2D([], [], color="0.3", marker="*", ms=8, mec="k", mew=0.5, ls="none",
                       label=r"isotropic ($\psi_D$ = 1)")]
    log_axes(ax, gs + [1.0])
    ax.set_xlim(min(gs) / 1.5, 1.5)
    ax.set_xlabel(r"$\psi_D = D/d$ (intrinsic dimension D of the manifold)")
    ax.set_ylabel(r"memorization time $\tau_{mem}$")
    ax.set_title(r"(c) $\tau_{mem}$ against $\psi_D$ at fixed $\psi_n$", loc="left")
    legend(ax, handles, ncol=3)
    ax = axes[1][1]
    handles = []
    x_all = []
    for series, c, ls, mk in [("isotropic", _ISO_COLOR, "-", "*")] + [
            (_series(data, g), colors[g], ls, mk) for data, ls, mk in
            (("linear-manifold", "-", "o"), ("hidden-manifold", "--", "s")) for g in gs]:
        g = 1.0 if series == "isotropic" else float(series.split("psi_d=")[1])
        x, y = values(series, "tau_mem")
        x_all += list(x / g)
        ax.plot(x / g, y, ls=ls, marker=mk, ms=6 if mk == "*" else 3.5, color=c, lw=1.3)
    handles += [Line2D([], [], color=colors[g], lw=1.3, label=rf"$\psi_D$ = {g:g}") for g in gs]
    handles += [Line2D([], [], color=_ISO_COLOR, marker="*", ms=6, lw=1.3, label="isotropic"),
                Line2D([], [], color="0.3", ls="-", marker="o", ms=3.5, label="linear manifold"),
                Line2D([], [], color="0.3", ls="--", marker="s", ms=3.5,
                       label="hidden manifold")]
    ticks = [2.0 ** k for k in range(int(math.log2(min(x_all))), int(math.log2(max(x_all))) + 1)
             if k % 1 == 0]
    log_axes(ax, ticks[::2] if len(ticks) > 6 else ticks)
    ax.set_xlabel(r"$n/D = \psi_n/\psi_D$ (training points per manifold dimension)")
    ax.set_ylabel(r"memorization time $\tau_{mem}$")
    ax.set_title(r"(d) $\tau_{mem}$ against n/D", loc="left")
    legend(ax, handles, ncol=3)
    subtitle(fig, f"memorization time on manifold data (theory): {_setting_text(s)}; "
             r"hidden manifold $x = \varphi(Mz/\sqrt{D})$, $\varphi$ = tanh")
    save(fig, path)


BUILDERS = {
    "rf-dynamics-manifolds": build_dynamics,
    "rf-memorization-vs-dimension": build_memorization,
}
PLOTTERS = {
    "rf-dynamics-manifolds": plot_dynamics,
    "rf-memorization-vs-dimension": plot_memorization,
}

#: The gallery figures of this module (:mod:`lowdim.compare.figures`).
FIGURES = (
    FigureSpec(
        "rf-dynamics-manifolds", "Test error along training on linear and hidden manifolds",
        THIS_PACKAGE,
        "On manifold data the test error along gradient flow falls to a minimum and then "
        "rises as the model memorizes, as on isotropic data; the rise is mostly on-manifold "
        "and smaller, in absolute terms, for a lower-dimensional manifold. Theory against "
        "simulation for the total, on- and off-manifold test errors.",
        build_dynamics, plot_dynamics),
    FigureSpec(
        "rf-memorization-vs-dimension", "Memorization time against n and the intrinsic "
        "dimension", THIS_PACKAGE,
        "At m = inf the memorization time tau_mem grows nearly like n on isotropic data "
        "(BUBM25). On linear and hidden manifolds it grows more slowly with n (log-log "
        "slopes per psi_d = D/d): it is nearly a function of n/D, which bends over as n/D "
        "grows, so a lower-dimensional manifold memorizes later.",
        build_memorization, plot_memorization),
)
