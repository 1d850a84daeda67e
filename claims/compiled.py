"""Compile a closed form once, check its units once, then evaluate it on plain floats.

Evaluating a SymPy expression on pint quantities for every row is what made a
full evaluation slow: ``lambdify`` regenerated Python source for each row and pint
re-derived the same units for every operation. Neither depends on the row's
numbers. So an expression is lambdified once, and its unit algebra is checked
once per *signature* (the units of its inputs): the check feeds the row's own
quantities through pint, in SI base units, and keeps the factor that turns the
base-unit result into the claim's unit. Every row then runs on floats in SI base
units, where pint would do the same arithmetic. A row whose inputs carry other
units gets its own check, so no row escapes one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import pint
import sympy as sp

from hwdb import Quantity
from hwdb.units import parse_unit


class UnitCheckError(Exception):
    """The formula's units do not combine, or do not give the claim's unit."""


@dataclass(frozen=True)
class Compiled:
    """A closed form as a Python function of its free symbols, in a fixed order."""

    symbols: tuple[sp.Symbol, ...]
    function: Callable[..., Any]


@cache
def lambdified(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], modules: str = "numpy") -> Callable[..., Any]:
    """``sp.lambdify`` once per (expression, argument order, modules); expressions hash by structure.

    "numpy" accepts pint quantities (the unit check); "math" is faster on plain floats in
    scalar loops (the sensitivity scan).
    """
    function: Callable[..., Any] = sp.lambdify(symbols, expr, modules=modules, docstring_limit=0)
    return function


@cache
def compile_expression(expr: sp.Expr) -> Compiled:
    """The closed form as a function of its free symbols in name order."""
    symbols = tuple(sorted(expr.free_symbols, key=str))
    return Compiled(symbols, lambdified(expr, symbols))


def base_magnitude(quantity: Any) -> float:
    """A quantity's magnitude in SI base units (a plain number is taken as it is)."""
    if isinstance(quantity, pint.Quantity):
        return float(quantity.to_base_units().magnitude)
    return float(quantity)


def _units_of(value: Any) -> Any:
    return value.units if isinstance(value, pint.Quantity) else None


_factors: dict[tuple[sp.Expr, str, tuple[Any, ...]], float] = {}


def _unit_factor(compiled: Compiled, expr: sp.Expr, quantities: list[Any], unit: str) -> float:
    """Run the formula once through pint on these quantities; return base-unit -> ``unit``."""
    key = (expr, unit, tuple(_units_of(q) for q in quantities))
    factor = _factors.get(key)
    if factor is None:
        try:
            result = compiled.function(*(q.to_base_units() if isinstance(q, pint.Quantity) else q for q in quantities))
        except pint.DimensionalityError as exc:
            raise UnitCheckError(f"inconsistent units in the formula ({exc})") from exc
        result_units = result.units if isinstance(result, pint.Quantity) else parse_unit("1")
        try:
            factor = float(Quantity(1.0, result_units).to(parse_unit(unit)).magnitude)
        except pint.DimensionalityError as exc:
            raise UnitCheckError(f"result has units {result_units}, expected {unit} ({exc})") from exc
        _factors[key] = factor
    return factor


def evaluate_expression(
    expr: sp.Expr, quantities: Mapping[sp.Symbol, Any], floats: Mapping[sp.Symbol, float], unit: str
) -> float:
    """The value of ``expr`` in ``unit``; ``floats`` holds each quantity in SI base units.

    Raises :class:`KeyError` naming a symbol with no value, and
    :class:`UnitCheckError` when the units do not work out.
    """
    compiled = compile_expression(expr)
    if not compiled.symbols:
        # A closed form with no inputs (an exponent, a zero derivative) is a pure
        # number expressed in the claim's unit.
        return float(expr)
    missing = [s for s in compiled.symbols if s not in quantities]
    if missing:
        raise KeyError(", ".join(map(str, missing)))
    factor = _unit_factor(compiled, expr, [quantities[s] for s in compiled.symbols], unit)
    value = float(compiled.function(*(floats[s] for s in compiled.symbols))) * factor
    if not math.isfinite(value):
        raise UnitCheckError(f"result is not finite ({value})")
    return value
