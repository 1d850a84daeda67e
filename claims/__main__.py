"""Command line: python -m claims list | show ID | verify | export --format json | pin."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sympy as sp

import hwdb
from hwdb.overlay import add_overlay_argument, overlays_from_args

from . import citation, formatting, lock
from .engine import ClaimError, Evaluation, evaluate
from .export import dumps
from .registry import UnknownClaimError, all_claims, evaluate_all, get_claim


def _load(args: argparse.Namespace) -> hwdb.Database:
    return hwdb.load(overlays_from_args(args))


def _lock_path(args: argparse.Namespace) -> Path:
    return Path(args.lock).resolve() if args.lock else lock.lock_path(overlays_from_args(args))


def cmd_list(args: argparse.Namespace) -> int:
    db = _load(args)
    for claim in all_claims():
        e = evaluate(claim, db)
        print(f"{claim.id:34} {e.verdict.value:14} {formatting.claim_quantity(claim, e.value):>16}  {claim.title}")
    return 0


def _show(e: Evaluation) -> None:
    c = e.claim
    print(f"{c.id} — {c.title}\n")
    print(f"  {c.statement}\n  Lecture, section {c.section}: {c.stated.text}\n")
    print("  Derivation:")
    for step in e.derivation.steps:
        print(f"    {step.text}:\n      {sp.pretty(step.math, use_unicode=True).replace(chr(10), chr(10) + '      ')}")
    print("\n  Inputs (reference row):")
    for item in e.reference.inputs:
        print(
            f"    {item.symbol:12} {formatting.field_value(item.field):>18}  {item.key}"
            f"  [{item.record.file}; {item.field.source.title}]"
        )
    for const in c.constants:
        print(f"    {const.symbol!s:12} {const.value:>12g} {const.unit}  (constant: {const.why})")
    print(f"\n  Value:   {formatting.claim_quantity(c, e.value)}")
    print(f"  Stated:  {formatting.stated(e)} ({c.stated.wording})")
    print(f"  Verdict: {e.verdict.value}")
    if c.rows:
        print(f"\n  Rows ({c.rows.rule}: {c.rows.reference} is the reference):")
        for row in e.rows:
            assert row.record is not None
            mark = "" if row.counts else "  (outside scope)"
            print(f"    {row.record.id:16} {formatting.claim_quantity(c, row.value):>16}  {row.verdict.value}{mark}")
    for name, value in e.derivation.checks:
        print(f"  Check: {name} = {value:g}")
    print(f"\n  {formatting.finding(e)}\n  Book: {citation.url(e)}  (content version {citation.content_version(e)})")


def cmd_show(args: argparse.Namespace) -> int:
    _show(evaluate(get_claim(args.id), _load(args)))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    evaluations = evaluate_all(_load(args))
    path = _lock_path(args)
    drifts = lock.check(evaluations, lock.read(path))
    for drift in drifts:
        print(f"DRIFT {drift}", file=sys.stderr)
    matching = len(evaluations) - len({d.claim for d in drifts})
    print(f"{matching} claims match {hwdb.display_path(path)}, {len(drifts)} drifted")
    return 1 if drifts else 0


def cmd_export(args: argparse.Namespace) -> int:
    db = _load(args)
    sys.stdout.write(dumps(evaluate_all(db), db.fingerprint))
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    sys.stdout.write(citation.cite(evaluate(get_claim(args.id), _load(args)), args.format))
    return 0


def cmd_ids(args: argparse.Namespace) -> int:
    if args.register:
        added = citation.register_new(all_claims())
        print(f"registered {len(added)} new ID(s): {', '.join(added) or '-'}")
    problems = citation.registry_problems(all_claims(), citation.read_registry())
    for problem in problems:
        print(f"ID problem: {problem}", file=sys.stderr)
    registry = citation.read_registry()
    print(f"{len(registry.ids)} published IDs, {len(registry.aliases)} aliases, {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_pin(args: argparse.Namespace) -> int:
    evaluations = evaluate_all(_load(args))
    path = _lock_path(args)
    lock.write(evaluations, path)
    print(f"pinned {len(evaluations)} claims in {hwdb.display_path(path)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claims", description=__doc__)
    add_overlay_argument(parser)
    parser.add_argument("--lock", metavar="PATH", help="lock file to verify against or pin into")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every claim with its value and verdict").set_defaults(run=cmd_list)
    show = sub.add_parser("show", help="one claim: derivation, inputs, rows, verdict")
    show.add_argument("id")
    show.set_defaults(run=cmd_show)
    sub.add_parser("verify", help="compare every claim with the lock; exit 1 on drift").set_defaults(run=cmd_verify)
    export = sub.add_parser("export", help="every claim as JSON")
    export.add_argument("--format", choices=["json"], default="json")
    export.set_defaults(run=cmd_export)
    sub.add_parser("pin", help="rewrite the lock file from the current evaluation").set_defaults(run=cmd_pin)
    cite = sub.add_parser("cite", help="a citation of one claim, pinned to its content version")
    cite.add_argument("id")
    cite.add_argument("--format", choices=citation.FORMATS, default="md")
    cite.set_defaults(run=cmd_cite)
    ids = sub.add_parser("ids", help="check the registry of published IDs (claims/ids.toml)")
    ids.add_argument("--register", action="store_true", help="add claims that are not yet registered")
    ids.set_defaults(run=cmd_ids)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (hwdb.HwdbError, ClaimError, UnknownClaimError, lock.LockError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
