"""Figures of the VE sampling error (Wang-He-Tao 2024): the bound's terms against N, the
polynomial exponent rho, the training weightings, the schedule ranking as the score error
grows, and the growth with d.

Each builder returns a tidy table (``kind`` "theory" for computed curves, "simulation" for
Monte Carlo points and trained networks) with columns ``panel, series, x, y, se`` and a
summary; each plotter draws from the table alone.  Data: the bimodal 1-D mixture (modes at
+-1, standard deviation 0.1) and Gaussian data with standard deviation 0.5 (EDM's
``sigma_data``); grids on ``sigma in [0.002, 80]``.
"""
from __future__ import annotations

import math
import re
import time

import numpy as np
from matplotlib.ticker import FuncFormatter

from lowdim.simulate.sampling import (ei_sample, gaussian_kl_estimate, gaussian_score,
                               path_kl_estimate, sample_mixture)
from lowdim.theory.sampling import (GaussianMixture, beta_edm, beta_song, bound_optimal_rho, edm_grid,
                             gaussian_kl, geometric_grid, kl_bound, make_grid, mixture_score_1d,
                             path_kl_1d, sampler_law_1d, score_error_factor)

from .plots import COLORS, LINESTYLES, new_figure, save, shared_legend, subtitle, value_ticks
from .progress import counted, step_callback
from .registry import FigureSpec
from .sweep import map_tasks
from .table import Table, figure_row
from .verdict import AGREE, Report, compare

__all__ = ["plot_bound_table", "BUILDERS", "PLOTTERS", "BIMODAL", "COLUMNS"]

COLUMNS = ["kind", "panel", "series", "x", "y", "se", "note"]
BIMODAL = GaussianMixture.symmetric_1d(2.0, 0.1)
_GAUSS_VAR = 0.25
_DESIGNS = (("edm", "EDM (rho = 7)"), ("geometric", "Song (geometric)"))
PRESETS = {
    "quick": {"Ns": [4, 8, 16, 32, 64, 128, 256], "mc_Ns": [8, 32, 128], "n": 20000,
              "rhos": np.geomspace(1.0, 60.0, 25), "etas": np.geomspace(1e-4, 0.3, 8),
              "train_steps": [200, 600, 2000], "train_seeds": [0], "ds": [2, 4, 8, 16, 32],
              "n_d": 4000},
    "paper": {"Ns": [4, 6, 8, 12, 18, 25, 35, 50, 70, 100, 140, 200, 280, 400, 560, 800, 1000],
              "mc_Ns": [6, 18, 50, 140, 400], "n": 100000, "rhos": np.geomspace(1.0, 100.0, 60),
              "etas": np.geomspace(1e-5, 1.0, 16), "train_steps": [200, 600, 2000, 6000],
              "train_seeds": [0, 1, 2], "ds": [2, 4, 8, 16, 32, 64, 128], "n_d": 20000},
}


def _slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _table(rows, meta, summary, t0):
    meta = dict(meta, build_seconds=time.perf_counter() - t0, summary=summary)
    return Table(list(COLUMNS), rows, meta)


# =========================================================================== bound terms vs N
def build_bound_terms(preset="quick", device="auto", progress=None):
    """Every term of the explicit bound against N on three grids (bimodal data, d = 1, exact
    score), with the exact path KL, the exact KL of what is sampled (bimodal and Gaussian) and
    Monte Carlo checks (path KL of the bimodal data, sampled KL of the Gaussian)."""
    t0 = time.perf_counter()
    P = PRESETS[preset]
    rows, slopes = [], {}
    kinds = ("edm", "geometric", "uniform")
    for kind in counted(kinds, "grid", progress):
        series = {k: [] for k in ("E_I", "E_D1", "E_D2", "E_D3", "bound", "path KL",
                                  "sampled KL", "Gaussian sampled KL")}
        for N in counted(P["Ns"], "exact N"):
            g = make_grid(kind, N)
            b = kl_bound(g, 1, BIMODAL.second_moment)
            vals = {"E_I": b.E_I, "E_D1": b.E_D1, "E_D2": b.E_D2, "E_D3": b.E_D3,
                    "bound": b.total, "path KL": path_kl_1d(g, BIMODAL).total,
                    "sampled KL": sampler_law_1d(g, BIMODAL, n_nodes=4096).kl,
                    "Gaussian sampled KL": gaussian_kl(g, _GAUSS_VAR, d=1)}
            for k, val in vals.items():
                series[k].append(val)
                rows.append(figure_row("theory", kind, k, N, val))
        for k in ("bound", "path KL", "sampled KL", "Gaussian sampled KL"):
            slopes[f"{kind} {k}"] = _slope(P["Ns"][-2:], series[k][-2:])
        for N in counted(P["mc_Ns"], "Monte Carlo N"):
            g = make_grid(kind, N)
            est = path_kl_estimate(g, BIMODAL, n=P["n"], seed=N, device=device,
                                   progress=step_callback("path block"))
            rows.append(figure_row("simulation", kind, "path KL (Monte Carlo)", N, est.total,
                                   est.total_se))
            Y = ei_sample(g.variances, gaussian_score([_GAUSS_VAR]), P["n"], 1, seed=N,
                          device=device, progress=step_callback("sampler step"))
            kl = gaussian_kl_estimate(Y, _GAUSS_VAR + g.variances[-1])
            rows.append(figure_row("simulation", kind, "Gaussian sampled KL (Monte Carlo)", N, kl.kl,
                                   kl.se))
    agree = _mc_agreement(rows)
    text = (f"local slopes at N = {P['Ns'][-2]}..{P['Ns'][-1]}: bound "
            f"{slopes['edm bound']:.2f} / {slopes['geometric bound']:.2f} (EDM / geometric), "
            f"path KL {slopes['edm path KL']:.2f} / {slopes['geometric path KL']:.2f}, sampled KL "
            f"{slopes['edm sampled KL']:.2f} / {slopes['geometric sampled KL']:.2f}; "
            f"{agree.count(AGREE)}/{len(agree.checks)} Monte Carlo points within 3 SE")
    agree.text = text
    return _table(rows, {"data": "bimodal mixture (+-1, sd 0.1); Gaussian sd 0.5"},
                  agree.summary(slopes=slopes), t0)


