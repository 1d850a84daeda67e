"""Exercises: scenarios named in a page, numbers filled in from them, expectations checked.

An exercise names its scenarios in a small language, one per line::

    h200 = batch.optimal-size hw=h200
    fp8  = batch.optimal-size hw=h200 swap=bf16:fp8
    trap = batch.optimal-size hw=h200 scale=h200.bf16_flops*2

(options: ``hw=``, ``model=``, ``row=``, ``swap=OLD:NEW``, ``fields=OLD:NEW``, ``scale=RECORD.FIELD*FACTOR``,
``set='RECORD.FIELD=VALUE UNIT'``; each as in :func:`claims.scenario.scenario`), and refers to their
numbers in its text as ``{{ ref }}`` and in its expectations as bare refs. A ref is

- ``name``: the case's value ("3,740 tokens"); ``name@record``: another row's value;
- ``name.verdict``, ``name.stated``, ``name.judged``, ``name.case``: the verdict, the lecture's
  figure, what the verdict is judged on, the case's record; ``name.row_verdict``: the case row's own
  verdict, where the claim's is a population's;
- ``name.DETAIL`` (and ``name.DETAIL@record``): one of the claim's details ("312 tokens");
- ``name$SYMBOL``: an input of the case as used ("4.8 TB/s").

A placeholder may also be arithmetic on numeric refs, ``{{ fp8 / h200 }}``, written as a plain
ratio ("0.5", "2×"), or ``{{ 1 - fp8 / h200 | percent }}``; ``{{ ref | number }}`` drops the
unit. Expectations (``fp8 == h200 / 2``, ``trap > h200``, ``h200.verdict == 'holds roughly'``)
are the sentences an answer rests on; if
the data moves so that one is false, the build fails, naming the exercise. ``==`` between
numbers means equal to one part in a billion.
"""

from __future__ import annotations

import ast
import keyword
import math
import operator
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import hwdb

from . import formatting
from .engine import ClaimError
from .scenario import Scenario, scenario

#: One scenario line: ``name = claim-id option=value ...``.
LET = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*(\S+)(.*)$")
#: A ref inside a placeholder or an expectation (quoted strings are matched first and left alone).
REF = re.compile(
    r"""(?P<string>'[^']*'|"[^"]*")"""
    r"|(?<![\w.])(?P<name>[A-Za-z_]\w*)(?:\$(?P<symbol>[\w^]+)|(?:\.(?P<attr>\w+))?(?:@(?P<record>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?))?)"
)
PLACEHOLDER = re.compile(r"\{\{(.+?)\}\}")
TEXT_ATTRIBUTES = ("verdict", "row_verdict", "stated", "judged", "case")
FORMATS = ("ratio", "percent", "number")


class ExerciseError(ValueError):
    """An exercise that cannot be evaluated: a bad scenario line, an unknown ref, a false expectation."""


def parse_let(line: str) -> tuple[str, str, dict[str, Any]]:
    """``name = claim option=value ...`` → (name, claim ID, keyword arguments for :func:`scenario`)."""
    match = LET.match(line)
    if match is None:
        raise ExerciseError(f"scenario {line.strip()!r}: write NAME = CLAIM-ID [hw=..] [model=..] [swap=OLD:NEW] ...")
    name, claim_id, rest = match.groups()
    options: dict[str, Any] = {}
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise ExerciseError(f"scenario {line.strip()!r}: {exc}") from None
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not value:
            raise ExerciseError(f"scenario {line.strip()!r}: option {word!r} has no value (write key=value)")
        if key in ("hw", "model", "row"):
            if key in options:
                raise ExerciseError(f"scenario {line.strip()!r}: {key}= given twice")
            options[key] = value
        elif key in ("swap", "fields"):
            old, colon, new = value.partition(":")
            if not colon:
                raise ExerciseError(f"scenario {line.strip()!r}: write {key}=OLD:NEW, not {value!r}")
            options.setdefault(key, {})[old] = new
        elif key == "scale":
            field, star, factor = value.rpartition("*")
            try:
                options.setdefault("scale", {})[field] = float(factor) if star else math.nan
            except ValueError:
                raise ExerciseError(f"scenario {line.strip()!r}: write scale=RECORD.FIELD*FACTOR") from None
            if not star:
                raise ExerciseError(f"scenario {line.strip()!r}: write scale=RECORD.FIELD*FACTOR")
        elif key == "set":
            field, eq, text = value.partition("=")
            if not eq:
                raise ExerciseError(f"scenario {line.strip()!r}: write set='RECORD.FIELD=VALUE UNIT'")
            options.setdefault("set", {})[field] = text
        else:
            raise ExerciseError(
                f"scenario {line.strip()!r}: unknown option {key!r} (hw, model, row, swap, fields, scale, set)"
            )
    return name, claim_id, options


