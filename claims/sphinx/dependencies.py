"""Which hwdb values and claims each page shows, so a data edit re-reads only the pages it touches.

Every build evaluates every claim anyway (the lock check needs it). It does so on a *tracked* view
of hwdb: each record, field, kind listing or source that an evaluation reads is noted as a key,
so each claim gets a trace of the data it rests on. While Sphinx reads a page, every read of the
tracked database, and every claim looked up in ``build_state(app).evaluations``, is noted for that
page: directives, roles and figures need no bookkeeping of their own. A page's record maps each
key to a digest of what the key named when the page was read (a claim's digest covers its trace).
On the next build, ``env-get-outdated`` re-reads exactly the pages with a key whose digest moved.

A role or listing that shows one text of a claim (an inline value, a verdict, a row of the claim index)
reads the evaluations untracked and notes ``("shown", kind, argument)`` instead, whose digest is that
text itself (:data:`SHOWN`): a page that quotes a claim's KV bytes per token is not re-read when only the
claim's batch size moves, nor the claim index when one price sheet's row does.

The record is trusted only as far as the code that made it: ``claims_fingerprint`` (code, library
versions, overlay paths) is a config value with ``rebuild="env"``, so a code change still re-reads
every page, and so does a build whose claims failed to evaluate. Code that shows data it did not
get from ``build_state`` (a fresh ``hwdb.load``, a file) must say so with :func:`record`.

A notebook page's code runs through ``claims.evaluate``, which notes each evaluation (claim and
options) in a trace file while the page is read. The page depends on each one as a
``("scenario", …)`` key whose digest is what that evaluation shows (:func:`shown`), replayed on
each build's data: a notebook re-runs when, and only when, something it prints could differ. A
notebook whose code reads data any other way (``hwdb``, ``.fields``, ``.evaluation``, a file) or
evaluates on a database of its own depends on everything.

A build that re-reads pages for their data but stops before ``build-finished`` leaves their names
in ``claims-pending.json`` beside the doctrees, and the next build re-reads them again, since
Sphinx itself would not rewrite them: their sources did not change.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, ValuesView
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from hwdb import Database, Field, Record, Source
from hwdb.files import write_cache

from ..engine import Evaluation, evaluate
from ..registry import all_claims
from ..scenario import TRACE_ENV, Scenario
from ..scenario import run as run_scenario

#: A dependency: ("claim", id), ("claims",), ("record", id), ("records",), ("kind", kind),
#: ("field", record, name), ("fields", record), ("source", id), ("sources",), ("everything",), or
#: ("scenario", JSON of a claim and options) for an evaluation a notebook's kernel ran,
#: ("reference", id) for one claim's reference case, as a figure reads it (:class:`ReferenceView`), or
#: ("shown", kind, argument) for the text a role or listing shows of the claims (:data:`SHOWN`).
Key = tuple[str, ...]

ENV_KEY = "claims_dependencies"  # docname -> {key: digest when the page was read}
PENDING = "claims-pending.json"
UNTRUSTED = "!"  # the digest of a page read while the claims could not be evaluated: never current

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


class Recorder:
    """Notes each key read: into the innermost :meth:`capture`, else for the page being read."""

    def __init__(self, env: BuildEnvironment | None) -> None:
        self.env = env
        self.reading = False
        self.read_docs: list[str] = []
        self._stack: list[set[Key]] = []

    def note(self, key: Key) -> None:
        if self._stack:
            self._stack[-1].add(key)
        elif self.reading and self.env is not None:
            docname = self.env.current_document.docname
            if docname:
                table(self.env).setdefault(docname, {})[key] = ""

    def replay(self, keys: Iterable[Key]) -> None:
        for key in keys:
            self.note(key)

    @contextmanager
    def capture(self) -> Iterator[set[Key]]:
        """Collect the keys read inside the block (they are not noted for the page: replay them)."""
        keys: set[Key] = set()
        self._stack.append(keys)
        try:
            yield keys
        finally:
            self._stack.pop()


def table(env: BuildEnvironment) -> dict[str, dict[Key, str]]:
    found: dict[str, dict[Key, str]] | None = getattr(env, ENV_KEY, None)
    if found is None:
        found = {}
        setattr(env, ENV_KEY, found)
    return found


# ---------------------------------------------------------------- the tracked view of hwdb


class _Fields(Mapping[str, Field]):
    def __init__(self, record_id: str, fields: Mapping[str, Field], recorder: Recorder) -> None:
        self._id, self._fields, self._recorder = record_id, dict(fields), recorder

    def __getitem__(self, name: str) -> Field:
        self._recorder.note(("field", self._id, name))
        return self._fields[name]

    def __contains__(self, name: object) -> bool:
        self._recorder.note(("field", self._id, str(name)))
        return name in self._fields

    def __iter__(self) -> Iterator[str]:
        self._recorder.note(("fields", self._id))
        return iter(self._fields)

    def __len__(self) -> int:
        self._recorder.note(("fields", self._id))
        return len(self._fields)

    def values(self) -> ValuesView[Field]:
        self._recorder.note(("fields", self._id))
        return self._fields.values()


class _Records(Mapping[str, Record]):
    def __init__(self, records: Mapping[str, Record], recorder: Recorder) -> None:
        self._recorder = recorder
        self.plain = {key: replace(r, fields=_Fields(r.id, r.fields, recorder)) for key, r in records.items()}

    def __getitem__(self, record_id: str) -> Record:
        self._recorder.note(("record", record_id))
        return self.plain[record_id]

    def __contains__(self, record_id: object) -> bool:
        self._recorder.note(("record", str(record_id)))
        return record_id in self.plain

    def __iter__(self) -> Iterator[str]:
        self._recorder.note(("records",))
        return iter(self.plain)

    def __len__(self) -> int:
        self._recorder.note(("records",))
        return len(self.plain)

    def values(self) -> ValuesView[Record]:
        self._recorder.note(("records",))
        return self.plain.values()


class _Sources(Mapping[str, Source]):
    def __init__(self, sources: Mapping[str, Source], recorder: Recorder) -> None:
        self._sources, self._recorder = dict(sources), recorder

    def __getitem__(self, source_id: str) -> Source:
        self._recorder.note(("source", source_id))
        return self._sources[source_id]

    def __contains__(self, source_id: object) -> bool:
        self._recorder.note(("source", str(source_id)))
        return source_id in self._sources

    def __iter__(self) -> Iterator[str]:
        self._recorder.note(("sources",))
        return iter(self._sources)

    def __len__(self) -> int:
        self._recorder.note(("sources",))
        return len(self._sources)


@dataclass(frozen=True)
class TrackedDatabase(Database):
    """hwdb as every reader sees it during a build: each read is noted by the recorder.

    ``fingerprint`` (the hash of the files read) is not tracked: only the exports, written at the
    end of the build, show it.
    """

    recorder: Recorder = dataclass_field(default_factory=lambda: Recorder(None), compare=False, repr=False)

    def of_kind(self, kind: str) -> list[Record]:
        self.recorder.note(("kind", kind))
        records = self.records
        values = records.plain.values() if isinstance(records, _Records) else records.values()
        return [r for r in values if r.kind == kind]


def track(db: Database, recorder: Recorder) -> TrackedDatabase:
    return TrackedDatabase(_Records(db.records, recorder), _Sources(db.sources, recorder), db.fingerprint, recorder)


class TrackedEvaluations(dict[str, Evaluation]):
    """The build's evaluations; looking one up notes the claim for the page being read."""

    def __init__(self, evaluations: Mapping[str, Evaluation], recorder: Recorder) -> None:
        super().__init__(evaluations)
        self.recorder = recorder

    def __getitem__(self, claim_id: str) -> Evaluation:
        self.recorder.note(("claim", claim_id))
        return super().__getitem__(claim_id)

    def get(self, claim_id: str, default: Any = None) -> Any:
        self.recorder.note(("claim", claim_id))
        return super().get(claim_id, default)

    def __contains__(self, claim_id: object) -> bool:
        self.recorder.note(("claim", str(claim_id)))
        return super().__contains__(claim_id)

    def __iter__(self) -> Iterator[str]:
        self.recorder.note(("claims",))
        return super().__iter__()

    def __len__(self) -> int:
        self.recorder.note(("claims",))
        return super().__len__()

    def keys(self) -> Any:
        self.recorder.note(("claims",))
        return super().keys()

    def values(self) -> Any:
        self.recorder.note(("claims",))
        return super().values()

    def items(self) -> Any:
        self.recorder.note(("claims",))
        return super().items()


