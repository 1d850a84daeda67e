"""What each dependency key names now, hashed: a page is re-read when, and only when, a key it read moved.

A key names an hwdb record, field, kind listing or source, a claim (whose digest covers the keys its
evaluation read), a claim's reference case, the text a role shows (:data:`SHOWN`), or an evaluation a
notebook ran, replayed on the build's data (:func:`replayed`). :class:`Digests` gives each its hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from hwdb import Database, Record

from ..engine import Evaluation
from ..scenario import Scenario
from ..scenario import run as run_scenario

#: A dependency: ("claim", id), ("claims",), ("record", id), ("records",), ("kind", kind),
#: ("field", record, name), ("fields", record), ("source", id), ("sources",), ("everything",), or
#: ("scenario", JSON of a claim and options) for an evaluation a notebook's kernel ran,
#: ("reference", id) for one claim's reference case, as a figure reads it (:class:`ReferenceView`), or
#: ("shown", kind, argument) for the text a role or listing shows of the claims (:data:`SHOWN`).
Key = tuple[str, ...]

#: What a page shows of the claims, by kind: the text, as a function of the build's evaluations and an
#: argument (a claim ID, a role's target). A page that notes ``("shown", kind, argument)`` is re-read when,
#: and only when, that text moves; it is registered by the role or directive that shows it
#: (:func:`shows`), which must show nothing of the claims besides.
SHOWN: dict[str, Callable[[Mapping[str, Evaluation], str], str]] = {}


def shows(kind: str) -> Callable[[Callable[[Mapping[str, Evaluation], str], str]], Callable[..., str]]:
    """Register the function that gives the text ``kind`` shows (see :data:`SHOWN`)."""

    def register(text: Callable[[Mapping[str, Evaluation], str], str]) -> Callable[..., str]:
        SHOWN[kind] = text
        return text

    return register


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _header(record: Record) -> tuple[Any, ...]:
    return (record.id, record.kind, record.name, record.file, sorted((k, repr(v)) for k, v in record.meta.items()))


class Digests:
    """What each key names now, hashed: the record's header, the field (value, unit, source, note …)."""

    def __init__(
        self, db: Database, traces: Mapping[str, frozenset[Key]], evaluations: Mapping[str, Evaluation] | None = None
    ) -> None:
        self.db, self.traces = db, traces
        self.evaluations = {} if evaluations is None else dict(evaluations)
        self._memo: dict[Key, str] = {}

    def of(self, key: Key) -> str:
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = _hash(self._text(key))
        return found

    def _text(self, key: Key) -> str:
        kind, *rest = key
        records, sources = self.db.records, self.db.sources
        if kind == "claim":
            trace = self.traces.get(rest[0])
            return "absent" if trace is None else repr(sorted((k, self.of(k)) for k in trace))
        if kind == "reference":
            evaluation = self.evaluations.get(rest[0])
            return "absent" if evaluation is None else _reference_text(evaluation)
        if kind == "claims":
            return repr([(claim_id, self.of(("claim", claim_id))) for claim_id in sorted(self.traces)])
        if kind == "record":
            return repr(_header(records[rest[0]])) if rest[0] in records else "absent"
        if kind == "records":
            return repr(sorted(_header(r) for r in records.values()))
        if kind == "kind":
            return repr(sorted(_header(r) for r in records.values() if r.kind == rest[0]))
        if kind == "field":
            record = records.get(rest[0])
            if record is None:
                return "no record"
            return repr(record.fields[rest[1]]) if rest[1] in record.fields else "absent"
        if kind == "fields":
            record = records.get(rest[0])
            return "no record" if record is None else repr(sorted(record.fields.items()))
        if kind == "source":
            return repr(sources.get(rest[0], "absent"))
        if kind == "sources":
            return repr(sorted(sources.items()))
        if kind == "scenario":
            return replayed(rest[0], self.db)
        if kind == "shown":
            text = SHOWN.get(rest[0])
            if text is None:
                return f"unknown kind of text shown {rest[0]!r}"
            try:
                return text(self.evaluations, rest[1])
            except Exception as exc:  # showing it fails now: that is a change too
                return f"fails: {type(exc).__name__}: {exc}"
        if kind == "everything":
            everything = sorted((_header(r), sorted(r.fields.items())) for r in records.values())
            return repr((everything, sorted(sources.items())))
        return f"unknown key {key!r}"  # never equal to what a later build computes for a known key


def _verdict_text(verdict: Any) -> str | None:
    return None if verdict is None else str(verdict.value)


def _row_text(row: Any) -> Any:
    """One row as a reader can see it: its record, value, verdict, details and inputs (value and source)."""
    return (
        None if row.record is None else _header(row.record),
        repr(row.value),
        _verdict_text(row.verdict),
        sorted((k, repr(v)) for k, v in row.details.items()),
        [(i.symbol, i.label, None if i.record is None else _header(i.record), repr(i.field)) for i in row.inputs],
    )


def _sensitivity_text(e: Evaluation) -> list[Any]:
    return [
        (x.input.key, repr(x.low), repr(x.high), _verdict_text(x.verdict_low), _verdict_text(x.verdict_high))
        for x in e.sensitivity
    ]


def _reference_text(e: Evaluation) -> str:
    """A claim's reference case as a figure reads it: its row, and the sensitivity scan made on it."""
    return repr((_row_text(e.reference), _sensitivity_text(e)))


def shown(result: Scenario) -> str:
    """Everything a notebook can show of an evaluation through the :class:`~claims.scenario.Scenario` API,
    as text: its display, and every value, verdict, row, detail and input (field, value, source) it could
    print. Other fields of a record are not in it: a notebook that reaches them (``.fields``,
    ``.evaluation``) is recorded as reading everything (:data:`UNTRACED_READS`)."""
    e = result.evaluation
    population = None if e.population is None else repr(e.population)
    rows = [_row_text(r) for r in e.rows]
    firmness = (e.evidence, e.margin, e.marginal)  # what .evidence, .margin and .marginal give
    return repr(
        (
            str(result),
            result._repr_html_(),
            rows,
            e.skipped,
            _sensitivity_text(e),
            population,
            _verdict_text(e.verdict),
            firmness,
        )
    )


def replayed(spec: str, db: Database) -> str:
    """What the traced evaluation shows on ``db``: run again, untraced."""
    try:
        parsed = json.loads(spec)
        return shown(run_scenario(parsed["claim"], db, parsed["options"]))
    except Exception as exc:  # an evaluation that fails now shows its error: that is a change too
        return f"fails: {type(exc).__name__}: {exc}"