def _mc_agreement(rows) -> Report:
    """Monte Carlo rows against the theory row of the same panel, series (without the
    suffix) and x, each within 3 SE (:func:`lowdim.compare.verdict.compare`)."""
    theory = {(r["panel"], r["series"], r["x"]): r["y"] for r in rows if r["kind"] == "theory"}
    report = Report()
    for r in rows:
        if r["kind"] == "simulation" and r["series"].endswith("(Monte Carlo)"):
            key = (r["panel"], r["series"].replace(" (Monte Carlo)", ""), r["x"])
            if key in theory:
                report.add(compare(f"{r['panel']}: {r['series']} at {r['x']:g}", r["y"],
                                   theory[key], se=r["se"], z=3.0))
    return report


_GRID_NAMES = {"edm": r"EDM grid, $\rho$ = 7", "geometric": "geometric grid (Song)",
               "uniform": "uniform grid"}
_DATA = "bimodal data (modes \u00b11, sd 0.1)"


def _mc_note(table, key="n") -> str:
    """``20000 paths`` of the preset the table was built with ('' when unknown)."""
    n = PRESETS.get(table.meta.get("preset"), {}).get(key)
    return f"{n} " if n else ""


def plot_bound_terms(table, path):
    from matplotlib.lines import Line2D

    fig, axes = new_figure(3, 1, width=3.9, height=3.7, sharey=True)
    styles = {"bound": (COLORS[0], "-", 2.0, "bound"),
              "E_D1": (COLORS[5], "--", 1.0, "$E_{D1}$"),
              "E_D2": (COLORS[4], ":", 1.0, "$E_{D2}$"),
              "E_D3": (COLORS[7], "-.", 1.0, "$E_{D3}$"),
              "E_I": (COLORS[6], ":", 1.0, "$E_I$"),
              "path KL": (COLORS[1], "-", 1.4, "path KL"),
              "sampled KL": (COLORS[2], "-", 1.4, "sampled KL"),
              "Gaussian sampled KL": (COLORS[3], "-.", 1.4, "sampled KL, Gaussian data")}
    for i, (ax, kind) in enumerate(zip(axes[0], ("edm", "geometric", "uniform"))):
        for s, (c, ls, lw, name) in styles.items():
            r = [x for x in table.rows if x["panel"] == kind and x["series"] == s
                 and x["kind"] == "theory" and x["y"] > 0]
            ax.plot([x["x"] for x in r], [x["y"] for x in r], color=c, linestyle=ls, lw=lw,
                    label=name)
        for s, c, mk in (("path KL (Monte Carlo)", COLORS[1], "o"),
                         ("Gaussian sampled KL (Monte Carlo)", COLORS[3], "s")):
            r = [x for x in table.rows if x["panel"] == kind and x["series"] == s]
            ax.errorbar([x["x"] for x in r], [x["y"] for x in r],
                        yerr=[3 * x["se"] for x in r], fmt=mk, color=c, mfc="white", ms=3.5,
                        label=styles[s.replace(" (Monte Carlo)", "")][3] + ", Monte Carlo",
                        zorder=5)
        Ns = np.array(sorted({x["x"] for x in table.rows if x["panel"] == kind}))
        Ns = Ns[Ns >= Ns[-1] / 8]

        def last(s):
            return [x["y"] for x in table.rows if x["panel"] == kind and x["series"] == s][-1]

        ax.plot(Ns, 0.4 * last("bound") * Ns[-1] / Ns, color="0.25", lw=0.8, ls=(0, (1, 1.5)))
        ax.plot(Ns, 0.3 * last("sampled KL") * (Ns[-1] / Ns) ** 2, color="0.25", lw=0.8,
                ls=(0, (4, 1.5)))
        ax.set(xscale="log", yscale="log", xlabel="steps N", ylim=(1e-6, None),
               title=f"({'abc'[i]}) {_GRID_NAMES[kind]}")
    axes[0][0].set_ylabel("KL and bound terms (nats)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles += [Line2D([], [], color="0.25", lw=0.8, ls=(0, (1, 1.5))),
                Line2D([], [], color="0.25", lw=0.8, ls=(0, (4, 1.5)))]
    labels += [r"$\propto 1/N$", r"$\propto 1/N^2$"]
    shared_legend(fig, handles, labels, ncol=6)
    subtitle(fig, f"d = 1, exact score, \u03c3 from 80 to 0.002; {_DATA} unless marked "
                  f"Gaussian (sd 0.5); Monte Carlo {_mc_note(table)}draws, 3 SE")
    save(fig, path)


