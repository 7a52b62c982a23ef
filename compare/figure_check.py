"""What a machine can check of a figure before a reader sees it.

:func:`check_figure` returns one line per problem found in a drawn figure:

* a panel with data and no axis label (a label on a panel that shares the axis, or a
  figure-wide ``supxlabel``/``supylabel``, counts; categorical ticks need no x label);
* tick labels of one axis that overlap, or any panel's labels, title or tick labels that
  overlap another panel's;
* text that runs past the figure's edge (clipped in the file);
* a legend covering more than :data:`LEGEND_SHARE` of its panel's data;
* simulation points (markers without a line) drawn without error bars; an artist whose
  ``gid`` starts with ``"no-se"`` (a single exact evaluation, say) is exempt;
* with ``setting=True``, a figure that does not state its setting in a subtitle.
"""
from __future__ import annotations

import matplotlib.collections
import numpy as np
from matplotlib.container import ErrorbarContainer

__all__ = ["check_figure", "overlapping", "data_points", "covered_share", "tick_labels",
           "LEGEND_SHARE"]

#: The largest share of a panel's data points a legend may cover.
LEGEND_SHARE = 0.03


def check_figure(fig, *, setting=False) -> list:
    """The problems of ``fig`` (drawn here), one line each; empty when it passes.
    ``setting``: the figure must also state its setting (:func:`lowdim.compare.plots.
    subtitle`), as every CLI ``--plot`` does."""
    fig.draw_without_rendering()
    panels = [ax for ax in fig.axes if ax.get_visible() and not _is_colorbar(ax)]
    problems = []
    for i, ax in enumerate(panels):
        name = _name(ax, i)
        if _has_data(ax):
            problems += [f"{name}: no {axis} label" for axis in ("x", "y")
                         if not _labelled(fig, ax, axis)]
            problems += _errorbars_missing(ax, name)
        for axis in (ax.xaxis, ax.yaxis):
            boxes = _tick_boxes(axis)
            if overlapping(boxes):
                problems.append(f"{name}: {axis.axis_name} tick labels overlap "
                                f"({', '.join(_tick_texts(axis))})")
        leg = ax.get_legend()
        if leg is not None and leg.get_visible():
            share = covered_share(leg, data_points(ax))
            if share > LEGEND_SHARE:
                problems.append(f"{name}: legend covers {100 * share:.0f} % of the data")
    problems += _panels_collide(panels)
    problems += _legend_collides(fig, panels)
    problems += _clipped_text(fig)
    if setting and not str(getattr(getattr(fig, "_lowdim_subtitle", None), "get_text",
                                   lambda: "")()).strip():
        problems.append("the setting is not stated (lowdim.compare.plots.subtitle)")
    return problems


def _is_colorbar(ax) -> bool:
    return hasattr(ax, "_colorbar") or getattr(ax, "_lowdim_colorbar", False)


def _name(ax, i) -> str:
    title = ax.get_title() or ax.get_title(loc="left")
    return f"panel {i + 1}" + (f" ({title[:40]})" if title else "")


def _has_data(ax) -> bool:
    """Whether the panel plots data against axes (a picture with no ticks, say a grid of
    samples, does not)."""
    if not ax.axison or not (len(ax.get_xticks()) or len(ax.get_yticks())):
        return False
    return bool(ax.lines or ax.collections or ax.images or ax.patches)


def _labelled(fig, ax, axis) -> bool:
    if getattr(ax, f"get_{axis}label")():
        return True
    sup = getattr(fig, f"_sup{axis}label", None)
    if sup is not None and sup.get_text():
        return True
    shared = getattr(ax, f"get_shared_{axis}_axes")()
    if any(getattr(other, f"get_{axis}label")() for other in shared.get_siblings(ax)):
        return True
    if axis == "x":   # categories named at the ticks
        texts = _tick_texts(ax.xaxis)
        return any(_words(t) for t in texts)
    return False


def _words(text) -> bool:
    """Whether a tick label names a category rather than a number."""
    for command in ("\\times", "\\mathdefault", "\\cdot"):
        text = text.replace(command, "")
    return any(ch.isalpha() for ch in text)


def tick_labels(axis) -> list:
    """The tick labels the file shows on ``axis`` (visible, non-empty, in the view), as
    ``(location, window extent, text)``."""
    lo, hi = sorted(axis.get_view_interval())
    renderer = axis.figure.canvas.get_renderer()
    return [(t.get_loc(), t.label1.get_window_extent(renderer), t.label1.get_text())
            for t in axis.get_major_ticks()
            if t.get_visible() and t.label1.get_visible() and t.label1.get_text()
            and lo <= t.get_loc() <= hi]


def _tick_boxes(axis):
    return [box for _, box, _ in tick_labels(axis)]


def _tick_texts(axis):
    return [text for _, _, text in tick_labels(axis)]


def _errorbars_missing(ax, name):
    with_bars = set()
    for c in ax.containers:
        if isinstance(c, ErrorbarContainer):
            data_line, caplines, _ = c.lines
            with_bars.update(id(line) for line in (data_line, *caplines) if line is not None)
    out = []
    for line in ax.lines:
        if id(line) in with_bars or str(line.get_gid() or "").startswith("no-se"):
            continue
        markers_only = line.get_linestyle() in ("None", "", " ") and line.get_marker() not in (
            None, "None", "", " ")
        if markers_only and len(np.atleast_1d(line.get_xdata())):
            label = line.get_label()
            what = "" if label.startswith("_") else f" ({label})"
            out.append(f"{name}: points without error bars{what}")
    return out


