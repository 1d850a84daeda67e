"""The claim engine: a claim is a SymPy derivation bound to hwdb fields.

Evaluating a claim lambdifies its closed form and feeds it pint quantities taken
from hwdb, so a unit slip raises instead of producing a wrong number. Nothing here
knows about Sphinx or pytest: they are thin adapters over :func:`evaluate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import pint
import sympy as sp

from hwdb import Database, Field, Quantity, Record
from hwdb.derived import field_of
from hwdb.units import parse_unit

from . import derivation_cache
from .compiled import UnitCheckError, base_magnitude, evaluate_expression
from .derivation import Derivation as Derivation  # handed on: the catalogue builds derivations from here
from .derivation import Detail as Detail
from .derivation import Step as Step
from .policy import (
    EVIDENCE,
    MARGINAL,
    RULES,
    Population,
    Stated,
    Verdict,
    capped,
    edges,
    flip_margin,
    input_evidence,
    population,
)

KINDS = {
    "derived": "computed from hwdb inputs through the derivation",
    "structural": "a symbolic result proved with SymPy, checked numerically",
    "reported": "a figure that cannot be derived, recorded with its sources and checked against them",
}


def usual_evidence(kind: str) -> str:
    """The evidence class a claim of this kind has unless it says otherwise."""
    return {"structural": "identity", "reported": "reported", "derived": "independent"}[kind]


class ClaimError(Exception):
    """A claim could not be evaluated (bad binding, unit mismatch, failed proof)."""


@dataclass(frozen=True)
class Input:
    """Binds a symbol to an hwdb field. ``record=None`` means "the row's record"."""

    symbol: sp.Symbol
    field: str
    record: str | None = None
    label: str = ""


@dataclass(frozen=True)
class Constant:
    """A definitional constant of the derivation (not data), with its reason."""

    symbol: sp.Symbol
    value: float
    unit: str
    why: str

    @cached_property
    def quantity(self) -> Any:
        return Quantity(self.value, parse_unit(self.unit))

    @cached_property
    def si(self) -> float:
        """The value in SI base units, kept once computed."""
        return base_magnitude(self.quantity)


@dataclass(frozen=True)
class LectureArithmetic:
    """The lecture's own figures put through its own formula: does its stated result follow?

    ``figures`` are the numbers the lecture quotes (in the units of its statement), ``expr``
    combines them as the lecture does, and the result is judged against ``Claim.stated`` by
    the same policy. A result outside the holds band is a slip in the lecture's arithmetic.
    """

    text: str  # how the lecture combines them, in its own terms: "100B / (300 × 200k)"
    expr: sp.Expr
    figures: tuple[tuple[sp.Symbol, float], ...]

    @cached_property
    def value(self) -> float:
        return float(self.expr.subs(dict(self.figures)))


@dataclass(frozen=True)
class Rows:
    """Evaluate the claim once per record of ``kind`` that has every needed field."""

    kind: str
    reference: str
    rule: str
    why_reference: str
    scope: tuple[tuple[str, str], ...] = ()  # (meta key, value) pairs a row must match to count
    why_scope: str = ""
    noun: str = ""  # what a population's rows are ("price points"); by default named by record kind
    voter: str = ""  # a record meta key: rows sharing its value cast one vote ("provider"); empty: one per row
    voter_noun: str = ""  # what one vote is ("providers")
    why_voter: str = ""  # why those rows are one piece of evidence

    def in_scope(self, record: Record) -> bool:
        return all(str(record.meta.get(key)) == value for key, value in self.scope)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown rule {self.rule!r}; known: {sorted(RULES)}")
        if self.voter and (self.rule == "reference" or not self.voter_noun or not self.why_voter):
            raise ValueError("counting by voter needs a population rule, a voter_noun and a why_voter")

    def voter_of(self, record: Record) -> str:
        """The vote a row belongs to: its record's ``voter`` meta value (each row its own vote if unset)."""
        if not self.voter:
            return record.id
        value = record.meta.get(self.voter)
        if value is None:
            raise ClaimError(f"{record.file}: record '{record.id}' has no meta.{self.voter}, which its claim votes by")
        return str(value)


