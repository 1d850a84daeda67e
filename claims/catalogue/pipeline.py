"""Pipelining: when it is acceptable, and what it does not save (lecture section 4)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Constant, Derivation, Detail, Input, Rows, Step
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
    statement="Without micro-batching, only one stage of a pipeline works at a time, so each waits while all the others work.",
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
    noun="balanced batch per micro-batch",
    stated=Stated(
        1, "1", "exact", "pipelining forces micro-batching, which defeats amortising weight loads over the global batch"
    ),
    build=derive_microbatch_reloads,
    finding=(
        "The global batch that amortises the weight traffic is {value}: with m micro-batches a step needs m times "
        "the tokens, while the bubble shrinks only as one over m."
    ),
)

T_msg, h, b_act, e_val, T_hop = positive("T_msg h b_act e T_hop")
VALUE_AS_WEIGHT = Constant(e_val, 1, "param", "an activation value is sent in the format of one BF16 weight")


def derive_hop() -> Derivation:
    hop = T_msg + h * b_act * e_val / S_out
    return Derivation(
        steps=(
            Step(
                "One token's hidden state crosses to the next rack: the path's latency plus its bytes over the NIC",
                sp.Eq(T_hop, hop),
            ),
        ),
        result=hop,
        details=(
            Detail(
                "transfer", "time to send one token's hidden state through the NIC", h * b_act * e_val / S_out, "us"
            ),
            Detail("four_hops", "latency of all the lecture's stages' hops", P * hop, "us"),
        ),
    )


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
    stated=Stated(3, "ms", "order", "a rack-to-rack hop adds 'a few ms' per token, maybe 10× off"),
    build=derive_hop,
    inputs=(
        Input(T_msg, "message_latency", None, "end-to-end latency of a 64-byte message on this path"),
        Input(h, "hidden_size", "deepseek-v3", "DeepSeek-V3 residual stream width"),
        Input(b_act, "storage_per_parameter", "bf16", "bytes per BF16 value"),
        Input(S_out, "scaleout_bandwidth", "h100-sxm", "scale-out NIC bandwidth per GPU (400 Gb/s)"),
        Input(P, "pipeline_stages", "lecture-examples", "the lecture's pipeline stages"),
    ),
    constants=(VALUE_AS_WEIGHT,),
    rows=Rows(
        "interconnect",
        "deepseek-ib-cross-leaf-latency",
        "all",
        "a hop between racks crosses the spine: DeepSeek's cross-leaf InfiniBand path; every measured path counts",
    ),
    finding=(
        "DeepSeek measures {in:T_msg} end to end across leaf switches; adding {detail:transfer} to move one "
        "token's hidden state gives {value} per hop and {detail:four_hops} for the lecture's {in:P} stages: "
        "microseconds, not milliseconds. A hop's cost in a pipeline is "
        "bandwidth and bubbles, not latency."
    ),
)

G, DP, EP, D_up = positive("G DP EP D_up")

DEEPSEEK_NO_TP = Claim(
    id="pipeline.deepseek-no-tensor-parallel",
    title="DeepSeek serves without tensor parallelism",
    statement="DeepSeek's inference deployment uses no tensor parallelism: attention is replicated, not split.",
    section="4. Pipelining",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1, "1", "exact", "no tensor parallelism"),
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
    stated=Stated(1, "1", "about", "expert parallelism up to the scale-up domain"),
    build=one_step("r_EP", EP / D_up, "Expert-parallel degree over the GPUs of one NVLink domain"),
    inputs=(
        Input(EP, "expert_parallel", None, "expert-parallel degree"),
        Input(D_up, "scaleup_domain", None, "GPUs in one NVLink domain (an H800 node)"),
    ),
    rows=Rows(
        "deployment",
        "deepseek-v3-online-decode",
        "all",
        "every published DeepSeek deployment counts; the reference is the production system's decode stage",
    ),
    finding=(
        "DeepSeek's decode stage spreads experts over {in:EP} GPUs, {value} of {in:D_up} GPUs each: expert "
        "parallelism runs across InfiniBand, far beyond the scale-up domain. On H800 nodes the lecture's rule "
        "(keep the all-to-all inside NVLink) is not what DeepSeek does; it is what a 72-GPU rack makes possible."
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
    stated=Stated(1.5, "1", "range", "zero or two pipeline stages", low=1, high=2),
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
        "tensor degree, so its layouts are skipped here; there GPUs over data-parallel replicas, the value of "
        "pipeline.deepseek-no-tensor-parallel, is the product of the tensor and pipeline degrees, and it is "
        "one, so neither is used."
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
