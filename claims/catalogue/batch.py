"""Rooflines and batch size: weight fetch against compute (lecture section 1)."""

from __future__ import annotations

import sympy as sp

from .. import stepmodel as sm
from ..engine import Claim, Constant, Derivation, Detail, Input, LectureArithmetic, Rows, Step
from ..policy import Stated
from .common import TOKENS_PER_STEP, VALUE_AS_WEIGHT

PAGE = "rooflines"

# Hardware: dense FLOP/s, HBM bandwidth. Model: parameters total and active. Format: bytes per weight.
F, W, b = sp.symbols("F W b", positive=True)
N_tot, N_act = sp.symbols("N_total N_active", positive=True)
c = sp.Symbol("c", positive=True)  # FLOP per parameter per token
B = sp.Symbol("B", positive=True)
B_star = sp.Symbol("B^*", positive=True)
T_compute, T_weights = sp.symbols("T_compute T_weights", positive=True)
E_routed, E_chosen = sp.symbols("E_routed E_chosen", positive=True)
E_lecture = sp.Symbol("E_chosen^lecture", positive=True)
# DeepSeek's served formats: bytes per FP8 weight, per cached (BF16) value, and the FP8 rate they imply.
b_w, b_KV, F_8 = sp.symbols("b_w b_KV F_8", positive=True)
# KV cache: layers, MLA latent and rotary widths, the context each sequence carries, HBM per chip.
n_L, r_kv, r_rope = sp.symbols("n_layers r_KV r_rope", positive=True)
L_ctx, M = sp.symbols("L M_HBM", positive=True)
kappa = sp.Symbol("kappa", positive=True)
n_seq = TOKENS_PER_STEP.symbol  # tokens per sequence per step: B/n sequences in a batch
e_val = VALUE_AS_WEIGHT.symbol
# MoE weight traffic: dense layers, width, one expert's hidden width, and the parameters of one expert.
n_D, h, d_e = sp.symbols("n_dense h d_expert", positive=True)
m_glu = sp.Symbol("m", positive=True)
# The lecture's own figures: its hardware ratio and its reading of DeepSeek's sparsity.
R_lec, s_lec = sp.symbols("R_lecture s_lecture", positive=True)

FLOP_PER_PARAM_TOKEN = Constant(
    c, 2, "flop/(param*token)", "one multiply-add (two FLOP) per weight per token; attention FLOPs ignored"
)
GLU_MATRICES = Constant(
    m_glu, 3, "param", "a gated (SwiGLU) expert holds three h × d_expert matrices: gate, up and down projections"
)

#: Bytes of KV cache per token of context: one MLA latent and one rotary key per layer, b_KV bytes each.
KV_PER_TOKEN = n_L * (r_kv + r_rope) * b_KV * e_val / n_seq
#: FP8 arithmetic at the rate that trades bytes for FLOP/s one for one (twice BF16's, as on the GB200).
SERVED_RATE = F * b / b_w
#: Parameters of one routed expert, and of all of them.
EXPERT_PARAMS = m_glu * h * d_e
ROUTED_PARAMS = (n_L - n_D) * E_routed * EXPERT_PARAMS
#: Parameters every token reads whatever its routing: attention, embeddings, dense layers, shared experts.
ALWAYS_READ = N_tot - ROUTED_PARAMS


#: The step model's inputs DeepSeek-V3 adds: attention FLOP per new token per cached token (MLA run absorbed,
#: as decode kernels run it), and the share of HBM a deployment keeps free.
A_att = sp.Symbol("A", positive=True)
r_res = sp.Symbol("r", positive=True)


#: Scale-up bandwidth per chip per direction: the link expert-parallel dispatch and combine cross.
S_up = sp.Symbol("S", positive=True)
ONE = sp.Integer(1)


