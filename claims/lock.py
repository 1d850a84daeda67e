"""The lock file: every computed value and verdict, pinned for review.

``verify`` compares a fresh evaluation with the lock; any value that moved beyond
round-off, any verdict that changed, and any claim or row that appeared or vanished
is drift, reported with the inputs that changed and the files they live in.
``pin`` rewrites the lock on purpose, so every numeric change shows up in a diff.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hwdb import display_path
from hwdb.files import write_atomic

from .engine import Evaluation, InputValue
from .policy import verdict_text

LOCK_FILE = Path(__file__).resolve().parent / "claims.lock.json"
LOCK_ENV_VAR = "CLAIMS_LOCK"
LOCK_VERSION = 1
RELATIVE_TOLERANCE = 1e-9  # round-off across platforms, nothing more


def lock_path(overlays: Sequence[Path] = ()) -> Path:
    """Which lock a run compares with.

    $CLAIMS_LOCK if set; with one overlay, ``<overlay>.lock.json`` beside it, so a user's
    own data gets its own drift guard; with several, ``<a>+<b>.lock.json`` beside the last,
    so stacking overlays never rewrites the lock of one of them; otherwise the book's lock.
    """
    explicit = os.environ.get(LOCK_ENV_VAR)
    if explicit:
        return Path(explicit).resolve()
    if len(overlays) == 1:
        return Path(overlays[0]).with_suffix(".lock.json")
    if overlays:  # a stack of overlays is its own data: its lock is named for all of them, in order
        return Path(overlays[-1]).with_name("+".join(Path(o).stem for o in overlays) + ".lock.json")
    return LOCK_FILE


#: Significant digits a pin (and a citation's content version) keeps: enough for any
#: drift that matters, few enough that last-bit float noise of a platform never shows.
PINNED_DIGITS = 12


def pinned_text(value: float) -> str:
    return f"{value:.{PINNED_DIGITS}g}"


def _pinned(value: float) -> float:
    return float(pinned_text(value))


def _pinned_all(values: dict[str, float]) -> dict[str, float]:
    return {name: _pinned(v) for name, v in values.items()}


def snapshot(evaluation: Evaluation) -> dict[str, Any]:
    """The pinned form of one evaluation."""
    return {
        "value": _pinned(evaluation.value),
        "unit": evaluation.claim.unit,
        "verdict": evaluation.verdict.value,
        "evidence": evaluation.evidence,
        "marginal": evaluation.marginal,
        "rows": {
            row.record.id: {
                "value": _pinned(row.value),
                "verdict": verdict_text(row.verdict),
                "details": _pinned_all(dict(row.details)),
            }
            for row in evaluation.rows
            if row.record is not None
        },
        "population": None if evaluation.population is None else asdict(evaluation.population),
        "lecture_arithmetic": None if evaluation.claim.own is None else _pinned(evaluation.claim.own.value),
        "details": _pinned_all(dict(evaluation.reference.details)),
        "sensitivity": {s.input.key: [_pinned(s.low), _pinned(s.high)] for s in evaluation.sensitivity},
        "inputs": {item.key: _pinned(item.field.si) for item in sorted(evaluation.inputs(), key=lambda i: i.key)},
    }


def render(evaluations: dict[str, Evaluation]) -> str:
    body = {"version": LOCK_VERSION, "claims": {cid: snapshot(e) for cid, e in sorted(evaluations.items())}}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(evaluations: dict[str, Evaluation], path: Path = LOCK_FILE) -> None:
    """Write atomically, so an interrupted pin never leaves half a lock behind."""
    write_atomic(path, render(evaluations))


class LockError(Exception):
    """The lock file is missing or unreadable."""


def read(path: Path = LOCK_FILE) -> dict[str, Any]:
    if not path.exists():
        raise LockError(
            f"{display_path(path)}: lock file not found; "
            "run `python -m claims pin` (with the same overlays) to create it"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LockError(f"{display_path(path)}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("version") != LOCK_VERSION or not isinstance(data.get("claims"), dict):
        raise LockError(f"{display_path(path)}: not a version-{LOCK_VERSION} claims lock")
    claims: dict[str, Any] = data["claims"]
    for claim_id, entry in claims.items():  # a damaged lock is named as such, not blamed on a derivation
        rows = entry.get("rows") if isinstance(entry, dict) else None
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("value"), int | float)
            or not isinstance(rows, dict)
            or not all(isinstance(r, dict) and isinstance(r.get("value"), int | float) for r in rows.values())
        ):
            raise LockError(f"{display_path(path)}: the entry for '{claim_id}' is damaged; re-pin or restore the file")
    return claims


def moved(old: float, new: float) -> bool:
    """True when a value differs from its pinned one by more than round-off."""
    return not math.isclose(old, new, rel_tol=RELATIVE_TOLERANCE, abs_tol=0.0)


@dataclass(frozen=True)
class Drift:
    """One claim (or row) that no longer matches the lock."""

    claim: str
    message: str

    def __str__(self) -> str:
        return f"{self.claim}: {self.message}"


def changed_inputs(items: Iterable[InputValue], pinned_inputs: dict[str, float]) -> str:
    """Which inputs differ from the pinned ones, with their files; or say the code changed."""
    items = list(items)
    lines = []
    for item in items:
        old = pinned_inputs.get(item.key)
        if old is None:
            lines.append(f"new input {item.key} = {item.field.si:g} ({item.field.file})")
        elif moved(old, item.field.si):
            lines.append(f"input {item.key} moved {old:g} -> {item.field.si:g} (SI units; {item.field.file})")
    return "; ".join(lines) if lines else "no input changed: the derivation or its code did"


def _shown(verdict: str | None) -> str:
    return "not judged (outside scope)" if verdict is None else f"'{verdict}'"


def compare(evaluation: Evaluation, pinned: dict[str, Any] | None) -> list[Drift]:
    """Every way one evaluation departs from its pinned snapshot."""
    cid = evaluation.claim.id
    if pinned is None:
        return [Drift(cid, "not in the lock file; run `nox -s pin` after reviewing it")]
    fresh = snapshot(evaluation)
    problems: list[str] = []
    if fresh["unit"] != pinned.get("unit"):
        problems.append(f"unit changed {pinned.get('unit')} -> {fresh['unit']}")
    if moved(pinned.get("value", math.nan), fresh["value"]):
        problems.append(f"value moved {pinned.get('value')!r} -> {fresh['value']!r} {fresh['unit']}")
    if pinned.get("verdict") != fresh["verdict"]:
        problems.append(f"verdict changed '{pinned.get('verdict')}' -> '{fresh['verdict']}'")
    if pinned.get("evidence") != fresh["evidence"]:
        problems.append(f"evidence class changed {pinned.get('evidence')!r} -> {fresh['evidence']!r}")
    if pinned.get("marginal") != fresh["marginal"]:
        problems.append(f"marginal changed {pinned.get('marginal')!r} -> {fresh['marginal']!r}")
    old_own, new_own = pinned.get("lecture_arithmetic"), fresh["lecture_arithmetic"]
    if (old_own is None) != (new_own is None) or (old_own is not None and moved(old_own, new_own)):
        problems.append(f"the lecture's own arithmetic moved {old_own!r} -> {new_own!r}")
    if pinned.get("population") != fresh["population"]:
        problems.append(f"population counts changed {pinned.get('population')} -> {fresh['population']}")
    old_rows, new_rows = pinned.get("rows", {}), fresh["rows"]
    for rid in sorted(set(old_rows) | set(new_rows)):
        if rid not in new_rows:
            problems.append(f"row {rid} disappeared")
        elif rid not in old_rows:
            problems.append(f"new row {rid} = {new_rows[rid]['value']!r}")
        else:
            o, n = old_rows[rid], new_rows[rid]
            if moved(o["value"], n["value"]):
                problems.append(f"row {rid} moved {o['value']!r} -> {n['value']!r}")
            if o["verdict"] != n["verdict"]:
                problems.append(f"row {rid} verdict {_shown(o['verdict'])} -> {_shown(n['verdict'])}")
            for name in sorted(set(o.get("details", {})) | set(n["details"])):
                if moved(o.get("details", {}).get(name, math.nan), n["details"].get(name, math.nan)):
                    problems.append(f"row {rid} detail {name} moved")
    for key in sorted(set(pinned.get("sensitivity", {})) | set(fresh["sensitivity"])):
        old_ends, new_ends = pinned.get("sensitivity", {}).get(key), fresh["sensitivity"].get(key)
        if old_ends is None or new_ends is None or any(moved(o, n) for o, n in zip(old_ends, new_ends, strict=True)):
            problems.append(f"range of {key} gives {new_ends!r}, pinned {old_ends!r}")
    for name in sorted(set(pinned.get("details", {})) | set(fresh["details"])):
        if moved(pinned.get("details", {}).get(name, math.nan), fresh["details"].get(name, math.nan)):
            problems.append(
                f"detail {name} moved {pinned.get('details', {}).get(name)!r} -> {fresh['details'].get(name)!r}"
            )
    if not problems:
        return []
    old_inputs = pinned.get("inputs", {})
    gone = sorted(set(old_inputs) - {i.key for i in evaluation.inputs()})
    why = changed_inputs(evaluation.inputs(), old_inputs) + "".join(f"; input {k} no longer used" for k in gone)
    return [Drift(cid, "; ".join(problems) + f" [{why}]")]


def check(evaluations: dict[str, Evaluation], pinned: dict[str, Any]) -> list[Drift]:
    """Drift for every claim, plus claims the lock has that the code no longer does."""
    drifts = [d for cid, e in evaluations.items() for d in compare(e, pinned.get(cid))]
    drifts += [Drift(cid, "in the lock file but no longer defined") for cid in sorted(set(pinned) - set(evaluations))]
    return drifts
