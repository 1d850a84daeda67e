"""Sphinx directives that render hwdb itself: record tables, systems, overlay demo.

Every cell is read from a record (and links to its source) or derived from records by
:mod:`hwdb.derived`; nothing in these tables is typed into a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import groupby
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

import hwdb
from hwdb import derived
from hwdb.schema import FIELDS, KINDS

from . import formatting, lock
from .registry import all_claims, evaluate_all
from .sphinx import dependencies
from .sphinxnodes import build_state, paragraph_of, table_of

logger = logging.getLogger(__name__)

Cell: TypeAlias = "nodes.Node | str"


#: Every capacity is shown in one unit, GB (10^9 bytes), converted from the stored quantity;
#: a value the source printed in binary units (GiB, TiB) carries this mark and a note.
CAPACITY_UNIT = "GB"
BINARY_MARK = "†"
BINARY_NOTE = (
    f"{BINARY_MARK} printed by the source in binary units (1 GiB = 2^30 bytes); shown converted to GB (10^9 bytes)."
)


def _is_capacity(f: hwdb.Field) -> bool:
    """A memory size, shown in the table's one capacity unit (a few bytes of a block scale is not one)."""
    return bool(f.quantity.dimensionality == hwdb.ureg.byte.dimensionality) and f.quantity.to("B").magnitude >= 1e6


def _printed_binary(f: hwdb.Field) -> bool:
    return _is_capacity(f) and re.match(r"\s*[KMGTPE]i", f.printed_unit) is not None


def _field_cell(record: hwdb.Record, name: str) -> Cell:
    if not record.has(name):
        return "—"
    f = record[name]
    if _is_capacity(f):
        text = formatting.quantity(float(f.quantity.to(CAPACITY_UNIT).magnitude), CAPACITY_UNIT, 5)
        text += f" {BINARY_MARK}" if _printed_binary(f) else ""
    else:
        text = formatting.field_value(f)
    title = f"{f.source.title}; printed {f.printed_value:g} {f.printed_unit}"
    if f.convention:
        title += f" ({f.convention})"
    if f.per_chips != 1:
        title += f" for {f.per_chips} chips"
    cell = nodes.paragraph()
    cell += nodes.reference("", text, refuri=f.source.url, reftitle=title)
    return cell


#: Column headings short enough for a table that fits beside the page's navigation; the full meaning of each
#: is listed above the table (and in the heading's tooltip).
SHORT = {
    "bf16_flops": "BF16",
    "fp8_flops": "FP8",
    "fp4_flops": "FP4",
    "int8_flops": "INT8",
    "hbm_capacity": "HBM",
    "hbm_bandwidth": "HBM BW",
    "scaleup_bandwidth": "scale-up BW",
    "scaleout_bandwidth": "scale-out BW",
    "scaleup_domain": "domain",
    "gpu_dies": "dies",
    "power": "power",
}


def _heading(name: str) -> Cell:
    short = SHORT.get(name)
    if short is None:
        return FIELDS[name].description
    return nodes.abbreviation(short, short, explanation=FIELDS[name].description)


def _columns(names: list[str]) -> nodes.paragraph | None:
    """What the short headings stand for, said once above the tables."""
    shown = [n for n in names if n in SHORT]
    if not shown:
        return None
    text = "; ".join(f"{SHORT[n]}: {FIELDS[n].description}" for n in shown)
    return nodes.paragraph("", "Columns — " + text + ".", classes=["hwdb-note"])


def _quantity_cell(value: Any, unit: str) -> str:
    return "—" if value is None else formatting.quantity(float(value.to(unit).magnitude), unit)


DERIVED: dict[str, tuple[str, Callable[[hwdb.Database, hwdb.Record], str]]] = {
    "drain-time": ("capacity ÷ bandwidth", lambda db, r: _quantity_cell(derived.drain_time(r), _drain_unit(r))),
    "kv-bf16": (
        "KV per token at long context, BF16",
        lambda db, r: _quantity_cell(derived.kv_bytes_per_token(r, db["bf16"]), "KiB/token"),
    ),
    "kv-fp8": (
        "KV per token at long context, FP8",
        lambda db, r: _quantity_cell(derived.kv_bytes_per_token(r, db["fp8"]), "KiB/token"),
    ),
    "kv-fp8-flashmla": (
        "KV per token at long context, FP8 in FlashMLA's layout (latent caches)",
        lambda db, r: _quantity_cell(
            derived.kv_bytes_per_token(r, db["fp8-flashmla"]) if r.has("kv_lora_rank") else None, "KiB/token"
        ),
    ),
}


def _drain_unit(record: hwdb.Record) -> str:
    time = derived.drain_time(record)
    if time is None:
        return "s"
    seconds = float(time.to("s").magnitude)
    return "ms" if seconds < 1 else "s" if seconds < 120 else "min" if seconds < 7200 else "h"


