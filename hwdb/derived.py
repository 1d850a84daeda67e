"""Figures derived from records, never typed: system aggregates, drain times, KV sizes.

Each function returns pint quantities computed from the fields of the records it is
given, so a table built from them can never disagree with the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pint

from .model import Database, Field, Record
from .schema import FIELDS
from .units import Quantity

Q = pint.Quantity[Any]

#: Per-chip accelerator fields that add up across the chips of a system.
ADDITIVE = ("bf16_flops", "fp8_flops", "hbm_capacity", "hbm_bandwidth", "scaleup_bandwidth", "scaleout_bandwidth")

#: DeepSeek-V3.2-Exp's lightning indexer keeps its key cache in FP8 (float8_e4m3fn, one byte a
#: value) with one float32 scale per block of 128 values, whatever format the main cache uses
#: (``Indexer.k_cache`` and ``k_scale_cache`` in the repository's inference/model.py).
INDEX_KEY_BYTES_PER_VALUE = 1.0
INDEX_SCALE_BYTES = 4.0
INDEX_SCALE_BLOCK = 128

#: Contexts at which the book quotes the per-token average of a sliding-window model.
AVERAGE_CONTEXTS = {"8k": 8192, "128k": 131072}


def system_totals(db: Database, system: Record) -> dict[str, Q]:
    """A system's aggregates: its chip's per-chip figures times its chip count."""
    chip = db[str(system.meta["accelerator"])]
    chips = system["chips"].quantity
    return {name: chips * chip[name].quantity for name in ADDITIVE if chip.has(name)}


def drain_time(record: Record) -> Q | None:
    """Time to read a device end to end: capacity over bandwidth (memory tiers, accelerators)."""
    for capacity, bandwidth in (("capacity", "bandwidth"), ("hbm_capacity", "hbm_bandwidth")):
        if record.has(capacity) and record.has(bandwidth):
            time: Q = (record[capacity].quantity / record[bandwidth].quantity).to("s")
            return time
    return None


def flops_per_byte(record: Record) -> Q | None:
    """Dense BF16 FLOP/s over HBM bandwidth: the arithmetic intensity at the roofline's ridge."""
    if not (record.has("bf16_flops") and record.has("hbm_bandwidth")):
        return None
    ratio: Q = (record["bf16_flops"].quantity / record["hbm_bandwidth"].quantity).to("FLOP/B")
    return ratio


#: The config fields a KV cache's layout is read from (besides ``layers``).
KV_LAYOUT_FIELDS = (
    "kv_lora_rank",
    "qk_rope_head_dim",
    "kv_heads",
    "head_dim",
    "index_head_dim",
    "kv_layers",
    "local_layers",
    "sliding_window",
)


@dataclass(frozen=True)
class KVLayout:
    """How a model's KV cache grows, read from its config fields.

    ``values`` is the count of cached values per token per layer stored in the cache's
    number format: a key and a value per KV head, or for multi-head latent attention one
    latent plus one rotary key. ``extra_bytes`` is what a layer adds per token in a fixed
    format (DeepSeek-V3.2's indexer key). ``global_layers`` cache every token of the
    context; ``local_layers`` only the last ``window`` tokens. Layers that reuse another
    layer's cache (cross-layer sharing) are in neither count.
    """

    values: float
    extra_bytes: float
    global_layers: float
    local_layers: float
    window: float | None
    rotary_values: float = 0.0  # of ``values``, the rotary key a latent cache keeps beside its latent

    def bytes_per_layer_token(self, bytes_per_value: float, rotary_bytes: float | None = None) -> float:
        """Bytes one layer caches per token: its values, the rotary part in its own format where the cache's
        layout keeps one (``rotary_bytes``), and the indexer key."""
        rotary = self.rotary_values * (bytes_per_value if rotary_bytes is None else rotary_bytes)
        return (self.values - self.rotary_values) * bytes_per_value + rotary + self.extra_bytes


def _count(record: Record, name: str) -> float:
    return float(record[name].quantity.to("").magnitude)


