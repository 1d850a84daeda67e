"""A build's figures: kept beside the doctrees with what they read, and drawn ahead in a second process.

**Kept.** A figure's cache entry holds its SVG, a hash of the build's ``claims_fingerprint`` and
matplotlib's version, and each hwdb key and claim the drawing read with its digest. It is served only
while all of them are unchanged, and its reads are then noted for the page as if it had been drawn:
a prose edit redraws nothing, and a data edit redraws exactly the figures that show the data. The
entries live beside the doctrees, so a clean build draws every figure.

**Drawn ahead.** Drawing is the costliest thing a page does, and it needs nothing but the build's
evaluations. So when the build knows which pages it will read (``env-before-read-docs``), the figures
those pages show whose entry is out of date are drawn by a forked child process, in the order the pages
come, each kept exactly as the page would keep it; the build reads other pages meanwhile. A page that
shows such a figure waits for the child to finish it, then serves it from the cache like any other. If
the child failed on a figure, or died, the page draws the figure itself, so an error is reported where
it always was, by the page. Without ``fork`` (other platforms), or when Sphinx reads pages in parallel
processes of its own, nothing is drawn ahead.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import version
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from hwdb.files import write_atomic

from ..figures import FIGURES, render_svg
from ..sphinxnodes import build_state
from . import dependencies

#: ``{claim-figure} NAME`` (MyST) or ``.. claim-figure:: NAME`` (reST) in a page's source.
FIGURE_IN_SOURCE = re.compile(r"(?:\{claim-figure\}|\.\. claim-figure::)[ \t]+([\w.-]+)")


def drawing(app: Sphinx, name: str) -> Callable[[], str] | None:
    """The function that draws figure ``name`` from this build's data; None if the build cannot draw it
    (an unknown figure, or the claims it shows were not evaluated)."""
    state = build_state(app)
    spec = FIGURES.get(name)
    # Whether the build has the claims is not what the figure shows: asked of the plain dict, noting nothing.
    if spec is None or state.db is None or any(not dict.__contains__(state.evaluations, c) for c in spec.claims):
        return None
    db, evaluations = state.db, state.evaluations
    recorder = dependencies.tracking(app).recorder
    return lambda: render_svg(spec.draw(db, dependencies.reference_views(evaluations, recorder)))


def _entry_path(app: Sphinx, name: str) -> Path:
    return Path(app.doctreedir) / "claim-figures" / f"{name}.json"


def _code(app: Sphinx) -> str:
    return hashlib.sha256(f"{app.config.claims_fingerprint}\0{version('matplotlib')}".encode()).hexdigest()


def _current(app: Sphinx, name: str) -> tuple[str, list[dependencies.Key]] | None:
    """The kept SVG and the keys it read, if the entry is still what drawing now would give."""
    digests = dependencies.tracking(app).digests
    if digests is None:
        return None
    try:
        entry = json.loads(_entry_path(app, name).read_text(encoding="utf-8"))
        reads = [(tuple(key), digest) for key, digest in entry["reads"]]
        if entry["code"] == _code(app) and all(digests.of(k) == d for k, d in reads):
            return str(entry["svg"]), [k for k, _ in reads]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no usable entry
    return None


def _draw_and_keep(app: Sphinx, name: str, draw: Callable[[], str]) -> tuple[str, set[dependencies.Key]]:
    """Draw the figure, noting what it reads, and keep it (unless the build's digests are unknown)."""
    tracked = dependencies.tracking(app)
    with tracked.recorder.capture() as keys:
        svg = draw()
    if tracked.digests is not None:
        reads = [[list(k), tracked.digests.of(k)] for k in sorted(keys)]
        path = _entry_path(app, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"code": _code(app), "reads": reads, "svg": svg}))
    return svg, keys


def figure_svg(app: Sphinx, name: str, draw: Callable[[], str]) -> str:
    """The figure's SVG for the page being read: kept (once the child has drawn it), or drawn now."""
    ahead = _worker(app)
    if ahead is not None:
        ahead.wait_for(name)
    recorder = dependencies.tracking(app).recorder
    kept = _current(app, name)
    if kept is not None:
        svg, keys = kept
        recorder.replay(keys)
        return svg
    svg, drawn_keys = _draw_and_keep(app, name, draw)
    recorder.replay(drawn_keys)
    return svg


# ---------------------------------------------------------------- drawing ahead


@dataclass
class Worker:
    """The child process drawing figures ahead, seen from the build's own process."""

    process: BaseProcess
    finished: Connection  # the child sends each figure's name when it is kept (or failed)
    pending: set[str]
    owner: int  # the pid that started it: only that process may wait on the pipe

    def wait_for(self, name: str) -> None:
        """Return once the child is done with ``name`` (or is gone)."""
        if os.getpid() != self.owner:
            return
        while name in self.pending:
            try:
                self.pending.discard(self.finished.recv())
            except (EOFError, OSError):  # the child exited: whatever it did not finish, the page draws
                self.pending.clear()

    def stop(self) -> None:
        if os.getpid() != self.owner:
            return
        if self.process.is_alive() and self.pending:
            self.process.terminate()  # drawing figures no page read in the end
        self.process.join()
        self.finished.close()
        self.pending.clear()


def _worker(app: Sphinx) -> Worker | None:
    found: Worker | None = getattr(app, "_claims_figure_worker", None)
    return found


def _figures_shown(env: BuildEnvironment, docnames: Iterable[str]) -> list[str]:
    """The figures these pages' sources show, in reading order, each once."""
    names: dict[str, None] = {}
    for docname in docnames:
        try:
            text = Path(env.doc2path(docname)).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # Sphinx reports it when it reads the page
        names.update(dict.fromkeys(m.group(1) for m in FIGURE_IN_SOURCE.finditer(text)))
    return list(names)


def _draw_ahead(app: Sphinx, names: list[str], finished: Connection) -> None:
    """The child: draw and keep each figure, saying when each is done. A failure is left to the page."""
    for name in names:
        draw = drawing(app, name)
        try:
            if draw is not None:
                _draw_and_keep(app, name, draw)
        except Exception:  # the page draws it again and reports the error there
            pass
        finished.send(name)
    finished.close()


def start(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """env-before-read-docs: fork a child to draw the out-of-date figures of the pages about to be read."""
    stop(app)
    if app.parallel > 1 or not sys.platform.startswith("linux") or dependencies.tracking(app).digests is None:
        return
    stale = [name for name in _figures_shown(env, docnames) if drawing(app, name) and _current(app, name) is None]
    if not stale:
        return
    context = multiprocessing.get_context("fork")
    finished, sending = context.Pipe(duplex=False)
    process = context.Process(target=_draw_ahead, args=(app, stale, sending), daemon=True)
    process.start()
    sending.close()  # the child holds the only sending end: when it exits, recv() raises EOFError
    app._claims_figure_worker = Worker(process, finished, set(stale), os.getpid())  # type: ignore[attr-defined]


def stop(app: Sphinx, *_: Any) -> None:
    """env-updated / build-finished: every page is read; end the child."""
    worker = _worker(app)
    if worker is not None:
        worker.stop()
        app._claims_figure_worker = None  # type: ignore[attr-defined]


def _stop_at_update(app: Sphinx, env: BuildEnvironment) -> list[str]:
    stop(app)
    return []


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-before-read-docs", start)
    app.connect("env-updated", _stop_at_update)
    app.connect("build-finished", stop)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
