"""The project's figure style: paper sizes, fonts, colours, axes that read at a glance.

Every gallery figure and every CLI ``--plot`` is drawn through :func:`new_figure` and
written through :func:`save`, so the rules below hold everywhere:

* **Sizes.**  A figure is laid out at the width a paper prints it: one column
  (:data:`PAPER_WIDTH` ``"single"``, 3.4 in) for one panel, two columns (7.0 in) for more;
  fonts are 8 pt at that size.  A figure's requested proportions are kept.
* **Colours.**  :data:`COLORS` is the Okabe-Ito palette, ordered so that neighbours differ
  in lightness (readable in greyscale and with the common colour-vision deficiencies);
  :data:`MARKERS` and :data:`LINESTYLES` give a second cue.
* **Ticks.**  A log axis spanning less than about two decades is labelled with plain
  numbers at 1, 2, 5 × 10^k; minor ticks carry no labels; tick labels that would still
  overlap are thinned (every k-th kept) after layout.
* **Legends.**  After layout a legend that covers more than :data:`LEGEND_SHARE` of its
  panel's data is moved to the free corner, or outside the panel when no corner is free.
* **Output.**  :func:`save` writes the file ``path`` names and, inside
  :func:`also_save`, further copies (the gallery's PDF beside each PNG); inside
  :func:`checking`, :func:`lowdim.compare.figure_check.check_figure` inspects the figure
  before it is closed.
"""
from __future__ import annotations

import contextlib
import contextvars
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402

from .figure_check import (LEGEND_SHARE, check_figure, covered_share,  # noqa: E402
                           data_points, overlapping, tick_labels)

__all__ = ["style", "new_figure", "overlay", "save", "also_save", "checking", "subtitle",
           "shared_legend", "integer_ticks", "value_ticks", "tolerance_band", "LABELS",
           "COLORS", "MARKERS", "LINESTYLES", "PAPER_WIDTH", "LEGEND_SHARE"]

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
#: Okabe & Ito (2008) colour-blind-safe palette: blue, orange, bluish green, vermillion,
#: reddish purple, sky blue, black, grey; neighbours differ in lightness.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
          "#999999"]
#: A second cue per series, for greyscale print.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]
#: Printed widths in inches: one column and the full text width of a two-column paper.
PAPER_WIDTH = {"single": 3.4, "double": 7.0}
#: A panel is never shorter than this (inches), whatever proportions were asked for.
_MIN_PANEL_HEIGHT = 1.55

_STYLE = {
    "figure.dpi": 100, "savefig.dpi": 200, "font.size": 8, "axes.titlesize": 8,
    "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7, "legend.fontsize": 6.5,
    "legend.framealpha": 0.85, "legend.borderaxespad": 0.3, "legend.handlelength": 1.8,
    "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.5,
    "axes.spines.top": False, "axes.spines.right": False, "axes.linewidth": 0.6,
    "lines.linewidth": 1.2, "lines.markersize": 4.0, "errorbar.capsize": 1.5,
    "axes.prop_cycle": matplotlib.cycler(color=COLORS), "pdf.fonttype": 42,
    "svg.fonttype": "none", "axes.titlepad": 4.0, "mathtext.default": "regular",
}

_EXTRA = contextvars.ContextVar("lowdim_plot_extra", default=())
_CHECKS = contextvars.ContextVar("lowdim_plot_checks", default=None)


def style():
    """Apply the house style (``new_figure`` does)."""
    plt.rcParams.update(_STYLE)


def new_figure(ncols=1, nrows=1, width=4.2, height=3.2, *, column=None, **subplot_kw):
    """A grid of ``nrows × ncols`` panels at paper size.

    ``width`` and ``height`` give a panel's proportions; the figure is scaled to the
    ``column`` width (``"single"`` or ``"double"``; by default single for one panel, double
    for more), and each panel kept at least 1.55 in tall."""
    style()
    column = column or ("single" if ncols == 1 else "double")
    if column not in PAPER_WIDTH:
        raise ValueError(f"column: must be one of {', '.join(PAPER_WIDTH)} (got {column!r})")
    scale = PAPER_WIDTH[column] / (width * ncols)
    panel_h = max(height * scale, _MIN_PANEL_HEIGHT)
    fig, axes = plt.subplots(nrows, ncols, figsize=(PAPER_WIDTH[column], panel_h * nrows),
                             squeeze=False, **subplot_kw)
    return fig, axes


