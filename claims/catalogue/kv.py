"""Prices leak the architecture: KV bytes per token from a long-context threshold (section 7)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Constant, Derivation, Detail, Input, Rows, Step
from ..policy import Stated
from .batch import FLOP_PER_PARAM_TOKEN, c
from .common import one_step

PAGE = "prices"

F, W = sp.symbols("F W", positive=True)
N_act, L = sp.symbols("N_active L", positive=True)
kappa = sp.Symbol("kappa", positive=True)  # KV bytes per token of context
n = sp.Symbol("n", positive=True)  # tokens emitted per sequence per decode step
T_compute, T_kv = sp.symbols("T_compute T_KV", positive=True)

TOKENS_PER_STEP = Constant(n, 1, "token", "a decode step emits one token per sequence")


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
            Detail("hardware_ratio", "multiply-adds per byte of bandwidth, F/(c·W)", F / (c * W), "param*token/B"),
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
    page=PAGE,
    unit="B/token",
    stated=Stated(1667, "B/token", "about", "100B / (300 × 200k) ≈ 1,667 bytes per token, 'almost 2 KB'"),
    build=derive_kv_bytes,
    inputs=(
        Input(F, "fp8_flops", None, "dense FP8 FLOP/s"),
        Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
        Input(N_act, "active_params", "lecture-frontier-model", "assumed active parameters"),
        Input(L, "long_context_threshold", "gemini-3.1-pro", "long-context price threshold"),
    ),
    constants=(FLOP_PER_PARAM_TOKEN, TOKENS_PER_STEP),
    rows=Rows(
        "accelerator", "tpu-v7", "most", "Google serves Gemini on its own TPUs; Ironwood is its current inference chip"
    ),
    finding=(
        "With FP8 arithmetic (one byte per weight, the convention under which the lecture counts its "
        "ratio in multiply-adds) the reference hardware gives {value}; its ratio is {detail:hardware_ratio}."
    ),
)


layers, heads, d_head, b_kv = sp.symbols("n_layers n_KV d_head b", positive=True)
e_val = sp.Symbol("e", positive=True)

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
    stated=Stated(
        2048, "B/token", "exact", "unique layers × 2 (K and V) × d_head × KV heads = 2,048 with one layer, 128, 8"
    ),
    build=one_step(
        "kappa", 2 * layers * heads * d_head * b_kv * e_val / n, "K and V per unique layer, per head, per dimension"
    ),
    inputs=(
        Input(layers, "layers", "lecture-examples", "unique attention layers"),
        Input(heads, "kv_heads", "lecture-examples", "KV heads"),
        Input(d_head, "head_dim", "lecture-examples", "head dimension"),
        Input(b_kv, "storage_per_parameter", "fp8", "bytes per FP8 value"),
    ),
    constants=(TOKENS_PER_STEP, Constant(e_val, 1, "param", "a cached value is stored like one FP8 weight")),
    finding="The arithmetic gives {value}. Published models cache far more per token (see the models table): every layer keeps its own KV unless it shares it.",
)

CLAIMS = (KV_BYTES, KV_SANITY)
