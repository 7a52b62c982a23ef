"""Figures of the MoLRG phase transition (Wang et al. 2024): success-rate heat maps over
(N_k, d) for K = 1, 2, 3, ideal learners against trained low-rank denoisers with the theory's
boundary drawn; PCA's subspace error against N with the bound and floors; success under
multinomial labels against the exact probability.

Each builder returns a tidy table (``kind``: "theory" or "simulation"; ``panel, series, x, y,
se, note``) with a summary; each plotter draws from the table alone."""
from __future__ import annotations

import time

import numpy as np

from . import molrg as exp
from .plots import COLORS, integer_ticks, new_figure, save, shared_legend, subtitle
from .progress import advance, counted
from .registry import FigureSpec
from .table import Table, figure_row
from .verdict import Report, holds

__all__ = ["build_phase", "plot_phase", "build_recovery", "plot_recovery", "build_generic",
           "plot_generic", "PRESETS"]

COLUMNS = ["kind", "panel", "series", "x", "y", "se", "note"]
PRESETS = {
    # quick: trained denoisers for K = 1, 2 only, 4 trials and 400 steps (about a minute)
    "quick": {"Ks": (1, 2, 3), "trained_Ks": (1, 2), "trials_ideal": 20, "trials_trained": 4,
              "trained_steps": 400, "ds": tuple(range(2, 9)), "Ns": tuple(range(1, 16)),
              "curve_trials": 40, "curve_Ds": (48, 192), "mult_trials": 100,
              "generic": {"ds": (2, 4), "Nks": (2, 4, 8, 16, 32), "steps": 1000, "D": 16}},
    "paper": {"Ks": (1, 2, 3), "trained_Ks": (1, 2, 3), "trials_ideal": 20,
              "trials_trained": 20, "trained_steps": 800, "ds": tuple(range(2, 9)),
              "Ns": tuple(range(1, 16)), "curve_trials": 200, "curve_Ds": (48, 192, 768),
              "mult_trials": 1000,
              "generic": {"ds": (2, 3, 4, 6, 8), "Nks": (2, 4, 8, 16, 32, 64, 128, 256),
                          "steps": 3000, "D": 48}},
}


# ----------------------------------------------------------------------------- phase maps
def _learner_name(K, learner):
    if learner == "ideal":
        return "PCA" if K == 1 else "K-subspaces"
    return {"trained": "trained denoiser", "oracle": "PCA, true labels"}.get(learner, learner)


def build_phase(preset="quick", device="auto", progress=None):
    p = PRESETS[preset]
    t0 = time.perf_counter()
    rows, checks = [], []
    jobs = [(K, "ideal") for K in p["Ks"]] + [(K, "trained") for K in p["trained_Ks"]]
    for K, learner in counted(jobs, "panel", progress):
        trials = p["trials_ideal"] if learner == "ideal" else p["trials_trained"]
        tab = exp.phase_table(K, learner, ds=p["ds"], Ns=p["Ns"], trials=trials, device=device,
                              train={"steps": p["trained_steps"]})
        panel = f"K={K} {learner}"
        rows += _phase_rows(tab)
        below = [r for r in tab.rows if r["N_k"] <= r["d"] - 1]
        above = [r for r in tab.rows if r["N_k"] >= r["d"] + 2]
        far = [r for r in tab.rows if r["N_k"] >= 2 * r["d"]]
        checks.append({"panel": panel, "trials": trials,
                       "max_below": max(r["success"] for r in below),
                       "min_above": min(r["success"] for r in above),
                       "min_far": min(r["success"] for r in far),
                       # one-sided, 2 SE: is the success probability beyond the bound?
                       "below_ok": exp.rates_within(below, 0.1, at_least=False),
                       "above_ok": exp.rates_within(above, 0.9, at_least=True),
                       "far_ok": exp.rates_within(far, 0.8, at_least=True)})
    report = Report(text="; ".join(f"{c['panel']}: success <= {c['max_below']:.2f} below d, "
                                   f">= {c['min_above']:.2f} from d+2" for c in checks))
    for c in checks:
        report.add(holds(f"{c['panel']}: success <= 0.1 below d (2 SE)", c["below_ok"],
                         c["max_below"], "<= 0.1"))
        if "ideal" in c["panel"]:
            report.add(holds(f"{c['panel']}: success >= 0.9 from d+2 (2 SE)", c["above_ok"],
                             c["min_above"], ">= 0.9"))
        else:
            report.add(holds(f"{c['panel']}: success >= 0.8 from 2d (2 SE)", c["far_ok"],
                             c["min_far"], ">= 0.8"))
    summary = report.summary(checks=checks)
    meta = dict(setting={k: v for k, v in exp.DEFAULTS.items() if k not in ("ds", "Ns")},
                train=exp.TRAIN_DEFAULTS, sizes={k: list(v) if isinstance(v, tuple) else v
                                                 for k, v in p.items()})
    return Table(list(COLUMNS), rows, dict(meta, build_seconds=time.perf_counter() - t0,
                                           summary=summary))