def served_on(
    chips: sp.Expr = ONE,
    rate: sp.Expr | None = None,
    attention_rate: sp.Expr | None = None,
    weight_bytes: sp.Expr | None = None,
) -> dict[sp.Basic, sp.Basic]:
    """The step model's symbols for DeepSeek-V3 on ``chips`` GPUs of the row's chip, as DeepSeek serves it.

    Expert parallel (attention and shared parts replicated, each GPU decoding its share of the
    sequences); FP8 weights (``weight_bytes``, by default b_w) multiplied in FP8 (``rate``; by default the
    rate that trades bytes for FLOP/s one for one), the MLA cache in BF16, attention's arithmetic in BF16
    (``attention_rate``, by default F) and the hidden states
    sent in BF16. The step model counts sequences and the claims tokens; with one token per sequence
    per step (n), a batch of B tokens is B/n sequences.
    """
    return {
        sm.G: chips,
        sm.sigma: sp.Integer(1),
        sm.rho: sp.Integer(1),
        sm.N_ar: ALWAYS_READ,
        sm.N_r: ROUTED_PARAMS,
        sm.N_act: N_act,
        sm.E: E_routed,
        sm.k: E_chosen,
        sm.c: c * n_seq,
        sm.b_w: b_w if weight_bytes is None else weight_bytes,
        sm.kappa: KV_PER_TOKEN,
        sm.A: A_att * n_seq,
        sm.F_w: SERVED_RATE if rate is None else rate,
        sm.F_a: F if attention_rate is None else attention_rate,
        sm.W: W,
        sm.M: M,
        sm.r: r_res,
        sm.L: L_ctx,
        sm.B: B / n_seq,
        sm.S: S_up,
        sm.h: h,
        sm.b_a: b_KV * e_val,
        sm.n_L: n_L,
        sm.n_M: n_L - n_D,
    }


def served(expr: sp.Expr, batch: sp.Expr = B) -> sp.Expr:
    """A step-model formula for DeepSeek-V3 on one GPU (see :func:`served_on`) at a batch of tokens."""
    return sp.sympify(expr.subs(served_on(), simultaneous=True).subs(B, batch))


def step_time(batch: sp.Expr) -> sp.Expr:
    """One decode step of DeepSeek-V3 on one GPU at ``batch`` tokens: the step model's per-class reading."""
    return served(sm.step_time(sm.formulas("ep"), "per-class"), batch)


def balanced_with_kv() -> sp.Expr:
    """The batch (tokens) at which all of a step's compute equals all its memory traffic, at context L."""
    return n_seq * served(sm.formulas("ep").critical_batch)


def chips_needed() -> sp.Expr:
    """The step model's chip count at which one chip's share fills its HBM less the reserve (expert parallel:
    every chip keeps the always-read weights, and its share of the experts and of the sequences' KV)."""
    f = sm.formulas("ep")
    (chips,) = sp.solve(sp.Eq(f.memory, f.capacity), sm.G)
    return sp.sympify(chips)


def touched_fraction(batch: sp.Expr) -> sp.Expr:
    """Expected share of a layer's routed experts that ``batch`` tokens touch (the step model's, routing uniform:
    real routers are balanced by design, so this is what a load-balanced layer sees)."""
    return sm.touched(batch).subs({sm.k: E_chosen, sm.E: E_routed}, simultaneous=True)


def weight_bytes_read(batch: sp.Expr) -> sp.Expr:
    """Bytes of weights one step reads at a batch of ``batch`` tokens, in the weights' format b."""
    return b * (ALWAYS_READ + ROUTED_PARAMS * touched_fraction(batch))


