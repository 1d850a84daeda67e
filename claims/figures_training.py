"""Figures of training: activation memory and the error of reversible layers, the pipeline bubble, and
lifetime compute against model size.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from hwdb import Database

from . import formatting
from .catalogue.batch import FLOP_PER_PARAM_TOKEN
from .catalogue.pipeline import BUBBLE
from .catalogue.pipeline import P as pipeline_stages
from .catalogue.pipeline import m_mb as micro_batches
from .catalogue.training import PRETRAIN_FLOP, compute_optimal
from .compiled import lambdified
from .figdraw import Evaluations, finish_axes
from .figstyle import BLUE, GREEN, GREY, INK, SKY, VERMILLION, Layout, panel


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
    finish_axes(fig, ax, layout, "layers", "activations per token (KiB, BF16)", legend=1)
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
    finish_axes(left_fig, left, layout, "micro-batches per step", "share of the step a stage idles", xlog=2, legend=2)
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
    finish_axes(
        right_fig,
        right,
        layout,
        "micro-batches per step",
        "share of the step doing arithmetic",
        title=f"{stages} stages (the lecture's)",
        xlog=2,
        ylim=(0, 1),
        legend=1,
    )
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
    # Near the smallest sizes the loss is barely reachable and the token count runs away;
    # show the region around the two minima.
    ylim = (training.min() / 2, lifetime.min() * 30)
    ylabel = "lifetime FLOP at the same loss"
    finish_axes(fig, ax, layout, "active parameters", ylabel, xlog=10, ylog=10, ylim=ylim, legend=1)
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
    ylabel = "error of rebuilt inputs\n(% of their RMS, BF16)"
    finish_axes(fig, ax, layout, "layers of the coupling stack", ylabel, xlog=2, ylog=10, legend=2)
    return fig