class HwdbTableDirective(SphinxDirective):
    """``.. hwdb-table:: KIND`` with ``:fields:``, optional ``:group:`` and ``:derived:``."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {
        "fields": directives.unchanged_required,
        "group": directives.unchanged,
        "derived": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        db = build_state(self.env.app).db
        kind = self.arguments[0]
        if kind not in KINDS:
            logger.error(
                f"unknown record kind '{kind}' (known: {', '.join(sorted(KINDS))})", location=self.get_location()
            )
            return []
        names = self.options.get("fields", "").split()
        bad = [n for n in names if n not in FIELDS or n not in KINDS[kind].allowed]
        extra = self.options.get("derived", "").split()
        bad += [d for d in extra if d not in DERIVED]
        if bad:
            logger.error(f"hwdb-table {kind}: unknown field or derived column(s) {bad}", location=self.get_location())
            return []
        if db is None:
            return []
        group = self.options.get("group")
        records = sorted(
            db.of_kind(kind),
            key=lambda r: (str(r.meta.get(group, "")) if group else "", str(r.meta.get("year", "")), r.id),
        )
        headers: list[Cell] = ["record", *(_heading(n) for n in names), *(DERIVED[d][0] for d in extra)]
        out: list[nodes.Node] = []
        columns = _columns(names)
        if columns is not None:
            out.append(columns)
        for key, members in groupby(records, key=lambda r: str(r.meta.get(group, "")) if group else ""):
            rows: list[list[Cell]] = []
            for record in members:
                label = nodes.paragraph()
                label += nodes.strong("", record.name)
                label += nodes.Text(" ")
                label += nodes.literal("", record.id)
                rows.append(
                    [label, *(_field_cell(record, n) for n in names), *(DERIVED[d][1](db, record) for d in extra)]
                )
            if key:
                out.append(nodes.rubric("", key))
            out.append(table_of(headers, rows, ["hwdb-table"]))
        if any(r.has(n) and _printed_binary(r[n]) for r in records for n in names):
            out.append(nodes.paragraph("", BINARY_NOTE, classes=["hwdb-note"]))
        return out


class SystemsDirective(SphinxDirective):
    """``.. hwdb-systems::`` — each system's chip count and the aggregates derived from it."""

    def run(self) -> list[nodes.Node]:
        db = build_state(self.env.app).db
        if db is None:
            return []
        columns = [
            ("hbm_capacity", "TB", "HBM in total"),
            ("hbm_bandwidth", "TB/s", "HBM bandwidth in total"),
            ("scaleup_bandwidth", "TB/s", "scale-up bandwidth in total, per direction"),
            ("bf16_flops", "PFLOP/s", "dense BF16 in total"),
        ]
        rows: list[list[Cell]] = []
        for system in sorted(db.of_kind("system"), key=lambda r: (str(r.meta.get("year", "")), r.id)):
            totals = derived.system_totals(db, system)
            label = nodes.paragraph()
            label += nodes.strong("", system.name)
            label += nodes.Text(" ")
            label += nodes.literal("", system.id)
            rows.append(
                [
                    label,
                    paragraph_of(nodes.literal("", str(system.meta["accelerator"]))),  # a record ID, set as code
                    _field_cell(system, "chips"),
                    *(_quantity_cell(totals.get(name), unit) for name, unit, _ in columns),
                ]
            )
        headers = ["system", "accelerator", "chips", *(title for _, _, title in columns)]
        return [table_of(headers, rows, ["hwdb-systems"])]


class OverlayDemoDirective(SphinxDirective):
    """``.. overlay-demo:: PATH`` — every claim re-derived with an overlay, beside the book's value."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        dependencies.record(self.env, everything=True)  # it loads hwdb afresh, with the overlay on top
        state = build_state(self.env.app)
        path = (Path(self.env.srcdir) / self.arguments[0]).resolve()
        overlays = [p for p in hwdb.overlays_from_env() if p != path] + [path]
        try:
            db = hwdb.load_from(hwdb.DATA_DIR, overlays)
            with_overlay = evaluate_all(db)
        except hwdb.HwdbError as exc:
            logger.error(str(exc), location=self.get_location())
            return []
        self.env.note_dependency(str(path))
        new_ids = {r.id for r in db if r.file == hwdb.display_path(path)}
        rows: list[list[Cell]] = []
        for claim in all_claims():
            base, mine = state.evaluations.get(claim.id), with_overlay[claim.id]
            if base is None:
                continue
            new_rows = [r for r in mine.rows if r.record is not None and r.record.id in new_ids]
            rows.append(
                [
                    nodes.literal("", claim.id),
                    f"{formatting.claim_quantity(claim, base.value)} ({base.verdict.value})",
                    f"{formatting.claim_quantity(claim, mine.value)} ({mine.verdict.value})",
                    "; ".join(
                        f"{r.record.id}: {formatting.claim_quantity(claim, r.value)} "
                        f"({r.verdict.value if r.verdict else 'out of scope, not judged'})"
                        for r in new_rows
                        if r.record
                    )
                    or "—",
                ]
            )
        headers = ["claim", "in the book", "with the overlay", "rows of the overlay's own records"]
        caption = f"Re-derived with {hwdb.display_path(path)}; its lock is {hwdb.display_path(lock.lock_path([path]))}."
        demo = table_of(headers, rows, ["overlay-demo"])
        demo.insert(0, nodes.title("", caption))
        return [demo]
