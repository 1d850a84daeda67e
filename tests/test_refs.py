"""check-refs: claim citations in design docs, checked against the book's export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

import hwdb
from claims import evaluate_all
from claims.export import document
from claims.refs import Book, check_text


@pytest.fixture(scope="module")
def export() -> dict[str, Any]:
    db = hwdb.load([])
    doc = document(evaluate_all(db), db.fingerprint)
    for claim in doc["claims"]:
        if claim["id"] == "batch.optimal-size":
            claim["aliases"] = ["batch.optimum"]  # as if the claim had been renamed once
    return doc


def _version(export: dict[str, Any], claim_id: str) -> str:
    return str(next(c["version"] for c in export["claims"] if c["id"] == claim_id))


def test_each_kind_of_citation(export: dict[str, Any]) -> None:
    book = Book.from_export(export, "test")
    current = _version(export, "kv.bytes-per-token")
    text = "\n".join(
        [
            f"Current and pinned: kv.bytes-per-token@{current}, and unpinned `rooflines.hardware-ratio`.",
            "Stale: kv.bytes-per-token@0123456789ab.",
            "Renamed: batch.optimum.",
            "Unknown: serving.train-intervall, and prose such as e.g. or i.e. is no citation.",
        ]
    )
    findings = {f.line: str(f) for f in check_text(book, text, "design.md")}
    assert set(findings) == {2, 3, 4}
    assert "no longer current: now 1,600 B/tok (holds, version " + current in findings[2]
    assert "renamed to batch.optimal-size" in findings[3]
    assert "did you mean serving.train-interval," in findings[4]
    assert findings[4].startswith("design.md:4: serving.train-intervall")


def test_the_command_reports_files_and_lines_and_fails(export: dict[str, Any], tmp_path: Path) -> None:
    published = tmp_path / "claims.json"
    published.write_text(json.dumps(export))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ok.md").write_text(f"We cite kv.bytes-per-token@{_version(export, 'kv.bytes-per-token')}.\n")
    (docs / "notes.rst").write_text("See :claim:`batch.optimum` and batch.nope.\n")
    command = [sys.executable, "-m", "claims", "check-refs", str(docs), "--claims", str(published)]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith(str(docs / "notes.rst") + ":1:") for line in lines)
    (docs / "notes.rst").unlink()
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == ""


def test_a_missing_file_and_a_bad_export_are_refused(tmp_path: Path) -> None:
    for args, words in (
        (["check-refs", str(tmp_path / "nowhere.md")], "no such file or folder"),
        (["check-refs", str(tmp_path), "--claims", str(tmp_path / "x.json")], "not a readable claims.json"),
    ):
        run = subprocess.run([sys.executable, "-m", "claims", *args], cwd=REPO, capture_output=True, text=True)
        assert run.returncode == 2 and words in run.stderr and "Traceback" not in run.stderr


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
    (finding,) = check_text(Book.from_export(document, "test"), "See serving.gone.", "plan.md")
    assert str(finding) == (
        f"plan.md:1: serving.gone: withdrawn in release 0.9.0: Superseded.; it last said 3 trains ({last['verdict']})"
    )


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
