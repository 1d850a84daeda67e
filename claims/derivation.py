"""What a claim derives: steps ending in a closed form, with the details it also pins.

Its own module, under both the engine that evaluates a derivation and the disk cache that keeps one
built (:mod:`claims.derivation_cache`); :mod:`claims.engine` hands these names on to the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class Step:
    """One line of a derivation: a sentence and an equation."""

    text: str
    math: sp.Basic


@dataclass(frozen=True)
class Detail:
    """A secondary quantity the claim also computes and pins (shown in the box)."""

    name: str
    label: str
    expr: sp.Expr
    unit: str
    noun: str = ""  # what a dimensionless count counts ("GPUs"), for display
    digits: int = 0  # significant figures to write it with; 0: the book's usual three


@dataclass(frozen=True)
class Derivation:
    """Steps ending in a closed form for the claimed value."""

    steps: tuple[Step, ...]
    result: sp.Expr
    details: tuple[Detail, ...] = ()
    checks: tuple[tuple[str, float], ...] = ()  # numeric checks already passed (name, value)