def _phase_rows(tab):
    """Figure rows of one :func:`lowdim.compare.molrg.phase_table`."""
    rows = []
    for r in tab.rows:
        panel = f"K={r['K']} {r['learner']}"
        rows.append(figure_row("simulation", panel, f"d={r['d']}", r["N_k"], r["success"],
                               r["success_se"], note=f"trials={r['trials']}"))
    for d in dict.fromkeys(r["d"] for r in tab.rows):
        r = next(r for r in tab.rows if r["d"] == d)
        panel = f"K={r['K']} {r['learner']}"
        rows.append(figure_row("theory", panel, f"d={d}", d, 1.0, note="threshold N_k = d"))
        rows.append(figure_row("theory", panel, f"d={d}", r["noise_boundary"], 1.0,
                               note="noise boundary"))
    return rows


def _colorbar(fig, mappable, label, ticks):
    """A colour bar in a fixed strip at the right edge (0.75 in kept free for it and its
    labels at any figure width); returns the right edge to pass to :func:`save` in ``rect``."""
    width = fig.get_size_inches()[0]
    cax = fig.add_axes([1 - 0.62 / width, 0.22, 0.09 / width, 0.6])
    fig.colorbar(mappable, cax=cax, ticks=ticks, label=label)
    cax._lowdim_colorbar = True
    return 1 - 0.8 / width


def plot_phase_table(tab: Table, path):
    """The heat map of one :func:`lowdim.compare.molrg.phase_table` (``lowdim molrg phase --plot``)."""
    plot_phase(Table(list(COLUMNS), _phase_rows(tab), dict(tab.meta)), path)


def plot_phase(table: Table, path):
    sim = [r for r in table.rows if r["kind"] == "simulation"]
    panels = list(dict.fromkeys(r["panel"] for r in sim))
    Ks = sorted({int(p.split()[0][2:]) for p in panels})
    learners = list(dict.fromkeys(p.split()[1] for p in panels))
    fig, axes = new_figure(len(Ks), len(learners), width=3.3, height=2.7)
    letters = iter("abcdefghij")
    trials = {}
    for i, learner in enumerate(learners):
        for j, K in enumerate(Ks):
            ax = axes[i, j]
            panel = f"K={K} {learner}"
            cells = [r for r in sim if r["panel"] == panel]
            if not cells:
                ax.set_axis_off()
                ax.text(0.5, 0.5, f"K = {K}, {_learner_name(K, learner)}:\nnot run at this "
                        "preset", ha="center", va="center", transform=ax.transAxes)
                continue
            ds = sorted({int(r["series"][2:]) for r in cells})
            Ns = sorted({int(r["x"]) for r in cells})
            grid = np.full((len(ds), len(Ns)), np.nan)
            for r in cells:
                grid[ds.index(int(r["series"][2:])), Ns.index(int(r["x"]))] = r["y"]
            im = ax.imshow(grid, origin="lower", cmap="magma", vmin=0, vmax=1, aspect="auto",
                           extent=(Ns[0] - 0.5, Ns[-1] + 0.5, ds[0] - 0.5, ds[-1] + 0.5))
            ax.grid(False)
            dd = np.array(ds, dtype=float)
            ax.plot(dd - 0.5, dd, color=COLORS[5], lw=1.4, label="theory: $N_k = d$")
            nb = [next(r["x"] for r in table.rows if r["kind"] == "theory" and r["panel"] == panel
                       and r["series"] == f"d={d}" and r["note"] == "noise boundary") for d in ds]
            ax.plot(np.ceil(np.array(nb)) - 0.5, dd, color=COLORS[5], lw=1.0, ls="--",
                    label="first $N_k$ whose first-order rms error is below the threshold")
            integer_ticks(ax, "x")
            integer_ticks(ax, "y")
            trials[learner] = cells[0]["note"].split("=")[1]
            if len(panels) > 1:
                ax.set_title(f"({next(letters)}) K = {K}, {_learner_name(K, learner)}")
            else:
                ax.set_title(f"K = {K}, {_learner_name(K, learner)}, {trials[learner]} trials")
            ax.set_xlabel("samples per component $N_k$")
            ax.set_ylabel("subspace dimension d")
    setting = table.meta.get("setting", table.meta)
    text = (f"MoLRG, D = {setting.get('D', 48)}, noise {setting.get('noise', 0.05):g}; "
            f"success: all subspace errors < {setting.get('threshold', 0.1):g}")
    if len(panels) > 1:
        text += "; trials per cell: " + ", ".join(
            f"{n} ({'ideal learners' if name == 'ideal' else name})" for name, n in trials.items())
    subtitle(fig, text)
    shared_legend(fig, axes=[axes[0, 0]], ncol=1 if len(Ks) == 1 else 2)
    right = _colorbar(fig, im, "success rate", [0, 0.5, 1])
    save(fig, path, rect=(0, 0, right, 1))


