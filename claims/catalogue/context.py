"""Context length: how windows grew, and when attention compute matters (lecture section 8)."""

from __future__ import annotations

from ..engine import Claim, Constant, Input, Rows
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