def derive_optimal_batch() -> Derivation:
    """Balance the compute time of a step against the time to stream its weights."""
    compute = B * c * N_act / F
    weights = N_tot * b / W
    (solution,) = sp.solve(sp.Eq(compute, weights), B)
    hardware = F * b / (c * W)
    sparsity = N_tot / N_act
    if sp.simplify(solution - hardware * sparsity) != 0:
        raise AssertionError("the optimal batch does not factor into hardware ratio x sparsity")
    # DeepSeek serves FP8 weights on FP8 arithmetic: the same batch wherever F_8·b_w = F·b.
    served_8 = solution.subs({F: F_8, b: b_w}, simultaneous=True)
    if sp.simplify(served_8.subs(F_8, SERVED_RATE) - solution) != 0:
        raise AssertionError("FP8 weights on FP8 arithmetic should balance at the BF16 batch")
    f = sm.formulas("ep")
    compute_all = served(f.compute + f.attention)
    memory_all = served(f.weights + f.kv)
    with_kv = balanced_with_kv()
    limit = served(f.context_limit)
    # Per cached token, attention's FLOPs at their rate against its bytes at HBM's: below one the KV read is the
    # longer, and long enough contexts outlast any batch's compute; at one or more, no context does.
    attention_to_kv = served((sm.A / sm.F_a) / (sm.rho * sm.kappa / sm.W))
    if sp.simplify(compute_all.subs(B, with_kv) - served(f.memory / sm.W, with_kv)) != 0:
        raise AssertionError("at B*_KV all compute should equal the time to read all the step holds")
    # The step at the weights-only balanced batch: its parts, and how much of it the arithmetic fills.
    step = step_time(solution)
    compute_share = served(f.compute + f.attention, solution) / step
    kv_share = served(f.kv_read, solution) / served(f.weights_read, solution)
    return Derivation(
        steps=(
            Step("A step over a batch of B tokens needs this much compute time", sp.Eq(T_compute, compute)),
            Step("and must stream every weight from HBM once", sp.Eq(T_weights, weights)),
            Step("Weight fetch is fully hidden when the two are equal", sp.Eq(compute, weights)),
            Step("Solved for the batch", sp.Eq(B_star, solution)),
            Step(
                "which is a hardware ratio times the model's sparsity",
                sp.Eq(B_star, sp.UnevaluatedExpr(hardware) * sp.UnevaluatedExpr(sparsity)),
            ),
            Step(
                "DeepSeek serves FP8 weights on FP8 arithmetic, which a chip like the GB200 runs at "
                "twice its BF16 rate: the rate per byte is unchanged",
                sp.Eq(F_8, SERVED_RATE),
            ),
            Step("so the served formats balance at the same batch", sp.Eq(B_star, served_8)),
            Step(
                "The lecture leaves out attention, which no batch shares: each of the B/n sequences reads its "
                "L cached tokens of κ bytes (BF16, as DeepSeek keeps them) and does A FLOP on each (in BF16). In "
                "the step model of the serving chapter, all of a step's compute on one GPU is",
                sp.Eq(sp.Symbol("T_compute,all"), compute_all),
            ),
            Step("and all its memory traffic", sp.Eq(sp.Symbol("T_memory,all"), memory_all)),
            Step("With every expert touched, the two are equal at the batch", sp.Eq(sp.Symbol("B^*_KV"), with_kv)),
            Step(
                "which exists only below the context where one sequence's KV read outlasts its compute, "
                "attention's included",
                sp.Eq(sp.Symbol("L_max"), limit),
            ),
        ),
        result=solution,
        details=(
            Detail("hardware_ratio", "hardware ratio F·b/(c·W) (batch at sparsity 1)", hardware, "token"),
            Detail("sparsity", "sparsity N_total/N_active from the published parameter counts", sparsity, "1"),
            Detail(
                "expert_ratio", "routed experts per selected expert in DeepSeek-V3's config", E_routed / E_chosen, "1"
            ),
            Detail("lecture_sparsity", "the lecture's reading ('32 of 256 experts')", E_routed / E_lecture, "1"),
            Detail(
                "kv_per_token",
                "DeepSeek-V3's KV cache per token of context (MLA latent, BF16)",
                KV_PER_TOKEN,
                "B/token",
            ),
            Detail(
                "attention_flop",
                "attention FLOP one sequence's step spends per cached token (MLA run absorbed, as decode kernels run it)",
                A_att * n_seq,
                "Mflop/token",
            ),
            Detail(
                "attention_to_kv",
                "attention's arithmetic time over its KV read time, per cached token (≥ 1: no context limit)",
                attention_to_kv,
                "1",
            ),
            Detail(
                "context_limit",
                "context beyond which no batch balances (KV read per sequence ≥ its compute, attention's included); "
                "0 where attention's arithmetic outlasts its KV read, so that no context is too long",
                sp.Max(limit, 0),  # the closed form is negative exactly where no limit exists
                "token",
            ),
            Detail(
                "balanced_with_kv",
                "batch at which all compute equals all memory traffic, at DeepSeek's served context",
                with_kv,
                "token",
            ),
            Detail(
                "kv_to_weights",
                "KV bytes over FP8 weight bytes read per step, at B* and DeepSeek's served context",
                kv_share,
                "1",
            ),
            Detail(
                "compute_share",
                "share of the step at B* that the arithmetic fills, attention's included (100 %: balanced)",
                compute_share,
                "percent",
            ),
            Detail("step_at_balanced", "step time at B* and the served context, on one accelerator", step, "ms"),
            Detail(
                "gpus_to_hold",
                "accelerators that hold the FP8 weights and the BF16 KV of B* sequences, less the reserve, with the experts "
                "spread over them and the rest copied to each",
                served(chips_needed(), solution),
                "1",
                noun="accelerators",
            ),
            Detail(
                "expert_balanced",
                "balanced batch of one routed expert's matrices (the chip's ratio × routed/selected experts)",
                n_seq * served(f.expert_balanced),
                "token",
            ),
        ),
    )