# ----------------------------------------------------------------------------- recovery
def build_recovery(preset="quick", device="auto", progress=None):
    p = PRESETS[preset]
    t0 = time.perf_counter()
    advance(progress, 0, 2, "part")
    curve = exp.error_curve_table(Ds=p["curve_Ds"], trials=p["curve_trials"], device=device)
    advance(progress, 1, 2, "part")
    mult = exp.multinomial_table(trials=p["mult_trials"], device=device)
    advance(progress, 2, 2, "part")
    rows = []
    for r in curve.rows:
        panel = "error"
        rows.append(figure_row("simulation", panel, f"D={r['D']}", r["N"], r["rms_error"],
                               r["rms_error_se"], note=f"d={r['d']}"))
        if r["D"] == p["curve_Ds"][0]:
            for key in ("theory_rms_error", "floor_random", "floor_worst", "theorem_bound"):
                rows.append(figure_row("theory", panel, key, r["N"], r[key], note=f"D={r['D']}"))
        else:
            rows.append(figure_row("theory", panel, "theory_rms_error", r["N"], r["theory_rms_error"],
                                   note=f"D={r['D']}"))
            rows.append(figure_row("theory", panel, "floor_random", r["N"], r["floor_random"],
                                   note=f"D={r['D']}"))
    for r in mult.rows:
        rows.append(figure_row("simulation", "multinomial", f"K={r['K']}", r["N"], r["success"],
                               r["success_se"], note=f"d={r['d']}"))
        rows.append(figure_row("theory", "multinomial", f"K={r['K']}", r["N"], r["theory_success"],
                               note=f"d={r['d']}"))
    d = curve.rows[0]["d"]
    fo = [abs(r["rms_error"] / r["theory_rms_error"] - 1) for r in curve.rows
          if r["N"] >= d + 4]
    fl = [abs(r["rms_error"] / r["floor_random"] - 1) for r in curve.rows if r["N"] <= d - 1]
    z = [abs(r["success"] - r["theory_success"]) / r["success_se"] for r in mult.rows]
    text = (f"PCA rms error vs first-order theory (N >= d+4): max rel. diff {max(fo):.2f}; "
            f"below d vs random-completion floor: {max(fl):.2f} (noise 0.05 included); "
            f"multinomial success vs Pr[min N_k >= d]: max |z| {max(z):.1f}")
    report = Report([holds("PCA rms error within 20 % of the first-order theory (N >= d+4)",
                           max(fo) <= 0.2, max(fo), "<= 0.2"),
                     holds("multinomial success within 3.5 SE of Pr[min N_k >= d]",
                           max(z) <= 3.5, max(z), "<= 3.5")], text)
    summary = report.summary(first_order_rel_diff=max(fo), floor_rel_diff=max(fl),
                             multinomial_z=max(z))
    meta = dict(curve=curve.meta, multinomial=mult.meta,
                sizes={k: list(v) if isinstance(v, tuple) else v for k, v in p.items()})
    return Table(list(COLUMNS), rows, dict(meta, build_seconds=time.perf_counter() - t0,
                                           summary=summary))


