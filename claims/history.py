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

from hwdb.files import write_together

from .id_registry import read_registry
from .number_text import number
from .versioning import bump, content_version, parse_number

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
#: What the value rests on, recorded from the first release after 0.4.0 on (older entries lack them), so a
#: new content version with the same value and verdict can say which row or input moved: ``inputs`` maps
#: each input (``record.field``) to its value as the claim uses it ("3.35 TB/s", 12 significant figures),
#: ``rows`` each record to [its value in the claim's unit, its verdict or null for a row out of scope].
DATA_KEYS = ("inputs", "rows")


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
        if not isinstance(number, str) or parse_number(number) is None:
            raise HistoryError(f"{where}: 'release' must be a version such as 0.2.0, not {number!r}")
        try:
            dt.date.fromisoformat(str(date))
        except ValueError:
            raise HistoryError(f"{where} ({number}): 'date' must be YYYY-MM-DD, not {date!r}") from None
        for claim_id, entry in item["claims"].items():
            missing = [k for k in ENTRY_KEYS if not isinstance(entry, dict) or k not in entry]
            if missing:
                raise HistoryError(f"{where} ({number}): claim '{claim_id}' lacks {', '.join(missing)}")
            malformed = _data_problem(entry)
            if malformed:
                raise HistoryError(f"{where} ({number}): claim '{claim_id}': {malformed}")
        releases.append(Release(number, str(date), item["claims"]))
    if not releases:
        raise HistoryError(f"{name}: no releases")
    numbers = [parse_number(r.number) or (0, 0, 0) for r in releases]  # each was checked above
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        raise HistoryError(f"{name}: release numbers must rise: {', '.join(r.number for r in releases)}")
    return tuple(releases)


def _data_problem(entry: dict[str, Any]) -> str:
    """What is wrong with an entry's recorded inputs and rows ("" if nothing, or if it records none)."""
    inputs, rows = entry.get("inputs", {}), entry.get("rows", {})
    if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
        return "'inputs' must map each input to its value as text, such as \"3.35 TB/s\""
    if not isinstance(rows, dict) or not all(_good_row(v) for v in rows.values()):
        return "'rows' must map each record to [value, verdict or null]"
    return ""


def _good_row(row: Any) -> bool:
    return (
        isinstance(row, list)
        and len(row) == 2
        and isinstance(row[0], int | float)
        and not isinstance(row[0], bool)
        and (row[1] is None or isinstance(row[1], str))
    )


def latest(path: Path = HISTORY_FILE) -> Release:
    return read(path)[-1]


def entries(evaluations: dict[str, Evaluation]) -> dict[str, dict[str, Any]]:
    """What a release records for each claim: the content version and what a reader saw."""
    from . import formatting
    from .lock import pinned_text
    from .policy import verdict_text

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
            "inputs": {
                i.key: f"{pinned_text(float(i.field.quantity.magnitude))} {i.field.quantity.units:~P}".strip()
                for i in sorted(e.inputs(), key=lambda i: i.key)
            },
            "rows": {
                r.record.id: [float(pinned_text(r.value)), verdict_text(r.verdict)]
                for r in sorted(e.rows, key=lambda r: r.record.id if r.record else "")
                if r.record is not None
            },
        }
        for cid, e in sorted(evaluations.items())
    }


