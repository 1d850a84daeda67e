"""Mutation testing of the drift guard: ``python -m claims.mutate`` (``nox -s mutate``).

For every hwdb number that some claim uses, write a copy of the data with that one
value raised by 10 %, load it through the real loader, evaluate every claim and
compare with the lock. The mutant is *killed* when verification fails with a message
naming that input. A surviving mutant means a claim is not really wired to an input it
lists; it must be fixed, or explained in SURVIVORS.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import hwdb
from hwdb.files import write_atomic

from . import lock
from .registry import evaluate_all

FACTOR = 1.1
#: Inputs whose mutants are expected to survive, with the reason. Empty: every used input must be killed.
SURVIVORS: dict[str, str] = {}


@dataclass(frozen=True)
class Mutant:
    key: str
    file: str
    killed: bool
    claims: list[str]


def _perturb(text: str, field: str, factor: float) -> str:
    """Multiply the ``value`` of table [fields.FIELD] in a record file's text."""
    table = re.search(rf"^\[fields\.{re.escape(field)}\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    if table is None:
        raise ValueError(f"no [fields.{field}] table")
    body = table.group(1)
    value = re.search(r"^value\s*=\s*([-+0-9.eE_]+)\s*$", body, re.M)
    if value is None:
        raise ValueError(f"[fields.{field}] has no numeric value line")
    new = float(value.group(1).replace("_", "")) * factor
    start = table.start(1) + value.start(1)
    end = table.start(1) + value.end(1)
    return text[:start] + repr(new) + text[end:]


def run(factor: float = FACTOR) -> list[Mutant]:
    db = hwdb.load([])
    pinned = lock.read(lock.LOCK_FILE)
    # A derived input (Field.basis) is mutated through the record fields it is computed from.
    used = {
        (i.record.id, i.field.name): i.field.file
        for e in evaluate_all(db).values()
        for i in e.inputs()
        if not i.field.basis
    }
    mutants = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(hwdb.DATA_DIR, data)
        for (record_id, field), file in sorted(used.items()):
            path = data / Path(file).relative_to("hwdb/data")
            original = path.read_text(encoding="utf-8")
            path.write_text(_perturb(original, field, factor), encoding="utf-8")
            key = f"{record_id}.{field}"
            try:
                drifts = lock.check(evaluate_all(hwdb.load_from(data)), pinned)
            except hwdb.HwdbError as exc:
                # e.g. an assumption pushed outside its stated range: the loader refuses it,
                # which kills the mutant if the error names the record and the field.
                named_here = f"record '{record_id}'" in str(exc) and f"field '{field}'" in str(exc)
                mutants.append(Mutant(key, file, named_here, ["(refused by the hwdb loader)"]))
                continue
            finally:
                path.write_text(original, encoding="utf-8")
            named = [d.claim for d in drifts if f"{key} moved" in d.message]
            mutants.append(Mutant(key, file, bool(named) and len(named) == len(drifts), named))
    return mutants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claims.mutate", description=__doc__)
    parser.add_argument("--factor", type=float, default=FACTOR, help="multiplier applied to each input (default 1.1)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    mutants = run(args.factor)
    killed = [m for m in mutants if m.killed]
    for m in mutants:
        status = "killed " if m.killed else "SURVIVED"
        print(f"{status} {m.key:48} {', '.join(m.claims) or '-'}")
    rate = 100 * len(killed) / len(mutants) if mutants else 100.0
    elapsed = time.perf_counter() - started
    print(f"\nkill rate: {len(killed)}/{len(mutants)} used inputs ({rate:.1f} %) in {elapsed:.1f} s")
    survivors = [m for m in mutants if not m.killed]
    unexplained = [m for m in survivors if m.key not in SURVIVORS]
    for m in survivors:
        print(
            f"survivor {m.key}: {SURVIVORS.get(m.key, 'NOT EXPLAINED: a claim lists this input but does not use it')}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(
            args.json,
            json.dumps({"factor": args.factor, "kill_rate": rate, "mutants": [asdict(m) for m in mutants]}, indent=2),
        )
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