def kv_layout(model: Record) -> KVLayout | None:
    """The cache layout of a model, or None when its record lacks the fields that give it.

    ``kv_layers`` (when given) counts the layers that keep their own cache; ``local_layers``
    counts sliding-window layers among those, and needs ``sliding_window``.
    """
    if not model.has("layers"):
        return None
    rotary = 0.0
    if model.has("kv_lora_rank") and model.has("qk_rope_head_dim"):
        rotary = _count(model, "qk_rope_head_dim")
        values = _count(model, "kv_lora_rank") + rotary
    elif model.has("kv_heads") and model.has("head_dim"):
        values = 2 * _count(model, "kv_heads") * _count(model, "head_dim")
    else:
        return None
    extra = 0.0
    if model.has("index_head_dim"):
        width = _count(model, "index_head_dim")
        extra = width * INDEX_KEY_BYTES_PER_VALUE + math.ceil(width / INDEX_SCALE_BLOCK) * INDEX_SCALE_BYTES
    caching = _count(model, "kv_layers") if model.has("kv_layers") else _count(model, "layers")
    local = _count(model, "local_layers") if model.has("local_layers") else 0.0
    window = float(model["sliding_window"].quantity.to("token").magnitude) if model.has("sliding_window") else None
    if local > caching:
        raise ValueError(
            f"{model.file}: record '{model.id}': local_layers {local:g} exceeds the {caching:g} caching layers"
        )
    if local and window is None:
        raise ValueError(f"{model.file}: record '{model.id}': local_layers needs sliding_window")
    return KVLayout(values, extra, caching - local, local, window, rotary)


def bytes_per_value(datatype: Record) -> float:
    """Bytes one stored value takes in a format, its block scales included (``scale_bytes`` per ``scale_block``)."""
    value = float(datatype["storage_per_parameter"].quantity.to("B/param").magnitude)
    if datatype.has("scale_bytes") and datatype.has("scale_block"):
        value += float(datatype["scale_bytes"].quantity.to("B").magnitude) / _count(datatype, "scale_block")
    return value


def rotary_bytes(datatype: Record) -> float | None:
    """Bytes per value of a latent cache's rotary key where the format keeps it apart (FlashMLA's FP8 layout)."""
    if not datatype.has("rotary_storage_per_value"):
        return None
    return float(datatype["rotary_storage_per_value"].quantity.to("B/param").magnitude)


def layer_token_bytes(layout: KVLayout, datatype: Record) -> float:
    """Bytes one layer caches per token of context in ``datatype``'s storage layout."""
    return layout.bytes_per_layer_token(bytes_per_value(datatype), rotary_bytes(datatype))


def _tokens(context: Q | float) -> float:
    tokens = float(context.to("token").magnitude) if isinstance(context, pint.Quantity) else float(context)
    if tokens < 0:
        raise ValueError(f"context must be a non-negative number of tokens, got {tokens:g}")
    return tokens


def kv_cache_bytes(model: Record, datatype: Record, context: Q | float) -> Q | None:
    """KV cache of ONE sequence of ``context`` tokens, each cached value stored in ``datatype``.

    Full-attention layers cache every token; sliding-window layers cache min(context, window)
    tokens; multi-head latent attention caches kv_lora_rank + qk_rope_head_dim values per
    layer per token; DeepSeek-V3.2's indexer adds index_head_dim values per layer per token,
    kept in FP8 with one FP32 scale per 128 values whatever ``datatype`` is (as its reference
    code allocates them); layers that reuse another layer's cache add nothing (``kv_layers``).
    ``context`` is a token count or a pint quantity in tokens. None when the record lacks the
    fields.
    """
    layout = kv_layout(model)
    if layout is None:
        return None
    tokens = _tokens(context)
    local_tokens = tokens if layout.window is None else min(tokens, layout.window)
    cached = layout.global_layers * tokens + layout.local_layers * local_tokens
    return Quantity(cached * layer_token_bytes(layout, datatype), "B")


def kv_bytes_per_token(model: Record, datatype: Record, context: Q | float | None = None) -> Q | None:
    """KV cache bytes per token of context, each cached value stored in ``datatype``.

    With ``context`` given: the average over a sequence of that length,
    ``kv_cache_bytes(model, datatype, context) / context``. With ``context=None``: the
    long-context marginal figure, what one more token adds once the context is longer than
    any sliding window, i.e. the layers that cache every token. For a model without
    sliding-window layers both are the familiar every-layer-caches-every-token figure and do
    not depend on the context; for a sliding-window model the average falls towards the
    marginal figure as the context grows.
    """
    layout = kv_layout(model)
    if layout is None:
        return None
    if context is None:
        per_token = layout.global_layers * layer_token_bytes(layout, datatype)
        return Quantity(per_token, "B/token")
    tokens = _tokens(context)
    if tokens == 0:
        raise ValueError("the per-token average needs a context of at least one token")
    total = kv_cache_bytes(model, datatype, tokens)
    assert total is not None
    return Quantity(float(total.to("B").magnitude) / tokens, "B/token")


