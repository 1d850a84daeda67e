"""Scenarios: a claim evaluated on another chip or model, or with some of its inputs changed.

The engine evaluates a claim as the catalogue binds it. A scenario changes what goes in and
nothing that comes out, so the verdict is still derived by the same policy:

- ``hw`` / ``model`` / ``row``: another record as the claim's case, either its reference row or,
  for a claim that reads one fixed record of that kind (DeepSeek-V3, a GB200), that record;
- ``swap``: fixed inputs read from another record (``{"bf16": "fp8"}``: weights stored in FP8 while
  the FLOP/s stay BF16's; ``{"lecture-frontier-model": "deepseek-v3"}``: a real model for an assumed one);
- ``fields``: an input read from another field of the same record (``{"bf16_flops": "fp8_flops"}``:
  the arithmetic in FP8 too);
- ``set``: a field replaced by a typed value with its unit, as ``python -m claims show --set``;
- ``scale``: a field multiplied by a factor (a spec sheet's sparse FLOP/s read as dense: ×2).

The command line's ``show --hw/--set`` and the Python API (:func:`evaluate`, exported as
``claims.evaluate``) go through here; the result, :class:`Scenario`, displays itself in Jupyter.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, overload

import hwdb
from hwdb.loader import count_problem, magnitude_problem, value_problem
from hwdb.model import WHAT_IF
from hwdb.schema import CONVENTIONS, FIELDS
from hwdb.unit_text import shown
from hwdb.units import UnitTextError, parse_unit

from . import engine, formatting
from .engine import Claim, Evaluation, InputValue
from .policy import Verdict
from .registry import get_claim

#: A typed value: one decimal number (NaN and infinity spelled out, to be refused by name) and an optional unit,
#: which hwdb.unit_text's grammar reads (pint never evaluates the text).
WHAT_IF_VALUE = re.compile(
    r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,4})?|[-+]?(?:inf|nan))\s*(.*?)\s*$",
    re.IGNORECASE | re.DOTALL,
)

#: Record kinds ``hw=`` accepts: the machines, not the models, prices or statistics.
HARDWARE_KINDS = ("accelerator", "system", "interconnect", "memory-tier")


def _field(db: hwdb.Database, key: str, prefix: str, usage: str) -> tuple[str, str, Any]:
    """(record, field, current quantity) for ``RECORD.FIELD``; IDs may hold dots, field names never."""
    record_id, _, field_name = key.strip().rpartition(".")
    if not record_id:
        raise ValueError(f"{prefix}: {usage}")
    if record_id not in db.records or not db.records[record_id].has(field_name):
        raise ValueError(f"{prefix}: hwdb has no field {record_id}.{field_name}")
    return record_id, field_name, db.records[record_id][field_name].quantity


def _checked(flag: str, what: str, record_id: str, field_name: str, quantity: Any) -> Any:
    """The quantity, if the field's own rules (sign, range, plausibility) accept it."""
    spec = FIELDS.get(field_name)
    wrong = value_problem(spec, float(quantity.magnitude)) if spec else None
    if wrong is None and spec is not None and spec.count:
        wrong = count_problem(spec, float(quantity.to_base_units().magnitude))
    if wrong is None:
        wrong = magnitude_problem(quantity)
    if wrong:
        raise ValueError(f"{flag} {shown(what, 80)}: {record_id}.{field_name} {wrong}")
    return quantity


