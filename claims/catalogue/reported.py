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
) -> Claim:
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
        rows=Rows("statistic", reference, "reference", why),
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
    Stated(2, "USD/h", "about", "GPUs rent for about $2 per GPU-hour"),
    "h100-rental-lambda-2026",
    "an on-demand H100 price per GPU-hour from a cloud that prints one",
    "On-demand, an H100 costs {value} per GPU-hour at the reference provider; other quotes are in the rows.",
)

FAST_SPEEDUP = _reported(
    "pricing.fast-mode-speedup",
    "Fast mode decodes ~2.5× faster",
    "A fast mode runs the same model about two and a half times faster.",
    "1. Rooflines, batch size, Fast and Slow mode",
    "prices",
    "speedup",
    "1",
    Stated(2.5, "1", "about", "~6× the price for ~2.5× the decode speed"),
    "anthropic-fast-mode-speedup",
    "Anthropic's fast mode is the one the lecture describes",
    "Anthropic advertises up to {value} faster output.",
)

CAPEX_SHARE = _reported(
    "memory.capex-share",
    "Hyperscalers spend ~50% of capex on memory",
    "This year about half of hyperscalers' capital spending goes to memory.",
    "5. The memory wall",
    "memory-wall",
    "share",
    "percent",
    Stated(50, "percent", "about", "~50% of this year's capex is spent on memory"),
    "hyperscaler-capex-memory-share-2026",
    "the estimate for the year of the lecture",
    "The estimate for 2026 is {value}; the figure near one half is a projection for 2027.",
)

PHONE_DECLINE = _reported(
    "memory.smartphone-decline",
    "Smartphone volumes drop ~30% for lack of memory",
    "Memory shortages cut smartphone shipments by about thirty per cent.",
    "5. The memory wall",
    "memory-wall",
    "decline",
    "percent",
    Stated(30, "percent", "about", "smartphone volumes drop ~30% for lack of memory"),
    "smartphone-shipments-decline-2026-idc-may",
    "the latest forecast before publication",
    "The latest forecast is a fall of {value}.",
)

CLAIMS = (GPU_HOUR, FAST_SPEEDUP)
MEMORY_WALL_REPORTED = (CAPEX_SHARE, PHONE_DECLINE)
