"""Point labels that never overlap: a greedy placement in display space.

Scatter plots of accelerators crowd (several chips share a year, or a bandwidth and a peak), so
labels printed at a fixed offset land on each other. Here each label tries positions around its
point, nearest first, and takes the first one that leaves every placed label, every marker and
the axes' edge clear; a label set further out gets a thin leader line back to its point. Points
of one kind (one vendor's marker) at the same spot share one label; markers of different kinds that
would print on one spot are first set side by side (:func:`side_by_side`), so no marker hides
another and no label names a point the reader cannot see. The search is deterministic, so the SVG
is byte-identical.
"""

from __future__ import annotations

import itertools
import math
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from hwdb import Record

from .figstyle import INK, plain_log_labels

#: Distances from the point (in points) tried in turn, and directions tried at each, as angles.
RADII = (3.0, 7.0, 12.0, 18.0, 26.0, 36.0, 48.0, 62.0)
ANGLES = tuple(math.radians(a) for a in (0, 180, 90, 270, 45, 135, 315, 225, 22.5, 157.5, 337.5, 202.5, 67.5, 112.5))
#: Points closer than this (in points) share a label; a marker's half-width kept clear.
SAME_SPOT = 2.5
MARKER_RADIUS = 4.0
#: Beyond this distance a leader line joins the label to its point.
LEADER_FROM = 7.0
GAP = (4.0, 1.5)  # points of air kept between two labels, across and up
#: What a spot nearer another point than the label's own costs: less than any overlap, so a clear but
#: ambiguous spot still beats a covered one, but the search goes on for a clear one that is not.
AMBIGUOUS = 0.5
#: Centre-to-centre distance (in points) of markers of different kinds set side by side.
SIDE_BY_SIDE = 9.0

#: Words a plot label leaves off a record's name: the vendor's product line and packaging, which the
#: marker or the context already says ("AMD Instinct MI300X" → "MI300X", "NVIDIA H100 SXM5 80GB" → "H100").
_PACKAGING = re.compile(r"Instinct|SXM\d?|\d+GB|APU|OAM")


def short_name(record: Record, maker: str | None = None) -> str:
    """A record's name as a plot prints it: no bracketed remark, no model detail after a colon, no packaging,
    and no maker (``maker``; by default the record's vendor), which the marker or the figure already says.

    Labels name what the reader knows (the book's prose uses these names), never a record id.
    """
    name = re.sub(r"\s*\([^)]*\)", "", record.name).split(":")[0].strip()
    maker = str(record.meta.get("vendor", "")) if maker is None else maker
    if maker and name.startswith(f"{maker} "):
        name = name[len(maker) + 1 :]
    words = [w for w in name.split() if not _PACKAGING.fullmatch(w)]
    return " ".join(words) or record.name


#: A point to label: x, y and its name in data coordinates, and optionally its kind (say, its vendor).
Point = tuple[float, float, str] | tuple[float, float, str, str]


@dataclass(frozen=True)
class _Group:
    x: float  # data coordinates of the first point
    y: float
    px: float  # display coordinates
    py: float
    names: tuple[str, ...]


def _groups(ax: Axes, points: Sequence[Point], scale: float) -> list[_Group]:
    """Points of one kind merged where they print on one spot (within SAME_SPOT points)."""
    groups: list[_Group] = []
    kinds: list[str] = []
    for x, y, name, *kind in points:
        px, py = (float(v) for v in ax.transData.transform((x, y)))
        for i, g in enumerate(groups):
            if kinds[i] == str(kind) and math.hypot(g.px - px, g.py - py) <= SAME_SPOT * scale:
                groups[i] = _Group(g.x, g.y, g.px, g.py, (*g.names, name))
                break
        else:
            groups.append(_Group(x, y, px, py, (name,)))
            kinds.append(str(kind))
    return groups


_FIXED: weakref.WeakSet[Figure] = weakref.WeakSet()


def fix_layout(ax: Axes) -> None:
    """Lay the figure out for good, once (a later layout pass would move the axes under placed points and labels)."""
    fig = ax.get_figure(root=True)
    assert fig is not None
    if fig in _FIXED:
        return
    _FIXED.add(fig)
    plain_log_labels(fig)  # the tick labels the SVG will show, so the layout measured here is the final one
    fig.draw_without_rendering()  # the layout is all that is needed here: nothing is rasterised
    fig.set_layout_engine("none")


