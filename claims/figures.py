"""Figures drawn from hwdb and claim evaluations at build time (no committed images).

Each figure function takes the database and the evaluations and returns a
matplotlib figure; :func:`render_svg` turns it into deterministic SVG text.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from matplotlib.figure import Figure

from hwdb import Database, Record, derived

from . import formatting
from .catalogue.batch import (
    BALANCED_WITH_KV,
    FLOP_PER_PARAM_TOKEN,
    KV_PER_TOKEN,
    B,
    F,
    L_ctx,
    M,
    N_act,
    N_tot,
    W,
    b,
    c,
    kappa,
    step_time,
)
from .catalogue.pipeline import BUBBLE
from .catalogue.pipeline import P as pipeline_stages
from .catalogue.pipeline import m_mb as micro_batches
from .catalogue.serving import REPLICA_RATE, REPLICA_STEP, SMALLEST
from .catalogue.training import PRETRAIN_FLOP
from .compiled import lambdified
from .engine import Evaluation

Evaluations = dict[str, Evaluation]

VENDOR_COLOURS = {"NVIDIA": "#4c8c2b", "Google": "#3367d6", "AMD": "#c0392b"}


@dataclass(frozen=True)
class FigureSpec:
    name: str
    claims: tuple[str, ...]
    draw: Callable[[Database, Evaluations], Figure]


def _colour(record: Record) -> str:
    return VENDOR_COLOURS.get(str(record.meta.get("vendor")), "#555555")


def _rows(evaluation: Evaluation) -> list[tuple[Record, float]]:
    return [(r.record, r.value) for r in evaluation.rows if r.record is not None]


def hardware_ratio(db: Database, evaluations: Evaluations) -> Figure:
    """Dense BF16 FLOP/s against HBM bandwidth, with the lecture's ratio as a line."""
    batch = evaluations["batch.optimal-size"]
    lecture_ratio = batch.claim.stated.value / batch.reference.details["lecture_sparsity"]
    fig, ax = plt.subplots(figsize=(7, 4.6))
    for row in batch.rows:
        rec = row.record
        assert rec is not None
        bw = rec["hbm_bandwidth"].quantity.to("TB/s").magnitude
        flops = rec["bf16_flops"].quantity.to("TFLOP/s").magnitude
        ax.scatter(bw, flops, color=_colour(rec), s=36, zorder=3)
        ax.annotate(rec.id, (bw, flops), textcoords="offset points", xytext=(5, 3), fontsize=8)
    bws = np.geomspace(0.5, 30, 50)
    # ratio (tokens at sparsity 1) = F * b / (c * W); for BF16 (b = 2 B/param, c = 2 FLOP/(param*token)) F/W = ratio
    b = db["bf16"]["storage_per_parameter"].quantity.to("B/param").magnitude
    c = batch.claim.constants[0].value
    flop_per_byte = lecture_ratio * c / b
    ax.plot(bws, flop_per_byte * bws, "--", color="#888888", label=f"lecture's ratio ({lecture_ratio:.0f}), BF16")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("HBM bandwidth (TB/s)")
    ax.set_ylabel("dense BF16 throughput (TFLOP/s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def _by_year(evaluation: Evaluation, ylabel: str) -> Figure:
    """Each row's value against its record's release year, with the lecture's figure as a line."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for rec, value in _rows(evaluation):
        year = int(str(rec.meta.get("year")))
        ax.scatter(year, value, color=_colour(rec), s=36, zorder=3)
        ax.annotate(rec.id, (year, value), textcoords="offset points", xytext=(5, 2), fontsize=8)
    label = f"lecture: {formatting.stated(evaluation)}"
    ax.axhline(evaluation.claim.stated.value, ls="--", color="#888888", label=label)
    ax.set_xlabel("year of release")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
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


def cost_per_token(db: Database, evaluations: Evaluations) -> Figure:
    """Step time and cost per token against batch: the lecture's model and one with expert traffic and KV."""
    batch = evaluations["batch.optimal-size"]
    penalty = evaluations["batch.unbatched-penalty"]
    # The claim's own detail: KV bytes per token of context (B/token is already SI, bytes per token).
    values = _si(batch) | _si(penalty) | {kappa: batch.reference.details["kv_per_token"]}
    sizes = np.geomspace(1, 1e5, 300)
    lecture = _curve(sp.Max(B * c * N_act / F, N_tot * b / W), values, B, sizes)
    served = _curve(step_time(B), values, B, sizes)
    optimum = values[c] * values[N_act] / values[F]  # compute time per token
    fetch = values[N_tot] * values[b] / values[W]  # one read of every weight
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, lecture_y, served_y, label in (
        (left, lecture / fetch, served / fetch, "step time ÷ time to read every weight"),
        (right, lecture / sizes / optimum, served / sizes / optimum, "cost per token ÷ compute-only cost"),
    ):
        ax.plot(sizes, lecture_y, color="#3367d6", label="lecture: every weight, no KV")
        ax.plot(sizes, served_y, color="#c0392b", ls="-.", label="touched experts + KV at the served context")
        ax.set_ylabel(label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axvline(
            batch.value, ls="--", color="#888888", label=f"B* = {formatting.claim_quantity(batch.claim, batch.value)}"
        )
        ax.set_xlabel("batch (tokens, one per sequence)")
        ax.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=7, loc="upper right")
    rec = batch.reference.record
    assert rec is not None
    fig.suptitle(f"DeepSeek-V3 in BF16 on {rec.id} chips; the ratios do not depend on how many share it", fontsize=9)
    fig.tight_layout()
    return fig


def serving_context(db: Database, evaluations: Evaluations) -> Figure:
    """How the balanced batch, the step and a replica's throughput move with the context each sequence carries."""
    replica = evaluations["serving.replica-throughput"]
    batch = evaluations["batch.optimal-size"]
    values = _si(replica)
    contexts = np.geomspace(256, 262_144, 300)
    limit = batch.reference.details["context_limit"]
    balanced_kv = _curve(BALANCED_WITH_KV.subs(kappa, KV_PER_TOKEN), values, L_ctx, contexts)
    balanced_kv[contexts >= limit] = np.nan
    step = _curve(REPLICA_STEP, values, L_ctx, contexts) * 1e3
    rate = _curve(REPLICA_RATE, values, L_ctx, contexts)
    chips = _curve(SMALLEST, values, L_ctx, contexts)
    train = float(values[M] / values[W]) * 1e3
    served = float(values[L_ctx])
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(11, 3.8))
    left.plot(contexts, np.full_like(contexts, float(batch.value)), color="#3367d6", label="weights only (lecture)")
    left.plot(contexts, balanced_kv, color="#c0392b", ls="-.", label="with KV reads")
    left.axvline(limit, color="#c0392b", ls=":", label="no batch balances beyond")
    left.set_ylabel("balanced batch (tokens)")
    middle.plot(contexts, step, color="#7a5195", label="step of the smallest replica")
    middle.axhline(train, color="#888888", ls="--", label="one HBM read (the 'train')")
    middle.set_ylabel("step time (ms)")
    middle.set_ylim(0, train * 1.2)
    right.plot(contexts, rate, color="#2e7d32", label="replica (tokens/s)")
    right.plot(contexts, rate / chips, color="#b26a00", ls="-.", label="per chip (tokens/s)")
    right.set_ylabel("tokens per second")
    for ax in (left, middle, right):
        ax.set_xscale("log")
        ax.axvline(served, color="#444444", ls="--", lw=0.8)
        ax.set_xlabel("context per sequence (tokens)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    left.set_yscale("log")
    right.set_yscale("log")
    rec = replica.reference.record
    assert rec is not None
    fig.suptitle(
        f"DeepSeek-V3 in BF16 on {rec.id} chips at the lecture's batch; grey dashes: DeepSeek's served context",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def roofline(db: Database, evaluations: Evaluations) -> Figure:
    """Attainable dense BF16 FLOP/s against arithmetic intensity, with decode and prefill marked."""
    batch = evaluations["batch.optimal-size"]
    chosen = [r.record for r in batch.rows if r.record is not None and r.record.id in ROOFLINE_CHIPS]
    fig, ax = plt.subplots(figsize=(7, 4.6))
    intensity = np.geomspace(1, 1e4, 400)
    for rec in chosen:
        peak = rec["bf16_flops"].quantity.to("TFLOP/s").magnitude
        bandwidth = rec["hbm_bandwidth"].quantity.to("TB/s").magnitude
        ax.plot(intensity, np.minimum(peak, bandwidth * intensity), color=_colour(rec), label=rec.name)
    # A BF16 step over B tokens of a model with sparsity S does 2·B·N_active FLOP per 2·N_total
    # weight bytes: intensity B/S. Batch one of a dense model sits at 1; DeepSeek-V3 at its
    # balanced batch sits at the reference chip's ridge.
    decode = 1.0
    balanced = float(batch.value) / batch.reference.details["sparsity"]
    ax.axvline(decode, ls=":", color="#444444")
    ax.text(decode * 1.15, 3, "decode at batch 1 (dense model)", fontsize=8, rotation=90)
    ax.axvline(balanced, ls="--", color="#888888")
    ax.text(balanced * 1.1, 3, "DeepSeek-V3 at its balanced batch", fontsize=8, rotation=90)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte of weights read)")
    ax.set_ylabel("attainable dense BF16 throughput (TFLOP/s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


ROOFLINE_CHIPS = ("a100-sxm", "h100-sxm", "b200", "tpu-v7", "mi355x")


def ratio_by_year(db: Database, evaluations: Evaluations) -> Figure:
    """The hardware ratio of each accelerator against its year, with the lecture's figure."""
    return _by_year(evaluations["rooflines.hardware-ratio"], "FLOP/s × bytes per weight ÷ (2 × bandwidth)")


def scale_up_domains(db: Database, evaluations: Evaluations) -> Figure:
    """NVIDIA scale-up domains: GPUs and aggregate HBM bandwidth, derived from the system records."""
    systems = [s for s in db.of_kind("system") if str(db[str(s.meta["accelerator"])].meta.get("vendor")) == "NVIDIA"]
    systems.sort(key=lambda s: (int(str(db[str(s.meta["accelerator"])].meta.get("year"))), s.id))
    names = [s.id for s in systems]
    chips = [s["chips"].quantity.magnitude for s in systems]
    totals = [derived.system_totals(db, s)["hbm_bandwidth"].to("TB/s").magnitude for s in systems]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    left.bar(range(len(systems)), chips, color="#4c8c2b")
    left.set_ylabel("GPUs in the scale-up domain")
    right.bar(range(len(systems)), totals, color="#3367d6")
    right.set_ylabel("aggregate HBM bandwidth (TB/s)")
    for ax in (left, right):
        ax.set_xticks(range(len(systems)), names, rotation=30, ha="right", fontsize=7)
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def tier_drain(db: Database, evaluations: Evaluations) -> Figure:
    """Drain time of each memory tier on a log scale, with the prompt-cache lifetimes."""
    tiers = sorted(db.of_kind("memory-tier"), key=lambda r: float(derived.drain_time(r).to("s").magnitude))  # type: ignore[union-attr]
    seconds = [float(derived.drain_time(r).to("s").magnitude) for r in tiers]  # type: ignore[union-attr]
    sheet = db["claude-opus-4-5"]
    fig, ax = plt.subplots(figsize=(7, 4.4))
    ax.barh(range(len(tiers)), seconds, color="#7a5195")
    ax.set_yticks(range(len(tiers)), [r.id for r in tiers], fontsize=8)
    ax.set_xscale("log")
    for row, (name, label) in enumerate(
        (("cache_short_duration", "short cache"), ("cache_long_duration", "long cache"))
    ):
        value = sheet[name].quantity.to("s").magnitude
        ax.axvline(value, ls="--", color="#c0392b")
        ax.text(value * 1.1, 0.5 + 1.2 * row, label, fontsize=8, color="#c0392b")
    ax.set_xlabel("capacity ÷ bandwidth (s)")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def kv_against_compute(db: Database, evaluations: Evaluations) -> Figure:
    """KV-read time over compute time per decoded token as the context grows."""
    kv = evaluations["kv.bytes-per-token"]
    threshold = db["gemini-3.1-pro"]["long_context_threshold"].quantity.to("token").magnitude
    contexts = np.geomspace(1e3, 1e8, 200)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(contexts, contexts / threshold, color="#3367d6", label="dense attention")
    ax.plot(contexts, np.sqrt(contexts / threshold), color="#c0392b", label="square-root sparse attention")
    ax.axhline(1, ls=":", color="#444444")
    ax.axvline(threshold, ls="--", color="#888888", label="Gemini's long-context threshold")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("context length (tokens)")
    ax.set_ylabel("KV-read time ÷ compute time per token")
    ax.set_title(f"KV cache of {kv.value:,.0f} B/token, balanced at the threshold", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sparse_attention_cost(db: Database, evaluations: Evaluations) -> Figure:
    """Tokens read per query: dense against the optimised two-level sparse scheme."""
    from .catalogue.attention import best_integer_cost

    contexts = np.unique(np.geomspace(1e2, 1e6, 25).astype(int))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(contexts, contexts, color="#3367d6", label="dense: every cached token")
    for blocks in (1, 16):
        costs = [best_integer_cost(int(c), blocks) for c in contexts]
        ax.plot(contexts, costs, label=f"sparse, {blocks} selected block(s), best block size")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("context length (tokens)")
    ax.set_ylabel("tokens read per query")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def reversible_memory(db: Database, evaluations: Evaluations) -> Figure:
    """Activation memory per token, stored against reversible, as the stack deepens."""
    rev = evaluations["reversible.feistel-invertible"]
    per_layer = rev.reference.details["reversible_per_token"]
    depth_now = rev.reference.inputs[0].field.quantity.magnitude
    depths = np.arange(1, 129)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(depths, depths * per_layer, color="#3367d6", label="every layer's input stored")
    ax.plot(
        depths, np.full_like(depths, per_layer, dtype=float), color="#c0392b", label="reversible: recomputed backwards"
    )
    ax.axvline(depth_now, ls="--", color="#888888", label="DeepSeek-V3's depth")
    ax.set_xlabel("layers")
    ax.set_ylabel("residual-stream activations per token (KiB, BF16)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def pipeline_bubble(db: Database, evaluations: Evaluations) -> Figure:
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
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    for p, colour in ((stages // 2, "#9ab8e8"), (stages, "#3367d6"), (stages * 2, "#1a3f8a")):
        left.plot(micro, bubble(p), color=colour, label=f"{p} stages" + (" (the lecture's)" if p == stages else ""))
    left.plot([1], [naive.value], "o", color="#c0392b", label="no micro-batching (pipeline.naive-idle)")
    left.set_xscale("log", base=2)
    left.set_xlabel("micro-batches per step")
    left.set_ylabel("share of the step each stage idles")
    left.grid(True, alpha=0.3)
    left.legend(fontsize=8)
    right.plot(micro, micro, color="#555555")
    right.set_xscale("log", base=2)
    right.set_yscale("log", base=2)
    right.set_xlabel("micro-batches per step")
    right.set_ylabel("reads of each stage's weights per step")
    right.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def lifetime_cost(db: Database, evaluations: Evaluations) -> Figure:
    """Lifetime compute against model size at the lecture model's quality, with and without serving.

    Quality is held at the Chinchilla fit's loss for the lecture's assumed model and corpus; for each
    size the fit gives the tokens needed to reach it. Serving adds the inference tokens of
    training.model-inference-volume at the lecture's decode efficiency.
    """
    law = db["chinchilla-loss-fit"]
    floor, a, alpha, b, beta = (
        law[f].si for f in ("loss_floor", "param_coefficient", "param_exponent", "data_coefficient", "data_exponent")
    )
    model = db["lecture-frontier-model"]
    n0, d0 = model["active_params"].si, model["pretraining_tokens"].si
    efficiency = db["lecture-serving"]["decode_efficiency"].si
    served = evaluations["training.model-inference-volume"].value
    c_train, c_serve = PRETRAIN_FLOP.si, FLOP_PER_PARAM_TOKEN.si
    target = floor + a / n0**alpha + b / d0**beta
    sizes = np.geomspace(n0 / 16, n0 * 16, 600)
    gap = target - floor - a / sizes**alpha
    sizes, gap = sizes[gap > 0], gap[gap > 0]
    tokens = (b / gap) ** (1 / beta)
    training = c_train * sizes * tokens
    lifetime = training + c_serve * sizes * served / efficiency
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for flops, colour, label in (
        (training, "#3367d6", "pre-training only"),
        (lifetime, "#c0392b", "pre-training + serving the lecture's inference volume"),
    ):
        best = int(np.argmin(flops))
        ratio = tokens[best] / sizes[best]
        serving_share = (flops[best] - training[best]) / training[best]
        split = f"; serving = {formatting.number(serving_share)}× pre-training" if serving_share > 0 else ""
        ax.plot(
            sizes, flops, color=colour, label=f"{label}: cheapest at {formatting.number(ratio)} tokens/param{split}"
        )
        ax.plot([sizes[best]], [flops[best]], "o", color=colour)
    ax.axvline(n0, ls="--", color="#888888", label="the lecture's assumed active parameters")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Near the smallest sizes the loss is barely reachable and the token count runs away;
    # show the region around the two minima.
    ax.set_ylim(training.min() / 2, lifetime.min() * 30)
    ax.set_xlabel("active parameters")
    ax.set_ylabel("lifetime FLOP at the same loss")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


FIGURES: dict[str, FigureSpec] = {
    spec.name: spec
    for spec in (
        FigureSpec("hardware-ratio", ("batch.optimal-size",), hardware_ratio),
        FigureSpec("drain-time", ("serving.train-interval",), drain_time),
        FigureSpec("cost-per-token", ("batch.optimal-size", "batch.unbatched-penalty"), cost_per_token),
        FigureSpec("serving-context", ("serving.replica-throughput", "batch.optimal-size"), serving_context),
        FigureSpec("roofline", ("batch.optimal-size",), roofline),
        FigureSpec("ratio-by-year", ("rooflines.hardware-ratio",), ratio_by_year),
        FigureSpec("scale-up-domains", ("rack.aggregate-bandwidth-growth",), scale_up_domains),
        FigureSpec("tier-drain", ("memory.flash-drain",), tier_drain),
        FigureSpec("kv-against-compute", ("kv.bytes-per-token",), kv_against_compute),
        FigureSpec("sparse-attention", ("attention.sparse-sqrt-gain",), sparse_attention_cost),
        FigureSpec("reversible-memory", ("reversible.feistel-invertible",), reversible_memory),
        FigureSpec("pipeline-bubble", ("pipeline.naive-idle",), pipeline_bubble),
        FigureSpec("lifetime-cost", ("training.model-inference-volume",), lifetime_cost),
    )
}


def render_svg(figure: Figure) -> str:
    """SVG text with no timestamp and a fixed hash salt, so builds are byte-identical."""
    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": "claims-book", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]
