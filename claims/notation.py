"""The book's notation table, collected from the claims themselves.

Each symbol a derivation binds to hwdb (meaning and unit from the field's
declaration or the claim's label), each definitional constant, and each quantity a
derivation step defines (meaning from the first step that defines it), with the
claims that use it. Generated, so the table cannot disagree with the formulas; where
chapters give one letter different meanings, its row lists each meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from hwdb.derived import field_spec

from .engine import Claim


@dataclass
class Entry:
    symbol: str  # LaTeX
    meanings: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)  # empty for quantities only a step defines
    claims: list[str] = field(default_factory=list)
    defined_by_step: bool = True


def entries(claims: tuple[Claim, ...]) -> list[Entry]:
    """One entry per symbol, in alphabetical order (case-insensitive)."""
    found: dict[str, Entry] = {}

    def add(symbol: sp.Symbol, meaning: str, unit: str | None, claim_id: str) -> None:
        entry = found.setdefault(sp.latex(symbol), Entry(sp.latex(symbol)))
        if unit is not None:
            if entry.defined_by_step:  # a bound meaning replaces a step's description
                entry.meanings.clear()
                entry.defined_by_step = False
            if unit not in entry.units:
                entry.units.append(unit)
        first_step = entry.defined_by_step and not entry.meanings
        if meaning not in entry.meanings and (unit is not None or first_step):
            entry.meanings.append(meaning)
        if claim_id not in entry.claims:
            entry.claims.append(claim_id)

    for claim in claims:
        for item in claim.inputs:
            unit, description = field_spec(item.field)
            add(item.symbol, item.label or description, unit, claim.id)
        for constant in claim.constants:
            add(constant.symbol, constant.why, constant.unit, claim.id)
    for claim in claims:
        bound = {i.symbol for i in claim.inputs} | {c.symbol for c in claim.constants}
        for step in claim.derivation.steps:
            lhs = step.math.lhs if isinstance(step.math, sp.Eq) else None
            if isinstance(lhs, sp.Symbol) and lhs not in bound:
                add(lhs, step.text, None, claim.id)
    return sorted(found.values(), key=lambda e: (e.symbol.lstrip("\\").lower(), e.symbol))