def what_if(db: hwdb.Database, assignments: Iterable[str], flag: str = "--set") -> hwdb.Database:
    """Apply ``RECORD.FIELD=VALUE`` assignments (a value with a unit, or a bare number in the field's unit)."""
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        usage = "write RECORD.FIELD=VALUE, e.g. h100-sxm.hbm_bandwidth='4 TB/s'"
        quoted = shown(assignment, 80)  # a message quotes the start of a long assignment, not all of it
        if not sep:
            raise ValueError(f"{flag} {quoted}: {usage}")
        record_id, field_name, current = _field(db, key, f"{flag} {quoted}", usage)
        # A number and a unit, read separately: pint would evaluate an expression such as 9**9**9 and never return.
        match = WHAT_IF_VALUE.match(text)
        if match is None:
            raise ValueError(
                f"{flag} {quoted}: cannot read {shown(text.strip())} as a number and a unit, e.g. '4 TB/s'"
            )
        number_text, unit_text = match.group(1), match.group(2).strip()
        divisor = 1
        spec = FIELDS.get(field_name)
        if spec is not None and spec.convention is not None:  # as in a data file: say how the figure was printed
            choices = CONVENTIONS[spec.convention]
            *unit_words, stated = unit_text.split() or [""]
            if stated not in choices:
                raise ValueError(
                    f"{flag} {quoted}: say how the figure was printed, ending with one of {sorted(choices)}"
                )
            divisor, unit_text = choices[stated], " ".join(unit_words)
        try:
            unit = parse_unit(unit_text) if unit_text else current.units
        except UnitTextError as exc:
            raise ValueError(f"{flag} {quoted}: unknown unit {shown(unit_text)}: {exc}") from None
        quantity: Any = hwdb.Quantity(float(number_text) / divisor, unit)
        if quantity.dimensionless and not current.dimensionless:
            quantity = hwdb.Quantity(float(number_text) / divisor, current.units)
        _checked(flag, assignment, record_id, field_name, quantity)
        db = db.with_value(record_id, field_name, quantity, note=f"what-if: {flag} {assignment}")
    return db


def scaled(db: hwdb.Database, factors: Mapping[str, float]) -> hwdb.Database:
    """Multiply ``RECORD.FIELD`` by a factor: the datasheet's figure, read another way."""
    for key, factor in factors.items():
        record_id, field_name, current = _field(db, key, f"scale {key!r}", "name a field as RECORD.FIELD")
        if not (isinstance(factor, int | float) and 0 < factor < float("inf")):
            raise ValueError(f"scale {key!r}: the factor must be a positive finite number, not {factor!r}")
        quantity = _checked("scale", key, record_id, field_name, current * factor)
        db = db.with_value(record_id, field_name, quantity, note=f"what-if: {key} × {formatting.number(factor)}")
    return db


def _keep_derivation(old: Claim, new: Claim) -> Claim:
    """A rebound claim has the same SymPy derivation: reuse it rather than solve it again."""
    new.__dict__["derivation"] = old.derivation  # the cached_property's slot; the claim is frozen otherwise
    return new


def rebind(claim: Claim, swaps: Mapping[str, str], db: hwdb.Database) -> Claim:
    """The claim with its fixed inputs read from other records: ``{"deepseek-v3": "kimi-k2"}``."""
    fixed = {i.record for i in claim.inputs if i.record is not None}
    for old, new in swaps.items():
        if old not in fixed:
            read = ", ".join(sorted(r for r in fixed if r)) or "none"
            raise ValueError(f"swap {old}→{new}: claim {claim.id} reads no field of '{old}' (it reads: {read})")
        if new not in db.records:
            raise ValueError(f"swap {old}→{new}: hwdb has no record '{new}'")
    inputs = tuple(
        replace(i, record=swaps[i.record]) if i.record is not None and i.record in swaps else i for i in claim.inputs
    )
    return _keep_derivation(claim, replace(claim, inputs=inputs))


def refield(claim: Claim, fields: Mapping[str, str]) -> Claim:
    """The claim with inputs read from other fields of the same records: ``{"bf16_flops": "fp8_flops"}``."""
    used = {i.field for i in claim.inputs}
    for old, new in fields.items():
        if old not in used:
            raise ValueError(
                f"fields {old}→{new}: claim {claim.id} reads no field '{old}' (it reads: {', '.join(sorted(used))})"
            )
        old_spec, new_spec = FIELDS.get(old), FIELDS.get(new)
        if old_spec is None or new_spec is None:
            raise ValueError(f"fields {old}→{new}: hwdb's schema has no field '{new if old_spec else old}'")
        if parse_unit(old_spec.unit).dimensionality != parse_unit(new_spec.unit).dimensionality:
            raise ValueError(f"fields {old}→{new}: '{new}' is in {new_spec.unit}, '{old}' in {old_spec.unit}")
    inputs = tuple(replace(i, field=fields[i.field]) if i.field in fields else i for i in claim.inputs)
    return _keep_derivation(claim, replace(claim, inputs=inputs))


def with_reference(claim: Claim, record_id: str) -> Claim:
    """The claim judged on another of its rows."""
    if claim.rows is None:
        raise ValueError(f"claim {claim.id} is not evaluated per record; it has no reference row to move")
    return _keep_derivation(claim, replace(claim, rows=replace(claim.rows, reference=record_id)))