class ReferenceView:
    """An evaluation as a figure reads it: the reference row, the claim and its derivation note only
    ``("reference", id)``; anything that speaks for the other rows (``rows``, ``verdict``, ``population``,
    ``skipped``, ``inputs()``) notes the whole claim. A figure drawn from one case of a claim is then redrawn
    when that case moves, not whenever any row does."""

    REFERENCE_ONLY = frozenset({"claim", "reference", "derivation", "value", "sensitivity", "own_verdict"})

    def __init__(self, evaluation: Evaluation, recorder: Recorder) -> None:
        self._evaluation, self._recorder = evaluation, recorder

    def __getattr__(self, name: str) -> Any:
        claim_id = self._evaluation.claim.id
        self._recorder.note(("reference", claim_id) if name in self.REFERENCE_ONLY else ("claim", claim_id))
        return getattr(self._evaluation, name)


def reference_views(evaluations: dict[str, Evaluation], recorder: Recorder) -> dict[str, Any]:
    """The build's evaluations as :class:`ReferenceView` objects; taken through ``dict``'s own methods,
    so that listing them (even :class:`TrackedEvaluations`) notes nothing by itself."""
    return {claim_id: ReferenceView(e, recorder) for claim_id, e in dict.items(evaluations)}


def evaluate_traced(
    tracked: TrackedDatabase,
) -> tuple[dict[str, Evaluation], dict[str, frozenset[Key]]]:
    """Every claim evaluated on the tracked database, with the keys each evaluation read."""
    evaluations: dict[str, Evaluation] = {}
    traces: dict[str, frozenset[Key]] = {}
    for claim in all_claims():
        with tracked.recorder.capture() as keys:
            evaluations[claim.id] = evaluate(claim, tracked)
        traces[claim.id] = frozenset(keys)
    return evaluations, traces


