"""Pipelining: when it is acceptable, and what it does not save (lecture section 4)."""

from __future__ import annotations

import sympy as sp

from .. import stepmodel as sm
from ..engine import Claim, Derivation, Detail, Input, LectureArithmetic, Rows, Step
from ..policy import Stated
from .batch import (
    FLOP_PER_PARAM_TOKEN,
    GLU_MATRICES,
    KV_PER_TOKEN,
    ROUTED_PARAMS,
    B_star,
    E_routed,
    c,
    d_e,
    n_D,
    n_L,
    r_kv,
    r_rope,
)
from .common import TOKENS_PER_STEP, VALUE_AS_WEIGHT, one_step, positive

# The lecture's own figures: its scale-out gap, DeepSeek's experts, layers per stage, racks in a pipeline.
gap_lec, k_lec, layers_lec, P_lec = positive("g_lecture k_lecture n_lecture P_lecture")

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
    evidence="lecture-arithmetic",
    page=PAGE,
    unit="1",
    stated=Stated(1, "1", "(1/8) × 2 × activated experts × layers per stage ≥ 1"),
    own=LectureArithmetic(
        "its 1/8 gap × 2 × DeepSeek's 8 activated experts × one layer per stage",
        2 * k_lec * gap_lec * layers_lec,
        ((gap_lec, 1 / 8), (k_lec, 8), (layers_lec, 1)),
    ),
    build=one_step(
        "q",
        (S_out / S_up) * 2 * k * n_stage,
        "Scale-out/scale-up ratio × 2 × activated experts × layers per stage",
        details=(
            Detail(
                "layers_needed",
                "layers per stage that bring the condition to one",
                S_up / (S_out * 2 * k) * n_stage / n_stage,
                "1",
                noun="layers",
            ),
        ),
    ),
    inputs=(
        Input(S_up, "scaleup_bandwidth", None, "scale-up bandwidth per chip"),
        Input(S_out, "scaleout_bandwidth", None, "scale-out bandwidth per chip"),
        Input(k, "experts_per_token", "deepseek-v3", "activated routed experts"),
        Input(n_stage, "layers_per_stage", "lecture-examples", "layers per stage"),
    ),
    rows=Rows(
        "accelerator",
        "gb200",
        "reference",
        "pipelining between the lecture's running-example racks, GB200 NVL72; its 1/8 is an 8-GPU Hopper server's gap",
    ),
    finding=(
        "Per token and layer, an expert layer sends the hidden state out to its {in:k} experts and back over "
        "the scale-up network, while a stage boundary sends it once over the scale-out network; the condition "
        "asks that the boundary's traffic, slowed by the bandwidth gap, be no worse than the layers' own. With "
        "the lecture's 1/8 its arithmetic gives {own}, comfortably above one. On a GB200 NVL72, whose gap is "
        "nearer 1/18 (see network.scale-out-gap), one layer per stage gives {value}, just short; "
        "{detail:layers_needed} per stage would reach one, so stages of more than one layer, as any real "
        "pipeline has, pass."
    ),
)

NAIVE_IDLE = Claim(
    id="pipeline.naive-idle",
    title="A naive 4-rack pipeline idles each rack 3/4 of the time",
    statement="Without micro-batching, only one stage of a pipeline works at a time, so each waits while all the others work.",
    section="4. Pipelining",
    kind="structural",
    page=PAGE,
    unit="1",
    stated=Stated(0.75, "1", "a naive 4-rack pipeline leaves each rack idle about 3/4 of the time"),
    build=one_step("idle", 1 - 1 / P, "Idle fraction of each stage"),
    inputs=(Input(P, "pipeline_stages", "lecture-examples", "pipeline stages"),),
    own=LectureArithmetic("one busy rack in four", 1 - 1 / P_lec, ((P_lec, 4),)),
    finding=(
        "Without micro-batches a step's batch passes through the stages one after another, so at any moment "
        "one of the {in:P} stages works and the rest wait: each idles {value} of the time, exactly the "
        "lecture's figure. Splitting the batch into m micro-batches shrinks the idle share to (P − 1)/(m + P − 1) "
        "but makes each micro-batch read the stage's weights again (pipeline.microbatch-weight-reloads)."
    ),
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
    stated=Stated(0, "B", "per-GPU memory = (N·bytes + B·L·kv)/(E·P) with B = P·b: P cancels from the KV term"),
    build=derive_kv_cancels,
    finding=(
        "With P stages the batch must grow to P micro-batches to keep every stage busy, while the memory for it "
        "is spread over P times as many GPUs: the two cancel, and the derivative of the per-GPU KV term with "
        "respect to P is {value}. Only the weights' share per GPU falls with P. So in serving, pipelining buys "
        "room for weights, not for the KV cache that long contexts need, which is why the lecture finds two "
        "stages enough."
    ),
)

