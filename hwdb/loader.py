"""Load and validate the TOML records under hwdb/data.

Validation is all-or-nothing: every problem in every file is collected, and if
there is any, :class:`HwdbError` lists them all and no database is returned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from pathlib import Path
from typing import Any

import pint

from .errors import HwdbError, Problem
from .files import display_path, read_regular
from .model import Database, Field, Record, Source
from .overlay import read_overlay
from .schema import CONVENTIONS, FIELDS, KINDS, PRICING_MODELS, FieldSpec
from .tomlfile import TomlFileError, read_toml
from .unit_text import shown
from .units import UNITS_FILE, Quantity, UnitTextError, parse_unit

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
SOURCES_FILE = "sources.toml"
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
RECORD_KEYS = {"id", "kind", "name", "source", "meta", "fields"}
FIELD_KEYS = {"value", "unit", "source", "note", "low", "high", "per_chips", *CONVENTIONS}
SOURCE_KEYS = {"title", "publisher", "url", "retrieved", "note"}


def _read_toml(path: Path, problems: list[Problem], contents: dict[Path, bytes]) -> dict[str, Any] | None:
    """One data file's document (its bytes kept in ``contents`` for the fingerprint), or None with a problem."""
    try:
        data, raw = read_toml(path)
    except TomlFileError as exc:
        problems.append(Problem(display_path(path), str(exc)))
    except OSError as exc:
        problems.append(Problem(display_path(path), f"cannot read: {exc.strerror or exc}"))
    else:
        contents[path] = raw
        return data
    return None


def _parse_sources(data: dict[str, Any], file: str, problems: list[Problem]) -> dict[str, Source]:
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
        wrong = [k for k in ("title", "publisher", "url", "note") if k in entry and not isinstance(entry[k], str)]
        if wrong:
            problems.append(Problem(file, f"{', '.join(wrong)} must be text (quote it)", sid))
            continue
        retrieved = entry["retrieved"]
        if not isinstance(retrieved, dt.date) or isinstance(retrieved, dt.datetime):
            problems.append(Problem(file, "'retrieved' must be a TOML date (YYYY-MM-DD)", sid))
            continue
        sources[sid] = Source(sid, entry["title"], entry["publisher"], entry["url"], retrieved, entry.get("note"), file)
    return sources


#: No figure hwdb holds comes near this in SI base units (a pod's FLOP/s is ~1e19, a year's tokens ~1e17);
#: past it a typo such as 1e300 would overflow to infinity in a derived figure or an export.
LIMIT = 1e30
#: Nor does any non-zero figure come near this (a nanosecond is 1e-9 s, a price per token ~1e-8 USD); below
#: it a value such as 1e-320 is subnormal, and a figure divided by it overflows to infinity.
SMALLEST = 1 / LIMIT
#: The most chips one printed figure may cover (``per_chips``); the largest clusters are ~1e5 chips.
MAX_CHIPS = 1_000_000
#: The largest count (layers, experts, chips, a vocabulary) hwdb takes; the largest it holds is ~1e6.
MAX_COUNT = 1e9


def value_problem(spec: FieldSpec, value: float) -> str | None:
    """Why a number cannot stand for a field, in a data file or a what-if: not finite, or of the wrong sign."""
    if not math.isfinite(value):
        return f"must be finite, got {value}"
    if value < 0 or (value == 0 and not spec.allow_zero):
        return f"must be {'non-negative' if spec.allow_zero else 'positive'}, got {value:g}"
    return None


def magnitude_problem(quantity: Any) -> str | None:
    """Why a quantity cannot stand in hwdb once in SI base units: beyond :data:`LIMIT`, or non-zero and
    below :data:`SMALLEST` (a subnormal such as 1e-320 B), either of which turns to infinity downstream."""
    magnitude = abs(float(quantity.to_base_units().magnitude))
    if not math.isfinite(magnitude) or magnitude > LIMIT:
        return f"is beyond any plausible figure (more than {LIMIT:g} in SI units)"
    if 0 < magnitude < SMALLEST:
        return f"is below any plausible figure (less than {SMALLEST:g} in SI units, but not 0)"
    return None


def within_limits(quantity: Any) -> bool:
    """Whether a quantity is finite and within :data:`SMALLEST`..:data:`LIMIT` (or 0) in SI base units."""
    return magnitude_problem(quantity) is None


def count_problem(spec: FieldSpec, value: float) -> str | None:
    """Why a number cannot stand for a count field (layers, chips): not whole, or past :data:`MAX_COUNT`."""
    if not spec.count:
        return None
    if value != int(value) or value > MAX_COUNT:
        return f"must be a whole number from {0 if spec.allow_zero else 1} to {MAX_COUNT:g}, got {value:g}"
    return None