def recase(claim: Claim, db: hwdb.Database, record_id: str, kinds: tuple[str, ...], flag: str) -> Claim:
    """The claim on another case: ``record_id`` as its reference row, or in place of its one record of that kind."""
    if record_id not in db.records:
        raise ValueError(f"{flag}={record_id}: hwdb has no record '{record_id}'")
    kind = db[record_id].kind
    if kinds and kind not in kinds:
        raise ValueError(f"{flag}={record_id}: '{record_id}' is of kind {kind}; {flag}= takes {' or '.join(kinds)}")
    if claim.rows is not None and claim.rows.kind == kind:
        return with_reference(claim, record_id)
    fixed = sorted({i.record for i in claim.inputs if i.record is not None and db[i.record].kind == kind})
    if len(fixed) == 1:
        return rebind(claim, {fixed[0]: record_id}, db)
    if not fixed:
        raise ValueError(f"{flag}={record_id}: claim {claim.id} reads no {kind} record, so it cannot move to another")
    raise ValueError(
        f"{flag}={record_id}: claim {claim.id} reads several {kind} records ({', '.join(fixed)}); "
        f"say which to replace with swap={{OLD: NEW}}"
    )


@dataclass(frozen=True)
class ScenarioRow:
    """One row of a scenario's evaluation: the record, its value and verdict (None: context only)."""

    record: str
    value: float
    text: str
    verdict: Verdict | None


