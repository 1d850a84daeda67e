"""Shared fixtures: scratch hwdb directories and scratch copies of the repository."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from forked_cli import run_module
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


#: Fixtures that mean a whole-book build (or a fresh virtual environment): a test that asks for one is
#: ``slow`` whether or not it says so, so ``-m "not slow"`` runs no such build.
SLOW_FIXTURES = {"built_book", "built_site", "installed", "installed_sphinx"}


#: Fixtures that make a fresh virtual environment: their tests share one worker, so it is made once.
VENV_FIXTURES = {"installed", "installed_sphinx"}
#: The slow groups that take longest (measured: minutes each, on two cores), started first so that neither
#: worker is left with one of them at the end while the other waits.
LONGEST_FIRST = (
    "test_interrupted",
    "test_stale_build",
    "test_stale_build-2",
    "virtual-environment",
    "test_withdrawal",
    "test_history",
    "test_speedups",
    "test_book",
)


def _run_order(item: pytest.Item) -> tuple[int, int]:
    if item.get_closest_marker("slow") is None:
        return (1, 0)
    group = item.get_closest_marker("xdist_group")
    name = group.args[0] if group is not None else ""
    return (0, LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need a whole-book build or a fresh environment ``slow``; group each module's slow
    tests (``--dist loadgroup``), so a module's built copy is built by one worker only, not by each; and run
    the slow ones first, longest first, so the quick tests fill the end of the run on both workers. A module
    whose slow tests are too many for one worker names its groups itself (``xdist_group``), each built copy
    then built once per group."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if SLOW_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("xdist_group") is not None:
            continue
        if item.get_closest_marker("slow") is not None:
            group = "virtual-environment" if VENV_FIXTURES & fixtures else item.path.stem
        else:  # a module's quick tests on one worker too: its module-scoped fixtures are made once, not twice
            group = f"{item.path.stem}:quick"
        item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=_run_order)  # stable: within a group, the order of collection


def _run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every worker of this test run shares (pytest-xdist gives each worker a folder inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


#: Sphinx as the tests run it: warnings as errors, every error reported, quiet, and never coloured (the in-process
#: notebook kernel of an earlier test may have left FORCE_COLOR set; the tests read the messages). BOOK_BUILD
#: builds the book with it.
SPHINX = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "--no-color"]
BOOK_BUILD = [*SPHINX, "-c", ".", "book", "_build/html"]


def can_unshare() -> bool:
    """Whether ``unshare -n`` can run a command with no network (root and util-linux)."""
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch copy of the book, built once for the whole test run and shared by every worker: for tests
    that only read a built book, and as the starting point the tests that edit and rebuild copy (never build
    in it). The first worker to ask builds it while the others wait on a lock; a failed build fails every test
    that asks, with Sphinx's output. It is built with the network cut where ``unshare -n`` can cut it
    (:func:`built_offline` says whether it was), and with one hash seed, as the tests' other builds are."""
    import fcntl

    root = _run_root(tmp_path_factory)
    repo, failed = root / "built-book", root / "built-book.failed"
    with open(root / "built-book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not failed.exists() and not (repo / "_build/html/claims.json").exists():
            shutil.rmtree(repo, ignore_errors=True)
            copy_repo(repo)
            offline = can_unshare()
            command = ["unshare", "-n", *BOOK_BUILD] if offline else BOOK_BUILD
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            result = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env)
            if result.returncode != 0:
                failed.write_text(result.stderr)
            elif offline:
                (root / "built-book.offline").touch()
    assert not failed.exists(), failed.read_text()
    return repo


def built_offline(built_book: Path) -> bool:
    """Whether the shared built book was built with the network unreachable."""
    return (built_book.parent / "built-book.offline").exists()


@pytest.fixture(scope="session")
def built_site(request: pytest.FixtureRequest) -> Path:
    """The shared built book's HTML folder, or the one ``$BOOK_SITE`` names (a build the browser tests also
    read), checked to have finished."""
    given = os.environ.get("BOOK_SITE")
    site = Path(given) if given else request.getfixturevalue("built_book") / "_build/html"
    assert (site / "index.html").exists(), f"{site} holds no built book"
    assert not (site / "BUILD-FAILED.txt").exists(), f"{site} says its last build failed"
    return site


