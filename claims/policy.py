"""One policy mapping the lecture's wording to a tolerance, and the verdict rules.

The lecture speaks in rules of thumb: "about 20 ms", "2,000 to 3,000", "order of
magnitude", "at least". Each wording gets one fixed tolerance band for *holds* and a
wider one for *holds roughly*; outside both, the statement *does not hold*. Bands are
multiplicative because the lecture's numbers span many orders of magnitude.
"""

from __future__ import annotations

import enum
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass


class Verdict(enum.Enum):
    HOLDS = "holds"
    ROUGHLY = "holds roughly"
    FAILS = "does not hold"
    UNCHECKABLE = "no public evidence"


def verdict_text(verdict: Verdict | None) -> str | None:
    """A verdict as written in exports and the lock; None for a row that is context only."""
    return None if verdict is None else verdict.value


#: How strong the evidence behind a verdict is. A claim names one; structural claims are
#: proofs, reported claims rest on a reported figure, and a claim about a figure nobody
#: publishes gets no verdict beyond saying so.
EVIDENCE: dict[str, str] = {
    "independent": "checked against independent sources (datasheets, configs, price sheets, papers)",
    "lecture-arithmetic": "arithmetic on the lecture's own figures (the lecture checked against itself)",
    "identity": "an identity or proof, checked symbolically and numerically",
    "reported": "a statistic reported by a lab, vendor or analyst, compared as printed",
    "none": "no public evidence: the figure is not published, so no verdict is possible",
}

#: The classes a verdict can rest on, weakest first. A claim's class is never stronger than the
#: weakest input it rests on: arithmetic on a figure the lecture assumes is the lecture checked
#: against itself, however well sourced the claim's other inputs are. "identity" stands apart: a
#: proof holds whatever its illustrative inputs are.
STRENGTH: tuple[str, ...] = ("none", "lecture-arithmetic", "reported", "independent")

#: The class an input carries by the kind of record it comes from: the lecture's own assumptions,
#: statistics a lab, vendor or analyst reports, and everything else (datasheets, configs, price
#: sheets, papers, published deployments) as independent.
INPUT_EVIDENCE: dict[str, str] = {"assumption": "lecture-arithmetic", "statistic": "reported"}


def input_evidence(record_kind: str) -> str:
    """The evidence class an input from a record of this kind can support at most."""
    return INPUT_EVIDENCE.get(record_kind, "independent")


def weakest(classes: list[str] | tuple[str, ...]) -> str:
    """The weakest of some evidence classes (``identity`` is not ranked and is ignored)."""
    ranked = [c for c in classes if c in STRENGTH]
    return min(ranked, key=STRENGTH.index) if ranked else "independent"


def capped(declared: str, inputs: list[str] | tuple[str, ...]) -> str:
    """A claim's evidence class: what it declares, lowered to its weakest input's class (proofs excepted)."""
    if declared == "identity":
        return declared
    return weakest([declared, *inputs])


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
        Wording("exact", "an identity or proof, or arithmetic the lecture writes with '='", 1 + 1e-9, None),
        Wording("about", "a hedged single figure: 'about', '~', '≈', 'roughly'", 1.25, 2.0),
        Wording("bare", "a single figure spoken without a hedge: read as rounded, like 'about'", 1.25, 2.0),
        Wording("range", "an explicit range such as '2,000–3,000'", 1.0, 1.5),
        Wording("order", "an order of magnitude: 'millions of', 'maybe 10× off'", math.sqrt(10), 10.0),
        Wording("at-least", "a floor: 'at least', '≳', 'more than', 'enough for'", 1.0, 1.25),
    )
}


#: Which of the lecture's words select which wording, checked in this order (the first
#: class with a marker in the quoted text wins). Text without any marker is read as exact.
#: A claim that is a proof (kind "structural") is judged exactly whatever its words.
MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("at-least", ("at least", "≳", "≥", "more than", "nearly", "enough for")),
    ("range", ("N–M", "and something")),  # two figures joined by an en dash ("2,000–3,000"); "500 and something"
    ("about", ("about", "~", "≈", "roughly", "almost", "typically", "around")),
    ("order", ("order of", "orders of magnitude", "10× off", "millions of")),
    ("exact", ("=", "exactly")),
)
RANGE = re.compile(r"\d[\d.,]*\s*–\s*\d[\d.,]*")


@functools.lru_cache(maxsize=1024)  # a verdict asks for it each time; margins ask thousands of times
def wording_of(text: str) -> tuple[str, str]:
    """The wording class a quotation selects, and the marker that selected it ("bare": none)."""
    lowered = text.lower()
    for key, markers in MARKERS:
        for marker in markers:
            if marker == "N–M":
                found = RANGE.search(lowered)
                if found:
                    return key, found.group(0)
            elif marker in lowered:
                return key, marker
    return "bare", ""


@dataclass(frozen=True)
class Stated:
    """The lecture's figure; its wording class follows from the quoted marker words.

    ``text`` quotes the lecture (its own marker words: "about", "~", "2,000–3,000", "at
    least"); :func:`wording_of` reads the class from it, so no claim picks its own band.
    ``why`` says why the reading is right where it is a judgement call.
    """

    value: float
    unit: str
    text: str
    low: float | None = None
    high: float | None = None
    why: str = ""
    proof: bool = False  # set by the claim when it is a proof: judged exactly

    def __post_init__(self) -> None:
        if self.wording == "range" and (self.low is None or self.high is None):
            raise ValueError(f"{self.text!r}: a range statement needs low and high")
        if self.wording != "range" and (self.low is not None or self.high is not None):
            raise ValueError(f"{self.text!r}: low and high are only for a range statement")

    @property
    def wording(self) -> str:
        return "exact" if self.proof else wording_of(self.text)[0]

    @property
    def marker(self) -> str:
        return "" if self.proof else wording_of(self.text)[1]

    def bands(self) -> tuple[tuple[float, float], tuple[float, float] | None]:
        """The (holds, holds roughly) intervals, in the stated unit."""
        return self._bands

    @functools.cached_property
    def _bands(self) -> tuple[tuple[float, float], tuple[float, float] | None]:
        """Computed once per statement: the margin search judges thousands of values against it."""
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


