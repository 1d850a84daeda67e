"""One decode step of a model on some chips, derived once in SymPy: bytes, FLOPs, time, memory fit.

Every serving figure in the book comes from these formulas: the claims substitute their inputs
into them, and :mod:`claims.step` lambdifies them for the command line, the Python API and the
explore page. All quantities are per chip, so one chip (``G = 1``) is the lecture's picture and a
deployment over ``G`` chips divides the work by its parallel layout:

- *tensor parallel* (``tp``): every matrix is split over the G chips, each layer ends in two
  all-reduces of the batch's hidden states; a KV head cannot be split, so when the chips outnumber
  the KV heads (and always for a latent cache, which every head reads) the cache is replicated;
- *expert parallel* (``ep``): the routed experts are spread over the chips, everything else
  (attention, dense layers, shared experts) is replicated and each chip runs its own share of the
  sequences (data parallel), and every MoE layer sends each token to its experts and back.

A step has three classes of work. The weights' matrix multiplies read the weights and do
2 FLOP per active parameter per token; attention reads each sequence's KV cache and does a fixed
number of FLOP per cached token; and communication moves hidden states between chips. Each class
takes the longer of its compute and its memory time (the *per-class* reading, the default); the
*whole-step* reading lets one class's compute hide another's memory traffic; the *additive* reading
is the lecture's, where attention is only ever a KV read.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import sympy as sp

# Batch and context: B sequences, each emitting one token per step, each with L tokens of context.
B, L, G = sp.symbols("B L G", positive=True)
# Model: parameters read by every token whatever its routing, all routed-expert parameters, active parameters.
N_ar, N_r, N_act = sp.symbols("N_always N_routed N_active", positive=True)
E, k = sp.symbols("E_routed E_chosen", positive=True)  # routed experts per MoE layer, chosen per token
c = sp.Symbol("c", positive=True)  # FLOP per active parameter per token (2: one multiply-add)
# Formats: bytes per stored weight (scales included); KV bytes per cached token; its replication over chips.
b_w, kappa, rho = sp.symbols("b_w kappa rho", positive=True)
A = sp.Symbol("A", positive=True)  # attention FLOP per new token per cached token
# Chip: FLOP/s of the weights' and attention's arithmetic formats, HBM bandwidth and capacity, reserve share.
F_w, F_a, W, M = sp.symbols("F_w F_a W M_HBM", positive=True)
r = sp.Symbol("r", nonnegative=True)
# Communication: scale-up bandwidth per chip per direction, hidden width, bytes per activation, layers.
S, h, b_a, n_L, n_M = sp.symbols("S h b_a n_layers n_MoE", positive=True)
sigma = sp.Symbol("sigma", positive=True)  # share of the always-read weights one chip holds

T_mm, T_w, T_att, T_kv, T_comm, T_step = sp.symbols("T_mm T_w T_att T_KV T_comm T_step", positive=True)
B_star, L_max = sp.symbols("B^* L_max", positive=True)

#: The readings of a step (how its classes of work overlap), and what each means.
OVERLAPS = {
    "per-class": "each class takes the longer of its compute and memory time; the classes run one after another",
    "whole-step": "all compute overlaps all memory traffic: the step is the longer of the two totals",
    "additive": "the lecture's reading: attention is only a KV read, its FLOPs never bind",
    "comm-hidden": "per class, with communication overlapped behind the rest of the step (two micro-batches, "
    "as DeepSeek runs decode): the step is the longer of the two",
}
#: The parallel layouts and what each splits.
LAYOUTS = {
    "tp": "tensor parallel: every matrix split over the chips, two all-reduces per layer",
    "ep": "expert parallel: routed experts spread over the chips, attention and dense parts replicated (data "
    "parallel), one dispatch and one combine per MoE layer",
}


def touched(batch: sp.Expr) -> sp.Expr:
    """Expected share of a layer's routed experts that ``batch`` tokens touch, routing uniform and independent:
    each token misses a given expert with probability 1 - k/E (real routers are balanced by design)."""
    return 1 - (1 - k / E) ** batch


class Formulas(NamedTuple):
    """The step's closed forms for one parallel layout, per chip, in the symbols above."""

    weights_read: sp.Expr  # bytes of weights one chip reads per step
    kv_read: sp.Expr  # bytes of KV cache one chip reads per step
    flops: sp.Expr  # FLOP one chip does per step
    compute: sp.Expr  # T_mm: the weights' matrix multiplies
    weights: sp.Expr  # T_w: reading the weights
    attention: sp.Expr  # T_att: attention's arithmetic
    kv: sp.Expr  # T_KV: reading the KV cache
    comm: sp.Expr  # T_comm: hidden states over the scale-up links
    memory: sp.Expr  # bytes one chip must hold
    capacity: sp.Expr  # bytes one chip may fill (its HBM less the reserve)
    critical_batch: sp.Expr  # the batch at which all compute equals all memory traffic (every expert touched)
    context_limit: sp.Expr  # the context past which no batch balances
    dense_balanced: sp.Expr  # the balanced batch of a matrix every token reads (the chip's ratio)
    expert_balanced: sp.Expr  # the balanced batch of one routed expert's matrices
    max_batch: sp.Expr  # the most sequences whose KV fits beside the weights (before rounding down)
    hop: sp.Expr  # one pipeline-stage boundary: the batch's hidden states, each of G chips sending its share


