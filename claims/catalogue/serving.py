"""The 20 ms train: how long one pass over all of HBM takes (lecture section 2)."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import sympy as sp

from .. import stepmodel as sm
from ..engine import Claim, Derivation, Detail, Input, LectureArithmetic, Rows, Step
from ..policy import Stated
from .batch import (
    FLOP_PER_PARAM_TOKEN,
    GLU_MATRICES,
    KV_PER_TOKEN,
    A_att,
    B,
    E_chosen,
    E_routed,
    L_ctx,
    S_up,
    b_KV,
    chips_needed,
    d_e,
    h,
    kappa,
    n_D,
    n_L,
    r_kv,
    r_res,
    r_rope,
    served_on,
)
from .common import TOKENS_PER_STEP, VALUE_AS_WEIGHT, across_gpus, one_step, positive

n_seq = TOKENS_PER_STEP.symbol

PAGE = "train"

M, W = sp.symbols("M_HBM W", positive=True)
T = sp.Symbol("T_train", positive=True)


def derive_train_interval() -> Derivation:
    """A decode step that reads every byte of HBM once takes capacity / bandwidth."""
    return Derivation(
        steps=(Step("Reading all of HBM once, at full bandwidth, takes", sp.Eq(T, M / W)),),
        result=M / W,
    )


TRAIN_INTERVAL = Claim(
    id="serving.train-interval",
    title="A 'train' leaves every ~20 ms",
    statement=(
        "HBM capacity divided by HBM bandwidth is about 20 ms on accelerator after accelerator: "
        "the natural period of a decode step that reads every weight once."
    ),
    section="2. The 20 ms train",
    kind="derived",
    page=PAGE,
    unit="ms",
    stated=Stated(20, "ms", "≈ 20 ms across GPU generations (Rubin: 288 GB at ~20 TB/s ≈ 15 ms)"),
    build=derive_train_interval,
    inputs=(
        Input(M, "hbm_capacity", None, "HBM capacity"),
        Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
    ),
    rows=across_gpus("'consistently across many GPU generations' is a statement about GPUs", by_generation=True),
    finding=(
        "Capacity over bandwidth is the time to read every byte of HBM once, so it is the shortest step that "
        "touches all the weights and KV a chip holds. Judged across the GPUs in hwdb against the lecture's "
        "{stated}: {judged}; the H100 row gives {value}. The figure stays within a factor of two because vendors add HBM "
        "stacks, and each stack brings capacity and bandwidth together; it drifts up when a generation buys "
        "capacity with taller stacks (H200, MI-series), and down when bandwidth per stack rises faster."
    ),
)


W_lecture = sp.Symbol("W_lecture", positive=True)
M_lec, W_lec, T_lec, B_lec = sp.symbols("M_lecture W_lecture T_lecture B_lecture", positive=True)
T_wait, T_step, B_star, R_rep, G_tok = sp.symbols("T_wait T_step B^* R_replica G", positive=True)
F, b, N_tot, N_act = sp.symbols("F b N_total N_active", positive=True)
F_16 = sp.Symbol("F_BF16", positive=True)
c = FLOP_PER_PARAM_TOKEN.symbol

RUBIN_INTERVAL = Claim(
    id="serving.rubin-interval",
    title="Rubin's train interval ≈ 15 ms",
    statement="Rubin's announced HBM capacity over its bandwidth gives a step of about 15 ms.",
    section="2. The 20 ms train",
    kind="derived",
    page=PAGE,
    unit="ms",
    stated=Stated(15, "ms", "Rubin: 288 GB at ~20 TB/s ≈ 15 ms"),
    build=one_step("T_Rubin", M / W, "Rubin's HBM read once"),
    inputs=(
        Input(M, "hbm_capacity", "rubin", "Rubin HBM capacity"),
        Input(W, "hbm_bandwidth", "rubin", "Rubin HBM bandwidth"),
    ),
    own=LectureArithmetic("288 GB over its ~20 TB/s", M_lec / W_lec, ((M_lec, 288), (W_lec, 20))),
    finding=(
        "The lecture's arithmetic, 288 GB over about 20 TB/s, closes on its own figure ({own}). With NVIDIA's "
        "announced {in:W} rather than the lecture's round bandwidth, the interval is {value}: faster than the "
        "lecture's, but within its 'about'. Rubin is announced, not shipped, so the verdict rests on a vendor "
        "figure that may still move."
    ),
)

WORST_WAIT = Claim(
    id="serving.worst-case-wait",
    title="Worst-case queueing ≈ 40 ms",
    statement="A request that just misses a departure waits one interval, then rides one: two intervals at worst.",
    section="2. The 20 ms train",
    kind="derived",
    page=PAGE,
    unit="ms",
    stated=Stated(40, "ms", "worst-case queueing latency ≈ 40 ms"),
    build=one_step("T_wait", 2 * M / W, "Wait for the next train, then ride it"),
    inputs=TRAIN_INTERVAL.inputs,
    rows=Rows(
        "accelerator",
        "gb200",
        "reference",
        "the lecture derives its 40 ms from its own 20 ms; judged on its running example, a GB200 NVL72 GPU",
    ),
    own=LectureArithmetic("one 20 ms interval of waiting plus one of riding", 2 * T_lec, ((T_lec, 20),)),
    finding=(
        "A request that arrives just after a departure waits one full interval for the next and then rides one, "
        "so the worst case is twice the capacity-over-bandwidth time: {value} on the lecture's running example, "
        "a GB200 GPU, against its {stated}. It assumes the step reads all of HBM and that admission happens only "
        "at step boundaries; a deployment that holds less than a full HBM of weights and KV per chip steps "
        "faster, and one that pipelines stages waits per stage."
    ),
)


G_chips, H_bytes = sp.symbols("G H", positive=True)
# Sized as DeepSeek serves: F is the FP8 rate, b one FP8 weight, and the KV cache BF16 (b_KV in KV_PER_TOKEN).
BALANCED = F * b * N_tot / (c * W * N_act)


class Replica(NamedTuple):
    """The replica's closed forms, each the step model's, on the fewest GPUs that hold its batch."""

    steps: sp.Expr  # the step model's per-class step on G GPUs at the balanced batch
    held: sp.Expr  # bytes one GPU holds on G GPUs
    smallest: sp.Expr  # the fewest GPUs whose HBM, less the reserve, holds it
    step: sp.Expr  # the step on that many GPUs
    rate: sp.Expr  # tokens per second of the replica
    comm: sp.Expr  # the step's dispatch and combine time on that many GPUs


def _on(expr: sp.Expr, chips: sp.Expr) -> sp.Expr:
    """A step-model formula for DeepSeek-V3 on ``chips`` GPUs in its served formats, at the balanced batch."""
    mapping = served_on(chips, rate=F, attention_rate=F_16, weight_bytes=b)
    return sp.sympify(expr.subs(mapping, simultaneous=True).subs(B, BALANCED))


@cache
def replica() -> Replica:
    """Built on first use, not at import: ``Max`` and its substitutions are most of this module's import time,
    and a process served from the derivation cache never needs them."""
    f = sm.formulas("ep")
    # Expert parallel: every GPU keeps the always-read weights and 1/G of the experts and of the sequences' KV.
    smallest = sp.ceiling(_on(chips_needed(), G_chips))
    steps = _on(sm.step_time(f, "per-class"), G_chips)
    step = steps.subs(G_chips, smallest)
    return Replica(
        steps, _on(f.memory, G_chips), smallest, step, BALANCED / step, _on(f.comm, G_chips).subs(G_chips, smallest)
    )


def derive_replica_throughput() -> Derivation:
    """The fewest GPUs that hold the weights and the balanced batch's KV, each step from the step model."""
    r = replica()
    return Derivation(
        steps=(
            Step(
                "The batch that balances weight fetch against compute (the lecture's), with FP8 weights on FP8 "
                "arithmetic as DeepSeek serves them",
                sp.Eq(B_star, BALANCED),
            ),
            Step(
                "Bytes of KV cache per token of context: one MLA latent and one rotary key per layer, in BF16",
                sp.Eq(kappa, KV_PER_TOKEN),
            ),
            Step(
                "Bytes one of G GPUs holds when the experts are spread over them and everything else is replicated: "
                "the always-read weights, its share of the experts and its share of the sequences' KV",
                sp.Eq(H_bytes, r.held),
            ),
            Step(
                "The fewest GPUs whose HBM, less the reserve r, holds that",
                sp.Eq(G_chips, r.smallest),
            ),
            Step(
                "A step on G GPUs, from the step model: the weights' class, attention's class and the dispatch and "
                "combine of every MoE layer over the scale-up links",
                sp.Eq(T_step, r.steps),
            ),
            Step("Tokens per second for the replica", sp.Eq(R_rep, B_star / T_step)),
        ),
        result=r.rate,
        details=(
            Detail(
                "balanced_batch",
                "balanced batch in FP8 (weights and arithmetic); batch.optimal-size counts it in BF16",
                BALANCED,
                "token",
            ),
            Detail(
                "chips",
                "accelerators in the smallest replica that holds weights and KV",
                r.smallest,
                "1",
                noun="accelerators",
            ),
            Detail("step_time", "step time of that replica", r.step, "ms"),
            Detail("comm_time", "of which dispatch and combine over the scale-up links", r.comm, "ms"),
            Detail("per_chip", "tokens per second per accelerator", r.rate / r.smallest, "token/s"),
            Detail(
                "hbm_filled",
                "share of each accelerator's HBM the weights and KV fill",
                r.held.subs(G_chips, r.smallest) / M,
                "percent",
            ),
            Detail(
                "weights_only_rate",
                "the lecture's model: balanced batch over one HBM read of one chip (weights only)",
                BALANCED / (M / W),
                "token/s",
            ),
        ),
    )


