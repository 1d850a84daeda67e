"""What each kind of record may contain, and in what units.

A field is declared once, with the unit that fixes its dimension and, where a
vendor may quote it two ways, the convention it must name (dense vs 2:4-sparse
FLOP/s; per-direction vs bidirectional bandwidth). The loader normalises every
value to the book's convention: per chip, dense FLOP/s and per-direction bandwidth.
A figure printed for a package, board or rack names how many chips it covers
(``per_chips``) and is divided down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: How a quoted value maps onto the book's convention: name -> divisor.
SPARSITY: Final = {"dense": 1, "2:4-sparse": 2}
DIRECTION: Final = {"per-direction": 1, "bidirectional": 2}
CONVENTIONS: Final = {"sparsity": SPARSITY, "direction": DIRECTION}


@dataclass(frozen=True)
class FieldSpec:
    """The declaration of one field: its dimension (via a unit) and meaning."""

    unit: str
    description: str
    convention: str | None = None  # "sparsity" or "direction"
    allow_zero: bool = False
    count: bool = False  # a whole number of things (layers, experts, chips): a what-if must be one too


def _flops(dtype: str) -> FieldSpec:
    return FieldSpec("flop/s", f"peak dense {dtype} tensor throughput", "sparsity")


def _count(description: str, allow_zero: bool = False) -> FieldSpec:
    return FieldSpec("1", description, allow_zero=allow_zero, count=True)


def _price(description: str) -> FieldSpec:
    return FieldSpec("USD/token", description)


FIELDS: Final[dict[str, FieldSpec]] = {
    # accelerators
    "bf16_flops": _flops("BF16"),
    "fp8_flops": _flops("FP8"),
    "fp4_flops": _flops("FP4"),
    "int8_flops": _flops("INT8"),
    "hbm_capacity": FieldSpec("byte", "on-package high-bandwidth memory capacity"),
    "hbm_reported": FieldSpec("byte", "HBM capacity the device reports to software (nvidia-smi or rocm-smi total)"),
    "hbm_bandwidth": FieldSpec("byte/s", "peak HBM bandwidth"),
    "scaleup_bandwidth": FieldSpec("byte/s", "scale-up (NVLink, ICI, Infinity Fabric) bandwidth per chip", "direction"),
    "scaleout_bandwidth": FieldSpec("byte/s", "scale-out NIC bandwidth per chip in the reference system", "direction"),
    "scaleup_domain": _count("chips in the reference scale-up domain"),
    "gpu_dies": _count("GPU compute dies in one accelerator package (one record's chip), I/O dies not counted"),
    "power": FieldSpec("W", "maximum board or module power"),
    # number formats
    "storage_per_parameter": FieldSpec("byte/parameter", "bytes to store one weight"),
    "scale_bytes": FieldSpec("byte", "bytes of one block scale stored beside the values"),
    "scale_block": _count("values that share one block scale"),
    "rotary_storage_per_value": FieldSpec(
        "byte/parameter", "bytes per value of a latent cache's rotary key, kept in another format by this layout"
    ),
    # models
    "total_params": FieldSpec("parameter", "total parameters"),
    "active_params": FieldSpec("parameter", "parameters used per token"),
    "training_tokens": FieldSpec("token", "pre-training tokens"),
    "layers": _count("transformer layers"),
    "hidden_size": _count("residual stream width"),
    "attention_heads": _count("query heads per layer"),
    "kv_heads": _count("key/value heads per layer"),
    "head_dim": _count("dimension of one attention head"),
    "kv_lora_rank": _count("latent KV width (multi-head latent attention)"),
    "qk_rope_head_dim": _count("rotary key width per token (multi-head latent attention)"),
    "routed_experts": _count("routed experts per MoE layer"),
    "experts_per_token": _count("routed experts selected per token"),
    "shared_experts": _count("always-active shared experts per MoE layer", allow_zero=True),
    "dense_layers": _count("leading dense (non-MoE) layers", allow_zero=True),
    "moe_intermediate_size": _count("hidden width of one expert"),
    "intermediate_size": _count("hidden width of a dense MLP"),
    "vocab_size": _count("vocabulary size"),
    "index_topk": _count("tokens selected per query by sparse attention"),
    "index_heads": _count("query heads of the sparse-attention indexer (its cached key is one head)"),
    "index_head_dim": _count("width of the sparse-attention indexer's cached key per token per layer"),
    "sliding_window": FieldSpec("token", "tokens a sliding-window layer keeps in its KV cache"),
    "local_layers": _count("layers that attend only within the sliding window", allow_zero=True),
    "kv_layers": _count("layers that keep their own KV cache (the rest reuse another layer's)"),
    # price sheets
    "input_price": _price("price of an uncached input token"),
    "output_price": _price("price of an output token"),
    "long_context_threshold": FieldSpec("token", "prompt length above which long-context prices apply"),
    "input_price_long": _price("input price above the long-context threshold"),
    "output_price_long": _price("output price above the long-context threshold"),
    "cache_read_price": _price("price of an input token read from the prompt cache"),
    "cache_write_5m_price": _price("price of writing a token to a 5-minute cache"),
    "cache_write_1h_price": _price("price of writing a token to a 1-hour cache"),
    "batch_input_price": _price("input price through the batch (asynchronous) API"),
    "batch_output_price": _price("output price through the batch (asynchronous) API"),
    "priority_input_price": _price("input price in a priority (faster or guaranteed) tier"),
    "priority_output_price": _price("output price in a priority (faster or guaranteed) tier"),
    "fast_input_price": _price("input price in a fast (low-latency) mode"),
    "fast_output_price": _price("output price in a fast (low-latency) mode"),
    "cache_short_duration": FieldSpec("s", "lifetime of the shorter prompt-cache tier"),
    "cache_long_duration": FieldSpec("s", "lifetime of the longer prompt-cache tier"),
    # serving and lifetime assumptions
    "pretraining_tokens": FieldSpec("token", "pre-training corpus size"),
    # systems (aggregates are derived from the accelerator, never typed)
    "chips": _count("accelerator chips in the system or scale-up domain"),
    # interconnects and NICs
    "link_bandwidth": FieldSpec("byte/s", "bandwidth of one link", "direction"),
    "links_per_chip": _count("links per chip"),
    "bandwidth_per_chip": FieldSpec("byte/s", "total link bandwidth of one chip", "direction"),
    "port_bandwidth": FieldSpec("byte/s", "line rate of one NIC port", "direction"),
    "max_domain": _count("largest domain the fabric connects at full bandwidth"),
    # memory and storage tiers (one device: a stack, a DIMM, a drive)
    "capacity": FieldSpec("byte", "capacity of one device"),
    "bandwidth": FieldSpec("byte/s", "sustained bandwidth of one device"),
    # reported statistics
    "token_throughput": FieldSpec("token/s", "reported tokens processed per second"),
    "context_window": FieldSpec("token", "maximum context length"),
    "kv_length": FieldSpec("token", "average KV cache length (context) per decoded token, as a lab reports it"),
    "rental_price": FieldSpec("USD/h", "price of renting one accelerator for an hour"),
    "share": FieldSpec("percent", "a reported share of a total"),
    "memory_reserve": FieldSpec(
        "percent", "share of each chip's HBM a serving deployment keeps free of weights and KV"
    ),
    "decline": FieldSpec("percent", "a reported fall, as a positive percentage"),
    "speedup": FieldSpec("1", "a reported speed-up factor"),
    "dense_equivalent_params": FieldSpec("parameter", "size of the dense model of equal quality"),
    "parameter_multiple": FieldSpec("1", "total parameters of a routed model as a multiple of its active ones"),
    "decode_efficiency": FieldSpec("1", "decode throughput efficiency relative to prefill"),
    "rl_flop_per_param_token": FieldSpec("flop/(param*token)", "FLOP per active parameter per RL token, all phases"),
    "deployment_life": FieldSpec("s", "how long one model serves before it is replaced"),
    "models_per_family": _count("models a lab serves at once"),
    "pipeline_stages": _count("pipeline stages"),
    "step_time": FieldSpec("s", "duration of one serving step"),
    "layers_per_stage": _count("layers held by one pipeline stage"),
    "message_latency": FieldSpec("s", "end-to-end (host to host) latency of one small message"),
    "expert_parallel": _count("GPUs the routed experts of one layer are spread over"),
    "tensor_parallel": _count("GPUs one layer's matrices are split over (1: none)"),
    "data_parallel": _count("replicas of the attention (or dense) part"),
    "gpus": _count("GPUs in one deployment unit"),
    "loss_floor": FieldSpec("1", "irreducible loss E of a fitted law L = E + A/N^alpha + B/D^beta (nats/token)"),
    "param_coefficient": FieldSpec("1", "coefficient A of the parameter term"),
    "param_exponent": FieldSpec("1", "exponent alpha of the parameter term"),
    "data_coefficient": FieldSpec("1", "coefficient B of the data term"),
    "data_exponent": FieldSpec("1", "exponent beta of the data term"),
    # measurements on real hardware (measure/roofline.py)
    "hbm_read_bandwidth": FieldSpec("byte/s", "achieved HBM bandwidth of a read-only (reduction) kernel"),
    "hbm_copy_bandwidth": FieldSpec("byte/s", "achieved HBM bandwidth of a copy kernel, bytes read plus written"),
    "bf16_matmul_flops": FieldSpec("flop/s", "achieved dense BF16 matrix-multiply throughput"),
    "fp8_matmul_flops": FieldSpec("flop/s", "achieved dense FP8 matrix-multiply throughput"),
    "decode_ridge_batch": FieldSpec("token", "batch at which a decode-shaped matmul turns compute-bound"),
    # published decode measurements (benchmarks)
    "batch": _count("sequences decoded together (batch size or concurrency)"),
    "input_tokens": FieldSpec("token", "prompt tokens per request"),
    "output_tokens": FieldSpec("token", "generated tokens per request"),
    "context": FieldSpec("token", "average context per sequence while it decodes, as the source reports it"),
    "time_per_output_token": FieldSpec("s", "decode time per output token of one sequence (inter-token latency)"),
    "request_latency": FieldSpec("s", "time to serve one whole request, prefill included"),
    "user_speed": FieldSpec("token/s", "output tokens per second one sequence sees"),
}


#: How a rental price (statistic field ``rental_price``, USD per accelerator-hour) was sold,
#: stated in the record's ``meta.pricing``:
#:   on-demand    list price, no commitment, not interruptible (hyperscaler or neocloud);
#:   reserved     committed term (capacity blocks, 1-12+ month or multi-year contracts);
#:   spot         interruptible or preemptible capacity at the provider's own spot rate;
#:   marketplace  prices set by independent hosts on an open market (Vast.ai), as sampled;
#:   index        a published market index or survey aggregating many providers' prices.
PRICING_MODELS: Final = ("on-demand", "reserved", "spot", "marketplace", "index")


@dataclass(frozen=True)
class KindSpec:
    """Which fields a kind of record requires and allows."""

    description: str
    required: frozenset[str]
    allowed: frozenset[str]
    allows_range: bool = False


def _kind(description: str, required: set[str], optional: set[str], allows_range: bool = False) -> KindSpec:
    return KindSpec(description, frozenset(required), frozenset(required | optional), allows_range)


KINDS: Final[dict[str, KindSpec]] = {
    "accelerator": _kind(
        "one accelerator chip (one GPU, one TPU chip); per-package figures are divided out",
        {"hbm_capacity", "hbm_bandwidth"},
        {
            "bf16_flops",
            "fp8_flops",
            "fp4_flops",
            "int8_flops",
            "hbm_reported",
            "scaleup_bandwidth",
            "scaleout_bandwidth",
            "scaleup_domain",
            "power",
            "gpu_dies",
        },
    ),
    "datatype": _kind(
        "a number format or storage layout (meta.arithmetic names the chip field of its FLOP/s, if it has one)",
        {"storage_per_parameter"},
        {"scale_bytes", "scale_block", "rotary_storage_per_value"},
    ),
    "model": _kind(
        "a published model, from its config file and report",
        {"total_params"},
        {
            "active_params",
            "training_tokens",
            "layers",
            "hidden_size",
            "attention_heads",
            "kv_heads",
            "head_dim",
            "kv_lora_rank",
            "qk_rope_head_dim",
            "routed_experts",
            "experts_per_token",
            "shared_experts",
            "dense_layers",
            "moe_intermediate_size",
            "intermediate_size",
            "vocab_size",
            "index_topk",
            "index_heads",
            "index_head_dim",
            "sliding_window",
            "local_layers",
            "kv_layers",
            "dense_equivalent_params",
        },
    ),
    "price-sheet": _kind(
        "one model's published API prices on one date",
        {"input_price", "output_price"},
        {
            "long_context_threshold",
            "input_price_long",
            "output_price_long",
            "cache_read_price",
            "cache_write_5m_price",
            "cache_write_1h_price",
            "batch_input_price",
            "batch_output_price",
            "priority_input_price",
            "priority_output_price",
            "fast_input_price",
            "fast_output_price",
            "cache_short_duration",
            "cache_long_duration",
        },
    ),
    "system": _kind(
        "a server, rack or pod built from one accelerator (meta.accelerator names it)",
        {"chips"},
        {"power"},
    ),
    "interconnect": _kind(
        "a scale-up fabric (NVLink, ICI, Infinity Fabric) or a scale-out NIC generation",
        set(),
        {"link_bandwidth", "links_per_chip", "bandwidth_per_chip", "port_bandwidth", "max_domain", "message_latency"},
    ),
    "memory-tier": _kind(
        "one memory or storage device class (HBM stack, DIMM, SSD, HDD)",
        {"capacity", "bandwidth"},
        set(),
    ),
    "statistic": _kind(
        "a figure reported by a vendor or lab (meta.date says when); a rental_price also names"
        " meta.accelerator and meta.pricing (one of PRICING_MODELS)",
        set(),
        {
            "kv_length",
            "token_throughput",
            "context_window",
            "rental_price",
            "share",
            "memory_reserve",
            "decline",
            "speedup",
            "routed_experts",
            "active_params",
            "dense_equivalent_params",
            "gpus",
        },
    ),
    "deployment": _kind(
        "how a lab reports serving one model (meta.model, meta.phase: prefill or decode)",
        {"gpus"},
        {"expert_parallel", "tensor_parallel", "data_parallel", "pipeline_stages", "scaleup_domain"},
    ),
    "scaling-law": _kind(
        "a published fit of loss against parameters N and training tokens D",
        {"loss_floor", "param_coefficient", "param_exponent", "data_coefficient", "data_exponent"},
        set(),
    ),
    "measurement": _kind(
        "figures measured on one device by measure/roofline.py (meta.accelerator names the datasheet record)",
        {"hbm_read_bandwidth"},
        {"hbm_copy_bandwidth", "bf16_matmul_flops", "fp8_matmul_flops", "decode_ridge_batch"},
    ),
    "benchmark": _kind(
        "a published decode measurement of one model on named hardware (meta.model, meta.hardware, meta.weights,"
        " meta.kv, meta.math name records; meta.layout and meta.overlap how it ran)",
        {"gpus"},
        {
            "batch",
            "input_tokens",
            "output_tokens",
            "context",
            "time_per_output_token",
            "request_latency",
            "token_throughput",
            "user_speed",
        },
        allows_range=True,
    ),
    "assumption": _kind(
        "a figure the lecture assumes rather than derives; its source is the lecture",
        set(),
        set(FIELDS),
        allows_range=True,
    ),
}
