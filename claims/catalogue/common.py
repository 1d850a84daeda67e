"""Small builders shared by the chapter modules."""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from ..engine import Derivation, Detail, Step


def one_step(name: str, expr: sp.Expr, text: str, details: tuple[Detail, ...] = ()) -> Callable[[], Derivation]:
    """A derivation that is a single named formula."""
    target = sp.Symbol(name, positive=True)
    # A figure read off a record is its own formula: Eq(x, x) would collapse to True and print as such.
    math = target if expr == target else sp.Eq(target, expr)
    return lambda: Derivation((Step(text, math),), expr, details)


def positive(names: str) -> tuple[sp.Symbol, ...]:
    symbols = sp.symbols(names, positive=True)
    return tuple(symbols) if isinstance(symbols, tuple | list) else (symbols,)