F_mb, W_mb, b_mb, c_mb, N_tot_mb, N_act_mb, B_glob, m_mb = positive("F W b c N_total N_active B_global m")
#: Share of a synchronous (GPipe-style) step each of P stages idles with m micro-batches.
BUBBLE = (P - 1) / (m_mb + P - 1)


def derive_microbatch_reloads() -> Derivation:
    """Each micro-batch reloads the stage's weights: the balancing global batch grows with m."""
    compute = c_mb * N_act_mb * B_glob / F_mb
    weights = m_mb * N_tot_mb * b_mb / W_mb
    (balanced,) = sp.solve(sp.Eq(compute, weights), B_glob)
    single = F_mb * b_mb * N_tot_mb / (c_mb * W_mb * N_act_mb)
    per_micro_batch = sp.simplify(balanced / (m_mb * single))
    bubble = BUBBLE
    if sp.simplify(bubble.subs(m_mb, 1) - (1 - 1 / P)) != 0:
        raise AssertionError("one micro-batch should be the naive pipeline")
    if sp.simplify(sp.diff(bubble, m_mb)) == 0 or sp.limit(bubble, m_mb, sp.oo) != 0:
        raise AssertionError("the bubble should shrink with m and vanish only in the limit")
    B_g, B_1 = sp.symbols("B_g B^*", positive=True)
    return Derivation(
        steps=(
            Step("Compute time of one step over the whole global batch", sp.Eq(sp.Symbol("T_compute"), compute)),
            Step(
                "Weight traffic of one step: each of the m micro-batches reads the stage's weights",
                sp.Eq(sp.Symbol("T_weights"), weights),
            ),
            Step("The global batch at which the two balance", sp.Eq(B_g, balanced)),
            Step("The balanced batch without micro-batches", sp.Eq(B_1, single)),
            Step("Global batch per micro-batch, in balanced batches", sp.Eq(B_g / (m_mb * B_1), per_micro_batch)),
            Step("while the bubble falls only as m grows", sp.Eq(sp.Symbol("idle"), bubble)),
        ),
        result=per_micro_batch,
    )


MICROBATCH_RELOADS = Claim(
    id="pipeline.microbatch-weight-reloads",
    title="Micro-batching defeats amortising weight loads over the global batch",
    statement=(
        "In training, a pipeline must split each step's batch into micro-batches to shrink its bubble, and every "
        "micro-batch reads the stage's weights again, so the batch needed to amortise the weight traffic grows in "
        "proportion to the number of micro-batches."
    ),
    section="4. Pipelining",
    kind="structural",
    page=PAGE,
    unit="1",
    noun="balanced batches per micro-batch",
    stated=Stated(
        1, "1", "pipelining forces micro-batching, which defeats amortising weight loads over the global batch"
    ),
    build=derive_microbatch_reloads,
    finding=(
        "Each micro-batch streams the stage's weights through the chip again, so with m micro-batches the weight "
        "traffic of a step is m times larger and the global batch that hides it is m balanced batches: "
        "{value}, whatever m is. The bubble meanwhile falls only as (P − 1)/(m + P − 1). Training therefore pays "
        "either idle stages or a global batch m times the balanced one; the lecture's statement follows "
        "exactly."
    ),
)

T_msg, h, b_act, T_hop, G_rack = positive("T_msg h b_act T_hop G_rack")
F_hop, W_hop, N_tot_hop, N_act_hop = positive("F W N_total N_active")
e_val = VALUE_AS_WEIGHT.symbol
n_seq = TOKENS_PER_STEP.symbol


