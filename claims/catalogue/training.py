"""RL and over-training: how far past Chinchilla a frontier model trains (lecture section 6)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Detail, Input, Step
from ..policy import Stated

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

CLAIMS = (OVERTRAINING,)
