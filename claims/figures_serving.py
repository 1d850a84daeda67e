"""Figures of serving: a decode step against its batch and context, its cost per token and its parts,
and the KV reads of dense and sparse attention, each drawn from the claims' own formulas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from matplotlib.figure import Figure

from hwdb import Database

from . import deployment, formatting
from . import stepmodel as sm
from .catalogue.attention import C_star, best_integer_cost
from .catalogue.attention import L as L_attn
from .catalogue.attention import m as m_blocks
from .catalogue.attention import u as u_summary
from .catalogue.batch import (
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
from .catalogue.serving import BALANCED, F_16, G_chips
from .catalogue.serving import replica as replica_forms
from .figdraw import Evaluations, chips_named, defining_step, finish_axes, formula_curve, si_values
from .figstyle import BLUE, GREEN, GREY, INK, ORANGE, PURPLE, VERMILLION, Layout, panel


def decode_roofline(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Concept: a decode step's time against its batch, the flat weight fetch and the rising compute.

    Times are in units of one read of every weight, so the picture holds however many GPUs share
    the model (both times divide by their number) and the crossing is the claim's balanced batch.
    """
    batch = evaluations["batch.optimal-size"]
    values = si_values(batch)
    balanced = float(batch.value)
    sizes = np.linspace(0, 2.5 * balanced, 400)
    fetch = formula_curve(defining_step(batch, T_weights), values, B, sizes)
    unit = float(fetch[0])
    compute = formula_curve(defining_step(batch, T_compute), values, B, sizes) / unit
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
    finish_axes(
        fig,
        ax,
        layout,
        "batch (tokens per decode step)",
        "step time ÷ one read of the weights",
        title=f"DeepSeek-V3 in BF16 on {chips_named(rec)}",
        xlim=(0, sizes[-1]),
        ylim=(0, top),
        legend=1,
    )
    return fig


def cost_per_token(db: Database, evaluations: Evaluations, layout: Layout) -> tuple[Figure, ...]:
    """Step time and cost per token against batch: the lecture's model and one with expert traffic and KV."""
    batch = evaluations["batch.optimal-size"]
    penalty = evaluations["batch.unbatched-penalty"]
    values = si_values(batch) | si_values(penalty)
    sizes = np.geomspace(1, 1e5, 300)
    # Both curves in the formats DeepSeek serves: FP8 weights on FP8 arithmetic (at the rate that keeps the
    # balanced batch where BF16 puts it); the step model's curve adds touched experts, BF16 KV and attention.
    rate = values[F] * values[b] / values[b_w]
    lecture = formula_curve(sp.Max(B * c * N_act / F, N_tot * b / W), values, B, sizes) * values[b_w] / values[b]
    served = formula_curve(step_time(B), values, B, sizes)
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
        title = f"DeepSeek-V3 on {chips_named(rec, one=True)}: FP8 weights, BF16 KV, served context"
        finish_axes(fig, ax, layout, "batch (tokens, one per sequence)", label, title=title, xlog=10, ylog=10, legend=1)
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
    values = si_values(replica)
    contexts = np.geomspace(256, 262_144, 300)
    limit = batch.reference.details["context_limit"]
    # The batch claim binds the formats the balanced batch is drawn in (FP8 weights and matmuls, BF16 attention).
    balanced_kv = formula_curve(balanced_with_kv(), si_values(batch), L_ctx, contexts)
    balanced_kv[contexts >= limit] = np.nan
    forms = replica_forms()
    step = formula_curve(forms.step, values, L_ctx, contexts) * 1e3
    arithmetic = formula_curve(_replica_arithmetic(forms), values, L_ctx, contexts) * 1e3
    rate = formula_curve(forms.rate, values, L_ctx, contexts)
    chips = formula_curve(forms.smallest, values, L_ctx, contexts)
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
    replica_title = f"The lecture's batch of {held_text} on the fewest {chips_named(rec)} that hold its KV"
    titles = (f"DeepSeek-V3 on {chips_named(rec)}: FP8 weights and arithmetic, BF16 KV", replica_title, replica_title)
    for (fig, ax), title in zip(figs, titles, strict=True):
        ax.axvspan(limit, contexts[-1], color=GREY, alpha=0.16, lw=0, label="no batch balances")
        ax.axvline(served, color=INK, ls="--", lw=0.8, label="DeepSeek's served context")
        xlim = (contexts[0], contexts[-1])
        finish_axes(fig, ax, layout, "context per sequence (tokens)", title=title, xlog=10, xlim=xlim, legend=2)
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
    context_text = formatting.quantity(context, "token", significant=6)
    title = f"DeepSeek-V3 on {chips_named(rec, one=True)}, {context_text} of context each"
    xlabel = "batch (sequences, one token each per step)"
    finish_axes(fig, ax, layout, xlabel, "time per step (ms)", title=title, xlog=10, ylog=10, legend=1)
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
    optimum = defining_step(sparse, C_star).subs(u_summary, 1)
    contexts = np.geomspace(1e3, 1e8, 200)
    fig, ax = panel(layout, 4.4)
    ax.plot(contexts, contexts / threshold, color=BLUE, label="dense: reads every cached token")
    for blocks, colour, dash in ((1, VERMILLION, "-."), (16, GREEN, "--")):
        tokens = formula_curve(optimum.subs(m_blocks, blocks), {}, L_attn, contexts)
        ax.plot(contexts, tokens / threshold, color=colour, ls=dash, label=f"sparse, {blocks} selected block(s)")
    ax.axhline(1, ls=":", lw=1.4, color=INK, label="KV reads take as long as the arithmetic")
    ax.axvline(threshold, ls="--", lw=1.4, color=GREY, label="Gemini's long-context threshold")
    title = f"KV cache of {formatting.claim_quantity(kv.claim, kv.value)} for every curve"
    ylabel = "KV-read time ÷ compute time"
    finish_axes(fig, ax, layout, "context length (tokens)", ylabel, title=title, xlog=10, ylog=10, legend=1)
    return fig


def sparse_attention_cost(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Tokens read per query: dense against the optimised two-level sparse scheme."""
    contexts = np.unique(np.geomspace(1e2, 1e6, 25).astype(int))
    fig, ax = panel(layout, 4.2)
    ax.plot(contexts, contexts, color=BLUE, label="dense: every cached token")
    for blocks, colour, dash in ((1, VERMILLION, "-."), (16, GREEN, "--")):
        costs = [best_integer_cost(int(c), blocks) for c in contexts]
        ax.plot(contexts, costs, color=colour, ls=dash, label=f"sparse, {blocks} selected block(s), best block size")
    finish_axes(fig, ax, layout, "context length (tokens)", "tokens read per query", xlog=10, ylog=10, legend=1)
    return fig
