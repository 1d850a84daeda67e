"""A forked child of the build ends when the build is killed: none is left blocked on its pipe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import REPO

PARENTS = {
    # the figure and notebook children: a task that would run for a minute
    "ahead": """
        import os, time
        from claims.sphinx import ahead
        worker = ahead.fork([("slow", lambda: time.sleep(60))])
        print(worker.process.pid, flush=True)
        time.sleep(60)
    """,
    # any forked child blocked sending more than a pipe holds to a parent that never reads
    "blocked on a pipe": """
        import multiprocessing, os, time
        from claims.sphinx.children import die_with_parent
        def child(parent, sending):
            die_with_parent(parent)
            sending.send(b"x" * 50_000_000)
        context = multiprocessing.get_context("fork")
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=child, args=(os.getpid(), sending))
        process.start()
        print(process.pid, flush=True)
        time.sleep(60)
    """,
}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie has ended; only its entry remains
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("kind", sorted(PARENTS))
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_child_ends_when_its_parent_is_killed(kind: str, how: signal.Signals) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PARENTS[kind])], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    time.sleep(0.3)
    assert _alive(child)
    os.kill(parent.pid, how)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(child):
        os.kill(child, signal.SIGKILL)
        pytest.fail(f"the {kind} child {child} outlived its parent by 5 s")