def side_by_side(ax: Axes, points: Sequence[tuple[float, float, str]]) -> list[tuple[float, float]]:
    """Where to draw each point (x, y, kind) so markers of different kinds never print on one spot.

    Points chained by touching markers form a group; in a group of several kinds each kind's points are
    set in a column of their own, SIDE_BY_SIDE points apart, in the order the kinds stood and centred on
    where the group was. A point no other kind touches stays put. Where a column comes to touch another
    group, the two are merged and laid out again from where they were. Fixes the layout first.
    """
    fix_layout(ax)
    fig = ax.get_figure(root=True)
    assert fig is not None
    scale = fig.dpi / 72
    reach = 2 * MARKER_RADIUS * scale
    shown = [(float(px), float(py)) for px, py in (ax.transData.transform((x, y)) for x, y, _ in points)]
    group = list(range(len(points)))  # each point's group, by the lowest index in it

    def join(a: int, b: int) -> None:
        low, high = sorted((group[a], group[b]))
        group[:] = [low if g == high else g for g in group]

    for a, b in itertools.combinations(range(len(points)), 2):
        if math.dist(shown[a], shown[b]) < reach:
            join(a, b)
    while True:
        moved = list(shown)
        for g in set(group):
            members = [j for j in range(len(points)) if group[j] == g]
            columns: dict[str, list[int]] = {}
            for j in members:
                columns.setdefault(points[j][2], []).append(j)
            if len(columns) < 2:
                continue
            centre = sum(shown[j][0] for j in members) / len(members)
            order = sorted(columns, key=lambda k: (sum(shown[j][0] for j in columns[k]) / len(columns[k]), k))
            for n, kind in enumerate(order):
                for j in columns[kind]:
                    moved[j] = (centre + (n - (len(order) - 1) / 2) * SIDE_BY_SIDE * scale, shown[j][1])
        clash = next(
            (
                (a, b)
                for a, b in itertools.combinations(range(len(points)), 2)
                if points[a][2] != points[b][2] and group[a] != group[b] and math.dist(moved[a], moved[b]) < reach
            ),
            None,
        )
        if clash is None:
            break
        join(*clash)
    inverse = ax.transData.inverted()
    return [(float(x), float(y)) for x, y in (inverse.transform(p) for p in moved)]


def _gap(box: Bbox, x: float, y: float) -> float:
    """Distance from a point to the nearest part of a box (zero inside it)."""
    return math.hypot(max(box.x0 - x, 0.0, x - box.x1), max(box.y0 - y, 0.0, y - box.y1))


def _misread(box: Bbox, own: _Group, groups: Sequence[_Group]) -> bool:
    """Whether a label in ``box`` sits nearer another point than its own (a reader would take it for that one's)."""
    mine = _gap(box, own.px, own.py)
    return any(_gap(box, o.px, o.py) < mine for o in groups if o is not own)


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area two boxes share (zero when they only touch or are apart)."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def place_labels(ax: Axes, points: Sequence[Point], fontsize: float) -> list[Annotation]:
    """Label every point (x, y, name[, kind]) in data coordinates without one label covering another.

    Points of one kind at one spot share a label. Fixes the figure's layout first. Crowded points
    choose first, so they get the nearest free spots.
    """
    fix_layout(ax)
    fig = ax.get_figure(root=True)
    assert fig is not None
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
                cost += AMBIGUOUS if _misread(box, g, groups) else 0.0
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
        misread = _misread(box, g, groups)  # the best spot left is still nearer another point: tie it to its own
        placed.append(
            ax.annotate(
                text,
                (g.x, g.y),
                xytext=((cx - g.px) / scale, (cy - g.py) / scale),
                textcoords="offset points",
                ha="center",
                va="center",
                fontsize=fontsize,
                arrowprops=leader if radius >= LEADER_FROM or misread else None,
                annotation_clip=False,
            )
        )
        blocked.append(box)
    return placed