#: The link a pipeline stage's boundary crosses, per chip per direction (stages are usually racks: the NICs).
S_hop = sp.Symbol("S_hop", positive=True)


def step_time(f: Formulas, overlap: str) -> sp.Expr:
    """One step's time under a reading of how its classes of work overlap."""
    if overlap == "per-class":
        return sp.Max(f.compute, f.weights) + sp.Max(f.attention, f.kv) + f.comm
    if overlap == "whole-step":
        return sp.Max(f.compute + f.attention, f.weights + f.kv) + f.comm
    if overlap == "additive":
        return sp.Max(f.compute, f.weights) + f.kv + f.comm
    if overlap == "comm-hidden":
        return sp.Max(sp.Max(f.compute, f.weights) + sp.Max(f.attention, f.kv), f.comm)
    raise ValueError(f"unknown overlap {overlap!r}; known: {', '.join(OVERLAPS)}")


#: Bytes of KV cache one chip reads per step, in every layout: each of its B/G sequences' L cached tokens at κ
#: bytes a token, ρ times (a module constant, so a claim can build on it without deriving the rest).
KV_READ = rho * B * L * kappa / G


@cache
def formulas(layout: str) -> Formulas:
    """The step's closed forms for ``layout`` ("tp" or "ep"), derived and checked once per process."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown parallel layout {layout!r}; known: {', '.join(LAYOUTS)}")
    held_weights = b_w * (sigma * N_ar + N_r / G)
    weights_read = b_w * (sigma * N_ar + N_r * touched(B) / G)
    kv_read = KV_READ
    flops = (c * N_act + A * L) * B / G
    if layout == "tp":
        # Two ring all-reduces of the batch's hidden states per layer; each chip sends 2(G-1)/G of the data.
        comm_bytes = n_L * 2 * 2 * (G - 1) / G * B * h * b_a
    else:
        # Each of a chip's B/G tokens goes to its k experts and comes back, (G-1)/G of them on another chip.
        comm_bytes = n_M * 2 * k * (B / G) * h * b_a * (G - 1) / G
    compute = c * N_act * B / (G * F_w)
    attention = A * L * B / (G * F_a)
    memory = held_weights + kv_read
    capacity = M * (1 - r)
    # Balance every compute term against every memory term, with every expert touched (large batches).
    balance = sp.Eq(compute + attention, (held_weights + kv_read) / W)
    (critical,) = sp.solve(balance, B)
    denominator = sp.denom(sp.together(critical))
    (limit,) = sp.solve(sp.Eq(denominator, 0), L)
    if sp.simplify(critical.subs(A, 0).subs(rho, 0) - held_weights * G * F_w / (W * c * N_act)) != 0:
        raise AssertionError("without attention and KV the critical batch should be the weight-fetch balance")
    (fits,) = sp.solve(sp.Eq(memory, capacity), B)
    return Formulas(
        weights_read=weights_read,
        kv_read=kv_read,
        flops=flops,
        compute=compute,
        weights=weights_read / W,
        attention=attention,
        kv=kv_read / W,
        comm=comm_bytes / S,
        memory=memory,
        capacity=capacity,
        critical_batch=critical,
        context_limit=limit,
        dense_balanced=F_w * b_w / (c * W),
        expert_balanced=(E / k) * F_w * b_w / (c * W),
        max_batch=fits,
        hop=B * h * b_a / (G * S_hop),
    )


def steps(layout: str = "tp") -> tuple[tuple[str, sp.Expr], ...]:
    """The derivation as the book prints it: each step a sentence and an equation."""
    f = formulas(layout)
    # The limit in the form a reader compares: one sequence's weight arithmetic per token over how much
    # longer a cached token takes to read than to attend to (the same closed form, checked).
    limit = (c * N_act / F_w) / (rho * kappa / W - A / F_a)
    if sp.simplify(limit - f.context_limit) != 0:
        raise AssertionError("the printed context limit differs from the solved one")
    per_class = sp.Max(T_mm, T_w) + sp.Max(T_att, T_kv) + T_comm
    return (
        ("Time of the weights' matrix multiplies: 2 FLOP per active parameter per token", sp.Eq(T_mm, f.compute)),
        (
            "Time to read the weights: those every token reads, and the share of routed experts the batch touches",
            sp.Eq(T_w, f.weights),
        ),
        ("Time of attention's arithmetic: A FLOP per new token per cached token", sp.Eq(T_att, f.attention)),
        ("Time to read every sequence's KV cache", sp.Eq(T_kv, f.kv)),
        ("Time to move hidden states between the chips", sp.Eq(T_comm, f.comm)),
        (
            "and, where a deployment is split into pipeline stages, for one stage's boundary",
            sp.Eq(sp.Symbol("T_hop", positive=True), f.hop),
        ),
        ("Each class of work takes the longer of its compute and memory time", sp.Eq(T_step, per_class)),
        ("All compute equals all memory traffic at the batch", sp.Eq(B_star, f.critical_batch)),
        ("which exists only below the context", sp.Eq(L_max, limit)),
    )
