"""Citing claims: the ID registry, aliases, versions, the export schema, intersphinx."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from conftest import BOOK_BUILD, REPO, copy_repo

import hwdb
from claims import all_claims, evaluate, get_claim, release
from claims.citation import (
    FORMATS,
    IdRegistry,
    cite,
    content_version,
    read_registry,
    registry_problems,
)

SCHEMA = json.loads((REPO / "claims/claims.schema.json").read_text())


def test_registry_matches_the_code() -> None:
    assert registry_problems(all_claims(), read_registry()) == []


def test_a_disappearing_id_is_caught() -> None:
    registry = read_registry()
    remaining = tuple(c for c in all_claims() if c.id != "serving.train-interval")
    assert registry_problems(remaining, registry) == [
        "published ID 'serving.train-interval' no longer names a claim: add an alias to its new ID, "
        "or a [withdrawn] entry saying why"
    ]


def test_a_withdrawn_id_is_a_tombstone_not_a_problem_and_is_never_reused() -> None:
    registry = read_registry()
    remaining = tuple(c for c in all_claims() if c.id != "serving.train-interval")
    tomb = {"serving.train-interval": {"reason": "Superseded.", "release": "9.9.0"}}
    assert registry_problems(remaining, IdRegistry(registry.ids, {}, tomb)) == []
    assert registry_problems(all_claims(), IdRegistry(registry.ids, {}, tomb)) == [
        "ID 'serving.train-interval' is marked withdrawn but still names a claim"
    ]
    never = {"serving.never-was": {"reason": "x", "release": "9.9.0"}}
    assert registry_problems(all_claims(), IdRegistry(registry.ids, {}, never)) == [
        "withdrawn ID 'serving.never-was' was never published (not in [ids])"
    ]


def test_a_withdrawn_entry_without_a_reason_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ids.toml"
    path.write_text('[ids]\n[aliases]\n[withdrawn."serving.train-interval"]\nrelease = "9.9.0"\n')
    with pytest.raises(ValueError, match=r"ids\.toml: withdrawn claim 'serving\.train-interval' needs reason"):
        read_registry(path)


def test_an_alias_keeps_a_renamed_id_alive() -> None:
    registry = read_registry()
    renamed = tuple(
        replace(c, id="serving.train-period") if c.id == "serving.train-interval" else c for c in all_claims()
    )
    # the new ID is first published by a release after the latest (`ids --register` writes the next one)
    ids = {**registry.ids, "serving.train-period": {**registry.ids["serving.train-interval"], "since": "99.0.0"}}
    assert registry_problems(renamed, IdRegistry(ids, {"serving.train-interval": "serving.train-period"}, {})) == []


def test_reusing_an_id_for_another_claim_is_caught() -> None:
    registry = read_registry()
    reused = tuple(
        replace(c, unit="GB", section="4. Pipelining") if c.id == "serving.train-interval" else c for c in all_claims()
    )
    problems = registry_problems(reused, registry)
    assert any("'serving.train-interval' is reused for a different claim: section" in p for p in problems)
    assert any("'serving.train-interval' is reused for a different claim: dimension" in p for p in problems)


def test_an_unregistered_claim_is_caught() -> None:
    registry = read_registry()
    ids = {k: v for k, v in registry.ids.items() if k != "kv.bytes-per-token"}
    assert registry_problems(all_claims(), IdRegistry(ids, {}, {})) == [
        "claim 'kv.bytes-per-token' is not in claims/ids.toml; run `python -m claims ids --register`"
    ]


def test_export_follows_its_schema() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "claims", "export"], cwd=REPO, capture_output=True, text=True, check=True
    )
    document = json.loads(run.stdout)
    jsonschema.validate(document, SCHEMA)
    broken = json.loads(run.stdout)
    with_inputs = next(c for c in broken["claims"] if c["inputs"])
    del with_inputs["inputs"][0]["source"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_content_version_moves_with_the_claim_and_only_then() -> None:
    db = hwdb.load([])
    claim = get_claim("serving.train-interval")
    first = content_version(evaluate(claim, db))
    assert content_version(evaluate(claim, db)) == first
    record = db["tpu-v5e"]
    bandwidth = replace(record["hbm_bandwidth"], quantity=record["hbm_bandwidth"].quantity * 1.01)
    moved = replace(
        db, records={**db.records, "tpu-v5e": replace(record, fields={**record.fields, "hbm_bandwidth": bandwidth})}
    )
    assert content_version(evaluate(claim, moved)) != first
    assert content_version(evaluate(get_claim("training.overtraining"), moved)) == content_version(
        evaluate(get_claim("training.overtraining"), db)
    )


#: The published book's address, as $CLAIMS_BASE_URL gives it at a deployment's build.
PUBLISHED = "https://book.example.org/"


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLAIMS_BASE_URL", PUBLISHED)
    return PUBLISHED


@pytest.mark.parametrize("form", FORMATS)
def test_every_citation_format_names_id_version_and_link(form: str, published: str) -> None:
    e = evaluate(get_claim("kv.bytes-per-token"), hwdb.load([]))
    text = cite(e, form)
    assert "kv.bytes-per-token" in text
    assert content_version(e) in text
    assert f"{published}c/kv.bytes-per-token.html" in text  # the permanent address, not the chapter's
    if form == "json":
        item = json.loads(text)
        assert item["type"] == "dataset" and item["issued"]["date-parts"][0][0] >= 2026
    if form == "bibtex":
        assert text.startswith("@misc{claim:kv.bytes-per-token,")
        assert text.count("{") == text.count("}")


@pytest.mark.parametrize("form", FORMATS)
def test_without_an_address_no_format_carries_a_relative_one(form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative c/ID.html would resolve against whatever document quotes it: none is written."""
    monkeypatch.delenv("CLAIMS_BASE_URL", raising=False)
    monkeypatch.delenv("READTHEDOCS_CANONICAL_URL", raising=False)
    e = evaluate(get_claim("kv.bytes-per-token"), hwdb.load([]))
    text = cite(e, form)
    assert "c/kv.bytes-per-token" not in text and ".html" not in text
    assert f"kv.bytes-per-token@{release.VERSION}+{content_version(e)}" in text or form in ("bibtex", "json")


