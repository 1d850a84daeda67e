"""The book's release history: what every claim said, release by release.

``python -m claims pin`` appends a release to ``claims/history.json`` whenever a claim a reader
could cite changed: its content version (and with it, perhaps, its value or verdict), or the set
of claims. The release number follows what moved: the minor number when a value or verdict moved
or a claim was added or withdrawn, the patch number when only the wording, tolerance, inputs or
derivation changed and every published value and verdict stayed. The file is committed, so a
citation pinned to an old content version can be answered with what it quoted, and the book's
changelog page is generated from it.

Nothing here needs the engine except :func:`entries`, which reads an evaluation.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwdb.files import write_atomic

if TYPE_CHECKING:
    from .engine import Evaluation

HISTORY_FILE = Path(__file__).resolve().parent / "history.json"
#: The latest release number alone, for packaging (pyproject reads it without importing the engine).
RELEASE_FILE = HISTORY_FILE.with_name("RELEASE")
HISTORY_FORMAT = 1
#: What one claim is recorded with, per release.
ENTRY_KEYS = ("version", "judged", "value", "unit", "verdict", "stated")
#: How firm a verdict is, recorded from release 0.3.0 on (an older entry may lack them): the
#: evidence class and whether the verdict is marginal. A change in either is a change a citer needs.
FIRMNESS_KEYS = ("evidence", "marginal")


class HistoryError(ValueError):
    """history.json is missing, unreadable or malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Release:
    number: str
    date: str
    claims: dict[str, dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"release": self.number, "date": self.date, "claims": self.claims}


def read(path: Path = HISTORY_FILE) -> tuple[Release, ...]:
    """Every release, oldest first (parsed once per file content)."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise HistoryError(f"{path}: release history not found; run `python -m claims pin` to start it") from None
    return _parse(str(path), content)


@lru_cache(maxsize=4)
def _parse(name: str, content: bytes) -> tuple[Release, ...]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{name}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != HISTORY_FORMAT or not isinstance(data.get("releases"), list):
        raise HistoryError(f"{name}: not a format-{HISTORY_FORMAT} release history")
    releases = []
    for n, item in enumerate(data["releases"]):
        where = f"{name}: releases[{n}]"
        if not isinstance(item, dict) or not isinstance(item.get("claims"), dict):
            raise HistoryError(f"{where}: needs 'release', 'date' and 'claims'")
        number, date = item.get("release"), item.get("date")
        if not isinstance(number, str) or _number(number) is None:
            raise HistoryError(f"{where}: 'release' must be a version such as 0.2.0, not {number!r}")
        try:
            dt.date.fromisoformat(str(date))
        except ValueError:
            raise HistoryError(f"{where} ({number}): 'date' must be YYYY-MM-DD, not {date!r}") from None
        for claim_id, entry in item["claims"].items():
            missing = [k for k in ENTRY_KEYS if not isinstance(entry, dict) or k not in entry]
            if missing:
                raise HistoryError(f"{where} ({number}): claim '{claim_id}' lacks {', '.join(missing)}")
        releases.append(Release(number, str(date), item["claims"]))
    if not releases:
        raise HistoryError(f"{name}: no releases")
    numbers = [_number(r.number) or (0, 0, 0) for r in releases]  # each was checked above
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        raise HistoryError(f"{name}: release numbers must rise: {', '.join(r.number for r in releases)}")
    return tuple(releases)


def _number(text: str) -> tuple[int, int, int] | None:
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def latest(path: Path = HISTORY_FILE) -> Release:
    return read(path)[-1]


def entries(evaluations: dict[str, Evaluation]) -> dict[str, dict[str, Any]]:
    """What a release records for each claim: the content version and what a reader saw."""
    from . import formatting
    from .citation import content_version
    from .lock import pinned_text

    return {
        cid: {
            "version": content_version(e),
            "judged": formatting.judged(e),
            "value": float(pinned_text(e.value)),
            "unit": e.claim.unit,
            "verdict": e.verdict.value,
            "stated": formatting.stated(e),
            "evidence": e.evidence,
            "marginal": e.marginal,
        }
        for cid, e in sorted(evaluations.items())
    }


def _moved(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a reader would see another value or verdict."""
    return any(old.get(k) != new.get(k) for k in ("judged", "value", "unit", "verdict"))


def firmness_changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Which of the firmness keys differ, where both entries record them."""
    return [k for k in FIRMNESS_KEYS if k in old and k in new and old[k] != new[k]]


def renamed(claims: dict[str, dict[str, Any]], aliases: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A release's claims keyed by today's IDs: a claim recorded under an ID since renamed is the same claim."""
    return {aliases.get(cid, cid): entry for cid, entry in claims.items()}


