"""claims: the lecture's quantitative statements as executable, verifiable objects."""

from __future__ import annotations

from .engine import Claim, ClaimError, Evaluation, anchor, evaluate
from .policy import Verdict
from .registry import all_claims, evaluate_all, get_claim

__all__ = [
    "Claim",
    "ClaimError",
    "Evaluation",
    "Verdict",
    "all_claims",
    "anchor",
    "evaluate",
    "evaluate_all",
    "get_claim",
]
