"""The build's events: evaluate the claims once at builder-inited, report drift and write the exports at
build-finished, the permanent pages and tombstones, and the fingerprint that re-reads every page when code moves."""

from __future__ import annotations

import hashlib
import html
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

import hwdb
from hwdb.files import write_atomic

from .. import citation, history, lock, release, statements
from ..engine import ClaimError, Evaluation
from ..export import dumps
from ..registry import all_claims
from ..sphinxnodes import build_state
from . import dependencies, unfinished

logger = logging.getLogger(__name__)


PACKAGE_DIR = Path(__file__).resolve().parent.parent
SCHEMA_FILE = PACKAGE_DIR / "claims.schema.json"
REPO_ROOT = PACKAGE_DIR.parent


#: Libraries whose version can change what a page shows (parsing, maths, units, figures).
RENDERING_LIBRARIES = ("sphinx", "docutils", "myst-parser", "myst-nb", "sympy", "pint", "numpy", "matplotlib")


def fingerprint() -> str:
    """A hash of what the pages' dependency record cannot see: code, library versions, overlay paths.

    Every file of claims/ and of hwdb/ outside its data folder (so the claims, the engine, this
    extension, the release history, the statement and ID tables), the rendering libraries' and
    Python's versions, and which overlays are in force. It is ``claims_fingerprint``, a config value
    with ``rebuild="env"``: when it moves, every page is re-read. hwdb data and overlay contents are
    not in it: :mod:`claims.sphinx.dependencies` re-reads just the pages that show what changed.
    The lock is not in it either: it decides whether the build passes, checked on every build, and
    no page shows it.
    """
    digest = hashlib.sha256()
    data_dir = REPO_ROOT / "hwdb" / "data"
    locks = {lock.LOCK_FILE.resolve()}
    files = [
        path
        for folder in (PACKAGE_DIR, REPO_ROOT / "hwdb")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and "__pycache__" not in path.parts
        and data_dir not in path.parents
        and path.resolve() not in locks
    ]
    for path in files:
        digest.update(hwdb.display_path(path).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in RENDERING_LIBRARIES:
        digest.update(f"{name}={version(name)}\0".encode())
    digest.update(f"python={sys.version}\0".encode())
    for overlay in hwdb.overlays_from_env():
        digest.update(f"overlay={overlay.resolve()}\0".encode())
    return digest.hexdigest()


def evaluate_for_build(app: Sphinx) -> None:
    """builder-inited: evaluate every claim and check it against the lock."""
    state = build_state(app)
    state.failures.clear()
    try:
        overlays = hwdb.overlays_from_env()
        state.db = hwdb.load_from(hwdb.DATA_DIR, overlays)
        state.db, state.evaluations = dependencies.evaluate_for_build(app, state.db)
        drifts = lock.check(state.evaluations, lock.read(lock.lock_path(overlays)))
        state.failures += [f"claim drifted from the lock: {d}" for d in drifts]
        if lock.lock_path(overlays) == lock.LOCK_FILE and not drifts:  # the book's release names what it publishes
            state.failures += history_problems(state.evaluations)
        if lock.lock_path(overlays) == lock.LOCK_FILE:  # the published benchmarks' table, pinned beside the lock
            from .. import published

            moved = published.drift(published.compare_all(state.db), published.read())
            state.failures += [f"published comparison drifted from its lock: {line}" for line in moved]
        state.failures += citation.registry_problems(all_claims(), citation.read_registry())
        statements.load()
    except (hwdb.HwdbError, ClaimError, lock.LockError, KeyError, ValueError) as exc:  # PublishedError too
        state.failures.append(str(exc))
    for failure in state.failures:
        logger.error(failure, type="claims", subtype="drift")


def history_problems(evaluations: dict[str, Evaluation]) -> list[str]:
    """Claims whose content changed since the last recorded release (a pin records a new one), and a
    claims/RELEASE that disagrees with the history (a pin repairs it)."""
    release_file = history.release_file_problem()
    if release_file:
        return [f"{release_file}: run `python -m claims pin` to repair it"]
    changed = history.stale(history.read(), history.entries(evaluations))
    if not changed:
        return []
    return [
        f"{len(changed)} claim(s) changed since release {release.VERSION} was recorded ({', '.join(changed[:5])}"
        f"{', …' if len(changed) > 5 else ''}): run `python -m claims pin` to record a new release in "
        f"{hwdb.display_path(history.HISTORY_FILE)}"
    ]


#: What the build writes beside the pages, and the mark on an output folder that is not a finished build.
EXPORTS, FAILED_MARK = unfinished.EXPORTS, unfinished.MARK


def report_at_finish(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: write the exports, or mark the output failed; re-report failures, fail the build.

    A red build may already have written pages with new numbers, so it must not leave exports
    from an earlier evaluation beside them: it removes them and marks the folder failed (the
    browser session refuses such a folder). A green build writes every export and clears the mark.
    """
    state = build_state(app)
    if app.builder.format != "html":
        pass
    elif exception is None and state.db is not None and not state.failures:
        out = Path(app.outdir)
        write_atomic(out / "claims.json", dumps(state.evaluations, state.db.fingerprint, hwdb.overlays_from_env()))
        unfinished.checkpoint("exports")
        write_atomic(out / "claims.schema.json", SCHEMA_FILE.read_bytes())
        write_atomic(out / "claims.bib", citation.bibliography(state.evaluations))
        csl = citation.csl_items(state.evaluations)
        write_atomic(out / "claims.csl.json", json.dumps(csl, indent=2, ensure_ascii=False) + "\n")
        _permanent_pages(out, state.evaluations)
        unfinished.finished(app)
        (out / FAILED_MARK).unlink(missing_ok=True)
        if not release.base_url():
            logger.info(
                f"claims: the book's address is not set (${release.BASE_URL_ENV}), so claims.bib, claims.csl.json "
                "and the citations in the boxes carry no address; set it when building the published book"
            )
    else:
        out = Path(app.outdir)
        for name in EXPORTS:
            (out / name).unlink(missing_ok=True)
        reasons = state.failures or [str(exception)]
        write_atomic(
            out / FAILED_MARK,
            "This build failed; the pages here may show numbers that are not pinned, and no export was "
            "written. Do not publish this folder.\n\n" + "\n".join(reasons) + "\n",
        )
    if state.failures:
        for failure in state.failures:
            logger.error(f"(repeated at the end of the build) {failure}", type="claims", subtype="drift")
        app.statuscode = 1


def _permanent_pages(out: Path, evaluations: dict[str, Evaluation]) -> None:
    """``c/ID.html`` for every claim and alias: an address that never moves, whichever chapter holds the box.

    Each page sends the reader on to the box; it shows no number, so it can never disagree with one.
    """
    folder = out / "c"
    folder.mkdir(exist_ok=True)
    aliases = citation.read_registry().aliases
    for claim_id, e in evaluations.items():
        for name in (claim_id, *(old for old, new in aliases.items() if new == claim_id)):
            target = "../" + e.claim.url
            title = html.escape(f"{claim_id}: {e.claim.title}")
            renamed = f"<p>{html.escape(name)} was renamed to {html.escape(claim_id)}.</p>" if name != claim_id else ""
            base = release.base_url()  # unpublished: no canonical link (a relative one would point into c/)
            canonical = f'<link rel="canonical" href="{html.escape(base + e.claim.url)}">\n' if base else ""
            page = (
                f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>{title}</title>\n{canonical}'
                f'<meta http-equiv="refresh" content="0; url={html.escape(target)}"></head>\n'
                f'<body>{renamed}<p><a href="{html.escape(target)}">{title}</a></p></body></html>\n'
            )
            write_atomic(folder / f"{name}.html", page)
    for claim_id, entry in citation.read_registry().withdrawn.items():
        write_atomic(
            folder / f"{claim_id}.html", tombstone(claim_id, entry, history.of_claim(history.read(), claim_id))
        )


def tombstone(claim_id: str, entry: dict[str, str], said: list[dict[str, Any]]) -> str:
    """The page a withdrawn claim's address keeps: why it went, when, and what it last said."""
    name = html.escape(claim_id)
    last = (
        f"<p>Its last published version, {html.escape(said[-1]['version'])} (release "
        f"{html.escape(said[-1]['release'])}), said {html.escape(said[-1]['judged'])} against the lecture's "
        f"{html.escape(said[-1]['stated'])}: {html.escape(said[-1]['verdict'])}.</p>"
        if said
        else ""
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>{name} (withdrawn)</title></head>\n'
        f"<body><h1>{name}: withdrawn</h1>\n<p>This claim was withdrawn from the book in release "
        f"{html.escape(entry['release'])}. {html.escape(entry['reason'])}</p>\n{last}\n"
        f'<p><a href="../changelog.html">The changelog</a> lists every change by release.</p></body></html>\n'
    )


def check_every_claim_placed(app: Sphinx, env: Any) -> None:
    """env-check-consistency: every claim must have a box somewhere in the book."""
    domain = env.get_domain("std")
    placed = {name for (objtype, name) in domain.objects if objtype == "claim"}
    for claim_id in sorted(set(build_state(app).evaluations) - placed):
        logger.error(
            f"claim '{claim_id}' has no box in the book "
            f"(add a claim-evidence section, or a claim directive, to "
            f"{build_state(app).evaluations[claim_id].claim.page}.md)"
        )