#: How a population claim ("on most GPUs") is judged from its rows. The judged figure is
#: the count of in-scope rows inside each band; single-case claims use "reference".
RULES: dict[str, str] = {
    "reference": "a single case: the verdict of the case the lecture speaks of (the reference row)",
    "most": (
        "a population: holds if at least half the rows in scope hold, "
        "roughly if at least half are within the rough band"
    ),
    "all": "a population: holds if every row in scope holds, roughly if every row is within the rough band",
    "any": "a population: holds if any row in scope holds, roughly if any is within the rough band",
}


@dataclass(frozen=True)
class Population:
    """The judged figure of a population claim: how many votes in scope fall in each band.

    A vote is a row, or, where the claim counts by ``voter`` (a vendor, a price-list family), the
    rows that share one: sheets that copy one pricing rule are one piece of evidence, not seven.
    """

    rule: str
    rows: int  # votes counted: rows, or groups of rows where the claim counts by voter
    holds: int
    within_rough: int  # votes that hold or hold roughly
    voter: str = ""  # the record meta key one vote is per ("provider"); empty: one vote per row
    members: int = 0  # rows behind the votes (equal to ``rows`` when each row votes)

    def __post_init__(self) -> None:
        if self.rule not in RULES or self.rule == "reference":
            raise ValueError(f"unknown population rule {self.rule!r}")
        if not 0 <= self.holds <= self.within_rough <= self.rows:
            raise ValueError(f"inconsistent counts {self}")

    def reaches(self, count: int) -> bool:
        if self.rule == "all":
            return count == self.rows and self.rows > 0
        if self.rule == "any":
            return count >= 1
        return 2 * count >= self.rows and self.rows > 0

    @property
    def verdict(self) -> Verdict:
        if self.reaches(self.holds):
            return Verdict.HOLDS
        if self.reaches(self.within_rough):
            return Verdict.ROUGHLY
        return Verdict.FAILS


#: How a group of rows that counts as one vote votes: as most of its rows do, by the "most" rule
#: (holds if at least half its rows hold, roughly if at least half are within the rough band).
GROUP_VOTE = "most"


def group_votes(verdicts: list[Verdict], groups: list[str]) -> list[tuple[str, Verdict]]:
    """One vote per group, in order of first appearance: each group votes as most of its rows do."""
    if len(groups) != len(verdicts):
        raise ValueError("one group per verdict")
    members: dict[str, list[Verdict]] = {}
    for group, verdict in zip(groups, verdicts, strict=True):
        members.setdefault(group, []).append(verdict)
    return [(group, population(GROUP_VOTE, vs).verdict) for group, vs in members.items()]


def population(rule: str, verdicts: list[Verdict], groups: list[str] | None = None, voter: str = "") -> Population:
    """Count row verdicts into a :class:`Population` judged by ``rule``, one vote per group if grouped."""
    votes = verdicts if groups is None else [v for _, v in group_votes(verdicts, groups)]
    holds = sum(v is Verdict.HOLDS for v in votes)
    rough = sum(v in (Verdict.HOLDS, Verdict.ROUGHLY) for v in votes)
    return Population(rule, len(votes), holds, rough, voter if groups is not None else "", len(verdicts))


#: A verdict is marginal when a move of its value by less than this (relative) would change it.
MARGINAL = 0.05

#: How far past a band edge a moved value is put to test the verdict there (edges are inclusive).
_PAST_EDGE = 1e-9


def flip_margin(
    values: list[float],
    edges: list[float],
    judge: Callable[[list[float]], Verdict],
    quantum: float = 0.0,
) -> float | None:
    """The smallest relative move that changes ``judge``'s verdict on ``values``, or None if none does.

    Two kinds of move are tried, each just past each band edge: one value alone (one datasheet
    figure wrong), and every value by the same factor (a convention or a shared input wrong, which
    moves a whole population together). A value that moves in whole steps of ``quantum`` (a count of
    stages) moves by whole steps. A zero value has no relative move and is not moved.
    """
    now = judge(values)
    best: float | None = None

    def consider(trial: list[float], move: float) -> None:
        nonlocal best
        if judge(trial) is not now and (best is None or move < best):
            best = move

    for i, value in enumerate(values):
        if value == 0 or not math.isfinite(value):
            continue
        for edge in edges:
            if not math.isfinite(edge):
                continue
            signs = (1, -1) if edge == value else ((1,) if edge > value else (-1,))
            for sign in signs:
                if quantum:
                    steps = math.floor(abs(edge - value) / quantum) + 1
                    moved = value + sign * steps * quantum
                else:
                    moved = edge + sign * max(abs(edge), 1e-300) * _PAST_EDGE
                consider([*values[:i], moved, *values[i + 1 :]], abs(moved / value - 1))
                if len(values) > 1 and not quantum:
                    factor = moved / value
                    consider([v * factor for v in values], abs(factor - 1))
    return best


def edges(stated: Stated) -> list[float]:
    """Every finite edge of a statement's bands, in the stated unit."""
    holds, rough = stated.bands()
    return [e for band in (holds, rough) if band is not None for e in band if math.isfinite(e)]
