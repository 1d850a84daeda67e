"""A decode step's inputs, read from hwdb records: a model's shape, the chips and their link, number formats.

Each reader notes where every number came from (:class:`Used`: record, field, source) and refuses by
name a record or field the step model needs and hwdb lacks (:class:`StepError`). The step itself is
:mod:`claims.step_compute`'s; :mod:`claims.step_explorer` reads the explore page's records through
these same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hwdb import Database, Field, Record
from hwdb.derived import (
    KV_LAYOUT_FIELDS,
    attention_flop_per_layer,
    bytes_per_value,
    field_of,
    kv_layout,
    layer_token_bytes,
)

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


def read_quantity(record: Record, name: str, unit: str, used: list[Used], why: str) -> float:
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


def chip_and_count(
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


def datatype(db: Database, name: str, role: str) -> Record:
    """The number format (datatype record) ``name``; one hwdb lacks is refused with the formats it has."""
    if name not in db.records:
        known = ", ".join(sorted(r.id for r in db.of_kind("datatype")))
        raise StepError(f"--{role} {name}: hwdb has no number format '{name}' (formats: {known})")
    return db[name]


def flop_rate(chip: Record, fmt: Record, role: str, used: list[Used]) -> float:
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
    n_total = read_quantity(m, "total_params", "param", used, "for the weights")
    n_active = read_quantity(m, "active_params", "param", used, "for the FLOPs per token")
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
