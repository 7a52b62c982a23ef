"""Figures of MoLR-MoG (Yang et al. 2026): the three score models side by side, learning
curves against n (collapse in n / sum n_k d_k, flat in D) with the bound, the local rate of
gradient descent against its prediction, and the digits experiment.

Each builder returns a tidy table (``kind``: "theory" or "simulation"; ``panel, series, x, y,
se, note``) with a summary; each plotter draws from the table alone (sample clouds and image
grids travel in the table's metadata)."""
from __future__ import annotations

import time

import numpy as np
from matplotlib import ticker

from lowdim.theory.molrmog import BoundSetting, integrated_bound, local_hessian_spectrum

from . import molrmog as exp
from .molrmog_digits import build_digits, plot_digits
from .plots import (COLORS, MARKERS, PAPER_WIDTH, new_figure, save, shared_legend, subtitle,
                    value_ticks)
from .registry import FigureSpec
from .table import Table, figure_row
from .verdict import Check, Report, holds

__all__ = ["plot_bound_table", "build_generation", "plot_generation", "build_learning_curves",
           "plot_learning_curves", "build_gd_rate", "plot_gd_rate"]

COLUMNS = ["kind", "panel", "series", "x", "y", "se", "note"]
PRESETS = {
    "quick": {"n_train": 2048, "steps": 800, "n_eval": 1000, "n_samples": 1000, "sample_steps": 60,
              "lc_ns": [128, 512, 2048], "lc_seeds": [0, 1], "lc_steps": 300,
              "lc_configs": [{}, {"D": 64}, {"d": 8}],
              "gd_times": [0.05, 0.1, 0.2, 0.3, 0.5, 0.8], "gd_n_mc": 4000},
    "paper": {"n_train": 8192, "steps": 3000, "n_eval": 4000, "n_samples": 4000,
              "sample_steps": 200, "lc_ns": [64, 128, 256, 512, 1024, 2048, 4096, 8192],
              "lc_seeds": [0, 1, 2, 3], "lc_steps": 600,
              "lc_configs": [{}, {"D": 64}, {"D": 256}, {"d": 8}, {"n_modes": 8}],
              "gd_times": [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2], "gd_n_mc": 20000},
}
_MODEL_COLORS = {"latent MoG": COLORS[0], "latent Gaussian": COLORS[1], "generic": COLORS[2]}
_SHORT = {"latent MoG": "MoG", "latent Gaussian": "Gauss.", "generic": "generic"}


def _table(rows, meta, summary, t0):
    return Table(list(COLUMNS), rows, dict(meta, build_seconds=time.perf_counter() - t0,
                                           summary=summary))


# ----------------------------------------------------------------------------- generation
def build_generation(preset="quick", device="auto", progress=None):
    p = PRESETS[preset]
    t0 = time.perf_counter()
    spec = exp.make_spec()
    table, samples = exp.compare_models(spec, n_train=p["n_train"], steps=p["steps"],
                                        device=device, n_eval=p["n_eval"],
                                        n_samples=p["n_samples"], sample_steps=p["sample_steps"],
                                        progress=progress)
    rows = []
    for r in table.rows:
        err = r["_err"]
        for t, v, s in zip(err.t, err.rel, err.rel_se):
            rows.append(figure_row("simulation", "score", r["model"], t, v, s,
                                   note=f"{r['parameters']} parameters"))
    # a 2-D view of subspace 0: the plane of its first two mode means
    A = spec.bases[0]
    mu = spec.means[0]
    plane = np.linalg.qr(np.stack([mu[0], mu[1]], 1))[0]
    clouds = {}
    for name, xs in samples.items():
        z = xs.numpy() @ A @ plane
        keep = np.linalg.norm(xs.numpy() - (xs.numpy() @ A) @ A.T, axis=1) < 1.0
        clouds[name] = z[keep][:600].round(4).tolist()
    mod = {r["model"]: r for r in table.rows}
    mog, gau, gen = mod["latent MoG"], mod["latent Gaussian"], mod["generic"]
    report = Report([
        holds("MoG score error below Gaussian's / 5", mog["score_error"] < gau["score_error"] / 5,
              mog["score_error"], gau["score_error"] / 5),
        holds("MoG score error within 3 x generic's", mog["score_error"] <= 3 * gen["score_error"],
              mog["score_error"], 3 * gen["score_error"]),
        holds("MoG samples on a mode", mog["on_mode"] >= 0.9, mog["on_mode"], ">= 0.9")])
    report.text = (f"weighted score error MoG {mog['score_error']:.2g} ({mog['parameters']} "
                   f"params), Gaussian {gau['score_error']:.2g} ({gau['parameters']}), generic "
                   f"{gen['score_error']:.2g} ({gen['parameters']}); samples on a mode: "
                   f"{mog['on_mode']:.2f} / {gau['on_mode']:.2f} / {gen['on_mode']:.2f}")
    models = [{k: v for k, v in r.items() if not k.startswith("_")} for r in table.rows]
    return _table(rows, dict(table.meta, models=models, clouds=clouds), report.summary(), t0)


