"""LaTeX for the book's equations, written the way a person writes them.

SymPy prints a sum in its canonical order, which puts a negative term first:
``-n_dense + n_layers``, ``(-k/E + 1)^B``. A reader expects ``n_layers - n_dense`` and
``(1 - k/E)^B``. :func:`latex` keeps SymPy's order within the positive terms and within the
negative ones, but writes the positive terms first. Nothing else changes, so the printed
equation is still exactly the expression the engine evaluates.

It also reads symbol names literally. SymPy takes a trailing "BM", "dot" or "hat" in a name
for a decoration, so ``M_HBM`` came out as M with a bold H; here only Greek letter names are
translated (``alpha`` to α), and every other part of a name is printed as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.core.relational import Relational
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import LatexPrinter, greek_letters_set, tex_greek_dictionary


class _ReaderOrder(LatexPrinter):  # type: ignore[misc]  # SymPy has no type hints
    """SymPy's printer with the terms of every sum reordered: positive first, then negative."""

    def _as_ordered_terms(self, expr: sp.Basic, order: str | None = None) -> list[sp.Basic]:
        terms: list[sp.Basic] = list(super()._as_ordered_terms(expr, order=order))
        if isinstance(expr, sp.Add):
            terms.sort(key=lambda term: bool(term.could_extract_minus_sign()))  # stable: each group keeps its order
        return terms

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        """A name that is a ratio of two quantities ("D_inf/D_pre") is printed as one."""
        if "/" in expr.name and expr not in self._settings["symbol_names"]:
            return "/".join(self._deal_with_super_sub(part, style) for part in expr.name.split("/"))
        return str(super()._print_Symbol(expr, style))

    def _split_super_sub(self, name: str) -> tuple[str, list[str], list[str]]:
        if name is None or "{" in name:
            return (name, [], [])
        base, supers, subs = split_super_sub(name)
        return (_greek(base), [_greek(part) for part in supers], [_greek(part) for part in subs])


def _greek(text: str) -> str:
    """A Greek letter's name as its LaTeX command; anything else as written (no decorations)."""
    if text in tex_greek_dictionary:
        return str(tex_greek_dictionary[text])
    if text in greek_letters_set:
        return "\\" + text
    return text


def latex(expr: sp.Basic, **settings: Any) -> str:
    """``expr`` as LaTeX, positive terms of each sum first (see the module docstring)."""
    if _NAMES:
        settings = {"symbol_names": dict(_NAMES), "mul_symbol": "times", **settings}
    return str(_ReaderOrder(settings).doprint(expr))


# A display equation wider than a phone's column (about 350 px, some 36 characters of math at the
# book's size) is split over lines. Widths are estimated in characters from the expression itself.
BUDGET = 30.0


# Symbols printed as something else (a worked line prints each input's value in its place), and how
# wide that text is: set for the duration of one display() call.
_NAMES: dict[sp.Symbol, str] = {}


def _shown_width(tex: str) -> float:
    """The width of a short LaTeX text such as ``2.5\\,\\text{PFLOP/s}``, in characters."""
    plain = re.sub(r"\\(text|mathrm)\{([^}]*)\}", r"\2", tex)
    plain = re.sub(r"\\[a-zA-Z]+|[{}]", "", plain)
    return float(len(plain))


def width(expr: sp.Basic) -> float:
    """About how many characters wide ``expr`` prints (a fraction is as wide as its wider part)."""
    if isinstance(expr, sp.Symbol) and expr in _NAMES:
        return _shown_width(_NAMES[expr]) + 1.5  # and the × that joins it to its neighbour
    if isinstance(expr, sp.Symbol):
        base, supers, subs = split_super_sub(expr.name)
        return len(_greek(base).lstrip("\\")[:2] if base in greek_letters_set else base) + 0.7 * sum(
            len(part) for part in [*supers, *subs]
        )
    if isinstance(expr, sp.Number):
        return len(str(expr)) if not isinstance(expr, sp.Rational) or expr.q == 1 else 2.0
    if isinstance(expr, sp.Add):
        return sum(width(a) for a in expr.args) + 2.0 * (len(expr.args) - 1)
    if isinstance(expr, sp.Mul):
        numerator, denominator = sp.fraction(expr)
        if denominator != 1:
            return max(width(numerator), width(denominator)) + 1.0
        return sum(width(a) + (2.0 if isinstance(a, sp.Add) else 0.5) for a in expr.args)
    if isinstance(expr, sp.Pow):
        if expr.exp == -1:
            return width(expr.base) + 1.0
        return width(expr.base) + 0.7 * width(expr.exp) + (2.0 if isinstance(expr.base, sp.Add) else 0.0)
    if isinstance(expr, sp.Function):
        return len(type(expr).__name__) + 2.0 + sum(width(a) + 1.0 for a in expr.args)
    if isinstance(expr, Relational):
        return width(expr.lhs) + width(expr.rhs) + 3.0
    return float(len(latex(expr))) * 0.6


