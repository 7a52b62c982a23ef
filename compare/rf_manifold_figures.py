"""Figures of the random-features learning curves on manifold data (George-Macris 2026).

Same conventions as :mod:`lowdim.compare.rf_figures`: a builder returns a tidy table of theory
rows (dense curves) and simulation rows (measured points with standard errors, the theory
at the simulated m and a verdict), and a plotter draws from that table alone.  The seed
paper's figure parameters could not be read (research note rf_learning_curves.md section
4.2); the settings below are ours and are recorded in each figure's metadata.
"""
from __future__ import annotations

import math

import numpy as np

from lowdim.simulate.rf import RFSize
from lowdim.theory.processes import ou_coefficients
from lowdim.theory.rf import RFSetting, predict, sample_complexity

from .plots import (COLORS, LABELS, new_figure, overlay, save, shared_legend, subtitle,
                    tolerance_band, value_ticks)
from .progress import counted
from .rf import experiment, judge, simulate_points
from .rf_figures import (FIG_COLUMNS, PRESETS, _agreement, _band, _dot, _errors_with_residuals,
                         _finish, _line, _pretty, _residuals, _setting_line, _sim_rows, _size,
                         _TOL_PCT, _theory_rows, _with_residuals, plot_validation,
                         validation_rows)
from .registry import FigureSpec, THIS_PACKAGE
from .table import Table
from .verdict import Report, holds

__all__ = ["plot_sample_complexity_table", "BUILDERS", "PLOTTERS"]

COLUMNS = FIG_COLUMNS + ["data", "psi_d"]
_FINITE_SIZE_QUANTITIES = ("test_error", "test_error_par", "test_error_perp", "train_error",
                           "score_error")
_T, _LAM = 0.1, 1e-3
_PART_TITLES = {"test_error_par": "on-manifold test error",
                "test_error_perp": "off-manifold test error"}


def _theory(pred, panel, series, quantities):
    """:func:`lowdim.compare.rf_figures._theory_rows` plus the data model and ``psi_d`` columns."""
    s = pred.setting
    rows = _theory_rows(pred, panel, series, quantities)
    psi_d = np.repeat(np.broadcast_to(s.psi_d, s.shape).ravel(), len(quantities))
    for r, g in zip(rows, psi_d):
        r.update(data=s.data, psi_d=float(g))
    return rows


def _with(rows, **kw):
    for r in rows:
        r.update(kw)
    return rows


def _manifold_size(preset, device):
    """Manifold data need larger d than isotropic data (finite-size constants several times
    larger, figure gm26-hidden-finite-size): the quick preset runs at d = 200."""
    return _size(preset, device, d=max(PRESETS[preset]["d"], 200))


def _table(rows, meta):
    t = _finish(rows, meta)
    return Table(list(COLUMNS), t.rows, t.meta)


