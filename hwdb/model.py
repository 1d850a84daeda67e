"""The in-memory shape of the database: sources, fields, records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import pint

#: The file and source a what-if value (``--set``) is credited to: not hwdb, not the vendor.
WHAT_IF = "(what-if)"


@dataclass(frozen=True)
class Source:
    """Where numbers come from: one document, as retrieved on one day."""

    id: str
    title: str
    publisher: str
    url: str
    retrieved: dt.date
    note: str | None = None
    file: str = ""  # where the source is registered (the registry or an overlay)


@dataclass(frozen=True)
class Field:
    """One number of one record, normalised to the book's conventions.

    ``printed_value`` and ``printed_unit`` are what the source prints;
    ``quantity`` is the value the claims use: per chip (``per_chips`` is how many
    chips the printed figure covers), dense FLOP/s, per-direction bandwidth.
    """

    name: str
    quantity: pint.Quantity[Any]
    printed_value: float
    printed_unit: str
    source: Source
    convention: str | None = None
    per_chips: int = 1
    file: str = ""  # the file this value was read from (a record file or an overlay)
    note: str | None = None
    low: pint.Quantity[Any] | None = None
    high: pint.Quantity[Any] | None = None
    basis: tuple[Field, ...] = ()  # for a figure derived from other fields (hwdb.derived), those fields

    @cached_property
    def si(self) -> float:
        """The value in SI base units (bytes, seconds, FLOP, tokens, parameters, USD); kept once read."""
        return float(self.quantity.to_base_units().magnitude)


@dataclass(frozen=True)
class Record:
    """One accelerator, model, price sheet, number format or assumption."""

    id: str
    kind: str
    name: str
    file: str
    fields: Mapping[str, Field]
    meta: Mapping[str, object] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.fields

    def __getitem__(self, name: str) -> Field:
        try:
            return self.fields[name]
        except KeyError:
            raise KeyError(f"{self.file}: record '{self.id}' has no field '{name}'") from None


@dataclass(frozen=True)
class Database:
    """Every record and source, validated, plus a fingerprint of the files read."""

    records: Mapping[str, Record]
    sources: Mapping[str, Source]
    fingerprint: str

    def __getitem__(self, record_id: str) -> Record:
        try:
            return self.records[record_id]
        except KeyError:
            raise KeyError(f"hwdb has no record '{record_id}'") from None

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records.values())

    def of_kind(self, kind: str) -> list[Record]:
        return [r for r in self.records.values() if r.kind == kind]

    def with_value(self, record_id: str, field_name: str, quantity: pint.Quantity[Any], note: str) -> Database:
        """A copy with one field replaced (what-if evaluation); units must keep their dimension."""
        record = self[record_id]
        old = record[field_name]
        if quantity.dimensionality != old.quantity.dimensionality:
            raise ValueError(
                f"{record_id}.{field_name}: {quantity.units} has dimension {quantity.dimensionality}, "
                f"the field has {old.quantity.dimensionality}"
            )
        what_if = Source(WHAT_IF, "a value typed on the command line (--set)", "you", "", dt.date.today(), file=WHAT_IF)
        changed = replace(old, quantity=quantity.to(old.quantity.units), note=note, file=WHAT_IF, source=what_if)
        new_record = replace(record, fields={**record.fields, field_name: changed})
        return replace(self, records={**self.records, record_id: new_record})

    def users_of(self, source_id: str) -> list[tuple[Record, Field]]:
        """The record fields that cite a source."""
        return self.citations().get(source_id, [])

    def citations(self) -> dict[str, list[tuple[Record, Field]]]:
        """Every source's citing record fields, in record order, from one pass (for the sources page)."""
        found: dict[str, list[tuple[Record, Field]]] = {}
        for r in self:
            for f in r.fields.values():
                found.setdefault(f.source.id, []).append((r, f))
        return found