REPLICA_INPUTS = (
    Input(M, "hbm_for_fit", None, "HBM a memory fit counts (device-reported where recorded)"),
    Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
    Input(F, "fp8_flops", None, "dense FP8 FLOP/s: DeepSeek's matrix multiplies run in FP8"),
    Input(F_16, "bf16_flops", None, "dense BF16 FLOP/s: DeepSeek's attention runs in BF16"),
    Input(S_up, "scaleup_bandwidth", None, "scale-up bandwidth per GPU per direction: dispatch and combine"),
    Input(b, "storage_per_parameter", "fp8", "bytes per FP8 weight, as DeepSeek serves them"),
    Input(b_KV, "storage_per_parameter", "bf16", "bytes per cached value: DeepSeek keeps V3's MLA cache in BF16"),
    Input(N_tot, "total_params", "deepseek-v3", "total parameters"),
    Input(N_act, "active_params", "deepseek-v3", "active parameters"),
    Input(n_L, "layers", "deepseek-v3", "layers"),
    Input(r_kv, "kv_lora_rank", "deepseek-v3", "MLA latent width cached per layer"),
    Input(r_rope, "qk_rope_head_dim", "deepseek-v3", "rotary key width cached per layer"),
    Input(L_ctx, "kv_length", "deepseek-v3-r1-decode-kv-length", "DeepSeek's average served context"),
    Input(A_att, "attention_flop_per_context_token", "deepseek-v3", "attention FLOP per new token per cached token"),
    Input(r_res, "memory_reserve", "serving-memory-reserve", "share of HBM a deployment keeps free"),
    Input(E_routed, "routed_experts", "deepseek-v3", "routed experts"),
    Input(E_chosen, "experts_per_token", "deepseek-v3", "experts chosen per token"),
    Input(n_D, "dense_layers", "deepseek-v3", "leading dense layers"),
    Input(h, "hidden_size", "deepseek-v3", "residual stream width"),
    Input(d_e, "moe_intermediate_size", "deepseek-v3", "hidden width of one expert"),
)
REPLICA_CONSTANTS = (FLOP_PER_PARAM_TOKEN, TOKENS_PER_STEP, VALUE_AS_WEIGHT, GLU_MATRICES)