# ---------------------------------------------------------------- digests


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


# ---------------------------------------------------------------- the API for directives and roles


def untracked(evaluations: Mapping[str, Evaluation]) -> dict[str, Evaluation]:
    """The build's evaluations, to be read without noting anything: for a directive or role that says
    itself what it shows of them (:func:`note_shown`, :func:`record`)."""
    return dict(dict.items(evaluations))  # type: ignore[arg-type]


def note_shown(app: Sphinx, kind: str, argument: str) -> None:
    """Say that the page being read shows the text ``SHOWN[kind]`` gives for ``argument``, and no more of it."""
    tracking(app).recorder.note(("shown", kind, argument))


def record(
    env: BuildEnvironment,
    docname: str | None = None,
    *,
    claims: Iterable[str] = (),
    records: Iterable[str] = (),
    fields: Iterable[str] = (),
    kinds: Iterable[str] = (),
    everything: bool = False,
) -> None:
    """Say that a page shows these claims, whole records, ``record.field`` values or kinds' listings.

    Reads through ``build_state(app)`` are recorded already; call this for data a directive gets any
    other way (``everything=True`` for a fresh hwdb load, a notebook kernel, an external file).
    """
    keys: list[Key] = [("claim", c) for c in claims]
    keys += [key for r in records for key in (("record", r), ("fields", r))]
    keys += [("field", *f.rsplit(".", 1)) for f in fields]  # record IDs may hold dots, field names never
    keys += [("kind", k) for k in kinds]
    keys += [("everything",), ("claims",)] if everything else []
    name = docname or env.current_document.docname
    if not name:
        raise ValueError("dependencies.record: no page is being read; name the docname")
    entry = table(env).setdefault(name, {})
    for key in keys:
        entry[key] = ""


# ---------------------------------------------------------------- Sphinx events


@dataclass
class Tracking:
    """One build's recorder and digests (None when the claims failed to evaluate)."""

    recorder: Recorder
    digests: Digests | None = None
    untraced: set[str] = dataclass_field(default_factory=set)  # notebook pages whose code reads data untraced


def tracking(app: Sphinx) -> Tracking:
    found: Tracking | None = getattr(app, "_claims_tracking", None)
    if found is None:
        found = Tracking(Recorder(app.env))
        app._claims_tracking = found  # type: ignore[attr-defined]
    return found


def _pending_file(app: Sphinx) -> Path:
    return Path(app.doctreedir) / PENDING