def _setting(meta) -> str:
    """``MoLR-MoG(D=16, K=2, d_k=[4, 4], n_k=[4, 4], r_k=[1, 1])`` in the paper's symbols."""
    spec = str(meta.get("spec", ""))
    return (spec.replace("MoLR-MoG(", "").rstrip(")").replace("=", " = ")
            .replace("d_k", "$d_k$").replace("n_k", "$n_k$").replace("r_k", "$r_k$"))


def plot_generation(table, path):
    import matplotlib.pyplot as plt

    from .plots import style

    style()
    fig = plt.figure(figsize=(PAPER_WIDTH["double"], 3.9))
    gs = fig.add_gridspec(2, 1, height_ratios=[1.15, 1.0])
    top = gs[0].subgridspec(1, 3, width_ratios=[1.8, 1, 1.1], wspace=0.6)
    ax = fig.add_subplot(top[0])
    for i, (name, color) in enumerate(_MODEL_COLORS.items()):
        rs = [r for r in table.rows if r["series"] == name]
        if not rs:
            continue
        ax.errorbar([r["x"] for r in rs], [max(r["y"], 1e-9) for r in rs],
                    yerr=[3 * r["se"] for r in rs], marker=MARKERS[i], ms=3.5, color=color,
                    label=f"{name}, {rs[0]['note'].replace('parameters', 'params')}")
    ax.set(xscale="log", yscale="log", xlabel="diffusion time t",
           ylabel="relative score error\n"
                  r"$E\|s - \nabla\log p_t\|^2 / E\|\nabla\log p_t\|^2$",
           title="(a) score error (3 SE bars within the markers)")
    ax.legend(loc="lower left")
    models = table.meta["models"]
    names = [m["model"] for m in models]
    xs = np.arange(len(models))
    ax = fig.add_subplot(top[1])
    on_mode = [m["on_mode"] for m in models]
    ax.bar(xs, on_mode, color=[_MODEL_COLORS[n] for n in names], width=0.6)
    for i, v in enumerate(on_mode):
        ax.text(i, v + 0.03, f"{v:.2f}", ha="center", va="bottom", fontsize=6.5)
    short = [_SHORT.get(n, n) for n in names]
    ax.set_xticks(xs, short)
    ax.tick_params(axis="x", labelsize=6.5)
    ax.set(ylim=(0, 1.18), ylabel="fraction of samples",
           title="(b) within 0.25 of a mode")
    ax.set_yticks([0, 0.5, 1])
    ax = fig.add_subplot(top[2])
    floor, floor_se = table.meta.get("mmd_floor"), table.meta.get("mmd_floor_se")
    if floor is not None:
        ax.axhspan(floor - 3 * floor_se, floor + 3 * floor_se, color=COLORS[7], alpha=0.25,
                   lw=0, label="data vs data, 3 SE")
    ax.axhline(0, color="0.3", lw=0.6)
    for i, m in enumerate(models):
        ax.errorbar(i, m["mmd"], yerr=3 * m["mmd_se"], fmt=MARKERS[i], ms=3.5,
                    color=_MODEL_COLORS[m["model"]])
    ax.set_xticks(xs, short)
    ax.tick_params(axis="x", labelsize=6.5)
    ax.set_xlim(-0.7, len(models) - 0.3)
    ax.set(ylabel="MMD$^2$ $\\times 10^3$ (unbiased\nestimate; can be < 0)",
           title="(c) MMD$^2$ to held-out data")
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{1e3 * v:g}"))
    ax.legend(loc="upper left", handlelength=1.0)
    clouds = table.meta["clouds"]
    first, bottom = None, gs[1].subgridspec(1, 4)
    for j, name in enumerate(["data", "latent MoG", "latent Gaussian", "generic"]):
        a = fig.add_subplot(bottom[j], sharex=first, sharey=first)
        first = first or a
        pts = np.asarray(clouds.get(name, []))
        if pts.size:
            a.scatter(pts[:, 0], pts[:, 1], s=1.5, alpha=0.5, lw=0,
                      color=_MODEL_COLORS.get(name, "#555555"))
        a.set_title(f"({chr(100 + j)}) {name}")
        a.set_xlabel("$z_1$")
        if j == 0:
            a.set_ylabel("$z_2$")
        else:
            a.tick_params(labelleft=False)
    subtitle(fig, f"{_setting(table.meta)}; n = {table.meta.get('n_train')}, "
                  f"{table.meta.get('steps')} steps; (d)\u2013(g): samples near subspace 1, "
                  "in the plane of two mode means")
    save(fig, path)


