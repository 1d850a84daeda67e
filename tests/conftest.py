"""Shared fixtures: scratch hwdb directories and scratch copies of the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# On CI: no per-example deadline (a busy machine is not a bug) and a fixed example
# sequence, so a red run can be reproduced exactly.
settings.register_profile("ci", deadline=None, derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent

#: The eight IDs fixed by the design: cited from day one, never renamed.
HEADLINE = (
    "batch.optimal-size",
    "serving.train-interval",
    "network.scale-out-gap",
    "training.overtraining",
    "kv.bytes-per-token",
    "pricing.decode-premium",
    "attention.sparse-sqrt-gain",
    "reversible.feistel-invertible",
)

SOURCES = """
[ds]
title = "A datasheet"
publisher = "Vendor"
url = "https://example.com/ds"
retrieved = 2026-01-01
"""

GOOD_RECORD = """
id = "chip-a"
kind = "accelerator"
name = "Chip A"
source = "ds"

[fields.hbm_capacity]
value = 80
unit = "GB"

[fields.hbm_bandwidth]
value = 2
unit = "TB/s"
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Callable[..., Path]:
    """Write a scratch hwdb data directory: sources plus the given files (name -> TOML)."""

    def make(files: dict[str, str] | None = None, sources: str = SOURCES) -> Path:
        root = tmp_path / "data"
        root.mkdir(exist_ok=True)
        (root / "sources.toml").write_text(textwrap.dedent(sources))
        for name, text in (files if files is not None else {"chip-a.toml": GOOD_RECORD}).items():
            (root / name).write_text(textwrap.dedent(text))
        return root

    return make


def copy_repo(dest: Path) -> Path:
    """Copy everything a book build or a CLI run reads into ``dest``."""
    dest.mkdir(parents=True)
    for name in ("claims", "hwdb", "book"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "conf.py", dest / "conf.py")
    return dest


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A scratch copy of the repository, for tests that edit it."""
    return copy_repo(tmp_path / "repo")


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a fresh virtual environment with the project's wheel installed (one per test worker,
    shared by tests/test_wheel.py and tests/test_citing_wheel.py)."""
    root = tmp_path_factory.mktemp("wheel")
    source = copy_repo(root / "source")  # built from a copy: the checkout gets no build/ folder
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(root / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (root / "dist").glob("lecture_claims-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, capture_output=True)
    python = root / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True)
    return python


@pytest.fixture(scope="session")
def installed_sphinx(installed: Path) -> Path:
    """The same environment with Sphinx and MyST added, as a design-doc project citing the book has them."""
    subprocess.run(
        [str(installed), "-m", "pip", "install", "--quiet", "sphinx>=9,<10", "myst-parser>=5,<6"],
        check=True,
        capture_output=True,
    )
    return installed


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact snippet in a file, failing loudly if it is not there once."""
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: expected one {old!r}"
    path.write_text(text.replace(old, new))


@pytest.fixture
def toml_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh parsed-TOML table in a cache folder of the test's own (the process's table is built once, so
    reset it)."""
    from hwdb import parsed

    monkeypatch.setenv(parsed.ENV_VAR, str(tmp_path / "cache"))
    parsed._table.cache_clear()
    yield tmp_path / "cache"
    parsed._table.cache_clear()


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Each test gets the process environment as it found it: the in-process notebook kernel sets
    FORCE_COLOR, CLICOLOR, TERM and others when it starts, which would colour the output of every
    Sphinx run a later test starts in a subprocess and parses."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)
