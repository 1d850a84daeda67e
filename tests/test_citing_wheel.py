"""Citing the book from a real design-doc repository, with nothing but the installed wheel: its console
scripts (``claims cite``, ``claims check-refs``) and the pre-commit hook. The Sphinx extension's cases are in
tests/test_citing_wheel_sphinx.py.

Every case runs the console scripts of a fresh virtual environment holding the project's wheel, in a
scratch git repository outside the checkout, so nothing is read from the working tree. The book "moves" by
editing a copy of the claims.json the wheel exports (the ``exported_book`` and ``moved_book`` fixtures of
tests/conftest.py): a value changes (a new content version and history entry), a claim is renamed (its old ID
becomes an alias) and one is withdrawn.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    BASE,
    KV,
    NEW_JUDGED,
    NEW_NAME,
    NEW_RELEASE,
    NEW_VERSION,
    RE_PINNED,
    REASON,
    RENAMED,
    REPO,
    TYPO,
    WITHDRAWN,
    claim_in,
    closed_port,
    git_repository,
    missing_keys,
    run_scrubbed,
    script_path,
)

pytestmark = pytest.mark.slow  # a wheel, a virtual environment and its console scripts


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------------
# The two books (tests/conftest.py) as files, and the commands that read them


@pytest.fixture(scope="module")
def books(exported_book: dict[str, Any], moved_book: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding current.json and moved.json."""
    folder = tmp_path_factory.mktemp("books")
    (folder / "current.json").write_text(json.dumps(exported_book), encoding="utf-8")
    (folder / "moved.json").write_text(json.dumps(moved_book), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def cite(
    installed: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, bool], subprocess.CompletedProcess[str]]:
    """``claims cite KV --format FORMAT``, with or without CLAIMS_BASE_URL; each run once per module."""
    cwd = git_repository(tmp_path_factory.mktemp("cite") / "repo")
    done: dict[tuple[str, bool], subprocess.CompletedProcess[str]] = {}

    def run(format: str, addressed: bool) -> subprocess.CompletedProcess[str]:
        if (format, addressed) not in done:
            extra = {"CLAIMS_BASE_URL": BASE} if addressed else {}
            done[format, addressed] = run_scrubbed(
                [script_path(installed, "claims"), "cite", KV, "--format", format], cwd, **extra
            )
        return done[format, addressed]

    return run


