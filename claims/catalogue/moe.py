"""Mixture of experts: routing arithmetic (lecture section 3)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Detail, Input, Rows, Step
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

N_act, N_dense, m_0, m_1, x_exp = positive("N_a N_d m_0 m_1 x")

ROUTED_DENSE_EQUIVALENT = Claim(
    id="moe.routed-dense-equivalent",
    title="A 64-expert model of 370M active parameters matches a dense 1.3B model: 4×",
    statement=(
        "Routing over 64 experts makes a model with 370M active parameters as good as a dense model of 1.3B: "
        "64× the parameters for about 4× the quality-equivalent size."
    ),
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(
        4,
        "1",
        "about",
        "a 64-expert model with 370M active parameters matches a dense 1.3B model "
        "('64× the parameters for 4× the quality-equivalent')",
    ),
    build=one_step("g_0", N_dense / N_act, "Dense-equivalent size over active size"),
    inputs=(
        Input(N_dense, "dense_equivalent_params", "lecture-routed-scaling", "dense model of equal quality"),
        Input(N_act, "active_params", "lecture-routed-scaling", "active parameters of the routed model"),
    ),
    finding=(
        "The lecture's own two sizes give {value}, which it rounds to its '4×'. Both sizes are the lecture's "
        "reading of Clark et al.; the paper's tables were not available to check them against."
    ),
)


def derive_hundredfold() -> Derivation:
    """Extend the lecture's one example along a power law in the parameter multiple."""
    # Solved in logarithms: the equation is linear in x there, which SymPy solves far faster.
    (exponent,) = sp.solve(sp.Eq(x_exp * sp.log(m_0), sp.log(N_dense / N_act)), x_exp)
    if sp.simplify(m_0**exponent - N_dense / N_act) != 0:
        raise AssertionError("the exponent should carry the example's multiple to its gain")
    gain = m_1**exponent
    if sp.simplify(gain.subs(m_1, m_0) - N_dense / N_act) != 0:
        raise AssertionError("the power law should pass through the lecture's example")
    g = sp.Symbol("g")
    return Derivation(
        steps=(
            Step(
                "Suppose the dense-equivalent gain is a power x of the parameter multiple m, the shape of a routed "
                "scaling law at a fixed dense size before its saturation",
                sp.Eq(g, sp.Symbol("m") ** x_exp),
            ),
            Step("The lecture's example (m_0 experts, N_d/N_a) fixes the exponent", sp.Eq(x_exp, exponent)),
            Step("At the lecture's larger multiple m_1", sp.Eq(sp.Symbol("g_1"), gain)),
        ),
        result=gain,
        details=(Detail("exponent", "exponent implied by the lecture's 64-expert example", exponent, "1"),),
    )


HUNDREDFOLD = Claim(
    id="moe.hundredfold-params",
    title="100× total parameters buys ~10× active-equivalent",
    statement=(
        "Multiplying a routed model's total parameters a hundredfold at the same active size buys roughly "
        "10× in dense-equivalent size."
    ),
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(10, "1", "about", "roughly 100× total parameters buys 10× active-equivalent"),
    build=derive_hundredfold,
    inputs=(
        *ROUTED_DENSE_EQUIVALENT.inputs,
        Input(m_0, "routed_experts", "lecture-routed-scaling", "the example's experts (its parameter multiple)"),
        Input(m_1, "parameter_multiple", "lecture-routed-scaling", "the lecture's larger parameter multiple"),
    ),
    finding=(
        "Through the lecture's own example the gain grows as the parameter multiple to the power "
        "{detail:exponent}, so a multiple of {in:m_1} buys {value}, against the lecture's {stated}; its figure "
        "needs the square root. The example's multiple, {in:m_0}, is the lecture's own reading of its expert "
        "count: attention and embeddings are "
        "not replicated per expert, so the true multiple of such a model is smaller, the implied exponent larger, "
        "and the value higher (this box's sensitivity shows how far the multiple must fall to change the verdict). "
        "A law that saturates at large expert counts would give less. No single power law through the "
        "lecture's example gives its rule of thumb."
    ),
)

CLAIMS = (ROUTER_FRACTION, EXPERTS_PER_GPU, COMPUTE_HALVES, ROUTED_DENSE_EQUIVALENT, HUNDREDFOLD)
