"""Write measured figures as an hwdb overlay: one source, one ``measurement`` record.

The measuring machine has Python and PyTorch but none of this project's
dependencies, so the TOML is written here by hand (standard library only) and read
back with ``tomllib`` before it is saved: a file that would not parse, or would parse
to something else, is never written. The layout follows hwdb/overlay.py and the
fields follow the ``measurement`` kind of hwdb/schema.py; hwdb's loader validates
units, values and the named accelerator when the overlay is used.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hwdb.files import write_atomic

from . import SCRIPT_VERSION

#: The loader's id rule (hwdb/loader.py ID_PATTERN), repeated so this file needs no hwdb import.
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
DEFAULT_SOURCE_URL = "measure/roofline.py"

MetaValue = str | int


@dataclass(frozen=True)
class FieldValue:
    """One measured figure as it is printed: value in ``unit``, with a note stating its spread."""

    value: float
    unit: str
    note: str = ""


@dataclass(frozen=True)
class Measurement:
    """Everything one run writes: which device, when, what was measured, in what conditions."""

    accelerator: str  # the datasheet record's id in hwdb, e.g. "h100-sxm"
    device: str  # what the runtime calls the device, e.g. "NVIDIA H100 80GB HBM3"
    date: dt.date
    fields: Mapping[str, FieldValue]
    meta: Mapping[str, MetaValue] = field(default_factory=dict)
    source_note: str = ""
    source_url: str = DEFAULT_SOURCE_URL
    script_version: str = SCRIPT_VERSION

    @property
    def source_id(self) -> str:
        return f"measured-{self.accelerator}-{self.date.isoformat()}"

    @property
    def record_id(self) -> str:
        return f"{self.accelerator}-measured"


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    """A bare key where TOML allows one, else a quoted key."""
    return key if BARE_KEY.match(key) else toml_string(key)


def toml_number(value: float) -> str:
    """A TOML float or integer; NaN and infinities are refused (hwdb would reject them anyway)."""
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _toml_value(value: MetaValue) -> str:
    return toml_number(value) if isinstance(value, int) else toml_string(value)


def _check(measurement: Measurement) -> None:
    """Refuse what hwdb would refuse, early and on the measuring machine, where it can still be fixed."""
    for name in (measurement.accelerator, measurement.source_id, measurement.record_id):
        if not ID_PATTERN.match(name):
            raise ValueError(f"{name!r} is not a lowercase slug such as 'h100-sxm'")
    if not measurement.fields:
        raise ValueError("nothing was measured")
    for name, value in measurement.fields.items():
        if not BARE_KEY.match(name):
            raise ValueError(f"field name {name!r} is not a plain identifier")
        if not math.isfinite(value.value) or value.value <= 0:
            raise ValueError(f"field {name}: value must be positive and finite, got {value.value!r}")
        if not value.unit.strip():
            raise ValueError(f"field {name}: missing unit")


def render(measurement: Measurement) -> str:
    """The overlay text: a [sources.*] table and one [[record]] of kind "measurement"."""
    _check(measurement)
    m = measurement
    lines = [
        f"# Measured by measure/roofline.py v{m.script_version} on {m.date.isoformat()}; an hwdb overlay:",
        f"#   python -m hwdb --hwdb-overlay {m.accelerator}-measured.toml show {m.record_id}",
        "",
        f"[sources.{m.source_id}]",
        f"title = {toml_string(f'Roofline measurement of {m.device} with measure/roofline.py v{m.script_version}')}",
        f"publisher = {toml_string('this project (measure/roofline.py)')}",
        f"url = {toml_string(m.source_url)}",
        f"retrieved = {m.date.isoformat()}",
    ]
    if m.source_note:
        lines.append(f"note = {toml_string(m.source_note)}")
    lines += [
        "",
        "[[record]]",
        f"id = {toml_string(m.record_id)}",
        'kind = "measurement"',
        f"name = {toml_string(f'{m.device}, measured')}",
        f"source = {toml_string(m.source_id)}",
        "",
        "[record.meta]",
        f"accelerator = {toml_string(m.accelerator)}",
    ]
    lines += [f"{toml_key(k)} = {_toml_value(v)}" for k, v in m.meta.items() if k != "accelerator"]
    for name, value in m.fields.items():
        lines += [
            "",
            f"[record.fields.{name}]",
            f"value = {toml_number(value.value)}",
            f"unit = {toml_string(value.unit)}",
        ]
        if value.note:
            lines.append(f"note = {toml_string(value.note)}")
    return "\n".join(lines) + "\n"


def expected_document(measurement: Measurement) -> dict[str, object]:
    """What ``render``'s text must parse to: the check that the hand-written TOML is right."""
    m = measurement
    source: dict[str, object] = {
        "title": f"Roofline measurement of {m.device} with measure/roofline.py v{m.script_version}",
        "publisher": "this project (measure/roofline.py)",
        "url": m.source_url,
        "retrieved": m.date,
    }
    if m.source_note:
        source["note"] = m.source_note
    fields: dict[str, object] = {}
    for name, value in m.fields.items():
        entry: dict[str, object] = {"value": float(value.value), "unit": value.unit}
        if value.note:
            entry["note"] = value.note
        fields[name] = entry
    record = {
        "id": m.record_id,
        "kind": "measurement",
        "name": f"{m.device}, measured",
        "source": m.source_id,
        "meta": {"accelerator": m.accelerator, **{k: v for k, v in m.meta.items() if k != "accelerator"}},
        "fields": fields,
    }
    return {"sources": {m.source_id: source}, "record": [record]}


def write(measurement: Measurement, path: Path) -> str:
    """Render, parse back, compare with what was meant, then save; returns the text."""
    text = render(measurement)
    if tomllib.loads(text) != expected_document(measurement):
        raise AssertionError("the rendered overlay does not parse back to the measurement (a bug in records.py)")
    write_atomic(path, text)
    return text
