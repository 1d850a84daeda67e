"""Command line: python -m claims list | show ID | verify | statements | export --format json | pin."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import NoReturn

import hwdb
from hwdb.files import readable_anywhere, reader_gone, write_together
from hwdb.overlay import add_overlay_argument, overlays_from_args

from . import citation, formatting, lock, scenario
from .citable import BookError
from .engine import ClaimError, Evaluation, evaluate
from .registry import UnknownClaimError, all_claims, evaluate_all, get_claim

#: A claims.json (path or URL) for check-refs to check against, when --claims is not given.
CLAIMS_JSON_ENV = "CLAIMS_JSON"

# Modules only some commands need are imported by those commands: ``verify`` is the one a CI job
# runs on every change, and it starts no faster than its imports.


def _load(args: argparse.Namespace) -> hwdb.Database:
    return hwdb.load(overlays_from_args(args))


def _lock_path(args: argparse.Namespace) -> Path:
    return Path(args.lock).resolve() if args.lock else lock.lock_path(overlays_from_args(args))


def cmd_list(args: argparse.Namespace) -> int:
    db = _load(args)
    for claim in all_claims():
        e = evaluate(claim, db)
        firm = formatting.margin(e)
        print(
            f"{claim.id:34} {e.verdict.value:18} {e.evidence:18} {formatting.judged(e):>16}  {firm:>16}  {claim.title}"
        )
    return 0


def _show(e: Evaluation, overlaid: bool = False) -> None:
    import sympy as sp

    from hwdb.model import WHAT_IF

    from .policy import EVIDENCE, RULES
    from .sensitivity import analyse

    c = e.claim
    print(f"{c.id} — {c.title}\n")
    print(f"  {c.statement}\n  Lecture, section {c.section}: {c.stated.text}\n")
    print("  Derivation:")
    for step in e.derivation.steps:
        print(f"    {step.text}:\n      {sp.pretty(step.math, use_unicode=True).replace(chr(10), chr(10) + '      ')}")
    values = {sp.Symbol(i.symbol, positive=True): i for i in e.reference.inputs}
    shown = {
        s: sp.Symbol(f"({formatting.field_value(values[s].field)})")
        for s in e.derivation.result.free_symbols
        if s in values
    }
    shown |= {c.symbol: sp.Symbol(f"({formatting.number(c.value)} {formatting.unit(c.unit)})") for c in c.constants}
    if shown:
        pretty = sp.pretty(e.derivation.result.subs(shown), use_unicode=True).replace(chr(10), chr(10) + "      ")
        print(f"    With the numbers of the reference row:\n      {pretty}")
    print("\n  Inputs (reference row):")
    for item in e.reference.inputs:
        print(
            f"    {item.symbol:12} {formatting.field_value(item.field):>18}  {item.key}"
            f"  [{item.field.file}; {item.field.source.title}]"
        )
    for const in c.constants:
        print(f"    {const.symbol!s:12} {const.value:>12g} {const.unit}  (constant: {const.why})")
    print(f"\n  Value:    {formatting.claim_quantity(c, e.value)}" + (" (reference row)" if c.rows else ""))
    marker = f", marker '{c.stated.marker}'" if c.stated.marker else ""
    print(f"  Stated:   {formatting.stated(e)} (wording {c.stated.wording}{marker}; bands {formatting.bands(e)})")
    if c.stated.why:
        print(f"            Reading: {c.stated.why}")
    lowered = f"; declared {c.evidence}, lowered to its weakest input" if e.evidence != c.evidence else ""
    print(f"  Evidence: {e.evidence} ({EVIDENCE[e.evidence]}{lowered})")
    print(f"  Judged:   {formatting.judged(e)}")
    print(f"  Verdict:  {e.verdict.value}" + (" (marginal)" if e.marginal else ""))
    print(
        f"  Margin:   {formatting.margin(e, flag=False)}" + (f"; marginal: {e.marginal_why}" if e.marginal_why else "")
    )
    own = formatting.own_arithmetic(e)
    if own:
        print(f"  Lecture:  {own}")
    if c.rows:
        print(f"\n  Rows ({RULES[c.rows.rule]}; {c.rows.reference} is the reference):")
        for row in e.rows:
            assert row.record is not None
            mark = row.verdict.value if row.verdict else "context (outside scope, not judged)"
            vote = f"  [{c.rows.voter}: {c.rows.voter_of(row.record)}]" if c.rows.voter and row.counts else ""
            print(f"    {row.record.id:16} {formatting.claim_quantity(c, row.value):>16}  {mark}{vote}")
    for name, value in e.derivation.checks:
        print(f"  Check: {name} = {formatting.number(value)}")
    for a in analyse(e):
        flip = (
            "no flip within ×/÷1,000" if e.population is None and e.evidence != "none" else "(verdict not on this row)"
        )
        if a.flip_factor is not None and a.flips_to is not None:
            flip = f"{formatting.factor(a.flip_factor)} flips it to '{a.flips_to.value}'"
        print(f"  Elasticity to {a.input.key}: {formatting.number(a.elasticity)}; {flip}")
    what_if = [i.key for i in e.inputs() if i.field.file == WHAT_IF]
    if overlaid:  # the reader's own data: a content version the book never published
        print(
            f"\n  {formatting.finding(e)}\n  Overlay: computed with your hwdb overlay(s); not the book's, not citable."
        )
        return
    if what_if:  # a typed value is not the book's: no source to credit, no version to cite
        print(f"\n  {formatting.finding(e)}\n  What-if: {', '.join(what_if)} set on the command line; not citable.")
        return
    address = (
        citation.url(e) or f"{citation.permalink(c.id)} (in the book; $CLAIMS_BASE_URL gives the published address)"
    )
    print(f"\n  {formatting.finding(e)}\n  Book: {address}\n  Cite: claim:{c.id}@{citation.pin(e)}")


def _what_if(db: hwdb.Database, assignments: list[str]) -> hwdb.Database:
    """Apply --set RECORD.FIELD=VALUE (a value with a unit, or a bare number in the field's unit)."""
    return scenario.what_if(db, assignments)


def cmd_show(args: argparse.Namespace) -> int:
    claim = get_claim(args.id)
    db = _load(args)
    if args.hw:
        if claim.rows is None:
            raise ValueError(f"claim {claim.id} is not evaluated per hardware; --hw does not apply")
        claim = scenario.with_reference(claim, args.hw)
    _private_numbers(args)
    _show(evaluate(claim, _what_if(db, args.set)), overlaid=bool(overlays_from_args(args)))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    evaluations = evaluate_all(_load(args))
    path = _lock_path(args)
    drifts = lock.check(evaluations, lock.read(path))
    for drift in drifts:
        print(f"DRIFT {drift}", file=sys.stderr)
    matching = len(evaluations) - len({d.claim for d in drifts})
    print(f"{matching} claims match {hwdb.display_path(path)}, {len(drifts)} drifted")
    moved = _verify_published(args, path)
    return 1 if drifts or moved else 0


def _verify_published(args: argparse.Namespace, path: Path) -> int:
    """The step model against published benchmarks, pinned beside the book's own lock (not an overlay's)."""
    if path != lock.LOCK_FILE:
        return 0
    from . import published

    comparisons = published.compare_all(_load(args))
    moved = published.drift(comparisons, published.read())
    for line in moved:
        print(f"DRIFT published {line}", file=sys.stderr)
    print(
        f"{len(comparisons) - len(moved)} published comparisons match {hwdb.display_path(published.LOCK_FILE)}, "
        f"{len(moved)} drifted"
    )
    return len(moved)


def cmd_published(args: argparse.Namespace) -> int:
    """The step model beside every published decode benchmark in hwdb."""
    from . import published

    _private_numbers(args)
    comparisons = published.compare_all(_load(args))
    print(published.table(comparisons))
    print(
        f"ratio: the model's time per token over the published one; {published.LOW:g} to {published.HIGH:g} is "
        "within the bound (the model is a roofline: a deployment may be slower, not faster)"
    )
    return 0


def cmd_statements(args: argparse.Namespace) -> int:
    from . import statements

    table = statements.load()
    for s in table:
        print(f"{s.number:>3}  {', '.join(s.claims) or '(no claim)'}")
        if s.unchecked:
            print(f"     left unchecked: {s.unchecked}")
    with_claims = sum(1 for s in table if s.claims)
    print(f"{with_claims} of {len(table)} statements have claims; {len(all_claims())} claims answer to them")
    return 0


def _private_numbers(args: argparse.Namespace) -> None:
    """Under an overlay the numbers are the reader's own: say so before quoting them as the book's."""
    overlays = overlays_from_args(args)
    if overlays:
        names = ", ".join(hwdb.display_path(p) for p in overlays)
        print(
            f"note: computed with hwdb overlay(s) {names}; these are not the published book's numbers", file=sys.stderr
        )


def cmd_export(args: argparse.Namespace) -> int:
    from .export import dumps

    _private_numbers(args)
    db = _load(args)
    sys.stdout.write(dumps(evaluate_all(db), db.fingerprint, overlays_from_args(args)))
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    _private_numbers(args)
    claim = get_claim(args.id)
    if claim.id != args.id:
        print(f"note: '{args.id}' is a deprecated ID of '{claim.id}'; this citation uses the new one", file=sys.stderr)
    evaluation = evaluate(claim, _load(args))
    from .release import base_url

    if not base_url():
        print(
            "note: the book's address is not set ($CLAIMS_BASE_URL), so this citation carries no link", file=sys.stderr
        )
    sys.stdout.write(citation.cite(evaluation, args.format))
    return 0


def _citation_source(args: argparse.Namespace) -> tuple[str | None, str]:
    """Which claims.json citations are checked against, and why: --claims, then $CLAIMS_JSON, then
    ``[tool.claims] json`` in the current folder's pyproject.toml; None means this installation's own."""
    import os
    import tomllib

    if args.claims:
        return args.claims, "--claims"
    if os.environ.get(CLAIMS_JSON_ENV, "").strip():
        return os.environ[CLAIMS_JSON_ENV].strip(), f"${CLAIMS_JSON_ENV}"
    pyproject = Path("pyproject.toml")
    if pyproject.is_file():
        try:
            configured = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("claims", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{pyproject.resolve()}: cannot read [tool.claims] ({exc})") from None
        if isinstance(configured, dict) and isinstance(configured.get("json"), str):
            return configured["json"], "[tool.claims] json in pyproject.toml"
    return None, "this installation"


def cmd_check_refs(args: argparse.Namespace) -> int:
    """Citations in design docs: unknown, renamed, withdrawn or stale ones, with file, line and column.

    Exit 1 on any finding, 2 when a file, a folder or the claims.json cannot be read."""
    import json

    from . import citable, refs

    where, why = _citation_source(args)
    if where is not None:
        book = citable.load(where)
    else:
        from .export import document
        from .release import VERSION

        db = _load(args)
        book = refs.Book.from_export(
            document(evaluate_all(db), db.fingerprint), f"this installation (release {VERSION})"
        )
        print(
            f"note: checking against this installation's claims (release {VERSION}); to check against the "
            f"published book, pass --claims URL, set ${CLAIMS_JSON_ENV}, or set [tool.claims] json in pyproject.toml",
            file=sys.stderr,
        )
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise ValueError(f"no such file or folder: {', '.join(missing)}")
    scan = refs.scan_paths(book, paths, args.exclude)
    for note in scan.notes:
        print(f"note: {note}", file=sys.stderr)
    status = 2 if scan.unreadable else 1 if scan.findings else 0
    if args.format == "json":
        report = {
            "checked_against": book.source,
            "release": book.release,
            "files": scan.files,
            "findings": [f.as_json() for f in scan.findings],
            "unreadable": scan.unreadable,
            "status": status,
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for finding in scan.findings:
            print(finding)
        for problem in scan.unreadable:
            print(f"error: {problem}", file=sys.stderr)
    print(
        f"{len(scan.findings)} citation problem(s) in {scan.files} file(s)"
        + (f", {len(scan.unreadable)} unreadable" if scan.unreadable else "")
        + f", checked against {book.source} ({why})",
        file=sys.stderr,
    )
    return status


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
    """Rewrite the lock; for the book's own lock, also the published benchmarks' lock, the release history
    and claims/RELEASE. All of them are written together (:func:`hwdb.files.write_together`): a failure
    while writing leaves the old set whole, and a set found disagreeing (RELEASE behind the history) is
    repaired."""
    from . import history

    evaluations = evaluate_all(_load(args))
    path = _lock_path(args)
    files: dict[Path, str] = {path: lock.render(evaluations)}
    said = [f"pinned {len(evaluations)} claims in {hwdb.display_path(path)}"]
    if path == lock.LOCK_FILE:  # the book's own numbers: the published benchmarks and the release follow them
        from . import published

        comparisons = published.compare_all(_load(args))
        files[published.LOCK_FILE] = published.render(comparisons)
        said.append(f"pinned {len(comparisons)} published comparisons in {hwdb.display_path(published.LOCK_FILE)}")
        prepared = history.prepare(evaluations)
        if prepared is not None:
            number, text = prepared
            files |= {history.HISTORY_FILE: text, history.RELEASE_FILE: number + "\n"}
            said.append(f"release {number} recorded in {hwdb.display_path(history.HISTORY_FILE)}")
        else:
            latest = history.latest()
            if history.release_file_problem():
                files[history.RELEASE_FILE] = latest.number + "\n"
                said.append(f"release {latest.number} unchanged; {hwdb.display_path(history.RELEASE_FILE)} repaired")
            else:
                said.append(f"release {latest.number} unchanged")
    write_together(files)
    print("\n".join(said))
    return 0


def cmd_step(args: argparse.Namespace) -> int:
    """One decode step (or a sweep) of a model on chips, from the step model; --json for one object per step."""
    import json

    from . import deployment as step

    _private_numbers(args)
    batch: object = args.batch
    context: object = args.context
    if args.sweep:
        name, values = step.parse_sweep(args.sweep)
        if name == "batch":
            batch = values
        else:
            context = values
    result = step.step(
        args.model,
        args.hw,
        args.chips,
        batch,
        context,
        weights=args.weights,
        kv=args.kv,
        math=args.math,
        attention_math=args.attention_math,
        layout=args.layout,
        overlap=args.overlap,
        reserve=args.reserve,
        db=_load(args),
    )
    if args.json:
        rows = result.rows()
        document = {**result.describe(), **(rows[0] if not args.sweep else {"steps": rows})}
        print(json.dumps(document, indent=2, allow_nan=False))
    else:
        d = result.deployment
        print(
            f"{d.model.name} on {d.chips} x {d.chip.name}: weights {d.formats['weights']}, KV {d.formats['kv']}, "
            f"math {d.formats['math']} (attention {d.formats['attention_math']}); {d.layout}, {d.overlap}"
        )
        print(result.table())
        print(
            "memory and capacity are per chip; B*: the batch at which all compute equals all memory traffic "
            "(none: no balance at this context)"
        )
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _add_step(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .stepmodel import LAYOUTS, OVERLAPS

    p = sub.add_parser("step", help="one decode step of a model on chips: time by part, bound, memory fit")
    p.add_argument("--model", required=True, help="a model record, e.g. llama-3.1-70b")
    p.add_argument("--hw", required=True, help="an accelerator (h100-sxm) or a system (hgx-h100, gb200-nvl72)")
    p.add_argument("--chips", type=_positive_int, help="chips in the deployment (default: 1, or the system's)")
    p.add_argument("--batch", type=_number, default=1, help="sequences decoded together (default 1)")
    p.add_argument("--context", type=_number, default=0, help="tokens of context per sequence (default 0)")
    p.add_argument("--weights", default="bf16", help="number format of the weights (a datatype record)")
    p.add_argument("--kv", default="bf16", help="number format or layout of the KV cache (a datatype record)")
    p.add_argument("--math", default="bf16", help="arithmetic format of the weights' matrix multiplies")
    p.add_argument("--attention-math", help="arithmetic format of attention (default: --math)")
    p.add_argument("--layout", choices=sorted(LAYOUTS), help="parallel layout (default: ep for MoE, tp for dense)")
    p.add_argument("--overlap", choices=list(OVERLAPS), default="per-class", help="how the step's work overlaps")
    p.add_argument("--reserve", type=_number, help="share of HBM kept free (default: hwdb's serving-memory-reserve)")
    p.add_argument("--sweep", metavar="NAME=V1,V2,...", help="batch=1,8,64 or context=1024,8192: a table")
    p.add_argument("--json", action="store_true", help="print JSON: the step's parts and its inputs with sources")
    p.set_defaults(run=cmd_step)


class _VersionAction(argparse.Action):
    """--version: the book's release and its date, read only when asked (the history may be damaged)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from .history import latest

        try:
            last = latest()
        except ValueError as exc:  # HistoryError: one line, as every other command's
            parser.exit(2, f"error: {exc}\n")
        print(f"{parser.prog} {last.number} ({last.date})")  # on stdout, as argparse's own version action
        parser.exit(0)


def main(argv: list[str] | None = None, prog: str = "python -m claims") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    add_overlay_argument(parser)
    parser.add_argument("--lock", metavar="PATH", help="lock file to verify against or pin into")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error instead of one line")
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="print the book's release and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every claim with its value and verdict").set_defaults(run=cmd_list)
    show = sub.add_parser("show", help="one claim: derivation, inputs, rows, verdict, sensitivity")
    show.add_argument("id")
    show.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="RECORD.FIELD=VALUE",
        help="what-if: replace one hwdb value, e.g. --set 'h100-sxm.hbm_bandwidth=4 TB/s' (repeatable)",
    )
    show.add_argument("--hw", metavar="RECORD", help="what-if: use this record as the reference row")
    show.set_defaults(run=cmd_show)
    sub.add_parser("verify", help="compare every claim with the lock; exit 1 on drift").set_defaults(run=cmd_verify)
    sub.add_parser("statements", help="the lecture's statements and the claims that check each").set_defaults(
        run=cmd_statements
    )
    export = sub.add_parser("export", help="every claim as JSON")
    export.add_argument("--format", choices=["json"], default="json")
    export.set_defaults(run=cmd_export)
    sub.add_parser("pin", help="rewrite the lock file from the current evaluation").set_defaults(run=cmd_pin)
    cite = sub.add_parser("cite", help="a citation of one claim, pinned to its content version")
    cite.add_argument("id")
    cite.add_argument("--format", choices=citation.FORMATS, default="md")
    cite.set_defaults(run=cmd_cite)
    check = sub.add_parser(
        "check-refs",
        help="check claim citations (claim:ID[@PIN], links to c/ID.html, Sphinx roles) in documents",
        description="Finds claim:ID[@PIN], links to …/c/ID.html and the {claim}/:claim: roles in Markdown, reST, "
        "text, HTML and LaTeX files (folders are searched; build, VCS and environment folders are skipped). A "
        "line containing 'claims: ignore' is skipped. Exit 1 on any finding, 2 when something cannot be read.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to scan")
    check.add_argument(
        "--claims",
        metavar="PATH|URL",
        help=f"the claims.json to check against (default: ${CLAIMS_JSON_ENV}, then [tool.claims] json in "
        "pyproject.toml, then this installation's own claims)",
    )
    check.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip files or folders matching GLOB (repeatable)",
    )
    check.add_argument("--format", choices=["text", "json"], default="text", help="findings as lines or as JSON")
    check.set_defaults(run=cmd_check_refs)
    ids = sub.add_parser("ids", help="check the registry of published IDs (claims/ids.toml)")
    ids.add_argument("--register", action="store_true", help="add claims that are not yet registered")
    ids.set_defaults(run=cmd_ids)
    _add_step(sub)
    sub.add_parser("published", help="the step model beside published decode benchmarks").set_defaults(
        run=cmd_published
    )
    args = parser.parse_args(argv)
    readable_anywhere()
    try:
        status = int(args.run(args))
        _flush_output()
        return status
    except BrokenPipeError:
        return reader_gone()
    except (
        hwdb.HwdbError,
        ClaimError,
        UnknownClaimError,
        lock.LockError,
        BookError,
        ValueError,
        OSError,
    ) as exc:  # HistoryError is a ValueError
        if args.debug:
            raise
        if isinstance(exc, OSError) and exc.filename:
            print(f"error: cannot read or write {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        elif isinstance(exc, OSError):  # writing the standard output (a full disk, a closed device)
            print(f"error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2


def _flush_output() -> None:
    """Write out what the command printed, so a full disk or device is this command's error, not a traceback
    at interpreter exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, "standard output") from None


def _exit(status: int) -> NoReturn:
    """Exit without the interpreter's last collections walking all the run built (SymPy, the claims, the
    evaluations): freezing them first took about 0.15 s off each ``verify`` on the 2-core machine. Nothing
    is lost: every command has finished and written what it writes before this."""
    gc.freeze()
    sys.exit(status)


def run() -> NoReturn:
    """The ``claims`` console script."""
    _exit(main(prog="claims"))


if __name__ == "__main__":
    _exit(main())
