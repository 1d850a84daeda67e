"""Context length: how windows grew, and when attention compute matters (lecture section 8)."""

from __future__ import annotations

from ..engine import Claim, Constant, Detail, Input, Rows
from ..policy import Stated
from .batch import FLOP_PER_PARAM_TOKEN, c
from .common import one_step, positive

PAGE = "context"

L_old, L_new = positive("L_GPT4 L_Claude21")
N, layers, heads, d_head, a = positive("N_active n_layers n_heads d_head a")
ATTENTION_FLOP = Constant(
    a, 4, "flop/token**2", "per layer, head dimension and cached token: a multiply-add for QK and another for AV"
)

WINDOW_GROWTH = Claim(
    id="context.window-growth",
    title="Context windows grew from ~8K to 100–200K",
    statement="Context windows grew from about 8K tokens in the GPT-3/GPT-4 era to 100–200K.",
    section="8. Context length and sparse attention",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(25, "1", "about", "~8K (GPT-3 era) to 100–200K"),
    build=one_step("g", L_new / L_old, "Claude 2.1's window over GPT-4's launch window"),
    inputs=(
        Input(L_old, "context_window", "gpt-4-context-window", "GPT-4 context window at launch"),
        Input(L_new, "context_window", "claude-2.1-context-window", "Claude 2.1 context window"),
    ),
    finding="From GPT-4's {in:L_GPT4} to Claude 2.1's {in:L_Claude21} is {value}; windows of a million tokens followed within months (see the statistics in the models page).",
)

ATTENTION_CROSSOVER = Claim(
    id="attention.compute-crossover",
    title="Attention compute only matters at millions of tokens",
    statement="Attention's arithmetic overtakes the weights' only when the context reaches millions of tokens.",
    section="8. Context length and sparse attention",
    kind="derived",
    page=PAGE,
    unit="token",
    stated=Stated(1e6, "token", "order", "the attention compute term only matters at millions of tokens"),
    build=one_step(
        "L_x",
        c * N / (a * layers * heads * d_head),
        "Context where attention FLOPs per token (a·layers·heads·d_head·L) equal the weights' (c·N_active)",
    ),
    inputs=(
        Input(N, "active_params", None, "active parameters"),
        Input(layers, "layers", None, "layers"),
        Input(heads, "attention_heads", None, "query heads"),
        Input(d_head, "head_dim", None, "head dimension"),
    ),
    constants=(FLOP_PER_PARAM_TOKEN, ATTENTION_FLOP),
    rows=Rows("model", "qwen3-235b-a22b", "most", "Qwen3-235B publishes a complete attention configuration"),
    finding=(
        "For Qwen3-235B attention's arithmetic equals the weights' at {value} of context, counting full "
        "attention in every layer; sliding-window layers (Gemma, gpt-oss) push the crossover out."
    ),
)

CLAIMS = (WINDOW_GROWTH,)
ATTENTION_CLAIMS = (ATTENTION_CROSSOVER,)

L_ctx, hidden, kv_heads, bytes_value, value_per, per_token, M_gpu = positive("L n_h n_KV b e t M_H100")
VALUE_PER_ENTRY = Constant(value_per, 1, "param", "a cached key or value entry is stored like one BF16 weight")
PER_CACHED_TOKEN = Constant(
    per_token, 1, "token", "the cache holds one K and one V vector per layer and KV head for each token"
)
_kv_bytes = L_ctx / per_token * 2 * layers * kv_heads * (hidden / heads) * bytes_value * value_per

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
    page=PAGE,
    unit="1",
    noun="H100s",
    stated=Stated(
        638, "1", "about", "Magic: 638 H100s per user just to store one 100M-token KV cache of Llama 3.1 405B"
    ),
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
        Input(hidden, "hidden_size", "llama-3.1-405b", "residual stream width"),
        Input(heads, "attention_heads", "llama-3.1-405b", "query heads"),
        Input(bytes_value, "storage_per_parameter", "bf16", "bytes per BF16 value"),
        Input(M_gpu, "hbm_capacity", "h100-sxm", "H100 HBM"),
    ),
    constants=(VALUE_PER_ENTRY, PER_CACHED_TOKEN),
    finding=(
        "Llama 3.1 405B's published shape gives a {detail:kv_bytes} KV cache for a context of {in:L}: {value}' worth "
        "of HBM for one user, against Magic's {stated}. That is more HBM than several GB200 NVL72 racks hold; "
        "compressing the cache (MLA) or reading little of it (sparse attention) is the way out the lecture names."
    ),
)

LONG_CONTEXT_CLAIMS = (HUNDRED_MILLION_KV,)
