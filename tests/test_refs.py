"""check-refs: explicit claim citations in design docs, checked against the book's export."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from forked_cli import run_module

import hwdb
from claims import evaluate_all
from claims.export import document
from claims.refs import Book, Citation, check_text, citations_in_line, parse_pin


@pytest.fixture(scope="module")
def export() -> dict[str, Any]:
    db = hwdb.load([])
    doc = document(evaluate_all(db), db.fingerprint)
    for claim in doc["claims"]:
        if claim["id"] == "batch.optimal-size":
            claim["aliases"] = ["batch.optimum"]  # as if the claim had been renamed once
    return doc


@pytest.fixture(scope="module")
def book(export: dict[str, Any]) -> Book:
    return Book.from_export(export, "claims.json")


def _claim(export: dict[str, Any], claim_id: str) -> dict[str, Any]:
    return next(c for c in export["claims"] if c["id"] == claim_id)


def _findings(book: Book, text: str) -> list[tuple[int, int, str]]:
    return [(f.line, f.column, f.kind) for f in check_text(book, text, "design.md")]


ORDINARY = [
    "Deploy with serving.yaml and training.py; notes in context.md and rooflines.html.",
    "The kv.cache and network.mtu-size settings, e.g. and i.e. as prose.",
    "The box is at rooflines.html#claim-batch.optimal-size in the book.",
    "A claim: the batch is large; claims:ignore-me is not a citation either.",
    "Unpinned mention of kv.bytes-per-token@0123456789ab without the claim: prefix.",
]


@pytest.mark.parametrize("line", ORDINARY)
def test_ordinary_text_is_never_a_citation(book: Book, line: str) -> None:
    assert citations_in_line(line, 1) == []
    assert _findings(book, line) == []


FORMS = [
    ("claim:kv.bytes-per-token", "kv.bytes-per-token", None),
    ("See claim:kv.bytes-per-token@49118b29.", "kv.bytes-per-token", "49118b29"),
    ("<https://book.example.org/c/kv.bytes-per-token.html>", "kv.bytes-per-token", None),
    ("[the KV figure](c/kv.bytes-per-token.html)", "kv.bytes-per-token", None),
    ("{claim-value}`kv.bytes-per-token@0.4.0+49118b29d55c`", "kv.bytes-per-token", "0.4.0+49118b29d55c"),
    (":claim-verdict:`kv.bytes-per-token`", "kv.bytes-per-token", None),
    (":external+book:std:claim:`kv.bytes-per-token`", "kv.bytes-per-token", None),
    ("{claim}`our KV budget <kv.bytes-per-token@49118b29d55c>`", "kv.bytes-per-token", "49118b29d55c"),
    (r"as shown \cite{claim:kv.bytes-per-token}", "kv.bytes-per-token", None),
    (
        "[`kv.bytes-per-token`](https://b.org/c/kv.bytes-per-token.html) (The lecture, verified 0.2.0+49118b29d55c): x",
        "kv.bytes-per-token",
        "0.2.0+49118b29d55c",
    ),
]


@pytest.mark.parametrize(("line", "claim_id", "pin"), FORMS, ids=[f[0][:40] for f in FORMS])
def test_every_explicit_form_is_found_with_its_pin(line: str, claim_id: str, pin: str | None) -> None:
    (found,) = citations_in_line(line, 7)
    assert (found.line, found.claim_id, found.pin) == (7, claim_id, pin)
    assert line[found.column - 1 :].startswith(found.text)


def test_a_line_marked_claims_ignore_is_skipped(book: Book) -> None:
    assert _findings(book, "claim:nope.nothing  <!-- claims: ignore -->") == []
    assert _findings(book, "claim:nope.nothing") == [(1, 1, "unknown")]


def test_columns_count_from_one_and_each_citation_is_reported_once(book: Book) -> None:
    text = "ok\n  see claim:kv.bytes-per-tokn and {claim}`serving.nope`"
    assert _findings(book, text) == [(2, 7, "unknown"), (2, 35, "unknown")]


def test_every_pin_form_is_checked(book: Book, export: dict[str, Any]) -> None:
    kv = _claim(export, "kv.bytes-per-token")
    current, release = kv["version"], export["release"]["version"]
    stale = "0123456789ab"
    for pin in (current, current[:8], current.upper(), current[:10].upper(), f"{release}+{current}"):
        assert _findings(book, f"claim:kv.bytes-per-token@{pin}") == [], pin
    for pin in (stale, stale[:8], stale.upper(), f"{release}+{stale}"):
        assert _findings(book, f"claim:kv.bytes-per-token@{pin}") == [(1, 1, "stale")], pin


@pytest.mark.parametrize("pin", ["abc", "0123456", "0123456789abcd", "xyz12345", "0.4+0123456789ab", "banana+01234567"])
def test_a_malformed_pin_is_a_finding_not_an_unpinned_citation(book: Book, pin: str) -> None:
    (finding,) = check_text(book, f"claim:kv.bytes-per-token@{pin}", "plan.md")
    assert finding.kind == "pin" and f"malformed pin '@{pin}'" in finding.problem
    with pytest.raises(ValueError, match="12 hex digits"):
        parse_pin(pin)


def test_a_release_the_book_never_published_or_that_did_not_carry_the_version(
    book: Book, export: dict[str, Any]
) -> None:
    kv = _claim(export, "kv.bytes-per-token")
    (finding,) = check_text(book, f"claim:kv.bytes-per-token@9.9.9+{kv['version']}", "plan.md")
    assert finding.kind == "release" and "release 9.9.9 was never published" in finding.problem
    first = next(h["release"] for h in kv["history"] if h["version"] == kv["version"])
    earlier = [r for r in book.releases if tuple(map(int, r.split("."))) < tuple(map(int, first.split(".")))]
    if earlier:  # the version first appeared after the book's first release
        (finding,) = check_text(book, f"claim:kv.bytes-per-token@{earlier[0]}+{kv['version']}", "plan.md")
        assert finding.kind == "release" and f"first in {first}" in finding.problem


def test_the_lines_cite_prints_are_checked_as_they_stand(book: Book, export: dict[str, Any]) -> None:
    from claims import citation, evaluate, get_claim

    evaluation = evaluate(get_claim("kv.bytes-per-token"), hwdb.load([]))
    for form in ("md", "rst"):
        for base in ("", "https://book.example.org/"):
            os.environ["CLAIMS_BASE_URL"] = base
            try:
                line = citation.cite(evaluation, form)
            finally:
                del os.environ["CLAIMS_BASE_URL"]
            cited = [c for n, text in enumerate(line.splitlines(), 1) for c in citations_in_line(text, n)]
            assert cited and all(isinstance(c, Citation) and c.pin == citation.pin(evaluation) for c in cited), line
            assert _findings(book, line) == []
            assert _findings(book, line.replace(citation.content_version(evaluation), "0123456789ab"))


def test_unknown_renamed_and_stale_citations_say_what_to_do(book: Book, export: dict[str, Any]) -> None:
    text = "\n".join(
        [
            f"Current: claim:kv.bytes-per-token@{_claim(export, 'kv.bytes-per-token')['version']}.",
            "Stale: claim:kv.bytes-per-token@0123456789ab.",
            "Renamed: claim:batch.optimum.",
            "A chapter typo: claim:servng.train-interval.",
        ]
    )
    findings = {f.line: str(f) for f in check_text(book, text, "design.md")}
    assert set(findings) == {2, 3, 4}
    kv = _claim(export, "kv.bytes-per-token")
    assert findings[2].startswith("design.md:2:8: claim:kv.bytes-per-token@0123456789ab: cites version 0123456789ab")
    assert f"never published; now {kv['judged']} ({kv['verdict']}, version {kv['version']})" in findings[2]
    assert "renamed to 'batch.optimal-size'" in findings[3]
    assert findings[4].startswith("design.md:4:17: claim:servng.train-interval: unknown claim ID")
    assert "did you mean serving.train-interval" in findings[4]


def test_a_withdrawn_claim_is_reported_with_why_and_what_it_last_said(export: dict[str, Any]) -> None:
    document = json.loads(json.dumps(export))
    last = {**export["claims"][0]["history"][-1], "judged": "3 trains"}
    document["withdrawn"] = [
        {
            "id": "serving.gone",
            "reason": "Superseded.",
            "release": "0.9.0",
            "permalink": "c/serving.gone.html",
            "history": [last],
        }
    ]
    (finding,) = check_text(Book.from_export(document, "test"), "See claim:serving.gone.", "plan.md")
    assert finding.kind == "withdrawn"
    assert str(finding).endswith(f"withdrawn in release 0.9.0: Superseded.; it last said 3 trains ({last['verdict']})")


def test_an_export_that_lists_a_claim_twice_is_refused(export: dict[str, Any]) -> None:
    document = json.loads(json.dumps(export))
    document["claims"].append(document["claims"][0])
    with pytest.raises(ValueError, match=f"listed more than once: {document['claims'][0]['id']}"):
        Book.from_export(document, "claims.json")


@pytest.mark.parametrize("where", ["top", "claim", "input", "history"])
def test_the_schema_refuses_unknown_keys_at_every_level(export: dict[str, Any], where: str) -> None:
    import jsonschema

    schema = json.loads((REPO / "claims/claims.schema.json").read_text())
    document = json.loads(json.dumps(export))
    jsonschema.validate(document, schema)
    claim = next(c for c in document["claims"] if c["inputs"])
    target = {"top": document, "claim": claim, "input": claim["inputs"][0], "history": claim["history"][0]}[where]
    target["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError, match="'surprise' was unexpected"):
        jsonschema.validate(document, schema)


# The command line, as a pre-commit hook or CI job runs it.


def _check(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_module("claims", ["check-refs", *args], cwd=cwd, env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def published(export: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book") / "claims.json"
    path.write_text(json.dumps(export))
    return path


def test_a_repository_is_scanned_as_a_developer_expects(published: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for folder in ("docs", ".git", "_build", "node_modules", "drafts", "paper"):
        (repo / folder).mkdir(parents=True)
    (repo / "docs/plan.md").write_text("We cite claim:kv.bytes-per-tokn.\nserving.yaml and rooflines.html\n")
    (repo / "docs/notes.rst").write_text("See :claim:`batch.optimum`.\n")
    (repo / "paper/main.tex").write_text("As \\cite{claim:serving.train-intervall} shows.\n")
    (repo / "serving.yaml").write_text("claim:nope.nothing\n")  # not a document type
    for skipped in (".git/notes.md", "_build/index.html", "node_modules/x.md", "drafts/old.md"):
        (repo / skipped).write_text("claim:nope.nothing\n")
    run = _check(".", "--claims", str(published), "--exclude", "drafts", cwd=repo)
    assert run.returncode == 1, run.stderr
    assert sorted(line.split(": ")[0] for line in run.stdout.splitlines()) == [
        "docs/notes.rst:1:5",
        "docs/plan.md:1:9",
        "paper/main.tex:1:10",
    ]
    assert "3 citation problem(s) in 3 file(s)" in run.stderr
    report = json.loads(
        _check(".", "--claims", str(published), "--exclude", "drafts/*", "--format", "json", cwd=repo).stdout
    )
    assert report["status"] == 1 and {f["kind"] for f in report["findings"]} == {"unknown", "renamed"}
    assert {"file", "line", "column", "cited", "kind", "problem"} <= set(report["findings"][0])
    assert _check("docs/plan.md", "--claims", str(published), "--exclude", "*.md", cwd=repo).returncode == 0


def test_a_special_file_is_skipped_and_an_undecodable_one_read_with_a_note(published: Path, tmp_path: Path) -> None:
    (tmp_path / "latin.md").write_bytes("caf\xe9 claim:kv.bytes-per-tokn\n".encode("latin-1"))
    os.mkfifo(tmp_path / "pipe.md")
    run = _check(str(tmp_path), "--claims", str(published))
    assert run.returncode == 1 and "latin.md:1:6" in run.stdout
    assert "not UTF-8" in run.stderr and "pipe.md: skipped: not a regular file" in run.stderr


def test_an_unreadable_folder_is_an_error_not_a_pass(
    book: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root reads every folder, so the refusal is simulated where os.walk meets it."""
    from claims.refs import scan_paths

    (tmp_path / "locked").mkdir()
    (tmp_path / "ok.md").write_text("claim:kv.bytes-per-token\n")
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    scan = scan_paths(book, [tmp_path])
    assert scan.files == 1 and scan.unreadable == [f"{tmp_path / 'locked'}: cannot read folder: Permission denied"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a claims.json of this book: at the top level"),
        ('{"claims": []}', "is a required property"),
        ("\xff\xfe", "not UTF-8"),
    ],
)
def test_a_bad_claims_json_is_one_line_naming_it(tmp_path: Path, content: str, words: str) -> None:
    bad = tmp_path / "claims.json"
    bad.write_bytes(content.encode("latin-1"))
    run = _check(str(tmp_path), "--claims", str(bad))
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith(f"error: {bad}: ") and words in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_a_wrong_shape_inside_a_claim_is_named(export: dict[str, Any], tmp_path: Path) -> None:
    document = json.loads(json.dumps(export))
    del document["claims"][3]["version"]
    bad = tmp_path / "claims.json"
    bad.write_text(json.dumps(document))
    run = _check(str(tmp_path), "--claims", str(bad))
    assert run.returncode == 2 and "at claims/3, 'version' is a required property" in run.stderr


