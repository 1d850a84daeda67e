"""Figures drawn from hwdb and claim evaluations at build time (no committed images).

Each figure function takes the database, the evaluations and a :class:`~claims.figstyle.Layout`
and returns one matplotlib figure or a tuple of panels; :func:`render_svg` turns them into
deterministic SVG that follows the page's light or dark theme. Panels are separate SVGs so a narrow
screen stacks them instead of shrinking them. :meth:`FigureSpec.render` draws a figure twice, wide
and narrow, and the page shows the one that fits its width, so text is never shrunk below
:data:`~claims.figstyle.MIN_TEXT_PX`. Colours, markers and type sizes come from
:mod:`claims.figstyle`; point labels are placed by :mod:`claims.figlabels` so they never cover each
other, and name records by their names, never their ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from matplotlib import transforms
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from hwdb import Database, Record, derived

from . import deployment, formatting
from . import stepmodel as sm
from .catalogue.attention import C_star, best_integer_cost
from .catalogue.attention import L as L_attn
from .catalogue.attention import m as m_blocks
from .catalogue.attention import u as u_summary
from .catalogue.batch import (
    FLOP_PER_PARAM_TOKEN,
    B,
    F,
    L_ctx,
    M,
    N_act,
    N_tot,
    T_compute,
    T_weights,
    W,
    b,
    b_w,
    balanced_with_kv,
    c,
    served_on,
    step_time,
)
from .catalogue.pipeline import BUBBLE
from .catalogue.pipeline import P as pipeline_stages
from .catalogue.pipeline import m_mb as micro_batches
from .catalogue.serving import BALANCED, F_16, G_chips
from .catalogue.serving import replica as replica_forms
from .catalogue.training import PRETRAIN_FLOP, compute_optimal
from .compiled import lambdified
from .engine import Evaluation
from .figlabels import place_labels, short_name, side_by_side
from .figstyle import (
    BLUE,
    GREEN,
    GREY,
    INK,
    NARROW,
    ORANGE,
    PURPLE,
    SERIES,
    SKY,
    VENDORS,
    VERMILLION,
    WIDE,
    Layout,
    panel,
    svg_of,
    vendor_style,
)
from .registry import get_claim

Evaluations = dict[str, Evaluation]
Drawn = Figure | tuple[Figure, ...]


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


def _rows(evaluation: Evaluation) -> list[tuple[Record, float]]:
    return [(r.record, r.value) for r in evaluation.rows if r.record is not None]


def _vendor(rec: Record) -> str:
    return str(rec.meta.get("vendor"))


def _vendor_scatter(fig: Figure, ax: Any, points: Sequence[tuple[Record, float, float]], layout: Layout) -> None:
    """One series per accelerator maker (colour and marker), each point labelled with its record's name.

    Markers of different makers that would print on one spot are set side by side, so none hides
    another; points of one maker at one spot share a label. Adds the legend (the layout is fixed after it).
    """
    vendors = sorted({_vendor(rec) for rec, _, _ in points}, key=lambda v: (v not in VENDORS, v))
    drawn = {}
    for vendor in vendors:
        mine = [(x, y) for rec, x, y in points if _vendor(rec) == vendor]
        colour, marker = vendor_style(vendor)
        drawn[vendor] = ax.scatter(*zip(*mine, strict=True), color=colour, marker=marker, s=34, zorder=3, label=vendor)
    _legend_below(fig, ax)
    moved = side_by_side(ax, [(x, y, _vendor(rec)) for rec, x, y in points])
    for vendor, collection in drawn.items():
        collection.set_offsets([m for (rec, _, _), m in zip(points, moved, strict=True) if _vendor(rec) == vendor])
    named = [(x, y, short_name(rec), _vendor(rec)) for (rec, _, _), (x, y) in zip(points, moved, strict=True)]
    place_labels(ax, named, layout.note)


def _legend_below(fig: Figure, ax: Any, ncols: int = 3) -> None:
    """The legend under the axes, outside the data, so it covers no point or label: in as many of
    ``ncols`` columns as fit the figure's width."""
    handles, labels = ax.get_legend_handles_labels()
    size = float(FontProperties(size=plt.rcParams["legend.fontsize"]).get_size_in_points())
    labels = [_fit(fig, label, size, share=0.84) for label in labels]  # room for the handle beside it
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for n in range(min(ncols, len(labels)), 0, -1):
        legend = fig.legend(handles, labels, loc="outside lower center", ncols=n, frameon=False)
        if n == 1 or legend.get_window_extent(renderer).width <= fig.bbox.width:
            return
        legend.remove()


def _fit(fig: Figure, text: str, size: float, share: float = 0.98) -> str:
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