def lines_of(text: str) -> list[str]:
    """Non-empty lines of an option, ``;`` also separating them."""
    return [part.strip() for line in text.splitlines() for part in line.split(";") if part.strip()]


def evaluate_lets(text: str, db: hwdb.Database | None = None) -> dict[str, Scenario]:
    """Every scenario an exercise names, evaluated; errors name the line."""
    out: dict[str, Scenario] = {}
    for line in lines_of(text):
        name, claim_id, options = parse_let(line)
        if name in out:
            raise ExerciseError(f"scenario {line!r}: the name {name!r} is already taken")
        try:
            out[name] = scenario(claim_id, db, **options)
        except (KeyError, ValueError, ClaimError) as exc:  # UnknownClaimError is a KeyError
            raise ExerciseError(f"scenario {line!r}: {exc.args[0] if exc.args else exc}") from None
    if not out:
        raise ExerciseError("an exercise needs at least one scenario (NAME = CLAIM-ID ...)")
    return out


@dataclass(frozen=True)
class Ref:
    """One ref, resolved: its number (None for text) and how the book writes it."""

    number: float | None
    text: str


def resolve(match: re.Match[str], scenarios: Mapping[str, Scenario]) -> Ref:
    """What a ref names in these scenarios."""
    name, symbol, attr, record = match.group("name", "symbol", "attr", "record")
    ref = match.group(0)
    if name not in scenarios:
        raise ExerciseError(f"{{{{ {ref} }}}}: no scenario named {name!r} (scenarios: {', '.join(scenarios)})")
    s = scenarios[name]
    try:
        if symbol:
            item = next((i for i in s.inputs if i.symbol == symbol), None)
            if item is None:
                s.input(symbol)  # raises, naming the inputs there are
            assert item is not None
            return Ref(item.field.si, s.input(symbol))  # SI base units: ratios of inputs hold across units
        if attr in TEXT_ATTRIBUTES:
            if record:
                raise ExerciseError(f"{{{{ {ref} }}}}: .{attr} is the case's; it takes no @record")
            if attr == "row_verdict":  # the case's own row, where the claim's verdict is a population's
                row_verdict = s.evaluation.reference.verdict
                text = row_verdict.value if row_verdict is not None else "outside the claim's scope"
            else:
                text = s.verdict.value if attr == "verdict" else str(getattr(s, attr))
            return Ref(None, text)
        if attr:
            rows = [r for r in s.evaluation.rows if r.record is not None and r.record.id == record] if record else []
            if record and not rows:
                s.row(record)  # raises, naming the rows there are
            details = (rows[0] if rows else s.evaluation.reference).details
            text = s.detail(attr, record or "")
            return Ref(details[attr], text)
        if record:
            row = s.row(record)
            return Ref(row.value, row.text)
        return Ref(s.value, s.text)
    except KeyError as exc:
        raise ExerciseError(f"{{{{ {ref} }}}}: {exc.args[0]}") from None


BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: _equal,
    ast.NotEq: lambda a, b: not _equal(a, b),
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _walk(node: ast.AST, values: Mapping[str, Any], source: str) -> Any:
    """Arithmetic, comparisons, and/or/not on numbers, strings and refs; nothing else."""
    if isinstance(node, ast.Expression):
        return _walk(node.body, values, source)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float | str)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.Name) and node.id in values:
        return values[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
        inner = _walk(node.operand, values, source)
        return -inner if isinstance(node.op, ast.USub) else not inner
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _walk(node.left, values, source), _walk(node.right, values, source)
        if not all(isinstance(v, int | float) for v in (left, right)):
            raise ExerciseError(f"{source!r}: arithmetic on a text ref")
        return BINARY[type(node.op)](left, right)
    if isinstance(node, ast.BoolOp):
        parts = [bool(_walk(v, values, source)) for v in node.values]
        return all(parts) if isinstance(node.op, ast.And) else any(parts)
    if isinstance(node, ast.Compare) and all(type(op) in COMPARE for op in node.ops):
        left = _walk(node.left, values, source)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _walk(comparator, values, source)
            if not COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise ExerciseError(f"{source!r}: only numbers, refs, + - * / **, comparisons, and/or/not are allowed")


def compute(source: str, scenarios: Mapping[str, Scenario]) -> tuple[Any, dict[str, Ref]]:
    """Evaluate an expression over refs: (its value, the refs it used by their stand-in names)."""
    refs: dict[str, Ref] = {}

    def stand_in(match: re.Match[str]) -> str:
        if match.group("string"):
            return match.group(0)
        if keyword.iskeyword(match.group("name")):
            return match.group(0)
        key = f"_ref{len(refs)}"
        refs[key] = resolve(match, scenarios)
        return key

    python = REF.sub(stand_in, source.strip())
    try:
        tree = ast.parse(python, mode="eval")
    except SyntaxError:
        raise ExerciseError(f"{source.strip()!r}: not an expression over refs") from None
    values = {k: (r.number if r.number is not None else r.text) for k, r in refs.items()}
    try:
        return _walk(tree, values, source.strip()), refs
    except ZeroDivisionError:
        raise ExerciseError(f"{source.strip()!r}: division by zero") from None


def placeholder(source: str, scenarios: Mapping[str, Scenario]) -> str:
    """``{{ ref }}`` as the book writes it; arithmetic as a ratio, or a percentage after ``| percent``."""
    expr, _, form = source.partition("|")
    form = form.strip() or "ratio"
    if form not in FORMATS:
        raise ExerciseError(f"{{{{{source}}}}}: unknown format {form!r} (formats: {', '.join(FORMATS)})")
    value, refs = compute(expr, scenarios)
    bare = REF.fullmatch(expr.strip())
    if bare is not None and bare.group("name") and form == "ratio":
        return refs["_ref0"].text  # a bare ref: written with its unit, as the book writes it
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExerciseError(f"{{{{{source}}}}}: a placeholder shows a number or a text, not {value!r}")
    if form == "percent":
        return formatting.quantity(100 * value, "percent")
    if form == "number":  # a bare figure, for a sentence that names its own unit ("287 B200s")
        return formatting.number(value)
    return formatting.quantity(value, "1")


def fill(text: str, scenarios: Mapping[str, Scenario]) -> str:
    """Every ``{{ ... }}`` in ``text`` replaced by what it names."""
    return PLACEHOLDER.sub(lambda m: placeholder(m.group(1), scenarios), text)


def check(expectations: str, scenarios: Mapping[str, Scenario]) -> list[str]:
    """The expectations that do not hold (empty when the answer's sentences are still true)."""
    failed = []
    for line in lines_of(expectations):
        value, refs = compute(line, scenarios)
        if not isinstance(value, bool):
            raise ExerciseError(f"expectation {line!r} is not a comparison")
        if not value:
            shown = ", ".join(r.text for r in refs.values())
            failed.append(f"{line} (with {shown})")
    return failed
