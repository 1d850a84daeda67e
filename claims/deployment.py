"""A decode step of any model on any chip, from hwdb records, through the one step model.

:mod:`claims.stepmodel` holds the formulas; this module reads a deployment's inputs from hwdb
(a model record, an accelerator or system, a chip count, number formats), evaluates the formulas
on them, vectorised over batch and context, and says where each input came from. The command
line (``python -m claims step``) and the Python API (``claims.step``) go through :func:`step`; the
explore page reads the same records through this module's functions (:mod:`claims.step_explorer`)
and runs the same formulas in JavaScript, which a test holds to :func:`step`.

The work is split by job: :mod:`claims.step_inputs` reads the inputs, :mod:`claims.step_compute` holds the
deployment and evaluates the step, and this module gives the result its rows, tables and sweeps.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hwdb import Database

from .step_compute import BOUNDS, OUTPUTS, Deployment, deployment, evaluate, fewest_chips
from .step_inputs import (
    ACTIVATION_FORMAT,
    FLOP_PER_PARAM,
    GLU_MATRICES,
    RESERVE_RECORD,
    ModelShape,
    StepError,
    Used,
    format_bytes,
    kv_bytes_per_layer_token,
    model_shape,
)

__all__ = [
    "ACTIVATION_FORMAT",
    "BOUNDS",
    "FLOP_PER_PARAM",
    "GLU_MATRICES",
    "OUTPUTS",
    "RESERVE_RECORD",
    "Deployment",
    "ModelShape",
    "StepError",
    "StepResult",
    "Used",
    "deployment",
    "evaluate",
    "fewest_chips",
    "format_bytes",
    "kv_bytes_per_layer_token",
    "model_shape",
    "parse_sweep",
    "step",
]


@dataclass(frozen=True)
class StepResult:
    """One step (or a sweep of them) of a deployment: the outputs, in SI units, and the inputs used."""

    deployment: Deployment
    batch: np.ndarray
    context: np.ndarray
    outputs: dict[str, np.ndarray]

    def __getattr__(self, name: str) -> Any:
        outputs = self.__dict__.get("outputs", {})
        if name in outputs:
            value = outputs[name]
            return float(value) if value.ndim == 0 else value
        raise AttributeError(name)

    @property
    def bound(self) -> str | list[str]:
        raw = self.outputs["bound"]
        return BOUNDS[int(raw)] if raw.ndim == 0 else [BOUNDS[int(x)] for x in raw.ravel()]

    @property
    def fits(self) -> bool | list[bool]:
        raw = self.outputs["fits"]
        return bool(raw) if raw.ndim == 0 else [bool(x) for x in raw.ravel()]

    def rows(self) -> list[dict[str, Any]]:
        """One dictionary per configuration, as ``--json`` prints them."""
        flat = {name: np.ravel(value) for name, value in self.outputs.items()}
        batch, context = np.ravel(self.batch), np.ravel(self.context)
        out = []
        for i in range(batch.size):
            row: dict[str, Any] = {"batch": int(batch[i]), "context": float(context[i])}
            for name, value in flat.items():
                v = float(value[i])
                if name == "bound":
                    row[name] = BOUNDS[int(v)]
                elif name == "fits":
                    row[name] = bool(v)
                else:
                    row[name] = v if math.isfinite(v) else None
            row["fewest_chips"] = fewest_chips(self.deployment, batch[i], context[i])
            out.append(row)
        return out

    def describe(self) -> dict[str, Any]:
        """The deployment and its inputs with their sources (JSON-ready)."""
        d = self.deployment
        return {
            "model": d.model.id,
            "hw": d.system.id if d.system else d.chip.id,
            "chip": d.chip.id,
            "chips": d.chips,
            "layout": d.layout,
            "overlap": d.overlap,
            "link": d.link,
            "formats": d.formats,
            "kv_bytes_per_layer_token": d.layer_bytes,
            "inputs": [
                {
                    "name": u.name,
                    "value": u.value,
                    "unit": u.unit,
                    "record": u.record,
                    "field": u.field,
                    "source": u.source,
                    "url": u.url,
                    "file": u.file,
                }
                for u in d.used
            ],
        }

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        """The table's headings and, per configuration, its cells as text (shared by text and HTML)."""
        heads = ["batch", "context", "step", "bound", "tok/s", "tok/s/chip", "memory/chip", "fits", "B*"]
        rows = []
        for row in self.rows():
            crit = row["critical_batch"]
            rows.append(
                [
                    str(row["batch"]),
                    f"{row['context']:.0f}",
                    f"{row['step_s'] * 1e3:.3g} ms",
                    row["bound"],
                    f"{row['tokens_per_s']:.4g}",
                    f"{row['tokens_per_s_per_chip']:.4g}",
                    f"{row['memory_bytes'] / 1e9:.4g} GB",
                    "yes" if row["fits"] else "no",
                    "none" if crit is None else f"{crit:.4g}",
                ]
            )
        return heads, rows

    def table(self) -> str:
        """A plain-text table, one line per configuration."""
        heads, rows = self._cells()
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        heads, rows = self._cells()
        head = "".join(f"<th>{e(h)}</th>" for h in heads)
        body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
        d = self.deployment
        title = f"{d.model.name} on {d.chips} × {d.chip.name} ({d.layout}, {d.overlap})"
        note = "memory is per chip; B*: the batch at which all compute equals all memory traffic (none: no balance)"
        return (
            f'<div style="overflow-x:auto"><p>{e(title)}</p><table><tr>{head}</tr>{body}</table>'
            f"<p><small>{e(note)}</small></p></div>"
        )

    def __str__(self) -> str:
        return self.table()


def step(
    model: str,
    hw: str,
    chips: int | None = None,
    batch: Any = 1,
    context: Any = 0,
    *,
    weights: str = "bf16",
    kv: str = "bf16",
    math: str = "bf16",
    attention_math: str | None = None,
    layout: str | None = None,
    overlap: str = "per-class",
    reserve: float | None = None,
    db: Database | None = None,
) -> StepResult:
    """A decode step of ``model`` on ``chips`` of ``hw`` at ``batch`` sequences of ``context`` tokens.

    ``batch`` and ``context`` may be sequences (a sweep). Formats name hwdb datatype records
    (``bf16``, ``fp8``, ``int8``, ``int4``, ``fp4``, ...); ``attention_math`` defaults to ``math``.
    """
    d = deployment(
        model,
        hw,
        chips,
        weights=weights,
        kv=kv,
        math_format=math,
        attention_math=attention_math,
        layout=layout,
        overlap=overlap,
        reserve=reserve,
        db=db,
    )
    b = np.asarray(batch, dtype=float)
    ctx = np.asarray(context, dtype=float)
    outputs = evaluate(d, b, ctx)
    b, ctx = np.broadcast_arrays(b, ctx)
    return StepResult(d, b, ctx, outputs)


def parse_sweep(text: str) -> tuple[str, Sequence[float]]:
    """``batch=1,8,64`` or ``context=1024,8192`` → (name, values)."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or name not in ("batch", "context"):
        raise StepError(f"--sweep {text!r}: write batch=1,8,64 or context=1024,8192")
    try:
        numbers = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise StepError(f"--sweep {text!r}: the values must be numbers separated by commas") from None
    if not numbers:
        raise StepError(f"--sweep {text!r}: give at least one value")
    return name, numbers