def plot_recovery(table: Table, path):
    from matplotlib.lines import Line2D

    fig, axes = new_figure(2, 1, width=4.4, height=3.4)
    ax = axes[0, 0]
    sim = [r for r in table.rows if r["kind"] == "simulation" and r["panel"] == "error"]
    series = list(dict.fromkeys(r["series"] for r in sim))
    handles = []
    for i, s in enumerate(series):
        pts = [r for r in sim if r["series"] == s]
        D = s.split("=")[1]
        handles.append(ax.errorbar([r["x"] for r in pts], [r["y"] for r in pts],
                                   [3 * r["se"] for r in pts], fmt="o", ms=3, color=COLORS[i],
                                   mfc="white", zorder=5, label=f"PCA, D = {D} (±3 SE)"))
        th = {k: [r for r in table.rows if r["kind"] == "theory" and r["panel"] == "error"
                  and r["series"] == k and r["note"] == s] for k in
              ("theory_rms_error", "floor_random", "floor_worst", "theorem_bound")}
        fo = [r for r in th["theory_rms_error"] if np.isfinite(r["y"])]
        ax.plot([r["x"] for r in fo], [r["y"] for r in fo], color=COLORS[i], lw=1.2)
        fr = [r for r in th["floor_random"] if r["y"] > 0]
        ax.plot([r["x"] for r in fr], [r["y"] for r in fr], color=COLORS[i], ls="--", lw=1.2)
        if th["floor_worst"]:
            fw = [r for r in th["floor_worst"] if r["y"] > 0]
            ax.plot([r["x"] for r in fw], [r["y"] for r in fw], color="0.4", ls=":", lw=1.2)
            tb = [r for r in th["theorem_bound"] if np.isfinite(r["y"])]
            ax.plot([r["x"] for r in tb], [r["y"] for r in tb], color="0.55", lw=1.0, ls="-.")
    handles += [Line2D([], [], color="0.2", lw=1.2, label="first-order noise error"),
                Line2D([], [], color="0.2", ls="--", lw=1.2, label="random-completion floor"),
                Line2D([], [], color="0.4", ls=":", lw=1.2, label="worst-case floor"),
                Line2D([], [], color="0.55", ls="-.", lw=1.0,
                       label="Theorem 2 bound ($c_1$ unstated, set to 1)")]
    d = int(sim[0]["note"].split("=")[1])
    ax.axvline(d, color="0.7", lw=0.8)
    ax.text(d + 0.3, 0.012, "N = d", fontsize=6.5, color="0.35")
    ax.set_yscale("log")
    ax.set_xlabel("samples N (K = 1)")
    ax.set_ylabel(r"rms $\|\hat U\hat U^T - UU^T\|_F / \sqrt{2d}$")
    ax.set_title(f"(a) subspace error of PCA, d = {d}, noise 0.05")
    ax.legend(handles=handles, loc="upper right")
    ax = axes[0, 1]
    sim = [r for r in table.rows if r["kind"] == "simulation" and r["panel"] == "multinomial"]
    handles = []
    for i, s in enumerate(dict.fromkeys(r["series"] for r in sim)):
        pts = [r for r in sim if r["series"] == s]
        th = [r for r in table.rows if r["kind"] == "theory" and r["panel"] == "multinomial"
              and r["series"] == s]
        color = COLORS[2 + i]
        ax.plot([r["x"] for r in th], [r["y"] for r in th], color=color)
        ax.errorbar([r["x"] for r in pts], [r["y"] for r in pts], [3 * r["se"] for r in pts],
                    fmt="o", ms=3, color=color, mfc="white", zorder=5)
        handles.append(Line2D([], [], color=color, marker="o", mfc="white", ms=3,
                              label=s.replace("=", " = ")))
    handles += [Line2D([], [], color="0.2", label=r"exact Pr[min$_k\,N_k \geq d$]"),
                Line2D([], [], color="0.2", marker="o", ls="none", mfc="white", ms=3,
                       label="K-subspaces (±3 SE)")]
    ax.set_xlabel("total samples N (multinomial labels)")
    ax.set_ylabel("success rate")
    ax.set_title(f"(b) noiseless, {sim[0]['note'].replace('=', ' = ')}, multinomial labels")
    ax.legend(handles=handles, loc="lower right")
    save(fig, path)


