"""The step model against what deployments publish: one comparison per hwdb benchmark record.

A benchmark record names a model, hardware, formats and a chip count, and gives what was measured:
a time per output token, a whole request's latency, or a throughput with the speed one sequence
saw. The step model predicts the same quantity for the same deployment; nothing here is fitted to
the published figure. Predicted and published times are pinned in ``published.lock.json`` beside
the claims' lock, so a change of model or data shows as drift.

The tolerance: the step model is a roofline, so a deployment can be slower than it but not faster.
The ratio is the model's time per token over the published one (equivalently, published throughput
over predicted). It is *within the bound* from :data:`LOW` to :data:`HIGH`: at most a tenth faster
than the model (datasheet peaks are rounded; clocks vary), and at least a fifth of its speed, the
range kernel efficiency and the overheads the model leaves out (launches, synchronisation, the
host, scheduling) span in the published tables. Below a fifth the gap is too large for those; above
1.1 the model would be wrong.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwdb import Database, Record, display_path
from hwdb.files import write_atomic

from .deployment import StepError, step

LOCK_FILE = Path(__file__).resolve().parent / "published.lock.json"
LOW, HIGH = 0.2, 1.1
BANDS = {
    "within the bound": f"the deployment runs at {LOW:.0%} to {HIGH:.0%} of the step model's speed",
    "slower than the bound allows": f"under {LOW:.0%} of the model's speed: more than efficiency and overheads",
    "faster than the model": f"over {HIGH:.0%} of the model's speed: the model's bound is broken",
}


class PublishedError(ValueError):
    """A benchmark record cannot be compared (a field it needs is missing)."""


@dataclass(frozen=True)
class Comparison:
    """One published figure beside the step model's prediction for its deployment."""

    record: Record
    chips: int
    batch: float  # sequences decoding together on the whole deployment
    context: float  # average tokens of context per sequence
    published_s: float  # published time per output token of one sequence
    predicted_s: float  # the step model's step time (one token per sequence per step)
    bound: str  # the step's largest part
    what: str  # how the published time was read

    @property
    def ratio(self) -> float:
        """Predicted over published time per token: the share of the model's speed the deployment reached."""
        return self.predicted_s / self.published_s

    @property
    def band(self) -> str:
        if self.ratio > HIGH:
            return "faster than the model"
        return "within the bound" if self.ratio >= LOW else "slower than the bound allows"

    def snapshot(self) -> dict[str, Any]:
        return {
            "published_s": float(f"{self.published_s:.12g}"),
            "predicted_s": float(f"{self.predicted_s:.12g}"),
            "ratio": float(f"{self.ratio:.12g}"),
            "band": self.band,
        }


def _value(record: Record, name: str, unit: str) -> float | None:
    return float(record[name].quantity.to(unit).magnitude) if record.has(name) else None


def compare(record: Record, db: Database) -> Comparison:
    """The step model on the benchmark's own deployment, and the published time per output token."""
    meta = record.meta
    gpus = _value(record, "gpus", "")
    assert gpus is not None  # required by the schema
    chips = int(gpus)
    deployment_id = meta.get("deployment")
    if isinstance(deployment_id, str):  # measured on part of a larger deployment (DeepSeek: one node of 18)
        chips = int(db[deployment_id]["gpus"].quantity.to("").magnitude)
    batch, how = _batch(record)
    batch *= chips / gpus
    context = _value(record, "context", "token")
    inputs, outputs = _value(record, "input_tokens", "token"), _value(record, "output_tokens", "token")
    if context is None:
        if inputs is None or outputs is None:
            raise PublishedError(
                f"{record.file}: record '{record.id}' needs context, or input_tokens and output_tokens"
            )
        context = inputs + outputs / 2  # the average context over the generated tokens
    published, what = _published_time(record, outputs)
    hardware = db[str(meta["hardware"])]
    if hardware.kind == "system" and chips > int(hardware["chips"].quantity.to("").magnitude):
        hardware = db[str(hardware.meta["accelerator"])]  # a deployment over several systems: their chip
    result = step(
        str(meta["model"]),
        hardware.id,
        chips,
        round(batch),
        context,
        weights=str(meta["weights"]),
        kv=str(meta["kv"]),
        math=str(meta["math"]),
        attention_math=str(meta.get("attention_math", meta["math"])),
        layout=str(meta["layout"]) if "layout" in meta else None,
        overlap=str(meta.get("overlap", "per-class")),
        db=db,
    )
    bound = result.bound
    assert isinstance(bound, str)
    return Comparison(record, chips, batch, context, published, result.step_s, bound, f"{what}; {how}")