@dataclass(frozen=True)
class Scenario:
    """A claim evaluated on a scenario: what ``claims.evaluate(ID, ...)`` returns.

    ``value`` is in ``unit`` (the claim's); ``text`` is the value as the book writes it. The
    full engine result is ``evaluation``; ``changes`` says what differs from the book's case.
    In Jupyter it displays as a small table (``_repr_html_``), elsewhere as text.
    """

    evaluation: Evaluation
    changes: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.evaluation.claim.id

    @property
    def title(self) -> str:
        return self.evaluation.claim.title

    @property
    def value(self) -> float:
        """The case's value, in :attr:`unit`."""
        return self.evaluation.value

    @property
    def unit(self) -> str:
        return self.evaluation.claim.unit

    @property
    def text(self) -> str:
        """The value as the book writes it: "5,670 tokens", "13.1 ms", "2.5×"."""
        return formatting.claim_quantity(self.evaluation.claim, self.value)

    @property
    def verdict(self) -> Verdict:
        """The verdict the book's policy derives for this scenario (never set by hand)."""
        return self.evaluation.verdict

    @property
    def evidence(self) -> str:
        """The evidence class the verdict rests on: the claim's, lowered to its weakest input's."""
        return self.evaluation.evidence

    @property
    def margin(self) -> float | None:
        """The smallest relative move of the judged value that changes the verdict (None: exact, or no verdict)."""
        return self.evaluation.margin

    @property
    def marginal(self) -> bool:
        """Whether a small move (under 5 %) or an assumed input's own range would change the verdict."""
        return self.evaluation.marginal

    @property
    def stated(self) -> str:
        """The lecture's figure, as the book writes it."""
        return formatting.stated(self.evaluation)

    @property
    def judged(self) -> str:
        """What the verdict is judged on: the case's value, or a population's count of rows."""
        return formatting.judged(self.evaluation)

    @property
    def case(self) -> str:
        """The record the value is for (the reference row), or '' for a claim without rows."""
        record = self.evaluation.reference.record
        return record.id if record is not None else ""

    @property
    def rows(self) -> tuple[ScenarioRow, ...]:
        claim = self.evaluation.claim
        return tuple(
            ScenarioRow(r.record.id, r.value, formatting.claim_quantity(claim, r.value), r.verdict)
            for r in self.evaluation.rows
            if r.record is not None
        )

    @property
    def inputs(self) -> tuple[InputValue, ...]:
        """The inputs of the case, each with its record, field, value and source."""
        return self.evaluation.reference.inputs

    @property
    def details(self) -> dict[str, float]:
        """The claim's secondary figures for the case, in each detail's own unit."""
        return dict(self.evaluation.reference.details)

    def row(self, record_id: str) -> ScenarioRow:
        """The row for one record; KeyError naming the rows there are."""
        for row in self.rows:
            if row.record == record_id:
                return row
        known = ", ".join(r.record for r in self.rows) or "none: the claim has no rows"
        raise KeyError(f"claim {self.id} has no row '{record_id}' (rows: {known})")

    def detail(self, name: str, record_id: str = "") -> str:
        """A detail as the book writes it ("17.9 GPUs"), for the case or for one row."""
        specs = {d.name: d for d in self.evaluation.derivation.details}
        if name not in specs:
            raise KeyError(f"claim {self.id} has no detail '{name}' (details: {', '.join(specs) or 'none'})")
        rows = [r for r in self.evaluation.rows if r.record is not None and r.record.id == record_id]
        row = rows[0] if rows else self.evaluation.reference
        if record_id and not rows:
            self.row(record_id)  # raises, naming the rows there are
        return formatting.detail(specs[name], row.details[name])

    def input(self, symbol: str) -> str:
        """An input of the case as the book writes it, by its symbol in the derivation ("F", "W")."""
        for item in self.inputs:
            if item.symbol == symbol:
                return formatting.field_value(item.field)
        known = ", ".join(i.symbol for i in self.inputs) or "none"
        raise KeyError(f"claim {self.id} has no input '{symbol}' (inputs: {known})")

    # ------------------------------------------------------------ display

    def _lines(self) -> list[tuple[str, str]]:
        lines = [("value", self.text + (f" (case: {self.case})" if self.case else ""))]
        if self.judged != self.text:
            lines.append(("judged on", self.judged))
        verdict = self.verdict.value + (" (marginal)" if self.marginal else "")
        lines += [("lecture", self.stated), ("verdict", verdict), ("evidence", self.evidence)]
        if self.changes:
            lines.append(("scenario", "; ".join(self.changes)))
        return lines

    def __str__(self) -> str:
        head = f"{self.id}: {self.title}"
        return "\n".join([head, *(f"  {k:10} {v}" for k, v in self._lines())])

    def __repr__(self) -> str:
        changes = f", {'; '.join(self.changes)}" if self.changes else ""
        case = f" on {self.case}" if self.case else ""
        return f"<Scenario {self.id}{case}: {self.text}, {self.verdict.value}{changes}>"

    def _repr_markdown_(self) -> str:
        rows = "\n".join(f"| {k} | {v} |" for k, v in self._lines())
        return f"**{self.id}**: {self.title}\n\n| | |\n| --- | --- |\n{rows}\n"

    def _repr_html_(self) -> str:
        e = html.escape
        slug = self.verdict.value.replace(" ", "-")
        body = "".join(
            f'<tr><th scope="row">{e(k)}</th><td{f" class=verdict-{slug}" if k == "verdict" else ""}>{e(v)}</td></tr>'
            for k, v in self._lines()
        )
        inputs = "".join(
            f"<tr><td><code>{e(i.key)}</code></td><td>{e(formatting.field_value(i.field))}</td>"
            f"<td>{e('what-if' if i.field.file == WHAT_IF else i.field.source.title)}</td></tr>"
            for i in self.inputs
        )
        # The derivation's constants too, so this list counts what the claim box's "Inputs and their sources" counts.
        constants = self.evaluation.claim.constants
        inputs += "".join(
            f"<tr><td><code>{e(str(c.symbol))}</code></td>"
            f"<td>{e(f'{formatting.number(c.value)} {formatting.unit(c.unit)}'.strip())}</td>"
            f"<td>constant of the derivation</td></tr>"
            for c in constants
        )
        folded = (
            f"<details><summary>inputs and their sources ({len(self.inputs) + len(constants)})</summary><table>"
            f"<tr><th>field</th><th>value</th><th>source</th></tr>{inputs}</table></details>"
            if inputs
            else ""
        )
        return (
            f'<div class="claims-scenario" style="overflow-x:auto"><p><strong>{e(self.id)}</strong>: '
            f"{e(self.title)}</p><table>{body}</table>{folded}</div>"
        )


