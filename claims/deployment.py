"""A decode step of any model on any chip, from hwdb records, through the one step model.

:mod:`claims.stepmodel` holds the formulas; this module reads a deployment's inputs from hwdb
(a model record, an accelerator or system, a chip count, number formats), evaluates the formulas
on them, vectorised over batch and context, and says where each input came from. The command
line (``python -m claims step``) and the Python API (``claims.step``) go through :func:`step`; the
explore page reads the same records through this module's functions (:mod:`claims.step_explorer`)
and runs the same formulas in JavaScript, which a test holds to :func:`step`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

import hwdb
from hwdb import Database, Field, Record
from hwdb.derived import (
    KV_LAYOUT_FIELDS,
    attention_flop_per_layer,
    bytes_per_value,
    field_of,
    kv_layout,
    layer_token_bytes,
)

from . import compiled, derivation_cache
from . import stepmodel as sm
from .engine import Derivation, Detail

#: Parameters in one routed expert per unit of width × expert width: gate, up and down projections.
GLU_MATRICES = 3
#: FLOP per active parameter per token: one multiply-add.
FLOP_PER_PARAM = 2.0
#: Format of the hidden states sent between chips.
ACTIVATION_FORMAT = "bf16"
#: The record holding the share of HBM a deployment keeps free (activations, workspace).
RESERVE_RECORD = "serving-memory-reserve"


class StepError(ValueError):
    """A step cannot be evaluated on these inputs; the message names the record, field or option."""


@dataclass(frozen=True)
class Used:
    """One input of a step, with where it came from."""

    name: str
    value: float
    unit: str
    record: str
    field: str
    source: str
    url: str
    file: str


def _count(record: Record, name: str, used: list[Used], why: str) -> float:
    if not record.has(name):
        raise StepError(f"{record.file}: record '{record.id}' has no field '{name}', which the step model needs {why}")
    return _take(record, record[name], "1", used, name)


def _take(record: Record, field: Field, unit: str, used: list[Used], name: str) -> float:
    value = float(field.quantity.to(unit).magnitude) if unit != "1" else float(field.quantity.to("").magnitude)
    used.append(Used(name, value, unit, record.id, field.name, field.source.title, field.source.url, field.file))
    return value


def _quantity(record: Record, name: str, unit: str, used: list[Used], why: str) -> float:
    """A field, or one hwdb derives from a record's own fields (noted by the field it was read from)."""
    field = field_of(record, name)
    if field is None:
        raise StepError(f"{record.file}: record '{record.id}' has no field '{name}', which the step model needs {why}")
    if len(field.basis) == 1:  # a derived field that is one of the record's own (the HBM a fit counts)
        field = replace(field.basis[0], quantity=field.quantity)
    return _take(record, field, unit, used, field.name)


def format_bytes(fmt: Record, used: list[Used], role: str) -> float:
    """Bytes one stored value takes in ``fmt``, its block scales included (hwdb.derived's reading)."""
    if fmt.kind != "datatype":
        raise StepError(f"{role} format '{fmt.id}' is a {fmt.kind} record, not a number format (datatype)")
    for name in ("storage_per_parameter", "scale_bytes", "scale_block"):
        if fmt.has(name):
            _take(fmt, fmt[name], "1" if name == "scale_block" else str(fmt[name].quantity.units), used, name)
    return bytes_per_value(fmt)


def kv_bytes_per_layer_token(model: Record, fmt: Record, used: list[Used]) -> float:
    """Bytes one layer caches per token: the cached values in ``fmt`` with their scales, a latent cache's
    rotary part in the format's rotary storage where it names one, and an indexer key (hwdb.derived's)."""
    layout = kv_layout(model)
    if layout is None:
        raise StepError(_missing_cache_field(model))
    format_bytes(fmt, used, "KV cache")
    if layout.rotary_values and fmt.has("rotary_storage_per_value"):
        _take(fmt, fmt["rotary_storage_per_value"], "B/param", used, "rotary_storage_per_value")
    return layer_token_bytes(layout, fmt)


