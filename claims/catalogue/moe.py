"""Mixture of experts: routing arithmetic (lecture section 3)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Detail, Input, LectureArithmetic, Rows, Step
from ..policy import Stated
from .common import one_step, positive

PAGE = "rack"

E, k, G, N_tot, S = positive("E k G N_total S")
E_read, k_read = positive("E^lecture k^lecture")  # the lecture's section-1 reading of DeepSeek
E_quoted, G_quoted = positive("E_lecture G_lecture")  # the lecture's quoted 256 experts and 64 GPUs

ROUTER_FRACTION = Claim(
    id="moe.router-fraction",
    title="The router picks about one expert in 32",
    statement="A routed expert layer sends each token to roughly one in thirty-two of its experts.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    noun="experts",
    stated=Stated(32, "1", "the router picks roughly 1 expert in 32"),
    build=one_step(
        "r",
        E / k,
        "Routed experts per expert chosen",
        details=(
            Detail(
                "lecture_reading",
                "routed experts per expert chosen, as the lecture's batch example reads DeepSeek",
                E_read / k_read,
                "1",
                noun="experts",
            ),
        ),
    ),
    inputs=(
        Input(E, "routed_experts", None, "routed experts"),
        Input(k, "experts_per_token", None, "experts chosen per token"),
        Input(E_read, "routed_experts", "lecture-deepseek-reading", "routed experts, in the lecture's batch example"),
        Input(k_read, "experts_per_token", "lecture-deepseek-reading", "experts per token, as the lecture read them"),
    ),
    rows=Rows(
        "model",
        "deepseek-v3",
        "reference",
        "the lecture reads its figure off DeepSeek; other MoE models are shown for comparison",
    ),
    finding=(
        "DeepSeek-V3's config sends each token to {in:k} of its {in:E} routed experts, one in {value}, as the "
        "lecture says; the shared expert every token also uses is left out of the count, as the lecture leaves it. "
        "The fraction is a design choice rather than a law: the rows show open MoE models spread several-fold "
        "either side of it, from Mixtral's few coarse experts to Kimi K2's many fine ones. The lecture's own "
        "batch-size example read the same model as activating {in:k^lecture} of {in:E^lecture} experts, one in "
        "{detail:lecture_reading}, which this configuration, and this statement, contradict (see "
        "batch.optimal-size)."
    ),
)

EXPERTS_PER_GPU = Claim(
    id="moe.experts-per-gpu",
    title="256 experts over 64 GPUs: 4 per GPU",
    statement="Spreading DeepSeek's routed experts over 64 of a rack's GPUs puts four on each, with as many routers as GPUs.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(4, "1", "256 experts over 64 GPUs gives 4 experts per GPU"),
    build=one_step("e", E / G, "Experts per GPU"),
    inputs=(
        Input(E, "routed_experts", "deepseek-v3", "routed experts"),
        Input(G, "chips", "lecture-examples", "GPUs used"),
    ),
    noun="experts per GPU",
    evidence="lecture-arithmetic",
    own=LectureArithmetic("256 experts ÷ 64 GPUs", E_quoted / G_quoted, ((E_quoted, 256), (G_quoted, 64))),
    finding=(
        "Expert parallelism places whole experts on GPUs, so the count is routed experts over GPUs: DeepSeek-V3's "
        "{in:E} over the lecture's {in:G} is {value}, and since every GPU sends tokens to every other, each runs "
        "its own router. The GPU count is the lecture's layout choice, picked from a rack's GPUs so the experts "
        "divide evenly, so this checks arithmetic, not a deployment. The shared expert is left out (it must be "
        "replicated or given GPUs of its own), and DeepSeek's published decode units spread the routed experts "
        "more thinly, over more GPUs than a rack holds and with redundant copies of busy experts "
        "(see pipeline.deepseek-expert-parallel)."
    ),
)


def derive_halving() -> Derivation:
    compute = 2 * N_tot / S
    ratio = sp.simplify(compute.subs(S, 2 * S) / compute)
    return Derivation(
        steps=(
            Step("Compute per token at sparsity S and fixed total size", sp.Eq(sp.Symbol("C_token"), compute)),
            Step("Doubling the sparsity", sp.Eq(sp.Symbol("C_2S") / sp.Symbol("C_token"), ratio)),
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
    stated=Stated(0.5, "1", "doubling sparsity halves compute per token"),
    build=derive_halving,
    finding=(
        "At a fixed total size the compute per token is proportional to the active parameters, which are the "
        "total divided by the sparsity, so doubling the sparsity multiplies it by exactly {value}. That counts every "
        "parameter as routed: attention, embeddings and any shared expert run for every token whatever the "
        "sparsity, so in a real MoE doubling the routed sparsity saves somewhat less than half. The lecture's "
        "qualifier 'at fixed quality-equivalent size' is not shown by this arithmetic: what a sparser model is "
        "worth depends on the routed scaling law (see moe.routed-dense-equivalent and moe.hundredfold-params)."
    ),
)

N_act, N_dense, m_0, m_1, x_exp = positive("N_a N_d m_0 m_1 x")
N_act_quoted, N_dense_quoted = positive("N_a^lecture N_d^lecture")  # the lecture's 370M and 1.3B
m_quoted, g_quoted, m_big_quoted = positive("m_0^lecture g_0^lecture m_1^lecture")  # its 64×, 4× and 100×

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
        "a 64-expert model with 370M active parameters matches a dense 1.3B model "
        "('64× the parameters for 4× the quality-equivalent')",
    ),
    build=one_step("g_0", N_dense / N_act, "Dense-equivalent size over active size"),
    inputs=(
        Input(N_dense, "dense_equivalent_params", "lecture-routed-scaling", "dense model of equal quality"),
        Input(N_act, "active_params", "lecture-routed-scaling", "active parameters of the routed model"),
    ),
    evidence="lecture-arithmetic",
    own=LectureArithmetic(
        "1.3B ÷ 370M", N_dense_quoted / N_act_quoted, ((N_dense_quoted, 1.3e9), (N_act_quoted, 370e6))
    ),
    finding=(
        "The quality-equivalent gain is the dense size over the active size, {in:N_d} over {in:N_a}, which is "
        "{value}; the lecture rounds it to {stated}, within the band for a bare figure. Both sizes are the "
        "lecture's reading of Clark et al., whose tables were not available here, so the verdict says the "
        "rounding is fair, not that the paper prints these sizes. A routed model does not carry its expert count's "
        "multiple of the parameters either: only the expert layers are replicated, so the true parameter multiple "
        "is smaller than the lecture's phrase implies and routing looks somewhat better than it says."
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
    stated=Stated(10, "1", "roughly 100× total parameters buys 10× active-equivalent"),
    build=derive_hundredfold,
    inputs=(
        *ROUTED_DENSE_EQUIVALENT.inputs,
        Input(m_0, "routed_experts", "lecture-routed-scaling", "the example's experts (its parameter multiple)"),
        Input(m_1, "parameter_multiple", "lecture-routed-scaling", "the lecture's larger parameter multiple"),
    ),
    evidence="lecture-arithmetic",
    own=LectureArithmetic(
        "'64× the parameters for 4×' read as a power law (4 = 64^(1/3)), carried to 100×: 100^(1/3)",
        m_big_quoted ** (sp.log(g_quoted) / sp.log(m_quoted)),
        ((m_big_quoted, 100), (g_quoted, 4), (m_quoted, 64)),
    ),
    finding=(
        "A power law through the lecture's own example has exponent {detail:exponent}, so multiplying the "
        "parameters by {in:m_1} buys {value}, not {stated}; the lecture's rounded example is a cube root while "
        "its rule of thumb is a square root, so its two statements disagree with each other. The verdict rests "
        "on the power-law shape and on {in:m_0} being the true parameter multiple: attention and embeddings are "
        "not replicated per expert, so the real multiple is smaller and the exponent larger (the sensitivity shows "
        "how far it must fall to change the verdict), while Clark et al.'s law saturates at large expert counts, "
        "which would lower the gain further."
    ),
)

CLAIMS = (ROUTER_FRACTION, EXPERTS_PER_GPU, COMPUTE_HALVES, ROUTED_DENSE_EQUIVALENT, HUNDREDFOLD)
