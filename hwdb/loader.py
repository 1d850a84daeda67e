"""Load and validate the TOML records under hwdb/data.

Validation is all-or-nothing: every problem in every file is collected, and if
there is any, :class:`HwdbError` lists them all and no database is returned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pint

from .errors import HwdbError, Problem
from .model import Database, Field, Record, Source
from .schema import CONVENTIONS, FIELDS, KINDS
from .units import UNITS_FILE, Quantity, parse_unit

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
REPO_ROOT = PACKAGE_DIR.parent
SOURCES_FILE = "sources.toml"
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
RECORD_KEYS = {"id", "kind", "name", "source", "meta", "fields"}
FIELD_KEYS = {"value", "unit", "source", "note", "low", "high", "per_chips", *CONVENTIONS}
SOURCE_KEYS = {"title", "publisher", "url", "retrieved", "note"}


def display_path(path: Path) -> str:
    """A path relative to the repository root where possible (for messages and exports)."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _read_toml(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(display_path(path), f"malformed TOML: {exc}"))
    except OSError as exc:
        problems.append(Problem(display_path(path), f"cannot read: {exc}"))
    return None


def _load_sources(path: Path, problems: list[Problem]) -> dict[str, Source]:
    data = _read_toml(path, problems)
    if data is None:
        return {}
    file = display_path(path)
    sources: dict[str, Source] = {}
    for sid, entry in data.items():
        if not ID_PATTERN.match(sid):
            problems.append(Problem(file, "source id must be a lowercase slug", sid))
            continue
        if not isinstance(entry, dict):
            problems.append(Problem(file, "a source must be a table", sid))
            continue
        unknown = set(entry) - SOURCE_KEYS
        if unknown:
            problems.append(Problem(file, f"unknown key(s) {sorted(unknown)}", sid))
        missing = [k for k in ("title", "publisher", "url", "retrieved") if k not in entry]
        if missing:
            problems.append(Problem(file, f"missing {', '.join(missing)}", sid))
            continue
        retrieved = entry["retrieved"]
        if not isinstance(retrieved, dt.date) or isinstance(retrieved, dt.datetime):
            problems.append(Problem(file, "'retrieved' must be a TOML date (YYYY-MM-DD)", sid))
            continue
        sources[sid] = Source(sid, entry["title"], entry["publisher"], entry["url"], retrieved, entry.get("note"))
    return sources


