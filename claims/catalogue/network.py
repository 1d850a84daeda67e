"""Mixture of experts and the rack: scale-up against scale-out bandwidth (lecture section 3)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Input, Rows, Step
from ..policy import Stated

PAGE = "rack"

S_up, S_out = sp.symbols("S_up S_out", positive=True)
G = sp.Symbol("G", positive=True)


def derive_gap() -> Derivation:
    """Both bandwidths per chip and per direction, so the ratio is like for like."""
    return Derivation(
        steps=(Step("Per chip and per direction, the scale-out gap is", sp.Eq(G, S_up / S_out)),),
        result=S_up / S_out,
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
    stated=Stated(8, "1", "about", "scale-out bandwidth per GPU is ~8× lower than scale-up (NVLink)"),
    build=derive_gap,
    inputs=(
        Input(S_up, "scaleup_bandwidth", None, "scale-up bandwidth per chip, per direction"),
        Input(S_out, "scaleout_bandwidth", None, "scale-out NIC bandwidth per chip, per direction"),
    ),
    rows=Rows(
        "accelerator",
        "h100-sxm",
        "most",
        "the lecture contrasts NVLink with the NICs of an NVIDIA server",
        scope=(("vendor", "NVIDIA"),),
        why_scope="the statement is about NVLink; TPU rows are shown for comparison but do not count",
    ),
    finding=(
        "On the reference hardware the gap is {value}. Accelerators without a published per-chip NIC "
        "figure have no row."
    ),
)


R = sp.Symbol("R", positive=True)


def derive_half_leaves() -> Derivation:
    """With experts spread evenly over R racks and uniform routing, a token stays home 1/R of the time."""
    leaving = 1 - 1 / R
    return Derivation(
        steps=(
            Step(
                "Share of token-expert trips that leave the token's rack, with R racks", sp.Eq(sp.Symbol("f"), leaving)
            ),
            Step("For two racks", sp.Eq(sp.Symbol("f"), leaving.subs(R, 2))),
        ),
        result=leaving.subs(R, 2),
    )


HALF_LEAVES = Claim(
    id="network.half-leaves-rack",
    title="Split across two racks, half the tokens leave",
    statement="If an expert layer spans two racks, half of the tokens' expert traffic must cross the slower network.",
    section="3. Mixture of experts and the rack",
    kind="structural",
    page=PAGE,
    unit="1",
    stated=Stated(
        0.5, "1", "exact", "split an expert layer across two racks and half of the tokens must leave the rack"
    ),
    build=derive_half_leaves,
    finding="Under uniform routing the share is exactly {value}.",
)

CLAIMS = (SCALE_OUT_GAP, HALF_LEAVES)
