"""The rack: domain sizes, memory and bandwidth in aggregate (lecture section 3)."""

from __future__ import annotations

from collections import deque

import sympy as sp

from ..engine import Claim, Derivation, Detail, Input, LectureArithmetic, Step
from ..policy import Stated
from .common import one_step, positive

PAGE = "rack"

n, M, W, N, b, G = positive("n M W N b G")
d_dies, n_vr, d_vr = positive("d_dies n_VR d_VR")
n_h, M_h, W_h, n_b, M_b, W_b = positive("n_Hopper M_H100 W_H100 n_Blackwell M_GB200 W_GB200")
# The lecture's own quoted figures, for its own arithmetic (each in the unit of the figure it checks).
n_lec, m_lec = positive("n_lecture m_lecture")  # 8 Hopper GPUs, 80 GB each
N_lec, b_lec = positive("N_lecture b_lecture")  # 1T parameters, 1 byte each
M_lec = sp.Symbol("M_lecture", positive=True)  # the low end of its 10–20 TB, in bytes
n_h_lec, n_b_lec, g_lec = positive("n_Hopper_lecture n_Blackwell_lecture g_lecture")  # 8 and 72 GPUs; 1.5× per GPU

GPUS_PER_RACK = Claim(
    id="rack.gpus-per-rack",
    title="A rack holds ~64 GPUs",
    statement="A rack, limited by power, weight, cooling and cables, typically holds about 64 GPUs.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(64, "1", "a rack is typically ~64 GPUs"),
    build=one_step("n", n, "GPUs in NVIDIA's rack-scale system"),
    inputs=(Input(n, "chips", "gb200-nvl72", "GPUs in a GB200 NVL72 rack"),),
    noun="GPUs",
    finding=(
        "NVIDIA's rack-scale Blackwell system, GB200 NVL72, puts {value} in one liquid-cooled rack, inside the "
        "band around the lecture's {stated}, a round figure the lecture also uses when it spreads DeepSeek's "
        "experts over a rack. What sets the count is the rack's power and cooling budget and how far NVLink's "
        "copper can reach, so it depends on the rack: air-cooled racks of HGX servers hold far fewer GPUs, and the "
        "Kyber rack NVIDIA has announced for Rubin Ultra holds far more. The verdict is about today's liquid-cooled "
        "NVLink racks, the ones the lecture's argument needs, not about data-centre racks in general."
    ),
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
    stated=Stated(2, "1", "NVSwitch links any GPU to any other in 2 hops"),
    build=derive_hops,
    noun="hops",
    finding=(
        "In an NVLink rack every GPU has a link to every NVSwitch chip, so any two GPUs share a switch and the "
        "longest GPU-to-GPU path is {value}: up to a switch and down again, whichever pair is chosen. That is a "
        "property of single-tier, fully connected wiring, and the search over small fabrics shows it does not "
        "depend on how many GPUs or switches there are; GB200 NVL72 is wired this way. Counted as switches crossed "
        "rather than links the same path is one hop, and a domain too large for one tier of switches, like the "
        "NVLink Switch System NVIDIA once offered for Hopper, has longer worst-case paths."
    ),
)

DOMAIN_GROWTH = Claim(
    id="rack.rubin-domain",
    title="Rubin's scale-up domain is '500 and something' GPUs",
    statement="The scale-up domain went from 8 GPUs (Hopper) to 72 (Blackwell) to about 500 (Rubin).",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(
        550,
        "1",
        "8 (Hopper) → 72 (Blackwell) → '500 and something' (Rubin)",
        low=500,
        high=599,
        why="'500 and something' names the hundreds digit only, so any count from 500 to 599 is what was said",
    ),
    build=one_step(
        "n_dies",
        n * d_dies,
        "GPU dies in NVIDIA's largest announced Rubin domain: packages times dies per package",
        details=(
            Detail("packages", "GPU packages in Rubin Ultra NVL576", n, "1", noun="packages"),
            Detail(
                "first_rubin_dies",
                "GPU dies in the first Rubin rack, Vera Rubin NVL72",
                n_vr * d_vr,
                "1",
                noun="GPU dies",
            ),
            Detail("first_rubin_packages", "GPU packages in the first Rubin rack", n_vr, "1", noun="packages"),
            Detail(
                "package_growth",
                "Rubin Ultra NVL576's packages over the first Rubin rack's (as many as GB200 NVL72's)",
                n / n_vr,
                "1",
            ),
            Detail(
                "die_growth",
                "Rubin Ultra NVL576's dies over the first Rubin rack's (as many as GB200 NVL72's)",
                n * d_dies / (n_vr * d_vr),
                "1",
            ),
        ),
    ),
    inputs=(
        Input(n, "chips", "rubin-ultra-nvl576", "GPU packages in Rubin Ultra NVL576"),
        Input(d_dies, "gpu_dies", "rubin-ultra", "GPU dies per Rubin Ultra package"),
        Input(n_vr, "chips", "vera-rubin-nvl144", "GPU packages in Vera Rubin NVL72 (the roadmap's NVL144)"),
        Input(d_vr, "gpu_dies", "rubin", "GPU dies per Rubin package"),
    ),
    noun="GPU dies",
    finding=(
        "NVIDIA's largest announced Rubin domain, the Rubin Ultra NVL576 (Kyber) rack, joins {detail:packages} of "
        "{in:d_dies} dies each, {value}, and that die count is the lecture's '500 and something', inside its range. Blackwell's "
        "figure counts packages, though, and counted the same way Rubin Ultra's domain is {detail:packages}, "
        "{detail:package_growth} the first Rubin rack, Vera Rubin NVL72, whose {detail:first_rubin_packages} are as "
        "many as GB200 NVL72's: the first Rubin generation does not grow the domain at all. The lecture's 'at least "
        "a genuine 4×' therefore holds only counting dies on both sides, where the step is {detail:die_growth} over "
        "the {detail:first_rubin_dies} of the first Rubin rack (Blackwell's dual-die packages give GB200 NVL72 as "
        "many); counting packages the genuine step is only {detail:package_growth}. The verdict rests on a roadmap rack "
        "not yet built, and reports after the lecture that Rubin Ultra's package will carry fewer dies would take "
        "the die count out of the range."
    ),
)

