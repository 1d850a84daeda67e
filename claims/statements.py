"""The lecture's statements and the claims that check them (``claims/statements.toml``).

Issue-level completeness ("every quantitative statement has a claim") is a property of this
table, so it is checked like data: every statement from 1 to the last is listed, every claim
it names exists, every claim answers to at least one statement, and a statement without a
claim says why.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .engine import Claim, ClaimError

STATEMENTS_FILE = Path(__file__).with_name("statements.toml")


@dataclass(frozen=True)
class Statement:
    """One numbered statement of the lecture, as the table records it."""

    number: int
    topic: str
    claims: tuple[str, ...]
    unchecked: str = ""


@lru_cache(maxsize=4)
def parse(text: str, where: str = "claims/statements.toml") -> tuple[Statement, ...]:
    """Read the table; any malformed entry raises ClaimError naming the file and the entry."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ClaimError(f"{where}: not valid TOML: {exc}") from exc
    last, table = document.get("last_statement"), document.get("statements")
    if not isinstance(last, int) or isinstance(last, bool) or last < 1:
        raise ClaimError(f"{where}: last_statement must be the number of the lecture's last statement (an integer)")
    if not isinstance(table, dict) or not table:
        raise ClaimError(f"{where}: needs a [statements.N] table for each statement")
    out: dict[int, Statement] = {}
    for key, entry in table.items():
        label = f"{where}: [statements.{key}]"
        if not re.fullmatch(r"[1-9][0-9]*", key):
            raise ClaimError(f"{label}: the key must be the statement's number, 1 or more, without leading zeros")
        if not isinstance(entry, dict):
            raise ClaimError(f"{label}: must be a table")
        unknown = set(entry) - {"topic", "claims", "unchecked"}
        if unknown:
            raise ClaimError(f"{label}: unknown field(s) {sorted(unknown)}; known: claims, topic, unchecked")
        topic, ids, unchecked = entry.get("topic"), entry.get("claims"), entry.get("unchecked", "")
        if not isinstance(topic, str) or not topic.strip():
            raise ClaimError(f"{label}.topic: a non-empty string is required")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ClaimError(f"{label}.claims: a list of claim IDs is required (empty if none)")
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ClaimError(f"{label}.claims: {repeated} listed more than once")
        if not isinstance(unchecked, str):
            raise ClaimError(f"{label}.unchecked: must be a string")
        if not ids and not unchecked.strip():
            raise ClaimError(f"{label}: has no claim, so 'unchecked' must say why")
        out[int(key)] = Statement(int(key), topic.strip(), tuple(ids), unchecked.strip())
    expected = set(range(1, last + 1))
    missing, extra = sorted(expected - set(out)), sorted(set(out) - expected)
    if missing:
        raise ClaimError(f"{where}: statement(s) {missing} are missing; every number up to {last} needs an entry")
    if extra:
        raise ClaimError(f"{where}: statement(s) {extra} lie beyond last_statement = {last}")
    return tuple(out[n] for n in sorted(out))


def check_against(
    statements: Iterable[Statement], claims: Iterable[Claim], where: str = "claims/statements.toml"
) -> None:
    """Every named claim exists, and every claim answers to some statement."""
    known = {c.id for c in claims}
    named: set[str] = set()
    for s in statements:
        for claim_id in s.claims:
            if claim_id not in known:
                raise ClaimError(f"{where}: [statements.{s.number}].claims names unknown claim {claim_id!r}")
            named.add(claim_id)
    orphans = sorted(known - named)
    if orphans:
        raise ClaimError(f"{where}: claim(s) {orphans} answer to no statement; add each to the statement it checks")


def load() -> tuple[Statement, ...]:
    """The table shipped with the package, checked against the catalogue (read afresh each call)."""
    from .catalogue import CLAIMS

    statements = parse(STATEMENTS_FILE.read_text(encoding="utf-8"))
    check_against(statements, CLAIMS)
    return statements


def of_claim(statements: Iterable[Statement], claim_id: str) -> tuple[int, ...]:
    """The numbers of the statements a claim checks."""
    return tuple(s.number for s in statements if claim_id in s.claims)