# =========================================================================== rho
def build_rho(preset="quick", device="auto", progress=None):
    """EDM's polynomial grid against rho at N = 18 and 50: the bound's E_D (explicit and paper
    forms, per unit d, m2 = 0) with the bound's rho* = ln(smax/smin)/2, and the exact path and
    sampled KLs of bimodal data and of Gaussian data."""
    t0 = time.perf_counter()
    P = PRESETS[preset]
    rows, argmin = [], {}
    for N in counted((18, 50), "panel N", progress):
        panel = f"N={N}"
        cur = {k: [] for k in ("E_D explicit", "E_D paper", "path KL", "sampled KL",
                               "Gaussian sampled KL")}
        grids = [(r, edm_grid(N, rho=r)) for r in P["rhos"]]
        grids.append((math.inf, geometric_grid(N, schedule="edm")))
        for r, g in counted(grids, "rho"):
            vals = {"E_D explicit": kl_bound(g, 1, 0.0).E_D,
                    "E_D paper": kl_bound(g, 1, 0.0, form="paper").E_D,
                    "path KL": path_kl_1d(g, BIMODAL).total,
                    "sampled KL": sampler_law_1d(g, BIMODAL, n_nodes=4096).kl,
                    "Gaussian sampled KL": gaussian_kl(g, _GAUSS_VAR, d=1)}
            for k, val in vals.items():
                if math.isinf(r):
                    rows.append(figure_row("theory", panel, f"{k} (geometric)", 0.0, val))
                else:
                    cur[k].append(val)
                    rows.append(figure_row("theory", panel, k, r, val))
        for k, ys in cur.items():
            geo = [x["y"] for x in rows if x["panel"] == panel
                   and x["series"] == f"{k} (geometric)"][0]
            j = int(np.argmin(ys))
            argmin[f"{panel} {k}"] = (float(P["rhos"][j]) if ys[j] < geo and 0 < j < len(ys) - 1
                                      else math.inf)
    rs = bound_optimal_rho()

    def fmt(x):
        return "geometric" if math.isinf(x) else f"{x:.1f}"

    text = (f"bound's rho* = {rs:.2f}; minimising rho at N = 18 / 50: E_D bound "
            f"{fmt(argmin['N=18 E_D explicit'])} / {fmt(argmin['N=50 E_D explicit'])}, path KL "
            f"{fmt(argmin['N=18 path KL'])} / {fmt(argmin['N=50 path KL'])}, sampled KL "
            f"(bimodal) {fmt(argmin['N=18 sampled KL'])} / {fmt(argmin['N=50 sampled KL'])}, "
            f"sampled KL (Gaussian) {fmt(argmin['N=18 Gaussian sampled KL'])} / "
            f"{fmt(argmin['N=50 Gaussian sampled KL'])}")
    # theory only: the figure states values, no check
    return _table(rows, {"rho_star": rs}, Report(text=text).summary(argmin=argmin), t0)


def plot_rho(table, path):
    from matplotlib.lines import Line2D

    fig, axes = new_figure(2, 1, width=4.4, height=3.5, sharey=True)
    styles = {"E_D explicit": (COLORS[0], "-", "bound's $E_D$, explicit form"),
              "E_D paper": (COLORS[0], "--", "bound's $E_D$, paper's form"),
              "path KL": (COLORS[1], "-", "path KL"),
              "sampled KL": (COLORS[2], "-", "sampled KL"),
              "Gaussian sampled KL": (COLORS[3], "-.", "sampled KL, Gaussian data")}
    rs = table.meta["rho_star"]
    for i, (ax, panel) in enumerate(zip(axes[0], ("N=18", "N=50"))):
        for s, (c, ls, name) in styles.items():
            r = [x for x in table.rows if x["panel"] == panel and x["series"] == s]
            y = np.array([x["y"] for x in r])
            j = int(np.argmin(y))
            ax.plot([x["x"] for x in r], y, color=c, ls=ls, label=name)
            ax.plot(r[j]["x"], y[j], "v", color=c, ms=4.5,
                    gid="no-se: the minimum of an exact curve")
            geo = [x["y"] for x in table.rows if x["panel"] == panel
                   and x["series"] == f"{s} (geometric)"][0]
            ax.axhline(geo, color=c, lw=0.7, ls=(0, (1, 2)))
        ax.axvline(rs, color="0.3", lw=0.9, ls=":")
        ax.text(rs * 1.06, 0.98, rf"bound's $\rho^*$ = {rs:.2f}", fontsize=6.5, va="top",
                transform=ax.get_xaxis_transform())
        ax.set(xscale="log", yscale="log", xlabel=r"polynomial exponent $\rho$",
               title=f"({'ab'[i]}) N = {panel.split('=')[1]} steps")
        rhos = [x["x"] for x in table.rows if x["panel"] == panel]
        value_ticks(ax, [v for v in (1, 2, 5, 10, 20, 50, 100) if min(rhos) <= v <= max(rhos)])
    axes[0][0].set_ylabel("KL or $E_D$ per unit d (nats)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", lw=0.7, ls=(0, (1, 2))),
                Line2D([], [], color="0.3", ls="none", marker="v", ms=4.5)]
    labels += [r"geometric limit $\rho \to \infty$", r"minimum over $\rho$"]
    shared_legend(fig, handles, labels, ncol=4)
    subtitle(fig, f"EDM grid, \u03c3 from 80 down to 0.002, exact score; {_DATA} unless "
                  "marked Gaussian (sd 0.5); exact values")
    save(fig, path)