def derive_hop() -> Derivation:
    """A stage boundary carries the whole batch's activations, not one token's."""
    batch = F_hop * b_act * N_tot_hop / (c * W_hop * N_act_hop)
    payload = (batch / n_seq) * h * b_act * e_val
    # The step model's stage boundary: the batch's hidden states, each of the stage's chips sending its share
    # over its own NIC; a hop is that plus the path's latency.
    hop = sm.formulas("ep").hop
    on = {sm.B: batch / n_seq, sm.h: h, sm.b_a: b_act * e_val, sm.S_hop: S_out}
    one_nic = T_msg + hop.subs({**on, sm.G: 1}, simultaneous=True)
    rack = T_msg + hop.subs({**on, sm.G: G_rack}, simultaneous=True)
    if sp.simplify(rack - (T_msg + payload / (G_rack * S_out))) != 0:
        raise AssertionError("the step model's hop should carry the batch's hidden states over the rack's NICs")
    # Without micro-batches the stages run in turn, each rack reading its 1/P of the weights at the
    # balanced batch (where its compute takes as long): a step is at least one rack reading all of them.
    step_floor = N_tot_hop * b_act / (G_rack * W_hop)
    return Derivation(
        steps=(
            Step("A decode step runs the balanced batch through every stage", sp.Eq(B_star, batch)),
            Step(
                "so each hop carries one hidden state per sequence of the batch",
                sp.Eq(sp.Symbol("D_hop"), payload),
            ),
            Step("Through a single NIC the hop takes", sp.Eq(sp.Symbol("T_1NIC"), one_nic)),
            Step(
                "but a stage is a whole rack, and each of its G chips sends its share over its own NIC",
                sp.Eq(T_hop, rack),
            ),
        ),
        result=rack,
        details=(
            Detail("batch", "the balanced batch the hop carries", batch, "token"),
            Detail("payload", "bytes per hop: the batch's hidden states", payload, "MB"),
            Detail("one_nic", "the hop through one NIC", one_nic, "ms"),
            Detail("latency_share", "share of the rack hop that is the path's latency", T_msg / rack, "percent"),
            Detail("all_hops", "the rack hops of all the lecture's stages", P * rack, "us"),
            Detail(
                "step_floor",
                "the pipeline's decode step at that batch, weights only: each rack reads its share in turn",
                step_floor,
                "ms",
            ),
            Detail(
                "hops_share",
                "the hops over that step (an upper bound on their share)",
                P * rack / step_floor,
                "percent",
            ),
        ),
    )


# The lecture's per-token latency of a pipeline, "20–30 ms" (its middle), and its "~4 stages".
token_q, stages_q = sp.symbols("T_token_lecture P_lecture", positive=True)

HOP_LATENCY = Claim(
    id="pipeline.hop-latency",
    title="A rack-to-rack hop adds a few ms per token",
    statement=(
        "Sending a token's activations from one pipeline stage to the next rack adds a few milliseconds of latency "
        "(the lecture allows that this may be ten times off)."
    ),
    section="4. Pipelining",
    kind="derived",
    page=PAGE,
    unit="us",
    stated=Stated(
        3,
        "ms",
        "a rack-to-rack hop adds 'a few ms' per token, maybe 10× off",
        why="'a few ms' is read as 3 ms; the lecture's own 'maybe 10× off' makes it an order-of-magnitude figure",
    ),
    build=derive_hop,
    inputs=(
        Input(T_msg, "message_latency", None, "end-to-end latency of a 64-byte message on this path"),
        Input(h, "hidden_size", "deepseek-v3", "DeepSeek-V3 residual stream width"),
        Input(b_act, "storage_per_parameter", "bf16", "bytes per BF16 value and weight"),
        Input(F_hop, "bf16_flops", "gb200", "dense BF16 FLOP/s of a GB200 GPU"),
        Input(W_hop, "hbm_bandwidth", "gb200", "HBM bandwidth of a GB200 GPU"),
        Input(N_tot_hop, "total_params", "deepseek-v3", "total parameters"),
        Input(N_act_hop, "active_params", "deepseek-v3", "active parameters"),
        Input(S_out, "scaleout_bandwidth", "gb200", "scale-out NIC bandwidth per GB200 GPU"),
        Input(G_rack, "chips", "gb200-nvl72", "GPUs (and NICs) in a GB200 NVL72 rack"),
        Input(P, "pipeline_stages", "lecture-examples", "the lecture's pipeline stages"),
    ),
    constants=(FLOP_PER_PARAM_TOKEN, TOKENS_PER_STEP, VALUE_AS_WEIGHT),
    own=LectureArithmetic(
        "its 20–30 ms per token over ~4 stages, one hop each: 25 ms ÷ 4",
        token_q / stages_q,
        ((token_q, 25), (stages_q, 4)),
    ),
    rows=Rows(
        "interconnect",
        "deepseek-ib-cross-leaf-latency",
        "reference",
        "a hop between racks crosses the spine: DeepSeek's cross-leaf InfiniBand path; the other measured paths "
        "show how little the path's latency moves the answer",
    ),
    finding=(
        "A hop carries the hidden state of every sequence in the step, {detail:payload} at the balanced batch "
        "of {detail:batch}. Pushed through a single NIC of {in:S_out} that takes {detail:one_nic}, which is the lecture's "
        "'few ms'; but a stage is a rack, and when each of its {in:G_rack} GPUs sends its share over its own NIC "
        "the hop takes {value}, of which the path's measured latency ({in:T_msg}) is {detail:latency_share}. "
        "So the lecture's figure holds only for a pipeline funnelled through one NIC; across a rack's NICs "
        "the {in:P} hops add {detail:all_hops}, and what decides it is scale-out bandwidth per rack, not latency. "
        "The lecture's own two figures for a pipeline agree only loosely: its per-token latency spread over its "
        "stages puts a hop at about twice its 'few ms' (the lecture's arithmetic below), inside the tenfold it "
        "allows itself."
    ),
)