@dataclass(frozen=True)
class Claim:
    """One quantitative statement of the lecture, made executable."""

    id: str
    title: str
    statement: str
    section: str
    kind: str
    page: str
    unit: str
    stated: Stated
    build: Callable[[], Derivation]
    inputs: tuple[Input, ...] = ()
    constants: tuple[Constant, ...] = ()
    rows: Rows | None = None
    finding: str = ""
    noun: str = ""  # what a dimensionless count counts ("GPUs", "hops"), for display
    evidence: str = ""  # a key of policy.EVIDENCE; by default the kind's usual class
    own: LectureArithmetic | None = None  # the lecture's own arithmetic, where it has some
    quantum: float = 0.0  # the value moves in whole steps of this (a count of stages): margins move by steps

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: unknown kind {self.kind!r}")
        if not self.evidence:
            object.__setattr__(self, "evidence", usual_evidence(self.kind))
        if self.evidence not in EVIDENCE:
            raise ValueError(f"claim {self.id}: unknown evidence class {self.evidence!r}; known: {sorted(EVIDENCE)}")
        if self.own is not None and self.own.expr.free_symbols != {s for s, _ in self.own.figures}:
            raise ValueError(f"claim {self.id}: the lecture's arithmetic must bind every figure it uses")
        if self.kind == "structural":
            if self.evidence != "identity":
                raise ValueError(f"claim {self.id}: a structural claim's evidence is 'identity'")
            object.__setattr__(self, "stated", replace(self.stated, proof=True))
        if self.kind == "reported" and self.evidence not in ("reported", "none"):
            raise ValueError(f"claim {self.id}: a reported claim's evidence is 'reported' or 'none'")
        parse_unit(self.unit)
        parse_unit(self.stated.unit)

    @property
    def url(self) -> str:
        """Where the claim's box lives in the HTML book (relative to its root)."""
        return f"{self.page}.html#{anchor(self.id)}"

    @cached_property
    def derivation(self) -> Derivation:
        """Built once per process, and served from the disk cache when the code has not changed.

        Only the catalogue's claims are cached: their IDs are unique and their code is in the cache key.
        A claim built elsewhere (a test's, a user's) may reuse an ID with another derivation.
        """
        if not self.build.__module__.startswith("claims.catalogue"):
            return self.build()
        return derivation_cache.derivation(self.id, self.build)


def anchor(claim_id: str) -> str:
    """The HTML id of a claim's box; dotted IDs survive as written."""
    return f"claim-{claim_id}"


@dataclass(frozen=True)
class InputValue:
    """An input as used in one evaluation, with its provenance."""

    symbol: str
    label: str
    record: Record
    field: Field

    @property
    def key(self) -> str:
        return f"{self.record.id}.{self.field.name}"


@dataclass(frozen=True)
class Row:
    """The claim evaluated on one record (or once, for a claim without rows)."""

    record: Record | None
    value: float
    verdict: Verdict | None  # None for a row outside the claim's scope: context, not judged
    details: Mapping[str, float]
    inputs: tuple[InputValue, ...]
    judged_value: float = math.nan  # the value in the unit of the lecture's figure, where the bands are
    margin: float | None = None  # the smallest relative move of the value that changes the row's verdict

    @property
    def counts(self) -> bool:
        """Whether the row is judged (inside the claim's scope)."""
        return self.verdict is not None


@dataclass(frozen=True)
class Sensitivity:
    """How the value and verdict move when one assumed input spans its plausible range."""

    input: InputValue
    low: float
    high: float
    verdict_low: Verdict
    verdict_high: Verdict


@dataclass(frozen=True)
class Evaluation:
    """Everything the adapters show: value, verdict, inputs, rows, derivation."""

    claim: Claim
    reference: Row
    rows: tuple[Row, ...]
    verdict: Verdict
    derivation: Derivation
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (record id, missing field)
    sensitivity: tuple[Sensitivity, ...] = field(default=())
    population: Population | None = None  # the judged figure of a population claim
    evidence: str = ""  # the claim's class, lowered to its weakest input's (see policy.capped)
    evidence_inputs: tuple[str, ...] = ()  # the classes of the inputs the verdict rests on
    margin: float | None = None  # smallest relative move of one judged value that changes the verdict
    marginal: bool = False  # the margin is under policy.MARGINAL, or an input's stated range flips the verdict
    marginal_why: str = ""

    @property
    def value(self) -> float:
        """The reference case's value (for a population claim, the case shown beside the count)."""
        return self.reference.value

    @property
    def own_verdict(self) -> Verdict | None:
        """The lecture's own arithmetic judged against its own stated figure (holds: it closes)."""
        own = self.claim.own
        return None if own is None else self.claim.stated.verdict(own.value)

    def inputs(self) -> list[InputValue]:
        """Every distinct input across rows, and the fields a derived input rests on (drift messages, the lock)."""
        seen: dict[str, InputValue] = {}
        for row in self.rows:
            for item in row.inputs:
                seen.setdefault(item.key, item)
                for raw in item.field.basis:
                    basis = InputValue(item.symbol, f"{item.label} (from {raw.name})", item.record, raw)
                    seen.setdefault(basis.key, basis)
        return list(seen.values())