# =========================================================================== weightings
def build_weightings(preset="quick", device="auto", progress=None):
    """Total training weightings beta(sigma) on E||sigma S + xi||^2 of EDM (log-normal noise,
    bell-shaped) and Song (log-uniform, 1/sigma), and the score-error amplification factor
    max_j sigma^2 / w of each design against N (Table 2 of the paper, rebuilt)."""
    t0 = time.perf_counter()
    rows = []
    sig = np.geomspace(1e-3, 200, 300)
    for name, b in (("EDM", beta_edm(sig)), ("Song", beta_song(sig))):
        for s, y in zip(sig, b / b.max()):
            rows.append(figure_row("theory", "weighting", name, s, y))
    Ns = np.unique(np.geomspace(4, 1000, 40).astype(int))
    ratio = {}
    for N in Ns:
        e = score_error_factor(int(N), design="edm")
        s = score_error_factor(int(N), design="song")
        rows.append(figure_row("theory", "factor", "EDM (rho = 7)", N, e))
        rows.append(figure_row("theory", "factor", "Song (geometric)", N, s))
        ratio[int(N)] = s / e
    peak = float(sig[np.argmax(beta_edm(sig))])
    above = [n for n in ratio if ratio[n] > 1]
    text = (f"EDM weighting peaks at sigma = {peak:.3f}; Song/EDM score-error factor "
            f"{ratio[int(Ns[0])]:.2f} at N = {Ns[0]} to {ratio[int(Ns[-1])]:.2f} at N = {Ns[-1]}: "
            f"EDM's factor is the smaller (EDM preferable when the score error dominates) for "
            f"N >= {min(above) if above else 'none'}; 1.30 at N = 18 as in the rebuilt Table 2 "
            f"({ratio.get(18, score_error_factor(18, design='song') / score_error_factor(18)):.2f} "
            f"here)")
    return _table(rows, {}, Report(text=text).summary(edm_peak_sigma=peak), t0)


def plot_weightings(table, path):
    fig, axes = new_figure(2, 1, width=4.2, height=3.3)
    a, b = axes[0]
    for i, name in enumerate(("EDM", "Song")):
        r = [x for x in table.rows if x["panel"] == "weighting" and x["series"] == name]
        a.plot([x["x"] for x in r], [x["y"] for x in r], color=COLORS[i],
               ls=LINESTYLES[i], label=name)
    a.set(xscale="log", xlabel=r"noise level $\sigma$",
          ylabel=r"total weighting $\beta(\sigma)\,/\,\max\,\beta$",
          title=r"(a) weighting of $E\|\sigma S + \xi\|^2$")
    series = {}
    for i, (name, label) in enumerate((("EDM (rho = 7)", r"EDM grid ($\rho$ = 7)"),
                                       ("Song (geometric)", "geometric grid (Song)"))):
        r = [x for x in table.rows if x["panel"] == "factor" and x["series"] == name]
        series[name] = {x["x"]: x["y"] for x in r}
        b.plot([x["x"] for x in r], [x["y"] for x in r], color=COLORS[i], ls=LINESTYLES[i],
               label=label)
    e, g = series["EDM (rho = 7)"], series["Song (geometric)"]
    less = [n for n in sorted(e) if n in g and e[n] < g[n]]
    if less:
        b.axvline(less[0], color="0.4", lw=0.8, ls=":")
        b.text(less[0] * 1.08, 0.04, f"EDM's grid smaller\nfrom N = {less[0]:g}",
               fontsize=6.5, transform=b.get_xaxis_transform(), va="bottom")
    b.set(xscale="log", yscale="log", xlabel="steps N",
          ylabel=r"amplification $\max_j \sigma_j^2 / w_j$",
          title="(b) score-error amplification, EDM weighting")
    for ax in (a, b):
        ax.legend()
    save(fig, path)


# =========================================================================== ranking
def _training_profile(grid, eta):
    """``eps_j^2 = eta / (sigma_j^2 beta_EDM(sigma_j))``: the per-level score error left by a
    training whose per-level losses are equalised under EDM's total weighting (the argument
    of the paper's section 4.1)."""
    s = grid.sigmas[:-1]
    return eta / (s**2 * beta_edm(s))


def _net_numpy(net):
    import torch

    def score(x, v, j):
        with torch.no_grad():
            y = torch.as_tensor(np.asarray(x, dtype=float))[:, None]
            return net.score(v, y)[:, 0].numpy()

    return score