G, DP, EP, D_up = positive("G DP EP D_up")
N_all, b_w, b_kv, L_served, M_gpu = positive("N_total b_w b_KV L M_GPU")
#: Bytes one GPU holds under expert parallelism: the always-read weights (replicated with attention),
#: and 1/EP of the routed experts (redundant copies of busy experts, which DeepSeek adds, not counted).
HELD_PER_GPU = (N_all - ROUTED_PARAMS + ROUTED_PARAMS / EP) * b_w  # h is DeepSeek's width, as in the hop

DEEPSEEK_NO_TP = Claim(
    id="pipeline.deepseek-no-tensor-parallel",
    title="DeepSeek serves without tensor parallelism",
    statement="DeepSeek's inference deployment uses no tensor parallelism: attention is replicated, not split.",
    section="4. Pipelining",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1, "1", "no tensor parallelism"),
    build=one_step("TP", G / DP, "GPUs in a deployment unit over its attention replicas: the tensor-parallel degree"),
    inputs=(
        Input(G, "gpus", None, "GPUs in the deployment unit"),
        Input(DP, "data_parallel", None, "attention data-parallel degree"),
    ),
    rows=Rows(
        "deployment",
        "deepseek-v3-online-decode",
        "reference",
        "the lecture describes DeepSeek's production serving system (its decode stage); the V3 report's "
        "earlier layout is shown beside it",
    ),
    finding=(
        "DeepSeek's production serving system replicates attention on every one of its {in:G} decode GPUs: a tensor-parallel "
        "degree of {value}. The earlier V3 technical report split attention across GPUs (tensor parallelism) in both "
        "phases, so the statement holds for the current system, not for the first one described."
    ),
)

