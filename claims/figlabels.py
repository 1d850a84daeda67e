"""Point labels that never overlap: a greedy placement in display space.

Scatter plots of accelerators crowd (several chips share a year, or a bandwidth and a peak), so
labels printed at a fixed offset land on each other. Here each label tries positions around its
point, nearest first, and takes the first one that leaves every placed label, every marker and
the axes' edge clear; a label set further out gets a thin leader line back to its point. Points
at the same spot share one label. The search is deterministic, so the SVG is byte-identical.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from .figstyle import INK, LABEL_SIZE, plain_log_labels

#: Distances from the point (in points) tried in turn, and directions tried at each, as angles.
RADII = (3.0, 7.0, 12.0, 18.0, 26.0, 36.0, 48.0, 62.0)
ANGLES = tuple(math.radians(a) for a in (0, 180, 90, 270, 45, 135, 315, 225, 22.5, 157.5, 337.5, 202.5, 67.5, 112.5))
#: Points closer than this (in points) share a label; a marker's half-width kept clear.
SAME_SPOT = 2.5
MARKER_RADIUS = 4.0
#: Beyond this distance a leader line joins the label to its point.
LEADER_FROM = 7.0
GAP = (4.0, 1.5)  # points of air kept between two labels, across and up


@dataclass(frozen=True)
class _Group:
    x: float  # data coordinates of the first point
    y: float
    px: float  # display coordinates
    py: float
    names: tuple[str, ...]


def _groups(ax: Axes, points: Sequence[tuple[float, float, str]], scale: float) -> list[_Group]:
    """Points merged where they print on one spot (within SAME_SPOT points)."""
    groups: list[_Group] = []
    for x, y, name in points:
        px, py = (float(v) for v in ax.transData.transform((x, y)))
        for i, g in enumerate(groups):
            if math.hypot(g.px - px, g.py - py) <= SAME_SPOT * scale:
                groups[i] = _Group(g.x, g.y, g.px, g.py, (*g.names, name))
                break
        else:
            groups.append(_Group(x, y, px, py, (name,)))
    return groups


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area two boxes share (zero when they only touch or are apart)."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def place_labels(
    ax: Axes, points: Sequence[tuple[float, float, str]], fontsize: float = LABEL_SIZE
) -> list[Annotation]:
    """Label every point (x, y, name) in data coordinates without one label covering another.

    Fixes the figure's layout first (a later layout pass would move the axes under the labels).
    Crowded points choose first, so they get the nearest free spots.
    """
    fig = ax.get_figure(root=True)
    assert fig is not None
    plain_log_labels(fig)  # the tick labels the SVG will show, so the layout measured here is the final one
    fig.canvas.draw()
    fig.set_layout_engine("none")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    scale = fig.dpi / 72  # display pixels per point
    groups = _groups(ax, points, scale)
    frame = ax.get_window_extent(renderer).padded(-2 * scale)
    markers = [
        Bbox.from_bounds(g.px - MARKER_RADIUS * scale, g.py - MARKER_RADIUS * scale, *(2 * MARKER_RADIUS * scale,) * 2)
        for g in groups
    ]
    legend = ax.get_legend()
    blocked = [*markers, *([legend.get_window_extent(renderer)] if legend is not None else [])]

    def crowding(g: _Group) -> tuple[int, str]:
        near = sum(math.hypot(g.px - o.px, g.py - o.py) < 40 * scale for o in groups)
        return (-near, g.names[0])

    placed: list[Annotation] = []
    for g in sorted(groups, key=crowding):
        text = ", ".join(g.names)
        probe = ax.text(0, 0, text, fontsize=fontsize, ha="center", va="center")
        extent = probe.get_window_extent(renderer)
        probe.remove()
        w, h = extent.width + GAP[0] * scale, extent.height + GAP[1] * scale
        best: tuple[float, float, float, Bbox] | None = None  # (overlap, radius, angle, box)
        for radius in RADII:
            r = radius * scale
            for angle in ANGLES:
                ux, uy = math.cos(angle), math.sin(angle)
                cx, cy = g.px + ux * (r + w / 2), g.py + uy * (r + h / 2)
                box = Bbox.from_bounds(cx - w / 2, cy - h / 2, w, h)
                outside = box.x0 < frame.x0 or box.x1 > frame.x1 or box.y0 < frame.y0 or box.y1 > frame.y1
                cost = sum(_overlap(box, other) for other in blocked) + (1e9 if outside else 0.0)
                if best is None or cost < best[0]:
                    best = (cost, radius, angle, box)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        _, radius, _, box = best
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
        leader = {"arrowstyle": "-", "color": INK, "lw": 0.8, "alpha": 0.7, "shrinkB": MARKER_RADIUS * 0.6}
        placed.append(
            ax.annotate(
                text,
                (g.x, g.y),
                xytext=((cx - g.px) / scale, (cy - g.py) / scale),
                textcoords="offset points",
                ha="center",
                va="center",
                fontsize=fontsize,
                arrowprops=leader if radius >= LEADER_FROM else None,
                annotation_clip=False,
            )
        )
        blocked.append(box)
    return placed
