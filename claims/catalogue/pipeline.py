"""Pipelining: when it is acceptable, and what it does not save (lecture section 4)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Input, Rows, Step
from ..policy import Stated
from .common import one_step, positive

PAGE = "pipelining"

S_up, S_out, k, n_stage, P = positive("S_up S_out k n_stage P")
N, b, B_micro, L, kappa, E = positive("N b b_micro L kappa E")

CROSS_RACK = Claim(
    id="pipeline.cross-rack-condition",
    title="Pipelining across racks is acceptable when (1/8)·2·k·layers ≥ 1",
    statement=(
        "A pipeline stage boundary between racks costs little when the scale-out/scale-up ratio times twice the "
        "activated experts times the layers per stage is at least one."
    ),
    section="4. Pipelining",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1, "1", "at-least", "(1/8) × 2 × activated experts × layers per stage ≥ 1"),
    build=one_step(
        "q", (S_out / S_up) * 2 * k * n_stage, "Scale-out/scale-up ratio × 2 × activated experts × layers per stage"
    ),
    inputs=(
        Input(S_up, "scaleup_bandwidth", None, "scale-up bandwidth per chip"),
        Input(S_out, "scaleout_bandwidth", None, "scale-out bandwidth per chip"),
        Input(k, "experts_per_token", "deepseek-v3", "activated routed experts"),
        Input(n_stage, "layers_per_stage", "lecture-examples", "layers per stage"),
    ),
    rows=Rows("accelerator", "h100-sxm", "reference", "the lecture's 1/8 is Hopper's gap"),
    finding="With DeepSeek-V3's {in:k} activated experts and one layer per stage, the reference GPU gives {value}.",
)

NAIVE_IDLE = Claim(
    id="pipeline.naive-idle",
    title="A naive 4-rack pipeline idles each rack 3/4 of the time",
    statement="Without micro-batching, only one of P stages works at a time, so each idles (P−1)/P of the time.",
    section="4. Pipelining",
    kind="structural",
    page=PAGE,
    unit="1",
    stated=Stated(0.75, "1", "exact", "a naive 4-rack pipeline leaves each rack idle about 3/4 of the time"),
    build=one_step("idle", 1 - 1 / P, "Idle fraction of each stage"),
    inputs=(Input(P, "pipeline_stages", "lecture-examples", "pipeline stages"),),
    finding="With {in:P} stages each idles {value} of the time.",
)


def derive_kv_cancels() -> Derivation:
    per_gpu = (N * b + P * B_micro * L * kappa) / (E * P)
    kv_term = sp.expand(per_gpu).coeff(kappa) * kappa
    dependence = sp.simplify(sp.diff(kv_term, P))
    weights = sp.simplify(sp.diff((N * b) / (E * P), P))
    return Derivation(
        steps=(
            Step("Memory per GPU with P stages of E GPUs and batch B = P·b", sp.Eq(sp.Symbol("M_GPU"), per_gpu)),
            Step("Its KV term", sp.Eq(sp.Symbol("M_KV"), kv_term)),
            Step("does not depend on P", sp.Eq(sp.Derivative(sp.Symbol("M_KV"), P), dependence)),
            Step("while the weight term shrinks with P", sp.Eq(sp.Derivative(sp.Symbol("M_w"), P), weights)),
        ),
        result=dependence,
    )


KV_CANCELS = Claim(
    id="pipeline.kv-term-cancels",
    title="Pipeline stages cancel from the per-GPU KV term",
    statement="In inference, pipelining saves weight capacity per GPU but not KV capacity: the stage count cancels from the KV term.",
    section="4. Pipelining",
    kind="structural",
    page=PAGE,
    unit="B",
    stated=Stated(
        0, "B", "exact", "per-GPU memory = (N·bytes + B·L·kv)/(E·P) with B = P·b: P cancels from the KV term"
    ),
    build=derive_kv_cancels,
    finding="The derivative of the per-GPU KV term with respect to the number of stages is {value}.",
)

CLAIMS = (CROSS_RACK, NAIVE_IDLE, KV_CANCELS)
