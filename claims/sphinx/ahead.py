"""Work the build will need, done ahead in forked children while it reads the other pages.

Drawing a figure and running a notebook are the costliest things a page does, and neither needs the
page: only the build's data, which is ready once the claims are evaluated. So when the build knows
which pages it will read (``env-before-read-docs``), one forked child draws the out-of-date figures
those pages show (:mod:`claims.sphinx.figure_cache`) and another runs their notebooks
(:mod:`claims.sphinx.kernel`), each in reading order, keeping each result where the page will look for
it. The pages that wait on a child are moved to the end of the reading order, so the build reads every
other page meanwhile; reading order changes nothing a page shows.

This module is the children's side that the pages' modules use: the task type, the fork, and the wait.
Which tasks are forked, and when, is :mod:`claims.sphinx.work_ahead`'s, which asks those modules for them.

A page that needs a result waits until its child has finished that task, then takes the result like
any kept one. A child that fails on a task, or dies, leaves it to the page, which does the work itself
and reports any error where it always has. Nothing is done ahead without ``fork`` (other platforms), or
when Sphinx reads pages in processes of its own (``-j``): there, every page does its own work.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from .children import die_with_parent

#: A task: its name (what a page waits for) and the work, which keeps its own result.
Task = tuple[str, Callable[[], object]]


@dataclass
class Worker:
    """A child doing tasks ahead, seen from the build's own process."""

    process: BaseProcess
    finished: Connection  # the child sends each task's name once it is done (or failed)
    pending: set[str]
    owner: int  # the pid that started it: only that process may wait on the pipe

    def wait_for(self, name: str) -> None:
        """Return once the child is done with ``name`` (or is gone)."""
        if os.getpid() != self.owner:
            return
        while name in self.pending:
            try:
                self.pending.discard(self.finished.recv())
            except (EOFError, OSError):  # the child exited: whatever it did not finish, the page does
                self.pending.clear()

    def stop(self) -> None:
        if os.getpid() != self.owner:
            return
        if self.process.is_alive() and self.pending:
            self.process.terminate()  # work for pages that were not read in the end
        self.process.join()
        self.finished.close()
        self.pending.clear()


def _run(tasks: list[Task], finished: Connection, parent: int) -> None:
    """The child: each task in order, saying when each is done. A failure is left to the page."""
    die_with_parent(parent)
    for name, work in tasks:
        with suppress(Exception):  # the page does it again and reports the error there
            work()
        finished.send(name)
    finished.close()


def fork(tasks: list[Task]) -> Worker | None:
    """A child that does ``tasks`` in order (None if there are none)."""
    if not tasks:
        return None
    context = multiprocessing.get_context("fork")
    finished, sending = context.Pipe(duplex=False)
    process = context.Process(target=_run, args=(tasks, sending, os.getpid()), daemon=True)
    process.start()
    sending.close()  # the child holds the only sending end: when it exits, recv() raises EOFError
    return Worker(process, finished, {name for name, _ in tasks}, os.getpid())


#: The build's children, by what they do ("figure", "notebook"); one build at a time per process.
_WORKERS: dict[str, Worker] = {}


def active(kind: str) -> bool:
    """Whether a child of this build does tasks of this kind."""
    return kind in _WORKERS


def wait_for(kind: str, name: str) -> None:
    """Wait, if a child is doing this task, until it is done."""
    worker = _WORKERS.get(kind)
    if worker is not None:
        worker.wait_for(name)


def source_of(env: BuildEnvironment, docname: str) -> str | None:
    """A page's source text, as a child's work is chosen from it; None if unreadable (Sphinx reports that)."""
    try:
        return Path(env.doc2path(docname)).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def possible(app: Sphinx) -> bool:
    return app.parallel <= 1 and sys.platform.startswith("linux")


def begin(kind: str, tasks: list[Task]) -> bool:
    """Fork a child of this kind for ``tasks``; whether one started (none does for no tasks)."""
    worker = fork(tasks)
    if worker is not None:
        _WORKERS[kind] = worker
    return worker is not None


def stop(app: Sphinx, *_: Any) -> None:
    """env-updated / build-finished: every page is read; end the children."""
    for worker in _WORKERS.values():
        worker.stop()
    _WORKERS.clear()
