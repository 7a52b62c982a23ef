"""Pictures of the random-features training dynamics, drawn from their tables alone."""
from __future__ import annotations

import numpy as np

from .plots import COLORS, new_figure, save, subtitle

__all__ = ["plot_spectrum"]


def _settings(table):
    keys = ("psi_n", "psi_p", "t", "activation")
    return list(dict.fromkeys(tuple(r[k] for k in keys) for r in table.rows))


def plot_spectrum(table, path):
    """One panel per bulk scale: the theory's density of U (lines), simulated histograms
    (points with 1 SE bars) and atoms (stems, height = mass), one colour per m."""
    spectra = table.meta["spectra"]
    # the bulks of U live on scales decades apart: the lowest and the highest bulk of every
    # setting each get a panel
    first = [s["bulks"][0] for s in spectra]
    last = [s["bulks"][-1] for s in spectra]
    ranges = [(min(b[0] for b in first), max(b[1] for b in first)),
              (min(b[0] for b in last), max(b[1] for b in last))]
    if max(len(s["bulks"]) for s in spectra) == 1:
        ranges = ranges[1:]
    fig, axes = new_figure(len(ranges), 1, width=4.2 * len(ranges) / 1.3, height=3.2)
    ms = list(dict.fromkeys(str(s["setting"]["m"]) for s in spectra))
    for ax, (lo, hi) in zip(axes[0], ranges):
        pad = min(0.06 * (hi - lo), 0.2 * abs(lo)) if lo > 0 else 0.06 * (hi - lo)
        for i, m in enumerate(ms):
            color = COLORS[i % len(COLORS)]
            sim_m = next((str(s.get("simulated_m")) for s in spectra
                          if str(s["setting"]["m"]) == m and "simulated_m" in s), None)
            for shown, style in ((m, "-"), (sim_m, "--")):
                if shown is None or (shown == m and style == "--"):
                    continue
                th = [r for r in table.rows if r["kind"] == "theory" and str(r["m"]) == shown
                      and lo - pad <= r["x"] <= hi + pad]
                if th:
                    order = np.argsort([r["x"] for r in th])
                    ax.plot(np.array([r["x"] for r in th])[order],
                            np.array([r["density"] for r in th])[order], color=color, lw=1.3,
                            ls=style, label=f"theory, m = {shown}")
            for r in table.rows:
                if r["kind"] == "atom" and str(r["m"]) == m and lo - pad <= r["x"] <= hi + pad:
                    ax.axvline(r["x"], color=color, ls=":", lw=1.0)
            sim = [r for r in table.rows if r["kind"] == "simulation" and str(r["m"]) == sim_m
                   and lo - pad <= r["x"] <= hi + pad]
            if sim:
                ax.errorbar([r["x"] for r in sim], [r["density"] for r in sim],
                            [r["density_se"] for r in sim], fmt="o", ms=2.5, color=color,
                            ls="none", label=f"simulation, m = {sim_m}")
        ax.set_xlim(lo - max(pad, 0.06 * (hi - lo) if lo <= 0 else pad), hi + 0.06 * (hi - lo))
        ax.set_xlabel("eigenvalue u of U")
        ax.set_ylabel("density ρ(u)")
        ax.set_title(f"bulk [{lo:.3g}, {hi:.3g}]")
        ax.legend()
    s = spectra[0]["setting"]
    subtitle(fig, rf"spectrum of U: $\psi_n$ = {s['psi_n']:g}, $\psi_p$ = {s['psi_p']:g}, "
                  f"t = {s['t']:g}, {s['activation']} (atoms dotted)")
    save(fig, path)
