"""The release history: every release records each claim's version, value and verdict; numbers follow what moved."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import BOOK_BUILD, REPO, copy_repo, edit
from forked_cli import run_module

import hwdb
from claims import evaluate_all, history, release
from claims.refs import Book, check_text


def _entry(version: str, judged: str = "5 tokens", verdict: str = "holds") -> dict[str, Any]:
    return {"version": version, "judged": judged, "value": 5.0, "unit": "token", "verdict": verdict, "stated": "5"}


BASE = history.Release("0.2.0", "2026-12-01", {"a.one": _entry("aaaaaaaaaaaa"), "a.two": _entry("bbbbbbbbbbbb")})


def test_the_committed_history_names_what_the_book_publishes() -> None:
    """Any change a reader could cite needs a pin, which records a release: the history is never behind."""
    releases = history.read()
    assert history.stale(releases, history.entries(evaluate_all(hwdb.load([])))) == []
    assert releases[-1].number == release.VERSION and releases[-1].date == release.DATE
    assert (REPO / "claims/RELEASE").read_text().strip() == release.VERSION  # what the wheel's metadata says


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        pytest.param(BASE.claims, None, id="nothing-changed"),
        pytest.param({**BASE.claims, "a.two": _entry("cccccccccccc")}, "0.2.1", id="reworded-is-a-patch"),
        pytest.param({**BASE.claims, "a.two": _entry("cccccccccccc", "6 tokens")}, "0.3.0", id="value-moved"),
        pytest.param({**BASE.claims, "a.two": _entry("cccccccccccc", verdict="holds roughly")}, "0.3.0", id="verdict"),
        pytest.param({**BASE.claims, "a.three": _entry("dddddddddddd")}, "0.3.0", id="claim-added"),
        pytest.param({"a.one": BASE.claims["a.one"]}, "0.3.0", id="claim-withdrawn"),
    ],
)
def test_the_release_number_follows_what_moved(current: dict[str, Any], expected: str | None) -> None:
    assert history.next_number(BASE, current) == expected


def test_a_change_of_firmness_alone_moves_the_number_and_is_listed() -> None:
    """An evidence class or a marginal flag that moves is a change a citer needs, though the version stays."""
    firm = {cid: {**e, "evidence": "independent", "marginal": False} for cid, e in BASE.claims.items()}
    before = history.Release("0.2.0", "2026-12-01", firm)
    lowered = {**firm, "a.two": {**firm["a.two"], "evidence": "lecture-arithmetic"}}
    assert history.next_number(before, firm) is None
    assert history.next_number(before, lowered) == "0.3.0"
    assert history.stale((before,), lowered) == ["a.two"]
    (_latest, found), _ = history.changes((before, history.Release("0.3.0", "2026-12-07", lowered)))
    assert [(c.claim, c.kind) for c in found] == [("a.two", "firmness")]
    # An entry recorded before firmness was (no keys) is never read as a change.
    assert history.firmness_changed(BASE.claims["a.two"], lowered["a.two"]) == []


def test_a_rename_alone_is_a_patch_and_the_changelog_calls_it_a_rename() -> None:
    current = {"a.one": BASE.claims["a.one"], "a.second": BASE.claims["a.two"]}
    aliases = {"a.two": "a.second"}
    assert history.next_number(BASE, current, aliases) == "0.2.1"
    renamed = history.Release("0.2.1", "2026-12-02", current)
    (latest, found), _ = history.changes((BASE, renamed), aliases)
    assert latest is renamed and [(c.kind, c.claim, c.old_id) for c in found] == [("renamed", "a.second", "a.two")]
    assert [h["release"] for h in history.of_claim((BASE, renamed), "a.second", aliases)] == ["0.2.0"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"{", "not valid JSON", id="not-json"),
        pytest.param(b'{"format": 2, "releases": []}', "not a format-1 release history", id="format"),
        pytest.param(b'{"format": 1, "releases": []}', "no releases", id="empty"),
        pytest.param(
            b'{"format": 1, "releases": [{"release": "one", "date": "2026-12-01", "claims": {}}]}',
            "releases[0]: 'release' must be a version such as 0.2.0, not 'one'",
            id="number",
        ),
        pytest.param(
            b'{"format": 1, "releases": [{"release": "0.2.0", "date": "2026-12-01", "claims": {"a.b": {}}}]}',
            "(0.2.0): claim 'a.b' lacks version, judged, value, unit, verdict, stated",
            id="entry",
        ),
        pytest.param(
            b'{"format": 1, "releases": [{"release": "0.2.0", "date": "2026-12-01", "claims": {}},'
            b' {"release": "0.1.0", "date": "2026-12-02", "claims": {}}]}',
            "release numbers must rise: 0.2.0, 0.1.0",
            id="order",
        ),
    ],
)
def test_a_broken_history_is_refused_naming_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "history.json"
    path.write_bytes(content)
    with pytest.raises(history.HistoryError, match=r"history\.json") as caught:
        history.read(path)
    assert message in str(caught.value)


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module("claims", args, cwd=repo, env=dict(os.environ), timeout=300)


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """A copy of the book before and after an HBM bandwidth edit and a pin."""
    repo = copy_repo(tmp_path_factory.mktemp("history") / "repo")
    before = json.loads(_run(repo, "export").stdout)
    # A small correction (8 to about 7.8 TB/s per GPU): one that leaves the chapters' reasoning true, so the
    # book still builds; a larger one can end the rooflines exercises' premise, and the build then fails.
    edit(repo / "hwdb/data/accelerators/gb200.toml", "value = 576\n", "value = 560\n")
    pinned = _run(repo, "pin")
    assert pinned.returncode == 0, pinned.stderr
    assert f"release {_bump_minor(before['release']['version'])} recorded" in pinned.stdout
    after = json.loads(_run(repo, "export").stdout)
    return repo, before, after


def _bump_minor(number: str) -> str:
    major, minor, _ = number.split(".")
    return f"{major}.{int(minor) + 1}.0"


def _claim(document: dict[str, Any], claim_id: str) -> dict[str, Any]:
    return next(c for c in document["claims"] if c["id"] == claim_id)


def test_a_pin_after_a_data_edit_records_a_release_and_moves_the_number(
    moved: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    repo, before, after = moved
    assert after["release"]["version"] == _bump_minor(before["release"]["version"])
    assert (repo / "claims/RELEASE").read_text().strip() == after["release"]["version"]
    old, new = _claim(before, "batch.optimal-size"), _claim(after, "batch.optimal-size")
    assert old["version"] != new["version"]
    assert [h["version"] for h in new["history"]][-2:] == [old["version"], new["version"]]
    assert new["history"][-2]["judged"] == old["judged"] and new["history"][-1]["judged"] == new["judged"]
    assert _run(repo, "pin").stdout.endswith(f"release {after['release']['version']} unchanged\n")


def test_a_stale_citation_is_answered_with_what_it_quoted(moved: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    _, before, after = moved
    old = _claim(before, "batch.optimal-size")
    text = f"We size for claim:batch.optimal-size@{old['version']}."
    (finding,) = check_text(Book.from_export(after, "claims.json"), text, "plan.md")
    first = next(h["release"] for h in old["history"] if h["version"] == old["version"])  # it first said it then
    quoted = f"release {first}: {old['judged']}, {old['verdict']}"
    assert quoted in str(finding) and _claim(after, "batch.optimal-size")["judged"] in str(finding)


# The changelog page after a data edit and a pin (the release, each moved claim's old and new value and
# verdict) is checked on the build that is pinned green in tests/test_stale_build.py, with no build of its own.


@pytest.mark.slow
def test_a_claim_changed_without_a_pin_fails_the_build(repo_copy: Path) -> None:
    """Rewording a statement moves no number, so the lock still matches: the history catches it."""
    module = repo_copy / "claims/catalogue/serving.py"
    text = module.read_text()
    start = text.index('statement="') + len('statement="')
    module.write_text(text[:start] + "Reworded. " + text[start:])
    command = BOOK_BUILD
    built = subprocess.run(command, cwd=repo_copy, capture_output=True, text=True)
    assert built.returncode != 0
    assert "changed since release" in built.stderr and "run `python -m claims pin`" in built.stderr
