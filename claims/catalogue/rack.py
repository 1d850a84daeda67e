"""The rack: domain sizes, memory and bandwidth in aggregate (lecture section 3)."""

from __future__ import annotations

from collections import deque

import sympy as sp

from ..engine import Claim, Derivation, Detail, Input, Step
from ..policy import Stated
from .common import one_step, positive

PAGE = "rack"

n, M, W, N, b, G = positive("n M W N b G")
n_h, M_h, W_h, n_b, M_b, W_b = positive("n_Hopper M_H100 W_H100 n_Blackwell M_GB200 W_GB200")

GPUS_PER_RACK = Claim(
    id="rack.gpus-per-rack",
    title="A rack holds ~64 GPUs",
    statement="A rack, limited by power, weight, cooling and cables, typically holds about 64 GPUs.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(64, "1", "about", "a rack is typically ~64 GPUs"),
    build=one_step("n", n, "GPUs in NVIDIA's rack-scale system"),
    inputs=(Input(n, "chips", "gb200-nvl72", "GPUs in a GB200 NVL72 rack"),),
    noun="GPUs",
    finding="NVIDIA's rack-scale system holds {value} GPUs.",
)


def nvswitch_diameter(gpus: int, switches: int) -> int:
    """Largest GPU-to-GPU hop count when every GPU links to every switch (breadth-first search)."""
    neighbours: dict[str, list[str]] = {f"g{i}": [f"s{j}" for j in range(switches)] for i in range(gpus)}
    for j in range(switches):
        neighbours[f"s{j}"] = [f"g{i}" for i in range(gpus)]
    worst = 0
    for start in (f"g{i}" for i in range(gpus)):
        hops = {start: 0}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt in neighbours[node]:
                if nxt not in hops:
                    hops[nxt] = hops[node] + 1
                    queue.append(nxt)
        worst = max(worst, *(h for node, h in hops.items() if node.startswith("g")))
    return worst


SEARCHED_GPUS = range(2, 17)  # every single-tier fabric from 2 to 16 GPUs ...
SEARCHED_SWITCHES = range(1, 9)  # ... behind 1 to 8 switches


def derive_hops() -> Derivation:
    """Each GPU links to every switch, so a path GPU-switch-GPU always exists; search confirms it."""
    diameters = {nvswitch_diameter(g, s) for g in SEARCHED_GPUS for s in SEARCHED_SWITCHES}
    if len(diameters) != 1:
        raise AssertionError(f"diameter depends on fabric size: {sorted(diameters)}")
    (diameter,) = diameters
    h = sp.Symbol("h")
    return Derivation(
        steps=(
            Step("GPU to switch, switch to GPU: every pair of GPUs shares every switch, so", sp.Eq(h, 2)),
            Step("Breadth-first search over every fabric of 2–16 GPUs and 1–8 switches finds", sp.Eq(h, diameter)),
        ),
        result=sp.Integer(diameter),
        checks=(("fabrics searched", float(len(SEARCHED_GPUS) * len(SEARCHED_SWITCHES))),),
    )


NVSWITCH_HOPS = Claim(
    id="rack.nvswitch-hops",
    title="Any GPU reaches any other in two hops",
    statement="Inside a rack the NVSwitch fabric connects every GPU to every other through one switch: two hops.",
    section="3. Mixture of experts and the rack",
    kind="structural",
    page=PAGE,
    unit="1",
    stated=Stated(2, "1", "exact", "NVSwitch links any GPU to any other in 2 hops"),
    build=derive_hops,
    noun="hops",
    finding="In a single-tier switch fabric where every GPU links to every switch, the worst GPU-to-GPU path is {value} hops.",
)

DOMAIN_GROWTH = Claim(
    id="rack.rubin-domain",
    title="Rubin's scale-up domain is '500 and something' GPUs",
    statement="The scale-up domain went from 8 GPUs (Hopper) to 72 (Blackwell) to about 500 (Rubin).",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(576, "1", "about", "8 (Hopper) → 72 (Blackwell) → '500 and something' (Rubin)"),
    build=one_step("n", n, "GPU packages in NVIDIA's Rubin rack"),
    inputs=(Input(n, "chips", "vera-rubin-nvl144", "GPU packages in Vera Rubin NVL144"),),
    noun="GPU packages",
    finding="Vera Rubin's rack holds {value}; the larger count in the name 'NVL576' is of dies, in the later Rubin Ultra.",
)

HOPPER_MEMORY = Claim(
    id="rack.hopper-memory",
    title="Eight Hopper GPUs held 640 GB",
    statement="An 8-GPU Hopper server held 640 GB of HBM.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="GB",
    stated=Stated(640, "GB", "exact", "8 Hopper GPUs held 640 GB (2022)"),
    build=one_step("M_total", n_h * M_h, "Chips times HBM per chip"),
    inputs=(Input(n_h, "chips", "hgx-h100", "GPUs in HGX H100"), Input(M_h, "hbm_capacity", "h100-sxm", "H100 HBM")),
    finding="Eight H100s hold {value}.",
)

BLACKWELL_MEMORY = Claim(
    id="rack.blackwell-memory",
    title="A Blackwell domain holds 10–20 TB",
    statement="A Blackwell scale-up domain holds between ten and twenty terabytes of HBM.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="TB",
    stated=Stated(15, "TB", "range", "a Blackwell scale-up domain holds 10–20 TB", low=10, high=20),
    build=one_step("M_total", n_b * M_b, "Chips times HBM per chip"),
    inputs=(
        Input(n_b, "chips", "gb200-nvl72", "GPUs in GB200 NVL72"),
        Input(M_b, "hbm_capacity", "gb200", "GB200 HBM per GPU"),
    ),
    finding="A GB200 NVL72 holds {value}.",
)