# ----------------------------------------------------------------------------- learning curves
def build_learning_curves(preset="quick", device="auto", progress=None):
    p = PRESETS[preset]
    t0 = time.perf_counter()
    rows_sim = exp.learning_curve(p["lc_configs"], p["lc_ns"] + [None], p["lc_seeds"],
                                  steps=p["lc_steps"], device=device, progress=progress)
    rows, slopes, report = [], {}, Report()
    groups = {}
    for r in rows_sim:
        groups.setdefault((r["D"], r["K"], r["d"], r["n_modes"]), []).append(r)
    for (D, K, d, nk), rs in groups.items():
        label = f"D={D}, d_k={d}, n_k={nk} (N2={rs[0]['N2']})"
        floor = [r["error"] for r in rs if r["n"] is None]
        ns = sorted({r["n"] for r in rs if r["n"] is not None})
        means = []
        for n in ns:
            e = np.array([r["error"] for r in rs if r["n"] == n])
            m, se = float(e.mean()), float(e.std(ddof=1) / np.sqrt(len(e))) if len(e) > 1 else 0.0
            means.append(m)
            rows.append(figure_row("simulation", "curve", label, n, m, se, note=f"N2={rs[0]['N2']}"))
            R = max(r["R"] for r in rs if r["n"] == n)
            setting = BoundSetting((nk,) * K, (d,) * K, R=R, B_mu=rs[0]["B_mu"])
            b = float(integrated_bound(setting, n, delta=exp.WINDOW[0], T=exp.WINDOW[1],
                                       weighting="gamma2", measure="log-uniform").value)
            rows.append(figure_row("theory", "bound", label, n, b))
            report.add(holds(f"bound >= error, {label}, n = {n}", b >= m, m, b))
        slope = float(np.polyfit(np.log(ns), np.log(means), 1)[0])
        slopes[label] = slope
        rows.append(figure_row("simulation", "floor", label, max(ns), float(np.mean(floor)),
                               note="infinite data (optimizer floor)"))
    text = ("fitted slopes " + ", ".join(f"{k}: {v:.2f}" for k, v in slopes.items())
            + f"; bound's n^-1/2; bound >= error everywhere: {'yes' if report.ok else 'NO'}")
    report.text = text
    return _table(rows, {"slopes": slopes, "configs": p["lc_configs"], "ns": p["lc_ns"],
                         "seeds": p["lc_seeds"], "steps": p["lc_steps"]}, report.summary(), t0)


def _curve_name(label: str) -> str:
    """``D=16, d_k=4, n_k=4 (N2=32)`` in the paper's symbols, without ``N2``."""
    return (label.split(" (")[0].replace("=", " = ").replace("d_k", "$d_k$")
            .replace("n_k", "$n_k$"))


def _plain_ticks(ax, values, axis="x"):
    """Ticks at ``values`` labelled as integers (``2048``, not ``2.05e+03``)."""
    value_ticks(ax, values, axis)
    getattr(ax, f"{axis}axis").set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))


