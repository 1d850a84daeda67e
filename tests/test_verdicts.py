"""Verdicts a reader can recompute: from the published value and bands, under one reading of the policy."""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import hwdb
from claims import all_claims, evaluate_all
from claims.export import document
from claims.policy import MARKERS, RULES, Population, Stated, Verdict, population, wording_of

LECTURE = Path(__file__).resolve().parents[2] / "shared" / "lecture" / "claims.md"


@cache
def exported() -> dict[str, dict[str, Any]]:
    db = hwdb.load()
    return {c["id"]: c for c in document(evaluate_all(db), db.fingerprint)["claims"]}


def _within(value: float, band: list[float | None] | None) -> bool:
    if band is None:
        return False
    lo, hi = band
    assert lo is not None
    top = math.inf if hi is None else hi
    return lo - abs(lo) * 1e-12 <= value <= top + abs(top) * 1e-12


def _verdict_from_bands(value: float, tolerance: dict[str, Any]) -> str:
    if _within(value, tolerance["holds"]):
        return "holds"
    if _within(value, tolerance["holds_roughly"]):
        return "holds roughly"
    return "does not hold"


def _recount(claim: dict[str, Any]) -> dict[str, int]:
    """The population counts, recomputed from each judged row's published value and the bands."""
    judged = [r for r in claim["rows"] if r["counts"]]
    factor = claim["value_in_stated_unit"] / claim["value"] if claim["value"] else 1.0
    verdicts = [_verdict_from_bands(r["value"] * factor, claim["tolerance"]) for r in judged]
    return {
        "rows": len(verdicts),
        "holds": verdicts.count("holds"),
        "within_rough": verdicts.count("holds") + verdicts.count("holds roughly"),
    }


@pytest.mark.parametrize("claim_id", [c.id for c in all_claims()])
def test_verdict_follows_from_what_is_published(claim_id: str) -> None:
    """claims.json alone is enough to recompute every verdict: value, bands, counts, rule."""
    claim = exported()[claim_id]
    if claim["evidence"]["class"] == "none":
        assert claim["verdict"] == "no public evidence"
        assert all(not r["counts"] for r in claim["rows"]), "rows of an uncheckable claim carry no verdict"
        return
    population_json = claim["population"]
    if population_json is None:
        assert claim["verdict"] == _verdict_from_bands(claim["value_in_stated_unit"], claim["tolerance"])
        return
    counts = _recount(claim)
    assert {k: population_json[k] for k in counts} == counts
    rule = population_json["rule"]
    assert Population(rule, **counts).verdict.value == claim["verdict"]
    assert claim["judged"].startswith(f"{counts['holds']} of {counts['rows']} ")


@pytest.mark.parametrize("claim_id", [c.id for c in all_claims()])
def test_rows_outside_scope_carry_no_verdict(claim_id: str) -> None:
    for row in exported()[claim_id]["rows"]:
        assert (row["verdict"] is None) == (not row["counts"]), row["record"]


def test_population_rules() -> None:
    h, r, f = Verdict.HOLDS, Verdict.ROUGHLY, Verdict.FAILS
    assert population("most", [h, h, f]).verdict is h
    assert population("most", [h, r, f, f]).verdict is r
    assert population("most", [h, f, f]).verdict is f
    assert population("all", [h, r, h]).verdict is r
    assert population("all", [h, h]).verdict is h
    assert population("any", [f, f, r]).verdict is r
    assert population("any", [f, f]).verdict is f
    assert population("most", []).verdict is f  # an empty population holds nothing
    with pytest.raises(ValueError, match="population rule"):
        Population("reference", 1, 1, 1)
    assert set(RULES) == {"reference", "most", "all", "any"}


@pytest.mark.parametrize(
    ("text", "wording"),
    [
        ("about 1,000× worse", "about"),
        ("≈ 150T tokens (hearsay)", "about"),
        ("2,000–3,000 tokens", "range"),
        ("at least 90 % saved", "at-least"),
        ("a few ms, maybe 10× off", "order"),
        ("only matters at millions of tokens", "order"),
        ("= 2,048 bytes", "exact"),
        ("8 Hopper GPUs held 640 GB", "bare"),
        ("≈ 2,400 tokens (2,000–3,000)", "range"),  # an explicit range outranks a hedge
    ],
)
def test_the_marker_table(text: str, wording: str) -> None:
    assert wording_of(text)[0] == wording


def test_a_range_needs_its_ends_and_only_a_range_has_them() -> None:
    with pytest.raises(ValueError, match="needs low and high"):
        Stated(2, "1", "1–3 of them")
    with pytest.raises(ValueError, match="only for a range"):
        Stated(2, "1", "about 2", low=1, high=3)


def _lecture_statements() -> dict[int, str]:
    text = LECTURE.read_text(encoding="utf-8")
    items = re.split(r"\n(?=\d+\. )", text)
    out = {}
    for item in items:
        match = re.match(r"(\d+)\. ", item)
        if match:
            out[int(match.group(1))] = item
    return out


@pytest.mark.skipif(not LECTURE.exists(), reason="the lecture's statement list is not beside the checkout")
@pytest.mark.parametrize("claim", [c for c in all_claims() if c.kind != "structural"], ids=lambda c: c.id)
def test_hedged_claims_quote_the_lectures_own_hedge(claim: Any) -> None:
    """A claim read as 'about', 'order' or 'at least' finds a word of that class in the lecture's statement."""
    from claims import statements

    wording = claim.stated.wording
    if wording not in ("about", "order", "at-least"):
        return
    lecture = _lecture_statements()
    numbers = [s.number for s in statements.load() if claim.id in s.claims]
    words = dict(MARKERS)[wording]
    said = " ".join(lecture[n].lower() for n in numbers)
    assert any(word in said for word in words), (
        f"{claim.id} is read as '{wording}' (marker {claim.stated.marker!r}) but statements {numbers} "
        f"of the lecture use none of {words}"
    )
