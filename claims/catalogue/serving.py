"""The 20 ms train: how long one pass over all of HBM takes (lecture section 2)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Detail, Input, Rows, Step
from ..policy import Stated
from .batch import FLOP_PER_PARAM_TOKEN
from .common import one_step, positive
from .kv import TOKENS_PER_STEP

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
    stated=Stated(20, "ms", "about", "≈ 20 ms across GPU generations (Rubin: 288 GB at ~20 TB/s ≈ 15 ms)"),
    build=derive_train_interval,
    inputs=(
        Input(M, "hbm_capacity", None, "HBM capacity"),
        Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
    ),
    rows=Rows(
        "accelerator", "h100-sxm", "most", "the lecture's examples are NVIDIA GPUs; H100 is the common reference"
    ),
    finding=(
        "On the reference hardware one pass over HBM takes {value}; the rows below show the spread "
        "across vendors and generations."
    ),
)


W_lecture = sp.Symbol("W_lecture", positive=True)
T_wait, T_step, B_star, R_rep, G_tok = sp.symbols("T_wait T_step B^* R_replica G", positive=True)
F, b, N_tot, N_act = sp.symbols("F b N_total N_active", positive=True)
c = FLOP_PER_PARAM_TOKEN.symbol

RUBIN_INTERVAL = Claim(
    id="serving.rubin-interval",
    title="Rubin's train interval ≈ 15 ms",
    statement="Rubin's announced HBM capacity over its bandwidth gives a step of about 15 ms.",
    section="2. The 20 ms train",
    kind="derived",
    page=PAGE,
    unit="ms",
    stated=Stated(15, "ms", "about", "Rubin: 288 GB at ~20 TB/s ≈ 15 ms"),
    build=one_step("T_Rubin", M / W, "Rubin's HBM read once"),
    inputs=(
        Input(M, "hbm_capacity", "rubin", "Rubin HBM capacity"),
        Input(W, "hbm_bandwidth", "rubin", "Rubin HBM bandwidth"),
    ),
    finding="With NVIDIA's announced {in:W} (the lecture used ~20 TB/s) the interval is {value}.",
)

WORST_WAIT = Claim(
    id="serving.worst-case-wait",
    title="Worst-case queueing ≈ 40 ms",
    statement="A request that just misses a departure waits one interval, then rides one: two intervals at worst.",
    section="2. The 20 ms train",
    kind="derived",
    page=PAGE,
    unit="ms",
    stated=Stated(40, "ms", "about", "worst-case queueing latency ≈ 40 ms"),
    build=one_step("T_wait", 2 * M / W, "Wait for the next train, then ride it"),
    inputs=TRAIN_INTERVAL.inputs,
    rows=Rows("accelerator", "h100-sxm", "most", "as for the train interval"),
    finding="On the reference GPU the worst case is {value}.",
)


def derive_replica_throughput() -> Derivation:
    step = M / W
    batch = F * b * N_tot / (c * W * N_act)
    rate = sp.simplify(batch / step)
    return Derivation(
        steps=(
            Step("One train per HBM read", sp.Eq(T_step, step)),
            Step("Carrying the balanced batch", sp.Eq(B_star, batch)),
            Step("Tokens per second for one replica", sp.Eq(R_rep, rate)),
        ),
        result=rate,
    )


REPLICA_INPUTS = (
    Input(M, "hbm_capacity", None, "HBM capacity"),
    Input(W, "hbm_bandwidth", None, "HBM bandwidth"),
    Input(F, "bf16_flops", None, "dense BF16 FLOP/s"),
    Input(b, "storage_per_parameter", "bf16", "bytes per BF16 weight"),
    Input(N_tot, "total_params", "deepseek-v3", "total parameters"),
    Input(N_act, "active_params", "deepseek-v3", "active parameters"),
)

REPLICA_THROUGHPUT = Claim(
    id="serving.replica-throughput",
    title="One replica serves ~128,000 tokens/s",
    statement="A replica that carries the balanced batch on every train serves about 128,000 tokens per second.",
    section="2. The 20 ms train",
    kind="derived",
    page=PAGE,
    unit="token/s",
    stated=Stated(128000, "token/s", "about", "≈ 2,000 tokens × ~64 steps per second ≈ 128,000 tokens/s"),
    build=derive_replica_throughput,
    inputs=REPLICA_INPUTS,
    constants=(FLOP_PER_PARAM_TOKEN,),
    rows=Rows("accelerator", "h100-sxm", "reference", "DeepSeek-V3 on Hopper, as for the balanced batch"),
    finding="DeepSeek-V3's balanced batch on the reference GPU, one train per HBM read, gives {value}.",
)


def derive_gemini_share() -> Derivation:
    rate = sp.simplify((F * b * N_tot / (c * W * N_act)) / (M / W))
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
    page=PAGE,
    unit="1",
    stated=Stated(0.001, "1", "about", "about 1/1000 of Gemini's reported 'hundreds of millions of tokens per second'"),
    build=derive_gemini_share,
    inputs=(
        *REPLICA_INPUTS,
        Input(G_tok, "token_throughput", "google-tokens-2025-10", "Google's reported tokens per month"),
    ),
    constants=(FLOP_PER_PARAM_TOKEN,),
    rows=Rows("accelerator", "h100-sxm", "reference", "DeepSeek-V3 on Hopper, as for the balanced batch"),
    finding="Against Google's {in:G} (the last figure before the lecture) one replica is {value} of the traffic.",
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
    page=PAGE,
    unit="1",
    noun="passes over HBM",
    stated=Stated(
        1,
        "1",
        "at-least",
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
    rows=Rows("accelerator", "h100-sxm", "most", "as for the train interval"),
    finding=(
        "In {in:T_s} the reference GPU makes {value}. On chips whose HBM takes longer than that to read once "
        "(see the rows) the lecture's step is less than one pass, so its step length allows a second pass on "
        "some chips only. The verdict is on that step length; the lecture's point, that a second pass would "
        "find nothing new, is what the derivation shows: per byte read, a decode step writes less than n/L, "
        "which is {detail:write_bound} at a context of {in:L_ref} and larger at shorter contexts, and it "
        "writes no weight."
    ),
)

CLAIMS = (TRAIN_INTERVAL, RUBIN_INTERVAL, WORST_WAIT, SECOND_PASS, REPLICA_THROUGHPUT, GEMINI_SHARE)
