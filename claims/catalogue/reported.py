"""Reported figures: what the lecture quotes from the market, checked against sources."""

from __future__ import annotations

from ..engine import Claim, Input, Rows
from ..policy import Stated
from .common import one_step, positive

(x,) = positive("x")


def _reported(
    cid: str,
    title: str,
    statement: str,
    section: str,
    page: str,
    field: str,
    unit: str,
    stated: Stated,
    reference: str,
    why: str,
    finding: str,
    rule: str = "reference",
    scope: tuple[tuple[str, str], ...] = (),
    why_scope: str = "",
    noun: str = "",
    voter: tuple[str, str, str] = ("", "", ""),
) -> Claim:
    """A reported figure judged per statistic row; ``voter`` is (meta key, noun, why) where rows vote in groups."""
    return Claim(
        id=cid,
        title=title,
        statement=statement,
        section=section,
        kind="reported",
        page=page,
        unit=unit,
        stated=stated,
        build=one_step("x", x, "The reported figure, as its source prints it"),
        inputs=(Input(x, field, None, "reported figure"),),
        rows=Rows("statistic", reference, rule, why, scope, why_scope, noun, *voter),
        finding=finding,
    )


GPU_HOUR = _reported(
    "pricing.gpu-hour",
    "GPUs rent for about $2 an hour",
    "Renting a current data-centre GPU costs about two dollars an hour.",
    "1. Rooflines, batch size, Fast and Slow mode",
    "prices",
    "rental_price",
    "USD/h",
    Stated(2, "USD/h", "GPUs rent for about $2 per GPU-hour"),
    "h100-rental-semianalysis-2026-03",
    "the lecture speaks of the market, so every H100 price point counts; the reference row is the market index "
    "nearest the lecture's date",
    (
        "Across the market {judged}. Only prices set in the open market come close: the reference, "
        "SemiAnalysis's index of one-year H100 contracts at neoclouds shortly before the lecture, is {value}, and "
        "spot and marketplace prices sit beside it; neoclouds' on-demand and reserved rates run higher but inside "
        "the rough band, and the list prices of AWS, Azure and CoreWeave's on-demand service are several times "
        "the lecture's {stated} and do not hold. So the figure is what capacity costs a buyer who commits or "
        "shops the market, the price the lecture's cost-per-token arithmetic needs, not what an on-demand "
        "instance costs. It also assumes the GPU is an H100: Blackwell GPUs, shown as context, rent for far "
        "more, and the index itself has moved a good deal within a year."
    ),
    rule="most",
    scope=(("accelerator", "h100-sxm"),),
    why_scope="the lecture's GPU-hour is the H100 that its examples run on; H200 and B200 prices are shown as context",
    noun="H100 price points",
    voter=(
        "vendor",
        "providers",
        "a provider's on-demand, reserved, spot and capacity-block prices are one price list, set by one seller, "
        "so they are one piece of evidence about what the market charges",
    ),
)

FAST_SPEEDUP = _reported(
    "pricing.fast-mode-speedup",
    "Fast mode decodes ~2.5× faster",
    "A fast mode runs the same model about two and a half times faster.",
    "1. Rooflines, batch size, Fast and Slow mode",
    "prices",
    "speedup",
    "1",
    Stated(2.5, "1", "~6× the price for ~2.5× the decode speed"),
    "anthropic-fast-mode-speedup",
    "Anthropic's fast mode is the one the lecture describes",
    (
        "Anthropic advertises up to {value} more output tokens per second in fast mode, the lecture's {stated}. "
        "It is the vendor's ceiling, not a measurement: 'up to' means typical gains are smaller and vary with the "
        "prompt and the load, and it says nothing about time to the first token. No independent benchmark of the "
        "mode was found, so the verdict says the lecture quotes the vendor correctly, not that fast mode runs "
        "this much faster."
    ),
)

CAPEX_SHARE = _reported(
    "memory.capex-share",
    "Hyperscalers spend ~50% of capex on memory",
    "This year about half of hyperscalers' capital spending goes to memory.",
    "5. The memory wall",
    "memory-wall",
    "share",
    "percent",
    Stated(50, "percent", "~50% of this year's capex is spent on memory"),
    "hyperscaler-capex-memory-share-2026",
    "the estimate for the year of the lecture",
    (
        "SemiAnalysis estimates memory at {value} of hyperscalers' spending in the year of the lecture, up "
        "several-fold on earlier years as HBM and DRAM prices climbed, so the lecture's {stated} holds only "
        "roughly. The figure near one half that circulates is the same analysts' (and CLSA's) projection for the "
        "following year (see the rows), which the lecture appears to have attached to this one; judged on it, "
        "the statement would hold. Both are analyst estimates, not figures hyperscalers report, and what counts "
        "as memory (HBM inside accelerators, server DRAM, flash) is the analysts' choice."
    ),
)

PHONE_DECLINE = _reported(
    "memory.smartphone-decline",
    "Smartphone volumes drop ~30% for lack of memory",
    "Memory shortages cut smartphone shipments by about thirty per cent.",
    "5. The memory wall",
    "memory-wall",
    "decline",
    "percent",
    Stated(30, "percent", "smartphone volumes drop ~30% for lack of memory"),
    "smartphone-shipments-decline-2026-idc-may",
    "the latest forecast before publication",
    (
        "IDC's latest forecast has worldwide smartphone shipments falling {value} this year, which it blames on "
        "the memory shortage, well short of the lecture's {stated}; earlier forecasts were milder still (see the "
        "rows). No source found puts a volume drop near the lecture's figure: the nearest figure of that size is "
        "the rise in low-end phones' bill of materials, a cost, not a volume. A forecast for one segment, one "
        "vendor or for PCs might reach it, but none was found."
    ),
)

CLAIMS = (GPU_HOUR, FAST_SPEEDUP)
MEMORY_WALL_REPORTED = (CAPEX_SHARE, PHONE_DECLINE)