def outdated(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """env-get-outdated: the pages whose recorded data moved (every page, if it cannot be told)."""
    digests = tracking(app).digests
    if digests is None:
        return sorted(env.found_docs)
    stale: set[str] = set()
    with suppress(OSError, ValueError, TypeError):  # no pending list (the usual case), or an unreadable one
        stale.update(json.loads(_pending_file(app).read_text(encoding="utf-8")))
    recorded = table(env)
    for docname in env.all_docs:
        entry = recorded.get(docname)
        if entry is None or any(digest == UNTRUSTED or digests.of(key) != digest for key, digest in entry.items()):
            stale.add(docname)
    stale = (stale & env.found_docs) - added - removed
    if stale:  # if it cannot be kept, the unwritten-pages list (claims.sphinx.unfinished) still covers a kill
        write_cache(_pending_file(app), json.dumps(sorted(stale)) + "\n")
    return sorted(stale)


def before_read(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    recorder = tracking(app).recorder
    recorder.env, recorder.reading, recorder.read_docs = env, True, list(docnames)


def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    table(env).pop(docname, None)


def merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    mine, theirs = table(env), table(other)
    for docname in docnames:
        if docname in theirs:
            mine[docname] = theirs[docname]


def _is_notebook(env: BuildEnvironment, docname: str) -> bool:
    return "kernelspec" in env.metadata.get(docname, {}) or str(env.doc2path(docname)).endswith(".ipynb")


def _trace_file(app: Sphinx, docname: str) -> Path:
    return Path(app.doctreedir) / "claims-traces" / (docname.replace("/", "--") + ".jsonl")


def notebook_source(app: Sphinx, docname: str, source: list[str]) -> None:
    """source-read: a notebook page's kernel (run while this page is parsed, in this process) writes to the
    file to which ``claims.scenario`` notes every evaluation it runs; code that reads data some other way
    is noted here, from the page's text, for :func:`notebook_read`."""
    os.environ.pop(TRACE_ENV, None)
    untraced = tracking(app).untraced
    untraced.discard(docname)
    text = source[0]
    if "kernelspec" in text[:4000]:
        cells = [m.group(2) for m in CODE_CELL.finditer(text)] if "{code-cell}" in text else [text]  # or .ipynb
        if any(word in cell for cell in cells for word in UNTRACED_READS):
            untraced.add(docname)
        path = _trace_file(app, docname)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        os.environ[TRACE_ENV] = str(path)


def _traced(path: Path) -> list[str] | None:
    """The evaluations a kernel ran, each as the JSON the build replays; None if that cannot be told."""
    try:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not lines or any(line["broad"] for line in lines):
            return None
        specs = {
            json.dumps({"claim": str(line["claim"]), "options": dict(line["options"])}, sort_keys=True)
            for line in lines
        }
        return sorted(specs)
    except (OSError, ValueError, KeyError, TypeError):
        return None


#: Words in a notebook's source that mean its kernel may read data other than through a traced
#: evaluation: the page then depends on everything.
UNTRACED_READS = ("hwdb", "evaluate_all", "open(", "Path(", ".fields", ".evaluation", "claims.step(", "published")
CODE_CELL = re.compile(r"^(`{3,})\{code-cell\}[^\n]*\n(.*?)^\1", re.M | re.S)


def notebook_read(app: Sphinx, doctree: Any) -> None:
    """doctree-read: a notebook page depends on what its kernel's evaluations showed, replayed on the next
    build's data; on everything if that cannot be told (no trace, a database of its own, or code that reads
    data some other way)."""
    env = app.env
    docname = env.docname
    path = os.environ.pop(TRACE_ENV, None)
    if not _is_notebook(env, docname):
        return
    specs = _traced(Path(path)) if path else None
    if specs is None or docname in tracking(app).untraced:
        record(env, docname, everything=True)
        return
    entry = table(env).setdefault(docname, {})
    for spec in specs:
        entry[("scenario", spec)] = ""


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


def updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """env-updated: stamp each page read in this build with the digests of what it read."""
    state = tracking(app)
    state.recorder.reading = False
    recorded = table(env)
    for docname in state.recorder.read_docs:
        entry = recorded.setdefault(docname, {})
        digests = state.digests
        recorded[docname] = {key: UNTRUSTED if digests is None else digests.of(key) for key in entry}
    return []


def finished(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: every page re-read for its data was written; nothing is pending."""
    if exception is None:
        _pending_file(app).unlink(missing_ok=True)


def evaluate_for_build(app: Sphinx, db: Database) -> tuple[TrackedDatabase, TrackedEvaluations]:
    """builder-inited: every claim evaluated on a tracked view of ``db``; the build's digests kept.

    Until this returns, the digests are None: a build whose claims fail to evaluate re-reads every page.
    """
    state = tracking(app)
    state.recorder.env = app.env
    state.digests = None
    tracked = track(db, state.recorder)
    evaluations, traces = evaluate_traced(tracked)
    state.digests = Digests(db, traces, evaluations)
    return tracked, TrackedEvaluations(evaluations, state.recorder)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-get-outdated", outdated)
    app.connect("env-before-read-docs", before_read)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-updated", updated)
    app.connect("source-read", notebook_source)
    app.connect("doctree-read", notebook_read)
    app.connect("build-finished", finished)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
