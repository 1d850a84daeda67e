"""Overlays: a user's own records and overrides, through the loader, the CLIs and the book."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import BOOK_BUILD, REPO

import hwdb
from claims import evaluate, get_claim
from hwdb import HwdbError, load_from

EXAMPLE = REPO / "book/examples/my-accelerator.toml"

SOURCE = """
[sources.mine]
title = "My notes"
publisher = "Me"
url = "https://example.com/notes"
retrieved = 2026-11-26
"""


def _overlay(tmp_path: Path, body: str, name: str = "overlay.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(SOURCE + body))
    return path


def _error(path: Path) -> str:
    with pytest.raises(HwdbError) as info:
        load_from(hwdb.DATA_DIR, [path])
    return str(info.value)


def test_example_adds_a_row_and_overrides_a_field() -> None:
    db = load_from(hwdb.DATA_DIR, [EXAMPLE])
    assert db["x1"].file == "book/examples/my-accelerator.toml"
    bandwidth = db["h100-sxm"]["hbm_bandwidth"]
    assert bandwidth.quantity.to("TB/s").magnitude == pytest.approx(3.9)
    assert bandwidth.file == "book/examples/my-accelerator.toml"
    assert bandwidth.source.id == "my-design-notes"
    assert db["h100-sxm"]["hbm_capacity"].file == "hwdb/data/accelerators/h100-sxm.toml"
    train = evaluate(get_claim("serving.train-interval"), db)
    assert "x1" in {r.record.id for r in train.rows if r.record}
    assert train.value == pytest.approx(80 / 3.9)


def test_override_of_a_missing_field_names_file_record_field(tmp_path: Path) -> None:
    path = _overlay(
        tmp_path,
        '[[override]]\nid = "h100-sxm"\n[override.fields.fp4_flops]\n'
        'value = 1\nunit = "PFLOP/s"\nsparsity = "dense"\nsource = "mine"\n',
    )
    message = _error(path)
    assert (
        f"{path}: record 'h100-sxm': field 'fp4_flops': overrides a field that record 'h100-sxm' does not have"
        in message
    )


def test_override_of_a_missing_record(tmp_path: Path) -> None:
    path = _overlay(
        tmp_path, '[[override]]\nid = "h900"\n[override.fields.hbm_capacity]\nvalue = 1\nunit = "GB"\nsource = "mine"\n'
    )
    assert "record 'h900': [[override]] names no existing record" in _error(path)


def test_new_record_may_not_reuse_an_id(tmp_path: Path) -> None:
    body = '[[record]]\nid = "h100-sxm"\nkind = "accelerator"\nname = "Again"\nsource = "mine"\n'
    body += '[record.fields.hbm_capacity]\nvalue = 1\nunit = "GB"\n'
    body += '[record.fields.hbm_bandwidth]\nvalue = 1\nunit = "TB/s"\n'
    assert "record 'h100-sxm': duplicate record id (also in hwdb/data/accelerators/h100-sxm.toml)" in _error(
        _overlay(tmp_path, body)
    )


def test_bad_unit_in_an_overlay_names_the_overlay(tmp_path: Path) -> None:
    path = _overlay(
        tmp_path,
        '[[override]]\nid = "h100-sxm"\n[override.fields.hbm_bandwidth]\nvalue = 3.9\nunit = "TB"\nsource = "mine"\n',
    )
    assert f"{path}: record 'h100-sxm': field 'hbm_bandwidth': unit 'TB' has dimension [information]" in _error(path)


def test_source_ids_may_not_clash(tmp_path: Path) -> None:
    path = tmp_path / "clash.toml"
    path.write_text('[sources.lecture]\ntitle = "x"\npublisher = "y"\nurl = "https://z"\nretrieved = 2026-01-01\n')
    assert "record 'lecture': source id already defined in hwdb/data/sources.toml" in _error(path)


def test_empty_missing_and_malformed_overlays(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert "overlay is empty" in _error(empty)
    assert "overlay file not found" in _error(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[record]\n")
    assert "malformed TOML" in _error(broken)


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **env})


def test_bad_overlay_changes_nothing_through_the_cli(repo_copy: Path, tmp_path: Path) -> None:
    path = _overlay(
        tmp_path,
        '[[override]]\nid = "h100-sxm"\n[override.fields.hbm_bandwidth]\nvalue = -1\nunit = "TB/s"\nsource = "mine"\n',
    )
    lock = repo_copy / "claims/claims.lock.json"
    before = lock.read_bytes()
    run = _run(["-m", "claims", "--hwdb-overlay", str(path), "--lock", str(lock), "pin"], repo_copy)
    assert run.returncode == 2
    assert "field 'hbm_bandwidth': value must be positive" in run.stderr
    assert lock.read_bytes() == before
    assert not path.with_suffix(".lock.json").exists()
    run = _run(["-m", "hwdb", "check"], repo_copy, HWDB_OVERLAY=str(path))
    assert run.returncode == 1
    assert "value must be positive" in run.stderr


def test_example_overlay_verifies_against_its_own_lock() -> None:
    run = _run(["-m", "claims", "verify"], REPO, HWDB_OVERLAY=str(EXAMPLE))
    assert run.returncode == 0, run.stderr
    assert "book/examples/my-accelerator.lock.json" in run.stdout


@pytest.mark.slow
def test_example_overlay_builds_the_book(repo_copy: Path) -> None:
    example = repo_copy / "book/examples/my-accelerator.toml"
    run = _run(BOOK_BUILD[1:], repo_copy, HWDB_OVERLAY=str(example))  # _run adds the Python
    assert run.returncode == 0, run.stderr
    assert "Hypothetical X1" in (repo_copy / "_build/html/train.html").read_text()
