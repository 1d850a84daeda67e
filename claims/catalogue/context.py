"""Context length: how windows grew, and when attention compute matters (lecture section 8)."""

from __future__ import annotations

import sympy as sp

from .. import stepmodel as sm
from ..engine import Claim, Constant, Derivation, Detail, Input, Rows, Step
from ..policy import Stated
from .batch import FLOP_PER_PARAM_TOKEN, c
from .common import TOKENS_PER_STEP, one_step, positive

PAGE = "context"

L_old, L_new = positive("L_GPT4 L_Claude21")
N, A_ctx, L_ctx, kappa, F, W = positive("N_active A L kappa F W")
n_new = TOKENS_PER_STEP.symbol

WINDOW_GROWTH = Claim(
    id="context.window-growth",
    title="Context windows grew from ~8K to 100–200K",
    statement="Context windows grew from about 8K tokens in the GPT-3/GPT-4 era to 100–200K.",
    section="8. Context length and sparse attention",
    kind="derived",
    evidence="reported",
    page=PAGE,
    unit="1",
    stated=Stated(
        18.75,
        "1",
        "~8K (GPT-3 era) to 100–200K",
        low=12.5,
        high=25,
        why="the growth the lecture implies: 100K/8K to 200K/8K",
    ),
    build=one_step("g", L_new / L_old, "Claude 2.1's window over GPT-4's launch window"),
    inputs=(
        Input(L_old, "context_window", "gpt-4-context-window", "GPT-4 context window at launch"),
        Input(L_new, "context_window", "claude-2.1-context-window", "Claude 2.1 context window"),
    ),
    finding=(
        "From GPT-4's {in:L_GPT4} at launch to Claude 2.1's {in:L_Claude21} is {value}, inside the growth the "
        "lecture implies ({stated}). The judged pair is the lecture's own framing, the GPT-3/GPT-4 era against "
        "the plateau it names; windows of a million tokens and more were announced soon after (the context "
        "statistics in hwdb), so 'flat for one to two years' describes what most deployments serve by default, "
        "not the largest window on offer."
    ),
)


def derive_crossover() -> Derivation:
    """Attention FLOPs grow with the context; the weights' do not. Where are they equal?

    The two are the step model's own compute terms for one sequence, at one arithmetic rate."""
    f = sm.formulas("tp")
    one = {sm.B: 1, sm.G: 1, sm.F_w: F, sm.F_a: F, sm.N_act: N, sm.A: A_ctx * n_new, sm.c: c * n_new, sm.L: L_ctx}
    weights = sp.sympify(f.compute.subs(one, simultaneous=True) * F / n_new)
    attention = sp.sympify(f.attention.subs(one, simultaneous=True) * F / n_new)
    if sp.simplify(weights - c * N) != 0 or sp.simplify(attention - A_ctx * L_ctx) != 0:
        raise AssertionError("the step model's compute terms should be 2·N and A·L FLOP per new token")
    (crossing,) = sp.solve(sp.Eq(weights, attention), L_ctx)
    intensity = A_ctx * n_new / kappa  # one new token reads L·κ bytes and does A·L FLOP
    return Derivation(
        steps=(
            Step("FLOP per new token in the weights' matrix multiplies", sp.Eq(sp.Symbol("C_w"), weights)),
            Step(
                "FLOP per new token in attention over L cached tokens (A per cached token, from the config: "
                "2·heads·(d_qk + d_v)·layers that see the whole context)",
                sp.Eq(sp.Symbol("C_att"), attention),
            ),
            Step("They are equal at the context", sp.Eq(sp.Symbol("L_x"), crossing)),
            Step(
                "The other comparison, attention compute against reading the KV cache, does not depend on L: "
                "attention's FLOP per KV byte against the chip's FLOP per HBM byte",
                sp.Eq(sp.Symbol("I_att"), intensity),
            ),
        ),
        result=crossing,
        details=(
            Detail("attention_flop", "attention FLOP per new token per cached token", A_ctx, "Mflop/token**2"),
            Detail("kv_bf16", "KV bytes per cached token in BF16", kappa, "B/token"),
            Detail("attention_intensity", "attention FLOP per KV byte read", intensity, "flop/B"),
            Detail("ridge", "GB200's dense BF16 FLOP per HBM byte (the roofline's ridge)", F / W, "flop/B"),
            Detail(
                "intensity_to_ridge",
                "attention FLOP per KV byte over the ridge (≥ 1: compute-bound)",
                intensity * W / F,
                "1",
            ),
        ),
    )


