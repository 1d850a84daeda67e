"""A plain `pip install` of the project works: every command runs from the installed wheel.

The wheel is built and installed into a fresh virtual environment outside the checkout, so
nothing can be read from the working tree by accident (a data file left out of the package
would fail here, as `statements.toml` once did).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO

COMMANDS = [
    ("claims", "list"),
    ("claims", "show", "batch.optimal-size"),
    ("claims", "verify"),
    ("claims", "statements"),
    ("claims", "export", "--format", "json"),
    ("claims", "cite", "kv.bytes-per-token", "--format", "bibtex"),
    ("claims", "ids"),
    ("hwdb", "list"),
    ("hwdb", "check"),
    ("hwdb", "show", "deepseek-v3"),
    ("hwdb", "export", "--format", "json"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_runs_from_the_installed_wheel(installed: Path, tmp_path: Path, command: tuple[str, ...]) -> None:
    module, *args = command
    run = subprocess.run([str(installed), "-m", module, *args], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    if args[0] == "export":
        json.loads(run.stdout)


def test_pin_from_the_wheel_writes_where_it_is_told(installed: Path, tmp_path: Path) -> None:
    target = tmp_path / "mine.lock.json"
    run = subprocess.run([str(installed), "-m", "claims", "--lock", str(target), "pin"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(target.read_text())["version"] == 1


def test_a_citing_project_builds_from_the_installed_wheel(installed_sphinx: Path, tmp_path: Path) -> None:
    """claims.citing needs only the wheel and Sphinx: no checkout, no plotting library."""
    installed = installed_sphinx
    project = tmp_path / "design-doc"
    shutil.copytree(REPO / "tests" / "citing_project", project)
    published = {**os.environ, "CLAIMS_BASE_URL": "https://book.example.org/"}  # links need the book's address
    command = [str(installed), "-m", "claims", "export"]
    export = subprocess.run(command, capture_output=True, text=True, check=True, env=published)
    (project / "claims.json").write_text(export.stdout)
    run = subprocess.run(
        [str(installed), "-m", "sphinx", "-W", "-q", str(project), str(project / "_build")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "claim-value" in (project / "_build" / "index.html").read_text(encoding="utf-8")
