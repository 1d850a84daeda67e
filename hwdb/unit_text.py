"""Unit text read by a grammar of our own, before pint sees any of it.

pint reads a unit as a Python expression: ``TB/s*9**9**9`` makes it compute a number with
hundreds of millions of digits, and ``*``, ``TB/s)`` or a 700-factor product end in
tokenizer, assertion or recursion errors. A unit in hwdb is far simpler than that: a product
or quotient of unit names with small whole powers. This module reads exactly that, in one pass
over text of bounded length, and builds the unit from pint's own units one name at a time::

    unit    := factor (op factor)*        op := "*" | "/" | "·" | "×"
    factor  := primary power?             power := ("**" | "^") [+-]? digits | superscripts
    primary := NAME | "%" | "1" | "(" unit ")"

A NAME is a run of letters and underscores that the registry knows, with or without a prefix
(``TB``, ``Mtok``, ``US_dollar``). Spaces may stand around any token. Anything else is refused
with :class:`UnitTextError`, a :class:`ValueError` that says what is wrong and where.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, cast

import pint

MAX_LENGTH = 200  # characters: the longest unit hwdb writes is under 30
MAX_FACTORS = 12  # unit names in one unit: flop/(param*token) has three
MAX_POWER = 6  # |power|: watt in SI base units is kg·m²·s⁻³
MAX_DEPTH = 3  # nested parentheses
MAX_NAME = 40  # characters in one unit name

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<name>[^\W\d\u00b2\u00b3\u00b9\u2070-\u209f]+)  # letters and underscores, no superscripts
    | (?P<percent>%)
    | (?P<one>1(?![0-9.]))
    | (?P<number>[0-9][0-9.]*)
    | (?P<power>(?:\*\*|\^)\s*[-+]?[0-9][0-9.]*)
    | (?P<super>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)
    | (?P<op>[*/·×])
    | (?P<open>\()
    | (?P<close>\))
    )""",
    re.VERBOSE,
)


class UnitTextError(ValueError):
    """Unit text outside the grammar; the message says what and where, never echoing long text."""


def shown(text: str, limit: int = 40) -> str:
    """The text as a message quotes it: its start only, when it is long."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text):,} characters)"


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) for each token; UnitTextError at the first character no token starts with."""
    out: list[tuple[str, str, int]] = []
    position = 0
    end = len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            at = position + len(text[position:]) - len(text[position:].lstrip())
            raise UnitTextError(f"unexpected {text[at]!r} at character {at + 1}")
        kind = match.lastgroup
        out.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    return out


class _Reader:
    """A recursive-descent reader over the token list; depth and factors are bounded, so it is linear."""

    def __init__(self, registry: pint.UnitRegistry[Any], tokens: list[tuple[str, str, int]]) -> None:
        self.registry = registry
        self.tokens = tokens
        self.at = 0
        self.factors = 0

    def peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def where(self) -> str:
        if self.at < len(self.tokens):
            _, token, position = self.tokens[self.at]
            return f"{token!r} at character {position + 1}"
        return "the end"

    def unit(self, depth: int) -> Any:
        result = self.factor(depth)
        while self.peek() == "op":
            operator = self.tokens[self.at][1]
            self.at += 1
            right = self.factor(depth)
            result = result / right if operator == "/" else result * right
        return result

    def factor(self, depth: int) -> Any:
        kind = self.peek()
        if kind is None:
            raise UnitTextError("a unit name is missing at the end")
        _, token, position = self.tokens[self.at]
        if kind == "open":
            if depth >= MAX_DEPTH:
                raise UnitTextError(f"more than {MAX_DEPTH} nested parentheses")
            self.at += 1
            base = self.unit(depth + 1)
            if self.peek() != "close":
                raise UnitTextError(f"expected ')' but found {self.where()}")
            self.at += 1
        elif kind in ("name", "percent", "one"):
            self.at += 1
            base = self.name(token, position) if kind != "one" else self.registry.dimensionless
        elif kind == "number":
            raise UnitTextError(f"a number is not a unit ({self.where()}); only 1 may stand for one")
        else:
            raise UnitTextError(f"expected a unit name but found {self.where()}")
        kind = self.peek()
        if kind in ("power", "super"):
            _, text, where = self.tokens[self.at]
            self.at += 1
            digits = text.translate(_SUPERSCRIPTS).lstrip("*^").strip()
            whole = digits.lstrip("+-").isdigit() and len(digits) <= 4
            power = int(digits) if whole else MAX_POWER + 1
            if abs(power) > MAX_POWER or power == 0:
                raise UnitTextError(
                    f"power {digits} at character {where + 1}: a power is a whole number from -{MAX_POWER} "
                    f"to {MAX_POWER}, not 0"
                )
            base = base**power
        if self.peek() in ("name", "percent", "one", "number", "open"):
            raise UnitTextError(f"write '*' or '/' between units, before {self.where()}")
        return base

    def name(self, token: str, position: int) -> Any:
        self.factors += 1
        if self.factors > MAX_FACTORS:
            raise UnitTextError(f"more than {MAX_FACTORS} unit names")
        if len(token) > MAX_NAME:
            raise UnitTextError(
                f"the name at character {position + 1} is {len(token)} letters; no unit's is over {MAX_NAME}"
            )
        if not _known(self.registry, token):
            raise UnitTextError(f"{token!r} (character {position + 1}) is not a unit name pint or hwdb/units.txt knows")
        try:
            return self.registry.Unit("percent" if token == "%" else token)
        except (pint.PintError, ValueError, AttributeError, TypeError) as exc:  # known, yet pint will not build it
            raise UnitTextError(f"{token!r} (character {position + 1}): {exc}") from None


@lru_cache(maxsize=4096)
def _known(registry: pint.UnitRegistry[Any], name: str) -> bool:
    """Whether the registry knows a name, with or without a prefix or a plural 's'."""
    if name in ("%", "dimensionless"):
        return True
    try:
        return bool(registry.parse_unit_name(name))
    except (pint.PintError, ValueError, AttributeError):
        return False


def read_unit(registry: pint.UnitRegistry[Any], text: object) -> pint.Unit:
    """The unit ``text`` writes, built from ``registry``'s units; :class:`UnitTextError` for anything else."""
    if not isinstance(text, str):
        raise UnitTextError(f"a unit must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise UnitTextError(f"{len(text):,} characters long; a unit is at most {MAX_LENGTH}")
    stripped = text.strip()
    if not stripped:
        raise UnitTextError("empty; write '1' for a plain number")
    if stripped == "dimensionless":
        return registry.dimensionless
    reader = _Reader(registry, _tokens(text))
    unit = reader.unit(0)
    if reader.at < len(reader.tokens):
        what = "an unmatched" if reader.peek() == "close" else "unexpected"
        raise UnitTextError(f"{what} {reader.where()}")
    return cast(pint.Unit, unit)
