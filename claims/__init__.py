"""claims: the lecture's quantitative statements as executable, verifiable objects.

The Python API, for notebooks and scripts::

    import claims
    r = claims.evaluate("batch.optimal-size", hw="h200")     # another accelerator as the case
    r.value, r.unit, r.text, r.verdict, r.stated             # 4,.. tokens, its verdict, the lecture's figure
    claims.evaluate("batch.optimal-size", swap={"bf16": "fp8"})   # FP8 weights, BF16 FLOP/s
    claims.evaluate("batch.optimal-size", set={"gb200.hbm_bandwidth": "10 TB/s dense"})

    claims.step("llama-3.1-70b", "hgx-h100", batch=64, context=8192)   # one decode step, by part

``evaluate`` returns a :class:`Scenario` (see :mod:`claims.scenario` for every option), which
displays as a table in Jupyter. ``evaluate(claim, db)`` with a :class:`Claim` object is the
engine's call and returns its :class:`Evaluation`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .deployment import StepError, StepResult, step
    from .engine import Claim, ClaimError, Evaluation, anchor
    from .policy import Verdict
    from .registry import all_claims, evaluate_all, get_claim
    from .scenario import Scenario, evaluate

#: Where each public name lives. They are imported on first use: ``claims.citing`` and
#: ``claims.refs`` (for citing projects and design docs) import this package but need none of
#: the engine, so they start without SymPy, NumPy or pint.
_LAZY = {
    "StepError": "deployment",
    "StepResult": "deployment",
    "step": "deployment",
    "Claim": "engine",
    "ClaimError": "engine",
    "Evaluation": "engine",
    "anchor": "engine",
    "Verdict": "policy",
    "all_claims": "registry",
    "evaluate_all": "registry",
    "get_claim": "registry",
    "Scenario": "scenario",
    "evaluate": "scenario",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'claims' has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "Claim",
    "ClaimError",
    "Evaluation",
    "Scenario",
    "StepError",
    "StepResult",
    "Verdict",
    "all_claims",
    "anchor",
    "evaluate",
    "evaluate_all",
    "get_claim",
    "step",
]
