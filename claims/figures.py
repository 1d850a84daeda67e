"""Figures drawn from hwdb and claim evaluations at build time (no committed images).

Each figure function takes the database, the evaluations and a :class:`~claims.figstyle.Layout`
and returns one matplotlib figure or a tuple of panels; :func:`render_svg` turns them into
deterministic SVG that follows the page's light or dark theme. Panels are separate SVGs so a narrow
screen stacks them instead of shrinking them. :meth:`FigureSpec.render` draws a figure twice, wide
and narrow, and the page shows the one that fits its width, so text is never shrunk below
:data:`~claims.figstyle.MIN_TEXT_PX`. Colours, markers and type sizes come from
:mod:`claims.figstyle`; point labels are placed by :mod:`claims.figlabels` so they never cover each
other, and name records by their names, never their ids.

This module holds the registry (:data:`FIGURES`) and the rendering; the figures themselves are drawn
by family, in :mod:`claims.figures_hardware`, :mod:`claims.figures_serving` and
:mod:`claims.figures_training`, with the helpers of :mod:`claims.figdraw`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from hwdb import Database

from .figdraw import Drawn, Evaluations
from .figstyle import NARROW, WIDE, Layout, svg_of
from .figures_hardware import (
    ROOFLINE_CHIPS,
    drain_time,
    hardware_ratio,
    ratio_by_year,
    roofline,
    scale_up_domains,
    tier_drain,
)
from .figures_serving import (
    cost_per_token,
    decode_roofline,
    kv_against_compute,
    serving_context,
    sparse_attention_cost,
    step_by_part,
)
from .figures_training import lifetime_cost, pipeline_bubble, reversible_bf16_error, reversible_memory

__all__ = ["FIGURES", "ROOFLINE_CHIPS", "Drawn", "Evaluations", "FigureSpec", "panels_of", "render_svg"]


@dataclass(frozen=True)
class FigureSpec:
    name: str
    claims: tuple[str, ...]
    plot: Callable[[Database, Evaluations, Layout], Drawn]

    def draw(self, db: Database, evaluations: Evaluations, layout: Layout = WIDE) -> Drawn:
        """The figure (or its panels), drawn in the book's style in ``layout``."""
        with plt.rc_context(layout.style):
            return self.plot(db, evaluations, layout)

    def render(self, db: Database, evaluations: Evaluations) -> str:
        """The page's HTML for the figure: the wide layout and the narrow one, the stylesheet showing the one
        that fits (claims.css, at 40em). The narrow one's ids are its own, so neither resolves to the other's."""
        wide = render_svg(self.draw(db, evaluations, WIDE), WIDE)
        narrow = render_svg(self.draw(db, evaluations, NARROW), NARROW, ids="n-")
        return f'<div class="claim-figure-wide">{wide}</div><div class="claim-figure-narrow">{narrow}</div>'


FIGURES: dict[str, FigureSpec] = {
    spec.name: spec
    for spec in (
        FigureSpec("decode-roofline", ("batch.optimal-size",), decode_roofline),
        FigureSpec("hardware-ratio", ("rooflines.hardware-ratio",), hardware_ratio),
        FigureSpec("drain-time", ("serving.train-interval",), drain_time),
        FigureSpec("cost-per-token", ("batch.optimal-size", "batch.unbatched-penalty"), cost_per_token),
        FigureSpec("serving-context", ("serving.replica-throughput", "batch.optimal-size"), serving_context),
        FigureSpec("step-by-part", ("batch.optimal-size",), step_by_part),
        FigureSpec("roofline", ("rooflines.hardware-ratio",), roofline),
        FigureSpec("ratio-by-year", ("rooflines.hardware-ratio",), ratio_by_year),
        FigureSpec("scale-up-domains", ("rack.aggregate-bandwidth-growth",), scale_up_domains),
        FigureSpec("tier-drain", ("memory.flash-drain",), tier_drain),
        FigureSpec("kv-against-compute", ("kv.bytes-per-token", "attention.sparse-sqrt-gain"), kv_against_compute),
        FigureSpec("sparse-attention", ("attention.sparse-sqrt-gain",), sparse_attention_cost),
        FigureSpec("reversible-memory", ("reversible.activation-saving",), reversible_memory),
        FigureSpec("pipeline-bubble", ("pipeline.naive-idle", "pipeline.microbatch-weight-reloads"), pipeline_bubble),
        FigureSpec("lifetime-cost", ("training.model-inference-volume", "training.overtraining"), lifetime_cost),
        FigureSpec("reversible-bf16-error", ("reversible.activation-saving",), reversible_bf16_error),
    )
}


def panels_of(drawn: Drawn) -> tuple[Figure, ...]:
    """A drawn figure as its panels (a single figure is one panel)."""
    return drawn if isinstance(drawn, tuple) else (drawn,)


def render_svg(drawn: Drawn, layout: Layout = WIDE, ids: str = "") -> str:
    """SVG text for a figure drawn in ``layout``; panels side by side where the page is wide and stacked where
    it is not. ``ids`` prefixes the SVG's ids (see :func:`~claims.figstyle.svg_of`)."""
    panels = panels_of(drawn)
    if len(panels) == 1:
        return svg_of(panels[0], layout, ids)
    inner = "".join(f'<div class="claim-figure-panel">{svg_of(p, layout, ids)}</div>' for p in panels)
    return f'<div class="claim-figure-panels">{inner}</div>'