OPTIMAL_BATCH = Claim(
    id="batch.optimal-size",
    title="Optimal batch ≈ 300 × sparsity",
    statement=(
        "The smallest batch that hides the weight fetch behind compute is the accelerator's "
        "FLOP/s-to-bandwidth ratio times the model's sparsity, independent of model size; "
        "for DeepSeek it comes to a couple of thousand tokens."
    ),
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="derived",
    page=PAGE,
    unit="token",
    stated=Stated(2400, "token", "B ≈ 300 × 8 ≈ 2,400 tokens for DeepSeek (2,000–3,000)", low=2000, high=3000),
    own=LectureArithmetic(
        "its hardware ratio of 300 times its sparsity of 8", R_lec * s_lec, ((R_lec, 300), (s_lec, 8))
    ),
    build=derive_optimal_batch,
    inputs=(
        Input(F, "bf16_flops", None, "dense BF16 FLOP/s"),
        Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
        Input(b, "storage_per_parameter", "bf16", "bytes per BF16 weight"),
        Input(N_tot, "total_params", "deepseek-v3", "total parameters"),
        Input(N_act, "active_params", "deepseek-v3", "active parameters"),
        Input(E_routed, "routed_experts", "deepseek-v3", "routed experts"),
        Input(E_chosen, "experts_per_token", "deepseek-v3", "experts chosen per token"),
        Input(E_lecture, "experts_per_token", "lecture-deepseek-reading", "experts per token, as the lecture read it"),
        Input(n_L, "layers", "deepseek-v3", "layers"),
        Input(r_kv, "kv_lora_rank", "deepseek-v3", "MLA latent width cached per layer"),
        Input(r_rope, "qk_rope_head_dim", "deepseek-v3", "rotary key width cached per layer"),
        Input(L_ctx, "kv_length", "deepseek-v3-r1-decode-kv-length", "DeepSeek's average served context"),
        Input(M, "hbm_for_fit", None, "HBM a memory fit counts (device-reported where recorded)"),
        Input(b_w, "storage_per_parameter", "fp8", "bytes per FP8 weight, as DeepSeek serves them"),
        Input(b_KV, "storage_per_parameter", "bf16", "bytes per cached value: DeepSeek keeps V3's MLA cache in BF16"),
        Input(
            A_att, "attention_flop_per_context_token", "deepseek-v3", "attention FLOP per new token per cached token"
        ),
        Input(r_res, "memory_reserve", "serving-memory-reserve", "share of HBM a deployment keeps free"),
        Input(n_D, "dense_layers", "deepseek-v3", "leading dense layers"),
        Input(h, "hidden_size", "deepseek-v3", "residual stream width"),
        Input(d_e, "moe_intermediate_size", "deepseek-v3", "hidden width of one expert"),
    ),
    constants=(FLOP_PER_PARAM_TOKEN, TOKENS_PER_STEP, VALUE_AS_WEIGHT, GLU_MATRICES),
    rows=Rows(
        "accelerator",
        "gb200",
        "reference",
        "DeepSeek-V3 on the lecture's running example, a GPU of a GB200 NVL72 rack; the rows show how the "
        "balanced batch moves with the hardware (whether the ratio itself is ~300 is a claim of its own)",
    ),
    finding=(
        "The balanced batch is the chip's ratio F·b/(c·W), {detail:hardware_ratio} on the reference GPU, times "
        "the model's sparsity, and the lecture's ratio of about 300 is right. Its sparsity is not: DeepSeek-V3 "
        "routes each token to {in:E_chosen} of {in:E_routed} experts (the lecture read {in:E_chosen^lecture}), and "
        "with attention, embeddings, dense layers and a shared expert read by every token, the sparsity by "
        "parameter count is {detail:sparsity}, not {detail:lecture_sparsity}; so the optimum is {value}, outside "
        "the lecture's {stated}. Counted in BF16, it is also the batch for FP8 weights on FP8 arithmetic, the "
        "formats DeepSeek serves, since the chip doubles its rate for half the bytes. Attention, which the "
        "lecture sets aside, pushes it further, with bytes and FLOPs both: each sequence reads a BF16 cache of "
        "{detail:kv_per_token} of context and spends {detail:attention_flop} of BF16 arithmetic on them. "
        "At the mean context DeepSeek reports serving, {in:L}, a step at this batch reads {detail:kv_to_weights} "
        "as many KV bytes as weight bytes, the arithmetic fills {detail:compute_share} of it, and all compute "
        "equals all memory traffic only at {detail:balanced_with_kv}; past {detail:context_limit} of context no "
        "batch balances at all. Holding the weights plus this batch's KV takes {detail:gpus_to_hold}' worth of "
        "HBM, less the reserve. Per operation, one routed expert sees only its share of the batch, so its own "
        "matrices balance only at {detail:expert_balanced}."
    ),
)