def scenario(
    claim_id: str,
    db: hwdb.Database | None = None,
    *,
    hw: str | None = None,
    model: str | None = None,
    row: str | None = None,
    swap: Mapping[str, str] | None = None,
    fields: Mapping[str, str] | None = None,
    set: Mapping[str, str] | None = None,
    scale: Mapping[str, float] | None = None,
) -> Scenario:
    """Evaluate a claim, by ID, on a scenario (see the module's docstring); with no options, the book's case."""
    options = {"hw": hw, "model": model, "row": row, "swap": swap, "fields": fields, "set": set, "scale": scale}
    trace(claim_id, options, broad=db is not None)
    return run(claim_id, hwdb.load() if db is None else db, options)


#: The options a scenario takes (:func:`scenario`'s keyword arguments).
OPTIONS = ("hw", "model", "row", "swap", "fields", "set", "scale")


def run(claim_id: str, db: hwdb.Database, options: Mapping[str, Any]) -> Scenario:
    """:func:`scenario` on a given database, its options as a mapping (those absent or None not set), untraced:
    what the book's build replays to see whether a notebook's output would move."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"unknown scenario option(s): {', '.join(unknown)}")
    swap, fields, set_, scale = (options.get(name) for name in ("swap", "fields", "set", "scale"))
    claim = get_claim(claim_id)
    changes: list[str] = []
    if swap:
        claim = rebind(claim, swap, db)
        changes += [f"{old} → {new}" for old, new in swap.items()]
    if fields:
        claim = refield(claim, fields)
        changes += [f"{old} → {new}" for old, new in fields.items()]
    for flag, kinds in (("hw", HARDWARE_KINDS), ("model", ("model",)), ("row", ())):
        value = options.get(flag)
        if value is not None:
            claim = recase(claim, db, value, kinds, flag)
            changes.append(f"{flag}: {value}")
    if set_:
        db = what_if(db, [f"{key}={text}" for key, text in set_.items()], flag="set")
        changes += [f"{key} = {text}" for key, text in set_.items()]
    if scale:
        db = scaled(db, scale)
        changes += [f"{key} × {formatting.number(k)}" for key, k in scale.items()]
    return Scenario(engine.evaluate(claim, db), tuple(changes))


#: Set by the book's build while a notebook page executes (claims.sphinx.dependencies): a file to which
#: each evaluation appends its claim and options, which the build replays on later builds' data, so the
#: page is re-executed when, and only when, what it shows would move.
TRACE_ENV = "CLAIMS_TRACE_FILE"


def trace(claim_id: str, options: Mapping[str, Any], broad: bool) -> None:
    """Note, for the build, one evaluation: its claim and options, which the build can replay, and whether
    it read a database the caller loaded (which it cannot)."""
    path = os.environ.get(TRACE_ENV)
    if path:
        given = {key: value for key, value in options.items() if value is not None}
        try:
            line = json.dumps({"claim": claim_id, "options": given, "broad": broad}, sort_keys=True)
        except (TypeError, ValueError):  # an option JSON cannot hold cannot be replayed
            line = json.dumps({"claim": claim_id, "options": {}, "broad": True})
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


@overload
def evaluate(claim: Claim, db: hwdb.Database, /) -> Evaluation: ...


@overload
def evaluate(
    claim: str,
    db: hwdb.Database | None = None,
    /,
    *,
    hw: str | None = None,
    model: str | None = None,
    row: str | None = None,
    swap: Mapping[str, str] | None = None,
    fields: Mapping[str, str] | None = None,
    set: Mapping[str, str] | None = None,
    scale: Mapping[str, float] | None = None,
) -> Scenario: ...


def evaluate(claim: Claim | str, db: hwdb.Database | None = None, /, **options: Any) -> Evaluation | Scenario:
    """Evaluate a claim.

    ``evaluate("batch.optimal-size", hw="h200")`` takes a claim ID and optional scenario
    (``hw``, ``model``, ``row``, ``swap``, ``fields``, ``set``, ``scale``) and returns a :class:`Scenario`,
    which displays itself in Jupyter. ``evaluate(claim, db)`` with a :class:`Claim` object is the
    engine's own call and returns its :class:`~claims.engine.Evaluation`, as it always has.
    """
    if isinstance(claim, Claim):
        if db is None or options:
            raise TypeError("evaluate(claim, db) takes a Claim and a database; pass a claim ID for a scenario")
        return engine.evaluate(claim, db)
    if not isinstance(claim, str):
        raise TypeError(f"evaluate() takes a claim ID, not {type(claim).__name__}")
    return scenario(claim, db, **options)