def test_an_address_that_is_down_is_one_line_naming_it(tmp_path: Path) -> None:
    run = _check(str(tmp_path), "--claims", "http://127.0.0.1:9/claims.json")
    assert run.returncode == 2 and "http://127.0.0.1:9/claims.json: cannot fetch claims.json" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_book_to_check_against_comes_from_the_environment_or_pyproject(published: Path, tmp_path: Path) -> None:
    (tmp_path / "plan.md").write_text("claim:batch.optimum\n")
    run = _check("plan.md", cwd=tmp_path, env={"CLAIMS_JSON": str(published)})
    assert run.returncode == 1 and f"checked against {published}" in run.stderr and "note:" not in run.stderr
    (tmp_path / "pyproject.toml").write_text(f'[tool.claims]\njson = "{published}"\n')
    run = _check("plan.md", cwd=tmp_path)
    assert run.returncode == 1 and f"checked against {published}" in run.stderr


def test_a_key_a_later_release_adds_is_tolerated(export: dict[str, Any]) -> None:
    """The shipped schema refuses unknown keys for the book's own exports; a reader of a newer book must not."""
    from claims.citable import validate

    document = json.loads(json.dumps(export))
    document["claims"][0]["added_later"] = {"any": 1}
    document["added_later"] = []
    validate(document, "newer.json")
    del document["claims"][0]["verdict"]
    with pytest.raises(ValueError, match=r"newer\.json: not a claims\.json of this book: at claims/0, 'verdict' is"):
        validate(document, "newer.json")