def plot_learning_curves(table, path):
    from matplotlib.lines import Line2D

    fig, axes = new_figure(3, 1, width=4.0, height=3.7)
    (a, b, c) = axes[0]
    labels = list(dict.fromkeys(r["series"] for r in table.rows if r["panel"] == "curve"))
    ns, bounds, ratios = set(), [], []
    for i, lab in enumerate(labels):
        col, mk = COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]
        rs = [r for r in table.rows if r["series"] == lab and r["panel"] == "curve"]
        x = np.array([r["x"] for r in rs], dtype=float)
        y = np.array([r["y"] for r in rs], dtype=float)
        se = np.array([r["se"] or 0.0 for r in rs], dtype=float)
        ns.update(x)
        N2 = float(rs[0]["note"].split("=")[1])
        slope = table.meta["slopes"].get(lab)
        a.errorbar(x, y, yerr=3 * se, marker=mk, ms=3.5, color=col,
                   label=f"{_curve_name(lab)}: slope {slope:.2f}".replace("-", "\u2212"))
        fl = [r for r in table.rows if r["series"] == lab and r["panel"] == "floor"]
        if fl:
            a.axhline(fl[0]["y"], color=col, linestyle=":", linewidth=0.9)
        b.errorbar(x / N2, y / N2, yerr=3 * se / N2, marker=mk, ms=3.5, color=col)
        bd = {r["x"]: r["y"] for r in table.rows if r["series"] == lab and r["panel"] == "bound"}
        ratio = np.array([bd[v] for v in x]) / y
        bounds += list(bd.values())
        ratios += list(ratio)
        c.errorbar(x, ratio, yerr=3 * ratio * se / y, marker=mk, ms=3.5, color=col)
    # the bound's rate n^(-1/2), through the highest first point
    first = [r for r in table.rows if r["panel"] == "curve" and r["x"] == min(ns)]
    n_ref = np.array(sorted(ns), dtype=float)
    y0 = 1.15 * max(r["y"] for r in first)
    a.plot(n_ref, y0 * (n_ref / n_ref[0]) ** -0.5, color=COLORS[7], ls="--", lw=1.0)
    a.set(xscale="log", yscale="log", xlabel="training samples n",
          ylabel="weighted score error\n"
                 r"$\mathrm{mean}_t\,\gamma_t^2 E\|s - \nabla\log p_t\|^2$",
          title="(a) score error against n")
    _plain_ticks(a, n_ref)
    b.set(xscale="log", yscale="log", xlabel=r"$n\,/\,\Sigma_k n_k d_k$",
          ylabel=r"score error $/\ \Sigma_k n_k d_k$",
          title=r"(b) rescaled by $\Sigma_k n_k d_k$, the bound's variable")
    c.axhline(1.0, color="0.3", lw=0.8)
    c.text(n_ref[0], 1.6, "bound = error", fontsize=6.5, va="bottom", color="0.3")
    below = sum(r < 1 for r in ratios)
    c.set(xscale="log", yscale="log", xlabel="training samples n",
          ylim=(min(0.3, 0.3 * min(ratios)), None), ylabel="bound / measured error",
          title=rf"(c) bound ($\approx 10^{{{round(np.log10(np.median(bounds)))}}}$) over "
                + ("error: > 1 everywhere" if not below else f"error: < 1 at {below} points"))
    _plain_ticks(c, n_ref)
    handles, names = a.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", ls=":", lw=0.9),
                Line2D([], [], color=COLORS[7], ls="--", lw=1.0)]
    names += ["infinite data (optimizer floor)", r"$n^{-1/2}$, the bound's rate"]
    shared_legend(fig, handles, names, ncol=3)
    seeds = len(table.meta.get("seeds", [])) or "?"
    subtitle(fig, f"MoLR-MoG, K = 2 subspaces, rank-one modes; fits started at the true "
                  f"parameters, {table.meta.get('steps')} steps, {seeds} seeds per point; "
                  "3 SE bars")
    save(fig, path)