@dataclass(frozen=True)
class Deployment:
    """A model on chips in chosen formats: every input of the step model but batch and context."""

    model: Record
    chip: Record
    system: Record | None
    chips: int
    layout: str
    overlap: str
    link: str  # the chip field of the link hidden states cross: scale-up, or scale-out past one domain
    formats: dict[str, str]  # role -> datatype record id
    values: dict[str, float]  # symbol name -> SI value (context-independent inputs)
    layer_bytes: float  # KV bytes one layer caches per token
    global_layers: float
    local_layers: float
    window: float
    attention_flop_per_layer: float  # FLOP per new token per cached token in one layer that sees it
    kv_heads: float  # KV heads a tensor-parallel layout can split the cache by; 0: every chip keeps it all
    used: tuple[Used, ...]

    def kv_per_token(self, context: np.ndarray) -> np.ndarray:
        """KV bytes per token of context, averaged over a sequence of ``context`` tokens (sliding windows)."""
        seen = self._seen(context)
        return np.asarray(self.layer_bytes * seen / np.maximum(context, 1.0), dtype=float)

    def attention_per_token(self, context: np.ndarray) -> np.ndarray:
        """Attention FLOP per new token per cached token, averaged the same way."""
        seen = self._seen(context)
        return np.asarray(self.attention_flop_per_layer * seen / np.maximum(context, 1.0), dtype=float)

    def _seen(self, context: np.ndarray) -> np.ndarray:
        """Layer-tokens of cache a sequence of ``context`` tokens holds and attends over."""
        local = np.minimum(context, self.window) if self.local_layers else 0.0
        return np.asarray(self.global_layers * context + self.local_layers * local, dtype=float)


def _chip_and_count(
    db: Database, hw: str, chips: int | None, used: list[Used]
) -> tuple[Record, Record | None, int, str]:
    """The chip, the system named (if any), the chip count, and the field of the link hidden states cross.

    Within a system, or within a chip's scale-up domain, that is the scale-up link; a deployment
    spread over more chips than one domain holds crosses the scale-out NICs, the slower link.
    """
    if hw not in db.records:
        raise StepError(f"hwdb has no record '{hw}'")
    record = db[hw]
    if record.kind == "system":
        chip_id = str(record.meta.get("accelerator", ""))
        if chip_id not in db.records:
            raise StepError(f"{record.file}: system '{hw}' names no accelerator record in meta.accelerator")
        size = int(_count(record, "chips", used, "to bound the chip count"))
        count = size if chips is None else chips
        if count > size:
            raise StepError(f"--chips {count}: system '{hw}' has {size} chips; name its accelerator to span systems")
        return db[chip_id], record, count, "scaleup_bandwidth"
    if record.kind != "accelerator":
        raise StepError(f"--hw {hw}: '{hw}' is a {record.kind} record; name an accelerator or a system")
    count = 1 if chips is None else chips
    if count == 1:
        return record, None, count, "scaleup_bandwidth"
    if not record.has("scaleup_domain"):
        raise StepError(
            f"--chips {count}: hwdb records no scale-up domain for '{hw}' ({record.file}); name a system instead"
        )
    domain = int(_count(record, "scaleup_domain", used, "to tell scale-up from scale-out"))
    if count <= domain:
        return record, None, count, "scaleup_bandwidth"
    if not record.has("scaleout_bandwidth"):
        raise StepError(
            f"--chips {count}: '{hw}' connects at most {domain} chips in one scale-up domain, and hwdb records no "
            f"scale-out bandwidth for it ({record.file})"
        )
    return record, None, count, "scaleout_bandwidth"


def _format(db: Database, name: str, role: str) -> Record:
    if name not in db.records:
        known = ", ".join(sorted(r.id for r in db.of_kind("datatype")))
        raise StepError(f"--{role} {name}: hwdb has no number format '{name}' (formats: {known})")
    return db[name]