REPLICA_THROUGHPUT = Claim(
    id="serving.replica-throughput",
    title="One replica serves ~128,000 tokens/s",
    statement="A replica that carries the balanced batch on every train serves about 128,000 tokens per second.",
    section="2. The 20 ms train",
    kind="derived",
    evidence="reported",
    page=PAGE,
    unit="token/s",
    stated=Stated(128000, "token/s", "≈ 2,000 tokens × ~64 steps per second ≈ 128,000 tokens/s"),
    build=derive_replica_throughput,
    inputs=REPLICA_INPUTS,
    constants=REPLICA_CONSTANTS,
    rows=Rows(
        "accelerator", "gb200", "reference", "DeepSeek-V3 on the lecture's GB200 NVL72, as for the balanced batch"
    ),
    own=LectureArithmetic(
        "2,000 tokens per train, one train every 20 ms (its '~64 steps per second' is a 15.6 ms train)",
        B_lec / T_lec * 1000,
        ((B_lec, 2000), (T_lec, 20)),
    ),
    finding=(
        "A replica must hold DeepSeek-V3's weights and the KV cache of its whole batch, in the formats DeepSeek "
        "serves: FP8 weights ({in:b}) multiplied in FP8, the MLA cache in BF16 ({in:b_KV} per cached value) and "
        "attention's arithmetic in BF16. Laid out as DeepSeek lays out decode, the routed experts spread over the "
        "GPUs and everything else copied to each, with {in:r} of every GPU's HBM kept free, the balanced batch "
        "({detail:balanced_batch}, the same as in BF16) at DeepSeek's served context needs {detail:chips}, each "
        "{detail:hbm_filled} full. A step of the step model then takes {detail:step_time}: the weights' and "
        "attention's classes, each the longer of its compute and its reads, plus {detail:comm_time} of dispatch and "
        "combine over the scale-up links, which DeepSeek hides behind compute by overlapping two micro-batches and "
        "the model does not. So the replica serves {value}, {detail:per_chip} per GPU, against the lecture's "
        "{stated}. The lecture's own figures do not close: 2,000 tokens per 20 ms train is {own}; its 64 steps a "
        "second is a shorter train than its own 20 ms. At longer contexts the replica grows to hold the KV and "
        "throughput per GPU falls (see the figure)."
    ),
)


