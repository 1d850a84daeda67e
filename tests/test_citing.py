"""claims.citing: another Sphinx project cites the book's claims from its claims.json."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, SPHINX

import hwdb
from claims import evaluate_all
from claims.export import document

PROJECT = REPO / "tests" / "citing_project"
#: The published book's address, as its claims.json declares it.
BASE = "https://book.example.org/v/"


@pytest.fixture(scope="module")
def export() -> dict[str, Any]:
    db = hwdb.load([])
    return {**document(evaluate_all(db), db.fingerprint), "base_url": BASE}


def _project(tmp_path: Path, export: dict[str, Any], notes: str | None = None) -> Path:
    project = tmp_path / "design-doc"
    shutil.copytree(PROJECT, project)
    (project / "claims.json").write_text(json.dumps(export))
    if notes is not None:
        (project / "notes.rst").write_text(notes)
    return project


def _build(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPHINX, str(project), str(project / "_build")], capture_output=True, text=True)


def _text(page: Path) -> str:
    """A built page's text with entities decoded and typographic apostrophes made plain."""
    return html.unescape(page.read_text(encoding="utf-8")).replace("\u2019", "'")


def _claim(export: dict[str, Any], claim_id: str) -> dict[str, Any]:
    return next(c for c in export["claims"] if c["id"] == claim_id)


def test_values_render_in_myst_and_rest_and_nothing_else_is_written(tmp_path: Path, export: dict[str, Any]) -> None:
    project = _project(tmp_path, export)
    run = _build(project)
    assert run.returncode == 0, run.stderr
    batch, kv = _claim(export, "batch.optimal-size"), _claim(export, "kv.bytes-per-token")
    index = _text(project / "_build/index.html")
    for text in (batch["judged"], batch["stated_display"], batch["verdict"], batch["title"]):
        assert text in index, text
    assert f'href="{BASE}{batch["permalink"]}"' in index  # the permanent address, valid wherever the box moves
    notes = _text(project / "_build/notes.html")
    assert kv["judged"] in notes and kv["title"] in notes
    assert not any((project / "_build" / name).exists() for name in ("claims.json", "claims.bib", "claims.csl.json"))


def test_a_stale_pin_fails_a_strict_build_naming_the_claim_and_values(tmp_path: Path, export: dict[str, Any]) -> None:
    project = _project(tmp_path, export, "Notes\n=====\n\n:claim-value:`kv.bytes-per-token@0123456789ab`\n")
    run = _build(project)
    assert run.returncode != 0
    kv = _claim(export, "kv.bytes-per-token")
    assert "claim 'kv.bytes-per-token' cites version 0123456789ab, which this book never published" in run.stderr
    assert kv["version"] in run.stderr and kv["judged"] in run.stderr and kv["verdict"] in run.stderr


def test_a_current_pin_builds_clean(tmp_path: Path, export: dict[str, Any]) -> None:
    version = _claim(export, "kv.bytes-per-token")["version"]
    project = _project(tmp_path, export, f"Notes\n=====\n\n:claim-value:`kv.bytes-per-token@{version}`\n")
    run = _build(project)
    assert run.returncode == 0, run.stderr


def test_an_unknown_id_suggests_the_nearest(tmp_path: Path, export: dict[str, Any]) -> None:
    project = _project(tmp_path, export, "Notes\n=====\n\n:claim:`kv.bytes-per-tokn`\n")
    run = _build(project)
    assert run.returncode != 0
    assert "unknown claim ID 'kv.bytes-per-tokn'" in run.stderr and "did you mean kv.bytes-per-token" in run.stderr


def test_a_renamed_id_resolves_with_a_warning(tmp_path: Path, export: dict[str, Any]) -> None:
    renamed = json.loads(json.dumps(export))
    _claim(renamed, "kv.bytes-per-token")["aliases"] = ["kv.bytes"]
    project = _project(tmp_path, renamed, "Notes\n=====\n\n:claim-value:`kv.bytes`\n")
    run = _build(project)
    assert run.returncode != 0  # -W: the warning fails the build until the ID is updated
    assert "claim 'kv.bytes' was renamed to 'kv.bytes-per-token'" in run.stderr


def test_a_stale_pin_names_the_release_it_came_from_and_what_it_said(tmp_path: Path, export: dict[str, Any]) -> None:
    older = json.loads(json.dumps(export))
    kv = _claim(older, "kv.bytes-per-token")
    said = {**kv["history"][-1], "release": "0.1.9", "version": "0123456789ab", "judged": "1 B/tok"}
    kv["history"] = [said, *kv["history"]]
    project = _project(tmp_path, older, "Notes\n=====\n\n:claim-value:`kv.bytes-per-token@0123456789ab`\n")
    run = _build(project)
    assert run.returncode != 0
    assert f"version 0123456789ab (release 0.1.9: 1 B/tok, {said['verdict']})" in run.stderr
    assert kv["judged"] in run.stderr


def test_a_withdrawn_claim_warns_with_the_reason_and_links_its_tombstone(
    tmp_path: Path, export: dict[str, Any]
) -> None:
    withdrawn = json.loads(json.dumps(export))
    withdrawn["withdrawn"] = [
        {
            "id": "kv.gone",
            "reason": "The price step was removed.",
            "release": "0.9.0",
            "permalink": "c/kv.gone.html",
            "history": [],
        }
    ]
    project = _project(tmp_path, withdrawn, "Notes\n=====\n\n:claim:`kv.gone`\n")
    run = _build(project)
    assert run.returncode != 0
    assert "claim 'kv.gone' was withdrawn in release 0.9.0: The price step was removed." in run.stderr
    assert f'href="{BASE}c/kv.gone.html"' in (project / "_build/notes.html").read_text()


