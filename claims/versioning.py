"""The two versions a citation pins: the book's release number and the claim's content version.

The release history (:mod:`claims.history`), the ID registry (:mod:`claims.id_registry`) and the citation
formats (:mod:`claims.citation`) all read them, so they live below all three. Importing this module loads
no engine library (the content version imports what it needs when it is computed): ``claims.refs`` reads
the history without SymPy, NumPy or pint.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sympy as sp

    from .engine import Evaluation


def parse_number(text: str) -> tuple[int, int, int] | None:
    """A release number X.Y.Z as three integers, or None if ``text`` is not one."""
    if not isinstance(text, str):
        return None
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def bump(number: str, patch: bool) -> str:
    """The release after ``number``: the next patch, or the next minor release."""
    major, minor, micro = parse_number(number) or (0, 0, 0)
    return f"{major}.{minor}.{micro + 1}" if patch else f"{major}.{minor + 1}.0"


def content_version(evaluation: Evaluation) -> str:
    """A short hash of what a reader cites: statement, lecture figure and tolerance, derivation, inputs,
    value, verdict, rows.

    Numbers enter as the lock pins them (12 significant digits), so a change in the last bits of a float
    (the order of unit conversions, a platform's libm) does not make a new version. The ID is not in it:
    renaming a claim (its old ID kept as an alias) does not move the version of what it says.
    """
    from .lock import pinned_text  # the lock reads the engine: imported here, where an evaluation exists
    from .policy import verdict_text

    d = evaluation.derivation
    stated = evaluation.claim.stated
    body = {
        "statement": evaluation.claim.statement,
        "tolerance": [stated.text, stated.low, stated.high, [list(b) if b else None for b in stated.bands()]],
        "steps": [_srepr(s.math) for s in d.steps],
        "result": _srepr(d.result),
        "inputs": sorted((i.key, pinned_text(i.field.si)) for i in evaluation.inputs()),
        "constants": sorted((str(c.symbol), c.value, c.unit) for c in evaluation.claim.constants),
        "stated": [evaluation.claim.stated.value, evaluation.claim.stated.wording],
        "value": pinned_text(evaluation.value),
        "unit": evaluation.claim.unit,
        "verdict": evaluation.verdict.value,
        "rows": sorted(
            (r.record.id, pinned_text(r.value), verdict_text(r.verdict)) for r in evaluation.rows if r.record
        ),
        "sensitivity": [(s.input.key, pinned_text(s.low), pinned_text(s.high)) for s in evaluation.sensitivity],
    }
    rows = evaluation.claim.rows
    if rows is not None and rows.voter:  # a population counted by groups says something else than one by rows
        body["votes"] = rows.voter
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]


@lru_cache(maxsize=4096)
def _srepr(expr: sp.Basic) -> str:
    """SymPy's exact printed form; derivations do not change within a process, so print once."""
    import sympy as sp

    return str(sp.srepr(expr))
