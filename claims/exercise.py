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
- ``name$SYMBOL``: an input of the case as used ("4.8 TB/s"), or one of the claim's constants
  (``name$c``: two FLOP per parameter per token).

A design question asks the step model backwards. A line ``name = size OPTION=VALUE ...`` searches
the chip counts for the largest batch whose decode step meets a limit (:mod:`claims.sizing`)::

    base = serving.replica-throughput
    speed = pricing.fast-mode-speedup
    fast = size model=deepseek-v3 hw=gb200 weights=fp8 math=fp8 context=base$L limit='base.step_time / speed'

``model``, ``hw``, ``weights``, ``kv``, ``math``, ``attention-math``, ``layout`` and ``overlap`` name
records and readings as ``python -m claims step`` does; ``context``, ``limit``, ``max-chips`` and
``min-chips`` (the counts tried: by default one to the chip's scale-up domain) are
expressions over the scenarios named above the line, so their numbers come from hwdb too; ``scale=``
and ``set=`` change hwdb for the search as they do for a claim (a chip with twice the FLOP/s). Its refs
are ``name.chips``, ``name.batch``, ``name.step_time``, ``name.per_chip``, ``name.throughput``,
``name.limited_by`` and ``name.link`` for the count whose chips each serve the most (the cheapest
per token), the same with ``fewest_`` before them for the fewest chips that meet the limit, and
``name.limit``, ``name.context``, ``name.min_chips``, ``name.max_chips`` for the question.

Every numeric ref carries its unit, so arithmetic is dimensional: a placeholder may be arithmetic
on refs, ``{{ fp8 / h200 }}``, written as a plain ratio ("0.5", "2×") when the units cancel, or
``{{ 1 - fp8 / h200 | percent }}``; ``{{ ref | number }}`` drops the unit (a result that is not a
pure ratio is written in the units its refs carry, which the sentence must name), and
``{{ expr | in UNIT }}`` writes a result in that unit: ``{{ h100$M_HBM / h100$W | in ms }}`` is
"23.9 ms". Adding or comparing quantities of different dimensions, or writing one in a unit of
another, is an error naming both. Expectations (``fp8 == h200 / 2``, ``trap > h200``,
``h200.verdict == 'holds roughly'``) are the sentences an answer rests on; if the data moves so
that one is false, the build fails, naming the exercise. ``==`` between numbers means equal to
one part in a billion (after converting to one unit).
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

from pint import DimensionalityError

import hwdb
from hwdb.units import parse_unit

from . import formatting, sizing
from .engine import ClaimError
from .scenario import Scenario, scaled, scenario, what_if

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
        elif key in ("scale", "set"):
            _add_change(options, key, value, line)
        else:
            raise ExerciseError(
                f"scenario {line.strip()!r}: unknown option {key!r} (hw, model, row, swap, fields, scale, set)"
            )
    return name, claim_id, options


def _add_change(options: dict[str, Any], key: str, value: str, line: str) -> None:
    """``scale=RECORD.FIELD*FACTOR`` or ``set='RECORD.FIELD=VALUE UNIT'``, added to ``options[key]``."""
    if key == "scale":
        field, star, factor = value.rpartition("*")
        try:
            options.setdefault("scale", {})[field] = float(factor) if star else math.nan
        except ValueError:
            raise ExerciseError(f"scenario {line.strip()!r}: write scale=RECORD.FIELD*FACTOR") from None
        if not star:
            raise ExerciseError(f"scenario {line.strip()!r}: write scale=RECORD.FIELD*FACTOR")
    else:
        field, eq, text = value.partition("=")
        if not eq:
            raise ExerciseError(f"scenario {line.strip()!r}: write set='RECORD.FIELD=VALUE UNIT'")
        options.setdefault("set", {})[field] = text


def lines_of(text: str) -> list[str]:
    """Non-empty lines of an option, ``;`` also separating them."""
    return [part.strip() for line in text.splitlines() for part in line.split(";") if part.strip()]


#: What a scenario line names: a claim on a scenario, or a design search over the step model.
Case = Scenario | sizing.Sizing

#: The word that starts a design search in place of a claim ID (a claim ID always holds a dot).
SIZE = "size"
#: A search's options that name records or readings, and the keyword of :func:`claims.sizing.size` each sets.
SIZE_WORDS = {
    "model": "model",
    "hw": "hw",
    "weights": "weights",
    "kv": "kv",
    "math": "math_format",
    "attention-math": "attention_math",
    "layout": "layout",
    "overlap": "overlap",
}
#: A search's options that are expressions over earlier scenarios: keyword, and the unit it is passed in.
SIZE_NUMBERS = {
    "context": ("context", "token"),
    "limit": ("limit_s", "s"),
    "max-chips": ("max_chips", "1"),
    "min-chips": ("min_chips", "1"),
}


def parse_size(line: str, scenarios: Mapping[str, Case]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``name = size option=value ...`` → (name, keyword arguments for :func:`claims.sizing.size`, changes to
    hwdb as ``scale``/``set``), its numbers computed from the scenarios named before it, so that a design
    question's limits come from hwdb too, and its chip may be a what-if one."""
    match = LET.match(line)
    if match is None or match.group(2) != SIZE:
        raise ExerciseError(f"scenario {line.strip()!r}: write NAME = size model=.. hw=.. context=.. limit=..")
    name, _, rest = match.groups()
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise ExerciseError(f"scenario {line.strip()!r}: {exc}") from None
    options: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not value:
            raise ExerciseError(f"scenario {line.strip()!r}: option {word!r} has no value (write key=value)")
        if key in ("scale", "set"):
            _add_change(changes, key, value, line)
            continue
        if key not in SIZE_WORDS and key not in SIZE_NUMBERS:
            known = ", ".join([*SIZE_WORDS, *SIZE_NUMBERS, "scale", "set"])
            raise ExerciseError(f"scenario {line.strip()!r}: unknown option {key!r} for a search ({known})")
        keyword_name = SIZE_WORDS[key] if key in SIZE_WORDS else SIZE_NUMBERS[key][0]
        if keyword_name in options:
            raise ExerciseError(f"scenario {line.strip()!r}: {key}= given twice")
        options[keyword_name] = value if key in SIZE_WORDS else _number_in(value, SIZE_NUMBERS[key][1], scenarios)
    required = {"model": "model", "hw": "hw", "context": "context", "limit": "limit_s"}
    missing = [key for key, keyword_name in required.items() if keyword_name not in options]
    if missing:
        raise ExerciseError(f"scenario {line.strip()!r}: a search needs {', '.join(missing)}=")
    for key in ("max_chips", "min_chips"):
        if key in options:
            chips = options[key]
            if not float(chips).is_integer():
                raise ExerciseError(f"scenario {line.strip()!r}: {key} is {chips:g}, not a whole number of chips")
            options[key] = int(chips)
    return name, options, changes


def with_changes(db: hwdb.Database | None, changes: Mapping[str, Any]) -> hwdb.Database | None:
    """The database with a search's ``scale`` and ``set`` changes applied, as a claim scenario applies them."""
    if not changes:
        return db
    out = hwdb.load() if db is None else db
    if changes.get("set"):
        out = what_if(out, [f"{key}={text}" for key, text in changes["set"].items()], flag="set")
    if changes.get("scale"):
        out = scaled(out, changes["scale"])
    return out


def _number_in(source: str, unit_text: str, scenarios: Mapping[str, Case]) -> float:
    """An expression over earlier scenarios, as a plain number in ``unit_text``."""
    value, _ = compute(source, scenarios)
    try:
        return float(_quantity_of(value, source).to(parse_unit(unit_text)).magnitude)
    except DimensionalityError as exc:
        raise ExerciseError(f"{source!r}: {exc}") from None


def evaluate_lets(text: str, db: hwdb.Database | None = None) -> dict[str, Case]:
    """Every scenario an exercise names, evaluated in order; errors name the line."""
    out: dict[str, Case] = {}
    for line in lines_of(text):
        match = LET.match(line)
        searching = match is not None and match.group(2) == SIZE
        if searching:
            name, options, changes = parse_size(line, out)
        else:
            name, claim_id, options = parse_let(line)
        if name in out:
            raise ExerciseError(f"scenario {line!r}: the name {name!r} is already taken")
        try:
            if searching:
                out[name] = sizing.size(db=with_changes(db, changes), **options)
            else:
                out[name] = scenario(claim_id, db, **options)
        except (KeyError, ValueError, ClaimError) as exc:  # UnknownClaimError is a KeyError; SizingError a ValueError
            raise ExerciseError(f"scenario {line!r}: {exc.args[0] if exc.args else exc}") from None
    if not out:
        raise ExerciseError("an exercise needs at least one scenario (NAME = CLAIM-ID ...)")
    return out


def _quantity(value: float, unit_text: str) -> Any:
    """A figure with its unit, as pint carries it through arithmetic."""
    return hwdb.Quantity(value, parse_unit(unit_text))


@dataclass(frozen=True)
class Ref:
    """One ref, resolved: its quantity with its unit (None for a text) and how the book writes it."""

    quantity: Any | None
    text: str


def resolve(match: re.Match[str], scenarios: Mapping[str, Case]) -> Ref:
    """What a ref names in these scenarios."""
    name, symbol, attr, record = match.group("name", "symbol", "attr", "record")
    ref = match.group(0)
    if name not in scenarios:
        raise ExerciseError(f"{{{{ {ref} }}}}: no scenario named {name!r} (scenarios: {', '.join(scenarios)})")
    s = scenarios[name]
    if isinstance(s, sizing.Sizing):
        return _sizing_ref(s, ref, attr if not (symbol or record) else None)
    try:
        if symbol:
            return _input_ref(s, symbol)
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
            text = s.detail(attr, record or "")  # raises, naming the details there are
            spec = next(d for d in s.evaluation.derivation.details if d.name == attr)
            return Ref(_quantity(details[attr], spec.unit), text)
        if record:
            row = s.row(record)
            return Ref(_quantity(row.value, s.unit), row.text)
        return Ref(_quantity(s.value, s.unit), s.text)
    except KeyError as exc:
        raise ExerciseError(f"{{{{ {ref} }}}}: {exc.args[0]}") from None


def _input_ref(s: Scenario, symbol: str) -> Ref:
    """``name$SYMBOL``: an input of the case as used, or else one of the claim's definitional constants."""
    item = next((i for i in s.inputs if i.symbol == symbol), None)
    if item is not None:
        return Ref(item.field.quantity.to_base_units(), s.input(symbol))
    constants = s.evaluation.claim.constants
    constant = next((c for c in constants if str(c.symbol) == symbol), None)
    if constant is None:
        known = ", ".join([*(i.symbol for i in s.inputs), *(str(c.symbol) for c in constants)]) or "none"
        raise KeyError(f"claim {s.id} has no input or constant '{symbol}' (it has: {known})")
    return Ref(constant.quantity, formatting.quantity(constant.value, constant.unit))


def _count(value: int, noun: str) -> str:
    """A count with its noun, every digit shown: "8,231 sequences", "1 GPU"."""
    return f"{value:,} {noun[:-1] if value == 1 and noun.endswith('s') else noun}"


def sizing_refs(s: sizing.Sizing) -> dict[str, Ref]:
    """What a search's refs name: the cheapest count's figures, the fewest chips' (``fewest_``), the question's."""
    out: dict[str, Ref] = {}
    for prefix, fit in (("", s.cheapest), ("fewest_", s.fewest)):
        out[prefix + "chips"] = Ref(_quantity(fit.chips, "1"), _count(fit.chips, s.chip_noun))
        out[prefix + "batch"] = Ref(_quantity(fit.batch, "1"), _count(fit.batch, "sequences"))
        out[prefix + "step_time"] = Ref(_quantity(fit.step_s, "s"), formatting.quantity(fit.step_s * 1e3, "ms"))
        out[prefix + "per_chip"] = Ref(_quantity(fit.per_chip, "token/s"), formatting.quantity(fit.per_chip, "token/s"))
        out[prefix + "throughput"] = Ref(
            _quantity(fit.tokens_per_s, "token/s"), formatting.quantity(fit.tokens_per_s, "token/s")
        )
        out[prefix + "limited_by"] = Ref(None, fit.limited_by)
        out[prefix + "link"] = Ref(None, fit.link)
    out["limit"] = Ref(_quantity(s.limit_s, "s"), formatting.quantity(s.limit_s * 1e3, "ms"))
    context = formatting.quantity(s.context, "token", significant=5)  # as hwdb's fields are written: "4,989 tokens"
    out["context"] = Ref(_quantity(s.context, "token"), context)
    out["min_chips"] = Ref(_quantity(s.min_chips, "1"), _count(s.min_chips, s.chip_noun))
    out["max_chips"] = Ref(_quantity(s.max_chips, "1"), _count(s.max_chips, s.chip_noun))
    return out


def _sizing_ref(s: sizing.Sizing, ref: str, attr: str | None) -> Ref:
    refs = sizing_refs(s)
    if attr not in refs:
        raise ExerciseError(f"{{{{ {ref} }}}}: a search's refs are name.FIGURE, one of {', '.join(refs)}")
    return refs[attr]


BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _numeric(value: Any) -> bool:
    """A number or a quantity (not a text, not a truth value)."""
    return isinstance(value, hwdb.Quantity) or (isinstance(value, int | float) and not isinstance(value, bool))


def _quantity_of(value: Any, source: str) -> Any:
    """A numeric result as a quantity: a plain number is a pure ratio."""
    if isinstance(value, hwdb.Quantity):
        return value
    if _numeric(value):
        return _quantity(float(value), "1")
    raise ExerciseError(f"{{{{{source}}}}}: a placeholder shows a number or a text, not {value!r}")


def _equal(a: Any, b: Any) -> bool:
    if _numeric(a) and _numeric(b):
        x, y = _quantity_of(a, ""), _quantity_of(b, "")
        return math.isclose(x.magnitude, y.to(x.units).magnitude, rel_tol=1e-9, abs_tol=1e-12)
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
        if not all(_numeric(v) for v in (left, right)):
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


def compute(source: str, scenarios: Mapping[str, Case]) -> tuple[Any, dict[str, Ref]]:
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
    values = {k: (r.quantity if r.quantity is not None else r.text) for k, r in refs.items()}
    try:
        return _walk(tree, values, source.strip()), refs
    except ZeroDivisionError:
        raise ExerciseError(f"{source.strip()!r}: division by zero") from None
    except DimensionalityError as exc:  # adding, comparing or equating quantities of different dimensions
        raise ExerciseError(f"{source.strip()!r}: {exc}") from None


def in_unit(value: Any, unit_text: str, source: str) -> str:
    """A result written in ``unit_text`` ("23.2 ms", "155T tokens"): where a derived quantity has no claim of
    its own, the reader still sees it in the unit the chapter uses; a unit of another dimension is refused."""
    try:
        unit = parse_unit(unit_text)
    except Exception as exc:  # pint raises several unrelated types for bad text
        raise ExerciseError(f"{{{{{source}}}}}: unknown unit {unit_text!r} ({exc})") from None
    try:
        magnitude = float(_quantity_of(value, source).to(unit).magnitude)
    except DimensionalityError as exc:
        raise ExerciseError(f"{{{{{source}}}}}: cannot be written in {unit_text} ({exc})") from None
    return formatting.quantity(magnitude, unit_text)


def _plain(value: Any, source: str) -> float:
    """A result as a pure number; one that still has units must say which to be written in."""
    quantity = _quantity_of(value, source)
    if not quantity.dimensionless:
        raise ExerciseError(
            f"{{{{{source}}}}}: the result is in {quantity.units:~P}, not a pure ratio: write | in UNIT"
        )
    return float(quantity.to("").magnitude)


def placeholder(source: str, scenarios: Mapping[str, Case]) -> str:
    """``{{ ref }}`` as the book writes it; arithmetic as a ratio, a percentage after ``| percent``, or in a unit
    after ``| in UNIT``."""
    expr, _, form = source.partition("|")
    form = form.strip() or "ratio"
    unit_text = form[3:].strip() if form.startswith("in ") else None
    if unit_text is None and form not in FORMATS:
        raise ExerciseError(f"{{{{{source}}}}}: unknown format {form!r} (formats: {', '.join(FORMATS)}, in UNIT)")
    value, refs = compute(expr, scenarios)
    bare = REF.fullmatch(expr.strip())
    if bare is not None and bare.group("name") and form == "ratio":
        return refs["_ref0"].text  # a bare ref: written with its unit, as the book writes it
    if isinstance(value, str):
        return value
    if not _numeric(value):
        raise ExerciseError(f"{{{{{source}}}}}: a placeholder shows a number or a text, not {value!r}")
    if unit_text is not None:
        return in_unit(value, unit_text, source)
    if form == "number":  # a bare figure, for a sentence that names its own unit ("287 B200s")
        quantity = _quantity_of(value, source)  # a pure ratio as such; else in the units its refs carry
        return formatting.number(float(quantity.to("").magnitude if quantity.dimensionless else quantity.magnitude))
    number = _plain(value, source)
    if form == "percent":
        return formatting.quantity(100 * number, "percent")
    return formatting.quantity(number, "1")


def fill(text: str, scenarios: Mapping[str, Case]) -> str:
    """Every ``{{ ... }}`` in ``text`` replaced by what it names."""
    return PLACEHOLDER.sub(lambda m: placeholder(m.group(1), scenarios), text)


def check(expectations: str, scenarios: Mapping[str, Case]) -> list[str]:
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
