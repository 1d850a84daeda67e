"""Citing the book from a design-doc Sphinx project, with nothing but the installed wheel and Sphinx: the
``claims.citing`` extension's roles, links and typed warnings, built with -W. The console scripts' cases are
in tests/test_citing_wheel.py.

Every build runs in a fresh virtual environment holding the project's wheel, Sphinx and MyST, in a scratch
git repository outside the checkout, so nothing is read from the working tree. The books cited are the
``exported_book`` and ``moved_book`` fixtures of tests/conftest.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    BASE,
    KV,
    NEW_JUDGED,
    NEW_NAME,
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
)

pytestmark = pytest.mark.slow  # a wheel, a virtual environment and nine Sphinx builds


# ---------------------------------------------------------------------------------------------------
# The weight of the Sphinx extension


def test_importing_the_sphinx_extension_loads_no_engine_libraries(installed_sphinx: Path, tmp_path: Path) -> None:
    code = (
        "import json, sys; import claims.citing; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'sympy', 'numpy', 'pint', 'matplotlib'})))"
    )
    run = run_scrubbed([str(installed_sphinx), "-X", "importtime", "-c", code], tmp_path)
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
    repo = git_repository(tmp_path / "repo")
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
    run = run_scrubbed(
        [str(installed), "-m", "sphinx", "-W", "--keep-going", "-q", "--no-color", "docs", str(out)], repo
    )
    return run, out


def _html(out: Path) -> str:
    return "".join(page.read_text(encoding="utf-8") for page in (out / "index.html", out / "notes.html"))


TITLED = "\nOur sizing uses {claim}`our budget <kv.bytes-per-token>` throughout.\n"


@pytest.mark.parametrize("where", ["claims_base_url", "the export's base_url"])
def test_a_current_citing_project_builds_clean_with_absolute_links(
    installed_sphinx: Path, tmp_path: Path, exported_book: dict[str, Any], where: str
) -> None:
    release, version = exported_book["release"]["version"], claim_in(exported_book, KV)["version"]
    notes = f"Notes\n=====\n\nKV: :claim-value:`{KV}@{release}+{version}` and :claim-verdict:`{KV}@{version[:8]}`.\n"
    book, conf = exported_book, f'claims_base_url = "{BASE}"\n'
    if where != "claims_base_url":
        book, conf = {**exported_book, "base_url": BASE}, ""
    run, out = _sphinx(installed_sphinx, tmp_path, book, notes, conf, TITLED)
    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stderr
    html = _html(out)
    assert f'href="{BASE}c/{KV}.html"' in html and 'href="c/' not in html
    kv = claim_in(exported_book, KV)
    assert kv["judged"] in html and kv["verdict"] in html


def test_an_explicit_title_renders_as_the_link_text(
    installed_sphinx: Path, tmp_path: Path, exported_book: dict[str, Any]
) -> None:
    run, out = _sphinx(installed_sphinx, tmp_path, {**exported_book, "base_url": BASE}, index=TITLED)
    assert run.returncode == 0, run.stderr
    index = (out / "index.html").read_text(encoding="utf-8")
    assert re.search(rf'<a [^>]*href="{re.escape(BASE)}c/{re.escape(KV)}\.html"[^>]*>our budget</a>', index), index
    assert "&lt;kv.bytes-per-token&gt;" not in index


def _problems(exported_book: dict[str, Any]) -> dict[str, str]:
    """notes.rst and the lines added to index.md: paragraphs over several lines, one problem per line (the
    stale pin cited twice on its line)."""
    version = claim_in(exported_book, KV)["version"]
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
    installed_sphinx: Path,
    tmp_path_factory: pytest.TempPathFactory,
    exported_book: dict[str, Any],
    moved_book: dict[str, Any],
) -> Built:
    """The project citing the book as it was, built against the moved book."""
    added = _problems(exported_book)
    book = {**moved_book, "base_url": BASE}
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
    installed_sphinx: Path, tmp_path: Path, exported_book: dict[str, Any], moved_book: dict[str, Any]
) -> None:
    version = claim_in(exported_book, KV)["version"]
    notes = f"Notes\n=====\n\nKV: :claim-value:`{KV}@{version}` and :claim:`{KV}@{version[:8]}`.\n"
    conf = 'suppress_warnings = ["claims.stale"]\n'
    run, out = _sphinx(installed_sphinx, tmp_path, {**moved_book, "base_url": BASE}, notes, conf)
    assert run.returncode == 0, run.stderr
    assert NEW_JUDGED in (out / "notes.html").read_text(encoding="utf-8")  # the current value, not the quoted one


def test_no_address_known_is_one_warning_and_no_relative_links(
    installed_sphinx: Path, tmp_path: Path, exported_book: dict[str, Any]
) -> None:
    assert exported_book["base_url"] == ""
    run, out = _sphinx(installed_sphinx, tmp_path, exported_book)
    assert run.returncode != 0
    assert run.stderr.count("[claims.address]") == 1, run.stderr
    assert run.stderr.count("WARNING") == 1, run.stderr
    html = _html(out)
    assert 'href="c/' not in html and claim_in(exported_book, KV)["judged"] in html


@pytest.mark.parametrize("name", ["not JSON", "missing keys", "a URL that is down"])
def test_an_unreadable_claims_json_is_one_fetch_warning_and_no_crash(
    installed_sphinx: Path, tmp_path: Path, exported_book: dict[str, Any], name: str
) -> None:
    content = '{"claims": [' if name == "not JSON" else json.dumps(missing_keys(exported_book))
    where, conf = "claims.json", ""
    if name == "a URL that is down":
        where = f"http://127.0.0.1:{closed_port()}/claims.json"
        conf = f'claims_json = "{where}"\n'
    run, out = _sphinx(installed_sphinx, tmp_path, content, conf=conf)
    assert run.returncode != 0
    assert run.stderr.count("[claims.fetch]") == 1 and run.stderr.count("WARNING") == 1, run.stderr
    assert where in run.stderr
    for crash in ("Traceback", "please report", "Exception occurred", "Extension error"):
        assert crash not in run.stderr, run.stderr
    assert (out / "notes.html").exists()  # the pages still build, their citations unlinked