def _moved(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a reader would see another value or verdict."""
    return any(old.get(k) != new.get(k) for k in ("judged", "value", "unit", "verdict"))


def what_moved(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Which rows and inputs moved between two entries of one claim, one line each, for a reader who cited
    the old one: "row tpu-v7: 4,100 → 4,350 tokens", "input h100-sxm.hbm_bandwidth: 3.35 → 4 TB/s".

    When the content version moved and no recorded row or input did, the one line names what else is in
    the version. Entries are plain dicts (a release's, or the ``history`` of an exported claim), so this
    runs on claims.json alone. An entry recorded before rows and inputs were gives one line saying so.
    """
    if old.get("version") == new.get("version") and all(old.get(k) == new.get(k) for k in DATA_KEYS):
        return []
    if not all(isinstance(e.get(k), dict) for e in (old, new) for k in DATA_KEYS):
        first = new.get("release") if all(k in new for k in DATA_KEYS) else None
        return [f"rows and inputs not recorded before release {first}" if first else "rows and inputs not recorded"]
    lines = [
        *_moved_rows(old["rows"], new["rows"], _unit_label(str(new.get("unit", "")))),
        *_moved_inputs(old["inputs"], new["inputs"]),
    ]
    return lines or ["statement, tolerance, derivation or an input's plausible range"]


def data_moved(old: dict[str, Any], new: dict[str, Any]) -> bool | None:
    """Whether a recorded row or input moved; None when either entry predates their recording."""
    if not all(isinstance(e.get(k), dict) for e in (old, new) for k in DATA_KEYS):
        return None
    return any(old[k] != new[k] for k in DATA_KEYS)


def _moved_rows(old: dict[str, list[Any]], new: dict[str, list[Any]], unit: str) -> list[str]:
    lines = []
    for record in sorted(set(old) | set(new)):
        before, after = old.get(record), new.get(record)
        if before == after:
            continue
        if before is None or after is None:
            value, verdict = before or after or [0.0, None]
            shown = f"{number(float(value), 3)}{unit}" + (f" ({verdict})" if verdict else "")
            lines.append(f"row {record}: " + (f"added, {shown}" if before is None else f"dropped, was {shown}"))
            continue
        a, b = _figures(float(before[0]), float(after[0]))
        text = f"{a}{unit}" if before[0] == after[0] else f"{a} → {b}{unit}"
        if before[1] != after[1]:
            text += f" ({before[1] or 'out of scope'} → {after[1] or 'out of scope'})"
        lines.append(f"row {record}: {text}")
    return lines


def _moved_inputs(old: dict[str, str], new: dict[str, str]) -> list[str]:
    lines = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if before is None or after is None:
            change = f"now used, {after}" if before is None else f"no longer used, was {before}"
            lines.append(f"input {key}: {change}")
            continue
        (a_value, _, a_unit), (b_value, _, b_unit) = before.partition(" "), after.partition(" ")
        try:
            a, b = _figures(float(a_value), float(b_value), _held_digits(float(a_value), float(b_value)))
        except ValueError:  # not a number and a unit: show the texts as recorded
            a, b, a_unit, b_unit = before, after, "", ""
        unit = f" {b_unit}" if b_unit else ""
        lines.append(f"input {key}: {a} → {b}{unit}" if a_unit == b_unit else f"input {key}: {a} {a_unit} → {b}{unit}")
    return lines


#: How a claim's unit is written after a row's number; units not listed are written as pint spells them.
_UNIT_LABELS = {"1": "", "percent": " %", "token": " tokens", "param": " parameters", "us": " µs"}


def _unit_label(unit: str) -> str:
    if unit in _UNIT_LABELS:
        return _UNIT_LABELS[unit]
    return " " + unit.replace("**2", "²").replace("**3", "³").replace("token", "tok")


def _held_digits(*values: float) -> int:
    """The figures an input is held with, up to five (2,039 GB/s is not written 2,040), as the book prints data."""
    return max(next((d for d in range(1, 6) if float(f"{v:.{d}g}") == v), 3) for v in values)


def _figures(a: float, b: float, least: int = 3) -> tuple[str, str]:
    """Both numbers with the fewest significant figures (``least`` at least) that tell them apart."""
    for digits in range(least, 12):
        texts = number(a, digits), number(b, digits)
        if texts[0] != texts[1] or a == b:
            return texts
    return number(a, 12), number(b, 12)


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
        return None if set(old) == set(previous.claims) else bump(previous.number, patch=True)
    # A verdict that became marginal, or whose evidence class moved, moves like the verdict itself.
    moved = set(old) != set(current) or firmer or any(_moved(old[c], current[c]) for c in current)
    return bump(previous.number, patch=not moved)


def upcoming(evaluations: dict[str, Evaluation], path: Path = HISTORY_FILE) -> str:
    """The release number the next pin will record for these evaluations (the latest, if nothing changed)."""
    releases = read(path)
    return next_number(releases[-1], entries(evaluations), read_registry().aliases) or releases[-1].number


def first_listing(releases: tuple[Release, ...], claim_id: str) -> Release | None:
    """The first release that lists this very ID (a renamed claim's new ID is listed from its rename on)."""
    return next((r for r in releases if claim_id in r.claims), None)


def first_missing(releases: tuple[Release, ...], claim_id: str) -> Release | None:
    """The release that removed an ID: the first one without it after the last one that lists it."""
    listed = [n for n, r in enumerate(releases) if claim_id in r.claims]
    return releases[listed[-1] + 1] if listed and listed[-1] + 1 < len(releases) else None


def render(releases: tuple[Release, ...]) -> str:
    body = {"format": HISTORY_FORMAT, "releases": [r.as_json() for r in releases]}
    return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def prepare(
    evaluations: dict[str, Evaluation], path: Path = HISTORY_FILE, today: dt.date | None = None
) -> tuple[str, str] | None:
    """The next release's number and the history's new text, if any claim changed since the last release;
    nothing is written (a pin writes them together with the lock, see ``python -m claims pin``)."""
    current = entries(evaluations)
    releases = read(path)
    number = next_number(releases[-1], current, read_registry().aliases)
    if number is None:
        return None
    day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    return number, render((*releases, Release(number, day, current)))


def record(evaluations: dict[str, Evaluation], path: Path = HISTORY_FILE, today: dt.date | None = None) -> str | None:
    """Append a release if any claim changed since the last one; the new number, or None."""
    prepared = prepare(evaluations, path, today)
    if prepared is None:
        return None
    number, text = prepared
    files: dict[Path, str] = {path: text}
    if path == HISTORY_FILE:
        files[RELEASE_FILE] = number + "\n"
    write_together(files)
    return number


def release_file_problem(path: Path = HISTORY_FILE) -> str | None:
    """What is wrong with claims/RELEASE (the packaged version), which must name the history's last release."""
    release_file = path.with_name(RELEASE_FILE.name)
    try:
        written = release_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        return f"{release_file}: cannot read ({exc.strerror or exc})"
    last = read(path)[-1].number
    if written != last:
        return f"{release_file} says {written!r}, but the last release in {path.name} is {last}"
    return None


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
    (under whichever ID it had then).

    A version first published before rows and inputs were recorded takes them from a later release of the
    same version: the version is a hash of them, so they are what it had then too.
    """
    out: list[dict[str, Any]] = []
    for release in releases:
        entry = renamed(release.claims, aliases or {}).get(claim_id)
        if entry is not None and (not out or out[-1]["version"] != entry["version"]):
            out.append({"release": release.number, "date": release.date, **entry})
        elif entry is not None and not all(k in out[-1] for k in DATA_KEYS) and all(k in entry for k in DATA_KEYS):
            out[-1].update({k: entry[k] for k in DATA_KEYS})
    return out


@dataclass(frozen=True)
class Change:
    claim: str
    kind: str  # added | moved | firmness | data | reworded | unrecorded | renamed | withdrawn
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    old_id: str = ""


def _unmoved_kind(old: dict[str, Any], new: dict[str, Any]) -> str:
    """A new content version with value, verdict and firmness unchanged: a row or input moved (``data``), or
    only the statement, tolerance or derivation did (``reworded``); ``unrecorded`` before rows and inputs were."""
    moved = data_moved(old, new)
    return "unrecorded" if moved is None else "data" if moved else "reworded"


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
                kind = "moved" if _moved(old, entry) else "firmness" if firmness_changed(old, entry) else ""
                found.append(Change(cid, kind or _unmoved_kind(old, entry), old, entry))
        gone = set(before) - set(release.claims) - set(old_ids.values())
        found += [Change(cid, "withdrawn", before[cid], None) for cid in sorted(gone)]
        out.append((release, found))
    return out[::-1]
