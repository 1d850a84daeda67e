"""A claim's arithmetic written out: the closed form, then the same form with the reference inputs in
place of the symbols, then the value.

The chapters show these lines where their reasoning reaches a number, so a reader sees which numbers
are combined and how (``B* = F b / (c W) × S = …``), not only the result. Each line is printed from the
claim's derivation and the inputs of the evaluation the book shows, so it cannot drift from the value
the claim box pins.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import formatting, typeset
from .engine import Evaluation, Row
from .typeset import latex


class WorkedError(ValueError):
    """A worked line was asked for something the claim does not compute."""


@dataclass(frozen=True)
class Worked:
    """The three lines, as LaTeX, and the result as the book writes it."""

    name: str  # the left-hand side: the claim's or detail's symbol
    symbolic: str
    substituted: str
    result: str
    rows: tuple[str, ...] = ()  # the aligned rows, each step split over lines where it is too wide

    def aligned(self) -> str:
        """One display equation, one step per line (a long step over several), aligned on the equals sign."""
        return r"\begin{aligned} " + r" \\ ".join(self.rows) + r" \end{aligned}"


def _escape(text: str) -> str:
    return text.replace("\\", r"\textbackslash ").replace("%", r"\%").replace("&", r"\&").replace("#", r"\#")


# Inside a worked line the unit of a per-weight or per-token factor is read from its neighbours: a weight
# of 2 B/param times 671B parameters is written 2 B × 671B (bytes with a space, a count's scale without),
# as a person working it out on paper would.
COMPACT_UNITS = {"B/param": "B", "FLOP/param/tok": "FLOP", "parameters": "", "tokens": "tok"}


def _value_tex(text: str) -> str:
    """A formatted value ("2.5 PFLOP/s", "671B parameters") as LaTeX: number upright, unit as text."""
    number, _, rest = text.partition(" ")
    rest = COMPACT_UNITS.get(rest, rest)
    digits = number.rstrip("kMBTQ")
    suffix = number[len(digits) :]  # 671B, 200k: the count's scale, upright like a unit
    number = digits.replace(",", "{,}") + (rf"\text{{{suffix}}}" if suffix else "")
    if not rest:
        return number if number[:1].isdigit() else rf"\text{{{_escape(number)}}}"
    return rf"{number}\,\text{{{_escape(rest)}}}"


def _row(e: Evaluation, record: str) -> Row:
    if not record:
        return e.reference
    for row in e.rows:
        if row.record is not None and row.record.id == record:
            return row
    raise WorkedError(f"claim '{e.claim.id}' has no row '{record}'")


def worked(e: Evaluation, *, name: str = "", record: str = "", detail: str = "") -> Worked:
    """The worked lines of the claim's value (or of one ``detail``) on the reference row (or ``record``).

    ``name`` is the left-hand side as LaTeX (``B^*``). Every symbol of the closed form must be an input or
    a constant of the claim: a form that still holds an intermediate quantity cannot be written out.
    """
    row = _row(e, record)
    if detail:
        spec = {d.name: d for d in e.derivation.details}.get(detail)
        if spec is None:
            raise WorkedError(f"claim '{e.claim.id}' has no detail '{detail}'")
        expr, shown = spec.expr, formatting.detail(spec, row.details[detail])
    else:
        expr, shown = e.derivation.result, formatting.claim_quantity(e.claim, row.value)
    by_name: dict[str, str] = {}  # symbols are matched by name: the catalogue's carry assumptions (positive=True)
    for item in row.inputs:
        # As the database holds it (up to five figures), so that a reader's own arithmetic on the printed
        # numbers gives the printed result.
        by_name[item.symbol] = _value_tex(formatting.field_value(item.field))
    for constant in e.claim.constants:
        by_name[str(constant.symbol)] = _value_tex(
            f"{formatting.number(constant.value)} {formatting.unit(constant.unit)}".strip()
        )
    lhs = name or _name_of(e, expr, detail)
    # A constant of one that only carries a unit (one token, one parameter) adds nothing a reader needs.
    ones = {str(c.symbol) for c in e.claim.constants if c.value == 1}
    if isinstance(expr, sp.Expr) and ones:
        expr = expr.xreplace({s: sp.Integer(1) for s in expr.free_symbols if str(s) in ones})
    free = expr.free_symbols if isinstance(expr, sp.Expr) else set()
    values = {s: by_name[str(s)] for s in free if str(s) in by_name}
    unknown = sorted(str(s) for s in free if str(s) not in by_name)
    if unknown:
        raise WorkedError(
            f"claim '{e.claim.id}'{' detail ' + repr(detail) if detail else ''}: its closed form holds "
            f"{', '.join(unknown)}, which is neither an input nor a constant; it cannot be written out"
        )
    symbolic = typeset.rows(sp.Eq(sp.Symbol("LHS"), expr, evaluate=False))
    substituted = typeset.rows(expr, names=values)
    rows = [
        symbolic[0].replace("LHS", lhs, 1),
        *symbolic[1:],
        "&= " + substituted[0].removeprefix("&"),
        *substituted[1:],
        rf"&= \text{{{_escape(shown)}}}",
    ]
    return Worked(
        name=lhs,
        symbolic=latex(expr),
        substituted=latex(expr, symbol_names=values, mul_symbol="times"),
        result=shown,
        rows=tuple(rows),
    )


def _name_of(e: Evaluation, expr: sp.Basic, detail: str) -> str:
    """The symbol a derivation step defines as this closed form, as LaTeX (``B^*``)."""
    if not detail:
        for step in e.derivation.steps:
            if isinstance(step.math, sp.Eq) and isinstance(step.math.lhs, sp.Symbol) and step.math.rhs == expr:
                return latex(step.math.lhs)
    raise WorkedError(
        f"claim '{e.claim.id}'{' detail ' + repr(detail) if detail else ''}: no derivation step names this "
        "closed form; give the left-hand side (the directive's :name: option)"
    )