k = sp.Symbol("k", positive=True)  # a common scale factor on the model's size
n_one = sp.Symbol("n_1", positive=True)
UNBATCHED = Constant(n_one, 1, "token", "an unbatched step processes one token")


def derive_scale_independence() -> Derivation:
    """Scale total and active parameters together: the balanced batch does not move."""
    base = F * b * N_tot / (c * W * N_act)
    scaled = base.subs({N_tot: k * N_tot, N_act: k * N_act})
    change = sp.simplify(sp.diff(scaled, k))
    if change != 0:
        raise AssertionError("the balanced batch depends on model scale")
    return Derivation(
        steps=(
            Step("Balanced batch", sp.Eq(B_star, base)),
            Step("Scale both parameter counts by k", sp.Eq(B_star, scaled)),
            Step("Its derivative with respect to k", sp.Eq(sp.Derivative(B_star, k), change)),
        ),
        result=change,
    )


SCALE_INDEPENDENT = Claim(
    id="batch.scale-independent",
    title="The optimal batch does not depend on model size",
    statement="Scaling a model up at fixed sparsity leaves the balanced batch unchanged.",
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="structural",
    page=PAGE,
    unit="token",
    stated=Stated(0, "token", "B ≳ 300 × sparsity, 'independent of model scale'"),
    build=derive_scale_independence,
    finding=(
        "The balanced batch depends on the parameter counts only through their ratio, the sparsity: compute per "
        "token and bytes per step both grow in proportion to the model, so scaling both counts by any factor "
        "leaves it unchanged, and its derivative with respect to that factor is {value}. What would change it is "
        "anything that does not scale with the model: the KV cache per sequence (which rises with layers and "
        "width more slowly than the parameters), or a different number format for weights and arithmetic."
    ),
)


G_rack = sp.Symbol("G_rack", positive=True)  # GPUs of one expert-parallel domain


