"""Overlays of theory lines and simulation points (matplotlib, no display needed)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["style", "new_figure", "overlay", "save", "LABELS", "COLORS"]

LABELS = {
    "test_error": "test error",
    "train_error": "train error",
    "train_error_reg": "train error (with ridge)",
    "score_error": "score error",
    "generalization_gap": "test - train",
    "psi_p": r"$\psi_p = p/d$",
    "psi_n": r"$\psi_n = n/d$",
    "lam": r"ridge $\lambda$",
    "t": "diffusion time t",
}
COLORS = ["#1f4e9c", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#b7950b"]
_STYLE = {
    "figure.dpi": 110, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 10,
    "axes.labelsize": 9, "legend.fontsize": 7.5, "axes.grid": True, "grid.alpha": 0.25,
    "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.6,
    "errorbar.capsize": 2.0,
}


def style():
    """Apply the house style (call once before plotting)."""
    plt.rcParams.update(_STYLE)


def new_figure(ncols=1, nrows=1, width=4.2, height=3.2):
    style()
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, axes


def overlay(ax, x_theory, y_theory, *, color, label=None, linestyle="-", x_sim=None, y_sim=None,
            se_sim=None, marker="o", sim_label=None, z=3.0):
    """A theory line and, optionally, simulation points with ``z``-standard-error bars."""
    y_theory = np.asarray(y_theory, dtype=float)
    ax.plot(x_theory, y_theory, color=color, linestyle=linestyle, label=label)
    if x_sim is not None and len(x_sim):
        yerr = None if se_sim is None else z * np.asarray(se_sim, dtype=float)
        ax.errorbar(x_sim, y_sim, yerr=yerr, fmt=marker, color=color, markersize=4.0,
                    markerfacecolor="white", markeredgewidth=1.2, elinewidth=1.0,
                    label=sim_label, zorder=5)


def save(fig, path, rect=None, colorbar=None):
    """Lay out (within ``rect`` of the figure when given, e.g. to leave room for a shared
    legend), write and close.  ``colorbar=(mappable, label)`` adds one colorbar in the right
    margin that ``rect`` leaves free."""
    fig.tight_layout(rect=rect)
    if colorbar is not None:
        right = rect[2] if rect is not None else 0.9
        cax = fig.add_axes([right + 0.02, 0.15, 0.018, 0.7])
        fig.colorbar(colorbar[0], cax=cax, label=colorbar[1])
    fig.savefig(path)
    plt.close(fig)