def overlay(ax, x_theory, y_theory, *, color, label=None, linestyle="-", x_sim=None, y_sim=None,
            se_sim=None, marker="o", sim_label=None, z=3.0):
    """A theory line and, optionally, simulation points with ``z``-standard-error bars."""
    y_theory = np.asarray(y_theory, dtype=float)
    ax.plot(x_theory, y_theory, color=color, linestyle=linestyle, label=label)
    if x_sim is not None and len(x_sim):
        se = np.zeros(len(x_sim)) if se_sim is None else np.asarray(se_sim, dtype=float)
        ax.errorbar(x_sim, y_sim, yerr=z * se, fmt=marker, color=color, markersize=3.5,
                    markerfacecolor="white", markeredgewidth=1.0, elinewidth=0.9,
                    label=sim_label, zorder=5)


def subtitle(fig, text, *, size=6.5):
    """State the setting (say ``ψ_n = 2, t = 0.1, λ = 1e-3, tanh``) in a line above the
    panels; :func:`save` leaves room for it."""
    fig._lowdim_subtitle = fig.text(0.5, 0.995, text, ha="center", va="top", fontsize=size,
                                    color="#333333")
    return fig._lowdim_subtitle


def shared_legend(fig, handles=None, labels=None, *, ncol=None, axes=None):
    """One legend for all panels, centred below them (entries gathered from ``axes``, or
    every panel, without repeats).  :func:`save` makes room for it."""
    if handles is None:
        seen = {}
        for ax in (axes if axes is not None else fig.axes):
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if not lab.startswith("_") and lab not in seen:
                    seen[lab] = h
        labels, handles = list(seen), list(seen.values())
    ncol = ncol or min(len(labels), 4)
    leg = fig.legend(handles, labels, loc="lower center", ncol=max(ncol, 1),
                     bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig._lowdim_legend = leg
    return leg


def integer_ticks(ax, axis="x"):
    """Ticks at integers only on ``axis`` (a count such as N_k or m)."""
    getattr(ax, f"{axis}axis").set_major_locator(ticker.MaxNLocator(integer=True))


def value_ticks(ax, values, axis="x"):
    """Ticks exactly at ``values`` (say the d = 8, 16, 32 simulated), labelled as plain
    numbers, on a linear or log axis."""
    values = sorted({float(v) for v in values})
    a = getattr(ax, f"{axis}axis")
    a.set_major_locator(ticker.FixedLocator(values))
    a.set_major_formatter(ticker.FuncFormatter(_plain))
    a.set_minor_formatter(ticker.NullFormatter())
    a._lowdim_fixed = True


def tolerance_band(ax, pct, least=6.0):
    """A residual row's frame: the verdict's ``±pct`` % band, the zero line, the y label
    and a y range of at least ``±least``."""
    ax.axhspan(-pct, pct, color="0.86", lw=0, zorder=0)
    ax.axhline(0.0, color="k", lw=0.6, zorder=1)
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, -least), max(hi, least))
    ax.set_ylabel("sim/theory − 1 [%]")


@contextlib.contextmanager
def also_save(*paths):
    """Inside, :func:`save` also writes each of ``paths`` (atomically; format from the
    extension), say a PDF beside the PNG."""
    token = _EXTRA.set(tuple(paths))
    try:
        yield
    finally:
        _EXTRA.reset(token)


@contextlib.contextmanager
def checking(*, setting=False):
    """Inside, :func:`save` checks each figure (:func:`lowdim.compare.figure_check.
    check_figure`, with ``setting``: whether the figure must state its setting) before
    closing it; yields the list of ``(path, problems)``."""
    found = []
    token = _CHECKS.set((found, setting))
    try:
        yield found
    finally:
        _CHECKS.reset(token)