def _install(python: Path, *requirements: str) -> None:
    """Install into the environment whose Python is ``python``: with uv where it is on the PATH (seconds, from
    its cache), else with that environment's pip, as a user would."""
    uv = shutil.which("uv")
    # uv compiles to bytecode only when asked; pip always does, and every later run imports from it.
    command = (
        [uv, "pip", "install", "--compile-bytecode", "--python", str(python)]
        if uv
        else [str(python), "-m", "pip", "install"]
    )
    subprocess.run([*command, "--quiet", *requirements], check=True, capture_output=True)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a fresh virtual environment with the project's wheel installed (one per test worker,
    shared by tests/test_wheel.py and tests/test_citing_wheel.py)."""
    root = tmp_path_factory.mktemp("wheel")
    source = copy_repo(root / "source")  # built from a copy: the checkout gets no build/ folder
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    uv, dist = shutil.which("uv"), str(root / "dist")
    wheel_command = (
        [uv, "build", "--wheel", "--quiet", "--out-dir", dist, str(source)]
        if uv
        else [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, str(source)]
    )
    subprocess.run(wheel_command, check=True, capture_output=True)
    (wheel,) = (root / "dist").glob("lecture_claims-*.whl")
    venv = [uv, "venv", "--quiet", "--python", sys.executable] if uv else [sys.executable, "-m", "venv"]
    subprocess.run([*venv, str(root / "venv")], check=True, capture_output=True)
    python = root / "venv" / "bin" / "python"
    _install(python, str(wheel))
    return python


@pytest.fixture(scope="session")
def installed_sphinx(installed: Path) -> Path:
    """The same environment with Sphinx and MyST added, as a design-doc project citing the book has them."""
    _install(installed, "sphinx>=9,<10", "myst-parser>=5,<6")
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


#: A fault-table row's runner, as the ``run_fault`` fixture gives it.
FaultRunner = Callable[..., subprocess.CompletedProcess[str]]


def _run_fault_row(
    args: list[str] | tuple[str, ...],
    status: int,
    says: str,
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    stdout_to: str | None = None,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """One row of a fault table (tests/test_faults.py, tests/test_faults_hwdb.py): ``python -m ARGS`` in
    ``cwd`` with ``env`` over this process's environment, under a timeout so a hang fails the row instead
    of stalling the run (forked from a warm interpreter where it can be, :mod:`forked_cli`). It must exit with
    ``status``, say ``says`` (on stdout or stderr; on stderr alone when stdout goes to the file ``stdout_to``)
    and print no traceback. The run is returned for the table's own further checks."""
    module, *rest = args
    environment = {**os.environ, **(env or {})}
    run = run_module(module, rest, cwd=cwd, env=environment, timeout=timeout, stdout_to=stdout_to, pass_fds=pass_fds)
    said = (run.stdout or "") + run.stderr
    assert run.returncode == status, said
    assert says in said, said
    assert "Traceback" not in said, said
    return run


@pytest.fixture(scope="session")
def run_fault() -> FaultRunner:
    """The runner both fault tables share (:func:`_run_fault_row`): one way to run a row and check its
    exit status, its message and that it printed no traceback."""
    return _run_fault_row


# ---------------------------------------------------------------------------------------------------
# The book a design-doc repository cites, as the installed wheel exports it and after it moved on: shared by
# tests/test_citing_wheel.py (the console scripts) and tests/test_citing_wheel_sphinx.py (the Sphinx extension).

#: Where the book is published, as CLAIMS_BASE_URL or a claims.json's base_url gives it.
BASE = "https://book.example.org/v/"
#: The claims that move between the two books: value, rename, withdrawal; and the one a typo misses.
KV, RENAMED, NEW_NAME, WITHDRAWN, TYPO = (
    "kv.bytes-per-token",
    "training.overtraining",
    "training.over-training",
    "pricing.decode-premium",
    "servng.train-interval",
)
REASON = "The price list it read was taken down by its publisher."
#: The moved book's release, and the content version and value the moved claim has there.
NEW_RELEASE, NEW_VERSION, NEW_JUDGED = "0.9.0", "0a1b2c3d4e5f", "2,000 B/tok"
#: A claim whose content version moves in that release with its value and verdict unchanged (a row moved).
RE_PINNED, RE_PINNED_VERSION = "batch.optimal-size", "5e6f7a8b9c0d"
#: Settings of the calling environment that would change what the CLI does.
SCRUBBED = ("CLAIMS_BASE_URL", "READTHEDOCS_CANONICAL_URL", "CLAIMS_JSON")


