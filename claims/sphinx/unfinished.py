"""An interrupted build is never published as green, and the next build finishes its work.

Sphinx saves what it read before it writes a page, so a build killed while writing leaves pages its
next build believes current: their sources did not change. And until the build's last event, the
output folder holds the previous exports beside a mix of new and old pages. So:

- before anything is written, the exports are removed and the folder is marked
  (``BUILD-FAILED.txt``); the mark goes only when every page and export is written
  (:func:`claims.sphinx.build.report_at_finish`). A folder with the mark is refused by the browser
  tests and must not be published;
- the pages a build is about to write are listed in ``claims-unwritten.json`` beside the doctrees
  before the first is written, and the list is removed only with the mark. The next build reads and
  writes them again, whatever made them due (a data edit, a pin, a code or configuration change).

:func:`checkpoint` lets a test kill a real build at a named point (``$CLAIMS_TEST_KILL_AT``).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Set
from contextlib import suppress
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from hwdb.files import write_atomic

#: What the build writes beside the pages, and the mark on an output folder that is not a finished build.
EXPORTS = ("claims.json", "claims.schema.json", "claims.bib", "claims.csl.json")
MARK = "BUILD-FAILED.txt"
UNWRITTEN = "claims-unwritten.json"
logger = logging.getLogger(__name__)
#: ``PHASE`` or ``PHASE:SIGNAL`` (default SIGKILL): the build sends itself the signal at that checkpoint.
KILL_ENV = "CLAIMS_TEST_KILL_AT"


def checkpoint(phase: str) -> None:
    """For the interruption tests: kill this build here if ``$CLAIMS_TEST_KILL_AT`` names ``phase``."""
    wanted = os.environ.get(KILL_ENV, "")
    if not wanted or wanted.split(":")[0] != phase:
        return
    del os.environ[KILL_ENV]  # once: a forked child does not inherit the order
    name = wanted.split(":")[1] if ":" in wanted else "SIGKILL"
    os.kill(os.getpid(), getattr(signal, name))


def _html(app: Sphinx) -> bool:
    return bool(getattr(app, "builder", None)) and app.builder.format == "html"


def mark_in_progress(app: Sphinx) -> None:
    """builder-inited: before any page is written, remove the exports and mark the folder."""
    if not _html(app):
        return
    out = Path(app.outdir)
    out.mkdir(parents=True, exist_ok=True)
    for name in EXPORTS:
        (out / name).unlink(missing_ok=True)
    write_atomic(
        out / MARK,
        "This build has not finished (it is running, or it was interrupted or failed): its pages may "
        "disagree with each other and no export is here. Do not publish this folder; build again.\n",
    )


def _unwritten_file(app: Sphinx) -> Path:
    return Path(app.doctreedir) / UNWRITTEN


def _read_unwritten(app: Sphinx) -> set[str]:
    with suppress(OSError, ValueError, TypeError):  # none (the usual case), or unreadable: nothing listed
        names = json.loads(_unwritten_file(app).read_text(encoding="utf-8"))
        return {str(n) for n in names}
    return set()


def record_writes(app: Sphinx) -> None:
    """builder-inited: list the pages before writing them."""
    if not _html(app):
        return
    builder = app.builder
    write = builder.write_documents

    def write_documents(docnames: Set[str]) -> None:
        due = sorted(_read_unwritten(app) | set(docnames))
        try:
            write_atomic(_unwritten_file(app), json.dumps(due) + "\n")
        except OSError as exc:  # say so: an interruption of this build would go unnoticed by the next one
            logger.warning(
                f"cannot note the pages this build writes in {exc.filename}: {exc.strerror or exc}; if the build "
                "is interrupted, remove the output folder before building again",
                type="claims",
                subtype="state",
            )
        write(docnames)

    builder.write_documents = write_documents  # type: ignore[method-assign]


def outdated(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """env-get-outdated: the pages an earlier build was to write and did not finish."""
    return sorted((_read_unwritten(app) & env.found_docs) - added - removed)


def finished(app: Sphinx) -> None:
    """Every page and export is written: nothing is left for the next build (called with the mark's removal)."""
    _unwritten_file(app).unlink(missing_ok=True)


def _reading(app: Sphinx, doctree: Any) -> None:
    checkpoint("reading")


#: The interruption tests kill a build at "writing" once this many pages are written (some, not all).
KILL_AFTER_PAGES = 5
_written = [0]


def _writing(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    _written[0] += 1
    if _written[0] == KILL_AFTER_PAGES:
        checkpoint("writing")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", _reading)
    app.connect("html-page-context", _writing)
    app.connect("builder-inited", mark_in_progress, priority=100)
    app.connect("builder-inited", record_writes, priority=900)
    app.connect("env-get-outdated", outdated)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
