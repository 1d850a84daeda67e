"""The explore page's step model: every hwdb model, chip and format, and the formulas printed to JavaScript.

The page lets a reader pick a model, a chip (or system), a chip count, number formats, a batch and a
context, and shows the step's parts, its bound, the memory fit and the throughput as they type. The
numbers a step needs from each record are read here by the same functions :func:`claims.deployment.step`
uses (:func:`~claims.deployment.model_shape`, :func:`~claims.deployment.format_bytes`,
:func:`~claims.deployment.kv_bytes_per_layer_token`); the formulas are :mod:`claims.stepmodel`'s, printed
by SymPy. What the page still does itself is what :func:`~claims.deployment.deployment` does to combine
them (the chip count's link, the KV copies, the layout's defaults); a test runs the page's script in
Node against :func:`~claims.deployment.step` on hundreds of random deployments.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from hwdb import Database, Record
from hwdb.derived import field_of

from . import stepmodel as sm
from .deployment import (
    ACTIVATION_FORMAT,
    FLOP_PER_PARAM,
    OUTPUTS,
    RESERVE_RECORD,
    StepError,
    format_bytes,
    kv_bytes_per_layer_token,
    model_shape,
)

#: The deployment the page opens on: the book's running example, a whole GB200 NVL72 rack, at the context
#: DeepSeek reports serving (read from :data:`SERVED_CONTEXT`).
SERVED_CONTEXT = ("deepseek-v3-r1-decode-kv-length", "kv_length")
DEFAULTS: dict[str, Any] = {
    "model": "deepseek-v3",
    "hw": "gb200-nvl72",
    "chips": 72,
    "batch": 4096,
    "weights": "fp8",
    "kv": "bf16",
    "math": "fp8",
    "attention_math": "bf16",
    "layout": "",
    "overlap": "per-class",
}


def _expression(expr: sp.Expr) -> dict[str, Any]:
    symbols = sorted(expr.free_symbols, key=str)
    return {"args": [str(s) for s in symbols], "code": sp.jscode(expr)}


def formulas() -> dict[str, dict[str, Any]]:
    """Each output's closed form per layout, and the step per layout and reading, as JavaScript."""
    out: dict[str, dict[str, Any]] = {}
    for layout in sm.LAYOUTS:
        f = sm.formulas(layout)
        exprs = {name: _expression(getattr(f, attr)) for name, attr, _ in OUTPUTS}
        for overlap in sm.OVERLAPS:
            exprs[f"step:{overlap}"] = _expression(sm.step_time(f, overlap))
        out[layout] = exprs
    return out


def _si(record: Record, name: str, unit: str) -> float | None:
    """A field's value (or one hwdb derives, as the HBM a fit counts) in ``unit``; None where there is none."""
    field = field_of(record, name)
    return None if field is None else float(field.quantity.to(unit).magnitude)


def _model(m: Record, formats: list[Record]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": m.id, "name": m.name}
    try:
        shape = model_shape(m, [])
    except StepError as exc:
        entry["error"] = str(exc)
        return entry
    entry["shape"] = {
        "n_total": shape.n_total,
        "n_active": shape.n_active,
        "layers": shape.layers,
        "width": shape.width,
        "experts": shape.experts,
        "chosen": shape.chosen,
        "moe_layers": shape.moe_layers,
        "routed": shape.routed,
        "global_layers": shape.global_layers,
        "local_layers": shape.local_layers,
        "window": shape.window,
        "attention_per_layer": shape.attention_per_layer,
        "kv_heads": shape.kv_heads,
        "moe": m.has("routed_experts"),
    }
    entry["layer_bytes"] = {f.id: kv_bytes_per_layer_token(m, f, []) for f in formats}
    return entry


def _chip(record: Record, db: Database, formats: list[Record]) -> dict[str, Any]:
    """A chip or system: what bounds its chip count, and the chip's own figures."""
    system = record if record.kind == "system" else None
    chip = db[str(record.meta["accelerator"])] if system else record
    rates = {}
    for f in formats:
        name = str(f.meta.get("arithmetic", ""))
        if name and chip.has(name):
            rates[f.id] = _si(chip, name, "flop/s")
    return {
        "id": record.id,
        "name": record.name,
        "kind": record.kind,
        "chip": chip.id,
        "size": _si(system, "chips", "") if system else None,
        "domain": _si(chip, "scaleup_domain", ""),
        "W": _si(chip, "hbm_bandwidth", "B/s"),
        "M": _si(chip, "hbm_for_fit", "B"),
        "rates": rates,
        "scaleup": _si(chip, "scaleup_bandwidth", "B/s"),
        "scaleout": _si(chip, "scaleout_bandwidth", "B/s"),
    }


def page_data(db: Database) -> dict[str, Any]:
    """Everything the page's step explorer needs, JSON-ready."""
    formats = sorted(db.of_kind("datatype"), key=lambda r: r.id)
    hardware = sorted(db.of_kind("accelerator") + db.of_kind("system"), key=lambda r: (r.kind, r.name.lower()))
    return {
        "formats": [
            {
                "id": f.id,
                "name": f.name,
                "bytes": format_bytes(f, [], "a"),
                "arithmetic": bool(f.meta.get("arithmetic")),
            }
            for f in formats
        ],
        "models": [_model(m, formats) for m in sorted(db.of_kind("model"), key=lambda r: r.name.lower())],
        "hardware": [_chip(r, db, formats) for r in hardware if r.kind == "accelerator" or "accelerator" in r.meta],
        "formulas": formulas(),
        "layouts": sm.LAYOUTS,
        "overlaps": sm.OVERLAPS,
        "constants": {
            "c": FLOP_PER_PARAM,
            "b_a": format_bytes(db[ACTIVATION_FORMAT], [], "activations"),
            "r": float(db[RESERVE_RECORD]["memory_reserve"].quantity.to("").magnitude),
        },
        "defaults": {**DEFAULTS, "context": _si(db[SERVED_CONTEXT[0]], SERVED_CONTEXT[1], "token")},
    }
