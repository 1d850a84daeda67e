"""The compiled evaluation path gives pint's numbers and still refuses every unit slip."""

from __future__ import annotations

import math
from typing import Any

import pint
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import hwdb
from claims import all_claims, evaluate
from claims.compiled import UnitCheckError, base_magnitude, evaluate_expression
from claims.engine import _bind
from claims.policy import EDGE_ROUNDING, Stated, Verdict
from hwdb import Quantity
from hwdb.units import parse_unit


def _through_pint(expr: sp.Expr, quantities: dict[sp.Symbol, Any], unit: str) -> float:
    """The slow reference: every operation on pint quantities, as the engine once did.

    A formula that rounds (a whole number of chips) is not unit-invariant: ceil(640 GB / 80 GB)
    is not ceil of the same ratio held in B/GB. The engine rounds in SI base units, so this
    reference does too for such formulas; every other formula runs on the quantities as read.
    """
    symbols = sorted(expr.free_symbols, key=str)
    if not symbols:
        return float(expr)
    rounds = expr.has(sp.ceiling, sp.floor)
    args = [
        quantities[s].to_base_units() if rounds and isinstance(quantities[s], pint.Quantity) else quantities[s]
        for s in symbols
    ]
    result = sp.lambdify(symbols, expr, modules="numpy")(*args)
    if not isinstance(result, pint.Quantity):  # a rounded count comes back as a plain number
        result = Quantity(float(result), "")
    return float(result.to(parse_unit(unit)).magnitude)


def test_every_claim_and_row_matches_a_pure_pint_evaluation() -> None:
    db = hwdb.load()
    checked = 0
    for claim in all_claims():
        evaluation = evaluate(claim, db)
        for row in evaluation.rows:
            quantities, _, _ = _bind(claim, db, row.record)
            expected = _through_pint(claim.derivation.result, quantities, claim.unit)
            assert math.isclose(row.value, expected, rel_tol=1e-12, abs_tol=1e-300), (claim.id, row.record)
            for detail in claim.derivation.details:
                want = _through_pint(detail.expr, quantities, detail.unit)
                assert math.isclose(row.details[detail.name], want, rel_tol=1e-12, abs_tol=1e-300), (claim.id, detail)
            checked += 1
    assert checked > 300


def _both(expr: sp.Expr, values: dict[sp.Symbol, Any], unit: str) -> float:
    return evaluate_expression(expr, values, {s: base_magnitude(q) for s, q in values.items()}, unit)


def test_units_are_checked_per_signature_not_once_per_formula() -> None:
    x, y = sp.symbols("x_sig y_sig", positive=True)
    fine = {x: Quantity(2, "GB"), y: Quantity(1, "GiB")}
    assert _both(x + y, fine, "byte") == pytest.approx(2e9 + 2**30)
    # The same formula, now fed seconds for y: the earlier check must not excuse it.
    with pytest.raises(UnitCheckError, match="inconsistent units"):
        _both(x + y, {x: Quantity(2, "GB"), y: Quantity(1, "s")}, "byte")


def test_result_in_the_wrong_unit_is_refused() -> None:
    x, t = sp.symbols("x_res t_res", positive=True)
    with pytest.raises(UnitCheckError, match="expected s"):
        _both(x / t, {x: Quantity(1, "GB"), t: Quantity(1, "s")}, "s")


def test_a_missing_input_is_named() -> None:
    x, y = sp.symbols("x_miss y_miss", positive=True)
    with pytest.raises(KeyError, match="y_miss"):
        evaluate_expression(x * y, {x: Quantity(1, "s")}, {x: 1.0}, "s")


@given(
    st.floats(1e-3, 1e6),
    st.floats(1e-3, 1e6),
    st.sampled_from(["GB", "GiB", "TB", "MB"]),
    st.sampled_from(["s", "ms", "min", "h"]),
)
def test_mixed_units_agree_with_pint(size: float, time: float, size_unit: str, time_unit: str) -> None:
    b, t = sp.symbols("b_mix t_mix", positive=True)
    values = {b: Quantity(size, size_unit), t: Quantity(time, time_unit)}
    expr = b / t + b / (2 * t)
    assert _both(expr, values, "GB/s") == pytest.approx(_through_pint(expr, values, "GB/s"), rel=1e-12)


def test_a_value_on_a_band_edge_is_on_it_whatever_the_rounding() -> None:
    stated = Stated(8, "1", "~8×")
    (_, high), _ = stated.bands()
    assert stated.verdict(high) is Verdict.HOLDS
    assert stated.verdict(high * (1 + EDGE_ROUNDING / 10)) is Verdict.HOLDS
    assert stated.verdict(high * (1 + 1e-9)) is Verdict.ROUGHLY


def test_base_magnitude_of_plain_numbers_and_quantities() -> None:
    assert base_magnitude(3) == 3.0
    assert base_magnitude(Quantity(1, "GiB")) == 2**30
    assert isinstance(Quantity(1, "s"), pint.Quantity)


def test_a_persisted_factor_serves_only_the_units_it_was_checked_with() -> None:
    """The factor cache is keyed by the inputs' units: other units are checked afresh, and a slip still raises."""
    from claims import compiled

    x, y = sp.symbols("x_persist y_persist", positive=True)
    expr = x / y
    compiled.seed(expr, "test/persisted", None)
    good = {x: Quantity(8, "TB"), y: Quantity(4, "TB/s")}
    floats = {s: base_magnitude(q) for s, q in good.items()}
    assert evaluate_expression(expr, good, floats, "s") == pytest.approx(2.0)
    assert any(key[0] == "test/persisted" for key in compiled.persisted_factors)
    slip = {x: Quantity(8, "TB"), y: Quantity(4, "TB")}  # bytes over bytes is not a time
    with pytest.raises(UnitCheckError, match="expected s"):
        evaluate_expression(expr, slip, {s: base_magnitude(q) for s, q in slip.items()}, "s")
