"""Prices leak the architecture: the output-token premium (lecture section 7)."""

from __future__ import annotations

import sympy as sp

from ..engine import Claim, Derivation, Detail, Input, LectureArithmetic, Rows, Step
from ..policy import Stated
from .common import one_step

PAGE = "prices"

p_in, p_out = sp.symbols("p_in p_out", positive=True)
T_mem, T_comp = sp.symbols("T_memory T_compute", positive=True)
R = sp.Symbol("R", positive=True)
#: Why one provider's sheets are one vote: a provider prices its models by one rule (Anthropic's
#: every sheet charges the same output multiple), so seven sheets that copy a rule are one piece of evidence.
PRICE_LIST = (
    "a provider sets its sheets' ratios by one pricing rule, so its sheets are one piece of evidence however "
    "many models it lists"
)

# The lecture's running headroom: deployments run 2–3× above the balanced batch (its middle, 2.5).
headroom_q = sp.Symbol("h_lecture", positive=True)

# The lecture's quoted cache prices: $6.25 to write the 5-minute cache, $5 base input (USD per million tokens).
w_lec, i_lec = sp.symbols("p_write_lecture p_input_lecture", positive=True)


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
    stated=Stated(5, "1", "output tokens cost ~5× input tokens"),
    build=derive_premium,
    inputs=(
        Input(p_in, "input_price", None, "input price"),
        Input(p_out, "output_price", None, "output price"),
    ),
    own=LectureArithmetic(
        "memory time ÷ compute time = balanced batch ÷ batch run; at the 2–3× headroom it says deployments "
        "run with, 1 ÷ 2.5",
        1 / headroom_q,
        ((headroom_q, 2.5),),
    ),
    rows=Rows(
        "price-sheet",
        "claude-opus-4-5",
        "most",
        "the lecture's cache-pricing example ($5 input, $6.25 cache write) is Claude Opus 4.5",
        voter="provider",
        voter_noun="providers",
        why_voter=PRICE_LIST,
    ),
    finding=(
        "On Claude Opus 4.5's sheet an output token costs {value} an input token. Counted one vote per provider, "
        "since a provider prices all its models by one rule, {judged}: every Anthropic sheet charges the "
        "lecture's ratio, half of Google's do (its others charge more), and OpenAI's charge more still and hold "
        "only roughly. Google's vote rests on a sheet exactly on the band's edge, so the verdict is marginal. "
        "The sheets charge about the premium; the mechanism the lecture gives for it does not follow from its own "
        "figures. It reads the premium as decode's memory time over its compute time, but it also says "
        "deployments run two to three times above the balanced batch, where memory time is below compute time "
        "and a decode token costs about what a prefill token does; its decode efficiency of a third (section 6) "
        "would make the premium three, not five. A price ratio is a pricing decision as much as a cost: the "
        "verdict says what the sheets charge, not that decode costs this much more."
    ),
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
    evidence: str = "",
    own: LectureArithmetic | None = None,
    extra: tuple[Input, ...] = (),
    details: tuple[Detail, ...] = (),
) -> Claim:
    """A claim that one price-sheet field is a stated multiple of another, per sheet.

    ``extra`` binds further fields of the same sheet for ``details`` to use (the symbols are ``p_<field>``).
    """
    top, bottom = price_symbol(over[0]), price_symbol(under[0])
    return Claim(
        id=cid,
        title=title,
        statement=statement,
        section=section,
        kind="derived",
        page=PAGE,
        unit="1",
        stated=stated,
        build=one_step("x", top / bottom, f"{over[1]} over {under[1]}", details),
        inputs=(Input(top, over[0], None, over[1]), Input(bottom, under[0], None, under[1]), *extra),
        rows=rows,
        finding=finding,
        evidence=evidence,
        own=own,
    )


def price_symbol(field: str) -> sp.Symbol:
    """The symbol a price-sheet field is bound to in a price ratio."""
    return sp.Symbol(f"p_{field}", positive=True)


s_fast = sp.Symbol("s_fast", positive=True)  # fast mode's speed gain, to read the batch cut off price and speed
_FAST_PREMIUM = price_symbol("fast_output_price") / price_symbol("output_price")

FAST_MODE = price_ratio(
    "pricing.fast-mode-premium",
    "Fast mode costs ~6× the price",
    "A fast (low-latency) mode of the same model is priced at about six times the standard rate.",
    "1. Rooflines, batch size, Fast and Slow mode",
    Stated(6, "1", "Fast mode costs ~6× the price for ~2.5× the decode speed"),
    ("fast_output_price", "fast-mode output price"),
    ("output_price", "standard output price"),
    Rows("price-sheet", "claude-opus-4-6", "reference", "Claude Opus 4.6 is the model with a published fast mode"),
    (
        "Claude Opus 4.6's fast mode lists output tokens at {value} the standard rate, and input tokens at the "
        "same multiple, matching the lecture's {stated}. In the lecture's model the premium buys a smaller batch: "
        "each decode step's weight reads are shared among fewer sequences, so each token bears more of them, "
        "while the step itself gets shorter. The verdict rests on one price, a research preview and the only "
        "published fast mode; how the speed is delivered (smaller batches, more GPUs per replica, faster hardware "
        "or speculative decoding) is not published, and the price alone cannot tell these apart."
    ),
    extra=(Input(s_fast, "speedup", "anthropic-fast-mode-speedup", "fast mode's output-speed gain"),),
    details=(
        Detail(
            "batch_cut",
            "standard batch over fast batch, if fast mode runs the same chips at a smaller batch and price follows "
            "chip time per token",
            _FAST_PREMIUM * s_fast,
            "1",
        ),
        Detail(
            "fixed_share",
            "share of a standard step that no smaller batch shortens (the weight fetch), if a step is that part "
            "plus a part in proportion to the batch",
            (_FAST_PREMIUM - 1) / (_FAST_PREMIUM * s_fast - 1),
            "percent",
        ),
        Detail(
            "speed_ceiling",
            "the most a smaller batch alone could speed a standard step up: the step shrunk to its fixed part",
            (_FAST_PREMIUM * s_fast - 1) / (_FAST_PREMIUM - 1),
            "1",
        ),
    ),
)