# ----------------------------------------------------------------------------- gradient descent
def build_gd_rate(preset="quick", device="auto", progress=None):
    p = PRESETS[preset]
    t0 = time.perf_counter()
    spec = exp.make_spec(**exp.GD_SPEC)
    gd = exp.gd_table(spec, p["gd_times"], n_mc=p["gd_n_mc"], progress=progress)
    rows = []
    dims = [spec.dims[k] for k in range(spec.K) for _ in range(spec.n_modes[k])]
    weights = [spec.subspace_weights[k] * spec.mode_weights[k][l]
               for k in range(spec.K) for l in range(spec.n_modes[k])]
    for t in np.geomspace(min(p["gd_times"]) * 0.8, max(p["gd_times"]) * 1.2, 60):
        for form in ("woodbury", "paper"):
            pred = local_hessian_spectrum(float(t), dims, weights, form=form)
            rows.append(figure_row("theory", "rate", f"theory ({form} expert)", t, 1 - pred.rate))
        rows.append(figure_row("theory", "separation", "separation ratio", t,
                               float(exp.separation_ratio(spec, float(t)))))
    for r in gd.rows:
        rows.append(figure_row("simulation", "rate", "measured (woodbury)", r["t"],
                               1 - r["rate_measured"],
                               note=r["verdict"] if r["counted"] else f"outside ({r['verdict']})"))
    inside = [r for r in gd.rows if r["counted"]]
    report = Report([Check(f"GD rate at t = {r['t']:g}", r["rate_measured"], r["rate_theory"],
                           verdict=r["verdict"], reason=r["reason"], counted=r["counted"])
                     for r in gd.rows])
    worst = max((r["rel_diff"] for r in inside), default=float("nan"))
    worst_speed = max((r["speed_rel_diff"] for r in inside), default=float("nan"))
    text = (f"separation >= {exp.GD_SEPARATION:g}: rate within {100 * worst:.2f} % of "
            f"(kappa-1)/(kappa+1), 1 - rate within {100 * worst_speed:.1f} % "
            f"({len(inside)} times); below it the hard-gate prediction drifts (up to "
            f"{100 * max(r['rel_diff'] for r in gd.rows):.0f} %)")
    report.text = text
    return _table(rows, {"gd": gd.rows, "spec": spec.describe()}, report.summary(), t0)


def plot_gd_rate(table, path):
    import inspect

    tol = inspect.signature(exp.gd_table).parameters["tol"].default   # build_gd_rate's allowance
    fig, axes = new_figure(2, 1, width=4.4, height=3.4)
    ax = axes[0, 0]
    sep = [r for r in table.rows if r["series"] == "separation ratio"]
    inside = [r["x"] for r in sep if r["y"] >= exp.GD_SEPARATION]
    if inside:
        ax.axvspan(min(r["x"] for r in sep), max(inside), color=COLORS[2], alpha=0.12, lw=0,
                   label=rf"separated: $s_t\min\|\mu\|/\gamma_t \geq {exp.GD_SEPARATION:g}$")
    for i, (series, name) in enumerate([("theory (woodbury expert)", "Woodbury expert"),
                                        ("theory (paper expert)", r"paper's $\alpha$ expert")]):
        rs = [r for r in table.rows if r["series"] == series]
        ax.plot([r["x"] for r in rs], [r["y"] for r in rs], color=COLORS[i],
                linestyle="-" if i == 0 else "--", label=f"theory, {name}")
    rs = [r for r in table.rows if r["series"] == "measured (woodbury)"]
    ax.plot([r["x"] for r in rs], [r["y"] for r in rs], "o", color=COLORS[0], ms=3.5,
            markerfacecolor="white", label="GD, measured (one run)",
            gid="no-se: one gradient-descent run per t")
    ax.set(xscale="log", yscale="log", xlabel="diffusion time t",
           ylabel=r"speed $1 - $rate$ = 2/(\kappa+1)$",
           title="(a) local speed of gradient descent")
    ax.legend(loc="lower right")
    ax = axes[0, 1]
    gd = sorted(table.meta["gd"], key=lambda r: r["separation_ratio"])
    ratio = [r["separation_ratio"] for r in gd]
    ax.axvspan(min(ratio) / 1.15, exp.GD_SEPARATION, color=COLORS[7], alpha=0.15, lw=0)
    ax.text(min(ratio) / 1.1, 0.5, "modes overlap:\nnot counted", ha="left", va="center",
            fontsize=6.5, color="0.3", transform=ax.get_xaxis_transform())
    ax.axhline(100 * tol, color=COLORS[3], ls="--", lw=0.9, label=f"tolerance {100 * tol:g} %")
    ax.plot(ratio, [100 * r["rel_diff"] for r in gd], "o-", color=COLORS[0], ms=3.5,
            label=r"rate $(\kappa-1)/(\kappa+1)$", gid="no-se: one gradient-descent run per t")
    ax.plot(ratio, [100 * r["speed_rel_diff"] for r in gd], "s--", color=COLORS[1], ms=3.5,
            mfc="white", label="speed 1 \u2212 rate", gid="no-se: one gradient-descent run per t")
    ax.set(xscale="log", yscale="log", xlim=(min(ratio) / 1.15, max(ratio) * 1.15),
           xlabel=r"mode separation $s_t \min\|\mu\| / \gamma_t$",
           ylabel="|measured \u2212 theory| / theory (%)",
           title="(b) deviation from the Woodbury prediction")
    ax.legend(loc="lower left", title="one GD run per t", title_fontsize=6.5)
    n_mc = PRESETS.get(table.meta.get("preset"), {}).get("gd_n_mc")
    draws = f", Hessian from {n_mc} draws" if n_mc else ""
    subtitle(fig, f"{_setting(table.meta)}; gradient descent near the truth with step "
                  rf"$2/(\alpha+L)${draws}")
    save(fig, path)