def ranking_fit(weighting, steps, seed, N, n, device):
    """One sweep task of :func:`build_ranking`: a network trained by DSM with ``weighting``
    for ``steps`` steps, then its Monte Carlo path KL (``n`` paths) and, where its step maps
    allow, the exact sampled KL, on each design's grid of ``N`` steps.  Returns the figure
    rows and the sampled KL per design."""
    from lowdim.simulate.score_nets import train_dsm

    tr = train_dsm(lambda k, gen: sample_mixture(BIMODAL, k, generator=gen, device="cpu"),
                   1, weighting=weighting, steps=steps, seed=seed, device=device,
                   progress=step_callback("training step"))
    net = tr.net.double().cpu()
    rows, res = [], {}
    for k, label in counted(_DESIGNS, "grid"):
        g = make_grid(k, N)
        est = path_kl_estimate(g, BIMODAL, net.score, n=n, seed=seed, device="cpu",
                               progress=step_callback("path block"))
        rows.append(figure_row("simulation", f"trained {weighting}", f"{label} path KL",
                               steps, est.total, est.total_se, f"seed {seed}"))
        rows.append(figure_row("simulation", f"trained {weighting}", f"{label} E_S",
                               steps, est.score, est.score_se, f"seed {seed}"))
        try:
            kl = sampler_law_1d(g, BIMODAL, _net_numpy(net), n_nodes=4096).kl
            note = f"seed {seed}"
        except ValueError:
            kl, note = None, f"seed {seed}: step map not monotone, not propagated"
        rows.append(figure_row("simulation", f"trained {weighting}", f"{label} sampled KL",
                               steps, kl, None, note))
        res[k] = kl
    return rows, res


def build_ranking(preset="quick", device="auto", progress=None):
    """Which design wins as the score error grows (N = 18, bimodal data).

    Left: an exact score plus a controlled error with the profile left by EDM-weighted
    training, of size eta: exact sampled KL, path KL and bound for EDM's rho = 7 grid and the
    geometric grid.  Right: networks trained by DSM with the EDM and the Song weighting for a
    growing number of steps; sampled KL (density propagation with the network's score, where
    its step maps allow) and Monte Carlo path KL for both grids."""
    t0 = time.perf_counter()
    P = PRESETS[preset]
    N = 18
    grids = {k: make_grid(k, N) for k, _ in _DESIGNS}
    rows = []
    for eta in counted(P["etas"], "eta"):
        for k, label in _DESIGNS:
            g = grids[k]
            eps2 = _training_profile(g, eta)
            sampled = sampler_law_1d(g, BIMODAL, *mixture_score_1d(BIMODAL, np.sqrt(eps2)),
                                     n_nodes=4096).kl
            rows.append(figure_row("theory", "perturbed", f"{label} sampled KL", eta, sampled))
            rows.append(figure_row("theory", "perturbed", f"{label} path KL", eta,
                                   path_kl_1d(g, BIMODAL, eps2).total))
            rows.append(figure_row("theory", "perturbed", f"{label} bound", eta,
                                   kl_bound(g, 1, BIMODAL.second_moment, eps2).total))
    cross = _crossing(rows, "perturbed")
    fits = [(w, steps, seed) for w in ("edm", "song") for steps in P["train_steps"]
            for seed in P["train_seeds"]]
    results = map_tasks(ranking_fit, [{"weighting": w, "steps": steps, "seed": seed, "N": N,
                                       "n": P["n"], "device": device}
                                      for w, steps, seed in fits], progress=progress)
    wins = {}
    for (weighting, steps, _), (fit_rows, res) in zip(fits, results):
        rows += fit_rows
        if res["edm"] is not None and res["geometric"] is not None:
            wins.setdefault(weighting, []).append(
                (steps, "EDM" if res["edm"] < res["geometric"] else "geometric"))
    won = "; ".join(f"{w}-trained: " + ", ".join(f"{s} steps {x}" for s, x in v)
                    for w, v in wins.items())
    text = (f"perturbed (EDM-training profile): geometric has the lower sampled KL for eta < "
            f"{cross:.3g}, EDM's rho = 7 above; trained networks, lower sampled KL: {won}")
    return _table(rows, {"N": N, "profile": "eps^2 = eta / (sigma^2 beta_EDM(sigma))"},
                  Report(text=text).summary(crossing_eta=cross, trained_winners=wins), t0)


def _crossing(rows, panel):
    """Smallest eta where EDM's sampled KL drops below the geometric grid's (inf if never)."""
    def series(label):
        return {r["x"]: r["y"] for r in rows if r["panel"] == panel
                and r["series"] == f"{label} sampled KL"}
    e, g = series(_DESIGNS[0][1]), series(_DESIGNS[1][1])
    xs = sorted(e)
    for a, b in zip(xs[:-1], xs[1:]):
        da, db = e[a] - g[a], e[b] - g[b]
        if da > 0 >= db:   # interpolate in log eta
            t = da / (da - db)
            return float(math.exp(math.log(a) + t * (math.log(b) - math.log(a))))
    return math.inf if e[xs[-1]] >= g[xs[-1]] else xs[0]


def _by_steps(rows):
    """``(x, y, se, seeds)`` of trained-network rows, averaged over seeds where there are
    several (then ``se`` is the seed-to-seed standard error)."""
    xs = sorted({r["x"] for r in rows if r["y"] is not None})
    out = ([], [], [], 1)
    for x in xs:
        vals = [r for r in rows if r["x"] == x and r["y"] is not None]
        y = np.array([r["y"] for r in vals], dtype=float)
        out[0].append(x)
        out[1].append(float(y.mean()))
        if len(y) > 1:
            out[2].append(float(y.std(ddof=1) / np.sqrt(len(y))))
        else:
            out[2].append(vals[0]["se"])
        out = out[:3] + (max(out[3], len(y)),)
    return out


