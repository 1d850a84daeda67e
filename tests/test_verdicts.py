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
    if claim["population"]["voter"]:  # one vote per group: a group votes as at least half its rows do
        groups: dict[str, list[str]] = {}
        for row, verdict in zip(judged, verdicts, strict=True):
            groups.setdefault(row["vote"], []).append(verdict)
        verdicts = []
        for members in groups.values():
            holding = members.count("holds")
            rough = holding + members.count("holds roughly")
            verdicts.append(
                "holds" if 2 * holding >= len(members) else "holds roughly" if 2 * rough >= len(members) else "no"
            )
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
    recounted = Population(rule, **counts, voter=population_json["voter"], members=population_json["members"])
    assert recounted.verdict.value == claim["verdict"]
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


def test_groups_vote_once() -> None:
    """Seven sheets that copy one rule are one vote: a population counts groups where it votes by group."""
    h, r, f = Verdict.HOLDS, Verdict.ROUGHLY, Verdict.FAILS
    verdicts = [h] * 7 + [r, r, r] + [f, f]
    groups = ["a"] * 7 + ["b", "b", "b"] + ["c", "c"]
    assert population("most", verdicts).verdict is h  # 7 of 12 rows hold
    grouped = population("most", verdicts, groups, "provider")
    assert (grouped.rows, grouped.holds, grouped.within_rough, grouped.members) == (3, 1, 2, 12)
    assert grouped.verdict is r  # 1 of 3 providers holds, 2 of 3 within the rough band
    # A group votes as at least half its rows do.
    assert population("all", [h, r, h, f], ["x", "x", "y", "y"], "v").holds == 2


def test_margin_is_the_smallest_move_that_changes_the_verdict() -> None:
    from claims.policy import edges, flip_margin

    stated = Stated(100, "1", "about 100")  # holds 80–125, roughly 50–200
    one = lambda vs: stated.verdict(vs[0])  # noqa: E731
    assert flip_margin([120], edges(stated), one) == pytest.approx(125 / 120 - 1, rel=1e-6)
    assert flip_margin([85], edges(stated), one) == pytest.approx(1 - 80 / 85, rel=1e-6)
    # A value on an inclusive edge is one rounding away from the next verdict.
    on_edge = flip_margin([125], edges(stated), one)
    assert on_edge is not None and on_edge < 1e-6
    # A count moves in whole steps: 2 stages against 1–2 needs a third stage to fail.
    ranged = Stated(1.5, "1", "1–2 stages", low=1, high=2)
    assert flip_margin([2], edges(ranged), lambda vs: ranged.verdict(vs[0]), quantum=1) == pytest.approx(0.5)
    # A population moves by one row or all rows together, whichever changes its verdict first.
    pop = lambda vs: population("most", [stated.verdict(v) for v in vs]).verdict  # noqa: E731
    assert flip_margin([100, 100, 300], edges(stated), pop) == pytest.approx(0.2, rel=1e-6)  # one 100 below 80


def test_margins_are_published_and_marginal_below_the_threshold() -> None:
    from claims.policy import MARGINAL

    for claim in exported().values():
        margin = claim["margin"]
        if claim["verdict"] == "no public evidence" or claim["tolerance"]["wording"] == "exact":
            assert margin is None
            continue
        if margin is not None and margin < MARGINAL:
            assert claim["marginal"], claim["id"]
        if claim["marginal"]:
            assert claim["marginal_why"], claim["id"]
        for row in claim["rows"]:
            assert (row["margin"] is None) or row["counts"], (claim["id"], row["record"])


def test_evidence_is_no_stronger_than_the_weakest_input() -> None:
    """Every claim's class is at most its weakest judged input's, and the catalogue declares the class it gets."""
    from claims.policy import STRENGTH

    for claim in exported().values():
        evidence = claim["evidence"]
        if evidence["class"] == "identity":
            continue
        assert STRENGTH.index(evidence["class"]) <= min(
            (STRENGTH.index(c) for c in evidence["inputs"]), default=len(STRENGTH)
        ), claim["id"]
        assert evidence["declared"] == evidence["class"], (
            f"{claim['id']} declares evidence {evidence['declared']!r} but rests on an input of class "
            f"{evidence['class']!r}: declare what it is"
        )


def test_a_class_is_capped_by_its_weakest_input() -> None:
    from claims.policy import capped, input_evidence

    assert input_evidence("assumption") == "lecture-arithmetic"
    assert input_evidence("statistic") == "reported"
    assert input_evidence("accelerator") == "independent"
    assert capped("independent", ["independent", "lecture-arithmetic"]) == "lecture-arithmetic"
    assert capped("independent", ["reported"]) == "reported"
    assert capped("lecture-arithmetic", ["independent"]) == "lecture-arithmetic"  # never raised
    assert capped("identity", ["lecture-arithmetic"]) == "identity"  # a proof is not capped
    assert capped("none", ["independent"]) == "none"
