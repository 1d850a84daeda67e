"""A deployment sized to a step-time limit: the fewest chips, and the cheapest count, whose decode step meets it.

The step model (:mod:`claims.deployment`) answers "how long is a step of this batch on G chips". A
design question asks it backwards: which G, and which batch, meet a limit on the step (a fast mode's
time per token, a train interval). For one chip count both the step time and the bytes a chip holds
grow with the batch, so the largest batch that meets the limit and fits is found by bisection. Across
chip counts nothing is monotone: more chips hold more cache and read fewer experts each, but past the
chips' scale-up domain the dispatch crosses the slower scale-out link. So every count up to a bound is
tried, and two are reported: the fewest chips that meet the limit at all, and the count whose chips
each serve the most tokens per second (the cheapest per token; the fewer chips on a tie).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import hwdb
from hwdb import Database

from . import deployment as dep

#: The most chip counts a search tries (the step model's own bound for a memory fit).
MOST_CHIPS = 4096


class SizingError(ValueError):
    """A search that cannot run or finds nothing; the message names the input or the limit."""


@dataclass(frozen=True)
class Fit:
    """The largest batch one chip count can run within the limit, and what it serves."""

    chips: int
    batch: int  # sequences per step (one token each)
    step_s: float
    tokens_per_s: float
    per_chip: float  # tokens per second per chip
    limited_by: str  # "memory": the next sequence does not fit; "time": it would break the limit
    link: str  # the link hidden states cross: "scale-up" within a domain, "scale-out" past it


@dataclass(frozen=True)
class Sizing:
    """The result of a search: its question, the fewest chips that meet the limit, and the cheapest count."""

    model: str
    hw: str
    chip_noun: str  # "GPUs", "TPUs", "chips": what the chips are called
    context: float  # tokens of context per sequence
    limit_s: float
    min_chips: int
    max_chips: int
    fewest: Fit
    cheapest: Fit


def largest_batch(d: dep.Deployment, context: float, limit_s: float) -> tuple[int, str] | None:
    """The most sequences whose step on ``d`` takes at most ``limit_s`` and whose cache fits, with what stops
    one more ("memory" or "time"); None when even one sequence breaks the limit or does not fit."""
    one = dep.evaluate(d, 1.0, context)
    room = float(one["max_batch"])
    if room < 1 or float(one["step_s"]) > limit_s:
        return None
    low, high = 1, int(min(room, 1e9))  # step(low) meets the limit; does step(high)?
    if float(dep.evaluate(d, float(high), context)["step_s"]) <= limit_s:
        return high, "memory"
    while high - low > 1:  # the step grows with the batch: every part of it is non-decreasing
        middle = (low + high) // 2
        if float(dep.evaluate(d, float(middle), context)["step_s"]) <= limit_s:
            low = middle
        else:
            high = middle
    return low, "time"


def _fit(d: dep.Deployment, context: float, limit_s: float) -> Fit | None:
    found = largest_batch(d, context, limit_s)
    if found is None:
        return None
    batch, limited_by = found
    out = dep.evaluate(d, float(batch), context)
    step = float(out["step_s"])
    link = "scale-out" if d.link == "scaleout_bandwidth" else "scale-up"
    return Fit(d.chips, batch, step, batch / step, batch / step / d.chips, limited_by, link)


def _domain(db: Database, hw: str) -> int:
    """The chips a search tries by default: a system's, or an accelerator's scale-up domain (1 if none)."""
    record = db[hw]
    if record.kind == "system" and record.has("chips"):
        return int(record["chips"].quantity.to("").magnitude)
    if record.kind == "accelerator" and record.has("scaleup_domain"):
        return int(record["scaleup_domain"].quantity.to("").magnitude)
    return 1


def _chip_noun(db: Database, hw: str) -> str:
    """What the chips are called in prose ("GPUs", "TPUs"): the family of the accelerator, or of a system's."""
    record = db[hw]
    if record.kind == "system" and str(record.meta.get("accelerator", "")) in db.records:
        record = db[str(record.meta["accelerator"])]
    family = str(record.meta.get("family", ""))
    return f"{family}s" if family else "chips"


def size(
    model: str,
    hw: str,
    *,
    context: float,
    limit_s: float,
    max_chips: int | None = None,
    min_chips: int = 1,
    weights: str = "bf16",
    kv: str = "bf16",
    math_format: str = "bf16",
    attention_math: str | None = None,
    layout: str | None = None,
    overlap: str = "per-class",
    db: Database | None = None,
) -> Sizing:
    """Try ``min_chips`` to ``max_chips`` chips of ``hw`` (by default 1 to its scale-up domain) for ``model`` at
    ``context`` tokens per sequence, each at the largest batch whose step takes at most ``limit_s`` seconds and
    fits in HBM. ``min_chips`` = ``max_chips`` asks about one count (one chip past a domain, say)."""
    db = hwdb.load() if db is None else db
    if not (isinstance(limit_s, int | float) and math.isfinite(limit_s) and limit_s > 0):
        raise SizingError(f"limit {limit_s!r}: a step-time limit is a positive number of seconds")
    if not (isinstance(context, int | float) and math.isfinite(context) and context >= 0):
        raise SizingError(f"context {context!r}: a context is a number of tokens, at least 0")
    if hw not in db.records:
        raise SizingError(f"hw={hw}: hwdb has no record '{hw}'")
    most = _domain(db, hw) if max_chips is None else max_chips
    if isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= MOST_CHIPS:
        raise SizingError(f"max_chips {most!r}: a whole number of chips from 1 to {MOST_CHIPS}")
    if isinstance(min_chips, bool) or not isinstance(min_chips, int) or not 1 <= min_chips <= most:
        raise SizingError(f"min_chips {min_chips!r}: a whole number of chips from 1 to max_chips ({most})")
    fits: list[Fit] = []
    for chips in range(min_chips, most + 1):
        try:
            d = dep.deployment(
                model,
                hw,
                chips,
                weights=weights,
                kv=kv,
                math_format=math_format,
                attention_math=attention_math,
                layout=layout,
                overlap=overlap,
                db=db,
            )
        except dep.StepError as exc:
            raise SizingError(str(exc)) from None
        fit = _fit(d, context, limit_s)
        if fit is not None:
            fits.append(fit)
    if not fits:
        raise SizingError(
            f"no deployment of {model} on {min_chips} to {most} chips of {hw} runs even one sequence of "
            f"{context:g} tokens in {limit_s * 1e3:.3g} ms with its weights and cache in HBM"
        )
    cheapest = max(fits, key=lambda f: (f.per_chip, -f.chips))
    return Sizing(
        model=model,
        hw=hw,
        chip_noun=_chip_noun(db, hw),
        context=float(context),
        limit_s=float(limit_s),
        min_chips=min_chips,
        max_chips=most,
        fewest=fits[0],
        cheapest=cheapest,
    )
