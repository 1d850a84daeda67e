"""Command line: python -m hwdb list | show ID | check | export --format json."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from . import Database, HwdbError, Record, derived, load_from
from .files import readable_anywhere, reader_gone
from .loader import DATA_DIR
from .overlay import add_overlay_argument, overlays_from_args


def _json_default(value: object) -> str:
    """TOML dates and times in meta tables become ISO strings."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


def record_json(db: Database, record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "name": record.name,
        "file": record.file,
        "meta": dict(record.meta),
        "fields": {
            name: {
                "value": float(f.quantity.magnitude),
                "unit": str(f.quantity.units),
                "value_si": f.si,
                "printed": {"value": f.printed_value, "unit": f.printed_unit},
                "convention": f.convention,
                "per_chips": f.per_chips,
                "low": None if f.low is None else float(f.low.magnitude),
                "high": None if f.high is None else float(f.high.magnitude),
                "note": f.note,
                "source": f.source.id,
            }
            for name, f in record.fields.items()
        },
        "derived": {
            d.name: {
                "value": float(d.quantity.magnitude),
                "unit": str(d.quantity.units),
                "value_si": float(d.quantity.to_base_units().magnitude),
                "description": d.description,
            }
            for d in derived.derived_figures(db, record)
        },
    }


def export(db: Database) -> dict[str, Any]:
    return {
        "fingerprint": db.fingerprint,
        "sources": {
            s.id: {
                "title": s.title,
                "publisher": s.publisher,
                "url": s.url,
                "retrieved": s.retrieved.isoformat(),
                "note": s.note,
            }
            for s in db.sources.values()
        },
        "records": [record_json(db, r) for r in sorted(db, key=lambda r: (r.kind, r.id))],
    }


def _version() -> str:
    """The book's release, which is the distribution's version: the file the package ships beside this one."""
    release = Path(__file__).resolve().parent.parent / "claims" / "RELEASE"
    try:
        return release.read_text(encoding="utf-8").strip()
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None, prog: str = "python -m hwdb") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    add_overlay_argument(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every record: id, kind, name")
    show = sub.add_parser("show", help="one record with its fields and sources")
    show.add_argument("id")
    sub.add_parser("check", help="validate every file; exit 1 with every problem listed")
    exp = sub.add_parser("export", help="every record as JSON")
    exp.add_argument("--format", choices=["json"], default="json")
    args = parser.parse_args(argv)
    readable_anywhere()
    try:
        db = load_from(DATA_DIR, overlays_from_args(args))
    except HwdbError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        status = _run(args, db)
        sys.stdout.flush()  # a full disk or /dev/full fails here, not in the interpreter's last flush
        return status
    except BrokenPipeError:
        return reader_gone()
    except OSError as exc:  # /dev/full, a full disk, a closed descriptor: one line, not a traceback
        reader_gone()  # what is still buffered goes nowhere, so exiting cannot fail again
        print(f"error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, db: Database) -> int:
    if args.command == "list":
        for r in sorted(db, key=lambda r: (r.kind, r.id)):
            print(f"{r.kind:12} {r.id:28} {r.name}")
    elif args.command == "show":
        if args.id not in db.records:
            print(f"error: no record '{args.id}' (try `python -m hwdb list`)", file=sys.stderr)
            return 2
        r = db[args.id]
        print(f"{r.id} ({r.kind}): {r.name}\n  file: {r.file}")
        for name, f in r.fields.items():
            conv = f" [{f.convention}]" if f.convention else ""
            per = f" [printed for {f.per_chips} chips]" if f.per_chips != 1 else ""
            print(
                f"  {name:24} {f.quantity:.4g~P}  "
                f"(printed {f.printed_value:g} {f.printed_unit}{conv}{per}; source {f.source.id})"
            )
        figures = derived.derived_figures(db, r)
        if figures:
            print("  Derived")
        for d in figures:
            print(f"  {d.name:32} {d.quantity.magnitude:,.6g} {d.quantity.units:~P}  ({d.description})")
    elif args.command == "check":
        print(f"ok: {len(db.records)} records, {len(db.sources)} sources, every number with a unit and a source")
    else:
        # Strict JSON: a NaN or an infinity is a bug to refuse, not a token to print; it is refused before
        # a byte is written (the loader's bounds keep every value and derived figure finite).
        try:
            text = json.dumps(export(db), indent=2, ensure_ascii=False, default=_json_default, allow_nan=False)
        except ValueError as exc:
            print(f"error: cannot export: {exc}", file=sys.stderr)
            return 2
        sys.stdout.write(text + "\n")
    return 0


def run() -> None:
    """The ``hwdb`` console script."""
    sys.exit(main(prog="hwdb"))


if __name__ == "__main__":
    sys.exit(main())
