"""The fault table: hostile, damaged or odd input to the claims command line, each with the exit code and
the message it must give (issue 30). hwdb's own table is tests/test_faults_hwdb.py.

Every case runs a real process with a timeout, so a hang fails instead of stalling the suite. Exit codes:
0 fine, 1 a finding (drift, a citation problem), 2 input the command refuses, with one line naming it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import REPO
from forked_cli import run_module

Setup = Callable[[Path], None]


def _copy(dest: Path) -> None:
    for name in ("claims", "hwdb"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))


def _history(text: str | None) -> Setup:
    """A copy whose release history holds ``text`` (None: no history at all)."""

    def setup(where: Path) -> None:
        _copy(where)
        target = where / "claims/history.json"
        if text is None:
            target.unlink()
        else:
            target.write_text(text)

    return setup


def _fifo(name: str) -> Setup:
    def setup(where: Path) -> None:
        os.mkfifo(where / name)

    return setup


def _file(name: str, content: bytes) -> Setup:
    def setup(where: Path) -> None:
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_bytes(content)

    return setup


def _both(*steps: Setup) -> Setup:
    def setup(where: Path) -> None:
        for step in steps:
            step(where)

    return setup


@dataclass(frozen=True)
class Case:
    """One command, what is done to its world first, and what it must answer."""

    args: tuple[str, ...]
    status: int
    says: str = ""
    setup: Setup | None = None
    #: Run in the copy (needs a setup that copies) rather than beside the checkout.
    in_copy: bool = False
    stdout_to: str | None = None
    env: dict[str, str] = field(default_factory=dict)


#: Stands for the path of a claims.json exported from this checkout (made once per test module).
EXPORT = "{export}"
TRUNCATED = '{"format": 1, "releases": [{"release": "0.4.0", "da'
CASES: dict[str, Case] = {
    # A damaged or missing release history: --help never needs it, the rest is one line.
    "help with a truncated history": Case(("--help",), 0, "usage:", _history(TRUNCATED), in_copy=True),
    "version with a truncated history": Case(
        ("--version",), 2, "history.json: not valid JSON", _history(TRUNCATED), True
    ),
    "cite with no history": Case(("cite", "kv.bytes-per-token"), 2, "release history not found", _history(None), True),
    "verify with no history": Case(("verify",), 0, "claims match", _history(None), True),
    "export with a history of the wrong shape": Case(
        ("export",), 2, "not a format-1 release history", _history('{"format": 1, "releases": 3}'), True
    ),
    "pin with an empty history": Case(("pin",), 2, "history.json: not valid JSON", _history(""), True),
    "history with a release named banana": Case(
        ("cite", "kv.bytes-per-token"),
        2,
        "'release' must be a version such as 0.2.0, not 'banana'",
        _history('{"format": 1, "releases": [{"release": "banana", "date": "2026-01-01", "claims": {}}]}'),
        True,
    ),
    # Claim IDs
    "cite an unknown ID": Case(("cite", "kv.bytes-per-tokn"), 2, "did you mean kv.bytes-per-token?"),
    "cite an ID far from any": Case(("cite", "zzz.qqq"), 2, "unknown claim ID 'zzz.qqq' (`python -m claims list`"),
    "show an unknown ID": Case(("show", "batch.optimal"), 2, "did you mean batch.optimal-size"),
    "show --hw on a claim with no rows": Case(
        ("show", "reversible.feistel-invertible", "--hw", "h200"), 2, "--hw does not apply"
    ),
    "cite in an unknown format": Case(("cite", "kv.bytes-per-token", "--format", "docx"), 2, "invalid choice"),
    # Output that cannot be written
    "export to a full device": Case(
        ("export",), 2, "cannot write the output: No space left on device", stdout_to="/dev/full"
    ),
    "list to a full device": Case(("list",), 2, "cannot write the output", stdout_to="/dev/full"),
    # The lock aimed at what is not a regular file
    "pin --lock at a FIFO": Case(("--lock", "lock.fifo", "pin"), 2, "not a regular file", _fifo("lock.fifo")),
    "pin --lock at /dev/null": Case(("--lock", "/dev/null", "pin"), 2, "/dev/null"),
    "pin --lock at a folder": Case(("--lock", "folder", "pin"), 2, "folder", lambda w: (w / "folder").mkdir()),
    "verify --lock at a missing file": Case(("--lock", "nowhere.json", "verify"), 2, "nowhere.json"),
    "verify --lock at a file that is not JSON": Case(
        ("--lock", "bad.json", "verify"), 2, "bad.json", _file("bad.json", b"{")
    ),
    # check-refs
    "check-refs on nothing": Case(("check-refs", "nowhere"), 2, "no such file or folder: nowhere"),
    "check-refs against a claims.json that is not JSON": Case(
        ("check-refs", ".", "--claims", "c.json"),
        2,
        "c.json: not a claims.json: not valid JSON",
        _file("c.json", b"{x"),
    ),
    "check-refs against a claims.json of another shape": Case(
        ("check-refs", ".", "--claims", "c.json"), 2, "at the top level", _file("c.json", b"[]")
    ),
    "check-refs against a folder": Case(
        ("check-refs", ".", "--claims", "sub"), 2, "sub: not a claims.json: a folder", lambda w: (w / "sub").mkdir()
    ),
    "check-refs against a FIFO": Case(("check-refs", ".", "--claims", "c.json"), 2, "c.json", _fifo("c.json")),
    "check-refs against an address that is down": Case(
        ("check-refs", ".", "--claims", "http://127.0.0.1:9/claims.json"), 2, "127.0.0.1:9/claims.json: cannot fetch"
    ),
    "check-refs against a malformed address": Case(
        ("check-refs", ".", "--claims", "http://[::1/claims.json"), 2, "cannot fetch claims.json"
    ),
    "check-refs with a FIFO among the documents": Case(
        ("check-refs", ".", "--claims", EXPORT), 0, "pipe.md: skipped", _fifo("pipe.md")
    ),
    "check-refs with an undecodable document": Case(
        ("check-refs", ".", "--claims", EXPORT),
        1,
        "not UTF-8",
        _file("latin.md", b"caf\xe9 claim:kv.bytes-per-tokn\n"),
    ),
    "check-refs with a damaged pyproject": Case(
        ("check-refs", "."), 2, "pyproject.toml: cannot read [tool.claims]", _file("pyproject.toml", b"[tool.claims\n")
    ),
    "check-refs with CLAIMS_JSON at nothing": Case(
        ("check-refs", "."), 2, "nowhere.json: not a claims.json: no such file", env={"CLAIMS_JSON": "nowhere.json"}
    ),
    # Numbers that are not the book's are never offered as citable
    "show under an overlay": Case(
        ("--hwdb-overlay", str(REPO / "book/examples/my-accelerator.toml"), "show", "batch.optimal-size"),
        0,
        "not the book's, not citable",
    ),
    # What-if values
    "what-if on an unknown record": Case(
        ("show", "batch.optimal-size", "--set", "nope.hbm_bandwidth=1 TB/s"), 2, "nope"
    ),
    "what-if without a value": Case(
        ("show", "batch.optimal-size", "--set", "h100-sxm.hbm_bandwidth"), 2, "hbm_bandwidth"
    ),
}


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("export") / "claims.json"
    made = run_module("claims", ["export"], cwd=REPO, env=dict(os.environ), timeout=300)
    assert made.returncode == 0, made.stderr
    path.write_text(made.stdout)
    return str(path)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_claims_command_answers_each_fault_with_its_code_and_message(
    name: str, tmp_path: Path, export: str, run_fault: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    case = CASES[name]
    if case.setup is not None:
        case.setup(tmp_path)
    env = dict(case.env)
    if not case.in_copy:
        env["PYTHONPATH"] = str(REPO)  # the checkout's package, run in the scratch folder
    args = ["claims", *(export if arg == EXPORT else arg for arg in case.args)]
    run = run_fault(args, case.status, case.says, cwd=tmp_path, timeout=120, env=env, stdout_to=case.stdout_to)
    if case.status == 2 and case.args[0] not in ("--help",):
        errors = [line for line in run.stderr.splitlines() if line.startswith(("error:", "usage:"))]
        assert errors, run.stderr


@pytest.mark.parametrize("name", ["<!--<script>", "</script><script>alert(1)</script>", "]]>&amp;", "\u2028"])
def test_embedded_json_survives_any_text_a_record_holds(name: str) -> None:
    """The calculators' and explore page's data sit in a <script> element: no text may end or comment it."""
    from claims.calculator import payload

    text = payload({"name": name})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"name": name}


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 30


# A pin writes the lock, the published benchmarks' lock, the history and claims/RELEASE as one set.

PIN_FILES = ("claims/claims.lock.json", "claims/published.lock.json", "claims/history.json", "claims/RELEASE")
#: pin, with the Nth fsync of its final write failing (counted only inside that write, not in cache writes).
FAILING_FSYNC = """
import os, sys
import claims.__main__ as command
armed, calls, real_fsync, real_together = [False], [0], os.fsync, command.write_together
def fsync(fd):
    if armed[0]:
        calls[0] += 1
        if calls[0] == int(sys.argv[1]):
            raise OSError(5, "Input/output error")
    return real_fsync(fd)