def plot_bound_table(table, path):
    """``lowdim molrmog bound --plot``: the error bound against n, one line per diffusion time
    (and the window average, dashed), with its complexity part dotted; log-log, where the
    bound falls as n^(-1/2)."""
    from matplotlib.lines import Line2D

    fig, axes = new_figure(1, 1, width=4.6, height=3.6)
    ax = axes[0][0]
    labels = list(dict.fromkeys(r["t"] for r in table.rows))
    for i, t in enumerate(labels):
        col = COLORS[i % len(COLORS)]
        rows = sorted((r for r in table.rows if r["t"] == t), key=lambda r: r["n"])
        window = isinstance(t, str)
        name = f"mean over t in {t}" if window else f"t = {t:g}"
        ns = [r["n"] for r in rows]
        ax.plot(ns, [r["error_bound"] for r in rows], color=col, ls="--" if window else "-",
                marker=MARKERS[i % len(MARKERS)] if len(rows) < 8 else None, ms=3.5,
                label=name, gid="no-se: the bound evaluated at each n")
        ax.plot(ns, [2 * r["complexity"] for r in rows], color=col, ls=":", lw=1.0)
    ax.set(xscale="log", yscale="log", xlabel="training samples n",
           ylabel=r"estimation error bound $2\,\epsilon_{gen}$",
           title="MoLR-MoG estimation bound against n")
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles + [Line2D([], [], color="0.3", ls=":", lw=1.0)],
              names + ["complexity part"], loc="best")
    if table.rows:
        r0, meta = table.rows[0], table.meta
        extra = "".join(f", {sym} = {meta[key]:g}" for key, sym in
                        (("C1", "$C_1$"), ("C2", "$C_2$"), ("eta", r"$\eta$"))
                        if isinstance(meta.get(key), (int, float)))
        subtitle(fig, rf"$\Sigma_k n_k$ = {r0['N1']}, $\Sigma_k n_k d_k$ = {r0['N2']}, "
                      rf"R = {r0['R']:g}, $B_\mu$ = {r0['B_mu']:g}{extra}")
    save(fig, path)


# --------------------------------------------------------------------------- gallery
_YLJ26 = "YLJ26"  # Yang, Li, Jiang, Chen, Li 2026, arXiv:2601.01475

#: The gallery figures of this module (:mod:`lowdim.compare.figures`).
FIGURES = (
    FigureSpec(
        "ylj26-generation", "MoLR-MoG: three score models on multi-modal latents", _YLJ26,
        "The MoE-latent MoG network (72 parameters) has a score error orders of magnitude below the "
        "MoE-latent Gaussian network's and the generic network's (10x the parameters), and only its "
        "samples land on the modes.",
        build_generation, plot_generation),
    FigureSpec(
        "ylj26-learning-curves", "MoLR-MoG: score error against n, in D and in sum n_k d_k", _YLJ26,
        "The trained MoG network's score error falls with n faster than the bound's n^-1/2, does "
        "not move with the ambient dimension D, and stays far below the (vacuous) bound.",
        build_learning_curves, plot_learning_curves),
    FigureSpec(
        "ylj26-gd-rate", "MoLR-MoG: local linear convergence of gradient descent", _YLJ26,
        "With well-separated modes gradient descent near the truth contracts at (kappa-1)/(kappa+1) "
        "with kappa from the block-diagonal Hessian (U block as derived here); the prediction "
        "drifts once the modes overlap in noise units.",
        build_gd_rate, plot_gd_rate),
    FigureSpec(
        "ylj26-digits", "MoLR-MoG on scikit-learn's 8x8 digits: one subspace per class", _YLJ26,
        "On class-PCA subspaces both structured networks generate recognisable digits (classifier "
        "confidence near that of held-out digits) and the MoG network's held-out denoising loss is "
        "at most the Gaussian network's; the generic network with 10x the parameters lags at this "
        "training length.",
        build_digits, plot_digits),
)