def _rate(chip: Record, fmt: Record, role: str, used: list[Used]) -> float:
    """The chip's dense FLOP/s in ``fmt``: its ``<format>_flops`` field."""
    name = str(fmt.meta.get("arithmetic", ""))
    if not name:
        raise StepError(f"--{role} {fmt.id}: '{fmt.id}' is a storage layout, not an arithmetic format")
    if not chip.has(name):
        raise StepError(
            f"--{role} {fmt.id}: {chip.file}: record '{chip.id}' has no field '{name}': hwdb records no "
            f"{fmt.id.upper()} rate for this chip, so it cannot compute in that format here"
        )
    return _take(chip, chip[name], "flop/s", used, name)


@dataclass(frozen=True)
class ModelShape:
    """What the step model reads from a model record, whatever the chip and formats."""

    n_total: float
    n_active: float
    layers: float
    width: float
    experts: float  # routed experts per MoE layer (1 for a dense model)
    chosen: float  # experts chosen per token (1 for a dense model)
    moe_layers: float
    routed: float  # parameters in all routed experts
    global_layers: float  # layers whose cache holds every token
    local_layers: float  # sliding-window layers
    window: float
    attention_per_layer: float  # FLOP per new token per cached token in one layer
    kv_heads: float  # KV heads a tensor-parallel layout can split the cache by; 0: every chip keeps it all


def _missing_cache_field(m: Record) -> str:
    """Which field a model's KV cache layout lacks, named as precisely as its other fields allow."""
    for present, needed in (("kv_heads", "head_dim"), ("kv_lora_rank", "qk_rope_head_dim")):
        if m.has(present) and not m.has(needed):
            return (
                f"{m.file}: record '{m.id}' has no field '{needed}', which its KV cache's size needs beside {present}"
            )
    needs = "kv_lora_rank and qk_rope_head_dim (latent attention) or kv_heads and head_dim (grouped-query)"
    return f"{m.file}: record '{m.id}' lacks the fields of its KV cache: {needs}"


def model_shape(m: Record, used: list[Used]) -> ModelShape:
    """The model's shape from its config fields; a field it lacks is refused by name."""
    n_total = _quantity(m, "total_params", "param", used, "for the weights")
    n_active = _quantity(m, "active_params", "param", used, "for the FLOPs per token")
    layers = _count(m, "layers", used, "for the KV cache and communication")
    width = _count(m, "hidden_size", used, "for the hidden states sent between chips")
    _count(m, "attention_heads", used, "for attention's FLOPs")
    if m.has("routed_experts"):
        experts = _count(m, "routed_experts", used, "for a mixture of experts")
        chosen = _count(m, "experts_per_token", used, "for a mixture of experts")
        expert_width = _count(m, "moe_intermediate_size", used, "for the size of one expert")
        dense = _count(m, "dense_layers", used, "for the number of MoE layers (0 if every layer routes)")
        moe_layers = layers - dense
        routed = moe_layers * experts * GLU_MATRICES * width * expert_width
        if routed >= n_total:
            raise StepError(
                f"{m.file}: record '{m.id}': its routed experts ({routed:.3g} parameters from its config) "
                f"exceed its total_params ({n_total:.3g})"
            )
    else:
        experts = chosen = 1.0
        moe_layers = 0.0
        routed = 0.0
    if n_active > n_total:
        raise StepError(f"{m.file}: record '{m.id}': active_params exceeds total_params")

    lay = kv_layout(m)
    if lay is None:
        raise StepError(_missing_cache_field(m))
    attention_per_layer = attention_flop_per_layer(m)
    if attention_per_layer is None:
        raise StepError(
            f"{m.file}: record '{m.id}' lacks a field the step model needs for attention's FLOPs "
            "(head_dim for grouped-query attention, kv_lora_rank and qk_rope_head_dim for latent attention)"
        )
    noted = {(u.record, u.field) for u in used}
    for name in KV_LAYOUT_FIELDS:  # what the cache layout and attention's widths were read from
        if m.has(name) and (m.id, name) not in noted:
            _take(m, m[name], "token" if name == "sliding_window" else "1", used, name)
    kv_heads = 0.0  # a latent cache is read by every head: no chip can keep only part of it
    if not lay.rotary_values:
        kv_heads = _count(m, "kv_heads", used, "to split the KV cache over chips")
    return ModelShape(
        n_total,
        n_active,
        layers,
        width,
        experts,
        chosen,
        moe_layers,
        routed,
        lay.global_layers,
        lay.local_layers,
        float(lay.window or 0.0),
        attention_per_layer,
        kv_heads,
    )


