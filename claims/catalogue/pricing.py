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


p_fast, p_std, p_read, p_write, p_long, p_short = sp.symbols(
    "p_fast p_standard p_read p_write p_long p_short", positive=True
)

FAST_MODE = Claim(
    id="pricing.fast-mode-premium",
    title="Fast mode costs ~6× the price",
    statement="A fast (low-latency) mode of the same model is priced at about six times the standard rate.",
    section="1. Rooflines, batch size, Fast and Slow mode",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(6, "1", "about", "Fast mode costs ~6× the price for ~2.5× the decode speed"),
    build=one_step("x", p_fast / p_std, "Fast-mode output price over the standard output price"),
    inputs=(
        Input(p_fast, "fast_output_price", None, "fast-mode output price"),
        Input(p_std, "output_price", None, "standard output price"),
    ),
    rows=Rows("price-sheet", "claude-opus-4-6", "reference", "Claude Opus 4.6 is the model with a published fast mode"),
    finding="Claude Opus 4.6's fast mode costs {value} the standard output price.",
)

CACHE_HIT = Claim(
    id="pricing.cache-hit-discount",
    title="A cache hit costs ~1/10 of a miss",
    statement="Reading a prompt from the cache costs about a tenth of processing it afresh.",
    section="7. API prices leak the architecture",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(0.1, "1", "about", "cache hits cost ~1/10 of a cache miss"),
    build=one_step("h", p_read / p_in, "Cache-read price over the uncached input price"),
    inputs=(
        Input(p_read, "cache_read_price", None, "cache-read price"),
        Input(p_in, "input_price", None, "input price"),
    ),
    rows=Rows("price-sheet", "claude-opus-4-5", "most", "the lecture's cache example is Claude Opus 4.5"),
    finding="The reference sheet charges {value} of the input price for a cache hit.",
)

CACHE_WRITE = Claim(
    id="pricing.cache-write-premium",
    title="Writing the 5-minute cache costs 1.25× input",
    statement="Writing a prompt into the five-minute cache costs extra: $6.25 against a $5 base input price.",
    section="7. API prices leak the architecture",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1.25, "1", "exact", "base input $5/M tokens, 5-minute cache write $6.25/M"),
    build=one_step("w", p_write / p_in, "Five-minute cache-write price over the input price"),
    inputs=(
        Input(p_write, "cache_write_5m_price", None, "5-minute cache-write price"),
        Input(p_in, "input_price", None, "input price"),
    ),
    rows=Rows("price-sheet", "claude-opus-4-5", "reference", "the lecture quotes Claude Opus 4.5's prices"),
    finding="Claude Opus 4.5 charges {value} the input price to write the five-minute cache.",
)

LONG_CONTEXT = Claim(
    id="pricing.long-context-premium",
    title="Gemini charges 50% more above 200k tokens",
    statement="Gemini 3.1 Pro charges half as much again for prompts longer than 200k tokens.",
    section="7. API prices leak the architecture",
    kind="derived",
    page=PAGE,
    unit="1",
    stated=Stated(1.5, "1", "about", "Gemini 3.1 Pro charges 50% more above 200k tokens of context"),
    build=one_step("x", p_long / p_short, "Input price above the threshold over the price below it"),
    inputs=(
        Input(p_long, "input_price_long", None, "input price above the threshold"),
        Input(p_short, "input_price", None, "input price below it"),
    ),
    rows=Rows("price-sheet", "gemini-3.1-pro", "reference", "the lecture names Gemini 3.1 Pro"),
    finding="Above the threshold Gemini 3.1 Pro's input costs {value} as much; its output price rises by half.",
)

CLAIMS = (DECODE_PREMIUM, FAST_MODE, CACHE_HIT, CACHE_WRITE, LONG_CONTEXT)
