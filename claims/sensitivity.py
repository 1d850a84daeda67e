"""Which input a claim's value depends on, and how far each would have to move to flip its verdict.

The elasticity of the value to an input is d ln(value) / d ln(input), taken from the
SymPy closed form and evaluated at the reference row. The flip factor is the smallest
multiplicative change of that one input (all others fixed) that changes the verdict,
found by scanning and bisecting on the lambdified closed form in SI magnitudes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp

from hwdb import Quantity
from hwdb.units import parse_unit

from . import derivation_cache
from .compiled import lambdified
from .engine import Evaluation, InputValue
from .policy import Verdict
from .registry import UnknownClaimError, get_claim

SCAN = np.geomspace(1.0, 1000.0, 241)[1:]  # factors up to 1000× in each direction
BISECTIONS = 40


@dataclass(frozen=True)
class Elasticity:
    input: InputValue
    elasticity: float
    flip_factor: float | None  # multiply the input by this to change the verdict; None if no flip within 1000×
    flips_to: Verdict | None


_analysed: dict[tuple[object, ...], list[Elasticity]] = {}


#: Results for the catalogue's own claims, kept between processes (by claim, value and reference inputs).
_TABLE = derivation_cache.Table("sensitivity.pickle", "sensitivity scans")


def analyse(evaluation: Evaluation) -> list[Elasticity]:
    """Elasticity and flip factor of each input of the reference row.

    The result depends only on the claim, its reference row's inputs and its value, so
    it is kept under that key: the claim box and the JSON export ask for the same one.
    For a catalogue claim (whose code is in the derivation cache's key) it is also kept
    on disk, so a fresh process does not scan again for a claim whose inputs did not move.
    """
    key = (
        evaluation.claim,
        evaluation.value,
        tuple((i.key, i.field.si, i.record.id) for i in evaluation.reference.inputs),
    )
    if key not in _analysed:
        _analysed[key] = _kept(evaluation, key[1:])
    return list(_analysed[key])


def _kept(evaluation: Evaluation, arguments: tuple[Any, ...]) -> list[Elasticity]:
    """:func:`_analyse`, through the disk table when the claim is the catalogue's own."""
    claim = evaluation.claim
    try:
        own = get_claim(claim.id) is claim
    except UnknownClaimError:
        own = False
    if not own:  # a scenario's or a test's claim may share an ID with other code: never from the table
        return _analyse(evaluation)
    entry = (claim.id, *arguments)
    stored = _TABLE.get(entry)
    inputs = {i.symbol: i for i in evaluation.reference.inputs}
    if stored is not None and all(name in inputs for name, *_ in stored):
        return [
            Elasticity(inputs[name], value, flip, None if to is None else Verdict(to))
            for name, value, flip, to in stored
        ]
    result = _analyse(evaluation)
    _TABLE.put(
        entry,
        tuple((e.input.symbol, e.elasticity, e.flip_factor, e.flips_to and e.flips_to.value) for e in result),
    )
    return result


@lru_cache(maxsize=1024)
def _elasticity(result: sp.Expr, symbol: sp.Symbol, symbols: tuple[sp.Symbol, ...]) -> Callable[..., float]:
    """d ln(value) / d ln(input) as a function of every symbol, built once per formula.

    Only its value at the reference row is used, so it is not simplified: SymPy's
    simplify cost more than everything else in the export and changes no number.
    """
    return lambdified(sp.diff(result, symbol) * symbol / result, symbols, "math")


#: Functions whose symbolic derivative SymPy cannot turn into code; their elasticity is taken numerically.
PIECEWISE = (sp.Max, sp.Min, sp.ceiling, sp.floor)


def _numeric_elasticity(
    function: Callable[..., Any], symbols: list[sp.Symbol], values: dict[sp.Symbol, float], symbol: sp.Symbol
) -> float:
    """d ln(value) / d ln(input) by a central difference of ±1e-6 in the input, all else fixed.

    At a kink (a max switching branch, a whole number of chips) this is the local slope on
    the side the difference lands; away from one it is the derivative itself.
    """
    step = 1e-6

    def at(factor: float) -> float:
        return float(function(*(values[s] * factor if s == symbol else values[s] for s in symbols)))

    return (math.log(at(1 + step)) - math.log(at(1 / (1 + step)))) / (2 * math.log(1 + step))


def _analyse(evaluation: Evaluation) -> list[Elasticity]:
    claim = evaluation.claim
    result = evaluation.derivation.result
    symbols = sorted(result.free_symbols, key=str)
    if not symbols:
        return []
    values: dict[sp.Symbol, float] = {c.symbol: c.si for c in claim.constants}
    by_name = {i.symbol: i for i in evaluation.reference.inputs}
    for item in claim.inputs:
        if str(item.symbol) in by_name:
            values[item.symbol] = by_name[str(item.symbol)].field.si
    function = lambdified(result, tuple(symbols), "math")
    base = float(function(*(values[s] for s in symbols)))
    if base == 0 or not math.isfinite(base):
        return []
    to_stated = (
        evaluation.value / base * float(Quantity(1, parse_unit(claim.unit)).to(parse_unit(claim.stated.unit)).magnitude)
    )
    verdict_now = claim.stated.verdict(base * to_stated)
    # A population's verdict, or one that says nothing is published, does not turn on the reference row.
    scan = evaluation.population is None and evaluation.evidence != "none"
    out = []
    for item in claim.inputs:
        symbol = item.symbol
        if symbol not in result.free_symbols or str(symbol) not in by_name:
            continue
        if result.has(*PIECEWISE):
            elasticity = _numeric_elasticity(function, symbols, values, symbol)
        else:
            elasticity = float(_elasticity(result, symbol, tuple(symbols))(*(values[s] for s in symbols)))

        def verdict_at(factor: float, symbol: sp.Symbol = symbol) -> Verdict | None:
            """The verdict with one input scaled, or None where the formula has no real value (a router asked
            to choose more experts than there are): the scan stops there."""
            args = [values[s] * factor if s == symbol else values[s] for s in symbols]
            try:
                value = function(*args)
            except (ValueError, TypeError, ZeroDivisionError, OverflowError):  # TypeError: max() of a complex
                return None
            if isinstance(value, complex) or not math.isfinite(value):
                return None
            return claim.stated.verdict(float(value) * to_stated)

        best: tuple[float, Verdict] | None = None
        for direction in (1, -1) if scan else ():
            previous = 1.0
            for step in SCAN:
                factor = float(step) ** direction
                verdict = verdict_at(factor)
                if verdict is None:
                    break
                if verdict is not verdict_now:
                    low, high = previous, factor
                    for _ in range(BISECTIONS):
                        middle = math.sqrt(low * high)
                        if verdict_at(middle) is verdict_now:
                            low = middle
                        else:
                            high = middle
                    flipped = verdict_at(high)
                    if flipped is not None and (best is None or abs(math.log(high)) < abs(math.log(best[0]))):
                        best = (high, flipped)
                    break
                previous = factor
        out.append(Elasticity(by_name[str(symbol)], elasticity, best[0] if best else None, best[1] if best else None))
    return out