def _inventory(path: Path, claim_ids: list[str]) -> None:
    """A minimal objects.inv of the book, as Sphinx writes it: claims as std:claim."""
    import zlib

    header = b"# Sphinx inventory version 2\n# Project: book\n# Version: 1\n# The remainder is zlib-compressed.\n"
    lines = "".join(f"{cid} std:claim -1 c/{cid}.html -\n" for cid in claim_ids)
    path.write_bytes(header + zlib.compress(lines.encode()))


def test_intersphinx_std_claim_works_with_no_conf_hook(tmp_path: Path, export: dict[str, Any]) -> None:
    """claims.citing registers the std:claim object type; the external role renders the claim's title."""
    project = _project(tmp_path, export, "Notes\n=====\n\n:external+book:std:claim:`kv.bytes-per-token`\n")
    _inventory(project / "book.inv", [c["id"] for c in export["claims"]])
    conf = project / "conf.py"
    conf.write_text(
        conf.read_text().replace('"claims.citing"]', '"claims.citing", "sphinx.ext.intersphinx"]')
        + 'intersphinx_mapping = {"book": ("https://book.example/", "book.inv")}\n'
    )
    run = _build(project)
    assert run.returncode == 0, run.stderr
    notes = _text(project / "_build/notes.html")
    assert _claim(export, "kv.bytes-per-token")["title"] in notes


def test_a_published_claims_json_is_fetched_and_its_last_copy_serves_an_offline_build(
    tmp_path: Path, export: dict[str, Any]
) -> None:
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    site = tmp_path / "site"
    site.mkdir()
    (site / "claims.json").write_text(json.dumps({**export, "base_url": ""}))  # links go beside it
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/claims.json"
    project = _project(tmp_path, export)
    conf = project / "conf.py"
    conf.write_text(conf.read_text().replace('claims_json = "claims.json"', f'claims_json = "{url}"'))
    try:
        run = _build(project)
        assert run.returncode == 0, run.stderr
        batch = _claim(export, "batch.optimal-size")
        assert batch["judged"] in _text(project / "_build/index.html")
        assert f"{url.rsplit('/', 1)[0]}/{batch['permalink']}" in _text(project / "_build/index.html")
    finally:
        server.shutdown()
        server.server_close()
    (project / "index.md").write_text((project / "index.md").read_text() + "\nEdited offline.\n")
    offline = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", str(project), str(project / "_build")], capture_output=True, text=True
    )
    assert offline.returncode == 0, offline.stderr
    assert f"{url}: cannot fetch claims.json" in offline.stderr and "[claims.fetch]" in offline.stderr
    assert f"using the copy of release {export['release']['version']} fetched earlier" in offline.stderr


def test_warnings_are_typed_at_the_roles_own_line_and_said_once(tmp_path: Path, export: dict[str, Any]) -> None:
    kv, stale = _claim(export, "kv.bytes-per-token"), "kv.bytes-per-token@0123456789ab"
    notes = (
        "Notes\n=====\n\nA paragraph that starts here,\n"
        f"goes on :claim-value:`kv.bytes-per-token@{kv['version'][:8].upper()}` (a current short pin),\n"
        f"then quotes :claim-value:`{stale}` and :claim-verdict:`{stale}`,\n"
        "and :claim:`our budget <kv.bytes-per-token@0.4+x>` on its fourth line.\n"
    )
    project = _project(tmp_path, export, notes)
    run = _build(project)
    warnings = [line for line in run.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 2, run.stderr
    assert "notes.rst:6: WARNING: claim 'kv.bytes-per-token' cites version 0123456789ab" in warnings[0]
    assert warnings[0].endswith("[claims.stale]")
    assert "notes.rst:7: WARNING: claim 'kv.bytes-per-token': malformed pin '@0.4+x'" in warnings[1]
    assert warnings[1].endswith("[claims.pin]")
    assert ">our budget<" in (project / "_build/notes.html").read_text()
    conf = project / "conf.py"
    conf.write_text(conf.read_text() + 'suppress_warnings = ["claims.stale", "claims.pin"]\n')
    assert _build(project).returncode == 0


def test_a_claims_json_with_no_address_gives_no_relative_links(tmp_path: Path, export: dict[str, Any]) -> None:
    project = _project(tmp_path, {**export, "base_url": ""})
    run = _build(project)
    assert run.returncode != 0 and "[claims.address]" in run.stderr and run.stderr.count("WARNING") == 1
    assert 'href="c/' not in (project / "_build/index.html").read_text()
    conf = project / "conf.py"
    conf.write_text(conf.read_text() + f'claims_base_url = "{BASE}"\n')
    assert _build(project).returncode == 0
    assert f'href="{BASE}c/batch.optimal-size.html"' in (project / "_build/index.html").read_text()


@pytest.mark.parametrize("content", ["{not json", '{"claims": 3}', "[]"])
def test_a_corrupt_claims_json_is_one_typed_warning(tmp_path: Path, export: dict[str, Any], content: str) -> None:
    project = _project(tmp_path, export)
    (project / "claims.json").write_text(content)
    run = _build(project)
    assert run.returncode != 0 and run.stderr.count("WARNING") == 1, run.stderr
    assert f"{project / 'claims.json'}: not a claims.json" in run.stderr and "[claims.fetch]" in run.stderr
    assert "Traceback" not in run.stderr and "report" not in run.stderr
