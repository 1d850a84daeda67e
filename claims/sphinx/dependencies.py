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

The work is split by job: :mod:`~claims.sphinx.digests` (the keys and what each names now),
:mod:`~claims.sphinx.tracked` (the recorder, the tracked views and the API for directives and roles),
:mod:`~claims.sphinx.notebook_trace` (notebook pages); this module holds the Sphinx events.
"""

from __future__ import annotations

import json
from contextlib import suppress
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from hwdb import Database
from hwdb.files import write_cache

from .digests import SHOWN, Digests, Key, replayed, shown, shows
from .notebook_trace import CODE_CELL, UNTRACED_READS, notebook_read, notebook_source
from .tracked import (
    ENV_KEY,
    Recorder,
    TrackedDatabase,
    TrackedEvaluations,
    Tracking,
    evaluate_traced,
    note_shown,
    record,
    reference_views,
    table,
    track,
    tracking,
    untracked,
)

__all__ = [
    "CODE_CELL",
    "ENV_KEY",
    "PENDING",
    "SHOWN",
    "UNTRACED_READS",
    "UNTRUSTED",
    "Digests",
    "Key",
    "Recorder",
    "TrackedDatabase",
    "TrackedEvaluations",
    "Tracking",
    "evaluate_for_build",
    "evaluate_traced",
    "note_shown",
    "record",
    "reference_views",
    "replayed",
    "setup",
    "shown",
    "shows",
    "track",
    "tracking",
    "untracked",
]

PENDING = "claims-pending.json"
UNTRUSTED = "!"  # the digest of a page read while the claims could not be evaluated: never current


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