HOPPER_MEMORY = Claim(
    id="rack.hopper-memory",
    title="Eight Hopper GPUs held 640 GB",
    statement="An 8-GPU Hopper server held 640 GB of HBM.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="GB",
    stated=Stated(640, "GB", "8 Hopper GPUs held 640 GB (2022)"),
    build=one_step("M_total", n_h * M_h, "Chips times HBM per chip"),
    inputs=(Input(n_h, "chips", "hgx-h100", "GPUs in HGX H100"), Input(M_h, "hbm_capacity", "h100-sxm", "H100 HBM")),
    evidence="lecture-arithmetic",
    own=LectureArithmetic("8 GPUs × 80 GB", n_lec * m_lec, ((n_lec, 8), (m_lec, 80))),
    finding=(
        "An HGX H100 board carries {in:n_Hopper} H100 SXM GPUs of {in:M_H100} each, {value}, the total NVIDIA "
        "prints for a DGX H100: the lecture's figure is exact for Hopper as launched, and the check is its own "
        "multiplication of two datasheet figures. It describes the chips of the day, not a design limit: the H200 "
        "refresh put more HBM on the same board, so a Hopper server bought later sits above the band, where the "
        "statement would hold only roughly."
    ),
)

BLACKWELL_MEMORY = Claim(
    id="rack.blackwell-memory",
    title="A Blackwell domain holds 10–20 TB",
    statement="A Blackwell scale-up domain holds between ten and twenty terabytes of HBM.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="TB",
    stated=Stated(15, "TB", "a Blackwell scale-up domain holds 10–20 TB", low=10, high=20),
    build=one_step("M_total", n_b * M_b, "Chips times HBM per chip"),
    inputs=(
        Input(n_b, "chips", "gb200-nvl72", "GPUs in GB200 NVL72"),
        Input(M_b, "hbm_capacity", "gb200", "GB200 HBM per GPU"),
    ),
    finding=(
        "GB200 NVL72's {in:n_Blackwell} GPUs carry {in:M_GB200} of HBM3e each, {value} in all, inside the lecture's "
        "{stated}. The figure counts HBM only: NVIDIA's larger 'fast memory' totals add the Grace CPUs' LPDDR5X, "
        "which is far slower, and only that sum comes near the 'many tens of TB' the lecture says "
        "elsewhere. Blackwell Ultra (GB300 NVL72) carries more HBM per GPU and lands at the top of the band, and a "
        "rack of Rubin's larger packages would pass it."
    ),
)

