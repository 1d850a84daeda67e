"""Rooflines and batch size: weight fetch against compute (lecture section 1)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Constant, Derivation, Detail, Input, Rows, Step
from ..policy import Stated

PAGE = "rooflines"

# Hardware: dense FLOP/s, HBM bandwidth. Model: parameters total and active. Format: bytes per weight.
F, W, b = sp.symbols("F W b", positive=True)
N_tot, N_act = sp.symbols("N_total N_active", positive=True)
c = sp.Symbol("c", positive=True)  # FLOP per parameter per token
B = sp.Symbol("B", positive=True)
B_star = sp.Symbol("B^*", positive=True)
T_compute, T_weights = sp.symbols("T_compute T_weights", positive=True)
E_routed, E_chosen = sp.symbols("E_routed E_chosen", positive=True)
E_lecture = sp.Symbol("E_chosen^lecture", positive=True)

FLOP_PER_PARAM_TOKEN = Constant(
    c, 2, "flop/(param*token)", "one multiply-add (two FLOP) per weight per token; attention FLOPs ignored"
)


def derive_optimal_batch() -> Derivation:
    """Balance the compute time of a step against the time to stream its weights."""
    compute = B * c * N_act / F
    weights = N_tot * b / W
    (solution,) = sp.solve(sp.Eq(compute, weights), B)
    hardware = F * b / (c * W)
    sparsity = N_tot / N_act
    if sp.simplify(solution - hardware * sparsity) != 0:
        raise AssertionError("the optimal batch does not factor into hardware ratio x sparsity")
    return Derivation(
        steps=(
            Step("A step over a batch of B tokens needs this much compute time", sp.Eq(T_compute, compute)),
            Step("and must stream every weight from HBM once", sp.Eq(T_weights, weights)),
            Step("Weight fetch is fully hidden when the two are equal", sp.Eq(compute, weights)),
            Step("Solved for the batch", sp.Eq(B_star, solution)),
            Step(
                "which is a hardware ratio times the model's sparsity",
                sp.Eq(B_star, sp.UnevaluatedExpr(hardware) * sp.UnevaluatedExpr(sparsity)),
            ),
        ),
        result=solution,
        details=(
            Detail("hardware_ratio", "hardware ratio F·b/(c·W) (batch at sparsity 1)", hardware, "token"),
            Detail("sparsity", "sparsity N_total/N_active from the published parameter counts", sparsity, "1"),
            Detail(
                "expert_ratio", "routed experts per selected expert in DeepSeek-V3's config", E_routed / E_chosen, "1"
            ),
            Detail("lecture_sparsity", "the lecture's reading ('32 of 256 experts')", E_routed / E_lecture, "1"),
        ),
    )


OPTIMAL_BATCH = Claim(
    id="batch.optimal-size",
    title="Optimal batch ≈ 300 × sparsity",
    statement=(
        "The smallest batch that hides the weight fetch behind compute is the accelerator's "
        "FLOP/s-to-bandwidth ratio times the model's sparsity, independent of model size; "
        "for DeepSeek it comes to a couple of thousand tokens."
    ),
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="derived",
    page=PAGE,
    unit="token",
    stated=Stated(2400, "token", "range", "B ≈ 300 × 8 ≈ 2,400 tokens for DeepSeek (2,000–3,000)", low=2000, high=3000),
    build=derive_optimal_batch,
    inputs=(
        Input(F, "bf16_flops", None, "dense BF16 FLOP/s"),
        Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
        Input(b, "storage_per_parameter", "bf16", "bytes per BF16 weight"),
        Input(N_tot, "total_params", "deepseek-v3", "total parameters"),
        Input(N_act, "active_params", "deepseek-v3", "active parameters"),
        Input(E_routed, "routed_experts", "deepseek-v3", "routed experts"),
        Input(E_chosen, "experts_per_token", "deepseek-v3", "experts chosen per token"),
        Input(E_lecture, "experts_per_token", "lecture-deepseek-reading", "experts per token, as the lecture read it"),
    ),
    constants=(FLOP_PER_PARAM_TOKEN,),
    rows=Rows(
        "accelerator",
        "h100-sxm",
        "reference",
        "the worked example is DeepSeek served on Hopper-class GPUs, for which the lecture quotes its '300'; "
        "the rows show how the balanced batch moves with the hardware, and whether the ratio itself is ~300 "
        "across chips is a claim of its own",
    ),
    finding=(
        "On the reference hardware the ratio F·b/(c·W) is {detail:hardware_ratio}. DeepSeek-V3's config routes "
        "each token to {in:E_chosen} of {in:E_routed} experts (the lecture said {in:E_chosen^lecture}), and "
        "with attention, dense layers and a shared expert always active its sparsity by parameter count is "
        "{detail:sparsity}, not {detail:lecture_sparsity}: the optimum is {value}, against the lecture's {stated}."
    ),
)


k = sp.Symbol("k", positive=True)  # a common scale factor on the model's size
n_one = sp.Symbol("n_1", positive=True)
UNBATCHED = Constant(n_one, 1, "token", "an unbatched step processes one token")


def derive_scale_independence() -> Derivation:
    """Scale total and active parameters together: the balanced batch does not move."""
    base = F * b * N_tot / (c * W * N_act)
    scaled = base.subs({N_tot: k * N_tot, N_act: k * N_act})
    change = sp.simplify(sp.diff(scaled, k))
    if change != 0:
        raise AssertionError("the balanced batch depends on model scale")
    return Derivation(
        steps=(
            Step("Balanced batch", sp.Eq(B_star, base)),
            Step("Scale both parameter counts by k", sp.Eq(B_star, scaled)),
            Step("Its derivative with respect to k", sp.Eq(sp.Derivative(B_star, k), change)),
        ),
        result=change,
    )


SCALE_INDEPENDENT = Claim(
    id="batch.scale-independent",
    title="The optimal batch does not depend on model size",
    statement="Scaling a model up at fixed sparsity leaves the balanced batch unchanged.",
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="structural",
    page=PAGE,
    unit="token",
    stated=Stated(0, "token", "exact", "B ≳ 300 × sparsity, 'independent of model scale'"),
    build=derive_scale_independence,
    finding="Differentiating the balanced batch by a common scale on both parameter counts gives exactly zero.",
)


def derive_unbatched_penalty() -> Derivation:
    """Below the balanced batch the step costs the weight fetch whatever the batch."""
    per_token_one = (N_tot * b / W) / n_one
    per_token_best = c * N_act / F
    penalty = sp.simplify(per_token_one / per_token_best)
    return Derivation(
        steps=(
            Step("Time per token at batch one: the whole weight fetch", sp.Eq(sp.Symbol("t_1"), per_token_one)),
            Step("Time per token at the balanced batch: compute only", sp.Eq(sp.Symbol("t^*"), per_token_best)),
            Step("Penalty for not batching, which equals the balanced batch in tokens", sp.Eq(sp.Symbol("P"), penalty)),
        ),
        result=penalty,
    )


UNBATCHED_PENALTY = Claim(
    id="batch.unbatched-penalty",
    title="Without batching, cost per token is ~1,000× worse",
    statement="Serving one token per step costs as many times more per token as the balanced batch is large.",
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1000, "1", "order", "without batching, cost per token is about 1,000× worse"),
    build=derive_unbatched_penalty,
    inputs=OPTIMAL_BATCH.inputs[:5],
    constants=(FLOP_PER_PARAM_TOKEN, UNBATCHED),
    rows=Rows("accelerator", "h100-sxm", "reference", "as for the balanced batch: DeepSeek-V3 on Hopper"),
    finding="For DeepSeek-V3 on the reference GPU the penalty is {value}.",
)


def derive_plateau() -> Derivation:
    """Past the balanced batch, cost per token is compute alone and stops falling."""
    per_token = sp.Max(B * c * N_act / F, N_tot * b / W) / B
    beyond = sp.simplify((B * c * N_act / F) / B)
    slope = sp.diff(beyond, B)
    return Derivation(
        steps=(
            Step("Time per token at batch B", sp.Eq(sp.Symbol("t"), per_token)),
            Step("Beyond the balanced batch the compute term is the larger", sp.Eq(sp.Symbol("t"), beyond)),
            Step(
                "so doubling the batch again saves nothing: the slope is",
                sp.Eq(sp.Derivative(sp.Symbol("t"), B), slope),
            ),
        ),
        result=slope,
    )


SLOW_MODE = Claim(
    id="batch.slow-mode-plateau",
    title="A 'slow mode' would save little",
    statement=(
        "Past the balanced batch, cost per token sits on a floor set by compute (and KV reads, which no batch "
        "shares), so running bigger batches more slowly buys almost nothing."
    ),
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="structural",
    page=PAGE,
    unit="s/token**2",
    stated=Stated(0, "s/token**2", "exact", "past the optimal batch, cost per token plateaus"),
    build=derive_plateau,
    constants=(FLOP_PER_PARAM_TOKEN,),
    finding="Beyond the balanced batch the derivative of time per token with respect to the batch is zero.",
)

CLAIMS = (OPTIMAL_BATCH, SCALE_INDEPENDENT, UNBATCHED_PENALTY, SLOW_MODE)