# ----------------------------------------------------------------------------- generic network
def build_generic(preset="quick", device="auto", progress=None):
    g = PRESETS[preset]["generic"]
    t0 = time.perf_counter()
    tab = exp.generic_table(ds=g["ds"], Nks=g["Nks"], D=g["D"], steps=g["steps"], device=device,
                            progress=progress)
    rows = []
    for r in tab.rows:
        for panel, key in (("copies", "copy_fraction"), ("union", "union_distance")):
            rows.append(figure_row("simulation", panel, f"d={r['d']}", r["N_k"], r[key],
                                   note=f"{r['parameters']} parameters, {g['steps']} steps"))
    need = tab.meta["sample_need"]
    for d, n in need["need"].items():
        if n is not None:
            rows.append(figure_row("simulation", "need", f"d={d}", d, n, note="N_k at score 0.5"))
    parts = [f"d = {d}: N_k* = {n:.1f} ({n / d:.1f} d)" if n is not None else
             f"d = {d}: not reached" for d, n in need["need"].items()]
    slope = need["slope"]
    text = ("generic MLP (EDM), copies fall below half at " + "; ".join(parts)
            + (f"; slope of log N_k* against log d: {slope:.2f}" if slope is not None else ""))
    report = Report([holds(f"copies fall below half within the N_k range at d = {d}",
                           n is not None, n, "reached") for d, n in need["need"].items()], text)
    summary = report.summary(sample_need=need)
    return Table(list(COLUMNS), rows, dict(generic=tab.meta, sizes=g,
                                           build_seconds=time.perf_counter() - t0,
                                           summary=summary))


def plot_generic(table: Table, path):
    fig, axes = new_figure(2, 1, width=4.3, height=3.3)
    need = {r["series"]: r["y"] for r in table.rows if r["panel"] == "need"}
    for ax, panel, ylabel in (
            (axes[0, 0], "copies", "fraction of samples that are copies"),
            (axes[0, 1], "union", r"median min$_k\,\|x - U_kU_k^Tx\| / \|x\|$")):
        pts = [r for r in table.rows if r["panel"] == panel]
        for i, s in enumerate(dict.fromkeys(r["series"] for r in pts)):
            sel = [r for r in pts if r["series"] == s]
            d = int(s.split("=")[1])
            ax.plot([r["x"] / d for r in sel], [r["y"] for r in sel], "o-", color=COLORS[i],
                    mfc="white", ms=3.5, label=f"d = {d} (one run)")
            if panel == "copies" and s in need:   # where the copies fall below half
                ax.plot([need[s] / d] * 2, [0, 0.5], color=COLORS[i], ls="--", lw=0.9)
        ax.set_xscale("log")
        ax.set_xlabel("samples per component / d, $N_k / d$")
        ax.set_ylabel(ylabel)
    ax = axes[0, 0]
    ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
    ax.axvline(1.0, color="0.3", lw=1.0, label="ideal learner: $N_k = d$")
    ax.set_ylim(0, 1.05)
    ax.set_title("(a) copies fade with $N_k/d$ (dashed: $N_k^*$)")
    ax.legend(loc="upper right")
    ax = axes[0, 1]
    ax.set_ylim(0, None)
    ax.set_title("(b) sample quality (0 = on the union)")
    ax.legend(loc="lower right")
    g = table.meta.get("generic", {})
    params = table.rows[0]["note"] if table.rows else ""
    subtitle(fig, f"MoLRG, K = {g.get('K', 2)}, D = {g.get('D', 16)}, noiseless; MLP of width "
             f"{g.get('width', 128)}, depth {g.get('depth', 3)} ({params}); "
             f"{g.get('n_samples', 256)} samples generated per run")
    save(fig, path)


# --------------------------------------------------------------------------- gallery
_WZZ24 = "WZZ24"  # Wang, Zhang, Zhang, Chen, Ma, Qu 2024, arXiv:2409.02426

#: The gallery figures of this module (:mod:`lowdim.compare.figures`).
FIGURES = (
    FigureSpec(
        "wzz24-phase", "MoLRG: phase transition of subspace recovery at N_k = d", _WZZ24,
        "PCA (K = 1), K-subspaces (K = 2, 3) and the low-rank denoiser trained on the denoising "
        "loss all switch from failure to success at N_k = d samples per component, smeared by the "
        "noise just above it (dashed: where the first-order error reaches the threshold).",
        build_phase, plot_phase),
    FigureSpec(
        "wzz24-recovery", "MoLRG: subspace error against N, and multinomial labels", _WZZ24,
        "Below N = d PCA's error sits on the random-completion floor, above it on the first-order "
        "noise error, in every ambient dimension D; with multinomial labels the success rate is the "
        "exact probability that every component gets N_k >= d.",
        build_recovery, plot_recovery),
    FigureSpec(
        "wzz24-generic", "MoLRG: a generic network's sample need against d", _WZZ24,
        "A generic MLP denoiser trained on N_k samples per component copies its training points at "
        "small N_k and stops copying as N_k / d grows; the N_k where copies fall below half, and "
        "its slope against d, are stated (the ideal learner needs N_k = d).",
        build_generic, plot_generic),
)