def _number(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    try:
        return float(raw)
    except OverflowError:  # an integer too large for a float is no plausible figure either
        return math.inf


def _load_field(
    name: str,
    raw: object,
    record: dict[str, Any],
    sources: dict[str, Source],
    allows_range: bool,
    problem: Any,
    file: str,
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
    wrong = value_problem(spec, value) or count_problem(spec, value)
    if wrong:
        problem(f"value {wrong}", name)
        return None
    if not isinstance(raw["unit"], str):
        problem(f"unit must be text (quote it), got {raw['unit']!r}", name)
        return None
    try:
        unit = parse_unit(raw["unit"])
    except (UnitTextError, pint.PintError) as exc:
        problem(f"unknown unit {shown(raw['unit'])}: {exc}", name)
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
        problem(f"source '{source_id}' is not in hwdb/data/{SOURCES_FILE} or an overlay's [sources]", name)
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
    if isinstance(per_chips, bool) or not isinstance(per_chips, int) or not 1 <= per_chips <= MAX_CHIPS:
        big = isinstance(per_chips, int) and abs(per_chips) >= 10**12
        got = (
            f"an integer of about {math.floor(per_chips.bit_length() * math.log10(2)) + 1} digits"
            if big
            else repr(per_chips)
        )
        problem(
            f"'per_chips' must be a positive integer up to {MAX_CHIPS:,} (chips the printed value covers), got {got}",
            name,
        )
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
            wrong = magnitude_problem(bounds[key])
            if wrong:
                problem(f"'{key}' {bound:g} {raw['unit']} {wrong}", name)
                return None
    quantity = Quantity(value / divisor, unit)
    wrong = magnitude_problem(quantity)
    if wrong:
        problem(f"value {value:g} {raw['unit']} {wrong}", name)
        return None
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
        file=file,
        note=raw.get("note"),
        low=bounds.get("low"),
        high=bounds.get("high"),
    )


def _build_record(
    data: dict[str, Any], file: str, sources: dict[str, Source], problems: list[Problem], stem: str | None
) -> Record | None:
    """Validate one record table; ``stem`` is the file name it must match (None in overlays)."""
    rid = data.get("id")
    before = len(problems)

    def problem(message: str, field: str | None = None) -> None:
        problems.append(Problem(file, message, rid if isinstance(rid, str) else None, field))

    if not isinstance(rid, str) or not ID_PATTERN.match(rid):
        problem(f"'id' must be a lowercase slug such as 'h100-sxm', got {rid!r}")
        return None
    if stem is not None and stem != rid:
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
        loaded = _load_field(name, raw, data, sources, spec.allows_range, problem, file)
        if loaded is not None:
            fields[name] = loaded
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        problem("'meta' must be a table")
        return None
    if len(problems) > before:
        return None
    return Record(rid, str(kind), data["name"], file, fields, meta)


def _apply_override(
    override: dict[str, Any],
    file: str,
    records: dict[str, Record],
    sources: dict[str, Source],
    problems: list[Problem],
    failed: AbstractSet[str] = frozenset(),
) -> None:
    """Replace existing fields of an existing record; anything else is an error (but a record refused
    already, whose own error is reported, gets no second one here)."""
    rid = override.get("id")
    if rid in failed:
        return
    unknown = set(override) - {"id", "source", "fields"}
    if unknown:
        problems.append(Problem(file, f"unknown key(s) {sorted(unknown)} in [[override]]", str(rid)))
    target = records.get(str(rid))
    if target is None:
        problems.append(Problem(file, "[[override]] names no existing record (add it with [[record]])", str(rid)))
        return
    raw_fields = override.get("fields")
    if not isinstance(raw_fields, dict) or not raw_fields:
        problems.append(Problem(file, "[[override]] needs at least one [override.fields.NAME] table", target.id))
        return
    spec = KINDS[target.kind]
    fields = dict(target.fields)

    def problem(message: str, field: str | None = None) -> None:
        problems.append(Problem(file, message, target.id, field))

    for name, raw in raw_fields.items():
        if name not in target.fields:
            problem(f"overrides a field that record '{target.id}' does not have ({target.file})", name)
            continue
        if target.fields[name].file != target.file:
            problem(f"is overridden twice, here and in {target.fields[name].file}; keep one of the two", name)
            continue
        # The override inherits the record's kind, so a per-chip figure for an accelerator is allowed as in its file.
        loaded = _load_field(name, raw, {**override, "kind": target.kind}, sources, spec.allows_range, problem, file)
        if loaded is not None:
            fields[name] = loaded
    records[target.id] = replace(target, fields=fields)


def _cross_references(records: dict[str, Record], failed: AbstractSet[str] = frozenset()) -> list[Problem]:
    """A system or measurement names its accelerator; that record must exist. A number format that names its
    arithmetic (meta.arithmetic) names a FLOP/s field.

    A rental price names its accelerator and how it was sold (meta.pricing, see PRICING_MODELS).
    """
    problems = []
    for record in records.values():
        if record.kind == "benchmark":
            problems += _benchmark_references(record, records, failed)
            continue
        if record.kind == "datatype" and "arithmetic" in record.meta:
            named = record.meta["arithmetic"]
            if not (isinstance(named, str) and named in FIELDS and FIELDS[named].unit == "flop/s"):
                problems.append(
                    Problem(
                        record.file,
                        f"meta.arithmetic must name a FLOP/s field of hwdb's schema, got {named!r}",
                        record.id,
                    )
                )
            continue
        if record.kind == "statistic" and "rental_price" in record.fields:
            pricing = record.meta.get("pricing")
            if pricing not in PRICING_MODELS:
                problems.append(
                    Problem(
                        record.file, f"meta.pricing must be one of {list(PRICING_MODELS)}, got {pricing!r}", record.id
                    )
                )
        elif record.kind not in ("system", "measurement"):
            continue
        target = record.meta.get("accelerator")
        if target in failed:
            continue  # its own error already names the problem
        if not isinstance(target, str) or records.get(target) is None or records[target].kind != "accelerator":
            problems.append(
                Problem(record.file, f"meta.accelerator must name an accelerator record, got {target!r}", record.id)
            )
    return problems


#: What a benchmark's meta names, and the kinds of record each must be.
BENCHMARK_REFERENCES = {
    "model": ("model",),
    "hardware": ("accelerator", "system"),
    "weights": ("datatype",),
    "kv": ("datatype",),
    "math": ("datatype",),
}


def _benchmark_references(record: Record, records: dict[str, Record], failed: AbstractSet[str]) -> list[Problem]:
    """A benchmark names the model, the hardware and the formats it ran: each must be a record of that kind."""
    problems = []
    for key, kinds in BENCHMARK_REFERENCES.items():
        target = record.meta.get(key)
        if target in failed:
            continue
        found = records.get(target) if isinstance(target, str) else None
        if found is None or found.kind not in kinds:
            problems.append(
                Problem(record.file, f"meta.{key} must name a {' or '.join(kinds)} record, got {target!r}", record.id)
            )
    return problems


def fingerprint(paths: list[Path], contents: dict[Path, bytes] | None = None) -> str:
    """A content hash of the files read, so builds notice any data change; ``contents`` holds the bytes
    already read (each file is hashed as it was parsed, never read a second time), the rest are read."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(display_path(path).encode())
        digest.update(b"\0")
        digest.update(contents[path] if contents is not None and path in contents else read_regular(path))
    return digest.hexdigest()


def load(data_dir: Path = DATA_DIR, overlays: Sequence[Path] = ()) -> Database:
    """Load every record under ``data_dir``, then apply ``overlays`` in order.

    Raises HwdbError listing every problem; on any problem nothing is returned, so a bad
    overlay changes nothing.
    """
    problems: list[Problem] = []
    contents: dict[Path, bytes] = {}
    sources_path = data_dir / SOURCES_FILE
    if not sources_path.exists():
        raise HwdbError([Problem(display_path(sources_path), "source registry not found")])
    raw_sources = _read_toml(sources_path, problems, contents)
    sources = _parse_sources(raw_sources or {}, display_path(sources_path), problems)
    record_paths = sorted(p for p in data_dir.rglob("*.toml") if p != sources_path)
    tables: list[tuple[dict[str, Any], str, str | None]] = []
    failed: set[str] = set()  # records refused already: those that name them get no second, false error
    for path in record_paths:
        data = _read_toml(path, problems, contents)
        if data is not None:
            tables.append((data, display_path(path), path.stem))
        else:
            failed.add(path.stem)  # a file that does not parse: its record, named by its file
    overrides: list[tuple[dict[str, Any], str]] = []
    for overlay_path in overlays:
        overlay = read_overlay(overlay_path, problems, contents)
        file = display_path(overlay_path)
        for sid in sorted(set(overlay.sources) & set(sources)):
            problems.append(Problem(file, f"source id already defined in {sources[sid].file}", sid))
        sources.update(_parse_sources(overlay.sources, file, problems))
        tables += [(table, file, None) for table in overlay.records]
        overrides += [(table, file) for table in overlay.overrides]
    if raw_sources is None:  # every record's source would be "not registered": report the registry alone
        raise HwdbError(problems)
    records: dict[str, Record] = {}
    for data, file, stem in tables:
        record = _build_record(data, file, sources, problems, stem)
        if record is None:
            failed.add(str(data.get("id", stem)))
            continue
        if record.id in records:
            problems.append(Problem(record.file, f"duplicate record id (also in {records[record.id].file})", record.id))
            continue
        records[record.id] = record
    for table, file in overrides:
        _apply_override(table, file, records, sources, problems, failed)
    problems += _cross_references(records, failed)
    if problems:
        raise HwdbError(problems)
    used = {f.source.id for r in records.values() for f in r.fields.values()}
    unused = sorted(set(sources) - used)
    if unused:
        raise HwdbError([Problem(sources[sid].file, "source is cited by no record", sid) for sid in unused])
    files = [sources_path, UNITS_FILE, *record_paths, *overlays]
    return Database(records, sources, fingerprint(files, contents))