# Functions whose brackets may open on one line and close on another.
_BRACKETS: dict[type, tuple[str, str]] = {
    sp.ceiling: (r"\bigl\lceil ", r"\bigr\rceil"),
    sp.floor: (r"\bigl\lfloor ", r"\bigr\rfloor"),
}

Piece = tuple[str, float, str]  # LaTeX, estimated width, what to write before it if it opens a line


def _pieces(expr: sp.Basic, budget: float) -> list[Piece]:
    """``expr`` as consecutive pieces, each about ``budget`` wide or less where it can be split."""
    if width(expr) <= budget:
        return [(latex(expr), width(expr), "")]
    if isinstance(expr, sp.Add):
        out: list[Piece] = []
        for i, term in enumerate(_ReaderOrder({})._as_ordered_terms(expr)):
            negative = term.could_extract_minus_sign()
            body = -term if negative else term
            sign = "- " if negative else ("+ " if i else "")
            parts = _pieces(body, budget - 2)
            if isinstance(body, sp.Add) and len(parts) > 1:
                parts = _wrap(parts)
            text, size, _ = parts[0]
            parts[0] = (sign + text, size + len(sign), "")
            out.extend(parts)
        return _pack(out, budget)
    if isinstance(expr, (sp.Max, sp.Min, sp.Tuple)):
        opening = {sp.Max: r"\max\bigl(", sp.Min: r"\min\bigl("}.get(type(expr), r"\bigl(")
        out = [(opening, 4.0, "")]
        for i, arg in enumerate(expr.args):
            parts = _pieces(arg, budget - 2)
            end = "," if i < len(expr.args) - 1 else r"\bigr)"
            text, size, lead = parts[-1]
            parts[-1] = (text + end, size + 1, lead)
            out.extend(parts)
        return _pack(out, budget)
    brackets = _BRACKETS.get(type(expr)) or (
        (f"{expr.func.__name__}\\bigl(", r"\bigr)") if isinstance(expr, AppliedUndef) else None
    )
    if brackets is not None and len(expr.args) == 1:  # F(x), ⌈x⌉: open here, close after the argument
        parts = _pieces(expr.args[0], budget - 2)
        text, size, lead = parts[0]
        parts[0] = (brackets[0] + text, size + 2, lead)
        text, size, lead = parts[-1]
        parts[-1] = (text + brackets[1], size + 1, lead)
        return _pack(parts, budget)
    if isinstance(expr, sp.Mul):
        numerator, denominator = sp.fraction(expr)
        if denominator != 1:
            top = _pieces(numerator, budget)
            bottom = _pieces(denominator, budget - 2)
            top = _wrap(top) if isinstance(numerator, sp.Add) or len(top) > 1 else top
            bottom = _wrap(bottom) if isinstance(denominator, (sp.Add, sp.Mul)) or len(bottom) > 1 else bottom
            text, size, _ = bottom[0]
            bottom[0] = (r"\div " + text, size + 2, "")
            return _pack(top + bottom, budget)
        out = []
        for i, factor in enumerate(expr.as_ordered_factors()):
            parts = _pieces(factor, budget - 2)
            if isinstance(factor, sp.Add):
                single = [(r"\left(" + parts[0][0] + r"\right)", parts[0][1] + 2, "")]
                parts = _wrap(parts) if len(parts) > 1 else single
            if i:
                text, size, _ = parts[0]
                # Values side by side need a sign between them; symbols are multiplied by juxtaposition.
                parts[0] = (r"\times " + text if _NAMES else text, size, "" if _NAMES else r"\times ")
            out.extend(parts)
        return _pack(out, budget)
    return [(latex(expr), width(expr), "")]


def _wrap(parts: list[Piece]) -> list[Piece]:
    """Parentheses that may open on one line and close on another."""
    parts = list(parts)
    text, size, lead = parts[0]
    parts[0] = (r"\bigl(" + text, size + 1, lead)
    text, size, lead = parts[-1]
    parts[-1] = (text + r"\bigr)", size + 1, lead)
    return parts


def _pack(parts: list[Piece], budget: float) -> list[Piece]:
    """Join neighbouring pieces while the line stays within ``budget``."""
    lines: list[Piece] = []
    for text, size, lead in parts:
        if lines and lines[-1][1] + size <= budget:
            lines[-1] = (lines[-1][0] + " " + text, lines[-1][1] + size, lines[-1][2])
        else:
            lines.append((text, size, lead))
    return lines


