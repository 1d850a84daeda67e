"""Drift: any change to an hwdb number a claim uses must fail verification, naming the claim."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import edit
from forked_cli import run_module

import hwdb
from claims import all_claims, evaluate_all, lock


def _used_inputs() -> list[tuple[str, str]]:
    evaluations = evaluate_all(hwdb.load())
    # A derived input (Field.basis) moves only through the record fields it is computed from.
    keys = {(i.record.id, i.field.name) for e in evaluations.values() for i in e.inputs() if not i.field.basis}
    return sorted(keys)


@pytest.mark.slow  # 369 full evaluations; `nox -s mutate` makes the same check from the files
@pytest.mark.parametrize(("record_id", "field"), _used_inputs())
def test_every_used_input_is_wired_to_a_claim(record_id: str, field: str) -> None:
    """+10 % on one input: some claim drifts, and its message names that input."""
    base = hwdb.load()
    db = base.with_value(record_id, field, base[record_id][field].quantity * 1.1, "mutant")
    drifts = lock.check(evaluate_all(db), lock.read())
    assert drifts, f"no claim noticed {record_id}.{field} moving by 10 %"
    assert all(f"{record_id}.{field} moved" in str(d) for d in drifts), drifts


def _claims(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m claims ARGS`` in a copy of the repository."""
    return run_module("claims", args, cwd=repo, env=dict(os.environ), timeout=300)


def test_verify_cli_fails_on_an_edited_toml_and_names_claim_and_file(repo_copy: Path) -> None:
    edit(repo_copy / "hwdb/data/accelerators/h100-sxm.toml", "value = 3.35\n", "value = 3.9\n")
    run = _claims(repo_copy, "verify")
    assert run.returncode == 1
    assert "DRIFT rooflines.hardware-ratio: value moved" in run.stderr
    assert "DRIFT batch.optimal-size: row h100-sxm moved" in run.stderr
    assert "DRIFT serving.train-interval" in run.stderr
    assert "h100-sxm.hbm_bandwidth moved" in run.stderr
    assert "hwdb/data/accelerators/h100-sxm.toml" in run.stderr


def test_pin_then_verify_passes_again(repo_copy: Path) -> None:
    edit(repo_copy / "hwdb/data/accelerators/h100-sxm.toml", "value = 3.35\n", "value = 3.9\n")
    assert _claims(repo_copy, "pin").returncode == 0
    run = _claims(repo_copy, "verify")
    assert run.returncode == 0, run.stderr


def test_a_claim_missing_from_the_lock_is_drift(tmp_path: Path) -> None:
    pinned = lock.read()
    first = all_claims()[0].id
    del pinned[first]
    drifts = lock.check(evaluate_all(hwdb.load()), pinned)
    assert [str(d) for d in drifts] == [f"{first}: not in the lock file; run `nox -s pin` after reviewing it"]


def test_bad_hwdb_fails_verify_with_file_record_field(repo_copy: Path) -> None:
    edit(repo_copy / "hwdb/data/accelerators/h100-sxm.toml", 'value = 3.35\nunit = "TB/s"\n', "value = 3.35\n")
    run = _claims(repo_copy, "verify")
    assert run.returncode == 2
    assert "hwdb/data/accelerators/h100-sxm.toml: record 'h100-sxm': field 'hbm_bandwidth': missing unit" in run.stderr
