"""Figures drawn from hwdb and claim evaluations at build time (no committed images).

Each figure function takes the database and the evaluations and returns one matplotlib figure
or a tuple of panels; :func:`render_svg` turns them into deterministic SVG that follows the
page's light or dark theme. Panels are separate SVGs so a narrow screen stacks them instead
of shrinking them. Colours, markers and type sizes come from :mod:`claims.figstyle`; point
labels are placed by :mod:`claims.figlabels` so they never cover each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from matplotlib.figure import Figure

from hwdb import Database, Record, derived

from . import deployment, formatting
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
    step_time,
)
from .catalogue.pipeline import BUBBLE
from .catalogue.pipeline import P as pipeline_stages
from .catalogue.pipeline import m_mb as micro_batches
from .catalogue.serving import replica as replica_forms
from .catalogue.training import PRETRAIN_FLOP, compute_optimal
from .compiled import lambdified
from .engine import Evaluation
from .figlabels import place_labels
from .figstyle import (
    BLUE,
    GREEN,
    GREY,
    INK,
    ORANGE,
    PURPLE,
    SERIES,
    SKY,
    STYLE,
    VENDORS,
    VERMILLION,
    WIDTH,
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
    plot: Callable[[Database, Evaluations], Drawn]

    def draw(self, db: Database, evaluations: Evaluations) -> Drawn:
        """The figure (or its panels), drawn in the book's style."""
        with plt.rc_context(STYLE):
            return self.plot(db, evaluations)


def _rows(evaluation: Evaluation) -> list[tuple[Record, float]]:
    return [(r.record, r.value) for r in evaluation.rows if r.record is not None]


def _vendor_scatter(ax: Any, points: Sequence[tuple[Record, float, float]]) -> None:
    """One series per accelerator maker (colour and marker), each point labelled with its record id."""
    vendors = sorted({str(rec.meta.get("vendor")) for rec, _, _ in points}, key=lambda v: (v not in VENDORS, v))
    for vendor in vendors:
        mine = [(x, y) for rec, x, y in points if str(rec.meta.get("vendor")) == vendor]
        colour, marker = vendor_style(vendor)
        ax.scatter(*zip(*mine, strict=True), color=colour, marker=marker, s=34, zorder=3, label=vendor)


def _legend_below(fig: Figure, ax: Any, ncols: int = 3) -> None:
    """The legend under the axes, outside the data, so it covers no point or label."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols, frameon=False)


def hardware_ratio(db: Database, evaluations: Evaluations) -> Figure:
    """Dense BF16 FLOP/s against HBM bandwidth, with the lecture's ratio as a line.

    Drawn from ``rooflines.hardware-ratio``, whose rows these chips are: no model enters it.
    """
    ratio = evaluations["rooflines.hardware-ratio"]
    lecture_ratio = ratio.claim.stated.value
    fig, ax = panel(WIDTH, 4.8)
    points = []
    for row in ratio.rows:
        rec = row.record
        assert rec is not None
        bw = rec["hbm_bandwidth"].quantity.to("TB/s").magnitude
        flops = rec["bf16_flops"].quantity.to("TFLOP/s").magnitude
        points.append((rec, bw, flops))
    _vendor_scatter(ax, points)
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
    _legend_below(fig, ax)
    place_labels(ax, [(x, y, rec.id) for rec, x, y in points])
    return fig


def _by_year(evaluation: Evaluation, ylabel: str, unit: bool = True) -> Figure:
    """Each row's value against its record's release year, with the lecture's figure as a line.

    ``unit=False`` leaves the claim's unit off the legend where the axis label already names the quantity.
    """
    fig, ax = panel(WIDTH, 4.8)
    points = [(rec, float(int(str(rec.meta.get("year")))), value) for rec, value in _rows(evaluation)]
    _vendor_scatter(ax, points)
    stated = formatting.stated(evaluation) if unit else formatting.number(evaluation.claim.stated.value)
    ax.axhline(evaluation.claim.stated.value, ls="--", lw=1.4, color=GREY, label=f"lecture: {stated}")
    years = [x for _, x, _ in points]
    ax.set_xlim(min(years) - 0.7, max(years) + 0.7)
    ax.set_xticks(range(int(min(years)), int(max(years)) + 1, 2))
    ax.set_xlabel("year of release")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, max(v for _, _, v in points) * 1.12)
    ax.grid(True)
    _legend_below(fig, ax)
    place_labels(ax, [(x, y, rec.id) for rec, x, y in points])
    return fig


def drain_time(db: Database, evaluations: Evaluations) -> Figure:
    """HBM capacity / bandwidth by release year, with the lecture's figure."""
    return _by_year(evaluations["serving.train-interval"], "HBM capacity ÷ bandwidth (ms)")


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


