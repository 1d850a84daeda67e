"""The step model against published decode benchmarks: one test per hwdb benchmark record.

Each comparison is pinned in ``claims/published.lock.json``; a test fails when the prediction, the
published figure, their ratio or its band moved, naming the record and its file. A comparison whose
ratio falls outside the bound is not hidden either: its band is pinned, and the book says why.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

import hwdb
from claims import published


@cache
def comparisons() -> dict[str, published.Comparison]:
    return published.compare_all(hwdb.load([]))


@cache
def pinned() -> dict[str, Any]:
    return published.read()


@pytest.mark.parametrize("record_id", sorted(r.id for r in hwdb.load([]).of_kind("benchmark")))
def test_matches_lock(record_id: str) -> None:
    moved = published.drift(
        {record_id: comparisons()[record_id]}, {k: v for k, v in pinned().items() if k == record_id}
    )
    if moved:
        pytest.fail("\n".join(moved), pytrace=False)


def test_the_lock_names_no_benchmark_hwdb_lacks() -> None:
    gone = sorted(set(pinned()) - set(comparisons()))
    assert not gone, f"in {published.LOCK_FILE.name} but not in hwdb: {', '.join(gone)}"