def _check(installed: Path, cwd: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    """``claims check-refs --format json ARGS`` in ``cwd``: the run and its parsed report (None if not JSON)."""
    run = run_scrubbed([script_path(installed, "claims"), "check-refs", "--format", "json", *args], cwd, **env)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        report = None
    return run, report


# ---------------------------------------------------------------------------------------------------
# Console scripts and `claims cite`


@pytest.mark.parametrize("script", ["claims", "hwdb"])
def test_console_script_prints_the_release(installed: Path, tmp_path: Path, script: str) -> None:
    release = (REPO / "claims" / "RELEASE").read_text(encoding="utf-8").strip()
    run = run_scrubbed([script_path(installed, script), "--version"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{script} {release}"), (run.stdout, run.stderr)  # stdout, as argparse prints it


FORMATS = ["md", "rst", "bibtex", "json"]


@pytest.mark.parametrize("format", FORMATS)
def test_cite_with_the_base_url_gives_the_absolute_address(
    cite: Callable[[str, bool], subprocess.CompletedProcess[str]], exported_book: dict[str, Any], format: str
) -> None:
    run = cite(format, True)
    assert run.returncode == 0, run.stderr
    assert f"{BASE}c/{KV}.html" in run.stdout
    release, version = exported_book["release"]["version"], claim_in(exported_book, KV)["version"]
    assert f"{release}+{version}" in run.stdout  # pinned to the content version, as check-refs reads it
    assert "CLAIMS_BASE_URL" not in run.stderr


@pytest.mark.parametrize("format", FORMATS)
def test_cite_without_the_base_url_writes_no_relative_address(
    cite: Callable[[str, bool], subprocess.CompletedProcess[str]], format: str
) -> None:
    run = cite(format, False)
    assert run.returncode == 0, run.stderr
    assert "c/" + KV not in run.stdout and ".html" not in run.stdout, run.stdout
    assert "note:" in run.stderr and "CLAIMS_BASE_URL" in run.stderr


def test_cite_a_mistyped_id_names_the_nearest_not_every_id(
    installed: Path, tmp_path: Path, exported_book: dict[str, Any]
) -> None:
    run = run_scrubbed([script_path(installed, "claims"), "cite", "kv.bytes-per-tokn"], tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert KV in run.stderr
    named = [
        c["id"] for c in exported_book["claims"] if re.search(rf"(?<![\w.-]){re.escape(c['id'])}(?![\w-])", run.stderr)
    ]
    assert 1 <= len(named) <= 5, named


# ---------------------------------------------------------------------------------------------------
# check-refs over a repository of many kinds of file


ORDINARY = (
    "Deploy with serving.yaml and training.py; the notes are in context.md and rooflines.html.\n"
    "The kv.cache and network.mtu-size settings stay as they are.\n"
    "The book's box: rooflines.html#claim-batch.optimal-size, see the page.\n"
)
#: Each document type, a line citing a mistyped ID in that type's own way, and where the citation starts.
DOCUMENTS = {
    "md": ("Our budget is claim:kv.bytes-per-tokn for now.", "claim:"),
    "rst": ("Budget: :claim-value:`kv.bytes-per-tokn` per token.", ":claim-value:"),
    "txt": ("    claim:kv.bytes-per-tokn", "claim:"),
    "html": ('<p>See <a href="https://book.example.org/v/c/kv.bytes-per-tokn.html">the budget</a>.</p>', "c/kv"),
    "tex": ("as shown in \\cite{claim:kv.bytes-per-tokn}.", "claim:"),
}
#: Places whose citations are never reported: not documents, or folders skipped by default or by --exclude.
NOT_SCANNED = {
    ".py in a folder": "docs/plan.py",
    ".yaml in a folder": "docs/plan.yaml",
    ".git/": ".git/notes/plan.md",
    "_build/": "docs/_build/html/plan.html",
    "node_modules/": "node_modules/pkg/README.md",
    "--exclude": "vendor/their-plan.md",
}


@dataclass(frozen=True)
class Scan:
    run: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    root: Path

    def findings(self, file: str) -> list[dict[str, Any]]:
        return [f for f in self.report["findings"] if f["file"] == file]


@pytest.fixture(scope="module")
def scan(installed: Path, books: Path, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    """One check-refs run over a repository holding every document type and every place to skip."""
    root = git_repository(tmp_path_factory.mktemp("scan") / "design-docs")
    files = {"docs/ordinary.md": ORDINARY, "docs/ordinary.txt": ORDINARY}
    files |= {f"docs/plan.{suffix}": f"# Plan\n{line}\n" for suffix, (line, _) in DOCUMENTS.items()}
    files |= {path: "claim:nope.never-seen\n" for path in NOT_SCANNED.values()}
    files["docs/ignored.md"] = "claim:nope.ignored  <!-- claims: ignore -->\nclaim:nope.reported\n"
    _write(root, files)
    run, report = _check(installed, root, ".", "--claims", str(books / "current.json"), "--exclude", "vendor")
    assert report is not None, run.stdout + run.stderr
    return Scan(run, report, root)


def test_ordinary_text_is_not_a_citation(scan: Scan) -> None:
    assert scan.findings("docs/ordinary.md") == [] and scan.findings("docs/ordinary.txt") == []
    assert not any("serving.yaml" in f["cited"] or "rooflines" in f["cited"] for f in scan.report["findings"])


@pytest.mark.parametrize("suffix", list(DOCUMENTS))
def test_each_document_type_is_scanned_with_line_and_column(scan: Scan, suffix: str) -> None:
    line, start = DOCUMENTS[suffix]
    (finding,) = scan.findings(f"docs/plan.{suffix}")
    assert finding["kind"] == "unknown" and "did you mean kv.bytes-per-token" in finding["problem"]
    assert (finding["line"], finding["column"]) == (2, line.index(start) + 1)
    assert line[finding["column"] - 1 :].startswith(finding["cited"])


@pytest.mark.parametrize("place", list(NOT_SCANNED))
def test_code_config_build_vcs_and_excluded_files_are_not_scanned(scan: Scan, place: str) -> None:
    assert scan.findings(NOT_SCANNED[place]) == []
    assert not any("never-seen" in f["cited"] for f in scan.report["findings"])


def test_a_line_marked_claims_ignore_is_skipped(scan: Scan) -> None:
    assert [(f["line"], f["cited"]) for f in scan.findings("docs/ignored.md")] == [(2, "claim:nope.reported")]


def test_the_json_report_counts_files_and_sets_the_status(scan: Scan, books: Path) -> None:
    assert scan.run.returncode == 1 == scan.report["status"]
    assert scan.report["files"] == 2 + len(DOCUMENTS) + 1  # ordinary.md/.txt, one per type, ignored.md
    assert scan.report["checked_against"] == str(books / "current.json")
    assert len(scan.report["findings"]) == len(DOCUMENTS) + 1 and scan.report["unreadable"] == []
    assert "Traceback" not in scan.run.stderr


def test_the_text_report_says_the_same_as_the_json(scan: Scan, installed: Path, books: Path) -> None:
    command = [script_path(installed, "claims"), "check-refs", ".", "--claims", str(books / "current.json")]
    run = run_scrubbed([*command, "--exclude", "vendor"], scan.root)
    assert run.returncode == 1
    expected = sorted(
        f"{f['file']}:{f['line']}:{f['column']}: {f['cited']}: {f['problem']}" for f in scan.report["findings"]
    )
    assert sorted(run.stdout.splitlines()) == expected


# ---------------------------------------------------------------------------------------------------
# Pins in every form, renames, withdrawals and typos, before and after the book moves


@dataclass(frozen=True)
class Case:
    """A document citing the book; the finding kinds against the current book and against the moved one."""

    path: str
    text: str
    now: tuple[str, ...]
    later: tuple[str, ...]
    says: str = ""  # a phrase the moved book's message must contain

    def render(self, pins: dict[str, str]) -> str:
        return self.text.format(**pins)


CASES = {
    "full hex": Case("pins/full.md", "Budget: claim:kv.bytes-per-token@{v}.\n", (), ("stale",), NEW_JUDGED),
    "8-digit prefix": Case("pins/prefix.md", "claim:kv.bytes-per-token@{v8}\n", (), ("stale",), NEW_JUDGED),
    "upper case": Case("pins/upper.txt", "CLAIM TEXT claim:kv.bytes-per-token@{V}\n", (), ("stale",), NEW_JUDGED),
    "release+version": Case("pins/release.rst", "See claim:kv.bytes-per-token@{R}+{v}.\n", (), ("stale",)),
    "MyST role": Case("pins/role.md", "KV: {{claim-value}}`kv.bytes-per-token@{v}`.\n", (), ("stale",)),
    "explicit title": Case("pins/titled.rst", ":claim:`our budget <kv.bytes-per-token@{v8}>`\n", (), ("stale",)),
    "cite md line": Case("pins/cite.md", "{md}\n", (), ("stale",), NEW_JUDGED),
    "cite md line with address": Case("pins/cite-link.md", "{md_link}\n", (), ("stale",)),
    "cite rst lines": Case("pins/cite.rst", "{rst_link}\n", (), ("stale", "stale")),
    "malformed pins": Case(
        "pins/malformed.md",
        "claim:kv.bytes-per-token@{v7}\nclaim:kv.bytes-per-token@xyz12345\nclaim:kv.bytes-per-token@0.4+{v}\n",
        ("pin", "pin", "pin"),
        ("pin", "pin", "pin"),
        "malformed pin",
    ),
    "release never published": Case(
        "pins/unpublished.md", "claim:kv.bytes-per-token@9.9.9+{v}\n", ("release",), ("release",), "never published"
    ),
    "release before the version": Case(
        "pins/early.md", "claim:kv.bytes-per-token@{R}+{new}\n", ("stale",), ("release",), f"first in {NEW_RELEASE}"
    ),
    "re-pinned after the move": Case("pins/new.md", "claim:kv.bytes-per-token@{new}\n", ("stale",), ()),
    "renamed": Case("moves/renamed.md", f"See claim:{RENAMED}.\n", (), ("renamed",), f"renamed to '{NEW_NAME}'"),
    "withdrawn": Case("moves/withdrawn.md", f"claim:{WITHDRAWN}@{{w}}\n", (), ("withdrawn",), REASON),
    "value unchanged, a row moved": Case(
        "pins/row.md", f"claim:{RE_PINNED}@{{b}}\n", (), ("stale",), "unchanged (what moved: row chip-b"
    ),
    "chapter typo": Case(
        "moves/typo.md", f"claim:{TYPO}\n", ("unknown",), ("unknown",), "did you mean serving.train-interval"
    ),
}


@pytest.fixture(scope="module")
def pinned(
    installed: Path,
    books: Path,
    exported_book: dict[str, Any],
    cite: Callable[[str, bool], subprocess.CompletedProcess[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, Any]]:
    """check-refs over a repository of every case, against the current book and against the moved one."""
    version = claim_in(exported_book, KV)["version"]
    pins = {
        "v": version,
        "v8": version[:8],
        "v7": version[:7],
        "V": version.upper(),
        "R": exported_book["release"]["version"],
        "new": NEW_VERSION,
        "w": claim_in(exported_book, WITHDRAWN)["version"],
        "b": claim_in(exported_book, RE_PINNED)["version"],
        "md": cite("md", False).stdout.strip(),
        "md_link": cite("md", True).stdout.strip(),
        "rst_link": cite("rst", True).stdout.strip(),
    }
    root = git_repository(tmp_path_factory.mktemp("pins") / "design-docs")
    _write(root, {case.path: case.render(pins) for case in CASES.values()})
    reports = {}
    for name in ("current", "moved"):
        run, report = _check(installed, root, ".", "--claims", str(books / f"{name}.json"))
        assert report is not None and "Traceback" not in run.stderr, run.stdout + run.stderr
        assert run.returncode == (1 if report["findings"] else 0)
        reports[name] = report
    return reports


@pytest.mark.parametrize("name", list(CASES))
def test_every_pin_form_passes_while_current_and_is_reported_after_the_book_moves(
    pinned: dict[str, dict[str, Any]], name: str
) -> None:
    case = CASES[name]
    for book, expected in (("current", case.now), ("moved", case.later)):
        found = [f for f in pinned[book]["findings"] if f["file"] == case.path]
        assert tuple(f["kind"] for f in found) == expected, (book, found)
    if case.says:
        later = [f for f in pinned["moved"]["findings"] if f["file"] == case.path]
        assert all(case.says in f["problem"] for f in later), later


# ---------------------------------------------------------------------------------------------------
# A claims.json that is not one: one line naming it, exit 2


@pytest.fixture(scope="module")
def server(books: Path) -> Iterator[str]:
    """A local web server over the books folder: its address, ending in '/'."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(books), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


BAD_SOURCES: dict[str, Callable[[dict[str, Any], str], tuple[str | None, str]]] = {
    "not JSON": lambda book, url: ('{"claims": [', "not valid JSON"),
    "wrong shape": lambda book, url: (json.dumps([book["claims"][0]]), "not a claims.json"),
    "missing keys": lambda book, url: (json.dumps(missing_keys(book)), "not a claims.json"),
    "a URL that is down": lambda book, url: (None, f"http://127.0.0.1:{closed_port()}/claims.json"),
    "a URL that is not there": lambda book, url: (None, url + "nothing-here.json"),
}


@pytest.mark.parametrize("name", list(BAD_SOURCES))
def test_a_bad_claims_json_is_one_line_naming_it_and_exit_2(
    installed: Path, tmp_path: Path, exported_book: dict[str, Any], server: str, name: str
) -> None:
    content, said = BAD_SOURCES[name](exported_book, server)
    repo = git_repository(tmp_path / "repo")
    _write(repo, {"plan.md": f"claim:{KV}\n"})
    where = said if content is None else str(repo / "claims.json")
    if content is not None:
        (repo / "claims.json").write_text(content, encoding="utf-8")
    run = run_scrubbed([script_path(installed, "claims"), "check-refs", "plan.md", "--claims", where], repo)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert where in lines[0] and (content is None or said in lines[0]), lines[0]


def test_a_published_claims_json_is_checked_against_by_url(installed: Path, tmp_path: Path, server: str) -> None:
    repo = git_repository(tmp_path / "repo")
    _write(repo, {"plan.md": f"claim:{RENAMED}\n"})
    run, report = _check(installed, repo, "plan.md", "--claims", server + "moved.json")
    assert run.returncode == 1 and report is not None, run.stderr
    assert report["checked_against"] == server + "moved.json"
    assert [f["kind"] for f in report["findings"]] == ["renamed"]


# ---------------------------------------------------------------------------------------------------
# Which book check-refs checks against


SOURCES = ["$CLAIMS_JSON", "[tool.claims] json", "--claims over $CLAIMS_JSON", "the installation"]


@pytest.mark.parametrize("source", SOURCES)
def test_the_book_checked_against_is_the_one_configured(
    installed: Path, tmp_path: Path, books: Path, source: str
) -> None:
    repo = git_repository(tmp_path / "repo")
    _write(repo, {"plan.md": f"See claim:{RENAMED}.\n"})  # renamed in the moved book only
    moved = str(books / "moved.json")
    args: list[str] = ["plan.md"]
    env: dict[str, str] = {}
    if source == "$CLAIMS_JSON":
        env["CLAIMS_JSON"] = moved
    elif source == "[tool.claims] json":
        shutil.copy(moved, repo / "book.json")
        _write(repo, {"pyproject.toml": '[project]\nname = "plans"\n\n[tool.claims]\njson = "book.json"\n'})
        moved = "book.json"
    elif source == "--claims over $CLAIMS_JSON":
        env["CLAIMS_JSON"] = str(tmp_path / "no-such.json")
        args += ["--claims", moved]
    run, report = _check(installed, repo, *args, **env)
    assert report is not None and "Traceback" not in run.stderr, run.stdout + run.stderr
    if source == "the installation":
        assert run.returncode == 0 and report["findings"] == []
        assert report["checked_against"].startswith("this installation")
        assert "note: checking against this installation's claims" in run.stderr
    else:
        assert run.returncode == 1 and [f["kind"] for f in report["findings"]] == ["renamed"]
        assert report["checked_against"] == moved
        assert "this installation" not in run.stderr


# ---------------------------------------------------------------------------------------------------
# The pre-commit hook


#: The tags pre-commit's ``identify`` gives files of these suffixes (from its extensions table).
IDENTIFY = {
    "md": {"text", "markdown"},
    "rst": {"text", "rst"},
    "txt": {"text", "plain-text"},
    "html": {"text", "html"},
    "tex": {"text", "tex"},
    "py": {"text", "python"},
    "yaml": {"text", "yaml"},
    "toml": {"text", "toml"},
    "json": {"text", "json"},
}


def test_the_pre_commit_hook_runs_the_console_script_on_documents_only(installed: Path) -> None:
    text = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    # PyYAML need not be installed: the file is one hook of `key: value` lines, lists written [a, b]
    settings: dict[str, str] = dict(re.findall(r"^\s*-?\s*(\w+):[ \t]*(.*?)\s*$", text, flags=re.MULTILINE))
    assert settings["id"] == "check-claim-refs" and settings["language"] == "python"
    entry = settings["entry"].split()
    assert entry[:2] == ["claims", "check-refs"] and (installed.parent / entry[0]).exists()
    assert "types" not in settings  # types_or only: `types: [text]` would match every text file
    listed = settings["types_or"]
    assert listed.startswith("[") and listed.endswith("]"), listed
    types = {name.strip() for name in listed[1:-1].split(",")}
    assert "text" not in types
    for suffix in ("md", "rst", "txt", "html", "tex"):
        assert IDENTIFY[suffix] & types, suffix
    for suffix in ("py", "yaml", "toml", "json"):
        assert not IDENTIFY[suffix] & types, suffix
