"""Mixture of experts: routing arithmetic (lecture section 3)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Input, Rows, Step
from ..policy import Stated
from .common import one_step, positive

PAGE = "rack"

E, k, G, N_tot, S = positive("E k G N_total S")

ROUTER_FRACTION = Claim(
    id="moe.router-fraction",
    title="The router picks about one expert in 32",
    statement="A routed expert layer sends each token to roughly one in thirty-two of its experts.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    noun="experts",
    stated=Stated(32, "1", "about", "the router picks roughly 1 expert in 32"),
    build=one_step("r", E / k, "Routed experts per expert chosen"),
    inputs=(
        Input(E, "routed_experts", None, "routed experts"),
        Input(k, "experts_per_token", None, "experts chosen per token"),
    ),
    rows=Rows("model", "deepseek-v3", "most", "DeepSeek-V3 is the lecture's example"),
    finding="DeepSeek-V3 routes each token to one of every {value}; the rows show other published MoE models.",
)

EXPERTS_PER_GPU = Claim(
    id="moe.experts-per-gpu",
    title="256 experts over 64 GPUs: 4 per GPU",
    statement="Spreading DeepSeek's routed experts over 64 of a rack's GPUs puts four on each, with as many routers as GPUs.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(4, "1", "exact", "256 experts over 64 GPUs gives 4 experts per GPU"),
    build=one_step("e", E / G, "Experts per GPU"),
    inputs=(
        Input(E, "routed_experts", "deepseek-v3", "routed experts"),
        Input(G, "chips", "lecture-examples", "GPUs used"),
    ),
    noun="experts per GPU",
    finding="DeepSeek-V3's {in:E} experts over {in:G} GPUs give {value} per GPU.",
)


def derive_halving() -> Derivation:
    compute = 2 * N_tot / S
    ratio = sp.simplify(compute.subs(S, 2 * S) / compute)
    return Derivation(
        steps=(
            Step("Compute per token at sparsity S and fixed total size", sp.Eq(sp.Symbol("C"), compute)),
            Step("Doubling the sparsity", sp.Eq(sp.Symbol("C_2S") / sp.Symbol("C"), ratio)),
        ),
        result=ratio,
    )


COMPUTE_HALVES = Claim(
    id="moe.sparsity-halves-compute",
    title="Doubling sparsity halves compute per token",
    statement="At a fixed total size, doubling the sparsity halves the compute each token needs.",
    section="3. Mixture of experts and the rack",
    kind="structural",
    page=PAGE,
    unit="1",
    stated=Stated(0.5, "1", "exact", "doubling sparsity halves compute per token"),
    build=derive_halving,
    finding="The ratio is exactly {value}. The lecture adds 'at fixed quality-equivalent size', which this arithmetic does not show: quality depends on the routing law (see the routed scaling claims).",
)

CLAIMS = (ROUTER_FRACTION, EXPERTS_PER_GPU, COMPUTE_HALVES)