def decode_roofline(db: Database, evaluations: Evaluations) -> Figure:
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
    fig, ax = panel(WIDTH, 4.2)
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
        fontsize=9.5,
        arrowprops={"arrowstyle": "-", "color": INK, "lw": 0.8},
    )
    top = float(compute[-1]) * 1.08
    ax.text(balanced * 0.5, top * 0.95, "weights set the pace", ha="center", va="top", fontsize=9.5, color=BLUE)
    ax.text(
        balanced * 1.75, top * 0.95, "arithmetic sets the pace", ha="center", va="top", fontsize=9.5, color=VERMILLION
    )
    ax.set_xlim(0, sizes[-1])
    ax.set_ylim(0, top)
    ax.set_xlabel("batch (tokens per decode step)")
    ax.set_ylabel("step time ÷ one read of the weights")
    ax.set_title(f"DeepSeek-V3 in BF16 on {rec.id} GPUs", fontsize=10)
    ax.grid(True)
    _legend_below(fig, ax, ncols=1)
    return fig


def cost_per_token(db: Database, evaluations: Evaluations) -> tuple[Figure, ...]:
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
        fig, ax = panel(WIDTH, 4.4)
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
        ax.set_title(f"DeepSeek-V3 on one {rec.id.upper()} GPU: FP8 weights, BF16 KV, served context", fontsize=10)
        ax.grid(True)
        _legend_below(fig, ax, ncols=1)
        panels.append(fig)
    return tuple(panels)


def serving_context(db: Database, evaluations: Evaluations) -> tuple[Figure, ...]:
    """How the balanced batch, the step and a replica's throughput move with the context each sequence carries."""
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
    rate = _curve(forms.rate, values, L_ctx, contexts)
    chips = _curve(forms.smallest, values, L_ctx, contexts)
    train = float(values[M] / values[W]) * 1e3
    served = float(values[L_ctx])
    rec = replica.reference.record
    assert rec is not None
    figs = [panel(WIDTH, 4.2) for _ in range(3)]
    (_, left), (_, middle), (_, right) = figs
    weights_only = replica.reference.details["balanced_batch"]  # FP8 on FP8: batch.optimal-size's value on this chip
    left.plot(contexts, np.full_like(contexts, weights_only), color=BLUE, label="weights only (lecture)")
    left.plot(contexts, balanced_kv, color=VERMILLION, ls="-.", label="with KV reads and attention")
    left.axvline(limit, color=GREY, ls=":", lw=1.6, label="no batch balances beyond")
    left.set_ylabel("balanced batch (tokens)")
    left.set_yscale("log")
    middle.plot(contexts, step, color=PURPLE, label="step of the smallest replica")
    middle.axhline(train, color=GREY, ls="--", lw=1.4, label="one read of all HBM (the 'train')")
    middle.set_ylabel("step time (ms)")
    middle.set_ylim(0, max(train, float(np.nanmax(step))) * 1.15)
    right.plot(contexts, rate, color=GREEN, label="replica")
    right.plot(contexts, rate / chips, color=ORANGE, ls="-.", label="per GPU")
    right.set_ylabel("tokens per second")
    right.set_yscale("log")
    for fig, ax in figs:
        ax.set_xscale("log")
        ax.axvline(served, color=INK, ls="--", lw=0.8, label="DeepSeek's served context")
        ax.set_xlabel("context per sequence (tokens)")
        ax.set_title(f"DeepSeek-V3 on {rec.id} GPUs: FP8 weights and arithmetic, BF16 KV", fontsize=10)
        ax.grid(True)
        _legend_below(fig, ax, ncols=2)
    return tuple(fig for fig, _ in figs)


def step_by_part(db: Database, evaluations: Evaluations) -> Figure:
    """The step model's parts against batch for the running example: what a decode step spends its time on."""
    batch = evaluations["batch.optimal-size"]
    rec = batch.reference.record
    assert rec is not None
    context = next(i.field.si for i in batch.reference.inputs if i.symbol == "L")
    sizes = np.unique(np.round(np.geomspace(1, 1e5, 240)))
    r = deployment.step(
        "deepseek-v3", rec.id, 1, sizes, context, weights="fp8", math="fp8", attention_math="bf16", db=db
    )
    fig, ax = panel(WIDTH, 4.6)
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
            fontsize=8.5,
            color=INK,
            xytext=(-4, 0),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch (sequences, one token each per step)")
    ax.set_ylabel("time per step (ms)")
    context_text = formatting.quantity(context, "token", significant=6)
    ax.set_title(f"DeepSeek-V3 on one {rec.id.upper()} GPU, {context_text} of context each", fontsize=10)
    ax.grid(True)
    _legend_below(fig, ax, ncols=1)
    return fig