def derive_gemini_share() -> Derivation:
    rate = replica().rate
    share = rate / G_tok
    return Derivation(
        steps=(
            Step("One replica's rate", sp.Eq(R_rep, rate)),
            Step("As a share of Google's reported token rate", sp.Eq(sp.Symbol("s"), share)),
        ),
        result=share,
    )


GEMINI_SHARE = Claim(
    id="serving.gemini-share",
    title="A replica is ~1/1000 of Gemini's traffic",
    statement="One replica's throughput is about a thousandth of the tokens Google reports processing.",
    section="2. The 20 ms train",
    kind="derived",
    evidence="reported",
    page=PAGE,
    unit="1",
    stated=Stated(0.001, "1", "about 1/1000 of Gemini's reported 'hundreds of millions of tokens per second'"),
    build=derive_gemini_share,
    inputs=(
        *REPLICA_INPUTS,
        Input(G_tok, "token_throughput", "google-tokens-2025-10", "Google's reported tokens per month"),
    ),
    constants=REPLICA_CONSTANTS,
    rows=Rows(
        "accelerator", "gb200", "reference", "DeepSeek-V3 on the lecture's GB200 NVL72, as for the balanced batch"
    ),
    finding=(
        "Against Google's {in:G} (the last figure before the lecture), one DeepSeek-V3 replica of the size that "
        "holds its FP8 weights and BF16 KV is {value} of the traffic, against the lecture's {stated}, and the "
        "factor of two its 'about' allows is the whole margin: the replica of the step model, with attention's "
        "arithmetic, a memory reserve and its dispatch and combine counted, lands just outside it. The gap comes "
        "from both ends: a GB200 replica serves more tokens per second than the lecture's, so it is a smaller "
        "share, and Google's count is of all tokens it processes, prompts included, while a replica's rate "
        "counts decoded tokens. A verdict this close to its band's edge says more about the figures' "
        "precision than about the lecture: the two are within a factor of about two either way."
    ),
)


