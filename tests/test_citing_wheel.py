"""Citing the book from a real design-doc repository, with nothing but the installed wheel.

Every case runs the console scripts (or the Sphinx extension) of a fresh virtual environment holding the
project's wheel, in a scratch git repository outside the checkout, so nothing is read from the working tree.
The book "moves" by editing a copy of the claims.json the wheel exports: a value changes (a new content
version and history entry), a claim is renamed (its old ID becomes an alias) and one is withdrawn.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow  # a wheel, a virtual environment and nine Sphinx builds

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


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    return {**env, **extra}


def _bin(installed: Path, script: str) -> str:
    return str(installed.parent / script)


def _run(command: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=_env(**extra), timeout=300)


def _repository(path: Path) -> Path:
    """An empty design-doc repository (a git one, as a pre-commit hook would see it)."""
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True, capture_output=True)
    return path


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def _claim(book: dict[str, Any], claim_id: str) -> dict[str, Any]:
    return next(c for c in book["claims"] if c["id"] == claim_id)


def _copy(book: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(book))
    return copied


# ---------------------------------------------------------------------------------------------------
# The book as the wheel exports it, and the book after it moved on


@pytest.fixture(scope="module")
def current(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The claims.json the installed wheel exports (run once; every other book is an edited copy)."""
    run = _run([_bin(installed, "claims"), "export"], tmp_path_factory.mktemp("export"))
    assert run.returncode == 0, run.stderr
    book: dict[str, Any] = json.loads(run.stdout)
    return book


@pytest.fixture(scope="module")
def moved(current: dict[str, Any]) -> dict[str, Any]:
    """The book one release later: KV's value changed, RENAMED renamed to NEW_NAME, WITHDRAWN withdrawn."""
    book = _copy(current)
    date = "2027-02-01"
    book["release"] = {**book["release"], "version": NEW_RELEASE, "date": date}
    book["releases"].append({"release": NEW_RELEASE, "date": date})
    kv = _claim(book, KV)
    assert not kv["version"].startswith(NEW_VERSION[:8])
    kv.update(version=NEW_VERSION, judged=NEW_JUDGED, display=NEW_JUDGED, value=2000.0, value_in_stated_unit=2000.0)
    last = kv["history"][-1]
    kv["history"].append({**last, "release": NEW_RELEASE, "date": date, "version": NEW_VERSION, "judged": NEW_JUDGED})
    kv["history"][-1]["value"] = 2000.0
    batch = _claim(book, RE_PINNED)
    assert not batch["version"].startswith(RE_PINNED_VERSION[:8])
    was = batch["history"][-1]  # rows and inputs recorded, as releases after 0.4.0 record them
    was.update(inputs={"chip-a.hbm_bandwidth": "3.35 TB/s"}, rows={"chip-a": [was["value"], was["verdict"]]})
    was["rows"]["chip-b"] = [100.0, "holds"]
    now = {**json.loads(json.dumps(was)), "release": NEW_RELEASE, "date": date, "version": RE_PINNED_VERSION}
    now["rows"]["chip-b"] = [150.0, "holds"]
    batch["history"].append(now)
    batch["version"] = RE_PINNED_VERSION
    renamed = _claim(book, RENAMED)
    renamed.update(id=NEW_NAME, aliases=[*renamed["aliases"], RENAMED], permalink=f"c/{NEW_NAME}.html")
    gone = _claim(book, WITHDRAWN)
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


