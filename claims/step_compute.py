"""A deployment (a model on chips in chosen formats) and the step model evaluated on it.

:func:`deployment` reads every input but batch and context from hwdb (through :mod:`claims.step_inputs`);
:func:`evaluate` runs :mod:`claims.stepmodel`'s formulas on it, compiled once per code version and
vectorised over batch and context; :func:`fewest_chips` searches the memory fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

import hwdb
from hwdb import Database, Record

from . import compiled, derivation_cache
from . import stepmodel as sm
from .engine import Derivation, Detail
from .step_inputs import (
    ACTIVATION_FORMAT,
    FLOP_PER_PARAM,
    RESERVE_RECORD,
    StepError,
    Used,
    chip_and_count,
    datatype,
    flop_rate,
    format_bytes,
    kv_bytes_per_layer_token,
    model_shape,
    read_quantity,
)


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
    chip, system, count, link_field = chip_and_count(db, hw, chips, used)
    layout = layout or ("ep" if m.has("routed_experts") else "tp")
    if layout not in sm.LAYOUTS:
        raise StepError(f"--layout {layout}: known layouts are {', '.join(sm.LAYOUTS)}")
    fmt_w, fmt_kv, fmt_m = datatype(db, weights, "weights"), datatype(db, kv, "kv"), datatype(db, math_format, "math")
    fmt_a = datatype(db, attention_math or math_format, "attention-math")
    fmt_act = db[ACTIVATION_FORMAT]

    shape = model_shape(m, used)
    b_w = format_bytes(fmt_w, used, "weights")
    layer_bytes = kv_bytes_per_layer_token(m, fmt_kv, used)

    w_bw = read_quantity(chip, "hbm_bandwidth", "B/s", used, "for every memory time")
    # The memory fit counts what the device reports to software where hwdb has it, else the datasheet's figure.
    capacity = read_quantity(chip, "hbm_for_fit", "B", used, "for the memory fit")
    f_w = flop_rate(chip, fmt_m, "math", used)
    f_a = flop_rate(chip, fmt_a, "attention-math", used)
    link = read_quantity(chip, link_field, "B/s", used, "to move hidden states between chips") if count > 1 else 1.0
    b_a = format_bytes(fmt_act, used, "activations")
    if reserve is None:
        if RESERVE_RECORD not in db.records:
            raise StepError(f"hwdb has no record '{RESERVE_RECORD}' (the HBM a deployment keeps free)")
        rec = db[RESERVE_RECORD]
        reserve = read_quantity(rec, "memory_reserve", "", used, "for the HBM a deployment keeps free")
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