def test_read_the_docs_gives_the_address_and_a_bad_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMS_BASE_URL", raising=False)
    monkeypatch.setenv("READTHEDOCS_CANONICAL_URL", "https://claims.readthedocs.io/en/latest")
    assert release.base_url() == "https://claims.readthedocs.io/en/latest/"
    monkeypatch.setenv("CLAIMS_BASE_URL", "book.example.org")
    with pytest.raises(ValueError, match="CLAIMS_BASE_URL must be the book's http"):
        release.base_url()


def test_cite_cli_and_absolute_urls(tmp_path: Path) -> None:
    env = {**os.environ, "CLAIMS_BASE_URL": "https://book.example"}
    run = subprocess.run(
        [sys.executable, "-m", "claims", "cite", "batch.optimal-size", "--format", "md"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert "(https://book.example/c/batch.optimal-size.html)" in run.stdout


def _build(repo: Path) -> subprocess.CompletedProcess[str]:
    command = BOOK_BUILD
    return subprocess.run(command, cwd=repo, capture_output=True, text=True)


@pytest.mark.slow
def test_intersphinx_citation_and_alias_end_to_end(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo")
    ids = repo / "claims/ids.toml"
    ids.write_text(ids.read_text() + '"serving.train" = "serving.train-interval"\n')
    result = _build(repo)
    assert result.returncode == 0, result.stderr
    alias = subprocess.run(
        [sys.executable, "-m", "claims", "show", "serving.train"], cwd=repo, capture_output=True, text=True
    )
    assert alias.returncode == 0 and "serving.train-interval" in alias.stdout
    assert 'id="claim-serving.train"' in (repo / "_build/html/train.html").read_text()
    downstream = tmp_path / "downstream"
    env = {**os.environ, "BOOK_INVENTORY": str(repo / "_build/html/objects.inv")}
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "-q", str(REPO / "tests/intersphinx_project"), str(downstream)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    html = (downstream / "index.html").read_text()
    assert 'href="https://book.example/rooflines.html#claim-batch.optimal-size"' in html
    assert 'href="https://book.example/prices.html#claim-kv.bytes-per-token"' in html
    for name in ("claims.json", "claims.schema.json", "claims.bib", "claims.csl.json"):
        assert (repo / "_build/html" / name).exists()


@pytest.mark.parametrize("claim_id", ["kv.bytes-per-token", "serving.train-interval", "rack.rubin-domain"])
def test_bibtex_renders_in_a_standard_style_and_compiles_as_ascii(claim_id: str, published: str) -> None:
    """pybtex's plain style keeps the ID's case, shows the value and version; the entry is pure ASCII for pdflatex."""
    from pybtex.database import parse_string
    from pybtex.plugin import find_plugin

    from claims import citation, evaluate, get_claim, release

    evaluation = evaluate(get_claim(claim_id), hwdb.load([]))
    entry = citation.bibtex(evaluation)
    assert entry.isascii(), [ch for ch in entry if not ch.isascii()]
    style = find_plugin("pybtex.style.formatting", "plain")()
    (formatted,) = style.format_entries(parse_string(entry, "bibtex").entries.values())
    text = formatted.text.render_as("text")
    assert text.startswith("The claims-book authors. " + claim_id + ":"), text
    assert f"Version {release.VERSION}+" in text and evaluation.verdict.value in text
    assert "URL: " in text and "visited on" in text
    csl = citation.csl_json(evaluation)
    assert csl["author"] == [{"literal": "The claims-book authors"}] and "accessed" in csl and csl["version"]


@pytest.mark.parametrize("claim_id", ["kv.bytes-per-token", "batch.optimal-size"])
def test_csl_json_renders_in_a_common_style_with_author_date_url_and_version(claim_id: str, published: str) -> None:
    """citeproc-py with its bundled Harvard style: a reference manager's view of claims.csl.json."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    from claims import citation, evaluate, get_claim, release

    evaluation = evaluate(get_claim(claim_id), hwdb.load([]))
    item = citation.csl_json(evaluation)
    bibliography = CitationStylesBibliography(
        CitationStylesStyle("harvard-cite-them-right", validate=False), CiteProcJSON([item]), formatter.plain
    )
    bibliography.register(Citation([CitationItem(item["id"])]))
    (text,) = (str(entry) for entry in bibliography.bibliography())
    year, month, day = (int(part) for part in release.DATE.split("-"))
    assert text.startswith(f"The claims-book authors ({year})"), text
    assert f"{claim_id}: {evaluation.claim.title}" in text.replace("\u2019", "'")
    assert f"version {release.VERSION}+{content_version(evaluation)}" in text
    assert f"Available at: {published}c/{claim_id}.html" in text
    accessed = dt.date(*item["accessed"]["date-parts"][0])  # the day the item was made, not the release's
    assert accessed >= dt.date(year, month, day)
    assert f"Accessed: {accessed:%B} {accessed.day}, {accessed.year}" in text


def test_a_rename_keeps_the_content_version_and_a_new_statement_moves_it() -> None:
    from dataclasses import replace

    claim = get_claim("kv.bytes-per-token")
    db = hwdb.load([])
    before = content_version(evaluate(claim, db))
    assert content_version(evaluate(replace(claim, id="kv.renamed"), db)) == before
    assert content_version(evaluate(replace(claim, statement=claim.statement + " Reworded."), db)) != before


def test_a_renamed_id_keeps_its_bibtex_and_csl_keys_with_a_deprecation_note(monkeypatch: pytest.MonkeyPatch) -> None:
    from claims import citation

    registry = read_registry()
    renamed = IdRegistry(registry.ids, {"kv.bytes": "kv.bytes-per-token"}, {})
    monkeypatch.setattr(citation, "read_registry", lambda path=None: renamed)
    evaluations = {"kv.bytes-per-token": evaluate(get_claim("kv.bytes-per-token"), hwdb.load([]))}
    bib = citation.bibliography(evaluations)
    assert "@misc{claim:kv.bytes-per-token," in bib and "@misc{claim:kv.bytes," in bib
    assert "Deprecated key claim:kv.bytes: the claim was renamed to claim:kv.bytes-per-token." in bib
    items = {item["id"]: item for item in citation.csl_items(evaluations)}
    assert set(items) == {"claim:kv.bytes-per-token", "claim:kv.bytes"}
    assert items["claim:kv.bytes"]["note"].startswith("Deprecated key claim:kv.bytes")


def test_a_withdrawn_claim_keeps_a_page_saying_why_and_what_it_said() -> None:
    from claims.sphinxext import tombstone

    said = [{"version": "0123456789ab", "release": "0.2.0", "judged": "3 trains", "stated": "2", "verdict": "holds"}]
    page = tombstone("serving.gone", {"reason": "Superseded by <x>.", "release": "0.3.0"}, said)
    assert "<h1>serving.gone: withdrawn</h1>" in page and "in release 0.3.0. Superseded by &lt;x&gt;." in page
    said_then = "last published version, 0123456789ab (release 0.2.0), said 3 trains against the lecture's 2: holds."
    assert said_then in html.unescape(page)
    assert 'http-equiv="refresh"' not in page  # a tombstone stays: there is nowhere to send the reader
