"""The notation page defines every symbol in words: each symbol a derivation writes without binding it
to data (a quantity a step defines, a variable such as the batch B) has a definition in
claims/glossary.py that reads alone (not the step's sentence, written to be read in sequence), whose
unit is what the derivation computes, and the glossary names no symbol that no claim uses that way."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pint
import pytest
import sympy as sp
from sympy.core.function import AppliedUndef

import hwdb
from claims import glossary, notation
from claims.compiled import UnitCheckError, evaluate_expression
from claims.engine import Evaluation
from claims.registry import all_claims, evaluate_all
from hwdb.units import Quantity, parse_unit

CLAIMS = all_claims()
UNBOUND = notation.unbound(CLAIMS)
DEFINED = [u for u in UNBOUND if u.definitions]  # by a step

#: Words that open a sentence continuing an earlier one ("and the corpus", "Solved for the batch") or that
#: point back at something the reader no longer sees ("Its KV term", "At that loss").
CONTINUATIONS = {
    *("and", "or", "but", "so", "which", "while", "then", "thus", "hence", "solved", "with", "without"),
    *("they", "it", "its", "their", "this", "that", "these", "those", "there", "here"),
    *("as", "at", "for", "if", "through", "beyond", "suppose", "assume", "per", "over", "into"),
}
#: Words a sentence that stops in mid-air ends on ("… on one GPU is", "the hop takes", "equal at the batch").
DANGLING = {"is", "are", "be", "takes", "gives", "the", "a", "an", "at", "of", "to", "by", "and", "or", "for", "so"}


def _key_id(key: str | tuple[str, str]) -> str:
    return key if isinstance(key, str) else "@".join(key)


@pytest.mark.parametrize("key", list(glossary.GLOSSARY), ids=_key_id)
def test_a_definition_reads_alone(key: str | tuple[str, str]) -> None:
    """A row of the table is read by itself: a definition opens on a capital (or a symbol), does not
    continue another sentence, and does not stop mid-clause."""
    meaning = glossary.GLOSSARY[key].meaning
    words = re.findall(r"[\w'’*-]+", meaning)
    assert len(words) >= 3, f"{meaning!r} is too short to define anything"
    assert not meaning[0].isalpha() or meaning[0].isupper(), f"{meaning!r} should open on a capital"
    assert words[0].lower() not in CONTINUATIONS, f"{meaning!r} continues a sentence the table does not show"
    assert words[-1].lower() not in DANGLING and not meaning.endswith((":", ",", ";")), f"{meaning!r} stops mid-clause"
    assert meaning == meaning.strip() and not meaning.endswith("."), f"{meaning!r}: a table cell, no full stop"
    assert meaning.count("$") % 2 == 0, f"{meaning!r}: a $ opens math that does not close"


@pytest.mark.parametrize("key", list(glossary.GLOSSARY), ids=_key_id)
def test_a_definition_has_a_unit_hwdb_reads(key: str | tuple[str, str]) -> None:
    unit = glossary.GLOSSARY[key].unit
    try:
        parse_unit(unit)
    except (pint.errors.UndefinedUnitError, ValueError, TypeError) as exc:
        pytest.fail(f"{_key_id(key)}: unit {unit!r} is not one hwdb's registry reads ({exc})")


def test_every_unbound_symbol_has_a_definition() -> None:
    missing = [f"{u.claim}: {u.symbol.name} ({u.text or 'a variable'!r})" for u in notation.undefined(CLAIMS)]
    assert missing == [], "add these to claims/glossary.py, keyed by name or (name, claim ID):\n" + "\n".join(missing)


def test_the_glossary_defines_only_symbols_that_claims_use_unbound() -> None:
    """An entry for a symbol no claim uses unbound any more (renamed, or now bound to hwdb) is dead text; so is
    a plain-name entry that every claim using the name overrides."""
    defined = {(u.symbol.name, u.claim) for u in UNBOUND}
    stale = [
        _key_id(key)
        for key in glossary.GLOSSARY
        if (isinstance(key, tuple) and key not in defined)
        or (isinstance(key, str) and not any(name == key and (name, c) not in glossary.GLOSSARY for name, c in defined))
    ]
    assert stale == [], "glossary entries no claim uses:\n" + "\n".join(stale)


def test_the_table_takes_unbound_meanings_from_the_glossary() -> None:
    """No row of the table shows a step's sentence: each unbound symbol is listed under its glossary
    definition and unit, and nothing else."""
    rows = notation.entries(CLAIMS)
    wrong = []
    for u in UNBOUND:
        term = glossary.term(u.symbol.name, u.claim)
        assert term is not None  # test_every_unbound_symbol_has_a_definition says which
        here = [e for e in rows if u.claim in e.claims and e.from_glossary and term.meaning in e.meanings]
        if len(here) != 1 or here[0].meanings != [term.meaning] or here[0].units != [term.unit]:
            wrong.append(f"{u.claim}: {u.symbol.name}")
    assert wrong == [], "\n".join(wrong)


def test_each_claim_lists_a_symbol_under_one_meaning() -> None:
    """A claim that uses a letter appears in exactly one of that letter's rows: G as a growth factor in one
    chapter is not listed under "GPUs" from another."""
    counts = Counter((e.symbol, claim) for e in notation.entries(CLAIMS) for claim in e.claims)
    twice = [f"{symbol} in {claim}: {n} rows" for (symbol, claim), n in counts.items() if n != 1]
    assert twice == [], "\n".join(twice)


# ------------------------------------------------------------------ units, checked against the derivation


#: Step-defined quantities whose derivation, as written, carries another unit than the quantity has.
UNIT_EXCEPTIONS = {
    ("C_token", "moe.sparsity-halves-compute"): (
        "the step writes two FLOP per parameter per token as a bare 2, so as written it counts parameters"
    ),
    ("X", "training.overtraining"): (
        "the loss fit counts N_opt and D_opt as plain numbers, so the step divides tokens per parameter by a "
        "plain r; the claim's result restores the units"
    ),
}


@pytest.fixture(scope="module")
def evaluations() -> dict[str, Evaluation]:
    return evaluate_all(hwdb.load())


def _reference_values(e: Evaluation) -> dict[sp.Symbol, Any]:
    """Each bound symbol's quantity on the claim's reference row, and each variable's in the glossary's unit
    (its size is arbitrary: only the dimension is checked)."""
    by_name = {i.symbol.name: i.symbol for i in e.claim.inputs}
    values: dict[sp.Symbol, Any] = {c.symbol: c.quantity for c in e.claim.constants}
    values.update({by_name[i.symbol]: i.field.quantity for i in e.reference.inputs})
    for u in UNBOUND:
        term = glossary.term(u.symbol.name, u.claim)
        if u.claim == e.claim.id and not u.definitions and term is not None:
            values[u.symbol] = Quantity(7.0, parse_unit(term.unit))
    return values


def _definitions_in_inputs(e: Evaluation) -> dict[sp.Symbol, list[sp.Expr]]:
    """Each step-defined quantity's right-hand sides, with the other step-defined quantities replaced by their
    first definitions (a step may use one that a later step defines)."""
    bound = {i.symbol for i in e.claim.inputs} | {c.symbol for c in e.claim.constants}
    out: dict[sp.Symbol, list[sp.Expr]] = {}
    for step in e.claim.derivation.steps:
        lhs = step.math.lhs if isinstance(step.math, sp.Eq) else None
        if isinstance(lhs, sp.Symbol) and lhs not in bound:
            out.setdefault(lhs, []).append(sp.sympify(step.math.rhs))
    first = {symbol: rhs[0] for symbol, rhs in out.items()}
    for symbol, rhs in out.items():
        others = {s: x for s, x in first.items() if s != symbol}
        for _ in range(len(first)):  # enough rounds for any chain; a cycle is left as it stands
            rhs = [x.subs(others) for x in rhs]
        out[symbol] = rhs
    return out


@pytest.mark.parametrize("defined", DEFINED, ids=lambda d: f"{d.symbol.name}@{d.claim}")
def test_a_definitions_unit_is_what_the_derivation_computes(
    defined: notation.Unbound, evaluations: dict[str, Evaluation]
) -> None:
    """Each step that defines the quantity is evaluated in the glossary's unit, on the claim's reference inputs
    and with each variable (the batch B) in its own glossary unit: a wrong dimension raises, in the quantity's
    unit or a variable's. A step with an abstract function (a round function F) has no value and is skipped,
    saying why."""
    term = glossary.term(defined.symbol.name, defined.claim)
    assert term is not None, "no definition (see test_every_unbound_symbol_has_a_definition)"
    if (defined.symbol.name, defined.claim) in UNIT_EXCEPTIONS:
        pytest.skip(UNIT_EXCEPTIONS[defined.symbol.name, defined.claim])
    e = evaluations[defined.claim]
    values = _reference_values(e)
    floats = {s: float(q.to_base_units().magnitude) for s, q in values.items()}
    checked = 0
    for expr in _definitions_in_inputs(e)[defined.symbol]:
        if expr.atoms(AppliedUndef) or expr.free_symbols - set(values):
            continue
        if not expr.free_symbols:  # a pure number: only a dimensionless unit fits
            assert parse_unit(term.unit).dimensionless, f"{expr} is a pure number, the glossary says {term.unit}"
        else:
            try:
                evaluate_expression(expr, values, floats, term.unit)
            except UnitCheckError as exc:
                pytest.fail(f"{defined.symbol.name} in {defined.claim}: the glossary says {term.unit!r}, but {exc}")
        checked += 1
    if not checked:
        free = sorted(
            {str(s) for x in _definitions_in_inputs(e)[defined.symbol] for s in x.free_symbols} - set(map(str, values))
        )
        pytest.skip(f"no definition evaluable on the reference inputs (free: {', '.join(free) or 'a function'})")
