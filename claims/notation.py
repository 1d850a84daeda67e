"""The book's notation table, collected from the claims themselves.

One row per meaning of a symbol. A symbol a derivation binds to hwdb takes its meaning and unit
from the field's declaration or the claim's label, and a definitional constant carries its reason;
the uses of one letter with one dimension share a row. Every other symbol a derivation writes, a
quantity a step defines (``B^* = …``) or a variable of the argument (the batch ``B``), takes its
definition and unit from :mod:`claims.glossary`: a step's sentence is written to be read in
sequence ("Solved for the batch") and says little alone, and a variable has no sentence at all.
Generated, so the table cannot disagree with the formulas; where chapters give one letter
different meanings, each meaning is a row of its own listing the claims that use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from hwdb.derived import field_spec
from hwdb.units import parse_unit

from . import glossary, typeset
from .engine import Claim


@dataclass
class Entry:
    """One meaning of a symbol, with its units and the claims that use it: a row of the table."""

    symbol: str  # LaTeX
    meanings: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)  # empty only for a symbol the glossary lacks
    claims: list[str] = field(default_factory=list)
    from_glossary: bool = True  # False: bound to hwdb or a constant, described by its label


@dataclass(frozen=True)
class Unbound:
    """A symbol a claim's derivation writes without binding it to data: a quantity that a step defines,
    or a variable of the argument that no step defines (the batch B, a block size)."""

    symbol: sp.Symbol
    claim: str
    text: str  # the sentence of the first step that defines it; "" for a variable
    definitions: tuple[sp.Expr, ...]  # the right-hand side of each step that defines it; () for a variable


def unbound(claims: tuple[Claim, ...]) -> list[Unbound]:
    """Per claim, each symbol some step sets equal to an expression (``Eq(symbol, …)``) and the claim does
    not bind, then each symbol its steps or result use that is neither bound nor so defined."""
    out: list[Unbound] = []
    for claim in claims:
        bound = {i.symbol for i in claim.inputs} | {c.symbol for c in claim.constants}
        defined: dict[sp.Symbol, tuple[str, list[sp.Expr]]] = {}
        used: set[sp.Symbol] = set(sp.sympify(claim.derivation.result).free_symbols)
        for step in claim.derivation.steps:
            used |= sp.sympify(step.math).free_symbols
            lhs = step.math.lhs if isinstance(step.math, sp.Eq) else None
            if isinstance(lhs, sp.Symbol) and lhs not in bound:
                defined.setdefault(lhs, (step.text, []))[1].append(step.math.rhs)
        out += [Unbound(s, claim.id, text, tuple(rhs)) for s, (text, rhs) in defined.items()]
        variables = sorted(used - bound - set(defined), key=lambda s: s.name)
        out += [Unbound(s, claim.id, "", ()) for s in variables]
    return out


def undefined(claims: tuple[Claim, ...]) -> list[Unbound]:
    """The unbound symbols :mod:`claims.glossary` has no definition for."""
    return [u for u in unbound(claims) if glossary.term(u.symbol.name, u.claim) is None]


def entries(claims: tuple[Claim, ...]) -> list[Entry]:
    """One entry per meaning of each symbol, in alphabetical order of symbol (case-insensitive); a symbol's
    bound meanings come before its glossary definitions."""
    found: dict[tuple[object, ...], Entry] = {}

    def add(symbol: sp.Symbol, key: tuple[object, ...], meaning: str, unit: str | None, claim_id: str) -> None:
        tex = typeset.latex(symbol)
        entry = found.setdefault((tex, *key), Entry(tex, from_glossary=key[0] != "bound"))
        if meaning not in entry.meanings:
            entry.meanings.append(meaning)
        if unit is not None and unit not in entry.units:
            entry.units.append(unit)
        if claim_id not in entry.claims:
            entry.claims.append(claim_id)

    def bound(unit: str) -> tuple[object, ...]:  # one row per dimension: G the GPU count, G the token rate
        return ("bound", str(parse_unit(unit).dimensionality))

    for claim in claims:
        for item in claim.inputs:
            unit, description = field_spec(item.field)
            add(item.symbol, bound(unit), item.label or description, unit, claim.id)
        for constant in claim.constants:
            add(constant.symbol, bound(constant.unit), constant.why, constant.unit, claim.id)
    for symbol in unbound(claims):
        term = glossary.term(symbol.symbol.name, symbol.claim)
        if term is None:  # the build warns; the step's own sentence is better than nothing meanwhile
            add(symbol.symbol, ("missing",), symbol.text or "(not yet defined)", None, symbol.claim)
        else:
            add(symbol.symbol, ("glossary", term), term.meaning, term.unit, symbol.claim)
    return sorted(found.values(), key=lambda e: (e.symbol.lstrip("\\").lower(), e.symbol))
