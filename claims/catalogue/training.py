"""RL and over-training: how far past Chinchilla a frontier model trains (lecture section 6)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Constant, Derivation, Detail, Input, Rows, Step
from ..policy import Stated
from .common import one_step

PAGE = "overtraining"

N_c, D_c = sp.symbols("N_Chinchilla D_Chinchilla", positive=True)
N, D = sp.symbols("N_active D_pre", positive=True)
r, D_opt, X = sp.symbols("r D_opt X", positive=True)


def derive_overtraining() -> Derivation:
    """Compare the corpus with the Chinchilla-optimal token count for the same size."""
    ratio = D_c / N_c
    optimal = ratio * N
    factor = D / optimal
    return Derivation(
        steps=(
            Step("Chinchilla's tokens per parameter", sp.Eq(r, ratio)),
            Step("The compute-optimal corpus for the assumed model", sp.Eq(D_opt, r * N)),
            Step("Over-training factor", sp.Eq(X, D / D_opt)),
            Step("In closed form", sp.Eq(X, factor)),
        ),
        result=factor,
        details=(
            Detail("tokens_per_param", "Chinchilla's tokens per parameter", ratio, "token/param"),
            Detail("optimal_tokens", "Chinchilla-optimal corpus for the assumed model", optimal, "Ttok"),
        ),
    )


OVERTRAINING = Claim(
    id="training.overtraining",
    title="Frontier models are ~100× over-trained",
    statement=(
        "At Chinchilla's ratio of tokens to parameters, a model with about 100B active parameters "
        "would train on about 2T tokens; a 150T-token corpus is about a hundred times that."
    ),
    section="6. Reinforcement learning and over-training",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(100, "1", "about", "~20 tokens/parameter × 100B = 2T; 150T is ~100× over-trained"),
    build=derive_overtraining,
    inputs=(
        Input(N_c, "total_params", "chinchilla", "Chinchilla's parameters"),
        Input(D_c, "training_tokens", "chinchilla", "Chinchilla's training tokens"),
        Input(N, "active_params", "lecture-frontier-model", "assumed active parameters"),
        Input(D, "pretraining_tokens", "lecture-frontier-model", "assumed pre-training corpus"),
    ),
    finding=(
        "The lecture's own inputs give {value} ({in:D_pre} over a Chinchilla-optimal "
        "{detail:optimal_tokens}), against its {stated}."
    ),
)


eff, rate, life, family = sp.symbols("e R_lab T_life m", positive=True)

INFERENCE_EQUALS_PRE = Claim(
    id="training.inference-equals-pretraining",
    title="At the optimum, inference tokens ≈ pre-training tokens",
    statement=(
        "If pre-training (a forward and a backward pass) and inference (a forward pass, at a third of prefill's "
        "efficiency) cost the same, a model serves about as many tokens as it was trained on."
    ),
    section="6. Reinforcement learning and over-training",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1, "1", "about", "D_pre ≈ 1.5·D_RL ≈ D_inf, taking decode efficiency ≈ 1/3"),
    build=one_step("D_inf/D_pre", 6 * eff / 2, "Equal cost: 6·N·D_pre = 2·N·D_inf / e"),
    inputs=(Input(eff, "decode_efficiency", "lecture-serving", "decode efficiency relative to prefill"),),
    finding="With the lecture's decode efficiency the ratio is {value}.",
)

c_rl, c_pre = sp.symbols("c_RL c_pre", positive=True)
PRETRAIN_FLOP = Constant(
    c_pre, 6, "flop/(param*token)", "pre-training: forward and backward pass, 6 FLOP per parameter per token"
)

RL_CORPUS_RATIO = Claim(
    id="training.rl-corpus-ratio",
    title="At the optimum, pre-training tokens ≈ 1.5× RL tokens",
    statement=(
        "If RL (a few FLOP per parameter per token, run at decode's low efficiency) costs as much as pre-training "
        "(a forward and a backward pass), a model pre-trains on about one and a half times as many tokens as it "
        "sees in RL."
    ),
    section="6. Reinforcement learning and over-training",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1.5, "1", "about", "D_pre ≈ 1.5·D_RL ≈ D_inf, taking decode efficiency ≈ 1/3"),
    build=one_step("D_pre/D_RL", c_rl / (c_pre * eff), "Equal cost: c_pre·N·D_pre = c_RL·N·D_RL / e"),
    inputs=(
        Input(c_rl, "rl_flop_per_param_token", "lecture-serving", "RL FLOP per parameter per token"),
        Input(eff, "decode_efficiency", "lecture-serving", "decode efficiency relative to prefill"),
    ),
    constants=(PRETRAIN_FLOP,),
    finding=(
        "At the middle of the lecture's RL range, {in:c_RL}, and its decode efficiency {in:e}, pre-training sees "
        "{value} the RL tokens; the lecture's figure corresponds to the lower part of its own range (see how the "
        "value moves across it)."
    ),
)

LAB_VOLUME = Claim(
    id="training.lab-inference-volume",
    title="A lab serves ~2.6×10¹⁵ tokens in two months",
    statement="At Google's reported rate, a lab's traffic over one model's two-month life is about 2.6 quadrillion tokens.",
    section="6. Reinforcement learning and over-training",
    kind="derived",
    page=PAGE,
    unit="token",
    stated=Stated(2.6e15, "token", "about", "~500M tokens/s across a lab × 2 months ≈ 2.6×10¹⁵ tokens"),
    build=one_step("D_lab", rate * life, "Reported rate times deployment life"),
    inputs=(
        Input(rate, "token_throughput", "google-tokens-2025-10", "Google's reported token rate"),
        Input(life, "deployment_life", "lecture-serving", "deployment life"),
    ),
    finding="Google's {in:R_lab} over {in:T_life} is {value}.",
)

MODEL_VOLUME = Claim(
    id="training.model-inference-volume",
    title="One model serves ~200T tokens over its life",
    statement="Split across the models of a family, one model serves about 200 trillion tokens.",
    section="6. Reinforcement learning and over-training",
    kind="derived",
    page=PAGE,
    unit="token",
    stated=Stated(200e12, "token", "about", "÷5–10 ≈ 50M tokens/s ≈ 200T tokens over its life"),
    build=one_step("D_inf", rate * life / family, "Lab volume over the models served at once"),
    inputs=(*LAB_VOLUME.inputs, Input(family, "models_per_family", "lecture-serving", "models served at once")),
    finding="Divided among {in:m} models, each serves {value}.",
)

TOKENS_OUT_IN = Claim(
    id="training.tokens-out-equals-in",
    title="150T tokens in, 150T tokens out",
    statement="A model should output over its deployment about as many tokens as it was trained on.",
    section="6. Reinforcement learning and over-training",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1, "1", "about", "'150 trillion in, 150 trillion out'"),
    build=one_step("D_inf/D_pre", rate * life / family / D, "One model's served tokens over its pre-training corpus"),
    inputs=(
        *MODEL_VOLUME.inputs,
        Input(D, "pretraining_tokens", "lecture-frontier-model", "assumed pre-training corpus"),
    ),
    finding="On the lecture's own inputs a model serves {value} the tokens it was trained on.",
)

CORPUS = Claim(
    id="training.corpus-size",
    title="Pre-training corpora reach ~150T tokens",
    statement="A frontier pre-training corpus is about 150 trillion tokens (hearsay, by the lecture's own account).",
    section="6. Reinforcement learning and over-training",
    kind="reported",
    page=PAGE,
    unit="token",
    stated=Stated(150e12, "token", "order", "pre-training corpus ≈ 150T tokens (hearsay)"),
    build=one_step("D", D, "The largest corpus a published model reports"),
    inputs=(Input(D, "training_tokens", None, "reported pre-training tokens"),),
    rows=Rows("model", "qwen3-235b-a22b", "any", "Qwen3-235B, a recent open model that publishes its corpus size"),
    finding="Qwen3-235B reports {value}; the rows list every published corpus in hwdb. Closed frontier models publish none.",
)

CLAIMS = (OVERTRAINING, INFERENCE_EQUALS_PRE, RL_CORPUS_RATIO, LAB_VOLUME, MODEL_VOLUME, TOKENS_OUT_IN, CORPUS)