ROOFLINE_CHIPS = ("a100-sxm", "h100-sxm", "b200", "tpu-v7", "mi355x")


def roofline(db: Database, evaluations: Evaluations) -> Figure:
    """Attainable dense BF16 FLOP/s against arithmetic intensity, with decode and prefill marked."""
    ratio = evaluations["rooflines.hardware-ratio"]
    chosen = [r.record for r in ratio.rows if r.record is not None and r.record.id in ROOFLINE_CHIPS]
    fig, ax = panel(WIDTH, 4.6)
    intensity = np.geomspace(1, 1e4, 400)
    # One colour per chip (three are NVIDIA's, so the vendor colour cannot tell them apart); the
    # vendor's marker sits on each chip's ridge point.
    for rec, colour, dash in zip(chosen, SERIES, ("-", "--", "-.", ":", "-"), strict=False):
        peak = rec["bf16_flops"].quantity.to("TFLOP/s").magnitude
        bandwidth = rec["hbm_bandwidth"].quantity.to("TB/s").magnitude
        marker = vendor_style(rec.meta.get("vendor"))[1]
        ax.plot(intensity, np.minimum(peak, bandwidth * intensity), color=colour, ls=dash, label=rec.name)
        ax.plot([peak / bandwidth], [peak], marker=marker, color=colour, ms=7, ls="none")
    # A BF16 step over B tokens of a model with sparsity S does 2·B·N_active FLOP per 2·N_total
    # weight bytes: intensity B/S. Batch one of a dense model sits at 1; DeepSeek-V3 at its
    # balanced batch (the hardware ratio times S) sits at the ridge of the chip it is served on,
    # the GB200 of batch.optimal-size: at that chip's hardware ratio, whatever the model.
    decode = 1.0
    rows = get_claim("batch.optimal-size").rows  # the claim's definition, not its evaluation: no model enters
    assert rows is not None
    balanced = next(r.value for r in ratio.rows if r.record is not None and r.record.id == rows.reference)
    ax.axvline(decode, ls=":", lw=1.4, color=INK)
    ax.text(decode * 1.2, 2, "batch 1, dense model", fontsize=9, rotation=90, va="bottom")
    ax.axvline(balanced, ls="--", lw=1.4, color=GREY)
    ax.text(balanced * 1.12, 2, "DeepSeek-V3, balanced batch", fontsize=9, rotation=90, va="bottom")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1, None)
    ax.set_xlabel("FLOP per byte of weights read")
    ax.set_ylabel("attainable dense BF16 (TFLOP/s)")
    ax.grid(True)
    _legend_below(fig, ax, ncols=2)
    return fig


def ratio_by_year(db: Database, evaluations: Evaluations) -> Figure:
    """The hardware ratio of each accelerator against its year, with the lecture's figure."""
    return _by_year(evaluations["rooflines.hardware-ratio"], "multiply-adds per weight read", unit=False)


def scale_up_domains(db: Database, evaluations: Evaluations) -> tuple[Figure, ...]:
    """NVIDIA scale-up domains: GPUs and aggregate HBM bandwidth, derived from the system records."""
    systems = [s for s in db.of_kind("system") if str(db[str(s.meta["accelerator"])].meta.get("vendor")) == "NVIDIA"]
    systems.sort(key=lambda s: (int(str(db[str(s.meta["accelerator"])].meta.get("year"))), s.id))
    names = [s.id for s in systems]
    chips = [s["chips"].quantity.magnitude for s in systems]
    totals = [derived.system_totals(db, s)["hbm_bandwidth"].to("TB/s").magnitude for s in systems]
    panels = []
    for heights, colour, label in (
        (chips, GREEN, "GPUs in the scale-up domain"),
        (totals, BLUE, "aggregate HBM bandwidth (TB/s)"),
    ):
        fig, ax = panel(WIDTH, 0.5 + 0.32 * len(systems))
        ax.barh(range(len(systems)), heights, color=colour)
        ax.set_yticks(range(len(systems)), names, fontsize=9)
        ax.invert_yaxis()
        ax.set_xlabel(label)
        ax.grid(True, axis="x")
        panels.append(fig)
    return tuple(panels)