def plot_ranking(table, path):
    from matplotlib.lines import Line2D

    fig, axes = new_figure(3, 1, width=3.9, height=4.4)
    col = {_DESIGNS[0][1]: COLORS[0], _DESIGNS[1][1]: COLORS[1]}
    ax = axes[0][0]
    for label, c in col.items():
        for what, ls in (("sampled KL", "-"), ("path KL", "--"), ("bound", ":")):
            r = [x for x in table.rows if x["panel"] == "perturbed"
                 and x["series"] == f"{label} {what}"]
            ax.plot([x["x"] for x in r], [x["y"] for x in r], color=c, ls=ls)
    eta = table.meta["summary"]["crossing_eta"]
    if math.isfinite(eta):
        ax.axvline(eta, color="0.4", lw=0.8, ls=":")
        ax.text(eta / 1.15, 0.4, rf"$\eta$ = {eta:.2g}: EDM's grid" + "\nsamples better above",
                ha="right", va="center", fontsize=6.5, transform=ax.get_xaxis_transform())
    ax.set(xscale="log", yscale="log", xlabel=r"score-error size $\eta$", ylabel="KL (nats)",
           title="(a) exact score + error profile")
    seeds = 1
    shared = None
    for i, (ax, w) in enumerate(zip(axes[0][1:], ("edm", "song"))):
        if shared is None:
            shared = ax
        else:
            ax.sharey(shared)
        missing = set()
        for label, c in col.items():
            for what, mk, ls in (("sampled KL", "o", "-"), ("path KL", "s", "--")):
                r = [x for x in table.rows if x["panel"] == f"trained {w}"
                     and x["series"] == f"{label} {what}"]
                missing |= {x["x"] for x in r if x["y"] is None}
                x, y, se, k = _by_steps(r)
                seeds = max(seeds, k)
                if not x:
                    continue
                if what == "sampled KL" and k == 1:   # exact, for one trained network
                    ax.plot(x, y, marker=mk, ls=ls, color=c, ms=3.5,
                            gid="no-se: exact sampled KL of one trained network")
                else:
                    ax.errorbar(x, y, yerr=3 * np.asarray(se, dtype=float), marker=mk, ls=ls,
                                color=c, ms=3.5, mfc="white")
        if missing:
            ax.text(0.03, 0.5, "no sampled KL at "
                    + ", ".join(f"{m:g}" for m in sorted(missing))
                    + " steps:\nthe step maps fold", transform=ax.transAxes, fontsize=6.5,
                    va="center")
        ax.set(xscale="log", yscale="log", xlabel="DSM training steps",
               title=f"({'bc'[i]}) trained network, {'EDM' if w == 'edm' else 'Song'} weighting")
        _integer_value_ticks(ax, {x["x"] for x in table.rows if x["panel"] == f"trained {w}"})
    axes[0][1].set_ylabel("KL (nats)")
    axes[0][2].tick_params(labelleft=False)
    net = "one trained network" if seeds == 1 else f"mean of {seeds} trained networks"
    handles = [Line2D([], [], color=COLORS[0]), Line2D([], [], color=COLORS[1]),
               Line2D([], [], color="0.3", ls="-", marker="o", ms=3.5),
               Line2D([], [], color="0.3", ls="--", marker="s", ms=3.5, mfc="white"),
               Line2D([], [], color="0.3", ls=":")]
    labels = [r"EDM grid ($\rho$ = 7)", "geometric grid (Song)",
              f"sampled KL (exact; (b), (c): {net})",
              "path KL ((b), (c): Monte Carlo, 3 SE bars within the markers)", "bound"]
    shared_legend(fig, handles, labels, ncol=3)
    N = table.meta.get("N", 18)
    subtitle(fig, f"N = {N} steps, {_DATA}; (a) error profile "
                  r"$\epsilon_j^2 = \eta\,/\,(\sigma_j^2 \beta_{EDM}(\sigma_j))$, "
                  "as left by EDM-weighted training")
    save(fig, path)


def _integer_value_ticks(ax, values):
    """Ticks at the simulated ``values`` (training steps), labelled as integers."""
    value_ticks(ax, values)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


