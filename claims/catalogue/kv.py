"""Prices leak the architecture: KV bytes per token from a long-context threshold (section 7)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Detail, Input, LectureArithmetic, Rows, Step
from ..policy import Stated
from .batch import FLOP_PER_PARAM_TOKEN, c
from .common import TOKENS_PER_STEP, VALUE_AS_WEIGHT, one_step

# The lecture's own figures: its frontier model's active parameters, its hardware ratio, the threshold.
N_lec, R_lec, L_lec = sp.symbols("N_lecture R_lecture L_lecture", positive=True)

PAGE = "prices"

F, W = sp.symbols("F W", positive=True)
N_act, L = sp.symbols("N_active L", positive=True)
kappa = sp.Symbol("kappa", positive=True)  # KV bytes per token of context
T_compute, T_kv = sp.symbols("T_compute T_KV", positive=True)
b_w = sp.Symbol("b", positive=True)  # bytes per FP8 weight: the ratio is quoted per weight read, as in rooflines

n = TOKENS_PER_STEP.symbol


def derive_kv_bytes() -> Derivation:
    """Per emitted token, KV reads equal compute exactly at the priced threshold."""
    compute = c * N_act / F
    kv_read = L * kappa / (W * n)
    (solution,) = sp.solve(sp.Eq(compute, kv_read), kappa)
    return Derivation(
        steps=(
            Step("Compute time per emitted token", sp.Eq(T_compute, compute)),
            Step("Time to read one sequence's KV cache per emitted token", sp.Eq(T_kv, kv_read)),
            Step("Assume the price step sits where the two are equal", sp.Eq(compute, kv_read)),
            Step("Solved for KV bytes per token (the batch size has cancelled)", sp.Eq(kappa, solution)),
        ),
        result=solution,
        details=(
            Detail(
                "hardware_ratio",
                "multiply-adds per weight read, F·b/(c·W), with FP8 weights of one byte each",
                F * b_w / (c * W),
                "token",
            ),
        ),
    )


KV_BYTES = Claim(
    id="kv.bytes-per-token",
    title="Gemini's 200k price step implies ~2 KB of KV per token",
    statement=(
        "If the long-context price step sits where reading the KV cache costs as much time as the "
        "matrix multiplies, a 100B-active model at a 200k-token threshold stores under 2 KB of KV "
        "per token."
    ),
    section="7. API prices leak the architecture",
    kind="derived",
    evidence="lecture-arithmetic",
    page=PAGE,
    unit="B/token",
    stated=Stated(1667, "B/token", "100B / (300 × 200k) ≈ 1,667 bytes per token, 'almost 2 KB'"),
    own=LectureArithmetic(
        "its 100B active parameters over its ratio of 300 times the 200k threshold",
        N_lec / (R_lec * L_lec),
        ((N_lec, 100e9), (R_lec, 300), (L_lec, 200e3)),
    ),
    build=derive_kv_bytes,
    inputs=(
        Input(F, "fp8_flops", None, "dense FP8 FLOP/s"),
        Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
        Input(N_act, "active_params", "lecture-frontier-model", "assumed active parameters"),
        Input(L, "long_context_threshold", "gemini-3.1-pro", "long-context price threshold"),
        Input(b_w, "storage_per_parameter", "fp8", "bytes per FP8 weight"),
    ),
    constants=(FLOP_PER_PARAM_TOKEN, TOKENS_PER_STEP),
    rows=Rows(
        "accelerator",
        "tpu-v7",
        "reference",
        "the price step is Gemini's, and Google serves Gemini on its own TPUs; Ironwood is its current inference chip",
    ),
    finding=(
        "If the price step sits where one sequence's KV read per emitted token takes as long as its compute, "
        "the KV bytes per token are the active parameters over the chip's multiply-adds per weight read, "
        "{detail:hardware_ratio} on Ironwood in FP8 (one byte per weight, so also per byte read), times the "
        "threshold's {in:L}: {value} for a frontier "
        "model of {in:N_active} active, as the lecture assumes, and its own arithmetic closes on {own}. The verdict rests on two "
        "assumptions nobody publishes: Gemini's active size, and that Google set the step at that balance point "
        "rather than for margin. Every open model in hwdb caches many times more per token (the models page), so "
        "a Gemini near this figure would need a cache compressed or shared across layers far beyond theirs."
    ),
)


layers, heads, d_head, b_kv, b_wide = sp.symbols("n_layers n_KV d_head b b_BF16", positive=True)
e_val = VALUE_AS_WEIGHT.symbol
per_layer_lec, heads_lec, d_lec = sp.symbols("K_and_V n_KV^lecture d_head^lecture", positive=True)

KV_SANITY = Claim(
    id="kv.sanity-check",
    title="One shared layer × 8 KV heads × 128 dims ≈ 2 KB per token",
    statement=(
        "A model whose KV cache is shared across layers, with 8 KV heads of dimension 128 in FP8, stores "
        "2 × 128 × 8 bytes per token: close to the price-derived figure."
    ),
    section="7. API prices leak the architecture",
    kind="derived",
    page=PAGE,
    unit="B/token",
    stated=Stated(2048, "B/token", "unique layers × 2 (K and V) × d_head × KV heads = 2,048 with one layer, 128, 8"),
    own=LectureArithmetic(
        "two (K and V) × 128 dimensions × 8 heads × one unique layer, one byte each",
        per_layer_lec * d_lec * heads_lec,
        ((per_layer_lec, 2), (d_lec, 128), (heads_lec, 8)),
    ),
    evidence="lecture-arithmetic",
    build=one_step(
        "kappa",
        2 * layers * heads * d_head * b_kv * e_val / n,
        "K and V per unique layer, per head, per dimension",
        details=(
            Detail(
                "bf16",
                "the same cache with each value in BF16, as most models store it",
                2 * layers * heads * d_head * b_wide * e_val / n,
                "B/token",
                digits=5,  # exact, like the claim's own 2,048
            ),
        ),
    ),
    inputs=(
        Input(layers, "layers", "lecture-examples", "unique attention layers"),
        Input(heads, "kv_heads", "lecture-examples", "KV heads"),
        Input(d_head, "head_dim", "lecture-examples", "head dimension"),
        Input(b_kv, "storage_per_parameter", "fp8", "bytes per FP8 value"),
        Input(b_wide, "storage_per_parameter", "bf16", "bytes per BF16 value"),
    ),
    constants=(TOKENS_PER_STEP, VALUE_AS_WEIGHT),
    finding=(
        "K and V for 8 heads of 128 dimensions in one shared layer is {value} when each cached value takes one "
        "byte, as the lecture's arithmetic assumes, and then it matches the price-derived figure. Most models "
        "cache in BF16, where the same shape is {detail:bf16}, twice as much: the sanity check holds only for an "
        "FP8 cache. Published models cache far more per token (the models page), because every layer keeps its "
        "own K and V unless the architecture shares or compresses them."
    ),
)

CLAIMS = (KV_BYTES, KV_SANITY)
