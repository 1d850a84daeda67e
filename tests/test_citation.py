"""Citing claims: the ID registry, aliases, versions, the export schema, intersphinx."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO, copy_repo

import hwdb
from claims import all_claims, evaluate, get_claim
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
        "published ID 'serving.train-interval' no longer names a claim and has no alias"
    ]


def test_an_alias_keeps_a_renamed_id_alive() -> None:
    registry = read_registry()
    renamed = tuple(
        replace(c, id="serving.train-period") if c.id == "serving.train-interval" else c for c in all_claims()
    )
    ids = {**registry.ids, "serving.train-period": registry.ids["serving.train-interval"]}
    assert registry_problems(renamed, IdRegistry(ids, {"serving.train-interval": "serving.train-period"})) == []


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
    assert registry_problems(all_claims(), IdRegistry(ids, {})) == [
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


@pytest.mark.parametrize("form", FORMATS)
def test_every_citation_format_names_id_version_and_link(form: str) -> None:
    e = evaluate(get_claim("kv.bytes-per-token"), hwdb.load([]))
    text = cite(e, form)
    assert "kv.bytes-per-token" in text
    assert content_version(e) in text
    assert "c/kv.bytes-per-token.html" in text  # the permanent address, not the chapter's
    if form == "json":
        item = json.loads(text)
        assert item["type"] == "dataset" and item["issued"]["date-parts"][0][0] >= 2026
    if form == "bibtex":
        assert text.startswith("@misc{claim:kv.bytes-per-token,")
        assert text.count("{") == text.count("}")


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
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-c", ".", "book", "_build/html"]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True)


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
def test_bibtex_renders_in_a_standard_style_and_compiles_as_ascii(claim_id: str) -> None:
    """pybtex's plain style keeps the ID's case, shows the value and version; the entry is pure ASCII for pdflatex."""
    from pybtex.database import parse_string
    from pybtex.plugin import find_plugin

    from claims import citation, evaluate, get_claim

    evaluation = evaluate(get_claim(claim_id), hwdb.load([]))
    entry = citation.bibtex(evaluation)
    assert entry.isascii(), [ch for ch in entry if not ch.isascii()]
    style = find_plugin("pybtex.style.formatting", "plain")()
    (formatted,) = style.format_entries(parse_string(entry, "bibtex").entries.values())
    text = formatted.text.render_as("text")
    assert text.startswith("The claims-book authors. " + claim_id + ":"), text
    assert "Version 0.1.0+" in text and evaluation.verdict.value in text
    assert "URL: " in text and "visited on" in text
    csl = citation.csl_json(evaluation)
    assert csl["author"] == [{"literal": "The claims-book authors"}] and "accessed" in csl and csl["version"]


def test_a_rename_keeps_the_content_version_and_a_new_statement_moves_it() -> None:
    from dataclasses import replace

    claim = get_claim("kv.bytes-per-token")
    db = hwdb.load([])
    before = content_version(evaluate(claim, db))
    assert content_version(evaluate(replace(claim, id="kv.renamed"), db)) == before
    assert content_version(evaluate(replace(claim, statement=claim.statement + " Reworded."), db)) != before