def deployment(
    model: str,
    hw: str,
    chips: int | None = None,
    *,
    weights: str = "bf16",
    kv: str = "bf16",
    math_format: str = "bf16",
    attention_math: str | None = None,
    layout: str | None = None,
    overlap: str = "per-class",
    reserve: float | None = None,
    db: Database | None = None,
) -> Deployment:
    """Read every input of the step model but batch and context from hwdb, refusing what cannot be."""
    db = hwdb.load() if db is None else db
    if chips is not None and (not isinstance(chips, int) or isinstance(chips, bool) or chips < 1):
        raise StepError(f"--chips {chips!r}: a deployment needs a whole number of chips, at least 1")
    if overlap not in sm.OVERLAPS:
        raise StepError(f"--overlap {overlap}: known readings are {', '.join(sm.OVERLAPS)}")
    if model not in db.records or db[model].kind != "model":
        known = ", ".join(sorted(r.id for r in db.of_kind("model")))
        raise StepError(f"--model {model}: hwdb has no model record '{model}' (models: {known})")
    m = db[model]
    used: list[Used] = []
    chip, system, count, link_field = _chip_and_count(db, hw, chips, used)
    layout = layout or ("ep" if m.has("routed_experts") else "tp")
    if layout not in sm.LAYOUTS:
        raise StepError(f"--layout {layout}: known layouts are {', '.join(sm.LAYOUTS)}")
    fmt_w, fmt_kv, fmt_m = _format(db, weights, "weights"), _format(db, kv, "kv"), _format(db, math_format, "math")
    fmt_a = _format(db, attention_math or math_format, "attention-math")
    fmt_act = db[ACTIVATION_FORMAT]

    shape = model_shape(m, used)
    b_w = format_bytes(fmt_w, used, "weights")
    layer_bytes = kv_bytes_per_layer_token(m, fmt_kv, used)

    w_bw = _quantity(chip, "hbm_bandwidth", "B/s", used, "for every memory time")
    # The memory fit counts what the device reports to software where hwdb has it, else the datasheet's figure.
    capacity = _quantity(chip, "hbm_for_fit", "B", used, "for the memory fit")
    f_w = _rate(chip, fmt_m, "math", used)
    f_a = _rate(chip, fmt_a, "attention-math", used)
    link = _quantity(chip, link_field, "B/s", used, "to move hidden states between chips") if count > 1 else 1.0
    b_a = format_bytes(fmt_act, used, "activations")
    if reserve is None:
        if RESERVE_RECORD not in db.records:
            raise StepError(f"hwdb has no record '{RESERVE_RECORD}' (the HBM a deployment keeps free)")
        rec = db[RESERVE_RECORD]
        reserve = _quantity(rec, "memory_reserve", "", used, "for the HBM a deployment keeps free")
    if not 0 <= reserve < 1:
        raise StepError(f"--reserve {reserve}: the share of HBM kept free must be at least 0 and below 1")

    values = {
        **_on_chips(layout, count, shape.kv_heads),
        "N_always": shape.n_total - shape.routed,
        "N_routed": shape.routed,
        "N_active": shape.n_active,
        "E_routed": shape.experts,
        "E_chosen": shape.chosen,
        "c": FLOP_PER_PARAM,
        "b_w": b_w,
        "F_w": f_w,
        "F_a": f_a,
        "W": w_bw,
        "M_HBM": capacity,
        "r": reserve,
        "S": link,
        "h": shape.width,
        "b_a": b_a,
        "n_layers": shape.layers,
        "n_MoE": max(shape.moe_layers, 1e-300),
    }
    return Deployment(
        model=m,
        chip=chip,
        system=system,
        chips=count,
        layout=layout,
        overlap=overlap,
        link=link_field,
        formats={"weights": fmt_w.id, "kv": fmt_kv.id, "math": fmt_m.id, "attention_math": fmt_a.id},
        values=values,
        layer_bytes=layer_bytes,
        global_layers=shape.global_layers,
        local_layers=shape.local_layers,
        window=shape.window,
        attention_flop_per_layer=shape.attention_per_layer,
        kv_heads=shape.kv_heads,
        used=tuple(used),
    )


