"""One policy mapping the lecture's wording to a tolerance, and the verdict rules.

The lecture speaks in rules of thumb: "about 20 ms", "2,000 to 3,000", "order of
magnitude", "at least". Each wording gets one fixed tolerance band for *holds* and a
wider one for *holds roughly*; outside both, the statement *does not hold*. Bands are
multiplicative because the lecture's numbers span many orders of magnitude.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Verdict(enum.Enum):
    HOLDS = "holds"
    ROUGHLY = "holds roughly"
    FAILS = "does not hold"

    @property
    def rank(self) -> int:
        return {Verdict.HOLDS: 2, Verdict.ROUGHLY: 1, Verdict.FAILS: 0}[self]


@dataclass(frozen=True)
class Wording:
    """A class of phrasing and its two tolerance bands (as factors or exactness)."""

    key: str
    meaning: str
    holds_factor: float
    roughly_factor: float | None


#: The policy. ``factor`` f means the band [stated / f, stated * f]; for ranges the band
#: widens the stated interval by f at both ends; for "at-least" only the lower end counts.
WORDINGS: dict[str, Wording] = {
    w.key: w
    for w in (
        Wording("exact", "an identity or exact arithmetic", 1 + 1e-9, None),
        Wording("about", "'about', '~', '≈' a single figure", 1.25, 2.0),
        Wording("range", "an explicit range such as '2,000–3,000'", 1.0, 1.5),
        Wording("order", "'order of', 'roughly N×' within a decade", math.sqrt(10), 10.0),
        Wording("at-least", "'at least', '≳', 'nearly all'", 1.0, 1.25),
    )
}


@dataclass(frozen=True)
class Stated:
    """The lecture's figure, with the wording that fixes its tolerance."""

    value: float
    unit: str
    wording: str
    text: str
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.wording not in WORDINGS:
            raise ValueError(f"unknown wording {self.wording!r}; known: {sorted(WORDINGS)}")
        if self.wording == "range" and (self.low is None or self.high is None):
            raise ValueError("a 'range' statement needs low and high")

    def bands(self) -> tuple[tuple[float, float], tuple[float, float] | None]:
        """The (holds, holds roughly) intervals, in the stated unit."""
        w = WORDINGS[self.wording]
        lo = self.low if self.low is not None else self.value
        hi = self.high if self.high is not None else self.value
        if w.key == "at-least":
            rough = (lo / w.roughly_factor, math.inf) if w.roughly_factor else None
            return (lo, math.inf), rough
        if w.key == "exact":
            eps = abs(self.value) * (w.holds_factor - 1) or (w.holds_factor - 1)
            return (self.value - eps, self.value + eps), None
        holds = (lo / w.holds_factor, hi * w.holds_factor)
        rough = (lo / w.roughly_factor, hi * w.roughly_factor) if w.roughly_factor else None
        return holds, rough

    def verdict(self, value: float) -> Verdict:
        holds, rough = self.bands()
        if _within(value, holds):
            return Verdict.HOLDS
        if rough is not None and _within(value, rough):
            return Verdict.ROUGHLY
        return Verdict.FAILS


#: Band edges are inclusive. A value this close to an edge (relative) is on it: only
#: floating-point rounding makes such a difference (1.3e15 computed through months and
#: seconds comes out as 1299999999999999.8), and a verdict must not hinge on it.
EDGE_ROUNDING = 1e-12


def _within(value: float, band: tuple[float, float]) -> bool:
    lo, hi = band
    return lo - abs(lo) * EDGE_ROUNDING <= value <= hi + abs(hi) * EDGE_ROUNDING


#: How per-hardware row verdicts combine into the claim's verdict.
RULES: dict[str, str] = {
    "reference": "the verdict of the reference row (the hardware the lecture speaks of)",
    "most": "the best verdict that at least half of the rows reach",
    "all": "the worst verdict of any row",
    "any": "the best verdict of any row (for figures that some published case should reach)",
}


def combine(rule: str, reference: Verdict, rows: list[Verdict]) -> Verdict:
    """Apply a rule from RULES to row verdicts."""
    if rule == "reference":
        return reference
    if rule == "all":
        return min(rows, key=lambda v: v.rank)
    if rule == "any":
        return max(rows, key=lambda v: v.rank)
    if rule == "most":
        for candidate in (Verdict.HOLDS, Verdict.ROUGHLY):
            if 2 * sum(v.rank >= candidate.rank for v in rows) >= len(rows):
                return candidate
        return Verdict.FAILS
    raise ValueError(f"unknown rule {rule!r}; known: {sorted(RULES)}")
