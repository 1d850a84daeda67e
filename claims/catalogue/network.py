"""Mixture of experts and the rack: scale-up against scale-out bandwidth (lecture section 3)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Detail, Input, Rows, Step
from ..policy import Stated

PAGE = "rack"

S_up, S_out = sp.symbols("S_up S_out", positive=True)
G = sp.Symbol("G", positive=True)


def derive_gap() -> Derivation:
    """Both bandwidths per chip and per direction, so the ratio is like for like."""
    return Derivation(
        steps=(Step("Per chip and per direction, the scale-out gap is", sp.Eq(G, S_up / S_out)),),
        result=S_up / S_out,
        details=(
            Detail("scale_up", "scale-up (NVLink) bandwidth per chip, per direction", S_up, "GB/s"),
            Detail("scale_out", "scale-out (NIC) bandwidth per chip, per direction", S_out, "GB/s"),
        ),
    )


SCALE_OUT_GAP = Claim(
    id="network.scale-out-gap",
    title="Scale-out is ~8× slower than scale-up",
    statement=(
        "Per accelerator, the network between racks carries about an eighth of the bandwidth of the "
        "network inside a scale-up domain, which is why an expert layer stays within one rack."
    ),
    section="3. Mixture of experts and the rack",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(8, "1", "scale-out bandwidth per GPU is ~8× lower than scale-up (NVLink)"),
    build=derive_gap,
    inputs=(
        Input(S_up, "scaleup_bandwidth", None, "scale-up bandwidth per chip, per direction"),
        Input(S_out, "scaleout_bandwidth", None, "scale-out NIC bandwidth per chip, per direction"),
    ),
    rows=Rows(
        "accelerator",
        "gb200",
        "reference",
        "the lecture makes the point for its running example, experts spread over a GB200 NVL72 rack",
    ),
    finding=(
        "Per GPU and per direction, GB200 NVL72's NVLink 5 carries {detail:scale_up} and its ConnectX-7 NIC "
        "{detail:scale_out}, a gap of {value}, well outside the band around the lecture's {stated}. The lecture's "
        "figure is a Hopper figure: H100 and H200 servers paired the slower NVLink 4 with the same NIC and fall "
        "inside the band (see their rows), but Blackwell doubled NVLink while GB200 kept the Hopper-era NIC. "
        "GB300 NVL72's faster ConnectX-8 NICs bring the gap back near the lecture's figure, while TPU and "
        "Trainium chips, whose scale-up links dwarf their share of the data-centre network, show far larger "
        "ratios; accelerators with no published per-chip NIC figure have no row. Those chips link to their "
        "neighbours in a torus rather than through switches, so their ratio of link rates is an upper bound: an "
        "all-to-all across a large torus is limited by its bisection bandwidth and gets much less than the link "
        "rate per chip. The lecture's conclusion, keep an expert layer inside one scale-up domain, gets stronger "
        "as the usable gap widens."
    ),
)


R = sp.Symbol("R", positive=True)
k_route = sp.Symbol("k", positive=True)  # routed experts each token picks


def derive_half_leaves() -> Derivation:
    """With experts spread evenly over R racks and uniform routing, a token stays home 1/R of the time."""
    leaving = 1 - 1 / R
    return Derivation(
        steps=(
            Step(
                "Share of token-expert trips that leave the token's rack, with R racks", sp.Eq(sp.Symbol("f"), leaving)
            ),
            Step("For two racks", sp.Eq(sp.Symbol("f"), leaving.subs(R, 2))),
            Step(
                "A token with k experts keeps all of them at home only if each lands there",
                sp.Eq(sp.Symbol("p_token"), 1 - (1 / R) ** k_route),
            ),
        ),
        result=leaving.subs(R, 2),
        details=(
            Detail(
                "tokens_leaving",
                "share of DeepSeek-V3's tokens with at least one expert in the other rack",
                1 - sp.Rational(1, 2) ** k_route,
                "percent",
            ),
        ),
    )


HALF_LEAVES = Claim(
    id="network.half-leaves-rack",
    title="Split across two racks, half the tokens leave",
    statement="If an expert layer spans two racks, half of the tokens' expert traffic must cross the slower network.",
    section="3. Mixture of experts and the rack",
    kind="structural",
    page=PAGE,
    unit="1",
    stated=Stated(0.5, "1", "split an expert layer across two racks and half of the tokens must leave the rack"),
    build=derive_half_leaves,
    inputs=(Input(k_route, "experts_per_token", "deepseek-v3", "routed experts each token picks"),),
    finding=(
        "With an expert layer's experts spread evenly over two racks and a router that ignores where an expert "
        "sits, each trip from a token to one of its experts lands in the other rack with probability exactly "
        "{value}. That counts dispatches, not tokens: a DeepSeek-V3 token goes to {in:k} experts, so "
        "{detail:tokens_leaving} of tokens have at least one in the other rack and cross the slower network "
        "for part of their work, while the bytes crossing are half the dispatch traffic. Real routing is not uniform, and DeepSeek-V3 caps how "
        "many nodes one token's experts may span precisely to cut this traffic."
    ),
)

CLAIMS = (SCALE_OUT_GAP, HALF_LEAVES)
