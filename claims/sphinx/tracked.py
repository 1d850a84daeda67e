"""The tracked view of a build's data: every read of hwdb and of the evaluations is noted as a key.

A :class:`Recorder` notes each key into the innermost :meth:`~Recorder.capture`, else for the page being
read; :func:`track` and :class:`TrackedEvaluations` are hwdb and the build's evaluations as every
reader sees them. :func:`record`, :func:`note_shown` and :func:`untracked` are for the directives and
roles that say themselves what they show.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, ValuesView
from contextlib import contextmanager
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from hwdb import Database, Field, Record, Source

from ..engine import Evaluation, evaluate
from ..registry import all_claims
from .digests import Digests, Key

ENV_KEY = "claims_dependencies"  # docname -> {key: digest when the page was read}


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


@dataclass
class Tracking:
    """One build's recorder and digests (None when the claims failed to evaluate)."""

    recorder: Recorder
    digests: Digests | None = None
    untraced: set[str] = dataclass_field(default_factory=set)  # notebook pages whose code reads data untraced


def tracking(app: Sphinx) -> Tracking:
    """This build's :class:`Tracking`, made on first use."""
    found: Tracking | None = getattr(app, "_claims_tracking", None)
    if found is None:
        found = Tracking(Recorder(app.env))
        app._claims_tracking = found  # type: ignore[attr-defined]
    return found
