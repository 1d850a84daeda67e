"""What the book's figures are drawn with: legends and titles that fit the figure, one series per
accelerator maker with labels that never collide, named bars, and a claim's own formula as a curve.

Shared by the figure modules (:mod:`claims.figures` and its families); colours and sizes come from
:mod:`claims.figstyle`, label placement from :mod:`claims.figlabels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from matplotlib import transforms
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from hwdb import Record

from .compiled import lambdified
from .engine import Evaluation
from .figlabels import place_labels, short_name, side_by_side
from .figstyle import VENDORS, Layout, vendor_style

Evaluations = dict[str, Evaluation]
Drawn = Figure | tuple[Figure, ...]


def rows_of(evaluation: Evaluation) -> list[tuple[Record, float]]:
    return [(r.record, r.value) for r in evaluation.rows if r.record is not None]


def vendor_of(rec: Record) -> str:
    return str(rec.meta.get("vendor"))


def vendor_scatter(fig: Figure, ax: Any, points: Sequence[tuple[Record, float, float]], layout: Layout) -> None:
    """One series per accelerator maker (colour and marker), each point labelled with its record's name.

    Markers of different makers that would print on one spot are set side by side, so none hides
    another; points of one maker at one spot share a label. Adds the legend (the layout is fixed after it).
    """
    vendors = sorted({vendor_of(rec) for rec, _, _ in points}, key=lambda v: (v not in VENDORS, v))
    drawn = {}
    for vendor in vendors:
        mine = [(x, y) for rec, x, y in points if vendor_of(rec) == vendor]
        colour, marker = vendor_style(vendor)
        drawn[vendor] = ax.scatter(*zip(*mine, strict=True), color=colour, marker=marker, s=34, zorder=3, label=vendor)
    legend_below(fig, ax)
    moved = side_by_side(ax, [(x, y, vendor_of(rec)) for rec, x, y in points])
    for vendor, collection in drawn.items():
        collection.set_offsets([m for (rec, _, _), m in zip(points, moved, strict=True) if vendor_of(rec) == vendor])
    named = [(x, y, short_name(rec), vendor_of(rec)) for (rec, _, _), (x, y) in zip(points, moved, strict=True)]
    place_labels(ax, named, layout.note)


def legend_below(fig: Figure, ax: Any, ncols: int = 3) -> None:
    """The legend under the axes, outside the data, so it covers no point or label: in as many of
    ``ncols`` columns as fit the figure's width."""
    handles, labels = ax.get_legend_handles_labels()
    size = float(FontProperties(size=plt.rcParams["legend.fontsize"]).get_size_in_points())
    labels = [fit_text(fig, label, size, share=0.84) for label in labels]  # room for the handle beside it
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for n in range(min(ncols, len(labels)), 0, -1):
        legend = fig.legend(handles, labels, loc="outside lower center", ncols=n, frameon=False)
        if n == 1 or legend.get_window_extent(renderer).width <= fig.bbox.width:
            return
        legend.remove()


def fit_text(fig: Figure, text: str, size: float, share: float = 0.98) -> str:
    """``text`` broken into lines (at spaces; its own breaks kept) no wider than ``share`` of the figure at
    ``size`` points."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    room = fig.bbox.width * share
    lines: list[str] = []
    for given in text.split("\n"):
        start = len(lines)
        for word in given.split(" "):
            trial = f"{lines[-1]} {word}" if len(lines) > start else word
            width = renderer.get_text_width_height_descent(trial, FontProperties(size=size), ismath=False)[0]
            if len(lines) > start and width <= room:
                lines[-1] = trial
            else:
                lines.append(word)
    return "\n".join(lines)


def titled(fig: Figure, ax: Any, text: str, layout: Layout) -> None:
    """A title over the axes, broken to fit: it is centred on the axes, which sit right of the figure's centre."""
    ax.set_title(fit_text(fig, text, layout.title, share=0.84), fontsize=layout.title)


def finish_axes(
    fig: Figure,
    ax: Any,
    layout: Layout,
    xlabel: str,
    ylabel: str | None = None,
    *,
    title: str | None = None,
    xlog: float | None = None,
    ylog: float | None = None,
    xlim: tuple[float | None, float | None] | None = None,
    ylim: tuple[float | None, float | None] | None = None,
    grid: Literal["both", "x", "y"] = "both",
    legend: int | None = None,
) -> None:
    """What every figure's axes end with, in one order: log scales (``xlog``/``ylog`` give the base) before
    the limits they would otherwise reset, the labels, a title broken to fit, the grid, and the legend below
    the axes in at most ``legend`` columns, last, as it is fitted to the figure as drawn. A figure whose
    legend :func:`vendor_scatter` makes passes none, and calls this before placing its points."""
    if xlog is not None:
        ax.set_xscale("log", base=xlog)
    if ylog is not None:
        ax.set_yscale("log", base=ylog)
    if xlim is not None:
        ax.set_xlim(*xlim)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        titled(fig, ax, title, layout)
    ax.grid(True, axis=grid)
    if legend is not None:
        legend_below(fig, ax, ncols=legend)


def chips_named(rec: Record, one: bool = False) -> str:
    """ "GB200 GPUs" or "one GB200 GPU": a chip by name, with the noun its family takes."""
    noun = "GPU" if rec.meta.get("family") == "GPU" else "chip"
    return f"one {short_name(rec)} {noun}" if one else f"{short_name(rec)} {noun}s"


def si_values(evaluation: Evaluation) -> dict[sp.Symbol, float]:
    """The reference row's inputs and the claim's constants, by symbol, in SI base units."""
    values = {sp.Symbol(i.symbol, positive=True): i.field.si for i in evaluation.reference.inputs}
    values |= {const.symbol: const.si for const in evaluation.claim.constants}
    return values


def formula_curve(expr: sp.Expr, values: dict[sp.Symbol, float], free: sp.Symbol, xs: np.ndarray) -> np.ndarray:
    """``expr`` (a claim's own formula) in SI base units along ``xs`` for the symbol ``free``."""
    symbols = tuple(sorted(expr.free_symbols, key=str))
    function = lambdified(expr, symbols)
    args = [xs if s == free else values[s] for s in symbols]
    return np.array(np.broadcast_to(np.asarray(function(*args), dtype=float), xs.shape))


def defining_step(evaluation: Evaluation, lhs: sp.Symbol) -> sp.Expr:
    """The right-hand side of the derivation step that defines ``lhs``: the figure draws the claim's own formula."""
    for step in evaluation.derivation.steps:
        if isinstance(step.math, sp.Eq) and step.math.lhs == lhs:
            return sp.sympify(step.math.rhs)
    raise ValueError(f"{evaluation.claim.id}: no derivation step defines {lhs}")


def named_bars(ax: Any, names: Sequence[str], values: Sequence[float], colour: str, layout: Layout) -> None:
    """Horizontal bars, first at the top, each with its name written above it rather than beside the axis:
    long names then take the plot's width instead of squeezing the bars, at any layout."""
    rows = np.arange(len(names))
    ax.barh(rows, values, height=0.5, color=colour)
    ax.set_yticks([])
    ax.set_ylim(len(names) - 0.6, -1.0)
    place = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    for row, name in zip(rows, names, strict=True):
        ax.text(0.01, row - 0.3, name, transform=place, ha="left", va="bottom", fontsize=layout.note)