def _title(fig: Figure, ax: Any, text: str, layout: Layout) -> None:
    """A title over the axes, broken to fit: it is centred on the axes, which sit right of the figure's centre."""
    ax.set_title(_fit(fig, text, layout.title, share=0.84), fontsize=layout.title)


def _chips(rec: Record, one: bool = False) -> str:
    """ "GB200 GPUs" or "one GB200 GPU": a chip by name, with the noun its family takes."""
    noun = "GPU" if rec.meta.get("family") == "GPU" else "chip"
    return f"one {short_name(rec)} {noun}" if one else f"{short_name(rec)} {noun}s"


def hardware_ratio(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Dense BF16 FLOP/s against HBM bandwidth, with the lecture's ratio as a line.

    Drawn from ``rooflines.hardware-ratio``, whose rows these chips are: no model enters it.
    """
    ratio = evaluations["rooflines.hardware-ratio"]
    lecture_ratio = ratio.claim.stated.value
    fig, ax = panel(layout, 4.8)
    points = []
    for row in ratio.rows:
        rec = row.record
        assert rec is not None
        bw = rec["hbm_bandwidth"].quantity.to("TB/s").magnitude
        flops = rec["bf16_flops"].quantity.to("TFLOP/s").magnitude
        points.append((rec, bw, flops))
    xs = np.array([x for _, x, _ in points])
    bws = np.geomspace(xs.min() / 1.4, xs.max() * 1.4, 50)
    # ratio (tokens at sparsity 1) = F * b / (c * W); for BF16 (b = 2 B/param, c = 2 FLOP/(param*token)) F/W = ratio
    bytes_per_weight = db["bf16"]["storage_per_parameter"].quantity.to("B/param").magnitude
    flop_per_weight = next(c.value for c in ratio.claim.constants if str(c.symbol) == "c")
    flop_per_byte = lecture_ratio * flop_per_weight / bytes_per_weight
    ax.plot(bws, flop_per_byte * bws, "--", color=GREY, lw=1.4, label=f"lecture's ratio, {lecture_ratio:.0f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("HBM bandwidth (TB/s)")
    ax.set_ylabel("dense BF16 (TFLOP/s)")
    ax.grid(True)
    _vendor_scatter(fig, ax, points, layout)
    return fig


def _by_year(evaluation: Evaluation, ylabel: str, layout: Layout, unit: bool = True) -> Figure:
    """Each row's value against its record's release year, with the lecture's figure as a line.

    ``unit=False`` leaves the claim's unit off the legend where the axis label already names the quantity.
    """
    fig, ax = panel(layout, 4.8, narrow=6.0)  # a year holds many chips: a phone's column needs the height
    points = [(rec, float(int(str(rec.meta.get("year")))), value) for rec, value in _rows(evaluation)]
    stated = formatting.stated(evaluation) if unit else formatting.number(evaluation.claim.stated.value)
    ax.axhline(evaluation.claim.stated.value, ls="--", lw=1.4, color=GREY, label=f"lecture: {stated}")
    years = [x for _, x, _ in points]
    ax.set_xlim(min(years) - 0.7, max(years) + 0.7)
    ax.set_xticks(range(int(min(years)), int(max(years)) + 1, 2))
    ax.set_xlabel("year of release")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, max(v for _, _, v in points) * 1.12)
    ax.grid(True)
    _vendor_scatter(fig, ax, points, layout)
    return fig


def drain_time(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """HBM capacity / bandwidth by release year, with the lecture's figure."""
    return _by_year(evaluations["serving.train-interval"], "HBM capacity ÷ bandwidth (ms)", layout)


def _si(evaluation: Evaluation) -> dict[sp.Symbol, float]:
    """The reference row's inputs and the claim's constants, by symbol, in SI base units."""
    values = {sp.Symbol(i.symbol, positive=True): i.field.si for i in evaluation.reference.inputs}
    values |= {const.symbol: const.si for const in evaluation.claim.constants}
    return values


def _curve(expr: sp.Expr, values: dict[sp.Symbol, float], free: sp.Symbol, xs: np.ndarray) -> np.ndarray:
    """``expr`` (a claim's own formula) in SI base units along ``xs`` for the symbol ``free``."""
    symbols = tuple(sorted(expr.free_symbols, key=str))
    function = lambdified(expr, symbols)
    args = [xs if s == free else values[s] for s in symbols]
    return np.array(np.broadcast_to(np.asarray(function(*args), dtype=float), xs.shape))


def _step(evaluation: Evaluation, lhs: sp.Symbol) -> sp.Expr:
    """The right-hand side of the derivation step that defines ``lhs``: the figure draws the claim's own formula."""
    for step in evaluation.derivation.steps:
        if isinstance(step.math, sp.Eq) and step.math.lhs == lhs:
            return sp.sympify(step.math.rhs)
    raise ValueError(f"{evaluation.claim.id}: no derivation step defines {lhs}")


def decode_roofline(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Concept: a decode step's time against its batch, the flat weight fetch and the rising compute.

    Times are in units of one read of every weight, so the picture holds however many GPUs share
    the model (both times divide by their number) and the crossing is the claim's balanced batch.
    """
    batch = evaluations["batch.optimal-size"]
    values = _si(batch)
    balanced = float(batch.value)
    sizes = np.linspace(0, 2.5 * balanced, 400)
    fetch = _curve(_step(batch, T_weights), values, B, sizes)
    unit = float(fetch[0])
    compute = _curve(_step(batch, T_compute), values, B, sizes) / unit
    fetch = fetch / unit
    rec = batch.reference.record
    assert rec is not None
    fig, ax = panel(layout, 4.2)
    ax.axvspan(0, balanced, color=BLUE, alpha=0.08, lw=0)
    ax.axvspan(balanced, sizes[-1], color=VERMILLION, alpha=0.08, lw=0)
    ax.plot(sizes, np.maximum(compute, fetch), color=INK, lw=6, alpha=0.22, label="step time: the larger of the two")
    ax.plot(sizes, fetch, color=BLUE, label="reading every weight once")
    ax.plot(sizes, compute, color=VERMILLION, ls="--", label="the batch's arithmetic")
    ax.plot([balanced], [1.0], "o", color=INK, ms=7, zorder=4)
    ax.annotate(
        f"balanced batch\n{formatting.claim_quantity(batch.claim, balanced)}",
        (balanced, 1.0),
        xytext=(0, -30),
        textcoords="offset points",
        ha="center",
        va="top",
        fontsize=layout.note,
        arrowprops={"arrowstyle": "-", "color": INK, "lw": 0.8},
    )
    top = float(compute[-1]) * 1.08
    for x, text, colour in ((0.5, "weights set\nthe pace", BLUE), (1.75, "arithmetic\nsets the pace", VERMILLION)):
        ax.text(balanced * x, top * 0.95, text, ha="center", va="top", fontsize=layout.note, color=colour)
    ax.set_xlim(0, sizes[-1])
    ax.set_ylim(0, top)
    ax.set_xlabel("batch (tokens per decode step)")
    ax.set_ylabel("step time ÷ one read of the weights")
    _title(fig, ax, f"DeepSeek-V3 in BF16 on {_chips(rec)}", layout)
    ax.grid(True)
    _legend_below(fig, ax, ncols=1)
    return fig


def cost_per_token(db: Database, evaluations: Evaluations, layout: Layout) -> tuple[Figure, ...]:
    """Step time and cost per token against batch: the lecture's model and one with expert traffic and KV."""
    batch = evaluations["batch.optimal-size"]
    penalty = evaluations["batch.unbatched-penalty"]
    values = _si(batch) | _si(penalty)
    sizes = np.geomspace(1, 1e5, 300)
    # Both curves in the formats DeepSeek serves: FP8 weights on FP8 arithmetic (at the rate that keeps the
    # balanced batch where BF16 puts it); the step model's curve adds touched experts, BF16 KV and attention.
    rate = values[F] * values[b] / values[b_w]
    lecture = _curve(sp.Max(B * c * N_act / F, N_tot * b / W), values, B, sizes) * values[b_w] / values[b]
    served = _curve(step_time(B), values, B, sizes)
    optimum = values[c] * values[N_act] / rate  # compute time per token
    fetch = values[N_tot] * values[b_w] / values[W]  # one read of every weight
    rec = batch.reference.record
    assert rec is not None
    panels = []
    for lecture_y, served_y, label in (
        (lecture / fetch, served / fetch, "step time ÷ time to read every weight"),
        (lecture / sizes / optimum, served / sizes / optimum, "cost per token ÷ compute-only cost"),
    ):
        fig, ax = panel(layout, 4.4)
        ax.plot(sizes, lecture_y, color=BLUE, label="lecture: every weight, no KV")
        ax.plot(sizes, served_y, color=VERMILLION, ls="-.", label="step model: touched experts, KV and attention")
        ax.axvline(
            batch.value,
            ls="--",
            lw=1.4,
            color=GREY,
            label=f"balanced batch, {formatting.claim_quantity(batch.claim, batch.value)}",
        )
        ax.set_ylabel(label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("batch (tokens, one per sequence)")
        _title(fig, ax, f"DeepSeek-V3 on {_chips(rec, one=True)}: FP8 weights, BF16 KV, served context", layout)
        ax.grid(True)
        _legend_below(fig, ax, ncols=1)
        panels.append(fig)
    return tuple(panels)


def _replica_arithmetic(forms: Any) -> sp.Expr:
    """The arithmetic of the smallest replica's step (the weights' and attention's), at the claim's batch.

    The step model's terms in the replica's formats, as serving.replica-throughput binds them: the part
    of the step that the batch's compute fills, to draw against the step it sits in.
    """
    f = sm.formulas("ep")
    mapping = served_on(G_chips, rate=F, attention_rate=F_16, weight_bytes=b)
    arithmetic = sp.sympify((f.compute + f.attention).subs(mapping, simultaneous=True).subs(B, BALANCED))
    return sp.sympify(arithmetic.subs(G_chips, forms.smallest))


def serving_context(db: Database, evaluations: Evaluations, layout: Layout) -> tuple[Figure, ...]:
    """The batch that balances a step, and a replica's step and throughput at the lecture's batch, against context.

    The replica claim holds the lecture's batch (weights only) at every context; the step model balances
    all compute against all memory only at a larger batch, and past ``context_limit`` at none. Every
    panel shades that region, and the step panel draws the step's arithmetic beside it, so the figure
    shows the held batch growing less balanced instead of implying that it stays balanced.
    """
    replica = evaluations["serving.replica-throughput"]
    batch = evaluations["batch.optimal-size"]
    values = _si(replica)
    contexts = np.geomspace(256, 262_144, 300)
    limit = batch.reference.details["context_limit"]
    # The batch claim binds the formats the balanced batch is drawn in (FP8 weights and matmuls, BF16 attention).
    balanced_kv = _curve(balanced_with_kv(), _si(batch), L_ctx, contexts)
    balanced_kv[contexts >= limit] = np.nan
    forms = replica_forms()
    step = _curve(forms.step, values, L_ctx, contexts) * 1e3
    arithmetic = _curve(_replica_arithmetic(forms), values, L_ctx, contexts) * 1e3
    rate = _curve(forms.rate, values, L_ctx, contexts)
    chips = _curve(forms.smallest, values, L_ctx, contexts)
    train = float(values[M] / values[W]) * 1e3
    served = float(values[L_ctx])
    rec = replica.reference.record
    assert rec is not None
    held = replica.reference.details["balanced_batch"]  # FP8 on FP8: batch.optimal-size's value on this chip
    held_text = formatting.quantity(held, "token")
    figs = [panel(layout, 4.2) for _ in range(3)]
    (_, left), (_, middle), (_, right) = figs
    left.plot(contexts, balanced_kv, color=VERMILLION, ls="-.", label="balances all compute and memory (step model)")
    left.plot(contexts, np.full_like(contexts, held), color=BLUE, label=f"the lecture's batch, {held_text}: held")
    left.set_ylabel("batch (tokens)")
    left.set_yscale("log")
    middle.plot(contexts, step, color=PURPLE, label="step of the smallest replica")
    middle.plot(contexts, arithmetic, color=VERMILLION, ls="-.", label="the step's arithmetic")
    middle.axhline(train, color=GREY, ls="--", lw=1.4, label="one read of all HBM (the 'train')")
    middle.set_ylabel("time (ms)")
    middle.set_ylim(0, max(train, float(np.nanmax(step))) * 1.15)
    right.plot(contexts, rate, color=GREEN, label="replica")
    right.plot(contexts, rate / chips, color=ORANGE, ls="-.", label="per GPU")
    right.set_ylabel("tokens per second")
    right.set_yscale("log")
    replica_title = f"The lecture's batch of {held_text} on the fewest {_chips(rec)} that hold its KV"
    titles = (f"DeepSeek-V3 on {_chips(rec)}: FP8 weights and arithmetic, BF16 KV", replica_title, replica_title)
    for (fig, ax), title in zip(figs, titles, strict=True):
        ax.set_xscale("log")
        ax.axvspan(limit, contexts[-1], color=GREY, alpha=0.16, lw=0, label="no batch balances")
        ax.axvline(served, color=INK, ls="--", lw=0.8, label="DeepSeek's served context")
        ax.set_xlim(contexts[0], contexts[-1])
        ax.set_xlabel("context per sequence (tokens)")
        _title(fig, ax, title, layout)
        ax.grid(True)
        _legend_below(fig, ax, ncols=2)
    return tuple(fig for fig, _ in figs)


def step_by_part(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """The step model's parts against batch for the running example: what a decode step spends its time on."""
    batch = evaluations["batch.optimal-size"]
    rec = batch.reference.record
    assert rec is not None
    context = next(i.field.si for i in batch.reference.inputs if i.symbol == "L")
    sizes = np.unique(np.round(np.geomspace(1, 1e5, 240)))
    r = deployment.step(
        "deepseek-v3", rec.id, 1, sizes, context, weights="fp8", math="fp8", attention_math="bf16", db=db
    )
    fig, ax = panel(layout, 4.6)
    ax.plot(sizes, r.step_s * 1e3, color=INK, lw=5, alpha=0.25, label="step: each class the longer of its two parts")
    ax.plot(sizes, r.weights_s * 1e3, color=BLUE, label="reading the weights (the experts touched)")
    ax.plot(sizes, r.compute_s * 1e3, color=VERMILLION, ls="--", label="the weights' arithmetic (FP8)")
    ax.plot(sizes, r.kv_s * 1e3, color=GREEN, ls="-.", label="reading every sequence's KV cache (BF16)")
    ax.plot(sizes, r.attention_s * 1e3, color=PURPLE, ls=":", label="attention's arithmetic (BF16)")
    for value, style, text, height in (
        (batch.value, "--", "balanced batch,\nweights only", 0.97),
        (batch.reference.details["balanced_with_kv"], ":", "all compute =\nall memory", 0.22),
    ):
        ax.axvline(value, color=GREY, ls=style, lw=1.3)
        ax.annotate(
            f"{text}:\n{formatting.quantity(value, 'token')}",
            (value, height),
            xycoords=("data", "axes fraction"),
            ha="right",
            va="top",
            fontsize=layout.note,
            color=INK,
            xytext=(-4, 0),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch (sequences, one token each per step)")
    ax.set_ylabel("time per step (ms)")
    context_text = formatting.quantity(context, "token", significant=6)
    _title(fig, ax, f"DeepSeek-V3 on {_chips(rec, one=True)}, {context_text} of context each", layout)
    ax.grid(True)
    _legend_below(fig, ax, ncols=1)
    return fig


#: The roofline's chips: three NVIDIA generations (GB200 is the chip the balanced batch is computed for,
#: whose ridge the caption points to), and the newest TPU and Instinct.
ROOFLINE_CHIPS = ("a100-sxm", "h100-sxm", "gb200", "tpu-v7", "mi355x")


def roofline(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Attainable dense BF16 FLOP/s against arithmetic intensity, with decode and prefill marked."""
    ratio = evaluations["rooflines.hardware-ratio"]
    chosen = [r.record for r in ratio.rows if r.record is not None and r.record.id in ROOFLINE_CHIPS]
    fig, ax = panel(layout, 4.6)
    intensity = np.geomspace(1, 1e4, 400)
    # One colour per chip (three are NVIDIA's, so the vendor colour cannot tell them apart); the
    # vendor's marker sits on each chip's ridge point.
    for rec, colour, dash in zip(chosen, SERIES, ("-", "--", "-.", ":", "-"), strict=False):
        peak = rec["bf16_flops"].quantity.to("TFLOP/s").magnitude
        bandwidth = rec["hbm_bandwidth"].quantity.to("TB/s").magnitude
        marker = vendor_style(rec.meta.get("vendor"))[1]
        label = f"{_vendor(rec)} {short_name(rec)}"
        ax.plot(intensity, np.minimum(peak, bandwidth * intensity), color=colour, ls=dash, label=label)
        ax.plot([peak / bandwidth], [peak], marker=marker, color=colour, ms=7, ls="none")
    # A BF16 step over B tokens of a model with sparsity S does 2·B·N_active FLOP per 2·N_total
    # weight bytes: intensity B/S. Batch one of a dense model sits at 1; DeepSeek-V3 at its
    # balanced batch (the hardware ratio times S) sits at the ridge of the chip it is served on,
    # the GB200 of batch.optimal-size: at that chip's hardware ratio, whatever the model.
    decode = 1.0
    rows = get_claim("batch.optimal-size").rows  # the claim's definition, not its evaluation: no model enters
    assert rows is not None
    balanced = next(r.value for r in ratio.rows if r.record is not None and r.record.id == rows.reference)
    top = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    ax.axvline(decode, ls=":", lw=1.4, color=INK)
    # Written where no roof runs: above the slopes at batch one, below the roofs at the balanced batch.
    ax.text(decode * 1.2, 0.97, "batch 1, dense model", fontsize=layout.note, rotation=90, va="top", transform=top)
    ax.axvline(balanced, ls="--", lw=1.4, color=GREY)
    ax.text(balanced * 1.12, 2, "DeepSeek-V3, balanced batch", fontsize=layout.note, rotation=90, va="bottom")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1, None)
    ax.set_xlabel("FLOP per byte of weights read")
    ax.set_ylabel("attainable dense BF16 (TFLOP/s)")
    ax.grid(True)
    _legend_below(fig, ax, ncols=2)
    return fig


def ratio_by_year(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """The hardware ratio of each accelerator against its year, with the lecture's figure."""
    return _by_year(evaluations["rooflines.hardware-ratio"], "multiply-adds per weight read", layout, unit=False)


def _named_bars(ax: Any, names: Sequence[str], values: Sequence[float], colour: str, layout: Layout) -> None:
    """Horizontal bars, first at the top, each with its name written above it rather than beside the axis:
    long names then take the plot's width instead of squeezing the bars, at any layout."""
    rows = np.arange(len(names))
    ax.barh(rows, values, height=0.5, color=colour)
    ax.set_yticks([])
    ax.set_ylim(len(names) - 0.6, -1.0)
    place = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    for row, name in zip(rows, names, strict=True):
        ax.text(0.01, row - 0.3, name, transform=place, ha="left", va="bottom", fontsize=layout.note)


def scale_up_domains(db: Database, evaluations: Evaluations, layout: Layout) -> tuple[Figure, ...]:
    """NVIDIA scale-up domains: GPUs and aggregate HBM bandwidth, derived from the system records."""
    systems = [s for s in db.of_kind("system") if _vendor(db[str(s.meta["accelerator"])]) == "NVIDIA"]
    systems.sort(key=lambda s: (int(str(db[str(s.meta["accelerator"])].meta.get("year"))), s.id))
    names = [short_name(s, maker="NVIDIA") for s in systems]
    chips = [s["chips"].quantity.magnitude for s in systems]
    totals = [derived.system_totals(db, s)["hbm_bandwidth"].to("TB/s").magnitude for s in systems]
    panels = []
    for heights, colour, label in (
        (chips, GREEN, "GPUs in the scale-up domain"),
        (totals, BLUE, "aggregate HBM bandwidth (TB/s)"),
    ):
        fig, ax = panel(layout, 0.7 + 0.42 * len(systems))
        _named_bars(ax, names, heights, colour, layout)
        ax.set_xlabel(label)
        ax.grid(True, axis="x")
        panels.append(fig)
    return tuple(panels)


def tier_drain(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Drain time of each memory tier on a log scale, with the prompt-cache lifetimes."""
    tiers = sorted(db.of_kind("memory-tier"), key=lambda r: float(derived.drain_time(r).to("s").magnitude))  # type: ignore[union-attr]
    seconds = [float(derived.drain_time(r).to("s").magnitude) for r in tiers]  # type: ignore[union-attr]
    sheet = db["claude-opus-4-5"]
    fig, ax = panel(layout, 1.1 + 0.42 * len(tiers))
    ax.set_xscale("log")
    ax.set_xlim(min(seconds) / 3, max(seconds) * 3)
    _named_bars(ax, [short_name(r, maker="") for r in tiers], seconds, PURPLE, layout)
    for name, colour, dash, label in (
        ("cache_short_duration", VERMILLION, "--", "short prompt-cache lifetime"),
        ("cache_long_duration", ORANGE, "-.", "long prompt-cache lifetime"),
    ):
        ax.axvline(sheet[name].quantity.to("s").magnitude, ls=dash, color=colour, label=label)
    ax.set_xlabel("capacity ÷ bandwidth (s)")
    ax.grid(True, axis="x")
    _legend_below(fig, ax, ncols=1)
    return fig


def kv_against_compute(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """KV-read time over compute time per decoded token as the context grows, dense and sparse.

    Both curves use the same KV bytes per token, the one kv.bytes-per-token solves for so that
    dense attention's read takes exactly as long as the arithmetic at Gemini's threshold. Dense
    reads every cached token, so its ratio is context ÷ threshold; the two-level sparse scheme
    reads the optimum of attention.sparse-sqrt-gain, 2·√(m·L) tokens' worth (each block summary
    is one token), so its ratio is that over the threshold: below dense at every context past a
    few tokens, never above it.
    """
    kv = evaluations["kv.bytes-per-token"]
    sparse = evaluations["attention.sparse-sqrt-gain"]
    threshold = db["gemini-3.1-pro"]["long_context_threshold"].quantity.to("token").magnitude
    optimum = _step(sparse, C_star).subs(u_summary, 1)
    contexts = np.geomspace(1e3, 1e8, 200)
    fig, ax = panel(layout, 4.4)
    ax.plot(contexts, contexts / threshold, color=BLUE, label="dense: reads every cached token")
    for blocks, colour, dash in ((1, VERMILLION, "-."), (16, GREEN, "--")):
        tokens = _curve(optimum.subs(m_blocks, blocks), {}, L_attn, contexts)
        ax.plot(contexts, tokens / threshold, color=colour, ls=dash, label=f"sparse, {blocks} selected block(s)")
    ax.axhline(1, ls=":", lw=1.4, color=INK, label="KV reads take as long as the arithmetic")
    ax.axvline(threshold, ls="--", lw=1.4, color=GREY, label="Gemini's long-context threshold")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("context length (tokens)")
    ax.set_ylabel("KV-read time ÷ compute time")
    _title(fig, ax, f"KV cache of {formatting.claim_quantity(kv.claim, kv.value)} for every curve", layout)
    ax.grid(True)
    _legend_below(fig, ax, ncols=1)
    return fig


def sparse_attention_cost(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Tokens read per query: dense against the optimised two-level sparse scheme."""
    contexts = np.unique(np.geomspace(1e2, 1e6, 25).astype(int))
    fig, ax = panel(layout, 4.2)
    ax.plot(contexts, contexts, color=BLUE, label="dense: every cached token")
    for blocks, colour, dash in ((1, VERMILLION, "-."), (16, GREEN, "--")):
        costs = [best_integer_cost(int(c), blocks) for c in contexts]
        ax.plot(contexts, costs, color=colour, ls=dash, label=f"sparse, {blocks} selected block(s), best block size")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("context length (tokens)")
    ax.set_ylabel("tokens read per query")
    ax.grid(True)
    _legend_below(fig, ax, ncols=1)
    return fig


def reversible_memory(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Activation memory per token, stored against reversible, as the stack deepens."""
    rev = evaluations["reversible.activation-saving"]
    per_layer = rev.reference.details["reversible_per_token"]
    depth_now = rev.reference.inputs[0].field.quantity.magnitude
    depths = np.arange(1, 129)
    fig, ax = panel(layout, 4.2)
    ax.plot(depths, depths * per_layer, color=BLUE, label="every layer's input stored")
    ax.plot(
        depths,
        np.full_like(depths, per_layer, dtype=float),
        color=VERMILLION,
        ls="-.",
        label="reversible: recomputed backwards",
    )
    ax.axvline(depth_now, ls="--", lw=1.4, color=GREY, label="DeepSeek-V3's depth")
    ax.set_xlabel("layers")
    ax.set_ylabel("activations per token (KiB, BF16)")
    ax.grid(True)
    _legend_below(fig, ax, ncols=1)
    return fig


def pipeline_bubble(db: Database, evaluations: Evaluations, layout: Layout) -> tuple[Figure, ...]:
    """Idle share of a synchronous (GPipe-style) pipeline step against micro-batches, and the share of the step
    left to arithmetic once each micro-batch re-reads the stage's weights."""
    naive = evaluations["pipeline.naive-idle"]
    stages = int(naive.reference.inputs[0].field.quantity.magnitude)
    micro = np.arange(1, 65)
    idle = lambdified(BUBBLE, (pipeline_stages, micro_batches))

    def bubble(p: int) -> np.ndarray:
        values: np.ndarray = idle(p, micro)
        return values

    if not np.isclose(bubble(stages)[0], naive.value, rtol=1e-12):
        raise ValueError("pipeline bubble figure: one micro-batch must reproduce pipeline.naive-idle")
    left_fig, left = panel(layout, 4.2)
    for p, colour, dash in ((stages // 2, SKY, "--"), (stages, BLUE, "-"), (stages * 2, GREEN, "-.")):
        left.plot(
            micro, bubble(p), color=colour, ls=dash, label=f"{p} stages" + (" (the lecture's)" if p == stages else "")
        )
    left.plot([1], [naive.value], "o", color=VERMILLION, ms=7, label="no micro-batching")
    left.set_xscale("log", base=2)
    left.set_xlabel("micro-batches per step")
    left.set_ylabel("share of the step a stage idles")
    left.grid(True)
    _legend_below(left_fig, left, ncols=2)
    # What the bubble's cure costs: each micro-batch reads the stage's weights again, so a global batch of
    # g balanced batches in m micro-batches keeps the arithmetic busy min(1, g/m) of each stage's turn
    # (pipeline.microbatch-weight-reloads: the batch that hides m weight reads is m balanced batches).
    reloads = evaluations["pipeline.microbatch-weight-reloads"]
    if not np.isclose(reloads.value, 1.0, rtol=1e-12):
        raise ValueError("pipeline bubble figure: hiding m weight reads must take m balanced batches")
    right_fig, right = panel(layout, 4.2)
    working = 1 - bubble(stages)
    for g, colour, dash in ((4, SKY, "--"), (16, BLUE, "-"), (64, GREEN, "-.")):
        share = working * np.minimum(1.0, g / micro)
        right.plot(micro, share, color=colour, ls=dash, label=f"global batch: {g} balanced batches")
        right.plot([g], [share[micro == g][0]], "o", color=colour, ms=6)
    right.set_xscale("log", base=2)
    right.set_ylim(0, 1)
    right.set_xlabel("micro-batches per step")
    right.set_ylabel("share of the step doing arithmetic")
    _title(right_fig, right, f"{stages} stages (the lecture's)", layout)
    right.grid(True)
    _legend_below(right_fig, right, ncols=1)
    return left_fig, right_fig


def lifetime_cost(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Lifetime compute against model size at the lecture model's quality, with and without serving.

    Quality is held at the Chinchilla fit's loss for the lecture's assumed model and corpus; for each
    size the fit gives the tokens needed to reach it. Serving adds the inference tokens of
    training.model-inference-volume at the lecture's decode efficiency.
    """
    law = db["chinchilla-loss-fit"]
    floor, a, alpha, b_data, beta = (
        law[f].si for f in ("loss_floor", "param_coefficient", "param_exponent", "data_coefficient", "data_exponent")
    )
    model = db["lecture-frontier-model"]
    n0, d0 = model["active_params"].si, model["pretraining_tokens"].si
    efficiency = db["lecture-serving"]["decode_efficiency"].si
    served = evaluations["training.model-inference-volume"].value
    c_train, c_serve = PRETRAIN_FLOP.si, FLOP_PER_PARAM_TOKEN.si
    target = floor + a / n0**alpha + b_data / d0**beta
    sizes = np.geomspace(n0 / 16, n0 * 16, 600)
    gap = target - floor - a / sizes**alpha
    sizes, gap = sizes[gap > 0], gap[gap > 0]
    tokens = (b_data / gap) ** (1 / beta)
    training = c_train * sizes * tokens
    lifetime = training + c_serve * sizes * served / efficiency
    # Pre-training alone: the closed-form optimum training.overtraining judges with (one rule, not a grid's).
    n_best, d_best = compute_optimal(target - floor, a, b_data, alpha, beta)
    fig, ax = panel(layout, 4.8)
    for flops, colour, dash, label in (
        (training, BLUE, "-", "pre-training only"),
        (lifetime, VERMILLION, "-.", "pre-training + serving"),
    ):
        if flops is training:
            at, ratio, cost, serving_share = n_best, d_best / n_best, c_train * n_best * d_best, 0.0
        else:
            best = int(np.argmin(flops))
            at, ratio, cost = sizes[best], tokens[best] / sizes[best], flops[best]
            serving_share = (flops[best] - training[best]) / training[best]
        split = f", serving {formatting.number(serving_share)}× pre-training" if serving_share > 0 else ""
        ax.plot(
            sizes,
            flops,
            color=colour,
            ls=dash,
            label=f"{label}\ncheapest at {formatting.number(ratio)} tokens/param{split}",
        )
        ax.plot([at], [cost], "o", color=colour, ms=7)
    ax.axvline(n0, ls="--", lw=1.4, color=GREY, label="the lecture's assumed active parameters")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Near the smallest sizes the loss is barely reachable and the token count runs away;
    # show the region around the two minima.
    ax.set_ylim(training.min() / 2, lifetime.min() * 30)
    ax.set_xlabel("active parameters")
    ax.set_ylabel("lifetime FLOP at the same loss")
    ax.grid(True)
    _legend_below(fig, ax, ncols=1)
    return fig


def reversible_bf16_error(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Error of inputs rebuilt in BF16 by a random coupling stack, against its depth.

    Drawn from the claim's own detail formulas (its table of measurements, one per depth), so the
    curves pass through the figures the box shows at the model's depth.
    """
    rev = evaluations["reversible.activation-saving"]
    formulas = {d.name: d.expr for d in rev.derivation.details}
    depth_now = rev.reference.inputs[0].field.quantity.magnitude
    depths = np.arange(1, 129)
    fig, ax = panel(layout, 4.2)
    for name, colour, dash, label in (
        ("bf16_largest_error", VERMILLION, "-", "largest error"),
        ("bf16_rms_error", BLUE, "-.", "RMS error"),
    ):
        (depth,) = formulas[name].free_symbols
        error = lambdified(formulas[name], (depth,))
        percent = np.array([100 * float(error(float(d))) for d in depths])
        if not np.isclose(percent[depths == depth_now][0], rev.reference.details[name], rtol=1e-9):
            raise ValueError(f"BF16 error figure: the curve must pass through the claim's {name} at its depth")
        ax.plot(depths, percent, color=colour, ls=dash, label=label)
    ax.axhline(100, ls=":", lw=1.4, color=INK, label="as large as the inputs themselves")
    ax.axvline(depth_now, ls="--", lw=1.4, color=GREY, label="DeepSeek-V3's depth")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("layers of the coupling stack")
    ax.set_ylabel("error of rebuilt inputs\n(% of their RMS, BF16)")
    ax.grid(True)
    _legend_below(fig, ax, ncols=2)
    return fig


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