# =========================================================================== dimension
def build_dimension(preset="quick", device="auto", progress=None):
    """Growth with d at N = 18 (EDM grid): Monte Carlo KL of what is sampled for Gaussian data
    (sd 0.5) against the exact d-linear value, and Monte Carlo path KL of a four-mode mixture
    (unit-norm means in random directions, sd 0.1) with a fitted line."""
    t0 = time.perf_counter()
    P = PRESETS[preset]
    g = edm_grid(18)
    rows = []
    rng = np.random.default_rng(0)
    xs, ys, ses = [], [], []
    for d in counted(P["ds"], "dimension d", progress):
        Y = ei_sample(g.variances, gaussian_score(np.full(d, _GAUSS_VAR)), P["n"], d, seed=d,
                      device=device, progress=step_callback("sampler step"))
        kl = gaussian_kl_estimate(Y, _GAUSS_VAR + g.variances[-1])
        rows.append(figure_row("simulation", "gaussian", "sampled KL (Monte Carlo)", d, kl.kl, kl.se))
        rows.append(figure_row("theory", "gaussian", "sampled KL", d, gaussian_kl(g, _GAUSS_VAR, d=d)))
        rows.append(figure_row("theory", "gaussian", "bound", d,
                               kl_bound(g, d, d * _GAUSS_VAR).total))
        mu = rng.standard_normal((4, d))
        mu /= np.linalg.norm(mu, axis=1, keepdims=True)
        mix = GaussianMixture(np.full(4, 0.25), mu, np.full(4, 0.01))
        est = path_kl_estimate(g, mix, n=P["n_d"], seed=d, device=device,
                               progress=step_callback("path block"))
        rows.append(figure_row("simulation", "mixture", "path KL (Monte Carlo)", d, est.total,
                               est.total_se))
        rows.append(figure_row("theory", "mixture", "bound", d, kl_bound(g, d, mix.second_moment).total))
        xs.append(d)
        ys.append(est.total)
        ses.append(est.total_se)
    xs, ys, ses = map(np.asarray, (xs, ys, ses))
    A = np.stack([xs, np.ones_like(xs)], 1).astype(float)
    coef, *_ = np.linalg.lstsq(A / ses[:, None], ys / ses, rcond=None)
    cov = np.linalg.inv((A / ses[:, None]).T @ (A / ses[:, None]))
    for d in xs:
        rows.append(figure_row("theory", "mixture", "fitted line", d, coef[0] * d + coef[1]))
    chi2 = float(np.sum(((A @ coef - ys) / ses) ** 2))
    per_dim = path_kl_1d(g, GaussianMixture([1.0], [0.0], [0.01])).total
    gsim = [r for r in rows if r["panel"] == "gaussian" and r["kind"] == "simulation"]
    gslope = np.polyfit([r["x"] for r in gsim], [r["y"] for r in gsim], 1,
                        w=[1 / r["se"] for r in gsim])[0]
    exact_slope = gaussian_kl(g, _GAUSS_VAR, d=1)
    agree = _mc_agreement(rows)
    text = (f"Gaussian data: fitted slope of the Monte Carlo sampled KL {gslope:.4f} per "
            f"dimension (exact {exact_slope:.4f}), {agree.count(AGREE)}/{len(agree.checks)} "
            f"points within 3 SE; "
            f"four-mode mixture: path KL slope {coef[0]:.4f} +- {math.sqrt(cov[0, 0]):.4f} per "
            f"dimension (per-coordinate Gaussian value {per_dim:.4f}), chi2 {chi2:.1f} on "
            f"{len(xs) - 2} dof")
    return _table(rows, {"N": 18, "grid": "edm rho=7"},
                  Report(agree.checks, text).summary(
                      gaussian_slope=float(gslope), gaussian_slope_exact=exact_slope,
                      mixture_slope=float(coef[0]), mixture_slope_se=math.sqrt(cov[0, 0]),
                      chi2=chi2), t0)


def plot_dimension(table, path):
    fig, axes = new_figure(2, 2, width=4.2, height=2.3, sharex="col",
                           gridspec_kw={"height_ratios": [2.3, 1]})
    summ = table.meta["summary"]
    per_dim = re.search(r"per-coordinate Gaussian value ([0-9.]+)", summ.get("text", ""))
    ds = sorted({x["x"] for x in table.rows})
    panels = (
        ("gaussian", "(a) Gaussian data (sd 0.5): KL of what is sampled", "sampled KL",
         f"exact: {summ['gaussian_slope_exact']:.4f} d",
         f"Monte Carlo, fit {summ['gaussian_slope']:.4f} d", "exact"),
        ("mixture", "(b) four-mode mixture: path KL", "fitted line",
         f"fit ({summ['mixture_slope']:.3f} \u00b1 {summ['mixture_slope_se']:.3f}) d + c"
         + (f";\nper coordinate {float(per_dim.group(1)):.3f} d" if per_dim else ""),
         "Monte Carlo", "fit"))
    for i, (panel, title, line, line_label, mc_label, ref) in enumerate(panels):
        ax, res = axes[0, i], axes[1, i]
        r = sorted((x for x in table.rows if x["panel"] == panel and x["series"] == line),
                   key=lambda x: x["x"])
        ref_y = {x["x"]: x["y"] for x in r}
        ax.plot([x["x"] for x in r], [x["y"] for x in r], color=COLORS[0], label=line_label)
        r = [x for x in table.rows if x["panel"] == panel and x["series"] == "bound"]
        ax.plot([x["x"] for x in r], [x["y"] for x in r], color=COLORS[2], ls=":",
                label="bound")
        r = [x for x in table.rows if x["panel"] == panel and x["kind"] == "simulation"]
        ax.errorbar([x["x"] for x in r], [x["y"] for x in r], yerr=[3 * x["se"] for x in r],
                    fmt="o", color=COLORS[3], mfc="white", ms=3.5, zorder=5,
                    label=mc_label + " (3 SE)")
        ax.set(xscale="log", yscale="log", ylabel="KL (nats)", title=title)
        ax.legend(loc="upper left")
        res.axhline(0, color=COLORS[0], lw=1.0)
        res.errorbar([x["x"] for x in r], [100 * (x["y"] / ref_y[x["x"]] - 1) for x in r],
                     yerr=[300 * x["se"] / ref_y[x["x"]] for x in r], fmt="o", color=COLORS[3],
                     mfc="white", ms=3.5)
        res.set(xscale="log", xlabel="dimension d", ylabel=f"MC / {ref} \u2212 1 (%)")
        for a in (ax, res):   # shared x: both axes carry the same ticks
            _integer_value_ticks(a, ds)
    subtitle(fig, fr"EDM grid ($\rho$ = 7), N = {table.meta.get('N', 18)} steps, exact score; "
                  f"Monte Carlo: (a) {_mc_note(table)}samples, (b) {_mc_note(table, 'n_d')}"
                  "paths per d; 3 SE bars")
    save(fig, path)


