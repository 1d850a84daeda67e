"""RL and over-training: how far past Chinchilla a frontier model trains (lecture section 6)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Constant, Derivation, Detail, Input, LectureArithmetic, Rows, Step
from ..policy import Stated
from .common import one_step

PAGE = "overtraining"

N_c, D_c = sp.symbols("N_Chinchilla D_Chinchilla", positive=True)
N, D = sp.symbols("N_active D_pre", positive=True)
r, D_opt, N_opt, X = sp.symbols("r D_opt N_opt X", positive=True)
# The Chinchilla loss fit L(N, D) = E + A_N/N^alpha + A_D/D^beta (Hoffmann et al., Approach 3).
A_N, A_D, alpha, beta = sp.symbols("A_N A_D alpha beta", positive=True)
Delta, n_unit, d_unit = sp.symbols("Delta n_1 d_1", positive=True)
#: The fit reads N and D as plain counts; these units make them so.
PARAM_UNIT = Constant(n_unit, 1, "param", "the loss fit counts parameters as a plain number")
TOKEN_UNIT = Constant(d_unit, 1, "token", "the loss fit counts training tokens as a plain number")

# The lecture's quoted figures, for its own arithmetic (each in the unit of the statement it feeds).
r_q, N_q, D_q = sp.symbols("r_lecture N_lecture D_lecture", positive=True)  # 20 tokens/param, 100B, 150T tokens
e_q, c_q = sp.symbols("e_lecture c_RL_lecture", positive=True)  # decode efficiency 1/3; RL FLOP, middle of 2 to 6
rate_q, life_q, family_q = sp.symbols("R_lecture T_lecture m_lecture", positive=True)  # 500M tok/s, 2 months, ÷10
month_q = sp.Symbol("s_per_month", positive=True)  # seconds in hwdb's 30-day month (units.txt), to put months in s
out_q = sp.Symbol("D_out_lecture", positive=True)  # its 200T tokens served per model
SECONDS_PER_MONTH = 30 * 24 * 3600


def compute_optimal(gap: float, a_n: float, a_d: float, a: float, b: float) -> tuple[float, float]:
    """The cheapest (N, D) that reaches a loss ``gap`` above the fit's floor, in plain counts.

    At fixed loss, 6·N·D is least where the two terms of the fit shrink at the same rate per unit of
    log compute, alpha·A_N/N^alpha = beta·A_D/D^beta; the two terms then split the gap beta : alpha.
    The same rule serves the claim (symbolically, below) and the chapter's lifetime-cost figure.
    """
    param_term, data_term = gap * b / (a + b), gap * a / (a + b)
    return (a_n / param_term) ** (1 / a), (a_d / data_term) ** (1 / b)


def derive_overtraining() -> Derivation:
    """Compare the corpus with the compute-optimal corpus at the same loss, by the Chinchilla fit."""
    n, d = N / n_unit, D / d_unit
    gap = A_N / n**alpha + A_D / d**beta
    n_best = (A_N / (gap * beta / (alpha + beta))) ** (1 / alpha)
    d_best = (A_D / (gap * alpha / (alpha + beta))) ** (1 / beta)
    ratio = d_best / n_best * d_unit / n_unit
    factor = (D / N) / ratio
    # The closed form must agree with the plain-number helper the figure uses: one rule, two callers.
    probe = {A_N: 406.4, A_D: 410.7, alpha: 0.34, beta: 0.28, N: 1e11, D: 1.5e14, n_unit: 1, d_unit: 1}
    n_num, d_num = compute_optimal(float(gap.subs(probe)), 406.4, 410.7, 0.34, 0.28)
    if abs(float(ratio.subs(probe)) / (d_num / n_num) - 1) > 1e-9:
        raise AssertionError("the claim's compute-optimal ratio disagrees with compute_optimal()")
    return Derivation(
        steps=(
            Step("Loss above the fit's floor of the assumed model and corpus", sp.Eq(Delta, gap)),
            Step(
                "At that loss 6·N·D is least where the fit's two terms split the gap β : α; the size there",
                sp.Eq(N_opt, n_best.subs(gap, Delta)),
            ),
            Step("and the corpus", sp.Eq(D_opt, d_best.subs(gap, Delta))),
            Step("Compute-optimal tokens per parameter at that loss", sp.Eq(r, D_opt / N_opt)),
            Step("Over-training factor: the corpus's tokens per parameter over the optimum's", sp.Eq(X, (D / N) / r)),
        ),
        result=factor,
        details=(
            Detail(
                "tokens_per_param",
                "compute-optimal tokens per parameter at the assumed model's loss",
                ratio,
                "token/param",
            ),
            Detail("optimal_tokens", "compute-optimal corpus at that loss", d_best * d_unit, "Ttok"),
            Detail("optimal_params", "compute-optimal size at that loss", n_best * n_unit, "Gparam"),
            Detail("assumed_ratio", "the assumed model's own tokens per parameter", D / N, "token/param"),
            Detail(
                "chinchilla_pair",
                "Chinchilla's own tokens per parameter (its 70B model on 1.4T tokens)",
                D_c / N_c,
                "token/param",
            ),
            Detail(
                "pair_factor",
                "over-training by Chinchilla's own pair instead, the lecture's reading",
                (D / N) / (D_c / N_c),
                "1",
            ),
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
    evidence="lecture-arithmetic",
    page=PAGE,
    unit="1",
    stated=Stated(100, "1", "~20 tokens/parameter × 100B = 2T; 150T is ~100× over-trained"),
    build=derive_overtraining,
    inputs=(
        Input(A_N, "param_coefficient", "chinchilla-loss-fit", "the fit's parameter coefficient"),
        Input(alpha, "param_exponent", "chinchilla-loss-fit", "the fit's parameter exponent"),
        Input(A_D, "data_coefficient", "chinchilla-loss-fit", "the fit's data coefficient"),
        Input(beta, "data_exponent", "chinchilla-loss-fit", "the fit's data exponent"),
        Input(N_c, "total_params", "chinchilla", "Chinchilla's parameters"),
        Input(D_c, "training_tokens", "chinchilla", "Chinchilla's training tokens"),
        Input(N, "active_params", "lecture-frontier-model", "assumed active parameters"),
        Input(D, "pretraining_tokens", "lecture-frontier-model", "assumed pre-training corpus"),
    ),
    constants=(PARAM_UNIT, TOKEN_UNIT),
    own=LectureArithmetic(
        "20 tokens per parameter × 100B active parameters = 2T, into 150T tokens",
        D_q / (r_q * N_q),
        ((D_q, 150e12), (r_q, 20), (N_q, 100e9)),
    ),
    finding=(
        "The lecture's 20 tokens per parameter is Chinchilla's own pair, {in:D_Chinchilla} on {in:N_Chinchilla}: "
        "the optimum at Chinchilla's scale. The paper's loss fit moves that optimum as the target loss falls, and "
        "at the loss of the lecture's assumed model ({in:N_active} active on {in:D_pre}) the cheapest way to "
        "reach it trains {detail:optimal_params} on {detail:optimal_tokens}, {detail:tokens_per_param}. The "
        "assumed model's {detail:assumed_ratio} is {value} that, not {stated}; by Chinchilla's own pair it would "
        "be {detail:pair_factor}. One rule runs through this chapter, the fit's optimum at equal loss, and the "
        "lifetime-cost figure marks the same optimum. The verdict rests on the fit's extrapolation far past the "
        "runs it was fitted to (a re-fit of the same data by Besiroglu et al. gives other coefficients) and on "
        "two lecture assumptions, the active size and the hearsay corpus; the sensitivity shows how far each "
        "moves it. It also applies a dense-model fit to an MoE's active parameters, a convention rather than "
        "a result."
    ),
)


eff, rate, life, family = sp.symbols("e R_lab T_life m", positive=True)

# Shown in findings: the deployment life in days (a count of months reads badly) and the rate per second.
LIFE_DAYS = Detail("life_days", "deployment life in days", life, "day")
EFFICIENCY = Detail("efficiency", "decode efficiency relative to prefill, as a percentage", eff, "percent")
RATE_PER_SECOND = Detail("rate_per_second", "the lab's token rate per second", rate, "Mtok/s")

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
    stated=Stated(1, "1", "D_pre ≈ 1.5·D_RL ≈ D_inf, taking decode efficiency ≈ 1/3"),
    build=one_step("D_inf/D_pre", 6 * eff / 2, "Equal cost: 6·N·D_pre = 2·N·D_inf / e", (EFFICIENCY,)),
    inputs=(Input(eff, "decode_efficiency", "lecture-serving", "decode efficiency relative to prefill"),),
    evidence="lecture-arithmetic",
    own=LectureArithmetic(
        "6·D_pre = 2·D_inf ÷ (1/3), so D_inf/D_pre = 6 × (1/3) ÷ 2",
        6 * e_q / 2,
        ((e_q, 1 / 3),),
    ),
    finding=(
        "A training token costs a forward and a backward pass, a served token a forward pass alone, but serving "
        "runs at {detail:efficiency} of prefill's efficiency, and the two effects cancel: equal spending buys as "
        "many served tokens as training tokens, a ratio of {value}. The balance is the lecture's premise (equal "
        "shares of lifetime compute), not a derived optimum, and every input is its own. It also prices every "
        "served token as decode: most tokens a service processes are prompt tokens, run at prefill's full "
        "efficiency, which would let a model serve many more tokens for the same spend."
    ),
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
    stated=Stated(1.5, "1", "D_pre ≈ 1.5·D_RL ≈ D_inf, taking decode efficiency ≈ 1/3"),
    build=one_step(
        "D_pre/D_RL",
        c_rl / (c_pre * eff),
        "Equal cost: c_pre·N·D_pre = c_RL·N·D_RL / e",
        (EFFICIENCY,),
    ),
    inputs=(
        Input(c_rl, "rl_flop_per_param_token", "lecture-serving", "RL FLOP per parameter per token"),
        Input(eff, "decode_efficiency", "lecture-serving", "decode efficiency relative to prefill"),
    ),
    constants=(PRETRAIN_FLOP,),
    evidence="lecture-arithmetic",
    own=LectureArithmetic(
        "4 FLOP per parameter per token (the middle of its 2 to 6) ÷ (6 × 1/3)",
        c_q / (6 * e_q),
        ((c_q, 4), (e_q, 1 / 3)),
    ),
    finding=(
        "Equal spending gives pre-training tokens over RL tokens as the RL cost per token over the pre-training "
        "cost, divided by decode's efficiency: at the middle of the lecture's RL range, {in:c_RL}, and its "
        "decode efficiency of {detail:efficiency}, that is {value}, not {stated}. The lecture's figure needs an "
        "RL cost in the lower half of its own range, so the verdict is decided by a number it gives only as a "
        "span (see the sensitivity, which runs over that span). Like the inference balance, the equal split is a "
        "premise, and RL rollouts that are mostly decode make the efficiency the lecture's other deciding guess."
    ),
)

LAB_VOLUME = Claim(
    id="training.lab-inference-volume",
    title="A lab serves ~2.6×10¹⁵ tokens in two months",
    statement="At Google's reported rate, a lab's traffic over one model's two-month life is about 2.6 quadrillion tokens.",
    section="6. Reinforcement learning and over-training",
    kind="derived",
    evidence="lecture-arithmetic",
    page=PAGE,
    unit="token",
    stated=Stated(2.6e15, "token", "~500M tokens/s across a lab × 2 months ≈ 2.6×10¹⁵ tokens"),
    build=one_step("D_lab", rate * life, "Reported rate times deployment life", (RATE_PER_SECOND, LIFE_DAYS)),
    inputs=(
        Input(rate, "token_throughput", "google-tokens-2025-10", "Google's reported token rate"),
        Input(life, "deployment_life", "lecture-serving", "deployment life"),
    ),
    own=LectureArithmetic(
        "~500M tokens/s × 2 months of 30 days",
        rate_q * life_q * month_q,
        ((rate_q, 500e6), (life_q, 2), (month_q, SECONDS_PER_MONTH)),
    ),
    finding=(
        "Google's reported {in:R_lab} is {detail:rate_per_second}, the lecture's rate, and over a deployment "
        "life of {detail:life_days} it comes to {value}, as the lecture says. The rate is an "
        "independent figure but a boastful one: it counts every token Google processes, prompts included, across "
        "all its products, so it measures a lab's whole traffic rather than one model's. The deployment life is "
        "the lecture's assumption; the volume scales with it one for one."
    ),
)

MODEL_VOLUME = Claim(
    id="training.model-inference-volume",
    title="One model serves ~200T tokens over its life",
    statement="Split across the models of a family, one model serves about 200 trillion tokens.",
    section="6. Reinforcement learning and over-training",
    kind="derived",
    evidence="lecture-arithmetic",
    page=PAGE,
    unit="token",
    stated=Stated(200e12, "token", "one model of a family ≈ 50M tokens/s ≈ 200T tokens over its life"),
    build=one_step(
        "D_inf",
        rate * life / family,
        "Lab volume over the models served at once",
        (Detail("model_rate", "one model's token rate per second", rate / family, "Mtok/s"), LIFE_DAYS),
    ),
    inputs=(*LAB_VOLUME.inputs, Input(family, "models_per_family", "lecture-serving", "models served at once")),
    own=LectureArithmetic(
        "~500M tokens/s ÷ 10 models × 2 months of 30 days",
        rate_q / family_q * life_q * month_q,
        ((rate_q, 500e6), (family_q, 10), (life_q, 2), (month_q, SECONDS_PER_MONTH)),
    ),
    finding=(
        "Google's traffic split evenly among {in:m} models is {detail:model_rate} each, and over a deployment "
        "life of {detail:life_days} that gives {value}, not {stated}: the lecture's own per-model rate over its "
        "own life comes to the same, so its figure is rounded down by more than its wording allows. The even "
        "split is the lecture's simplification (real traffic concentrates on a few flagship models), and the "
        "other end of its own range of models per family would raise the volume further (see the sensitivity)."
    ),
)

TOKENS_OUT_IN = Claim(
    id="training.tokens-out-equals-in",
    title="150T tokens in, 150T tokens out",
    statement="A model should output over its deployment about as many tokens as it was trained on.",
    section="6. Reinforcement learning and over-training",
    kind="derived",
    evidence="lecture-arithmetic",
    page=PAGE,
    unit="1",
    stated=Stated(1, "1", "'150 trillion in, 150 trillion out'"),
    build=one_step(
        "D_inf/D_pre",
        rate * life / family / D,
        "One model's served tokens over its pre-training corpus",
        (Detail("served_tokens", "tokens one model serves over its life", rate * life / family, "token"), LIFE_DAYS),
    ),
    inputs=(
        *MODEL_VOLUME.inputs,
        Input(D, "pretraining_tokens", "lecture-frontier-model", "assumed pre-training corpus"),
    ),
    own=LectureArithmetic(
        "its ~200T tokens served per model ÷ 150T tokens trained", out_q / D_q, ((out_q, 200e12), (D_q, 150e12))
    ),
    finding=(
        "One model's share of Google's traffic over {detail:life_days}, {detail:served_tokens}, against the "
        "lecture's {in:D_pre} of pre-training, is {value}, not {stated}; even the lecture's own rounded "
        "per-model volume does not quite balance its corpus. Every input but the rate is a lecture assumption, "
        "and each moves the ratio one for one. The lecture also calls these tokens 'out', but the rate counts "
        "every token processed, prompts included, so the output tokens a model actually writes are a minority of "
        "them and the true out-to-in ratio is well below this."
    ),
)

CORPUS = Claim(
    id="training.corpus-size",
    title="Pre-training corpora reach ~150T tokens",
    statement="A frontier pre-training corpus is about 150 trillion tokens (hearsay, by the lecture's own account).",
    section="6. Reinforcement learning and over-training",
    kind="reported",
    evidence="none",
    page=PAGE,
    unit="token",
    stated=Stated(150e12, "token", "pre-training corpus ≈ 150T tokens (hearsay)"),
    build=one_step("D", D, "The largest corpus a published model reports"),
    inputs=(Input(D, "training_tokens", None, "reported pre-training tokens"),),
    rows=Rows(
        "model",
        "qwen3-235b-a22b",
        "reference",
        "no frontier lab publishes its corpus; Qwen3-235B's is the largest an open model reports, shown as context",
    ),
    finding=(
        "No frontier lab publishes its pre-training corpus, so the lecture's hearsay figure cannot be checked and "
        "gets no verdict. The largest corpus an open model reports is Qwen3-235B's {value}; the rows show the "
        "other published corpora clustering well below it. A frontier corpus several times the largest open one "
        "is plausible only with heavy multi-epoch reuse or synthetic data, which is why the sensitivity of the "
        "over-training claims runs down to the open-model figures."
    ),
)

CLAIMS = (OVERTRAINING, INFERENCE_EQUALS_PRE, RL_CORPUS_RATIO, LAB_VOLUME, MODEL_VOLUME, TOKENS_OUT_IN, CORPUS)
