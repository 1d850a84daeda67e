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

Both results depend only on code (and, for the check, the inputs' units), so a fresh
process need not redo them: :mod:`claims.derivation_cache` keeps each catalogue
formula's compiled code (:class:`Source`) beside its derivation and hands it back
through :func:`seed`, and keeps the checked factors per formula and unit signature
(the ``persisted_factors`` table). Without a cache everything is computed as before.
"""

from __future__ import annotations

import builtins
import functools
import marshal
import math
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy
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


@dataclass(frozen=True)
class Source:
    """A compiled closed form as data: its arguments, its code object (``marshal``) and the NumPy names it calls.

    What the derivation cache keeps, so a fresh process rebuilds the function in microseconds instead of
    running SymPy's code printer and lambdify's namespace set-up. Marshal's format belongs to the Python
    version, which is in the cache key.
    """

    symbols: tuple[sp.Symbol, ...]
    code: bytes
    numpy_names: tuple[str, ...]

    def function(self) -> Callable[..., Any]:
        namespace: dict[str, Any] = {name: getattr(numpy, name) for name in self.numpy_names}
        namespace["__builtins__"] = builtins
        namespace["reduce"] = functools.reduce  # how lambdify folds a Max or Min of several terms
        return types.FunctionType(marshal.loads(self.code), namespace)


def _names(code: Any) -> set[str]:
    found = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            found |= _names(constant)
    return found


def source_of(expr: sp.Expr) -> Source | None:
    """The expression's compiled function as a :class:`Source`, or None when it calls more than NumPy."""
    compiled = compile_expression(expr)
    function = compiled.function
    if not isinstance(function, types.FunctionType) or function.__closure__ or function.__defaults__:
        return None
    numpy_names = []
    for name in sorted(_names(function.__code__)):
        value = function.__globals__.get(name)
        if value is not None and getattr(numpy, name, None) is value:
            numpy_names.append(name)
        elif name == "reduce" and value is functools.reduce:
            continue
        elif value is not None or not hasattr(builtins, name):
            return None  # something lambdify set up that a bare NumPy namespace would not have
    return Source(compiled.symbols, marshal.dumps(function.__code__), tuple(numpy_names))


_seeded: dict[sp.Expr, Compiled] = {}
_stable_keys: dict[sp.Expr, str] = {}


def seed(expr: sp.Expr, key: str, source: Source | None) -> None:
    """Name a formula for the factor cache (``key``, stable across processes) and give its compiled source."""
    _stable_keys[expr] = key
    if source is not None and expr not in _seeded:
        _seeded[expr] = Compiled(source.symbols, source.function())


@cache
def compile_expression(expr: sp.Expr) -> Compiled:
    """The closed form as a function of its free symbols in name order."""
    seeded = _seeded.get(expr)
    if seeded is not None:
        return seeded
    symbols = tuple(sorted(expr.free_symbols, key=str))
    return Compiled(symbols, lambdified(expr, symbols))


def base_magnitude(quantity: Any) -> float:
    """A quantity's magnitude in SI base units (a plain number is taken as it is)."""
    if isinstance(quantity, pint.Quantity):
        return float(quantity.to_base_units().magnitude)
    return float(quantity)


def _units_of(value: Any) -> Any:
    """A quantity's units as pint keeps them (a hashable container): building a Unit for each input of each
    formula of each row was most of a claim's evaluation time."""
    return value._units if isinstance(value, pint.Quantity) else None


_factors: dict[tuple[sp.Expr, str, tuple[Any, ...]], float] = {}

#: Checked factors of named formulas, by (stable key, unit, the inputs' unit containers): what the
#: derivation cache loads from disk and writes back. A signature never checked is checked here.
persisted_factors: dict[tuple[str, str, tuple[Any, ...]], float] = {}
new_factors: list[tuple[str, str, tuple[Any, ...]]] = []


def _signature(quantities: list[Any]) -> tuple[Any, ...]:
    """The inputs' units as plain data (pint's unit containers), the same in every process."""
    return tuple(q._units if isinstance(q, pint.Quantity) else None for q in quantities)


def _unit_factor(compiled: Compiled, expr: sp.Expr, quantities: list[Any], unit: str) -> float:
    """Run the formula once through pint on these quantities; return base-unit -> ``unit``."""
    key = (expr, unit, tuple(_units_of(q) for q in quantities))
    factor = _factors.get(key)
    if factor is not None:
        return factor
    stable = _stable_keys.get(expr)
    persisted = None if stable is None else (stable, unit, _signature(quantities))
    if persisted is not None:
        factor = persisted_factors.get(persisted)
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
        if persisted is not None:
            persisted_factors[persisted] = factor
            new_factors.append(persisted)
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