def _scrubbed_env(**extra: str) -> dict[str, str]:
    """This process's environment without the settings that would change what the CLI does, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    return {**env, **extra}


def script_path(installed: Path, script: str) -> str:
    """A console script of the environment whose Python is ``installed``."""
    return str(installed.parent / script)


def run_scrubbed(command: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """``command`` in ``cwd``, its output captured, in the scrubbed environment plus ``extra``, with a timeout."""
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=_scrubbed_env(**extra), timeout=300)


def git_repository(path: Path) -> Path:
    """An empty design-doc repository (a git one, as a pre-commit hook would see it)."""
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True, capture_output=True)
    return path


def claim_in(book: dict[str, Any], claim_id: str) -> dict[str, Any]:
    """A claim of a claims.json, by its ID."""
    return next(c for c in book["claims"] if c["id"] == claim_id)


def deep_copy(book: dict[str, Any]) -> dict[str, Any]:
    """A claims.json to edit, sharing nothing with the fixture it came from."""
    copied: dict[str, Any] = json.loads(json.dumps(book))
    return copied


def missing_keys(book: dict[str, Any]) -> dict[str, Any]:
    """A copy of a claims.json without keys the schema requires: a claim's version and the releases."""
    broken = deep_copy(book)
    del claim_in(broken, KV)["version"]
    del broken["releases"]
    return broken


def closed_port() -> int:
    """A local port nothing listens on: an address that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def exported_book(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The claims.json the installed wheel exports (run once; every other book is an edited copy)."""
    run = run_scrubbed([script_path(installed, "claims"), "export"], tmp_path_factory.mktemp("export"))
    assert run.returncode == 0, run.stderr
    book: dict[str, Any] = json.loads(run.stdout)
    return book


@pytest.fixture(scope="session")
def moved_book(exported_book: dict[str, Any]) -> dict[str, Any]:
    """The book one release later: KV's value changed, RENAMED renamed to NEW_NAME, WITHDRAWN withdrawn."""
    book = deep_copy(exported_book)
    date = "2027-02-01"
    book["release"] = {**book["release"], "version": NEW_RELEASE, "date": date}
    book["releases"].append({"release": NEW_RELEASE, "date": date})
    kv = claim_in(book, KV)
    assert not kv["version"].startswith(NEW_VERSION[:8])
    kv.update(version=NEW_VERSION, judged=NEW_JUDGED, display=NEW_JUDGED, value=2000.0, value_in_stated_unit=2000.0)
    last = kv["history"][-1]
    kv["history"].append({**last, "release": NEW_RELEASE, "date": date, "version": NEW_VERSION, "judged": NEW_JUDGED})
    kv["history"][-1]["value"] = 2000.0
    batch = claim_in(book, RE_PINNED)
    assert not batch["version"].startswith(RE_PINNED_VERSION[:8])
    was = batch["history"][-1]  # rows and inputs recorded, as releases after 0.4.0 record them
    was.update(inputs={"chip-a.hbm_bandwidth": "3.35 TB/s"}, rows={"chip-a": [was["value"], was["verdict"]]})
    was["rows"]["chip-b"] = [100.0, "holds"]
    now = {**json.loads(json.dumps(was)), "release": NEW_RELEASE, "date": date, "version": RE_PINNED_VERSION}
    now["rows"]["chip-b"] = [150.0, "holds"]
    batch["history"].append(now)
    batch["version"] = RE_PINNED_VERSION
    renamed = claim_in(book, RENAMED)
    renamed.update(id=NEW_NAME, aliases=[*renamed["aliases"], RENAMED], permalink=f"c/{NEW_NAME}.html")
    gone = claim_in(book, WITHDRAWN)
    book["claims"].remove(gone)
    book["withdrawn"].append(
        {
            "id": WITHDRAWN,
            "reason": REASON,
            "release": NEW_RELEASE,
            "permalink": gone["permalink"],
            "history": gone["history"],
        }
    )
    return book