def save(fig, path, rect=None, colorbar=None):
    """Lay out, tidy the axes, write and close.

    ``rect`` keeps the panels inside part of the figure (say to leave room for a shared
    legend); ``colorbar=(mappable, label)`` adds one colour bar in the right margin that
    ``rect`` leaves free.  Then log ticks are made readable, overlapping tick labels
    thinned and legends that cover data moved (see the module docstring)."""
    for ax in fig.axes:
        _tidy_log_ticks(ax)
    _wrap_titles(fig)
    rect = _room(fig, rect)
    _layout(fig, rect)
    if colorbar is not None:
        right = rect[2] if rect is not None else 0.9
        cax = fig.add_axes([right + 0.02, 0.15, 0.018, 0.7])
        fig.colorbar(colorbar[0], cax=cax, label=colorbar[1])
        cax._lowdim_colorbar = True
    _thin_overlapping_ticks(fig)
    for _ in range(3):   # a legend moved outside changes the other panels' sizes
        if not _place_legends(fig):
            break
        _layout(fig, rect)
        _thin_overlapping_ticks(fig)
    _write(fig, path)
    if _EXTRA.get():
        from .atomic import write_with

        for extra in _EXTRA.get():
            write_with(extra, lambda p: _write(fig, p))
    if _CHECKS.get() is not None:
        found, setting = _CHECKS.get()
        found.append((str(path), check_figure(fig, setting=setting)))
    plt.close(fig)


# ------------------------------------------------------------------------------- internals
#: Metadata left out of vector files, so that redrawing the same data gives the same bytes.
_NO_DATE = {".pdf": {"CreationDate": None}, ".svg": {"Date": None}}


def _write(fig, path):
    """``fig`` to ``path`` in the format of its extension, with no date stamped in."""
    import os

    fig.savefig(path, metadata=_NO_DATE.get(os.path.splitext(str(path))[1].lower()))


