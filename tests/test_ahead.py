"""Work done ahead in forked children (claims.sphinx.ahead): which figures a page shows, and a page that
waits for a task never waits on a child that finished or died."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from claims.sphinx.ahead import Worker
from claims.sphinx.figure_cache import _figures_shown

fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")


class Pages:
    """The one thing _figures_shown asks of a build environment: where a page's source is."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def doc2path(self, docname: str) -> str:
        return str(self.folder / f"{docname}.md")


def test_the_figures_of_the_pages_to_read_in_reading_order(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("```{claim-figure} roofline\n:alt: x\n```\n\n```{claim-figure} drain-time\n```\n")
    (tmp_path / "a.md").write_text(".. claim-figure:: tier-drain\n\n```{claim-figure} roofline\n```\n")
    (tmp_path / "c.md").write_text("No figure here, only the word claim-figure.\n")
    shown = _figures_shown(Pages(tmp_path), ["b", "a", "c", "missing"])  # type: ignore[arg-type]
    assert list(shown) == ["roofline", "drain-time", "tier-drain"]
    assert shown == {"roofline": ["b", "a"], "drain-time": ["b"], "tier-drain": ["a"]}


def _send(names: list[str], sending: Connection) -> None:
    for name in names:
        sending.send(name)
    sending.close()


def _worker(names_sent: list[str], pending: set[str]) -> Worker:
    context = multiprocessing.get_context("fork")
    finished, sending = context.Pipe(duplex=False)
    process = context.Process(target=_send, args=(names_sent, sending), daemon=True)
    process.start()
    sending.close()
    return Worker(process, finished, set(pending), os.getpid())


@fork
def test_a_page_waits_until_the_child_has_done_its_task() -> None:
    worker = _worker(["roofline", "drain-time"], {"roofline", "drain-time", "tier-drain"})
    worker.wait_for("drain-time")
    assert "drain-time" not in worker.pending and "roofline" not in worker.pending
    worker.stop()
    assert not worker.process.is_alive()


@fork
def test_a_child_that_exits_early_leaves_its_tasks_to_the_pages() -> None:
    """The child sent one name and exited: waiting for another returns (the page then draws it itself)."""
    worker = _worker(["roofline"], {"roofline", "tier-drain"})
    worker.wait_for("tier-drain")
    assert worker.pending == set()
    worker.stop()


@fork
def test_only_the_process_that_started_the_child_waits_on_it() -> None:
    worker = _worker([], {"roofline"})
    worker.owner = os.getpid() + 1  # as a reader process forked by Sphinx would see it
    worker.wait_for("roofline")  # returns at once, touching nothing
    assert worker.pending == {"roofline"}
    worker.owner = os.getpid()
    worker.stop()