def _decorations(ax):
    renderer = ax.figure.canvas.get_renderer()
    texts = [ax.xaxis.label, ax.yaxis.label, ax.title, ax._left_title, ax._right_title]
    boxes = [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]
    return boxes + _tick_boxes(ax.xaxis) + _tick_boxes(ax.yaxis)


def _legend_collides(fig, panels):
    """A legend over any panel's title, axis labels or tick labels."""
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in panels:
        leg = ax.get_legend()
        if leg is None or not leg.get_visible():
            continue
        box = leg.get_window_extent(renderer)
        for other in panels:
            if any(overlapping([box, b]) for b in _decorations(other)):
                out.append(f"{_name(ax, panels.index(ax))}: legend over the labels of "
                           f"{_name(other, panels.index(other))}")
                break
    return out


def _panels_collide(panels):
    out = []
    for i in range(len(panels)):
        for j in range(i + 1, len(panels)):
            a, b = panels[i], panels[j]
            boxes_a, boxes_b = _decorations(a), _decorations(b)
            hit = any(overlapping([x, y]) for x in boxes_a for y in boxes_b)
            if not hit:   # decorations over the other panel's plotting area
                hit = any(overlapping([x, b.bbox]) for x in boxes_a) or any(
                    overlapping([y, a.bbox]) for y in boxes_b)
            if hit:
                out.append(f"{_name(a, i)} and {_name(b, j)}: labels overlap")
    return out


def _drawn_texts(fig):
    """Every text the file shows: the figure's, each panel's title, labels, in-range tick
    labels, annotations and legend entries."""
    texts = list(fig.texts)
    for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        if leg is not None:
            texts += [*leg.get_texts(), leg.get_title()]
    for ax in fig.axes:
        texts += [ax.xaxis.label, ax.yaxis.label, ax.title, ax._left_title, ax._right_title]
        texts += [t for t in ax.texts if not t.get_clip_on()]
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            texts += [t.label1 for t in axis.get_major_ticks()
                      if t.get_visible() and lo <= t.get_loc() <= hi]
    return [t for t in texts if t.get_visible() and str(t.get_text()).strip()]


def _clipped_text(fig):
    renderer = fig.canvas.get_renderer()
    W, H = fig.bbox.width, fig.bbox.height
    out = []
    for text in _drawn_texts(fig):
        box = text.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > W + 1 or box.y1 > H + 1:
            out.append(f"text {str(text.get_text())[:30]!r} runs past the figure's edge")
    return out


# ------------------------------------------------ geometry shared with the style
def overlapping(boxes, pad=1.0) -> bool:
    """Whether any two of the window extents ``boxes`` overlap (by more than ``pad`` px)."""
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            if (min(a.x1, b.x1) - max(a.x0, b.x0) > pad
                    and min(a.y1, b.y1) - max(a.y0, b.y0) > pad):
                return True
    return False


def data_points(ax) -> np.ndarray:
    """The panel's data in display coordinates: line vertices (lines sampled densely),
    error-bar ends, scatter points and colour-mesh cell centres."""
    pts = []
    trans = ax.transData
    for line in ax.lines:
        if not line.get_visible():
            continue
        xy = np.column_stack([np.asarray(line.get_xdata(), float),
                              np.asarray(line.get_ydata(), float)])
        if not len(xy):
            continue
        disp = line.get_transform().transform(xy)
        disp = disp[np.all(np.isfinite(disp), axis=1)]
        if line.get_linestyle() not in ("None", "", " ") and len(disp) > 1:
            seg = np.linspace(0, 1, 12)[:, None, None]
            disp = (disp[:-1][None] * (1 - seg) + disp[1:][None] * seg).reshape(-1, 2)
        pts.append(disp)
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, matplotlib.collections.QuadMesh):
            c = coll.get_coordinates()
            centres = 0.25 * (c[:-1, :-1] + c[1:, :-1] + c[:-1, 1:] + c[1:, 1:])
            pts.append(trans.transform(centres.reshape(-1, 2)))
            continue
        offsets = coll.get_offsets()
        if len(offsets) and isinstance(coll, matplotlib.collections.PathCollection):
            pts.append(coll.get_offset_transform().transform(offsets))
        elif isinstance(coll, matplotlib.collections.LineCollection):
            for seg in coll.get_segments():
                if len(seg):
                    pts.append(trans.transform(np.asarray(seg, float)))
    for im in ax.images:
        x0, x1, y0, y1 = im.get_extent()
        gx, gy = np.meshgrid(np.linspace(x0, x1, 12), np.linspace(y0, y1, 12))
        pts.append(trans.transform(np.column_stack([gx.ravel(), gy.ravel()])))
    if not pts:
        return np.zeros((0, 2))
    allpts = np.concatenate(pts)
    box = ax.bbox
    inside = ((allpts[:, 0] >= box.x0) & (allpts[:, 0] <= box.x1)
              & (allpts[:, 1] >= box.y0) & (allpts[:, 1] <= box.y1))
    return allpts[inside]


def covered_share(legend, points) -> float:
    """The share of ``points`` (display coordinates) under ``legend``'s box."""
    if not len(points):
        return 0.0
    box = legend.get_window_extent()
    inside = ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
              & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1))
    return float(inside.mean())