def kv_elements_per_token(model: Record) -> Q | None:
    """Cached values per token that one more token adds at long context, from the config.

    Counts the layers that cache every token (all of them unless the model has sliding-window
    layers or cross-layer sharing) and the values stored in the cache's own number format: a
    key and a value per KV head, or one latent plus one rotary key for multi-head latent
    attention. An indexer key (DeepSeek-V3.2), kept in a fixed format, is not counted here;
    :func:`kv_bytes_per_token` includes it.
    """
    layout = kv_layout(model)
    if layout is None:
        return None
    return Quantity(layout.global_layers * layout.values, "")


@dataclass(frozen=True)
class Derived:
    """One derived figure of a record, with its unit and what it means."""

    name: str
    quantity: Q
    description: str


def _model_figures(db: Database, model: Record) -> list[Derived]:
    layout = kv_layout(model)
    if layout is None:
        return []
    sliding = layout.local_layers > 0
    out = []
    for dtype in ("bf16", "fp8"):
        if dtype not in db.records:
            continue
        datatype, label = db[dtype], dtype.upper()
        marginal = kv_bytes_per_token(model, datatype)
        assert marginal is not None
        scope = (
            "long-context limit, only the layers that cache every token"
            if sliding
            else "every layer caches every token"
        )
        if layout.extra_bytes:
            scope += ", indexer key in FP8 included"
        out.append(Derived(f"kv_bytes_per_token_{dtype}", marginal, f"KV cache per token in {label}; {scope}"))
        if sliding:
            for tag, tokens in AVERAGE_CONTEXTS.items():
                average = kv_bytes_per_token(model, datatype, tokens)
                assert average is not None
                out.append(
                    Derived(
                        f"kv_bytes_per_token_{dtype}_avg_{tag}",
                        average,
                        f"KV cache per token in {label}; average over one {tokens:,}-token sequence",
                    )
                )
    return out


def derived_figures(db: Database, record: Record) -> list[Derived]:
    """The figures the command line and export derive for a record (empty for other kinds)."""
    if record.kind == "model":
        return _model_figures(db, record)
    out = []
    if record.kind in ("accelerator", "memory-tier"):
        time = drain_time(record)
        if time is not None:
            what = "HBM" if record.kind == "accelerator" else "the device"
            out.append(Derived("drain_time", time, f"time to read all of {what} once (capacity / bandwidth)"))
        ratio = flops_per_byte(record)
        if ratio is not None:
            out.append(Derived("bf16_flops_per_hbm_byte", ratio, "dense BF16 FLOP/s / HBM bandwidth"))
    elif record.kind == "system":
        for name, total in system_totals(db, record).items():
            out.append(Derived(f"total_{name}", total, f"{name} of one chip x chips"))
    return out


# ------------------------------------------------------------------ derived fields a claim can bind


@dataclass(frozen=True)
class DerivedField:
    """A figure computed from a record's own fields that a claim may bind like a field.

    ``compute`` returns the quantity and the names of the fields it used, or None when the
    record lacks them. The fields used travel with the value (``Field.basis``), so a drift
    or a mutation of any of them is named.
    """

    description: str
    unit: str
    compute: Callable[[Record], tuple[Q, tuple[str, ...]] | None]


def attention_widths(model: Record) -> tuple[float, float, list[str]] | None:
    """(d_qk, d_v) of one attention head as decode runs it, and the fields they come from; None if unknown.

    Each query head takes a dot product with every cached key and a weighted sum of every
    cached value. Grouped-query attention has d_qk = d_v = head_dim. Multi-head latent attention,
    run as decode kernels run it (the up-projections absorbed into the query and output), attends
    over the cached latent itself: d_qk = kv_lora_rank + qk_rope_head_dim, d_v = kv_lora_rank.
    """
    if model.has("kv_lora_rank") and model.has("qk_rope_head_dim"):
        latent, rope = _count(model, "kv_lora_rank"), _count(model, "qk_rope_head_dim")
        return latent + rope, latent, ["kv_lora_rank", "qk_rope_head_dim"]
    if model.has("head_dim"):
        width = _count(model, "head_dim")
        return width, width, ["head_dim"]
    return None