T_long, N_w, b_w, B_seq, L_seq, kappa_seq, L_ref = positive("T_s N b_w B L kappa L_ref")
n_new = TOKENS_PER_STEP.symbol


def derive_second_pass() -> Derivation:
    """How many passes over HBM a longer step allows, and why a second pass reads nothing new."""
    passes = T_long * W / M
    reads = N_w * b_w + B_seq * L_seq * kappa_seq
    writes = B_seq * n_new * kappa_seq
    margin = sp.factor(sp.cancel(n_new / L_seq - writes / reads))
    if not margin.is_positive:
        raise AssertionError(f"a decode step should write less than n/L of what it reads, margin {margin}")
    return Derivation(
        steps=(
            Step("Passes over all of HBM that a step of length T_s allows", sp.Eq(sp.Symbol("r"), passes)),
            Step(
                "Bytes a decode step reads: every weight, and each sequence's KV cache of L tokens",
                sp.Eq(sp.Symbol("R"), reads),
            ),
            Step(
                "Bytes it writes: no weight, one new KV entry per sequence",
                sp.Eq(sp.Symbol("W_r"), writes),
            ),
            Step(
                "What it writes falls short of n/L of what it reads by a positive amount",
                sp.Eq(n_new / L_seq - sp.Symbol("W_r") / sp.Symbol("R"), margin),
            ),
        ),
        result=passes,
        details=(
            Detail(
                "write_bound",
                "upper bound on bytes written per byte read in one decode step, at the reference context",
                n_new / L_ref,
                "1",
            ),
        ),
    )


SECOND_PASS = Claim(
    id="serving.second-hbm-pass",
    title="A 30 ms+ step could read HBM more than once, to no purpose",
    statement=(
        "A step of 30 ms or more is long enough to read all of HBM more than once, but a second pass is "
        "pointless: serving never writes the weights, and a decode step only appends to the KV cache."
    ),
    section="2. The 20 ms train",
    kind="derived",
    evidence="lecture-arithmetic",
    page=PAGE,
    unit="1",
    noun="passes over HBM",
    stated=Stated(
        1,
        "1",
        "reading HBM more than once per step (a 30 ms+ step) is pointless: weights are read-only and "
        "the KV cache is mostly read",
    ),
    build=derive_second_pass,
    inputs=(
        Input(T_long, "step_time", "lecture-examples", "the lecture's long step"),
        Input(M, "hbm_capacity", None, "HBM capacity"),
        Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
        Input(L_ref, "long_context_threshold", "gemini-3.1-pro", "a long context: Gemini's price threshold"),
    ),
    constants=(TOKENS_PER_STEP,),
    rows=across_gpus("a statement about GPUs in general, as for the train interval"),
    finding=(
        "A step of {in:T_s} reads HBM more than once only on a chip that drains its HBM faster than that: "
        "across the GPUs in hwdb, {judged}, and the H100 row makes {value}. So the lecture's step length is "
        "long enough for a second pass on about half of today's GPUs; chips whose HBM grew faster than their "
        "bandwidth (the largest-capacity parts) fall short. The lecture's real point, that a second pass would "
        "find nothing new, the derivation proves: a decode step writes no weight, and it writes at most 1/L of "
        "what it reads, one new KV entry per sequence against the L entries of its context; at a context of "
        "{in:L_ref} that is under {detail:write_bound} of a byte per byte read."
    ),
)

CLAIMS = (TRAIN_INTERVAL, RUBIN_INTERVAL, WORST_WAIT, SECOND_PASS, REPLICA_THROUGHPUT, GEMINI_SHARE)