def together(files):
    assert len(files) == 4, sorted(map(str, files))
    armed[0] = True
    try:
        return real_together(files)
    finally:
        armed[0] = False
os.fsync, command.write_together = fsync, together
sys.exit(command.main(["pin"]))
"""


@pytest.fixture(scope="module")
def moved_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy whose H100 bandwidth moved: its next pin records a release."""
    from claims.mutate import _perturb

    where = tmp_path_factory.mktemp("pin")
    _copy(where)
    accelerator = where / "hwdb/data/accelerators/h100-sxm.toml"
    accelerator.write_text(_perturb(accelerator.read_text(), "hbm_bandwidth", 1.1))
    return where


@pytest.mark.parametrize("failing", [1, 2, 3, 4])
def test_a_pin_that_fails_part_way_leaves_the_old_set_whole(moved_copy: Path, failing: int) -> None:
    before = {name: (moved_copy / name).read_bytes() for name in PIN_FILES}
    run = subprocess.run(
        [sys.executable, "-c", FAILING_FSYNC, str(failing)], cwd=moved_copy, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 2 and "Input/output error" in run.stderr and "Traceback" not in run.stderr
    assert {name: (moved_copy / name).read_bytes() for name in PIN_FILES} == before
    assert not list((moved_copy / "claims").glob(".*.tmp")), "a temporary file was left behind"


def test_a_release_file_that_disagrees_is_named_and_repaired_by_a_pin(tmp_path: Path) -> None:
    _copy(tmp_path)
    release = tmp_path / "claims/RELEASE"
    right = release.read_text()
    release.write_text("0.0.1\n")
    from claims.history import release_file_problem

    problem = release_file_problem(tmp_path / "claims/history.json")
    assert problem is not None and "says '0.0.1', but the last release in history.json is" in problem
    run = run_module("claims", ["pin"], cwd=tmp_path, env=dict(os.environ), timeout=300)
    assert run.returncode == 0 and "RELEASE repaired" in run.stdout, run.stderr
    assert release.read_text() == right