def _number(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    return float(raw)


def _load_field(
    name: str,
    raw: object,
    record: dict[str, Any],
    sources: dict[str, Source],
    allows_range: bool,
    problem: Any,
) -> Field | None:
    spec = FIELDS.get(name)
    if spec is None:
        problem("unknown field (known fields: see hwdb/schema.py)", name)
        return None
    if not isinstance(raw, dict):
        problem("a field must be a table with value, unit and source", name)
        return None
    unknown = set(raw) - FIELD_KEYS
    if unknown:
        problem(f"unknown key(s) {sorted(unknown)}", name)
        return None
    if "unit" not in raw:
        problem("missing unit", name)
        return None
    if "value" not in raw:
        problem("missing value", name)
        return None
    value = _number(raw["value"])
    if value is None:
        problem(f"value must be a number, got {raw['value']!r}", name)
        return None
    if not math.isfinite(value):
        problem(f"value must be finite, got {value}", name)
        return None
    if value < 0 or (value == 0 and not spec.allow_zero):
        problem(f"value must be {'non-negative' if spec.allow_zero else 'positive'}, got {value:g}", name)
        return None
    try:
        unit = parse_unit(str(raw["unit"]))
    except (pint.PintError, AttributeError, TypeError, ValueError, SyntaxError) as exc:
        problem(f"unknown unit {raw['unit']!r} ({exc})", name)
        return None
    expected = parse_unit(spec.unit)
    if unit.dimensionality != expected.dimensionality:
        problem(
            f"unit {raw['unit']!r} has dimension {unit.dimensionality}, "
            f"expected {expected.dimensionality} (like {spec.unit!r})",
            name,
        )
        return None
    source_id = raw.get("source", record.get("source"))
    if source_id is None:
        problem("missing source (give 'source' in the field or the record)", name)
        return None
    source = sources.get(str(source_id))
    if source is None:
        problem(f"source '{source_id}' is not in hwdb/data/{SOURCES_FILE}", name)
        return None
    divisor = 1
    convention = None
    if spec.convention is not None:
        choices = CONVENTIONS[spec.convention]
        convention = raw.get(spec.convention)
        if convention not in choices:
            problem(
                f"must state '{spec.convention}' as one of {sorted(choices)} (got {convention!r})",
                name,
            )
            return None
        divisor = choices[convention]
    else:
        stray = set(raw) & set(CONVENTIONS)
        if stray:
            problem(f"'{sorted(stray)[0]}' does not apply to this field", name)
            return None
    per_chips = raw.get("per_chips", 1)
    if isinstance(per_chips, bool) or not isinstance(per_chips, int) or per_chips < 1:
        problem(f"'per_chips' must be a positive integer (chips the printed value covers), got {per_chips!r}", name)
        return None
    if per_chips != 1 and record.get("kind") != "accelerator":
        problem("'per_chips' applies only to accelerator records", name)
        return None
    divisor *= per_chips
    bounds: dict[str, pint.Quantity[Any]] = {}
    for key in ("low", "high"):
        if key in raw:
            if not allows_range:
                problem(f"'{key}' is only allowed in assumption records", name)
                return None
            bound = _number(raw[key])
            if bound is None or not math.isfinite(bound) or bound <= 0:
                problem(f"'{key}' must be a positive finite number", name)
                return None
            bounds[key] = Quantity(bound / divisor, unit)
    quantity = Quantity(value / divisor, unit)
    if ("low" in bounds and bounds["low"] > quantity) or ("high" in bounds and bounds["high"] < quantity):
        problem("the value must lie within [low, high]", name)
        return None
    return Field(
        name=name,
        quantity=quantity,
        printed_value=value,
        printed_unit=str(raw["unit"]),
        source=source,
        convention=convention,
        per_chips=per_chips,
        note=raw.get("note"),
        low=bounds.get("low"),
        high=bounds.get("high"),
    )


def _load_record(path: Path, sources: dict[str, Source], problems: list[Problem]) -> Record | None:
    data = _read_toml(path, problems)
    if data is None:
        return None
    file = display_path(path)
    rid = data.get("id")
    before = len(problems)

    def problem(message: str, field: str | None = None) -> None:
        problems.append(Problem(file, message, rid if isinstance(rid, str) else None, field))

    if not isinstance(rid, str) or not ID_PATTERN.match(rid):
        problem(f"'id' must be a lowercase slug such as 'h100-sxm', got {rid!r}")
        return None
    if path.stem != rid:
        problem(f"file name must be '{rid}.toml'")
    unknown = set(data) - RECORD_KEYS
    if unknown:
        problem(f"unknown key(s) {sorted(unknown)}")
    kind = data.get("kind")
    spec = KINDS.get(str(kind))
    if spec is None:
        problem(f"unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})")
        return None
    if not isinstance(data.get("name"), str):
        problem("missing 'name'")
    raw_fields = data.get("fields", {})
    if not isinstance(raw_fields, dict):
        problem("'fields' must be a table")
        return None
    for name in sorted(spec.required - set(raw_fields)):
        problem(f"required for a {kind} record but missing", name)
    fields: dict[str, Field] = {}
    for name, raw in raw_fields.items():
        if name in FIELDS and name not in spec.allowed:
            problem(f"not a field of a {kind} record", name)
            continue
        loaded = _load_field(name, raw, data, sources, spec.allows_range, problem)
        if loaded is not None:
            fields[name] = loaded
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        problem("'meta' must be a table")
        return None
    if len(problems) > before:
        return None
    return Record(rid, str(kind), data["name"], file, fields, meta)


def fingerprint(paths: list[Path]) -> str:
    """A content hash of the files read, so builds notice any data change."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(display_path(path).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load(data_dir: Path = DATA_DIR) -> Database:
    """Load every record under ``data_dir``; raise HwdbError listing all problems."""
    problems: list[Problem] = []
    sources_path = data_dir / SOURCES_FILE
    if not sources_path.exists():
        raise HwdbError([Problem(display_path(sources_path), "source registry not found")])
    sources = _load_sources(sources_path, problems)
    record_paths = sorted(p for p in data_dir.rglob("*.toml") if p != sources_path)
    records: dict[str, Record] = {}
    for path in record_paths:
        record = _load_record(path, sources, problems)
        if record is None:
            continue
        if record.id in records:
            problems.append(Problem(record.file, f"duplicate record id (also in {records[record.id].file})", record.id))
            continue
        records[record.id] = record
    if problems:
        raise HwdbError(problems)
    used = {f.source.id for r in records.values() for f in r.fields.values()}
    unused = sorted(set(sources) - used)
    if unused:
        raise HwdbError([Problem(display_path(sources_path), "source is cited by no record", sid) for sid in unused])
    return Database(records, sources, fingerprint([sources_path, UNITS_FILE, *record_paths]))