def tier_drain(db: Database, evaluations: Evaluations) -> Figure:
    """Drain time of each memory tier on a log scale, with the prompt-cache lifetimes."""
    tiers = sorted(db.of_kind("memory-tier"), key=lambda r: float(derived.drain_time(r).to("s").magnitude))  # type: ignore[union-attr]
    seconds = [float(derived.drain_time(r).to("s").magnitude) for r in tiers]  # type: ignore[union-attr]
    sheet = db["claude-opus-4-5"]
    fig, ax = panel(WIDTH, 0.9 + 0.3 * len(tiers))
    ax.barh(range(len(tiers)), seconds, color=PURPLE)
    ax.set_yticks(range(len(tiers)), [r.id for r in tiers], fontsize=9)
    ax.invert_yaxis()
    ax.set_xscale("log")
    for name, colour, dash, label in (
        ("cache_short_duration", VERMILLION, "--", "short prompt-cache lifetime"),
        ("cache_long_duration", ORANGE, "-.", "long prompt-cache lifetime"),
    ):
        ax.axvline(sheet[name].quantity.to("s").magnitude, ls=dash, color=colour, label=label)
    ax.set_xlabel("capacity ÷ bandwidth (s)")
    ax.grid(True, axis="x")
    _legend_below(fig, ax, ncols=1)
    return fig


def kv_against_compute(db: Database, evaluations: Evaluations) -> Figure:
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
    fig, ax = panel(WIDTH, 4.4)
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
    ax.set_title(f"KV cache of {formatting.claim_quantity(kv.claim, kv.value)} for every curve", fontsize=10)
    ax.grid(True)
    _legend_below(fig, ax, ncols=1)
    return fig


def sparse_attention_cost(db: Database, evaluations: Evaluations) -> Figure:
    """Tokens read per query: dense against the optimised two-level sparse scheme."""
    contexts = np.unique(np.geomspace(1e2, 1e6, 25).astype(int))
    fig, ax = panel(WIDTH, 4.2)
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


def reversible_memory(db: Database, evaluations: Evaluations) -> Figure:
    """Activation memory per token, stored against reversible, as the stack deepens."""
    rev = evaluations["reversible.activation-saving"]
    per_layer = rev.reference.details["reversible_per_token"]
    depth_now = rev.reference.inputs[0].field.quantity.magnitude
    depths = np.arange(1, 129)
    fig, ax = panel(WIDTH, 4.2)
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


def pipeline_bubble(db: Database, evaluations: Evaluations) -> tuple[Figure, ...]:
    """Idle share of a synchronous (GPipe-style) pipeline step against micro-batches, with weight re-reads."""
    naive = evaluations["pipeline.naive-idle"]
    stages = int(naive.reference.inputs[0].field.quantity.magnitude)
    micro = np.arange(1, 65)
    idle = lambdified(BUBBLE, (pipeline_stages, micro_batches))

    def bubble(p: int) -> np.ndarray:
        values: np.ndarray = idle(p, micro)
        return values

    if not np.isclose(bubble(stages)[0], naive.value, rtol=1e-12):
        raise ValueError("pipeline bubble figure: one micro-batch must reproduce pipeline.naive-idle")
    left_fig, left = panel(WIDTH, 4.2)
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
    right_fig, right = panel(WIDTH, 3.6)
    right.plot(micro, micro, color=INK)
    right.set_xscale("log", base=2)
    right.set_yscale("log", base=2)
    right.set_xlabel("micro-batches per step")
    right.set_ylabel("reads of a stage's weights")
    right.grid(True)
    return left_fig, right_fig


def lifetime_cost(db: Database, evaluations: Evaluations) -> Figure:
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
    fig, ax = panel(WIDTH, 4.8)
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


def reversible_bf16_error(db: Database, evaluations: Evaluations) -> Figure:
    """Error of inputs rebuilt in BF16 by a random coupling stack, against its depth.

    Drawn from the claim's own detail formulas (its table of measurements, one per depth), so the
    curves pass through the figures the box shows at the model's depth.
    """
    rev = evaluations["reversible.activation-saving"]
    formulas = {d.name: d.expr for d in rev.derivation.details}
    depth_now = rev.reference.inputs[0].field.quantity.magnitude
    depths = np.arange(1, 129)
    fig, ax = panel(WIDTH, 4.2)
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
        FigureSpec("pipeline-bubble", ("pipeline.naive-idle",), pipeline_bubble),
        FigureSpec("lifetime-cost", ("training.model-inference-volume", "training.overtraining"), lifetime_cost),
        FigureSpec("reversible-bf16-error", ("reversible.activation-saving",), reversible_bf16_error),
    )
}


def panels_of(drawn: Drawn) -> tuple[Figure, ...]:
    """A drawn figure as its panels (a single figure is one panel)."""
    return drawn if isinstance(drawn, tuple) else (drawn,)


def render_svg(drawn: Drawn) -> str:
    """SVG text for a figure; panels side by side where the page is wide and stacked where it is not."""
    panels = panels_of(drawn)
    if len(panels) == 1:
        return svg_of(panels[0])
    inner = "".join(f'<div class="claim-figure-panel">{svg_of(p)}</div>' for p in panels)
    return f'<div class="claim-figure-panels">{inner}</div>'