def next_number(
    previous: Release, current: dict[str, dict[str, Any]], aliases: dict[str, str] | None = None
) -> str | None:
    """The next release number, or None when no claim changed (a rename alone is a patch)."""
    old = renamed(previous.claims, aliases or {})
    firmer = any(firmness_changed(old[c], current[c]) for c in current if c in old)
    if not firmer and set(old) == set(current) and all(old[c]["version"] == current[c]["version"] for c in current):
        return None if set(old) == set(previous.claims) else _bump(previous.number, patch=True)
    # A verdict that became marginal, or whose evidence class moved, moves like the verdict itself.
    moved = set(old) != set(current) or firmer or any(_moved(old[c], current[c]) for c in current)
    return _bump(previous.number, patch=not moved)


def _bump(number: str, patch: bool) -> str:
    major, minor, micro = _number(number) or (0, 0, 0)
    return f"{major}.{minor}.{micro + 1}" if patch else f"{major}.{minor + 1}.0"


def render(releases: tuple[Release, ...]) -> str:
    body = {"format": HISTORY_FORMAT, "releases": [r.as_json() for r in releases]}
    return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def record(evaluations: dict[str, Evaluation], path: Path = HISTORY_FILE, today: dt.date | None = None) -> str | None:
    """Append a release if any claim changed since the last one; the new number, or None."""
    from .citation import read_registry

    current = entries(evaluations)
    releases = read(path)
    number = next_number(releases[-1], current, read_registry().aliases)
    if number is None:
        return None
    day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    write_atomic(path, render((*releases, Release(number, day, current))))
    if path == HISTORY_FILE:
        write_atomic(RELEASE_FILE, number + "\n")
    return number


def stale(releases: tuple[Release, ...], current: dict[str, dict[str, Any]]) -> list[str]:
    """Claims whose content, firmness or ID differs from the last release: the history needs a pin."""
    last = releases[-1].claims
    changed = [
        c
        for c in current
        if c not in last or last[c]["version"] != current[c]["version"] or firmness_changed(last[c], current[c])
    ]
    return sorted(changed + [c for c in last if c not in current])


def quoted(releases: tuple[Release, ...], claim_id: str, version: str) -> tuple[Release, dict[str, Any]] | None:
    """The latest release in which the claim had this content version, with what it said then."""
    for release in reversed(releases):
        entry = release.claims.get(claim_id)
        if entry is not None and entry["version"] == version:
            return release, entry
    return None


def of_claim(
    releases: tuple[Release, ...], claim_id: str, aliases: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The claim's distinct versions, oldest first, each with the first release that published it
    (under whichever ID it had then)."""
    out: list[dict[str, Any]] = []
    for release in releases:
        entry = renamed(release.claims, aliases or {}).get(claim_id)
        if entry is not None and (not out or out[-1]["version"] != entry["version"]):
            out.append({"release": release.number, "date": release.date, **entry})
    return out


@dataclass(frozen=True)
class Change:
    claim: str
    kind: str  # added | moved | firmness | reworded | renamed | withdrawn
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    old_id: str = ""


def changes(releases: tuple[Release, ...], aliases: dict[str, str] | None = None) -> list[tuple[Release, list[Change]]]:
    """Each release with what changed since the one before it, newest first."""
    out = []
    for n, release in enumerate(releases):
        before = releases[n - 1].claims if n else {}
        old_ids = {new: old for old, new in (aliases or {}).items() if old in before and new not in before}
        found = []
        for cid, entry in sorted(release.claims.items()):
            old = before.get(cid)
            if old is None and cid in old_ids:
                old = before[old_ids[cid]]
                found.append(Change(cid, "renamed", old, entry, old_ids[cid]))
                if old["version"] == entry["version"]:
                    continue
            if old is None:
                found.append(Change(cid, "added", None, entry))
            elif old["version"] != entry["version"] or firmness_changed(old, entry):
                # The content version covers what a reader sees of the value; how firm the verdict is
                # (evidence class, marginal) is recorded beside it, and a change in it is listed even alone.
                kind = "moved" if _moved(old, entry) else "firmness" if firmness_changed(old, entry) else "reworded"
                found.append(Change(cid, kind, old, entry))
        gone = set(before) - set(release.claims) - set(old_ids.values())
        found += [Change(cid, "withdrawn", before[cid], None) for cid in sorted(gone)]
        out.append((release, found))
    return out[::-1]
