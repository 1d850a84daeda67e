"""Prices leak the architecture: the output-token premium (lecture section 7)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Input, Rows, Step
from ..policy import Stated
from .common import one_step

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


def price_ratio(
    cid: str,
    title: str,
    statement: str,
    section: str,
    stated: Stated,
    over: tuple[str, str],
    under: tuple[str, str],
    rows: Rows,
    finding: str,
) -> Claim:
    """A claim that one price-sheet field is a stated multiple of another, per sheet."""
    top, bottom = sp.symbols(f"p_{over[0]} p_{under[0]}", positive=True)
    return Claim(
        id=cid,
        title=title,
        statement=statement,
        section=section,
        kind="derived",
        page=PAGE,
        unit="1",
        stated=stated,
        build=one_step("x", top / bottom, f"{over[1]} over {under[1]}"),
        inputs=(Input(top, over[0], None, over[1]), Input(bottom, under[0], None, under[1])),
        rows=rows,
        finding=finding,
    )


FAST_MODE = price_ratio(
    "pricing.fast-mode-premium",
    "Fast mode costs ~6× the price",
    "A fast (low-latency) mode of the same model is priced at about six times the standard rate.",
    "1. Rooflines, batch size, Fast and Slow mode",
    Stated(6, "1", "about", "Fast mode costs ~6× the price for ~2.5× the decode speed"),
    ("fast_output_price", "fast-mode output price"),
    ("output_price", "standard output price"),
    Rows("price-sheet", "claude-opus-4-6", "reference", "Claude Opus 4.6 is the model with a published fast mode"),
    "Claude Opus 4.6's fast mode costs {value} the standard output price.",
)

CACHE_HIT = price_ratio(
    "pricing.cache-hit-discount",
    "A cache hit costs ~1/10 of a miss",
    "Reading a prompt from the cache costs about a tenth of processing it afresh.",
    "7. API prices leak the architecture",
    Stated(0.1, "1", "about", "cache hits cost ~1/10 of a cache miss"),
    ("cache_read_price", "cache-read price"),
    ("input_price", "uncached input price"),
    Rows("price-sheet", "claude-opus-4-5", "most", "the lecture's cache example is Claude Opus 4.5"),
    "The reference sheet charges {value} of the input price for a cache hit.",
)

CACHE_WRITE = price_ratio(
    "pricing.cache-write-premium",
    "Writing the 5-minute cache costs a quarter more than input",
    "Writing a prompt into the five-minute cache costs extra: $6.25 against a $5 base input price.",
    "7. API prices leak the architecture",
    Stated(1.25, "1", "exact", "base input $5/M tokens, 5-minute cache write $6.25/M"),
    ("cache_write_5m_price", "5-minute cache-write price"),
    ("input_price", "input price"),
    Rows("price-sheet", "claude-opus-4-5", "reference", "the lecture quotes Claude Opus 4.5's prices"),
    "Claude Opus 4.5 charges {value} the input price to write the five-minute cache.",
)

LONG_CONTEXT = price_ratio(
    "pricing.long-context-premium",
    "Gemini charges 50% more above 200k tokens",
    "Gemini 3.1 Pro charges half as much again for prompts longer than 200k tokens.",
    "7. API prices leak the architecture",
    Stated(1.5, "1", "about", "Gemini 3.1 Pro charges 50% more above 200k tokens of context"),
    ("input_price_long", "input price above the threshold"),
    ("input_price", "input price below it"),
    Rows("price-sheet", "gemini-3.1-pro", "reference", "the lecture names Gemini 3.1 Pro"),
    "Above the threshold Gemini 3.1 Pro's input costs {value} as much as below it; the price sheets page shows the output step too.",
)

CLAIMS = (DECODE_PREMIUM, FAST_MODE, CACHE_HIT, CACHE_WRITE, LONG_CONTEXT)
