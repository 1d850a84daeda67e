"""Figures derived from records, never typed: system aggregates, drain times, KV sizes.

Each function returns pint quantities computed from the fields of the records it is
given, so a table built from them can never disagree with the data.
"""

from __future__ import annotations

from typing import Any

import pint

from .model import Database, Record
from .units import Quantity

Q = pint.Quantity[Any]

#: Per-chip accelerator fields that add up across the chips of a system.
ADDITIVE = ("bf16_flops", "fp8_flops", "hbm_capacity", "hbm_bandwidth", "scaleup_bandwidth", "scaleout_bandwidth")


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


def kv_elements_per_token(model: Record) -> Q | None:
    """Cached values per token across all layers, from the config.

    Multi-head latent attention caches one latent plus one rotary key per layer; other
    attention caches a key and a value per KV head. Sliding-window and cross-layer
    sharing, which shrink the cache further, are not modelled.
    """
    if not model.has("layers"):
        return None
    layers = model["layers"].quantity
    elements: Q
    if model.has("kv_lora_rank") and model.has("qk_rope_head_dim"):
        elements = layers * (model["kv_lora_rank"].quantity + model["qk_rope_head_dim"].quantity)
    elif model.has("kv_heads") and model.has("head_dim"):
        elements = 2 * layers * model["kv_heads"].quantity * model["head_dim"].quantity
    else:
        return None
    return elements


def kv_bytes_per_token(model: Record, datatype: Record) -> Q | None:
    """KV cache bytes per token of context, each cached value stored in ``datatype``."""
    elements = kv_elements_per_token(model)
    if elements is None:
        return None
    per_value = datatype["storage_per_parameter"].quantity.to("B/param").magnitude
    return Quantity(float(elements.to("").magnitude) * per_value, "B/token")