# =========================================================================== builders
def build_learning_curves(preset="quick", device="auto", progress=None):
    """Test (solid) and train (dashed) errors against psi_n; relu features, linear manifold,
    m = inf, for several psi_d, with the exact-score test error C_t (dotted)."""
    P = PRESETS[preset]
    psi_p = 4.0
    dense = np.geomspace(0.05, 50, P["dense"])
    rows = []
    for g in (0.1, 0.25, 0.5):
        pred = predict(RFSetting(psi_n=dense, psi_p=psi_p, t=_T, lam=_LAM, m=np.inf,
                                 activation="relu", data="linear-manifold", psi_d=g))
        rows += _theory(pred, f"psi_d={g:g}", "theory", ("test_error", "train_error"))
        c_t = np.broadcast_to(pred.exact_score_test_error, dense.shape)
        for r, c in zip(_theory(pred, f"psi_d={g:g}", "exact score", ("test_error",)), c_t):
            r.update(quantity="exact_score_test_error", value=float(c))
            rows.append(r)
    sim_n = [0.25, 1.0, 4.0] if preset == "quick" else [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    g = 0.25
    s = RFSetting(psi_n=np.array(sim_n), psi_p=psi_p, t=_T, lam=_LAM, m=np.inf,
                  activation="relu", data="linear-manifold", psi_d=g)
    tidy = experiment(s, _manifold_size(preset, device), sim_m=P["sim_m"], extrapolate=True,
                      progress=progress)
    rows += _with(_sim_rows(tidy, f"psi_d={g:g}", "simulation", ("test_error", "train_error")),
                  data="linear-manifold", psi_d=g)
    pred_m = predict(RFSetting(psi_n=dense, psi_p=psi_p, t=_T, lam=_LAM, m=P["sim_m"],
                               activation="relu", data="linear-manifold", psi_d=g))
    rows += _theory(pred_m, f"psi_d={g:g}", f"theory m={P['sim_m']}", ("test_error", "train_error"))
    return _table(rows, {"setting": {"psi_p": psi_p, "t": _T, "lam": _LAM, "m": "inf",
                                     "activation": "relu", "data": "linear-manifold"},
                         "sim_m": P["sim_m"], "x": "psi_n"})


def build_sample_complexity(preset="quick", device="auto", progress=None):
    """Left: on-manifold score error against n/D (collapse across psi_d).  Right: n* against D
    at fixed d = 1000 for linear and hidden manifolds (on-manifold and total criteria)."""
    P = PRESETS[preset]
    _, delta = ou_coefficients(_T)
    psi_p, eps = 16.0, 0.01
    rows = []
    ratio = np.geomspace(0.02, 500, P["dense"])
    for g in counted((0.05, 0.1, 0.2, 0.4), "collapse curve"):
        s = RFSetting(psi_n=ratio * g, psi_p=psi_p, t=_T, lam=_LAM, m=np.inf, activation="relu",
                      data="linear-manifold", psi_d=g)
        pred = predict(s)
        c_par = s.exact_score_test_error_par
        val = (pred.test_error_par - c_par) / delta
        for x, v, ok in zip(ratio, val, pred.converged):
            rows.append({"panel": "collapse", "kind": "theory", "series": f"psi_d={g:g}",
                         "psi_n": float(x * g), "psi_p": psi_p, "m": "inf", "t": _T, "lam": _LAM,
                         "activation": "relu", "data": "linear-manifold", "psi_d": g,
                         "quantity": "score_error_par", "value": float(v) if ok else None})
    d = 1000
    Ds = np.array([25, 50, 100, 200, 400])
    slopes = {}
    curves = [(data, crit) for data in ("linear-manifold", "hidden-manifold")
              for crit in ("par", "total")]
    for data, crit in counted(curves, "n* curve"):
        s = RFSetting(psi_n=1.0, psi_p=psi_p, t=_T, lam=_LAM, m=np.inf, activation="relu",
                      data=data, psi_d=Ds / d)
        res = sample_complexity(s, eps=eps, criterion=crit)
        n_star = res.psi_n_star * d
        ok = np.isfinite(n_star)
        slope = float(np.polyfit(np.log(Ds[ok]), np.log(n_star[ok]), 1)[0]) if ok.sum() > 1 \
            else float("nan")
        slopes[f"{data} {crit}"] = slope
        for D, n in zip(Ds, n_star):
            rows.append({"panel": "n_star", "kind": "theory", "series": f"{data} {crit}",
                         "psi_n": float(n / d) if np.isfinite(n) else None, "psi_p": psi_p,
                         "m": "inf", "t": _T, "lam": _LAM, "activation": "relu",
                         "data": data, "psi_d": float(D / d), "d": d, "quantity": "n_star",
                         "value": float(n) if np.isfinite(n) else None})
    text = ("slopes of log n* against log D at d=1000 (eps=0.01): " + ", ".join(
        f"{k}: {v:.2f}" for k, v in slopes.items()))
    table = Table(list(COLUMNS), rows, {
        "setting": {"psi_p": psi_p, "t": _T, "lam": _LAM, "m": "inf", "activation": "relu",
                    "eps": eps, "d": d},
        "summary": Report(text=text).summary(slopes=slopes)})   # theory only: no check
    return table


def build_score_errors(preset="quick", device="auto", progress=None):
    """Score error against psi_n for linear and hidden (tanh) manifolds at t = 0.001 and
    t = 0.1 (the seed paper's Figure 2), relu features, m = inf, several psi_d; simulations
    at psi_d = 0.25 (hidden manifold: test error minus a GAMP estimate of C_t, over Delta)."""
    P = PRESETS[preset]
    psi_p = 4.0
    dense = np.geomspace(0.05, 50, P["dense"])
    sim_n = [0.25, 1.0, 4.0] if preset == "quick" else [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    sim_t = (0.1,) if preset == "quick" else (0.001, 0.1)
    g_sim = 0.25
    rows = []
    for data in ("linear-manifold", "hidden-manifold"):
        extra = {"manifold_activation": "tanh"} if data == "hidden-manifold" else {}
        for t in (0.001, 0.1):
            for g in (0.1, 0.25, 0.5):
                pred = predict(RFSetting(psi_n=dense, psi_p=psi_p, t=t, lam=_LAM, m=np.inf,
                                         activation="relu", data=data, psi_d=g, **extra))
                rows += _theory(pred, data, f"psi_d={g:g}, t={t:g}", ("score_error",))
            if t not in sim_t:
                continue
            s = RFSetting(psi_n=np.array(sim_n), psi_p=psi_p, t=t, lam=_LAM, m=np.inf,
                          activation="relu", data=data, psi_d=g_sim, **extra)
            tidy = experiment(s, _manifold_size(preset, device), sim_m=P["sim_m"],
                              extrapolate=True, progress=progress)
            rows += _with(_sim_rows(tidy, data, f"simulation, t={t:g}", ("score_error",)),
                          data=data, psi_d=g_sim)
            pred_m = predict(RFSetting(psi_n=dense, psi_p=psi_p, t=t, lam=_LAM, m=P["sim_m"],
                                       activation="relu", data=data, psi_d=g_sim, **extra))
            rows += _theory(pred_m, data, f"theory m={P['sim_m']}, t={t:g}", ("score_error",))
    return _table(rows, {"setting": {"psi_p": psi_p, "lam": _LAM, "m": "inf",
                                     "activation": "relu", "manifold_activation": "tanh"},
                         "sim_m": P["sim_m"], "sim_psi_d": g_sim, "x": "psi_n"})


def build_hidden_manifold(preset="quick", device="auto", progress=None):
    """Test (solid) and train (dashed) errors against psi_p for relu features on a tanh hidden
    manifold, theory against simulation (m = 1 and m = 4)."""
    P = PRESETS[preset]
    g, psi_n = 0.3, 2.0
    dense = np.geomspace(0.1, 64, P["dense"])
    sim_pp = [0.25, 1.0, 4.0, 16.0] if preset == "quick" else [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
    rows = []
    for m in (1, 4):
        kw = dict(psi_n=psi_n, t=_T, lam=_LAM, m=m, activation="relu", data="hidden-manifold",
                  psi_d=g, manifold_activation="tanh")
        pred = predict(RFSetting(psi_p=dense, **kw))
        rows += _theory(pred, f"m={m}", "theory", ("test_error", "train_error"))
        tidy = experiment(RFSetting(psi_p=np.array(sim_pp), **kw), _manifold_size(preset, device),
                          sim_m=P["sim_m"], extrapolate=True, progress=progress)
        rows += _with(_sim_rows(tidy, f"m={m}", "simulation", ("test_error", "train_error")),
                      data="hidden-manifold", psi_d=g)
    return _table(rows, {"setting": {"psi_n": psi_n, "t": _T, "lam": _LAM, "psi_d": g,
                                     "activation": "relu", "manifold_activation": "tanh"},
                         "x": "psi_p"})


def build_hidden_finite_size(preset="quick", device="auto", progress=None):
    """Relative deviation of hidden-manifold simulations from the theory against d."""
    ds = (100, 200, 400) if preset == "quick" else (100, 200, 400, 800)
    n_seeds = {100: 8, 200: 6, 400: 4, 800: 3} if preset == "quick" else \
        {100: 16, 200: 12, 400: 8, 800: 6}
    cases = [("relu", 1, 4.0), ("relu", 4, 1.0), ("tanh", 1, 0.5)]
    g, psi_n = 0.3, 2.0
    rows = []
    gaps = {}
    settings = [RFSetting(psi_n=psi_n, psi_p=pp, t=_T, lam=_LAM, m=m, activation=act,
                          data="hidden-manifold", psi_d=g, manifold_activation="tanh")
                for act, m, pp in cases]
    measured = iter(simulate_points(
        [(s, RFSize(d=d, seeds=tuple(range(n_seeds[d])), n_test=2048, device=device))
         for s in settings for d in ds], progress=progress))
    for (act, m, pp), s in zip(cases, settings):
        pred = predict(s)
        series = f"{act}, m={m}, psi_p={pp:g}"
        for d in ds:
            meas = next(measured)
            for q in _FINITE_SIZE_QUANTITIES:
                th = float(getattr(pred, q))
                se = meas.uncertainty(q)
                check = judge(th, meas.mean[q], se, meas.dof(q), meas.n_seeds, name=q)
                rows.append({"panel": q, "kind": "simulation", "series": series, "psi_n": psi_n,
                             "psi_p": pp, "m": m, "t": _T, "lam": _LAM, "activation": act,
                             "data": "hidden-manifold", "psi_d": g, "d": d, "quantity": q,
                             "value": meas.mean[q], "se": se, "theory": th, "sim_m": m,
                             "n_seeds": meas.n_seeds, "verdict": check.verdict,
                             "reason": check.reason})
                if d == ds[-1]:
                    gaps[f"{series} {q}"] = (meas.mean[q] - th) / th
    worst = max(gaps, key=lambda k: abs(gaps[k]))
    monotone = _monotone_approach(rows)
    n_mono = sum(monotone.values())
    text = (f"largest |rel. deviation| at d={ds[-1]}: {abs(gaps[worst]):.1%} ({worst}); "
            f"median {np.median(np.abs(list(gaps.values()))):.2%}; |deviation| non-increasing "
            f"in d (within 2 SE) for {n_mono}/{len(monotone)} series")
    # the figure's claim is the approach in d, not agreement at each d
    report = Report([holds(f"|deviation| non-increasing in d (within 2 SE): {k}", v)
                     for k, v in monotone.items()], text)
    return Table(list(COLUMNS), rows, {
        "setting": {"psi_n": psi_n, "psi_d": g, "t": _T, "lam": _LAM,
                    "manifold_activation": "tanh"},
        "summary": report.summary(gaps_at_largest_d=gaps,
                                  monotone={k: bool(v) for k, v in monotone.items()})})


def _monotone_approach(rows):
    """Per (series, quantity): does ``|sim - theory|`` not grow from one d to the next, up to
    two standard errors of the difference of the two measurements?"""
    out = {}
    for key in sorted({(r["series"], r["quantity"]) for r in rows}):
        rs = sorted([r for r in rows if (r["series"], r["quantity"]) == key],
                    key=lambda r: r["d"])
        ok = True
        for a, b in zip(rs, rs[1:]):
            grow = abs(b["value"] - b["theory"]) - abs(a["value"] - a["theory"])
            ok &= grow <= 2.0 * math.hypot(a["se"], b["se"])
        out[f"{key[0]} {key[1]}"] = ok
    return out


def _validation_grid(preset):
    grid = dict(datas=(("linear-manifold", 0.25), ("subspace", 0.25)), acts=("tanh", "relu"),
                ms=(1, 4, 32), pps=(0.5, 4.0))
    if preset == "quick":
        return dict(grid, ts=(0.1,), d=200, seeds=tuple(range(6)))
    return dict(grid, ts=(0.01, 0.1, 1.0), d=400, seeds=tuple(range(8)))


def build_validation(preset="quick", device="auto", progress=None):
    """Validation table on manifold data: linear manifold and subspace, tanh and relu features,
    m in {1, 4, 32}, psi_p in {0.5, 4}, psi_n = 2, psi_d = 0.25 (t = 0.1; the paper preset
    adds t = 0.01 and 1); raw values at d and the 1/d extrapolation from d/2."""
    g = _validation_grid(preset)
    psi_n = 2.0
    rows = validation_rows(g, device, progress, datas=g["datas"], psi_n=psi_n, lam=_LAM)
    return _table(rows, {"grid": dict(g), "psi_n": psi_n, "lam": _LAM})


# =========================================================================== plotters
def _rows(table, **eq):
    return [r for r in table.rows if all(r.get(k) == v for k, v in eq.items())]


def _xy(rows, x):
    rows = sorted([r for r in rows if r[x] is not None], key=lambda r: r[x])
    return (np.array([r[x] for r in rows], float),
            np.array([np.nan if r["value"] is None else r["value"] for r in rows], float), rows)


def _log_floor(ax, curves, factor=0.3):
    """Start a log y axis ``factor`` below the lowest of ``curves`` (the curves the panel is
    about); a line that falls further leaves the panel at the bottom."""
    low = min(np.nanmin(y) for y in curves if np.isfinite(y).any())
    ax.set_ylim(bottom=low * factor)


def plot_learning_curves(table, path):
    fig, axes = _with_residuals(1, width=4.6, height=2.7)
    ax, res = axes[0, 0], axes[1, 0]
    panels = sorted({r["panel"] for r in table.rows}, key=lambda p: float(p.split("=")[1]))
    sim_m = d = None
    main = []
    for col, panel in zip(COLORS, panels):
        for q, ls, mk in (("test_error", "-", "o"), ("train_error", "--", "s")):
            x, y, _ = _xy(_rows(table, panel=panel, kind="theory", series="theory", quantity=q),
                          "psi_n")
            ax.plot(x, y, color=col, ls=ls, label=panel.split("=")[1] if ls == "-" else None)
            main.append(y)
            xs, ys, rs = _xy(_rows(table, panel=panel, kind="simulation", quantity=q), "psi_n")
            if len(xs):
                overlay(ax, [], [], color=col, x_sim=xs, y_sim=ys, se_sim=[r["se"] for r in rs],
                        marker=mk)
                _residuals(res, rs, "psi_n", color=col, marker=mk)
                d = rs[0]["d"]
            extra = [r for r in _rows(table, panel=panel, kind="theory", quantity=q)
                     if r["series"].startswith("theory m=")]
            if extra:
                xe, ye, _ = _xy(extra, "psi_n")
                ax.plot(xe, ye, color=col, lw=0.8, ls="-.")
                sim_m = extra[0]["series"].split("=", 1)[1]
        x, y, _ = _xy(_rows(table, panel=panel, series="exact score"), "psi_n")
        ax.plot(x, y, color=col, ls=":", lw=1.0)
        main.append(y)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_floor(ax, main)
    ax.set_ylabel("error")
    ax.set_title("solid: test error, dashed: train error,\ndotted: exact-score test error $C_t$")
    ax.legend(title=r"$\psi_D$ = D/d")
    tolerance_band(res, _TOL_PCT)
    res.set_title(_agreement(_rows(table, kind="simulation")), loc="left", fontsize=6.5, pad=2)
    res.set_xlabel(LABELS["psi_n"])
    handles = [_line(ls="-.", lw=0.8), _dot("o"), _dot("s"), _dot(filled=True), _band()]
    labels = [f"theory at the simulated m = {sim_m}", f"test, simulated at d = {d}",
              "train, simulated (±3 SE)", "filled: d → ∞ (1/d extrap.)", "±3 % tolerance"]
    shared_legend(fig, handles, labels, ncol=2)
    s = table.meta.get("setting", {})
    subtitle(fig, "linear manifold, " + _setting_line(s, "m", "psi_p", "t", "lam"))
    save(fig, path)


def plot_sample_complexity(table, path):
    fig, axes = new_figure(2, 1, width=4.3, height=3.4)
    ax = axes[0][0]
    collapse = _rows(table, panel="collapse")
    for col, series in zip(COLORS, sorted({r["series"] for r in collapse},
                                          key=lambda s: float(s.split("=")[1]))):
        rs = _rows(table, panel="collapse", series=series)
        x = np.array([r["psi_n"] / r["psi_d"] for r in rs])
        y = np.array([np.nan if r["value"] is None else r["value"] for r in rs])
        ax.plot(x, y, color=col, label=series.split("=")[1])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n / D  (samples per intrinsic dimension)")
    ax.set_ylabel("on-manifold score error")
    ax.set_title("(a) linear manifold: collapse against n/D")
    ax.legend(title=r"$\psi_D$ = D/d", loc="lower left")
    ax = axes[0][1]
    slopes = table.meta.get("summary", {}).get("slopes", {})
    names = {"linear-manifold": "linear", "hidden-manifold": "hidden (tanh)"}
    styles = {"par": ("-", "o", "on-manifold"), "total": ("--", "s", "whole")}
    Ds = sorted({r["psi_d"] * r["d"] for r in _rows(table, panel="n_star")})
    first = None
    for col, data in zip(COLORS, names):
        for crit, (ls, mk, what) in styles.items():
            rs = sorted(_rows(table, panel="n_star", series=f"{data} {crit}"),
                        key=lambda r: r["psi_d"])
            x = np.array([r["psi_d"] * r["d"] for r in rs])
            y = np.array([np.nan if r["value"] is None else r["value"] for r in rs])
            first = y[0] if first is None else first
            slope = slopes.get(f"{data} {crit}", float("nan"))
            ax.plot(x, y, color=col, ls=ls, marker=mk, ms=3.5,
                    label=f"{names[data]}, {what} error: slope {slope:.2f}")
    ax.plot(Ds, 0.5 * first * np.array(Ds) / Ds[0], color="k", lw=0.8, ls=":", label="∝ D")
    ax.set_xscale("log")
    ax.set_yscale("log")
    value_ticks(ax, Ds)
    s = table.meta.get("setting", {})
    ax.set_xlabel(f"intrinsic dimension D (d = {s.get('d', 1000)})")
    ax.set_ylabel(f"n* (samples to {s.get('eps', 0.01):.0%} excess error)")
    ax.set_title("(b) sample complexity n* against D")
    ax.legend(loc="upper left")
    subtitle(fig, _setting_line(s, "m", "psi_p", "t", "lam")
             + "; n*: relative excess error (L(n) − L(∞))/(L(0) − L(∞)) = "
             + f"{s.get('eps', 0.01):.0%}")
    save(fig, path)


def plot_score_errors(table, path):
    fig, axes = _with_residuals(2, width=4.3, height=2.5)
    titles = {"linear-manifold": "(a) linear manifold, φ(x) = x",
              "hidden-manifold": "(b) hidden manifold, φ = tanh"}
    g_sim = table.meta.get("sim_psi_d", 0.25)
    sim_m = d = None
    sim_ts = set()
    for j, panel in enumerate(("linear-manifold", "hidden-manifold")):
        ax, res = axes[0, j], axes[1, j]
        gs = sorted({r["psi_d"] for r in _rows(table, panel=panel, kind="theory")
                     if r["series"].startswith("psi_d=")})
        for col, g in zip(COLORS, gs):
            for t, ls in ((0.001, "-"), (0.1, "--")):
                x, y, _ = _xy(_rows(table, panel=panel, series=f"psi_d={g:g}, t={t:g}"), "psi_n")
                ax.plot(x, y, color=col, ls=ls, label=f"{g:g}" if ls == "-" else None)
        sim_col = COLORS[gs.index(g_sim)] if g_sim in gs else "k"
        sims = _rows(table, panel=panel, kind="simulation")
        for series in sorted({r["series"] for r in sims}):
            t = float(series.split("t=")[1])
            sim_ts.add(t)
            xs, ys, rs = _xy(_rows(table, panel=panel, series=series), "psi_n")
            mk = "s" if t < 0.01 else "o"
            overlay(ax, [], [], color=sim_col, x_sim=xs, y_sim=ys, se_sim=[r["se"] for r in rs],
                    marker=mk)
            _residuals(res, rs, "psi_n", color=sim_col, marker=mk)
            sim_m, d = rs[0]["sim_m"], rs[0]["d"]
            xe, ye, _ = _xy(_rows(table, panel=panel, series=f"theory m={sim_m}, t={t:g}"),
                            "psi_n")
            if len(xe):
                ax.plot(xe, ye, color=sim_col, lw=0.8, ls="-.")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("score error")
        ax.set_title(titles[panel])
        tolerance_band(res, _TOL_PCT)
        res.set_title(_agreement(sims), loc="left", fontsize=6.5, pad=2)
        res.set_xlabel(LABELS["psi_n"])
    axes[0, 0].legend(title=r"$\psi_D$ = D/d")
    handles = [_line("k", "-"), _line("k", "--"), _line(ls="-.", lw=0.8)]
    labels = ["t = 0.001", "t = 0.1", f"theory at the simulated m = {sim_m}"]
    for t in sorted(sim_ts, reverse=True):
        handles.append(_dot("s" if t < 0.01 else "o"))
        labels.append(rf"simulation, $\psi_D$ = {g_sim:g}, t = {t:g}, d = {d} (±3 SE)")
    handles += [_dot(filled=True), _band()]
    labels += ["filled: 1/d extrapolation, d → ∞", "±3 % (verdict: max(k SE, 3 %))"]
    shared_legend(fig, handles, labels, ncol=3)
    subtitle(fig, _setting_line(table.meta.get("setting", {}), "m", "psi_p", "lam")
             + r"; hidden manifold simulated as (test error − GAMP estimate of $C_t$)/$\Delta_t$")
    save(fig, path)


def plot_hidden_manifold(table, path):
    s = table.meta.get("setting", {})
    psi_n = s.get("psi_n", 2.0)
    _errors_with_residuals(
        table, path, ("m=1", "m=4"), titles=["(a) m = 1", "(b) m = 4"],
        threshold=lambda panel: psi_n * int(panel.split("=")[1]),
        threshold_label=r"$\psi_p = m\,\psi_n$ (interpolation threshold)",
        setting=f"hidden manifold φ = {s.get('manifold_activation', 'tanh')}, "
                + _setting_line(s, "psi_d", "psi_n", "t", "lam"))


def _gap_text(summary, d) -> str:
    """The summary of gm26-hidden-finite-size in a few short lines."""
    gaps = summary.get("gaps_at_largest_d", {})
    mono = summary.get("monotone", {})
    if not gaps:
        return ""
    worst = max(gaps, key=lambda k: abs(gaps[k]))
    series, q = worst.rsplit(" ", 1)
    name = _PART_TITLES.get(q) or LABELS.get(q, q.replace("_", " "))
    return (f"at d = {d}: largest |deviation|\n{abs(gaps[worst]):.1%} ({name};\n"
            f"{_pretty(series)}),\nmedian {np.median(np.abs(list(gaps.values()))):.2%};\n"
            f"|deviation| non-increasing in d\n(within 2 SE) for {sum(mono.values())}/{len(mono)}"
            " series")


def plot_hidden_finite_size(table, path):
    panels = _FINITE_SIZE_QUANTITIES
    fig, axes = new_figure(3, 2, width=3.0, height=2.3)
    ds = sorted({r["d"] for r in table.rows})
    series = sorted({r["series"] for r in table.rows})
    flat = list(axes.ravel())
    for letter, ax, q in zip("abcdefgh", flat, panels):
        for col, s in zip(COLORS, series):
            rs = sorted(_rows(table, panel=q, series=s), key=lambda r: r["d"])
            x = np.array([r["d"] for r in rs], float)
            y = np.array([(r["value"] - r["theory"]) / r["theory"] for r in rs])
            e = np.array([3 * r["se"] / abs(r["theory"]) for r in rs])
            ax.errorbar(x, 100 * y, yerr=100 * e, color=col, marker="o", ms=3.5,
                        markerfacecolor="white", label=_pretty(s.replace(",", " features,", 1)))
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xscale("log")
        value_ticks(ax, ds)
        ax.set_xlabel("dimension d")
        ax.set_ylabel("sim/theory − 1 [%]")
        ax.set_title(f"({letter}) " + (_PART_TITLES.get(q) or LABELS.get(q, q.replace("_", " "))))
    key = flat[len(panels)]
    key.set_axis_off()
    key.text(0.0, 0.5, _gap_text(table.meta.get("summary", {}), ds[-1]), fontsize=7,
             transform=key.transAxes, va="center", ha="left")
    shared_legend(fig, axes=flat[:1], ncol=len(series))
    subtitle(fig, "hidden manifold φ = tanh, "
             + _setting_line(table.meta.get("setting", {}), "psi_d", "psi_n", "t", "lam")
             + "; bars ±3 SE")
    save(fig, path)


BUILDERS = {
    "gm26-learning-curves": build_learning_curves,
    "gm26-score-errors": build_score_errors,
    "gm26-sample-complexity": build_sample_complexity,
    "gm26-hidden-manifold": build_hidden_manifold,
    "gm26-hidden-finite-size": build_hidden_finite_size,
    "gm26-validation": build_validation,
}
PLOTTERS = {
    "gm26-learning-curves": plot_learning_curves,
    "gm26-score-errors": plot_score_errors,
    "gm26-sample-complexity": plot_sample_complexity,
    "gm26-hidden-manifold": plot_hidden_manifold,
    "gm26-hidden-finite-size": plot_hidden_finite_size,
    "gm26-validation": plot_validation,
}


def plot_sample_complexity_table(table, path):
    """``lowdim rf sample-complexity --plot``: n* against the intrinsic dimension D (one
    line per ambient d and setting), or psi_n* against psi_D = D/d when only ratios were
    given; log-log, so a line of slope 1 is n* proportional to D."""
    from .rf_figures import _SYMBOL, _setting_text, _value

    rows = [r for r in table.rows if r.get("psi_n_star") is not None]
    by_dims = any(r.get("d") is not None for r in table.rows)
    x_key, y_key = ("D", "n_star") if by_dims else ("psi_d", "psi_n_star")
    keys = ("psi_p", "m", "t", "lam") + (("d",) if by_dims else ())
    varying = [k for k in keys if len({r.get(k) for r in table.rows}) > 1]
    series: dict = {}
    for r in rows:
        label = ", ".join(f"{_SYMBOL.get(k, k)} = {_value(r[k])}" for k in varying)
        series.setdefault(label, []).append((float(r[x_key]), float(r[y_key])))
    fig, axes = new_figure(1, 1, width=4.6, height=3.4)
    ax = axes[0][0]
    for col, (label, pts) in zip(COLORS * (len(series) // len(COLORS) + 1), series.items()):
        pts = sorted(set(pts))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=col, marker="o", ms=3.5,
                label=label or None)
    if not series:
        ax.text(0.5, 0.5, "no setting reached the target error", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("intrinsic dimension D" if by_dims else r"$\psi_D = D/d$")
    ax.set_ylabel("n* (samples to the target error)" if by_dims else r"$\psi_n^* = n^*/d$")
    ax.set_title(rf"sample complexity ($\varepsilon$ = {table.meta.get('eps', float('nan')):g})")
    if varying:
        ax.legend()
    subtitle(fig, _setting_text(table.rows, set(varying) | {"psi_d", "psi_n"}))
    save(fig, path)


# --------------------------------------------------------------------------- gallery
_GM26 = "GM26"  # George, Macris 2026, arXiv:2603.22962
_PROJ = THIS_PACKAGE

#: The gallery figures of this module (:mod:`lowdim.compare.figures`).
FIGURES = (
    FigureSpec(
        "gm26-learning-curves", "Linear manifold: test and train errors against n/d", _GM26,
        "Test (solid) and train (dashed) errors of a relu random-features score on linear-manifold "
        "data, with the test error of the exact score (dotted); simulation at psi_d = 0.25.",
        build_learning_curves, plot_learning_curves),
    FigureSpec(
        "gm26-score-errors", "Score errors on linear and non-linear manifolds", _GM26,
        "Score error of a relu random-features score against n/d at t = 0.001 (solid) and "
        "t = 0.1 (dashed) for several psi_d, linear and tanh manifolds; simulations at "
        "psi_d = 0.25 (hidden manifold: test error minus a GAMP estimate of C_t).",
        build_score_errors, plot_score_errors),
    FigureSpec(
        "gm26-sample-complexity", "Sample complexity scales with the intrinsic dimension", _GM26,
        "For linear manifolds the on-manifold score error collapses against n/D and n* grows "
        "like D at fixed d; on a non-linear (hidden) manifold the whole score error needs n ~ d.",
        build_sample_complexity, plot_sample_complexity),
    FigureSpec(
        "gm26-hidden-manifold", "Non-linear manifold: theory against simulation", _GM26,
        "relu features on a tanh hidden manifold: the Gaussian-equivalent theory meets the "
        "finite-size simulation.",
        build_hidden_manifold, plot_hidden_manifold),
    FigureSpec(
        "gm26-hidden-finite-size", "Hidden manifold: simulations approach the theory as d grows",
        _PROJ, "The deviation of hidden-manifold simulations from the Gaussian-equivalent theory "
        "shrinks with d; the gap at the largest d is stated.",
        build_hidden_finite_size, plot_hidden_finite_size),
    FigureSpec(
        "gm26-validation", "Validation table on manifold data: theory against simulation", _PROJ,
        "Linear-manifold and subspace data (psi_d = 0.25), tanh and relu features, m in {1, 4, 32}: "
        "simulation against theory within max(3 SE, 3 %), raw at d and after the 1/d "
        "extrapolation.",
        build_validation, plot_validation),
)
