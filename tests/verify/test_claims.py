"""The claims test suite (``nox -s verify``): one test per claim and per hardware row.

Each test compares a fresh evaluation with the pinned lock. A failure names the
claim (and row), the old and new value, and the hwdb inputs that moved, with
their files. A verdict of "does not hold" is a finding, not a failure: only a
change from the pinned verdict fails.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

import hwdb
from claims import Evaluation, all_claims, evaluate, get_claim, lock
from claims.engine import row_records
from claims.policy import verdict_text


@cache
def database() -> hwdb.Database:
    return hwdb.load()


@cache
def pinned() -> dict[str, Any]:
    return lock.read()


@cache
def evaluation(claim_id: str) -> Evaluation:
    return evaluate(get_claim(claim_id), database())


def _cases() -> list[Any]:
    cases = []
    for claim in all_claims():
        cases.append(pytest.param(claim.id, None, id=claim.id))
        if claim.rows is not None:
            records, _ = row_records(claim, database())
            cases += [pytest.param(claim.id, r.id, id=f"{claim.id}[{r.id}]") for r in records]
    return cases


@pytest.mark.parametrize(("claim_id", "row_id"), _cases())
def test_matches_lock(claim_id: str, row_id: str | None) -> None:
    e = evaluation(claim_id)
    entry = pinned().get(claim_id)
    if row_id is None:
        drifts = lock.compare(e, entry)
        if drifts:
            pytest.fail("\n".join(str(d) for d in drifts), pytrace=False)
        return
    if entry is None or row_id not in entry.get("rows", {}):
        pytest.fail(f"{claim_id} on {row_id}: row not in the lock; review and run `nox -s pin`", pytrace=False)
    old = entry["rows"][row_id]
    row = next(r for r in e.rows if r.record is not None and r.record.id == row_id)
    problems = []
    if lock.moved(old["value"], row.value):
        why = lock.changed_inputs(row.inputs, entry.get("inputs", {}))
        problems.append(f"value moved {old['value']!r} -> {row.value!r} {e.claim.unit} [{why}]")
    if old["verdict"] != verdict_text(row.verdict):
        problems.append(f"verdict changed '{old['verdict']}' -> '{verdict_text(row.verdict)}'")
    if problems:
        pytest.fail(f"{claim_id} on {row_id}: " + "; ".join(problems), pytrace=False)