#: The step's outputs: name, the formula's field (or how it is computed), its unit in JSON.
OUTPUTS = (
    ("compute_s", "compute", "s"),
    ("weights_s", "weights", "s"),
    ("attention_s", "attention", "s"),
    ("kv_s", "kv", "s"),
    ("comm_s", "comm", "s"),
    ("weights_bytes", "weights_read", "B"),
    ("kv_bytes", "kv_read", "B"),
    ("flops", "flops", "flop"),
    ("memory_bytes", "memory", "B"),
    ("capacity_bytes", "capacity", "B"),
    ("critical_batch", "critical_batch", "token"),
    ("context_limit", "context_limit", "token"),
    ("dense_balanced_batch", "dense_balanced", "token"),
    ("expert_balanced_batch", "expert_balanced", "token"),
    ("max_batch", "max_batch", "token"),
)


def _as_derivation(layout: str, overlap: str) -> Derivation:
    """The step model's outputs for one layout and reading, as a derivation the disk cache can keep."""
    f = sm.formulas(layout)
    details = tuple(Detail(name, name, getattr(f, attr), "1") for name, attr, _ in OUTPUTS)
    step = Detail("step_s", "step_s", sm.step_time(f, overlap), "1")
    return Derivation(steps=(), result=sp.Integer(0), details=(*details, step))


@cache
def _compiled(layout: str, overlap: str) -> dict[str, tuple[tuple[str, ...], Any]]:
    """Each output's formula as a NumPy function of its symbols' names: derived and compiled once per code version
    (kept in the derivation cache beside the claims'), so a fresh process neither solves nor prints them again."""
    built = derivation_cache.derivation(f"step-model.{layout}.{overlap}", lambda: _as_derivation(layout, overlap))
    out = {}
    for detail in built.details:
        function = compiled.compile_expression(detail.expr)
        out[detail.name] = (tuple(str(s) for s in function.symbols), function.function)
    return out


def evaluate(d: Deployment, batch: Any, context: Any) -> dict[str, np.ndarray]:
    """Every output of the step, broadcast over ``batch`` and ``context`` (arrays or numbers), in SI units."""
    b = np.asarray(batch, dtype=float)
    ctx = np.asarray(context, dtype=float)
    if np.any(~np.isfinite(b)) or np.any(b < 1) or np.any(b != np.floor(b)):
        raise StepError(f"--batch {_shown(b)}: a batch is a whole number of sequences, at least 1")
    if np.any(~np.isfinite(ctx)) or np.any(ctx < 0):
        raise StepError(f"--context {_shown(ctx)}: a context is a number of tokens, at least 0")
    b, ctx = np.broadcast_arrays(b, ctx)
    values: dict[str, Any] = {**d.values, "B": b, "L": ctx}
    values["kappa"] = d.kv_per_token(ctx)
    values["A"] = d.attention_per_token(ctx)
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, (names, function) in _compiled(d.layout, d.overlap).items():
            out[name] = np.broadcast_to(np.asarray(function(*(values[n] for n in names)), dtype=float), b.shape)
    _settle(d, out, b, ctx)
    return out