DEEPSEEK_EP = Claim(
    id="pipeline.deepseek-expert-parallel",
    title="DeepSeek's expert parallelism stays within the scale-up domain",
    statement="DeepSeek spreads its experts over at most one scale-up (NVLink) domain.",
    section="4. Pipelining",
    kind="derived",
    page=PAGE,
    unit="1",
    noun="NVLink domains",
    stated=Stated(
        1,
        "1",
        "DeepSeek's inference uses expert parallelism up to the scale-up domain",
        why=(
            "the lecture says this of DeepSeek, not as a design rule, so DeepSeek's published deployments are the "
            "population; they ran on 8-GPU H800 nodes, whose NVLink domain is the node"
        ),
    ),
    build=one_step(
        "r_EP",
        EP / D_up,
        "Expert-parallel degree over the GPUs of one NVLink domain",
        details=(
            Detail(
                "weights_per_gpu",
                "FP8 weights one GPU holds: the shared part, and its share of the experts",
                HELD_PER_GPU,
                "GB",
            ),
            Detail("kv_room", "share of an H800's HBM left for KV cache", 1 - HELD_PER_GPU / M_gpu, "percent"),
            Detail(
                "sequences_per_gpu",
                "sequences whose KV (BF16, at DeepSeek's served context) fit in that room",
                (M_gpu - HELD_PER_GPU) / (L_served * KV_PER_TOKEN.subs(b, b_kv)),
                "1",
                noun="sequences",
            ),
        ),
    ),
    inputs=(
        Input(EP, "expert_parallel", None, "expert-parallel degree"),
        Input(D_up, "scaleup_domain", None, "GPUs in one NVLink domain (an H800 node)"),
        Input(N_all, "total_params", "deepseek-v3", "total parameters"),
        Input(n_L, "layers", "deepseek-v3", "layers"),
        Input(n_D, "dense_layers", "deepseek-v3", "leading dense layers"),
        Input(h, "hidden_size", "deepseek-v3", "residual stream width"),
        Input(d_e, "moe_intermediate_size", "deepseek-v3", "hidden width of one expert"),
        Input(E_routed, "routed_experts", "deepseek-v3", "routed experts"),
        Input(b_w, "storage_per_parameter", "fp8", "bytes per FP8 weight (DeepSeek serves FP8 weights)"),
        Input(b_kv, "storage_per_parameter", "bf16", "bytes per BF16 cached value"),
        Input(r_kv, "kv_lora_rank", "deepseek-v3", "MLA latent width cached per layer"),
        Input(r_rope, "qk_rope_head_dim", "deepseek-v3", "rotary key width cached per layer"),
        Input(L_served, "kv_length", "deepseek-v3-r1-decode-kv-length", "DeepSeek's average served context"),
        Input(M_gpu, "hbm_capacity", "h100-sxm", "HBM of one GPU: the H800 carries the H100 SXM's 80 GB"),
    ),
    constants=(GLU_MATRICES, TOKENS_PER_STEP, VALUE_AS_WEIGHT),
    rows=Rows(
        "deployment",
        "deepseek-v3-online-decode",
        "all",
        "every published DeepSeek deployment counts; the reference is the production system's decode stage",
    ),
    finding=(
        "DeepSeek's decode stage spreads experts over {in:EP} GPUs, {value} of {in:D_up} GPUs each: expert "
        "parallelism runs across InfiniBand, far beyond the scale-up domain. On H800 nodes the lecture's rule "
        "(keep the all-to-all inside NVLink) is not what DeepSeek does; it is what a 72-GPU rack makes possible. "
        "The layout is what makes the memory fit: each GPU keeps a copy of the shared weights and only its share "
        "of the experts, {detail:weights_per_gpu} in FP8, which leaves {detail:kv_room} of its HBM for KV cache, "
        "room for about {detail:sequences_per_gpu} at DeepSeek's served context."
    ),
)

TP_dep = sp.Symbol("TP", positive=True)

DEEPSEEK_NO_PP = Claim(
    id="pipeline.deepseek-pipeline-stages",
    title="DeepSeek serves with zero or two pipeline stages",
    statement="DeepSeek's inference deployments use no pipeline parallelism, or two stages at most.",
    section="4. Pipelining",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(
        1.5,
        "1",
        "zero or two pipeline stages (pipeline degree 1–2)",
        low=1,
        high=2,
        why="no pipeline means one stage, so the lecture's 'zero or two' is a pipeline degree of one or two",
    ),
    quantum=1,  # a pipeline degree is a whole number of stages
    build=one_step(
        "PP",
        G / (TP_dep * DP),
        "GPUs in a deployment unit over the GPUs one attention replica's tensor split and the replicas "
        "account for: the pipeline degree",
    ),
    inputs=(
        Input(G, "gpus", None, "GPUs in the deployment unit"),
        Input(TP_dep, "tensor_parallel", None, "attention tensor-parallel degree"),
        Input(DP, "data_parallel", None, "attention data-parallel degree"),
    ),
    rows=Rows(
        "deployment",
        "deepseek-v3-report-decode",
        "all",
        "only the V3 report states all three degrees; every layout that does counts",
    ),
    finding=(
        "In the V3 report's decode unit, {in:TP} × {in:DP} attention GPUs already fill all {in:G}, so the "
        "pipeline degree is {value}: one stage holds every layer, which is the lecture's 'zero' (its 'two' "
        "would be a degree of two); the report's prefill unit gives the same. The 2025 overview names no "
        "tensor degree, so its layouts are not rows here, but they point the same way. In them, GPUs divided by "
        "data-parallel replicas (the value of pipeline.deepseek-no-tensor-parallel) is the tensor degree times "
        "the pipeline degree. That quotient is one, so both degrees are one: neither is used."
    ),
)

CLAIMS = (
    CROSS_RACK,
    NAIVE_IDLE,
    MICROBATCH_RELOADS,
    KV_CANCELS,
    HOP_LATENCY,
    DEEPSEEK_NO_TP,
    DEEPSEEK_NO_PP,
    DEEPSEEK_EP,
)