def _magnitude(quantity: Any, unit: str, what: str) -> float:
    try:
        value = float(quantity.to(parse_unit(unit)).magnitude)
    except pint.DimensionalityError as exc:
        raise ClaimError(f"{what}: result has units {quantity.units}, expected {unit} ({exc})") from exc
    return value


Bound = tuple[dict[sp.Symbol, Any], dict[sp.Symbol, float], tuple[InputValue, ...]]


def _bind(claim: Claim, db: Database, row_record: Record | None) -> Bound:
    """Each symbol's quantity, the same in SI base units, and the inputs used."""
    values: dict[sp.Symbol, Any] = {}
    floats: dict[sp.Symbol, float] = {}
    for c in claim.constants:
        values[c.symbol] = c.quantity
        floats[c.symbol] = c.si
    used: list[InputValue] = []
    for item in claim.inputs:
        if item.record is None:
            if row_record is None:
                raise ClaimError(f"claim {claim.id}: input {item.symbol} needs a row record")
            record = row_record
        else:
            try:
                record = db[item.record]
            except KeyError as exc:
                raise ClaimError(f"claim {claim.id}: input {item.symbol}: {exc.args[0]}") from None
        value = field_of(record, item.field)
        if value is None:
            raise ClaimError(
                f"claim {claim.id}: input {item.symbol}: {record.file}: "
                f"record '{record.id}' has no field '{item.field}'"
            )
        values[item.symbol] = value.quantity
        floats[item.symbol] = value.si
        used.append(InputValue(item.symbol.name, item.label, record, value))
    return values, floats, tuple(used)


def _compute(
    expr: sp.Expr, values: Mapping[sp.Symbol, Any], floats: Mapping[sp.Symbol, float], unit: str, what: str
) -> float:
    try:
        return evaluate_expression(expr, values, floats, unit)
    except KeyError as exc:
        raise ClaimError(f"{what}: no input bound to {exc.args[0]}") from None
    except UnitCheckError as exc:
        raise ClaimError(f"{what}: {exc}") from exc


def _row(
    claim: Claim, derivation: Derivation, db: Database, record: Record | None, override: tuple[str, Any] | None = None
) -> Row:
    values, floats, used = _bind(claim, db, record)
    if override is not None:
        symbol = next(i.symbol for i in claim.inputs if str(i.symbol) == override[0])
        values[symbol] = override[1]
        floats[symbol] = base_magnitude(override[1])
    where = f"claim {claim.id}" + (f" on {record.id}" if record else "")
    value = _compute(derivation.result, values, floats, claim.unit, where)
    stated = (
        value
        if claim.stated.unit == claim.unit
        else _magnitude(Quantity(value, parse_unit(claim.unit)), claim.stated.unit, where)
    )
    details = {
        d.name: _compute(d.expr, values, floats, d.unit, f"{where}, detail {d.name}") for d in derivation.details
    }
    margin = _row_margin(claim.stated, stated, claim.quantum)
    return Row(record, value, claim.stated.verdict(stated), details, used, stated, margin)


def _row_margin(stated: Stated, value: float, quantum: float) -> float | None:
    """How far one value may move before its verdict changes; None for an exact statement (any move does)."""
    if stated.wording == "exact":
        return None
    return flip_margin([value], edges(stated), lambda values: stated.verdict(values[0]), quantum)


def row_records(claim: Claim, db: Database) -> tuple[list[Record], list[tuple[str, str]]]:
    """The records a claim is evaluated on, and those skipped for a missing field."""
    assert claim.rows is not None
    needed = [i.field for i in claim.inputs if i.record is None]
    chosen, skipped = [], []
    for record in sorted(db.of_kind(claim.rows.kind), key=lambda r: r.id):
        missing = [f for f in needed if field_of(record, f) is None]
        if missing:
            skipped.append((record.id, missing[0]))
        else:
            chosen.append(record)
    return chosen, skipped


def _sensitivity(claim: Claim, derivation: Derivation, db: Database, reference: Row) -> tuple[Sensitivity, ...]:
    """Re-evaluate the reference row with each ranged (assumed) input at its low and high end."""
    out = []
    for item in reference.inputs:
        f = item.field
        if f.low is None or f.high is None:
            continue
        ends = [_row(claim, derivation, db, reference.record, (item.symbol, bound)) for bound in (f.low, f.high)]
        low, high = ends[0].verdict, ends[1].verdict
        assert low is not None and high is not None  # _row always judges; only scope makes a row context
        out.append(Sensitivity(item, ends[0].value, ends[1].value, low, high))
    return tuple(out)