def _plain(value, pos=None) -> str:
    """A tick label as a plain number (``0.02``, ``200``), or ``a×10^k`` beyond that."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else ""
    a = abs(value)
    if 1e-3 <= a < 1e5:
        text = f"{value:.0f}" if value == round(value) else f"{value:.3g}"
        return text.replace("-", "\u2212")
    exp = math.floor(math.log10(a) + 1e-12)
    mant = value / 10 ** exp
    if abs(mant - round(mant)) < 1e-9 and round(mant) == 1:
        return rf"$10^{{{exp}}}$"
    return rf"${mant:.2g}\times10^{{{exp}}}$"


def _tidy_log_ticks(ax):
    for name in ("x", "y"):
        axis = getattr(ax, f"{name}axis")
        if getattr(ax, f"get_{name}scale")() != "log" or getattr(axis, "_lowdim_fixed", False):
            continue
        lo, hi = sorted(getattr(ax, f"get_{name}lim")())
        if not (lo > 0 and math.isfinite(hi)):
            continue
        axis.set_minor_formatter(ticker.NullFormatter())
        if math.log10(hi / lo) < 1.8:   # fewer than two decades: plain 1, 2, 5 x 10^k
            axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(ticker.FuncFormatter(_plain))


def _words_of(text: str) -> list:
    """``text`` split at spaces outside ``$...$`` math."""
    words = []
    for piece in text.replace("\n", " ").split(" "):
        if words and words[-1].count("$") % 2:
            words[-1] += " " + piece
        else:
            words.append(piece)
    return words


def _wrap(text, renderer, width) -> str:
    """``text`` broken at spaces into lines no wider than ``width`` pixels (as drawn)."""
    drawn = text.get_window_extent(renderer).width
    if drawn <= width:
        return text.get_text()
    per_line = max(int(width / (drawn / max(len(text.get_text()), 1))), 8)
    lines = []
    for word in _words_of(text.get_text()):
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def _wrap_titles(fig):
    """Break panel titles wider than their panel, and a figure title wider than the
    figure, into lines."""
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        if ax.get_title():
            ax.title.set_text(_wrap(ax.title, renderer, ax.bbox.width * 1.05))
    if fig._suptitle is not None:
        fig._suptitle.set_text(_wrap(fig._suptitle, renderer, fig.bbox.width * 0.96))


def _room(fig, rect):
    """Shrink ``rect`` to leave room for a subtitle and a shared legend."""
    if not (hasattr(fig, "_lowdim_subtitle") or hasattr(fig, "_lowdim_legend")):
        return rect
    left, bottom, right, top = rect if rect is not None else (0, 0, 1, 1)
    height = fig.get_size_inches()[1]
    if hasattr(fig, "_lowdim_subtitle"):
        top = min(top, 1 - 0.16 / height)
    if hasattr(fig, "_lowdim_legend"):
        fig.draw_without_rendering()
        box = fig._lowdim_legend.get_window_extent()
        bottom = max(bottom, box.height / fig.bbox.height + 0.01)
    return (left, bottom, right, top)


def _layout(fig, rect):
    """``tight_layout`` within ``rect``; beside colour bars it lays out the panels only,
    and its warning that it cannot place them is expected."""
    import warnings

    bars = any(getattr(ax, "_lowdim_colorbar", False) or hasattr(ax, "_colorbar")
               for ax in fig.axes)
    with warnings.catch_warnings():
        if bars:
            warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout(rect=rect, pad=0.4, h_pad=0.6, w_pad=0.6)


def _thin_overlapping_ticks(fig):
    fig.draw_without_rendering()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labelled = [(loc, box) for loc, box, _ in tick_labels(axis)]
            if not overlapping([b for _, b in labelled]):
                continue
            locs = [loc for loc, _ in labelled]
            log = axis.get_scale() == "log"
            for k in range(2, len(locs) + 1):
                keep = _every(locs, k, log)
                boxes = [b for loc, b in labelled if loc in keep]
                if not overlapping(boxes):
                    break
            fmt = axis.get_major_formatter()
            axis.set_major_locator(ticker.FixedLocator(keep))
            axis.set_major_formatter(fmt)
            axis._lowdim_fixed = True


def _every(locs, k, log):
    """Every ``k``-th of ``locs``, anchored on a decade on a log axis."""
    start = 0
    if log:
        decades = [i for i, v in enumerate(locs) if abs(math.log10(v) - round(math.log10(v)))
                   < 1e-9]
        if decades:
            start = decades[0] % k
    return locs[start::k]


_CORNERS = ("upper right", "upper left", "lower left", "lower right", "center right",
            "center left", "upper center", "lower center")


def _place_legends(fig) -> bool:
    """Move each panel legend that covers more than :data:`LEGEND_SHARE` of its data: to
    the corner covering least; failing that, to an upper corner with the y range extended
    to make head-room (at most 1.7 times its height); failing that, outside the panel on
    the right.  Returns whether any moved (the layout is then redone)."""
    moved = False
    fig.draw_without_rendering()
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None or getattr(leg, "_lowdim_outside", False):
            continue
        if covered_share(leg, data_points(ax)) <= LEGEND_SHARE:
            continue
        moved = True
        if _best_corner(ax, leg, _CORNERS) or _headroom(ax, leg):
            continue
        leg.set_loc("upper left")
        leg.set_bbox_to_anchor((1.02, 1.0), transform=ax.transAxes)
        leg._lowdim_outside = True
    return moved


def _best_corner(ax, leg, corners) -> bool:
    """Put ``leg`` in the corner of ``corners`` covering least data; whether that is within
    :data:`LEGEND_SHARE`."""
    pts = data_points(ax)
    best = (math.inf, None)
    for loc in corners:
        leg.set_loc(loc)
        share = covered_share(leg, pts)
        if share < best[0]:
            best = (share, loc)
        if share == 0:
            break
    leg.set_loc(best[1])
    return best[0] <= LEGEND_SHARE


def _headroom(ax, leg) -> bool:
    """Extend the y range upwards step by step until an upper corner is free."""
    lo, hi = ax.get_ylim()
    log = ax.get_yscale() == "log"
    for grow in (1.15, 1.3, 1.5, 1.7):
        if log:
            ax.set_ylim(lo, lo * (hi / lo) ** grow)
        else:
            ax.set_ylim(lo, lo + (hi - lo) * grow)
        if _best_corner(ax, leg, ("upper right", "upper left", "upper center")):
            return True
    ax.set_ylim(lo, hi)
    return False