TRILLION_BYTES = Claim(
    id="rack.trillion-param-bytes",
    title="A 1T-parameter model needs ~1 TB",
    statement="A trillion-parameter model needs about a terabyte for its weights.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="TB",
    stated=Stated(1, "TB", "about", "a 1T-parameter model needs ~1 TB"),
    build=one_step("M_w", N * b, "Parameters times bytes per weight (FP8)"),
    inputs=(
        Input(N, "total_params", "kimi-k2", "Kimi K2 parameters"),
        Input(b, "storage_per_parameter", "fp8", "bytes per FP8 weight"),
    ),
    finding="Kimi K2's {in:N} in FP8 take {value}.",
)

N_5T = sp.Symbol("N_example", positive=True)

TOTAL_PARAMS_CEILING = Claim(
    id="rack.total-params-ceiling",
    title="A Blackwell domain has room for a ~5T-parameter model plus KV cache",
    statement=(
        "Total parameters are bounded by the memory of the scale-up domain that serves them: a Blackwell "
        "domain could hold the weights of a ~5T-parameter model and still keep room for KV cache."
    ),
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="param",
    stated=Stated(5e12, "param", "at-least", "enough for a ~5T-parameter model plus KV cache"),
    build=one_step(
        "N_max",
        n_b * M_b / b,
        "Domain HBM over bytes per weight (FP8): the most parameters that fit",
        details=(
            Detail(
                "kv_share",
                "share of the domain's HBM left for KV cache by the lecture's model",
                1 - N_5T * b / (n_b * M_b),
                "percent",
            ),
        ),
    ),
    inputs=(
        *BLACKWELL_MEMORY.inputs,
        Input(b, "storage_per_parameter", "fp8", "bytes per FP8 weight"),
        Input(N_5T, "total_params", "lecture-examples", "the lecture's example model"),
    ),
    finding=(
        "Filled with FP8 weights and nothing else, a GB200 NVL72 would hold {value}: the ceiling on a model's "
        "total parameters. The lecture's model of {in:N_example} in FP8 leaves {detail:kv_share} of the "
        "domain's HBM for KV cache."
    ),
)

RACK_VS_WEIGHTS = Claim(
    id="memory.rack-vs-weights",
    title="A rack holds far more HBM than a 1T model's weights",
    statement="A Blackwell rack has ten to twenty times the HBM a trillion-parameter model's weights need; the rest holds KV cache.",
    section="5. The memory wall",
    kind="derived",
    page="memory-wall",
    unit="1",
    stated=Stated(15, "1", "range", "racks have 10–20 TB against ~1 TB of weights", low=10, high=20),
    build=one_step("x", n_b * M_b / (N * b), "Rack HBM over the weights of a 1T model in FP8"),
    inputs=(*BLACKWELL_MEMORY.inputs, *TRILLION_BYTES.inputs),
    finding="A GB200 NVL72 holds {value} the weights of Kimi K2 in FP8.",
)

PER_GPU_GROWTH = Claim(
    id="rack.per-gpu-bandwidth-growth",
    title="Per-GPU bandwidth grows 1.5–2× a generation",
    statement="From one GPU generation to the next, HBM bandwidth per GPU grows by only 1.5 to 2 times.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1.75, "1", "range", "per-GPU bandwidth grows only 1.5–2× per generation", low=1.5, high=2),
    build=one_step("g", W_b / W_h, "HBM bandwidth, Blackwell over Hopper"),
    inputs=(
        Input(W_h, "hbm_bandwidth", "h100-sxm", "H100 HBM bandwidth"),
        Input(W_b, "hbm_bandwidth", "gb200", "GB200 HBM bandwidth"),
    ),
    finding="H100 to GB200 is {value}.",
)

AGGREGATE_GROWTH = Claim(
    id="rack.aggregate-bandwidth-growth",
    title="Aggregate bandwidth grew ~8× from Hopper to Blackwell",
    statement="Because the scale-up domain grew ninefold, the HBM bandwidth a model's weights can be read with grew about eightfold.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(8, "1", "about", "aggregate bandwidth grew ~8× from Hopper to Blackwell"),
    build=one_step("g", (n_b * W_b) / (n_h * W_h), "Domain HBM bandwidth, GB200 NVL72 over HGX H100"),
    inputs=(
        Input(n_h, "chips", "hgx-h100", "GPUs in HGX H100"),
        Input(W_h, "hbm_bandwidth", "h100-sxm", "H100 HBM bandwidth"),
        Input(n_b, "chips", "gb200-nvl72", "GPUs in GB200 NVL72"),
        Input(W_b, "hbm_bandwidth", "gb200", "GB200 HBM bandwidth"),
    ),
    finding="Domain-wide HBM bandwidth grew {value}: the domain grew and each GPU got faster too.",
)

CLAIMS = (
    GPUS_PER_RACK,
    NVSWITCH_HOPS,
    DOMAIN_GROWTH,
    HOPPER_MEMORY,
    BLACKWELL_MEMORY,
    TRILLION_BYTES,
    TOTAL_PARAMS_CEILING,
    PER_GPU_GROWTH,
    AGGREGATE_GROWTH,
)
MEMORY_WALL_CLAIMS = (RACK_VS_WEIGHTS,)