def judged_input_classes(claim: Claim, rows: tuple[Row, ...]) -> tuple[str, ...]:
    """The evidence classes of the inputs the verdict rests on: those of the judged value (not of details),
    on the judged rows (or the reference, for a claim with none)."""
    used = [r for r in rows if r.verdict is not None] or list(rows)
    judged = {str(s) for s in claim.derivation.result.free_symbols}
    return tuple(sorted({input_evidence(i.record.kind) for r in used for i in r.inputs if i.symbol in judged}))


def _evidence(claim: Claim, rows: tuple[Row, ...]) -> dict[str, Any]:
    """The claim's declared class, lowered to that of the weakest input its verdict rests on, and those inputs'
    classes: the evidence fields of an :class:`Evaluation`."""
    inputs = judged_input_classes(claim, rows)
    return {"evidence": capped(claim.evidence, inputs), "evidence_inputs": inputs}


def _marginal(
    verdict: Verdict, margin: float | None, sensitivity: tuple[Sensitivity, ...], by_population: bool
) -> tuple[bool, str]:
    """Whether a small move, or an input's own stated range, would change the verdict, and why."""
    if margin is not None and margin < MARGINAL:
        if margin < 1e-6:
            return True, "a judged value sits on a band's edge"
        return True, f"a move of under {MARGINAL:.0%} in a judged value changes the verdict"
    if not by_population:
        for s in sensitivity:
            if s.verdict_low is not verdict or s.verdict_high is not verdict:
                return True, f"the stated range of {s.input.key} changes the verdict"
    return False, ""


def evaluate(claim: Claim, db: Database) -> Evaluation:
    """Evaluate a claim on hwdb: the value, per-row values, the derived verdict and how firm it is."""
    derivation = claim.derivation
    if claim.rows is None:
        row = _row(claim, derivation, db, None)
        assert row.verdict is not None
        firm = _evidence(claim, (row,))
        sensitivity = _sensitivity(claim, derivation, db, row)
        if firm["evidence"] == "none":
            return Evaluation(claim, row, (row,), Verdict.UNCHECKABLE, derivation, sensitivity=sensitivity, **firm)
        marginal, why = _marginal(row.verdict, row.margin, sensitivity, False)
        return Evaluation(
            claim,
            row,
            (row,),
            row.verdict,
            derivation,
            sensitivity=sensitivity,
            margin=row.margin,
            marginal=marginal,
            marginal_why=why,
            **firm,
        )
    records, skipped = row_records(claim, db)
    rows = tuple(
        row if claim.rows.in_scope(r) else replace(row, verdict=None, margin=None)
        for r in records
        for row in (_row(claim, derivation, db, r),)
    )
    reference = next((r for r in rows if r.record and r.record.id == claim.rows.reference), None)
    if reference is None:
        raise ClaimError(
            f"claim {claim.id}: reference record '{claim.rows.reference}' is not among its rows "
            f"(rows: {', '.join(r.record.id for r in rows if r.record) or 'none'})"
        )
    sensitivity = _sensitivity(claim, derivation, db, reference)
    firm = _evidence(claim, rows)
    if firm["evidence"] == "none":  # nothing published to judge against: every row is context
        rows = tuple(replace(r, verdict=None, margin=None) for r in rows)
        reference = next(r for r in rows if r.record and r.record.id == claim.rows.reference)
        return Evaluation(claim, reference, rows, Verdict.UNCHECKABLE, derivation, tuple(skipped), sensitivity, **firm)
    if claim.rows.rule == "reference":
        if reference.verdict is None:
            raise ClaimError(f"claim {claim.id}: reference record '{claim.rows.reference}' is outside its scope")
        marginal, why = _marginal(reference.verdict, reference.margin, sensitivity, False)
        return Evaluation(
            claim,
            reference,
            rows,
            reference.verdict,
            derivation,
            tuple(skipped),
            sensitivity,
            margin=reference.margin,
            marginal=marginal,
            marginal_why=why,
            **firm,
        )
    judged_rows = [r for r in rows if r.verdict is not None]
    spec = claim.rows
    groups = [spec.voter_of(r.record) for r in judged_rows if r.record] if spec.voter else None
    stated = claim.stated

    def judge(values: list[float]) -> Verdict:
        return population(spec.rule, [stated.verdict(v) for v in values], groups, spec.voter).verdict

    judged = population(spec.rule, [r.verdict for r in judged_rows if r.verdict], groups, spec.voter)
    values = [r.judged_value for r in judged_rows]
    margin = None if stated.wording == "exact" else flip_margin(values, edges(stated), judge, claim.quantum)
    marginal, why = _marginal(judged.verdict, margin, sensitivity, True)
    return Evaluation(
        claim,
        reference,
        rows,
        judged.verdict,
        derivation,
        tuple(skipped),
        sensitivity,
        judged,
        margin=margin,
        marginal=marginal,
        marginal_why=why,
        **firm,
    )