BUILDERS = {"bound-terms": build_bound_terms, "rho": build_rho, "weightings": build_weightings,
            "ranking": build_ranking, "dimension": build_dimension}
PLOTTERS = {"bound-terms": plot_bound_terms, "rho": plot_rho, "weightings": plot_weightings,
            "ranking": plot_ranking, "dimension": plot_dimension}


def plot_bound_table(table, path):
    """``lowdim sampling bound --plot``: every term of the bound and its total against the
    number of steps N, one panel per grid (and the exact Gaussian KL when the table has
    it); log-log, non-positive terms left out."""
    grids = list(dict.fromkeys(r["grid"] for r in table.rows))
    fig, axes = new_figure(len(grids), 1, width=3.9, height=3.6, sharey=True)
    terms = {"total": (COLORS[0], "-"), "E_I": (COLORS[6], ":"), "E_S": (COLORS[4], "-."),
             "E_D": (COLORS[1], "--"), "gaussian_kl": (COLORS[2], "-")}
    names = {"total": "bound", "E_I": "initialization $E_I$", "E_S": "score $E_S$",
             "E_D": "discretization $E_D$", "gaussian_kl": "exact KL (Gaussian data)"}
    letters = "abcdefghijklmnopqrstuvwxyz"
    for i, (ax, grid) in enumerate(zip(axes[0], grids)):
        rows = sorted((r for r in table.rows if r["grid"] == grid), key=lambda r: r["N"])
        for key, (color, ls) in terms.items():
            pts = [(r["N"], r[key]) for r in rows if r.get(key) is not None and r[key] > 0]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color=color, linestyle=ls,
                        lw=2.2 if key == "total" else 1.2,
                        marker="o" if len(pts) < 8 else None, ms=3.5, label=names[key],
                        gid="no-se: exact values at each N")
        rho = f", $\\rho$ = {rows[0]['rho']:g}" if grid == "edm" and rows[0].get("rho") else ""
        letter = f"({letters[i % 26]}) " if len(grids) > 1 else ""
        ax.set(xscale="log", yscale="log", xlabel="steps N",
               title=f"{letter}{grid} grid{rho}, {rows[0]['schedule']} schedule")
    axes[0][0].set_ylabel("KL bound and terms (nats)")
    shared_legend(fig, axes=list(axes[0]), ncol=5)
    if table.rows:
        r0 = table.rows[0]
        err = r0["score_error"]
        err = f"{err:g}" if isinstance(err, (int, float)) else err
        subtitle(fig, f"d = {r0['d']}, $m_2$ = {r0['m2']:g}, score error {err}, "
                      f"\u03c3 from {r0['sigma_max']:g} down to {r0['sigma_min']:g}; "
                      f"{table.meta.get('form', 'explicit')} form")
    save(fig, path)


# --------------------------------------------------------------------------- gallery
_WHT24 = "WHT24"  # Wang, He, Tao 2024, arXiv:2406.12839

#: The gallery figures of this module (:mod:`lowdim.compare.figures`).
FIGURES = (
    FigureSpec(
        "wht24-bound-terms", "VE sampling: every bound term against the number of steps", _WHT24,
        "The bound and the path KL it controls decay like 1/N; the KL of what is sampled decays "
        "like 1/N^2, for bimodal as for Gaussian data; bound >= path KL >= sampled KL everywhere.",
        build_bound_terms, plot_bound_terms),
    FigureSpec(
        "wht24-rho", "EDM's polynomial exponent rho: bound, path KL and sampled KL", _WHT24,
        "The bound's E_D falls monotonically towards the geometric limit; the path KL has its "
        "minimum near the bound's rho* = ln(smax/smin)/2; the sampled KL's minimum depends on the "
        "data.",
        build_rho, plot_rho),
    FigureSpec(
        "wht24-weightings", "Training weightings and score-error amplification", _WHT24,
        "EDM's total weighting is bell-shaped in log sigma, Song's is 1/sigma; with EDM's "
        "weighting imposed, EDM's grid amplifies a training error less than the geometric grid.",
        build_weightings, plot_weightings),
    FigureSpec(
        "wht24-ranking", "Which schedule wins as the score error grows", _WHT24,
        "With an exact score the geometric grid samples better; past a score-error size EDM's "
        "rho = 7 grid does; DSM-trained networks show where real training errors fall.",
        build_ranking, plot_ranking),
    FigureSpec(
        "wht24-dimension", "The sampling error grows linearly in d", _WHT24,
        "At fixed N the KL of what is sampled (Gaussian data) and the path KL of a mixture grow "
        "linearly in d; fitted slopes against the per-coordinate values.",
        build_dimension, plot_dimension),
)