def _batch(record: Record) -> tuple[float, str]:
    batch = _value(record, "batch", "")
    if batch is not None:
        return batch, "batch as published"
    throughput, speed = _value(record, "token_throughput", "token/s"), _value(record, "user_speed", "token/s")
    if throughput is None or speed is None:
        raise PublishedError(f"{record.file}: record '{record.id}' needs batch, or token_throughput and user_speed")
    return throughput / speed, "batch from throughput ÷ per-sequence speed (Little's law)"


def _published_time(record: Record, outputs: float | None) -> tuple[float, str]:
    tpot = _value(record, "time_per_output_token", "s")
    if tpot is not None:
        return tpot, "time per output token as published"
    latency = _value(record, "request_latency", "s")
    if latency is not None:
        if outputs is None:
            raise PublishedError(f"{record.file}: record '{record.id}': request_latency needs output_tokens")
        return latency / outputs, "request latency ÷ output tokens (prefill included: the time is an upper bound)"
    speed = _value(record, "user_speed", "token/s")
    if speed is not None:
        return 1 / speed, "one over the per-sequence speed"
    raise PublishedError(
        f"{record.file}: record '{record.id}' has no time_per_output_token, request_latency or user_speed"
    )


def compare_all(db: Database) -> dict[str, Comparison]:
    """Every benchmark record in hwdb, compared; a record that cannot be is an error naming it."""
    out = {}
    for record in sorted(db.of_kind("benchmark"), key=lambda r: r.id):
        try:
            out[record.id] = compare(record, db)
        except StepError as exc:
            raise PublishedError(f"{record.file}: benchmark '{record.id}': {exc}") from None
    return out


def render(comparisons: dict[str, Comparison]) -> str:
    body = {"version": 1, "benchmarks": {rid: c.snapshot() for rid, c in sorted(comparisons.items())}}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(comparisons: dict[str, Comparison], path: Path = LOCK_FILE) -> None:
    write_atomic(path, render(comparisons))


def read(path: Path = LOCK_FILE) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PublishedError(f"{display_path(path)}: not found; run `python -m claims pin` to create it") from None
    except json.JSONDecodeError as exc:
        raise PublishedError(f"{display_path(path)}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), dict):
        raise PublishedError(f"{display_path(path)}: not a published-comparisons lock")
    benchmarks: dict[str, Any] = data["benchmarks"]
    return benchmarks


def drift(comparisons: dict[str, Comparison], pinned: dict[str, Any]) -> list[str]:
    """Every comparison that no longer matches the lock, named with what moved."""
    out = []
    for rid in sorted(set(comparisons) | set(pinned)):
        if rid not in comparisons:
            out.append(f"{rid}: in {display_path(LOCK_FILE)} but no longer in hwdb")
            continue
        if rid not in pinned:
            out.append(f"{rid}: not in {display_path(LOCK_FILE)}; run `nox -s pin` after reviewing it")
            continue
        fresh, old = comparisons[rid].snapshot(), pinned[rid]
        moved = [
            f"{key} {old.get(key)!r} -> {fresh[key]!r}"
            for key in ("published_s", "predicted_s", "ratio")
            if not math.isclose(float(old.get(key, math.nan)), fresh[key], rel_tol=1e-9)
        ]
        if old.get("band") != fresh["band"]:
            moved.append(f"band '{old.get('band')}' -> '{fresh['band']}'")
        if moved:
            out.append(f"{rid} ({comparisons[rid].record.file}): " + "; ".join(moved))
    return out


def table(comparisons: dict[str, Comparison]) -> str:
    """A plain-text table: what was measured, what the model says, their ratio and its band."""
    lines = [
        f"{'benchmark':40} {'chips':>5} {'batch':>7} {'context':>8} {'published':>10} {'model':>9} {'ratio':>6}  band"
    ]
    for rid, c in comparisons.items():
        lines.append(
            f"{rid:40} {c.chips:>5} {c.batch:>7.0f} {c.context:>8.0f} {c.published_s * 1e3:>8.3g}ms "
            f"{c.predicted_s * 1e3:>7.3g}ms {c.ratio:>6.2f}  {c.band}"
        )
    return "\n".join(lines)
