"""The scheduling the suite's time relies on: ``--dist loadgroup`` keeps a group's tests on one worker.

tests/conftest.py puts each module's slow tests in a group, so the copy of the book they edit is built
once; with pytest 9.2 and pytest-xdist 3.8 a group was split across the workers, each building every copy,
and nothing failed, the run only took longer. This runs a small suite the way ``nox -s tests`` runs the real
one and checks where its tests ran.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SUITE = """
import pytest

@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("n", range(8))
def test_grouped(n):
    pass

@pytest.mark.parametrize("n", range(8))
def test_free(n):
    pass
"""


def test_a_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE)
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup"]
    run = subprocess.run([*command, "test_suite.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    workers = set(re.findall(r"\[(gw\d+)\].*PASSED test_suite.py::test_grouped", run.stdout))
    assert len(workers) == 1, f"the group ran on {sorted(workers)}:\n{run.stdout}"
