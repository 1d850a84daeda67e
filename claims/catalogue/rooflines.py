"""Rooflines: what a step costs and how the hardware ratio behaves (lecture section 1)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Input, Step
from ..policy import Stated
from .batch import FLOP_PER_PARAM_TOKEN, c
from .common import across_gpus, one_step, positive

PAGE = "rooflines"

F, W, b, B, N_act, N_tot = positive("F W b B N_active N_total")
F_old, W_old, F_new, W_new = positive("F_A100 W_A100 F_B200 W_B200")


def derive_linear_compute() -> Derivation:
    """Differentiate log step times by log batch: compute scales with B, weights do not."""
    compute = B * c * N_act / F
    weights = N_tot * b / W
    slope_compute = sp.simplify(sp.diff(sp.log(compute), B) * B)
    slope_weights = sp.simplify(sp.diff(sp.log(weights), B) * B)
    if slope_weights != 0:
        raise AssertionError("weight-fetch time depends on the batch")
    p, q = sp.symbols("p_compute p_weights")
    return Derivation(
        steps=(
            Step("Compute time of a step", sp.Eq(sp.Symbol("T_compute"), compute)),
            Step("Weight-fetch time of a step", sp.Eq(sp.Symbol("T_weights"), weights)),
            Step("Elasticity of weight-fetch time to the batch", sp.Eq(q, slope_weights)),
            Step("Elasticity of compute time to the batch", sp.Eq(p, slope_compute)),
        ),
        result=slope_compute,
    )


COMPUTE_LINEAR = Claim(
    id="rooflines.compute-linear-in-batch",
    title="Compute grows with the batch, weight traffic does not",
    statement=(
        "A forward step takes at least the larger of its compute time and its memory time; the compute time "
        "is proportional to the batch while the weight traffic is a fixed cost per step."
    ),
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="structural",
    page=PAGE,
    unit="1",
    stated=Stated(1, "1", "compute ≈ B·N_active/FLOP/s; weight time ≈ N_total·bytes/bandwidth"),
    build=derive_linear_compute,
    constants=(FLOP_PER_PARAM_TOKEN,),
    finding=(
        "Compute time is a fixed cost per token times the batch, so it grows exactly in step with the batch, "
        "while every weight is streamed once per step however many tokens share it, so weight-fetch time does not "
        "depend on the batch at all; that asymmetry is the whole case for batching. It rests on the lecture's "
        "simplification that a token costs one multiply-add per active weight and nothing else. KV-cache reads and "
        "attention FLOPs both grow with batch and context, so at long contexts part of the memory time scales "
        "with the batch too, which is why the lecture adds a KV term to its memory time."
    ),
)

HARDWARE_RATIO = Claim(
    id="rooflines.hardware-ratio",
    title="FLOP/s ÷ bandwidth ≈ 300 on most GPUs",
    statement=(
        "Counted in multiply-adds per weight read, an accelerator's arithmetic rate over its memory bandwidth "
        "comes to about 300 on most GPUs."
    ),
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="derived",
    page=PAGE,
    unit="token",
    stated=Stated(300, "token", "FLOP/s ÷ memory bandwidth ≈ 300 'on most GPUs'"),
    build=one_step(
        "R",
        F * b / (c * W),
        "Batch that balances a dense model (sparsity 1): FLOP/s times bytes per weight over FLOP per weight-token times bandwidth",
    ),
    inputs=(
        Input(F, "bf16_flops", None, "dense BF16 FLOP/s"),
        Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
        Input(b, "storage_per_parameter", "bf16", "bytes per BF16 weight"),
    ),
    constants=(FLOP_PER_PARAM_TOKEN,),
    rows=across_gpus("'on most GPUs' is a statement about GPUs in general"),
    finding=(
        "On the reference GPU, {in:F} of dense BF16 against {in:W} of HBM gives {value}: the batch at which a "
        "dense model's compute just covers its weight fetch. Counting BF16 multiplies against two-byte weights "
        "gives the same figure as the lecture's FP4 multiplies against half-byte weights wherever the datasheet "
        "rate doubles each time the format halves, so the precision mostly drops out; quoting the "
        "structured-sparsity datasheet rates instead would double every row. The GPUs below the holds band are those "
        "that add bandwidth without compute (memory-upgrade parts such as H200) or predate Hopper's compute jump "
        "(A100), so the verdict rests on most current GPUs sitting near the reference."
    ),
)

RATIO_STABLE = Claim(
    id="rooflines.ratio-stable",
    title="The hardware ratio has stayed roughly stable",
    statement="From A100 through Hopper to Blackwell, the FLOP/s-to-bandwidth ratio changed little.",
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1, "1", "'roughly stable' from A100 through H100 and B100"),
    build=one_step("G", (F_new / W_new) / (F_old / W_old), "Growth of the ratio from A100 to B200"),
    inputs=(
        Input(F_old, "bf16_flops", "a100-sxm", "A100 dense BF16 FLOP/s"),
        Input(W_old, "hbm_bandwidth", "a100-sxm", "A100 HBM bandwidth"),
        Input(F_new, "bf16_flops", "b200", "B200 dense BF16 FLOP/s"),
        Input(W_new, "hbm_bandwidth", "b200", "B200 HBM bandwidth"),
    ),
    finding=(
        "Dense BF16 throughput went from {in:F_A100} on A100 to {in:F_B200} on B200 while HBM bandwidth went "
        "from {in:W_A100} to {in:W_B200}, so the ratio grew {value}: compute outran bandwidth, and the figure is "
        "'roughly stable' only within the loose band. Almost all of that drift came at the A100-to-Hopper step; "
        "from Hopper to Blackwell the ratio barely moved (see the hardware-ratio rows), so the lecture's "
        "statement is fair from H100 onward. B200 stands in for the B100 the lecture names, its sibling in the same "
        "generation; a part with a slower memory bin would push the growth out of the rough band."
    ),
)

CLAIMS = (COMPUTE_LINEAR, HARDWARE_RATIO, RATIO_STABLE)