def derive_unbatched_penalty() -> Derivation:
    """Time per token at batch one over the floor large batches reach, both from the step model at the served
    context: at batch one a mixture of experts reads only the experts its one token picks, plus its own KV."""
    read_one = weight_bytes_read(sp.Integer(1))
    if sp.simplify(read_one - b * (ALWAYS_READ + (n_L - n_D) * E_chosen * EXPERT_PARAMS)) != 0:
        raise AssertionError("at batch one a token should read exactly its chosen experts")
    f = sm.formulas("ep")
    per_token_one = step_time(n_one) / n_one
    # Per token, past every balance: the weights are free, compute and each sequence's attention remain.
    floor = served(f.compute / sm.B + sp.Max(f.attention / sm.B, f.kv / sm.B)) / n_seq
    penalty = per_token_one / floor
    # The lecture's picture: no KV and no attention, so the floor is the weights' compute alone.
    per_token_best = c * N_act / F
    kv_free = (read_one / W) / n_one / per_token_best
    naive = (N_tot * b / W) / n_one / per_token_best
    # One sequence on an expert-parallel domain: every GPU reads its replica of the always-read weights
    # (attention and dense parts are data parallel) for one token; the hidden state it sends is a few kB.
    rack = {sm.G: G_rack}
    rack_step = (sp.Max(f.compute, f.weights) + sp.Max(f.attention, f.kv)).subs(rack, simultaneous=True)
    rack_penalty = G_rack * served(rack_step, n_one) / n_one / floor
    return Derivation(
        steps=(
            Step(
                "A step at batch B reads the always-active weights and, per MoE layer, the experts its tokens "
                "touch: with routing spread evenly, a share 1 − (1 − k/E)^B of them",
                sp.Eq(sp.Symbol("R_B"), weight_bytes_read(B)),
            ),
            Step(
                "At batch one that is the token's own experts, about its active parameters",
                sp.Eq(sp.Symbol("R_1"), read_one),
            ),
            Step(
                "Time per token at batch one, from the step model at the served context: that read and the "
                "sequence's own KV cache, in DeepSeek's formats",
                sp.Eq(sp.Symbol("t_1"), per_token_one),
            ),
            Step(
                "The floor a large batch reaches: the weights' arithmetic, and each sequence's attention, the "
                "longer of its FLOPs and its KV read",
                sp.Eq(sp.Symbol("t_∞"), floor),
            ),
            Step("Penalty for not batching", sp.Eq(sp.Symbol("P"), penalty)),
        ),
        result=penalty,
        details=(
            Detail(
                "hardware_ratio", "hardware ratio F·b/(c·W): the penalty of a dense model", F * b / (c * W * n_one), "1"
            ),
            Detail("read_at_one", "parameters one token reads at batch one", read_one / b, "param"),
            Detail(
                "kv_free_penalty",
                "the penalty with no context (no KV, no attention): batch one's read over the weights' arithmetic",
                kv_free,
                "1",
            ),
            Detail(
                "naive_penalty",
                "the penalty if batch one read all the weights (a dense model of the same total size)",
                naive,
                "1",
            ),
            Detail(
                "rack_penalty",
                "GPU-time per token of one sequence on an expert-parallel domain of G_rack GPUs, over the floor",
                rack_penalty,
                "1",
            ),
            Detail(
                "touched_at_32", "share of routed experts a batch of 32 tokens touches", touched_fraction(32), "percent"
            ),
        ),
    )


