"""Prices leak the architecture: the output-token premium (lecture section 7)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Input, Rows, Step
from ..policy import Stated

PAGE = "prices"

p_in, p_out = sp.symbols("p_in p_out", positive=True)
T_mem, T_comp = sp.symbols("T_memory T_compute", positive=True)
R = sp.Symbol("R", positive=True)


def derive_premium() -> Derivation:
    """If prices track time, the output premium is decode's memory time over compute time."""
    return Derivation(
        steps=(
            Step("Output-token premium on a price sheet", sp.Eq(R, p_out / p_in)),
            Step(
                "If price tracks time, prefill is compute-bound and decode memory-bound, the premium reads",
                sp.Eq(R, T_mem / T_comp),
            ),
        ),
        result=p_out / p_in,
    )


DECODE_PREMIUM = Claim(
    id="pricing.decode-premium",
    title="Output tokens cost ~5× input tokens",
    statement=(
        "API price sheets charge about five times more for an output token than for an input token: "
        "decode is bound by memory bandwidth, prefill by compute."
    ),
    section="7. API prices leak the architecture",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(5, "1", "about", "output tokens cost ~5× input tokens"),
    build=derive_premium,
    inputs=(
        Input(p_in, "input_price", None, "input price"),
        Input(p_out, "output_price", None, "output price"),
    ),
    rows=Rows(
        "price-sheet",
        "claude-opus-4-5",
        "most",
        "the lecture's cache-pricing example ($5 input, $6.25 cache write) is Claude Opus 4.5",
    ),
    finding="The reference sheet gives {value}; other providers' sheets are in the rows.",
)

CLAIMS = (DECODE_PREMIUM,)
