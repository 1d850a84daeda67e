"""The claim engine and the tolerance policy."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest
import sympy as sp
from conftest import HEADLINE

import hwdb
from claims import ClaimError, Verdict, all_claims, evaluate, get_claim
from claims.engine import Claim, Derivation, Input, Step
from claims.policy import Stated
from claims.registry import UnknownClaimError


def test_headline_ids_exist() -> None:
    assert set(HEADLINE).issubset(c.id for c in all_claims())


def test_unknown_claim_id_lists_known_ones() -> None:
    with pytest.raises(UnknownClaimError, match=r"unknown claim ID 'batch\.nope'.*batch\.optimal-size"):
        get_claim("batch.nope")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (20, Verdict.HOLDS),
        (25, Verdict.HOLDS),
        (25.1, Verdict.ROUGHLY),
        (40, Verdict.ROUGHLY),
        (40.1, Verdict.FAILS),
        (16, Verdict.HOLDS),
        (9.9, Verdict.FAILS),
    ],
)
def test_about_bands(value: float, expected: Verdict) -> None:
    stated = Stated(20, "ms", "~20 ms")
    assert stated.wording == "about"
    assert stated.verdict(value) is expected


def test_range_and_at_least_and_exact() -> None:
    r = Stated(2400, "token", "2,000–3,000", low=2000, high=3000)
    assert r.verdict(2000) is Verdict.HOLDS
    assert r.verdict(4500) is Verdict.ROUGHLY
    assert r.verdict(4501) is Verdict.FAILS
    a = Stated(90, "percent", "at least 90 %")
    assert a.verdict(1e9) is Verdict.HOLDS
    assert a.verdict(80) is Verdict.ROUGHLY
    assert a.verdict(70) is Verdict.FAILS
    e = Stated(0.5, "1", "a square root", proof=True)
    assert e.verdict(0.5) is Verdict.HOLDS
    assert e.verdict(0.5001) is Verdict.FAILS


def test_a_figure_without_a_hedge_is_read_as_rounded() -> None:
    assert Stated(1, "1", "640 GB").wording == "bare"
    assert Stated(1, "1", "640 GB", proof=True).wording == "exact"


def test_rows_carry_their_own_verdicts() -> None:
    e = evaluate(get_claim("serving.train-interval"), hwdb.load())
    assert len(e.rows) >= 13
    assert {r.verdict for r in e.rows} >= {Verdict.HOLDS, Verdict.ROUGHLY}
    ref = next(r for r in e.rows if r.record is not None and r.record.id == "h100-sxm")
    assert e.value == ref.value
    cap = ref.record["hbm_capacity"].si if ref.record else math.nan
    bw = ref.record["hbm_bandwidth"].si if ref.record else math.nan
    assert e.value == pytest.approx(cap / bw * 1e3)


def test_out_of_scope_rows_do_not_count() -> None:
    e = evaluate(get_claim("rooflines.hardware-ratio"), hwdb.load())
    tpu = [r for r in e.rows if r.record is not None and r.record.id.startswith("tpu")]
    assert tpu
    assert not any(r.counts for r in tpu)
    assert all(r.verdict is None for r in tpu)
    assert e.population is not None
    assert e.population.rows == sum(r.counts for r in e.rows)


def _toy(expr: sp.Expr, unit: str, inputs: tuple[Input, ...]) -> Claim:
    return Claim(
        id="toy.claim",
        title="toy",
        statement="toy",
        section="0",
        kind="derived",
        page="toy",
        unit=unit,
        stated=Stated(1, unit, "about 1"),
        build=lambda: Derivation((Step("x", sp.Eq(sp.Symbol("y"), expr)),), expr),
        inputs=inputs,
    )


def test_unit_mismatch_in_a_formula_raises() -> None:
    m, w = sp.symbols("M W", positive=True)
    bad = _toy(m + w, "s", (Input(m, "hbm_capacity", "h100-sxm"), Input(w, "hbm_bandwidth", "h100-sxm")))
    with pytest.raises(ClaimError, match="inconsistent units"):
        evaluate(bad, hwdb.load())


def test_wrong_result_unit_raises() -> None:
    m = sp.Symbol("M", positive=True)
    bad = _toy(m, "s", (Input(m, "hbm_capacity", "h100-sxm"),))
    with pytest.raises(ClaimError, match="expected s"):
        evaluate(bad, hwdb.load())


def test_unknown_record_in_a_claim_raises() -> None:
    m = sp.Symbol("M", positive=True)
    bad = _toy(m, "GB", (Input(m, "hbm_capacity", "no-such-chip"),))
    with pytest.raises(ClaimError, match="no record 'no-such-chip'"):
        evaluate(bad, hwdb.load())


def test_unknown_field_in_a_claim_raises() -> None:
    m = sp.Symbol("M", positive=True)
    bad = _toy(m, "GB", (Input(m, "hbm_volume", "h100-sxm"),))
    with pytest.raises(ClaimError, match="has no field 'hbm_volume'"):
        evaluate(bad, hwdb.load())


def test_reference_row_must_exist() -> None:
    claim = get_claim("serving.train-interval")
    assert claim.rows is not None
    moved = replace(claim, rows=replace(claim.rows, reference="no-such-chip"))
    with pytest.raises(ClaimError, match="reference record 'no-such-chip' is not among its rows"):
        evaluate(moved, hwdb.load())


def test_derivation_formula_is_the_one_evaluated() -> None:
    """The closed form shown in the book is the expression that gives the number."""
    e = evaluate(get_claim("batch.optimal-size"), hwdb.load())
    values = {sp.Symbol(i.symbol, positive=True): i.field.quantity for i in e.reference.inputs}
    values[sp.Symbol("c", positive=True)] = hwdb.Quantity(2, "flop/(param*token)")
    last = e.derivation.steps[3].math
    assert isinstance(last, sp.Equality)
    direct = sp.lambdify(sorted(last.rhs.free_symbols, key=str), last.rhs)(
        *(values[s] for s in sorted(last.rhs.free_symbols, key=str))
    )
    assert direct.to("token").magnitude == pytest.approx(e.value, rel=1e-12)


def test_duplicate_claim_ids_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import claims.catalogue

    first = claims.catalogue.CLAIMS[0]
    monkeypatch.setattr(claims.catalogue, "CLAIMS", (*claims.catalogue.CLAIMS, first))
    with pytest.raises(ValueError, match=re.escape(f"duplicate claim ID '{first.id}'")):
        all_claims()


def test_badly_formed_claim_ids_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import claims.catalogue

    odd = replace(claims.catalogue.CLAIMS[0], id="Batch.Optimal Size")
    monkeypatch.setattr(claims.catalogue, "CLAIMS", (odd,))
    with pytest.raises(ValueError, match=r"is not of the form <chapter>\.<slug>"):
        all_claims()


FIGURE = re.compile(r"(?<![\w.\-/])\d+(?:[.,]\d+)*")


@pytest.mark.parametrize("claim", all_claims(), ids=lambda c: c.id)
def test_titles_and_statements_carry_no_figure_of_their_own(claim: Claim) -> None:
    """A claim's title and statement may quote the lecture's figures, never add one.

    Every number in them must appear in the lecture's words the claim quotes
    (``stated.text``); digits inside names such as GPT-4 or NVL576 are not figures.
    """
    for text in (claim.title, claim.statement):
        extra = [n for n in FIGURE.findall(text) if n not in claim.stated.text]
        assert not extra, f"{claim.id}: {extra} in {text!r} are not in the lecture's words {claim.stated.text!r}"


@pytest.mark.parametrize("claim", all_claims(), ids=lambda c: c.id)
def test_no_derivation_step_collapses_to_a_bare_truth_value(claim: Claim) -> None:
    """SymPy evaluates Eq(x, x) to True; a box must show the formula, not 'True'."""
    for step in claim.build().steps:
        assert step.math not in (sp.true, sp.false), f"{claim.id}: step {step.text!r} prints as {step.math}"
