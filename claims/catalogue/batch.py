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

CLAIMS = (OPTIMAL_BATCH,)