def attention_flop_per_layer(model: Record) -> float | None:
    """FLOP one new token spends per cached token in one layer that attends to it: 2 per multiply-add."""
    widths = attention_widths(model)
    if widths is None or not model.has("attention_heads"):
        return None
    d_qk, d_v, _ = widths
    return 2 * _count(model, "attention_heads") * (d_qk + d_v)


def _attention_flop(model: Record) -> tuple[Q, tuple[str, ...]] | None:
    """FLOP one new token spends on attention per token of context, over the layers that see it all.

    Sliding-window layers stop growing past their window, so at long context only the other layers count.
    """
    layout = kv_layout(model)
    per_layer = attention_flop_per_layer(model)
    widths = attention_widths(model)
    if layout is None or per_layer is None or widths is None:
        return None
    used = ["attention_heads", "layers", *widths[2]]
    used += [name for name in ("kv_layers", "local_layers") if model.has(name)]
    return Quantity(per_layer * layout.global_layers, "flop/token**2"), tuple(used)


def _kv_bf16(model: Record) -> tuple[Q, tuple[str, ...]] | None:
    """KV bytes per token of context at long context, each value in BF16 (two bytes)."""
    layout = kv_layout(model)
    if layout is None:
        return None
    used = ["layers"] + [name for name in KV_LAYOUT_FIELDS if name != "sliding_window" and model.has(name)]
    if model.has("kv_lora_rank"):
        used = [u for u in used if u not in ("kv_heads", "head_dim")]
    return Quantity(layout.global_layers * layout.bytes_per_layer_token(2.0), "B/token"), tuple(used)


def _hbm_for_fit(chip: Record) -> tuple[Q, tuple[str, ...]] | None:
    """The HBM a memory fit may count: what the device reports to software where hwdb has it (an "80 GB" part
    may hold 80 GiB), else the datasheet's capacity."""
    for name in ("hbm_reported", "hbm_capacity"):
        if chip.has(name):
            quantity: Q = chip[name].quantity.to("B")
            return quantity, (name,)
    return None


DERIVED_FIELDS: dict[str, DerivedField] = {
    "hbm_for_fit": DerivedField(
        "HBM a memory fit counts: the device-reported capacity where recorded, else the datasheet's", "B", _hbm_for_fit
    ),
    "attention_flop_per_context_token": DerivedField(
        "attention FLOP per new token per token of context (layers that see the whole context)",
        "flop/token**2",
        _attention_flop,
    ),
    "kv_bytes_per_token_bf16": DerivedField(
        "KV cache bytes per token of context at long context, values in BF16", "B/token", _kv_bf16
    ),
}


def field_spec(name: str) -> tuple[str, str]:
    """(unit, description) of a field a claim may bind: a schema field or a derived one."""
    if name in FIELDS:
        return FIELDS[name].unit, FIELDS[name].description
    spec = DERIVED_FIELDS[name]
    return spec.unit, spec.description


#: Derived fields already computed, by the record object they were computed from (checked by identity, so a
#: what-if copy of a record, a new object, is computed afresh). Only records holding a plain dict of fields are
#: kept: a build's tracked records note each field read, and a kept result would skip those notes.
_derived: dict[tuple[int, str], tuple[Record, Field | None]] = {}


def field_of(record: Record, name: str) -> Field | None:
    """A record's field, or a derived field (:data:`DERIVED_FIELDS`) computed from its fields; None if neither."""
    if record.has(name):
        return record[name]
    if type(record.fields) is not dict:
        return _derive(record, name)
    kept = _derived.get((id(record), name))
    if kept is not None and kept[0] is record:
        return kept[1]
    field = _derive(record, name)
    if len(_derived) > 4096:  # what-if copies would otherwise pile up for the process's life
        _derived.clear()
    _derived[(id(record), name)] = (record, field)
    return field


def _derive(record: Record, name: str) -> Field | None:
    spec = DERIVED_FIELDS.get(name)
    result = spec.compute(record) if spec else None
    if spec is None or result is None:
        return None
    quantity, used = result
    basis = tuple(record[f] for f in used)
    return Field(
        name=name,
        quantity=quantity,
        printed_value=float(quantity.magnitude),
        printed_unit=str(quantity.units),
        source=basis[0].source,
        file=record.file,
        note=f"derived (hwdb/derived.py): {spec.description}, from {', '.join(used)}",
        basis=basis,
    )