UNBATCHED_PENALTY = Claim(
    id="batch.unbatched-penalty",
    title="Without batching, cost per token is ~1,000× worse",
    statement="Serving one token per step costs as many times more per token as the balanced batch is large.",
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="derived",
    evidence="reported",
    page=PAGE,
    unit="1",
    stated=Stated(1000, "1", "without batching, cost per token is about 1,000× worse"),
    own=LectureArithmetic(
        "its own model, in which batch one pays a whole weight fetch for one token: the penalty is its balanced "
        "batch, 300 × 8",
        R_lec * s_lec,
        ((R_lec, 300), (s_lec, 8)),
    ),
    build=derive_unbatched_penalty,
    inputs=(
        *OPTIMAL_BATCH.inputs[:7],
        Input(n_L, "layers", "deepseek-v3", "layers"),
        Input(n_D, "dense_layers", "deepseek-v3", "leading dense layers"),
        Input(h, "hidden_size", "deepseek-v3", "residual stream width"),
        Input(d_e, "moe_intermediate_size", "deepseek-v3", "hidden width of one expert"),
        Input(r_kv, "kv_lora_rank", "deepseek-v3", "MLA latent width cached per layer"),
        Input(r_rope, "qk_rope_head_dim", "deepseek-v3", "rotary key width cached per layer"),
        Input(L_ctx, "kv_length", "deepseek-v3-r1-decode-kv-length", "DeepSeek's average served context"),
        Input(b_w, "storage_per_parameter", "fp8", "bytes per FP8 weight, as DeepSeek serves them"),
        Input(b_KV, "storage_per_parameter", "bf16", "bytes per cached value: DeepSeek keeps V3's MLA cache in BF16"),
        Input(
            A_att, "attention_flop_per_context_token", "deepseek-v3", "attention FLOP per new token per cached token"
        ),
        Input(G_rack, "chips", "gb200-nvl72", "GPUs of a GB200 NVL72 rack, as one expert-parallel domain"),
    ),
    constants=(FLOP_PER_PARAM_TOKEN, UNBATCHED, GLU_MATRICES, TOKENS_PER_STEP, VALUE_AS_WEIGHT),
    rows=Rows(
        "accelerator",
        "gb200",
        "reference",
        "as for the balanced batch: DeepSeek-V3 on a GB200 NVL72 GPU, at the mean context DeepSeek reports serving",
    ),
    finding=(
        "At batch one a mixture of experts does not read all its weights: DeepSeek-V3's token reads its own "
        "{in:E_chosen} experts per layer plus the always-active part, {detail:read_at_one}, close to its active "
        "count. Judged where DeepSeek serves, at {in:L} of context, a token at batch one costs {value} what it "
        "costs on the floor a large batch reaches, because that floor is not the weights' arithmetic alone: every "
        "sequence still reads its own KV cache and does its own attention, which no batch shares. The lecture "
        "says {stated}. With no context at all the ratio would be {detail:kv_free_penalty}, about the chip's own "
        "ratio ({detail:hardware_ratio}), as for a dense model; the lecture's own model, where batch one pays the "
        "whole weight fetch, gives its balanced batch, {own}, and {detail:naive_penalty} on DeepSeek-V3's real "
        "shape. Thousands are reached only where a single sequence holds many chips: on an expert-parallel "
        "rack of {in:G_rack} GPUs each one reads its copy of the always-read weights for that one token, and "
        "the GPU-time per token is {detail:rack_penalty} the floor. Small batches touch experts fast: "
        "{detail:touched_at_32} of a layer's experts are read by a batch of just 32 tokens."
    ),
)


def derive_plateau() -> Derivation:
    """Past the balanced batch, cost per token is compute alone and stops falling."""
    per_token = sp.Max(B * c * N_act / F, N_tot * b / W) / B
    beyond = sp.simplify((B * c * N_act / F) / B)
    slope = sp.diff(beyond, B)
    return Derivation(
        steps=(
            Step("Time per token at batch B", sp.Eq(sp.Symbol("t"), per_token)),
            Step("Beyond the balanced batch the compute term is the larger", sp.Eq(sp.Symbol("t"), beyond)),
            Step(
                "so doubling the batch again saves nothing: the slope is",
                sp.Eq(sp.Derivative(sp.Symbol("t"), B), slope),
            ),
        ),
        result=slope,
    )


SLOW_MODE = Claim(
    id="batch.slow-mode-plateau",
    title="A 'slow mode' would save little",
    statement=(
        "Past the balanced batch, cost per token sits on a floor set by compute (and KV reads, which no batch "
        "shares), so running bigger batches more slowly buys almost nothing."
    ),
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="structural",
    page=PAGE,
    unit="s/token**2",
    stated=Stated(0, "s/token**2", "past the optimal batch, cost per token plateaus"),
    build=derive_plateau,
    constants=(FLOP_PER_PARAM_TOKEN,),
    finding=(
        "Past the balanced batch every step is compute-bound, so time per token is compute per token and no "
        "longer falls as the batch grows: its derivative with respect to the batch is {value}. A 'slow mode' "
        "that waits for bigger batches therefore saves nothing on the weights; what remains is compute and each "
        "sequence's own KV reads, which no batch shares (see the cost-per-token figure). It would save something "
        "only where a deployment runs below its balanced batch to keep latency low."
    ),
)

CLAIMS = (OPTIMAL_BATCH, SCALE_INDEPENDENT, UNBATCHED_PENALTY, SLOW_MODE)