CACHE_HIT = price_ratio(
    "pricing.cache-hit-discount",
    "A cache hit costs ~1/10 of a miss",
    "Reading a prompt from the cache costs about a tenth of processing it afresh.",
    "7. API prices leak the architecture",
    Stated(0.1, "1", "cache hits cost ~1/10 of a cache miss"),
    ("cache_read_price", "cache-read price"),
    ("input_price", "uncached input price"),
    Rows(
        "price-sheet",
        "claude-opus-4-5",
        "most",
        "the lecture's cache example is Claude Opus 4.5",
        voter="provider",
        voter_noun="providers",
        why_voter=PRICE_LIST,
    ),
    (
        "A cache hit skips prefill: the prompt's keys and values are read back from wherever they were kept "
        "instead of being recomputed, which saves nearly all the compute the input price pays for. Claude Opus "
        "4.5 charges {value} of the input price for a hit, and {judged}: Anthropic, OpenAI and Google's recent "
        "models all use the lecture's ratio, and only the older Gemini 1.5 Pro charged more. The ratio leaves "
        "out what else caching costs: Anthropic charges a premium to write the cache and Google bills storage by "
        "the hour, so on a prompt reused only a few times the effective discount is smaller than the sheet's."
    ),
)

CACHE_WRITE = price_ratio(
    "pricing.cache-write-premium",
    "Writing the 5-minute cache costs a quarter more than input",
    "Writing a prompt into the five-minute cache costs extra: $6.25 against a $5 base input price.",
    "7. API prices leak the architecture",
    Stated(1.25, "1", "base input $5/M tokens, 5-minute cache write $6.25/M"),
    ("cache_write_5m_price", "5-minute cache-write price"),
    ("input_price", "input price"),
    Rows("price-sheet", "claude-opus-4-5", "reference", "the lecture quotes Claude Opus 4.5's prices"),
    (
        "Claude Opus 4.5 charges {value} the input price to write a prompt into its five-minute cache, the ratio "
        "of the two prices the lecture quotes, and every Anthropic sheet uses the same multiple. The premium pays "
        "for keeping the prompt's KV cache after the request ends, in some tier of memory or storage, and the "
        "one-hour cache, held far longer, costs more again to write. The figure describes Anthropic's sheets "
        "only: OpenAI charges no write premium and Google bills cache storage by the hour instead."
    ),
    evidence="lecture-arithmetic",
    own=LectureArithmetic("$6.25 ÷ $5 per million tokens", w_lec / i_lec, ((w_lec, 6.25), (i_lec, 5))),
)

LONG_CONTEXT = price_ratio(
    "pricing.long-context-premium",
    "Gemini charges 50% more above 200k tokens",
    "Gemini 3.1 Pro charges half as much again for prompts longer than 200k tokens.",
    "7. API prices leak the architecture",
    Stated(1.5, "1", "Gemini 3.1 Pro charges 50% more above 200k tokens of context"),
    ("output_price_long", "output price above the threshold"),
    ("output_price", "output price below it"),
    Rows(
        "price-sheet",
        "gemini-3.1-pro",
        "reference",
        "the lecture names Gemini 3.1 Pro; its argument is about reading a long KV cache while decoding, which "
        "output tokens pay for, so the output step is judged",
    ),
    (
        "Above the threshold Gemini 3.1 Pro bills the whole request at its long-context rates: the output price "
        "rises {value} and the input price {detail:input_step}. The lecture reads the step as the point where "
        "reading the KV cache on each decode step costs as much as the step's compute, a cost output tokens pay "
        "for, so the output step is the one judged, and it matches the lecture's {stated}. Judged on the input "
        "step the statement would hold only roughly; that steeper step fits prefill, whose attention work per "
        "token grows with the prompt. Gemini 2.5 Pro has the same steps at the same threshold, while Gemini 1.5 "
        "Pro charged a larger output step above a shorter threshold (see the rows), so the step's size is a "
        "pricing choice that has changed between generations."
    ),
    extra=(
        Input(price_symbol("input_price_long"), "input_price_long", None, "input price above the threshold"),
        Input(price_symbol("input_price"), "input_price", None, "input price below it"),
    ),
    details=(
        Detail(
            "input_step",
            "input price above the threshold over input price below it",
            price_symbol("input_price_long") / price_symbol("input_price"),
            "1",
        ),
    ),
)

CLAIMS = (DECODE_PREMIUM, FAST_MODE, CACHE_HIT, CACHE_WRITE, LONG_CONTEXT)