@pytest.fixture(scope="module")
def books(current: dict[str, Any], moved: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding current.json and moved.json."""
    folder = tmp_path_factory.mktemp("books")
    (folder / "current.json").write_text(json.dumps(current), encoding="utf-8")
    (folder / "moved.json").write_text(json.dumps(moved), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def cite(
    installed: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, bool], subprocess.CompletedProcess[str]]:
    """``claims cite KV --format FORMAT``, with or without CLAIMS_BASE_URL; each run once per module."""
    cwd = _repository(tmp_path_factory.mktemp("cite") / "repo")
    done: dict[tuple[str, bool], subprocess.CompletedProcess[str]] = {}

    def run(format: str, addressed: bool) -> subprocess.CompletedProcess[str]:
        if (format, addressed) not in done:
            extra = {"CLAIMS_BASE_URL": BASE} if addressed else {}
            done[format, addressed] = _run([_bin(installed, "claims"), "cite", KV, "--format", format], cwd, **extra)
        return done[format, addressed]

    return run


def _check(installed: Path, cwd: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    """``claims check-refs --format json ARGS`` in ``cwd``: the run and its parsed report (None if not JSON)."""
    run = _run([_bin(installed, "claims"), "check-refs", "--format", "json", *args], cwd, **env)
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
    run = _run([_bin(installed, script), "--version"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{script} {release}"), (run.stdout, run.stderr)  # stdout, as argparse prints it


FORMATS = ["md", "rst", "bibtex", "json"]


@pytest.mark.parametrize("format", FORMATS)
def test_cite_with_the_base_url_gives_the_absolute_address(
    cite: Callable[[str, bool], subprocess.CompletedProcess[str]], current: dict[str, Any], format: str
) -> None:
    run = cite(format, True)
    assert run.returncode == 0, run.stderr
    assert f"{BASE}c/{KV}.html" in run.stdout
    release, version = current["release"]["version"], _claim(current, KV)["version"]
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
    installed: Path, tmp_path: Path, current: dict[str, Any]
) -> None:
    run = _run([_bin(installed, "claims"), "cite", "kv.bytes-per-tokn"], tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert KV in run.stderr
    named = [c["id"] for c in current["claims"] if re.search(rf"(?<![\w.-]){re.escape(c['id'])}(?![\w-])", run.stderr)]
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
    root = _repository(tmp_path_factory.mktemp("scan") / "design-docs")
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
    command = [_bin(installed, "claims"), "check-refs", ".", "--claims", str(books / "current.json")]
    run = _run([*command, "--exclude", "vendor"], scan.root)
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
    current: dict[str, Any],
    cite: Callable[[str, bool], subprocess.CompletedProcess[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, Any]]:
    """check-refs over a repository of every case, against the current book and against the moved one."""
    version = _claim(current, KV)["version"]
    pins = {
        "v": version,
        "v8": version[:8],
        "v7": version[:7],
        "V": version.upper(),
        "R": current["release"]["version"],
        "new": NEW_VERSION,
        "w": _claim(current, WITHDRAWN)["version"],
        "b": _claim(current, RE_PINNED)["version"],
        "md": cite("md", False).stdout.strip(),
        "md_link": cite("md", True).stdout.strip(),
        "rst_link": cite("rst", True).stdout.strip(),
    }
    root = _repository(tmp_path_factory.mktemp("pins") / "design-docs")
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


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _missing_keys(book: dict[str, Any]) -> dict[str, Any]:
    broken = _copy(book)
    del _claim(broken, KV)["version"]
    del broken["releases"]
    return broken


BAD_SOURCES: dict[str, Callable[[dict[str, Any], str], tuple[str | None, str]]] = {
    "not JSON": lambda book, url: ('{"claims": [', "not valid JSON"),
    "wrong shape": lambda book, url: (json.dumps([book["claims"][0]]), "not a claims.json"),
    "missing keys": lambda book, url: (json.dumps(_missing_keys(book)), "not a claims.json"),
    "a URL that is down": lambda book, url: (None, f"http://127.0.0.1:{_closed_port()}/claims.json"),
    "a URL that is not there": lambda book, url: (None, url + "nothing-here.json"),
}


@pytest.mark.parametrize("name", list(BAD_SOURCES))
def test_a_bad_claims_json_is_one_line_naming_it_and_exit_2(
    installed: Path, tmp_path: Path, current: dict[str, Any], server: str, name: str
) -> None:
    content, said = BAD_SOURCES[name](current, server)
    repo = _repository(tmp_path / "repo")
    _write(repo, {"plan.md": f"claim:{KV}\n"})
    where = said if content is None else str(repo / "claims.json")
    if content is not None:
        (repo / "claims.json").write_text(content, encoding="utf-8")
    run = _run([_bin(installed, "claims"), "check-refs", "plan.md", "--claims", where], repo)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert where in lines[0] and (content is None or said in lines[0]), lines[0]


def test_a_published_claims_json_is_checked_against_by_url(installed: Path, tmp_path: Path, server: str) -> None:
    repo = _repository(tmp_path / "repo")
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
    repo = _repository(tmp_path / "repo")
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
# The pre-commit hook and the weight of the Sphinx extension


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


def test_importing_the_sphinx_extension_loads_no_engine_libraries(installed_sphinx: Path, tmp_path: Path) -> None:
    code = (
        "import json, sys; import claims.citing; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'sympy', 'numpy', 'pint', 'matplotlib'})))"
    )
    run = _run([str(installed_sphinx), "-X", "importtime", "-c", code], tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []
    imported = re.findall(r"\|\s+(sympy|numpy|pint)(?:\.|\s*$)", run.stderr, flags=re.MULTILINE)
    assert imported == []


# ---------------------------------------------------------------------------------------------------
# A design-doc Sphinx project citing the book, built with -W


PROJECT = REPO / "tests" / "citing_project"
WARNING = re.compile(
    r"^(?P<file>\S+?):(?P<line>\d+): WARNING: (?P<message>.*) \[claims\.(?P<kind>\w+)\]$", re.MULTILINE
)


def _sphinx(
    installed: Path,
    tmp_path: Path,
    book: dict[str, Any] | str,
    notes: str | None = None,
    conf: str = "",
    index: str = "",
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Build the citing project in a scratch repository with -W --keep-going: the run and its output folder."""
    repo = _repository(tmp_path / "repo")
    project = repo / "docs"
    shutil.copytree(PROJECT, project)
    (project / "claims.json").write_text(book if isinstance(book, str) else json.dumps(book), encoding="utf-8")
    if notes is not None:
        (project / "notes.rst").write_text(notes, encoding="utf-8")
    with (project / "conf.py").open("a", encoding="utf-8") as stream:
        stream.write(conf)
    with (project / "index.md").open("a", encoding="utf-8") as stream:
        stream.write(index)
    out = repo / "_build" / "html"
    run = _run([str(installed), "-m", "sphinx", "-W", "--keep-going", "-q", "--no-color", "docs", str(out)], repo)
    return run, out


def _html(out: Path) -> str:
    return "".join(page.read_text(encoding="utf-8") for page in (out / "index.html", out / "notes.html"))


TITLED = "\nOur sizing uses {claim}`our budget <kv.bytes-per-token>` throughout.\n"


@pytest.mark.parametrize("where", ["claims_base_url", "the export's base_url"])
def test_a_current_citing_project_builds_clean_with_absolute_links(
    installed_sphinx: Path, tmp_path: Path, current: dict[str, Any], where: str
) -> None:
    release, version = current["release"]["version"], _claim(current, KV)["version"]
    notes = f"Notes\n=====\n\nKV: :claim-value:`{KV}@{release}+{version}` and :claim-verdict:`{KV}@{version[:8]}`.\n"
    book, conf = current, f'claims_base_url = "{BASE}"\n'
    if where != "claims_base_url":
        book, conf = {**current, "base_url": BASE}, ""
    run, out = _sphinx(installed_sphinx, tmp_path, book, notes, conf, TITLED)
    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stderr
    html = _html(out)
    assert f'href="{BASE}c/{KV}.html"' in html and 'href="c/' not in html
    kv = _claim(current, KV)
    assert kv["judged"] in html and kv["verdict"] in html


def test_an_explicit_title_renders_as_the_link_text(
    installed_sphinx: Path, tmp_path: Path, current: dict[str, Any]
) -> None:
    run, out = _sphinx(installed_sphinx, tmp_path, {**current, "base_url": BASE}, index=TITLED)
    assert run.returncode == 0, run.stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    assert re.search(rf'<a [^>]*href="{re.escape(BASE)}c/{re.escape(KV)}\.html"[^>]*>our budget</a>', index), index
    assert "&lt;kv.bytes-per-token&gt;" not in index


def _problems(current: dict[str, Any]) -> dict[str, str]:
    """notes.rst and the lines added to index.md: paragraphs over several lines, one problem per line (the
    stale pin cited twice on its line)."""
    version = _claim(current, KV)["version"]
    notes = (
        "Notes\n=====\n\n"
        "The plan quotes the book\n"
        f"as it was: :claim-value:`{KV}@{version}` (:claim:`{KV}@{version}`),\n"
        f"the old ID :claim:`{RENAMED}`,\n"
        f"the withdrawn :claim-value:`{WITHDRAWN}`,\n"
        f"a short pin :claim-verdict:`{KV}@{version[:7]}`,\n"
        f"and a typo :claim:`{TYPO}`.\n"
    )
    index = f"\nIn MyST too, a paragraph\nthat quotes the old budget {{claim-value}}`{KV}@{version[:8]}`.\n"
    return {"notes.rst": notes, "index.md": index}


#: Each problem: its warning's subtype, the page, a phrase on the line that causes it, and one its warning says.
PROBLEMS = {
    "stale (reST)": ("stale", "notes.rst", "as it was:", NEW_JUDGED),
    "stale (MyST)": ("stale", "index.md", "quotes the old budget", NEW_JUDGED),
    "renamed": ("renamed", "notes.rst", "the old ID", f"renamed to '{NEW_NAME}'"),
    "withdrawn": ("withdrawn", "notes.rst", "the withdrawn", REASON),
    "malformed pin": ("pin", "notes.rst", "a short pin", "malformed pin"),
    "unknown": ("unknown", "notes.rst", "and a typo", "did you mean serving.train-interval"),
}


@dataclass(frozen=True)
class Built:
    run: subprocess.CompletedProcess[str]
    pages: dict[str, str]  # each page's source as built
    warnings: list[dict[str, str]]


@pytest.fixture(scope="module")
def problems_build(
    installed_sphinx: Path, tmp_path_factory: pytest.TempPathFactory, current: dict[str, Any], moved: dict[str, Any]
) -> Built:
    """The project citing the book as it was, built against the moved book."""
    added = _problems(current)
    book = {**moved, "base_url": BASE}
    run, _ = _sphinx(
        installed_sphinx, tmp_path_factory.mktemp("problems"), book, added["notes.rst"], "", added["index.md"]
    )
    pages = {"notes.rst": added["notes.rst"], "index.md": (PROJECT / "index.md").read_text() + added["index.md"]}
    return Built(run, pages, [m.groupdict() for m in WARNING.finditer(run.stderr)])


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_each_problem_fails_the_build_with_a_typed_warning_at_the_roles_line(problems_build: Built, name: str) -> None:
    run = problems_build.run
    assert run.returncode != 0
    kind, page, on, says = PROBLEMS[name]
    line = next(n for n, text in enumerate(problems_build.pages[page].splitlines(), start=1) if on in text)
    found = [w for w in problems_build.warnings if w["kind"] == kind and Path(w["file"]).name == page]
    assert [int(w["line"]) for w in found] == [line], run.stderr
    assert says in found[0]["message"]


def test_each_problem_is_reported_once_and_nothing_else_is(problems_build: Built) -> None:
    run = problems_build.run
    assert sorted(w["kind"] for w in problems_build.warnings) == sorted(p[0] for p in PROBLEMS.values()), run.stderr
    assert run.stderr.count("WARNING") == len(PROBLEMS), run.stderr
    assert "Traceback" not in run.stderr


def test_suppress_warnings_silences_stale_pins_only(
    installed_sphinx: Path, tmp_path: Path, current: dict[str, Any], moved: dict[str, Any]
) -> None:
    version = _claim(current, KV)["version"]
    notes = f"Notes\n=====\n\nKV: :claim-value:`{KV}@{version}` and :claim:`{KV}@{version[:8]}`.\n"
    conf = 'suppress_warnings = ["claims.stale"]\n'
    run, out = _sphinx(installed_sphinx, tmp_path, {**moved, "base_url": BASE}, notes, conf)
    assert run.returncode == 0, run.stderr
    assert NEW_JUDGED in (out / "notes.html").read_text(encoding="utf-8")  # the current value, not the quoted one


def test_no_address_known_is_one_warning_and_no_relative_links(
    installed_sphinx: Path, tmp_path: Path, current: dict[str, Any]
) -> None:
    assert current["base_url"] == ""
    run, out = _sphinx(installed_sphinx, tmp_path, current)
    assert run.returncode != 0
    assert run.stderr.count("[claims.address]") == 1, run.stderr
    assert run.stderr.count("WARNING") == 1, run.stderr
    html = _html(out)
    assert 'href="c/' not in html and _claim(current, KV)["judged"] in html


@pytest.mark.parametrize("name", ["not JSON", "missing keys", "a URL that is down"])
def test_an_unreadable_claims_json_is_one_fetch_warning_and_no_crash(
    installed_sphinx: Path, tmp_path: Path, current: dict[str, Any], name: str
) -> None:
    content = '{"claims": [' if name == "not JSON" else json.dumps(_missing_keys(current))
    where, conf = "claims.json", ""
    if name == "a URL that is down":
        where = f"http://127.0.0.1:{_closed_port()}/claims.json"
        conf = f'claims_json = "{where}"\n'
    run, out = _sphinx(installed_sphinx, tmp_path, content, conf=conf)
    assert run.returncode != 0
    assert run.stderr.count("[claims.fetch]") == 1 and run.stderr.count("WARNING") == 1, run.stderr
    assert where in run.stderr
    for crash in ("Traceback", "please report", "Exception occurred", "Extension error"):
        assert crash not in run.stderr, run.stderr
    assert (out / "notes.html").exists()  # the pages still build, their citations unlinked