def _lines(pieces: list[Piece]) -> list[str]:
    return [(lead if i else "") + text for i, (text, _, lead) in enumerate(pieces)]


# Past this many lines' worth of width, repeated parts are named once (u_1, u_2, ...) and printed below.
NAMED_BEYOND = 4.0


@contextmanager
def _printing(names: Mapping[sp.Symbol, str] | None) -> Iterator[None]:
    _NAMES.clear()
    _NAMES.update(names or {})
    try:
        yield
    finally:
        _NAMES.clear()


def rows(expr: sp.Basic, budget: float = BUDGET, names: Mapping[sp.Symbol, str] | None = None) -> list[str]:
    """The rows of ``aligned`` that :func:`display` would print, for a caller that adds rows of its own.
    ``names`` prints symbols as other text (a value with its unit) and measures them by it."""
    with _printing(names):
        if isinstance(expr, Relational):
            return _relation_rows(expr, budget)
        lines = _lines(_pieces(expr, budget))
        return [lines[0], *(rf"&\quad {line}" for line in lines[1:])]


def display(expr: sp.Basic, budget: float = BUDGET) -> str:
    """A display equation: one line where it fits, else an ``aligned`` block split at sums, products,
    quotients and the arguments of max and min, continuation lines indented under the first. A very long
    one names its repeated parts first, so each is printed once."""
    if width(expr) <= budget:
        return latex(expr)
    where: list[tuple[sp.Symbol, sp.Basic]] = []
    if width(expr) > NAMED_BEYOND * budget:
        expr, where = _name_repeats(expr, budget)
    out = _relation_rows(expr, budget)
    for i, (name, part) in enumerate(where):
        definition = _relation_rows(sp.Eq(name, part, evaluate=False), budget - 9)  # after "where" and the quad
        out.append(
            (r"&\quad\text{where } " if i == 0 else r"&\quad\phantom{\text{where }} ")
            + definition[0].replace("&", "", 2)
        )
        out.extend(definition[1:])
    if len(out) == 1:
        return latex(expr)
    return r"\begin{aligned} " + r" \\ ".join(out) + r" \end{aligned}"


def _relation_rows(expr: sp.Basic, budget: float) -> list[str]:
    """Rows of an ``aligned`` block: the first aligned on the relation, the rest indented under it."""
    if isinstance(expr, Relational):
        op = {"==": "=", ">=": r"\geq", "<=": r"\leq", ">": ">", "<": "<", "!=": r"\neq"}[expr.rel_op]
        left = _lines(_pieces(expr.lhs, budget))
        right = _lines(_pieces(expr.rhs, budget - min(width(expr.lhs), budget / 2) - 2))
        if len(left) > 1:  # a long left side on lines of its own, the relation opening the next
            rows = [f"&{line}" for line in left]
            rows.append(f"&{op} {right[0]}")
        else:
            rows = [f"{left[0]} &{op} {right[0]}"]
        rows.extend(rf"&\quad {line}" for line in right[1:])
        return rows
    lines = _lines(_pieces(expr, budget))
    return [f"&{lines[0]}", *(rf"&\quad {line}" for line in lines[1:])]


def _name_repeats(expr: sp.Basic, budget: float) -> tuple[sp.Basic, list[tuple[sp.Symbol, sp.Basic]]]:
    """``expr`` with each long part it repeats named once (``u_1``...), and those names' definitions.

    Parts too short to be worth a name are put back where they were, so only the long repeats remain."""
    sides = [expr.lhs, expr.rhs] if isinstance(expr, Relational) else [expr]
    names = (sp.Symbol(f"u_{i}") for i in range(1, 1000))
    replacements, reduced = sp.cse(sides, symbols=names, optimizations=None)
    short: dict[sp.Basic, sp.Basic] = {}
    named: list[tuple[sp.Symbol, sp.Basic]] = []
    for name, part in replacements:  # in order: a part uses only names defined before it
        part = part.xreplace(short)
        if width(part) <= budget / 3:
            short[name] = part
        else:
            named.append((name, part))
    reduced = [side.xreplace(short) for side in reduced]
    back = {name: part for name, part in named}
    for name, part in reversed(named):
        back = {n: p.xreplace({name: part}) for n, p in back.items()}
    if [side.xreplace(back) for side in reduced] != sides:  # cse evaluated something the step shows unevaluated
        return expr, []
    renumber = {old: sp.Symbol(f"u_{i}") for i, (old, _) in enumerate(named, start=1)}
    named = [(renumber[name], part.xreplace(renumber)) for name, part in named]
    reduced = [side.xreplace(renumber) for side in reduced]
    if isinstance(expr, Relational):
        return type(expr)(reduced[0], reduced[1], evaluate=False), named
    return reduced[0], named
