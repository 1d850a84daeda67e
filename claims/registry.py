"""Look claims up by ID and evaluate them all against one database."""

from __future__ import annotations

import re

from hwdb import Database

from .engine import Claim, Evaluation, evaluate
from .id_registry import read_registry

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)*$")


class UnknownClaimError(KeyError):
    """An ID that names no claim; the message suggests the nearest ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def all_claims() -> tuple[Claim, ...]:
    """Every claim in book order; IDs are checked for form and uniqueness."""
    from .catalogue import CLAIMS

    seen: set[str] = set()
    for claim in CLAIMS:
        if not ID_PATTERN.match(claim.id):
            raise ValueError(f"claim ID {claim.id!r} is not of the form <chapter>.<slug>")
        if claim.id in seen:
            raise ValueError(f"duplicate claim ID {claim.id!r}")
        seen.add(claim.id)
    return CLAIMS


def get_claim(claim_id: str) -> Claim:
    """The claim with this ID, or the claim a retired ID is an alias of."""
    live = {claim.id for claim in all_claims()}
    registry = read_registry()
    if claim_id not in live and claim_id in registry.withdrawn:
        entry = registry.withdrawn[claim_id]
        raise UnknownClaimError(f"claim '{claim_id}' was withdrawn in release {entry['release']}: {entry['reason']}")
    if claim_id not in live:  # a live ID always names itself, even if an alias wrongly reuses it
        claim_id = registry.aliases.get(claim_id, claim_id)
    for claim in all_claims():
        if claim.id == claim_id:
            return claim
    import difflib

    near = difflib.get_close_matches(claim_id.lower(), [c.id for c in all_claims()], n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise UnknownClaimError(f"unknown claim ID '{claim_id}'{hint} (`python -m claims list` lists every claim)")


def evaluate_all(db: Database) -> dict[str, Evaluation]:
    return {claim.id: evaluate(claim, db) for claim in all_claims()}