ATTENTION_CROSSOVER = Claim(
    id="attention.compute-crossover",
    title="Attention compute only matters at millions of tokens",
    statement=(
        "Judged as attention FLOPs against the weights' FLOPs per new token: attention's arithmetic overtakes "
        "the weights' only when the context reaches millions of tokens."
    ),
    section="8. Context length and sparse attention",
    kind="derived",
    page=PAGE,
    unit="token",
    stated=Stated(1e6, "token", "the attention compute term only matters at millions of tokens"),
    build=derive_crossover,
    inputs=(
        Input(N, "active_params", None, "active parameters"),
        Input(A_ctx, "attention_flop_per_context_token", None, "attention FLOP per new token per cached token"),
        Input(kappa, "kv_bytes_per_token_bf16", None, "KV bytes per cached token, BF16"),
        Input(F, "bf16_flops", "gb200", "GB200 dense BF16 FLOP/s"),
        Input(W, "hbm_bandwidth", "gb200", "GB200 HBM bandwidth"),
    ),
    constants=(FLOP_PER_PARAM_TOKEN, TOKENS_PER_STEP),
    rows=Rows(
        "model",
        "deepseek-v3",
        "most",
        "a statement about models in general; DeepSeek-V3, the lecture's running example, is the reference row",
        scope=(("variant_of", "None"),),
        why_scope="a model with another's shape (Llama 3.3 70B has Llama 3.1 70B's) is shown, not counted twice",
    ),
    finding=(
        "Judged as the lecture's compute model needs it, attention FLOPs per new token against the weights' "
        "FLOPs: they are equal at {value} of context for DeepSeek-V3, far short of the lecture's {stated}, and "
        "across the models in hwdb {judged}. Multi-head latent attention is the extreme case: decode kernels "
        "attend over the cached latent itself, so each cached token costs {detail:attention_flop} of "
        "arithmetic; grouped-query models cost less per token but have more layers and a larger cache, and "
        "only sliding-window layers push the crossover toward millions. The other comparison, attention compute "
        "against reading the KV cache, does not depend on the context: DeepSeek-V3's attention does "
        "{detail:attention_intensity} of KV read against the GB200's ridge of {detail:ridge}, so even its "
        "attention stays memory-bound, and grouped-query attention far more so."
    ),
)

CLAIMS = (WINDOW_GROWTH,)
ATTENTION_CLAIMS = (ATTENTION_CROSSOVER,)

L_ctx, layers, d_head, kv_heads, bytes_value, value_per, per_token, M_gpu = positive(
    "L n_layers d_head n_KV b e t M_H100"
)
VALUE_PER_ENTRY = Constant(value_per, 1, "param", "a cached key or value entry is stored like one BF16 weight")
PER_CACHED_TOKEN = Constant(
    per_token, 1, "token", "the cache holds one K and one V vector per layer and KV head for each token"
)
#: KV bytes per token of context: a key and a value per layer and KV head, each a BF16 value.
_kv_per_token = 2 * layers * kv_heads * d_head * bytes_value * value_per / per_token
#: The step model's KV read of one sequence on one chip is the cache it holds: L tokens at κ bytes each.
_kv_bytes = sm.KV_READ.subs({sm.B: 1, sm.G: 1, sm.rho: 1, sm.L: L_ctx, sm.kappa: _kv_per_token}, simultaneous=True)

HUNDRED_MILLION_KV = Claim(
    id="context.hundred-million-kv",
    title="A 100M-token context is out of reach without a memory breakthrough",
    statement=(
        "A context of about 100M tokens (an agent that keeps a month of work in view) is out of reach with today's "
        "dense attention: one user's KV cache alone would fill hundreds of GPUs. The lecture gives no figure; "
        "Magic, which trained a 100M-token model, quantifies it for Llama 3.1 405B."
    ),
    section="8. Context length and sparse attention",
    kind="derived",
    evidence="reported",
    page=PAGE,
    unit="1",
    noun="H100s",
    stated=Stated(638, "1", "Magic: 638 H100s per user just to store one 100M-token KV cache of Llama 3.1 405B"),
    build=one_step(
        "G",
        _kv_bytes / M_gpu,
        "K and V for every layer and KV head of every cached token, in H100s' worth of HBM",
        details=(Detail("kv_bytes", "KV cache of one 100M-token sequence", _kv_bytes, "TB"),),
    ),
    inputs=(
        Input(L_ctx, "context_window", "ltm-2-mini-context-window", "Magic LTM-2-mini context window"),
        Input(layers, "layers", "llama-3.1-405b", "layers"),
        Input(kv_heads, "kv_heads", "llama-3.1-405b", "KV heads"),
        Input(d_head, "head_dim", "llama-3.1-405b", "head dimension"),
        Input(bytes_value, "storage_per_parameter", "bf16", "bytes per BF16 value"),
        Input(M_gpu, "hbm_capacity", "h100-sxm", "H100 HBM"),
    ),
    constants=(VALUE_PER_ENTRY, PER_CACHED_TOKEN),
    finding=(
        "Llama 3.1 405B caches K and V for {in:n_KV} KV heads of {in:d_head} dimensions in each of its "
        "{in:n_layers} layers, so a context of {in:L} is a {detail:kv_bytes} cache: {value}' worth of HBM for "
        "one user, close to Magic's {stated}. That is the HBM of several GB200 NVL72 racks, not of one, and every "
        "decode step would have to read it; a smaller cache per token (latent attention, sharing across "
        "layers) or reading only part of it (sparse attention) is what the lecture means by a breakthrough."
    ),
)

LONG_CONTEXT_CLAIMS = (HUNDRED_MILLION_KV,)
