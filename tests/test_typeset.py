"""Equations as a person writes them, split to fit a phone's column, and worked lines that show the very
numbers the engine combined."""

from __future__ import annotations

import re

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import hwdb
from claims import formatting, typeset
from claims.registry import evaluate_all
from claims.worked import WorkedError, worked

k, E, B, layers, dense = sp.symbols("k E B n_layers n_dense", positive=True)


@pytest.fixture(scope="module")
def evaluations() -> dict[str, object]:
    return dict(evaluate_all(hwdb.load()))


def test_positive_terms_come_first() -> None:
    assert typeset.latex(1 - (1 - k / E) ** B) == r"1 - \left(1 - \frac{k}{E}\right)^{B}"
    assert typeset.latex(layers - dense) == r"n_{layers} - n_{dense}"


def test_names_are_printed_as_written() -> None:
    """SymPy reads a trailing "BM" as bold; the book's M_HBM is memory per HBM stack, nothing bold."""
    assert typeset.latex(sp.Symbol("M_HBM")) == "M_{HBM}"
    assert typeset.latex(sp.Symbol("alpha") + sp.Symbol("kappa_index")) == r"\alpha + \kappa_{index}"
    assert typeset.latex(sp.Symbol("D_inf/D_pre")) == "D_{inf}/D_{pre}"


def test_a_short_equation_stays_on_one_line() -> None:
    assert "aligned" not in typeset.display(sp.Eq(sp.Symbol("R"), sp.Symbol("F") / sp.Symbol("W")))


def _rows(tex: str) -> list[str]:
    return tex.removeprefix(r"\begin{aligned} ").removesuffix(r" \end{aligned}").split(r" \\ ")


def _shown_width(row: str) -> float:
    """A rough width of one row, the way typeset estimates it: the letters a reader sees."""
    plain = re.sub(r"\\(left|right|bigl|bigr|quad|phantom\{[^}]*\}|frac|text|times|div|lceil|rceil|max)", " ", row)
    plain = re.sub(r"[{}&^_\\ ]", "", plain)
    return float(len(plain))


@given(st.integers(min_value=2, max_value=12))
@settings(max_examples=15, deadline=None)
def test_a_long_sum_is_split_and_keeps_every_term(n: int) -> None:
    terms = [sp.Symbol(f"T_{{part{i}}}") * sp.Symbol(f"N_{{count{i}}}") for i in range(n)]
    tex = typeset.display(sp.Eq(sp.Symbol("T"), sp.Add(*terms)))
    for i in range(n):
        assert f"part{i}" in tex and f"count{i}" in tex
    if typeset.width(sp.Add(*terms)) > typeset.BUDGET:
        assert tex.startswith(r"\begin{aligned}")
        assert all(_shown_width(row) <= 2 * typeset.BUDGET for row in _rows(tex))


def test_every_derivation_step_fits_the_column(evaluations: dict[str, object]) -> None:
    """No row of any box's derivation is much wider than the budget (the browser test measures the pixels)."""
    too_wide = []
    for claim_id, e in evaluations.items():
        for step in e.derivation.steps:  # type: ignore[attr-defined]
            for row in _rows(typeset.display(step.math)):
                if _shown_width(row) > 2 * typeset.BUDGET:
                    too_wide.append((claim_id, row[:80]))
    assert too_wide == []


def test_named_repeats_are_exactly_the_expression() -> None:
    """A long form names its repeated parts; substituting them back gives the expression, term for term."""
    x, y, z = sp.symbols("x_{first} y_{second} z_{third}", positive=True)
    repeated = sp.ceiling((x * y + z * x * y + x**2 * y**3) / (z + x * y * z + y * z**2))
    expr = sp.Eq(sp.Symbol("R"), repeated / (x + y) + repeated**2 * z + repeated * x * y * z)
    shown, named = typeset._name_repeats(expr, typeset.BUDGET)
    back = dict(named)
    restored = shown.rhs
    for name, part in reversed(named):
        restored = restored.xreplace({name: part})
    assert sp.simplify(restored - expr.rhs) == 0
    assert all(sp.Symbol(f"u_{i}") in back for i in range(1, len(named) + 1))


def test_an_unevaluated_identity_is_not_simplified_away(evaluations: dict[str, object]) -> None:
    """The Feistel step prints the round trip unevaluated; naming repeats must not collapse it to x = x."""
    e = evaluations["reversible.feistel-invertible"]
    shown = [typeset.display(s.math) for s in e.derivation.steps]  # type: ignore[attr-defined]
    assert any("G" in tex and "F" in tex and "x_{1}" in tex and "aligned" in tex for tex in shown)


def test_worked_line_shows_the_inputs_it_combines(evaluations: dict[str, object]) -> None:
    e = evaluations["batch.optimal-size"]
    lines = worked(e, name="B^*")  # type: ignore[arg-type]
    tex = lines.aligned()
    used = {str(s) for s in e.derivation.result.free_symbols}  # type: ignore[attr-defined]
    for item in (i for i in e.reference.inputs if i.symbol in used):  # type: ignore[attr-defined]
        number = formatting.field_value(item.field).split(" ")[0].rstrip("kMBTQ")
        assert number.replace(",", "{,}") in tex, (item.key, tex)
    assert formatting.claim_quantity(e.claim, e.value) in tex  # type: ignore[attr-defined]
    assert tex.startswith(r"\begin{aligned} B^* &=")


def test_worked_line_of_a_row_uses_that_row(evaluations: dict[str, object]) -> None:
    e = evaluations["rooflines.hardware-ratio"]
    h200 = worked(e, record="h200")  # type: ignore[arg-type]
    reference = worked(e)  # type: ignore[arg-type]
    assert h200.substituted != reference.substituted
    row = next(r for r in e.rows if r.record is not None and r.record.id == "h200")  # type: ignore[attr-defined]
    assert h200.result == formatting.claim_quantity(e.claim, row.value)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"record": "h900"}, "has no row 'h900'"),
        ({"detail": "nope"}, "has no detail 'nope'"),
        ({"detail": "sparsity"}, "no derivation step names this closed form"),
    ],
)
def test_worked_line_refuses_what_the_claim_does_not_compute(
    evaluations: dict[str, object], target: dict[str, str], message: str
) -> None:
    with pytest.raises(WorkedError, match=re.escape(message)):
        worked(evaluations["batch.optimal-size"], **target)  # type: ignore[arg-type]


def test_worked_line_moves_with_the_data() -> None:
    """Change an input in the database and the worked line changes with it: it cannot drift."""
    db = hwdb.load()
    before = worked(evaluate_all(db)["serving.train-interval"]).aligned()
    from claims.scenario import evaluate

    moved = evaluate("serving.train-interval", scale={"h100-sxm.hbm_bandwidth": 2})
    after = worked(moved.evaluation).aligned()
    assert before != after
    assert "6.7" in after