TRILLION_BYTES = Claim(
    id="rack.trillion-param-bytes",
    title="A 1T-parameter model needs ~1 TB",
    statement="A trillion-parameter model needs about a terabyte for its weights.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="TB",
    stated=Stated(1, "TB", "a 1T-parameter model needs ~1 TB"),
    build=one_step("M_w", N * b, "Parameters times bytes per weight (FP8)"),
    inputs=(
        Input(N, "total_params", "kimi-k2", "Kimi K2 parameters"),
        Input(b, "storage_per_parameter", "fp8", "bytes per FP8 weight"),
    ),
    evidence="lecture-arithmetic",
    own=LectureArithmetic("1T parameters × 1 byte each", N_lec * b_lec, ((N_lec, 1), (b_lec, 1))),
    finding=(
        "Weights take their count times the bytes each is stored in, so Kimi K2's {in:N} at FP8's {in:b} take "
        "{value}: once the format is fixed the lecture's figure is exact arithmetic. The format decides it: served "
        "in BF16 the same model needs twice as much and in FP4 half as much (plus the small per-block scales such "
        "formats carry), and either way it lands on the edge of the rough band."
    ),
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
    stated=Stated(5e12, "param", "enough for a ~5T-parameter model plus KV cache"),
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
    own=LectureArithmetic(
        "the low end of its 10–20 TB at its 1 byte per parameter", M_lec / b_lec, ((M_lec, 10e12), (b_lec, 1))
    ),
    finding=(
        "The most parameters a domain can serve from its own HBM is its capacity over the bytes per weight: "
        "GB200 NVL72 filled with FP8 weights and nothing else holds {value}, well past the {in:N_example} the "
        "lecture says fit, and a model of that size in FP8 would leave {detail:kv_share} of the HBM for KV cache, activations and buffers. "
        "The margin rests on FP8 and on one copy of each weight: BF16 halves the ceiling, which still clears the "
        "floor but leaves far less for KV cache, and serving systems that replicate attention weights on every GPU "
        "or keep spare copies of busy experts, as DeepSeek's does, need more than the bare weight bytes. It is a "
        "ceiling for serving from one domain, not for a model: pipelining or expert parallelism across racks lifts "
        "it at the price of scale-out traffic."
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
    stated=Stated(15, "1", "racks have 10–20 TB against ~1 TB of weights", low=10, high=20),
    build=one_step("x", n_b * M_b / (N * b), "Rack HBM over the weights of a 1T model in FP8"),
    inputs=(*BLACKWELL_MEMORY.inputs, *TRILLION_BYTES.inputs),
    finding=(
        "GB200 NVL72's HBM is {value} the FP8 weights of Kimi K2, a trillion-parameter model, inside the lecture's "
        "range of {stated} times: after one copy of the weights most of the capacity is left for KV cache, which is why "
        "the lecture says bandwidth, not capacity, binds. The ratio assumes one copy of each weight stored in "
        "FP8; BF16 weights would halve it, to just inside the rough band, while Blackwell Ultra's larger HBM lifts "
        "it to the top of the band. Serving layouts that replicate some weights on every GPU lower it somewhat."
    ),
)

PER_GPU_GROWTH = Claim(
    id="rack.per-gpu-bandwidth-growth",
    title="Per-GPU bandwidth grows 1.5–2× a generation",
    statement="From one GPU generation to the next, HBM bandwidth per GPU grows by only 1.5 to 2 times.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1.75, "1", "per-GPU bandwidth grows only 1.5–2× per generation", low=1.5, high=2),
    build=one_step("g", W_b / W_h, "HBM bandwidth, Blackwell over Hopper"),
    inputs=(
        Input(W_h, "hbm_bandwidth", "h100-sxm", "H100 HBM bandwidth"),
        Input(W_b, "hbm_bandwidth", "gb200", "GB200 HBM bandwidth"),
    ),
    finding=(
        "From H100 SXM to GB200, HBM bandwidth per GPU rose from {in:W_H100} to {in:W_GB200}, {value}, above the "
        "lecture's {stated} times: a Blackwell GPU is two reticle-sized dies in one package with more HBM "
        "stacks between them, so per die the step is small but per package it is large. Which pair counts as a "
        "generation decides the verdict: from H200, the Hopper refresh with faster HBM3e, the step to GB200 falls "
        "inside the band, while the step from GB200 to Rubin's announced figure is larger again."
    ),
)

AGGREGATE_GROWTH = Claim(
    id="rack.aggregate-bandwidth-growth",
    title="Aggregate bandwidth grew ~8× from Hopper to Blackwell",
    statement="Because the scale-up domain grew ninefold, the HBM bandwidth a model's weights can be read with grew about eightfold.",
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(8, "1", "aggregate bandwidth grew ~8× from Hopper to Blackwell"),
    build=one_step(
        "g",
        (n_b * W_b) / (n_h * W_h),
        "Domain HBM bandwidth, GB200 NVL72 over HGX H100",
        details=(
            Detail("domain_growth", "GPUs in the domain, GB200 NVL72 over HGX H100", n_b / n_h, "1"),
            Detail("per_gpu_growth", "HBM bandwidth per GPU, GB200 over H100", W_b / W_h, "1"),
        ),
    ),
    inputs=(
        Input(n_h, "chips", "hgx-h100", "GPUs in HGX H100"),
        Input(W_h, "hbm_bandwidth", "h100-sxm", "H100 HBM bandwidth"),
        Input(n_b, "chips", "gb200-nvl72", "GPUs in GB200 NVL72"),
        Input(W_b, "hbm_bandwidth", "gb200", "GB200 HBM bandwidth"),
    ),
    own=LectureArithmetic(
        "its domain growth, 72 GPUs over 8, times the low end of its 1.5–2× per GPU",
        n_b_lec / n_h_lec * g_lec,
        ((n_b_lec, 72), (n_h_lec, 8), (g_lec, 1.5)),
    ),
    finding=(
        "The bandwidth weights are read with is the domain's GPU count times each GPU's bandwidth, so both growths "
        "multiply: from HGX H100 to GB200 NVL72 the domain grew {detail:domain_growth} and each GPU "
        "{detail:per_gpu_growth}, giving {value}, far above the lecture's {stated}. The lecture's figure is its "
        "domain growth alone; its own figures, that growth times even the low end of its per-GPU range, give "
        "{own}, so its arithmetic does not close either. The slip runs in the argument's favour: weight-load "
        "time fell faster than the lecture says, which only strengthens its point that larger domains made "
        "trillion-parameter models practical to serve."
    ),
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