def _shown(values: np.ndarray) -> str:
    """The offending values as typed: one number, or a list."""
    flat = [format(float(v), "g") for v in np.ravel(values)]
    return flat[0] if len(flat) == 1 else ",".join(flat)


def _settle(d: Deployment, out: dict[str, np.ndarray], batch: np.ndarray, context: np.ndarray) -> None:
    """Outputs the closed forms leave open: no balance, whole batches, the fit, throughput, the bound."""
    limit = out["context_limit"]
    out["context_limit"] = np.where(limit > 0, limit, np.inf)
    crit = out["critical_batch"]
    out["critical_batch"] = np.where((crit > 0) & (context < out["context_limit"]), crit, np.inf)
    room = np.floor(np.where(np.isfinite(out["max_batch"]), out["max_batch"], np.inf))
    out["max_batch"] = np.maximum(room, 0.0)
    if d.values["N_routed"] == 0:
        out["expert_balanced_batch"] = np.full(batch.shape, np.nan)
    out["fits"] = (out["memory_bytes"] <= out["capacity_bytes"]).astype(float)
    out["tokens_per_s"] = batch / out["step_s"]
    out["tokens_per_s_per_chip"] = out["tokens_per_s"] / d.chips
    out["compute_share"] = (out["compute_s"] + out["attention_s"]) / out["step_s"]
    parts = np.stack([out["compute_s"], out["weights_s"], out["attention_s"], out["kv_s"], out["comm_s"]])
    out["bound"] = np.argmax(parts, axis=0).astype(float)


#: What ``bound`` indexes: the largest single part of the step.
BOUNDS = ("compute", "weights", "attention", "kv", "communication")


def _replication(layout: str, count: int, kv_heads: float) -> float:
    """How many chips keep each KV byte: under tensor parallelism a KV head is not split, so chips beyond
    the KV heads (every chip, for a latent cache) hold copies; under expert parallelism each chip keeps
    only its own sequences."""
    if layout != "tp":
        return 1.0
    return float(count) if kv_heads == 0 else count / min(count, kv_heads)


def _on_chips(layout: str, count: int, kv_heads: float) -> dict[str, float]:
    """The step model's inputs that depend on the chip count: G, the share of the always-read weights one chip
    holds (all of them under expert parallelism), and the KV copies."""
    return {
        "G": float(count),
        "sigma": 1.0 / count if layout == "tp" else 1.0,
        "rho": _replication(layout, count, kv_heads),
    }


def fewest_chips(d: Deployment, batch: float, context: float, limit: int = 4096) -> int | None:
    """The fewest chips of this kind, in the same layout, whose HBM less the reserve holds the weights and this
    batch's KV: the step model's memory fit, searched by bisection (what one chip holds never grows with more
    chips). None when even ``limit`` chips do not hold it."""
    formulas = _compiled(d.layout, d.overlap)
    values: dict[str, Any] = {**d.values, "B": float(batch), "L": float(context)}
    values["kappa"] = float(d.kv_per_token(np.asarray(float(context))))
    values["A"] = float(d.attention_per_token(np.asarray(float(context))))

    def fits(count: int) -> bool:
        at = {**values, **_on_chips(d.layout, count, d.kv_heads)}
        memory, capacity = (formulas[name] for name in ("memory_bytes", "capacity_bytes"))
        return float(memory[1](*(at[n] for n in memory[0]))) <= float(capacity[1](*(at[n] for n in capacity[0])))

    if not fits(limit):
        return None
    low, high = 0, limit  # fits(high), and not fits(low) (no deployment has zero chips)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle, high)
    return high


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
