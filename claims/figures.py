"""Figures drawn from hwdb and claim evaluations at build time (no committed images).

Each figure function takes the database and the evaluations and returns a
matplotlib figure; :func:`render_svg` turns it into deterministic SVG text.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from hwdb import Database, Record

from .engine import Evaluation

Evaluations = dict[str, Evaluation]

VENDOR_COLOURS = {"NVIDIA": "#4c8c2b", "Google": "#3367d6", "AMD": "#c0392b"}


@dataclass(frozen=True)
class FigureSpec:
    name: str
    claims: tuple[str, ...]
    draw: Callable[[Database, Evaluations], Figure]


def _colour(record: Record) -> str:
    return VENDOR_COLOURS.get(str(record.meta.get("vendor")), "#555555")


def _rows(evaluation: Evaluation) -> list[tuple[Record, float]]:
    return [(r.record, r.value) for r in evaluation.rows if r.record is not None]


def hardware_ratio(db: Database, evaluations: Evaluations) -> Figure:
    """Dense BF16 FLOP/s against HBM bandwidth, with the lecture's ratio as a line."""
    batch = evaluations["batch.optimal-size"]
    lecture_ratio = batch.claim.stated.value / batch.reference.details["lecture_sparsity"]
    fig, ax = plt.subplots(figsize=(7, 4.6))
    for row in batch.rows:
        rec = row.record
        assert rec is not None
        bw = rec["hbm_bandwidth"].quantity.to("TB/s").magnitude
        flops = rec["bf16_flops"].quantity.to("TFLOP/s").magnitude
        ax.scatter(bw, flops, color=_colour(rec), s=36, zorder=3)
        ax.annotate(rec.id, (bw, flops), textcoords="offset points", xytext=(5, 3), fontsize=8)
    bws = np.geomspace(0.5, 30, 50)
    # ratio (tokens at sparsity 1) = F * b / (c * W); for BF16 (b = 2 B/param, c = 2 FLOP/(param*token)) F/W = ratio
    b = db["bf16"]["storage_per_parameter"].quantity.to("B/param").magnitude
    c = batch.claim.constants[0].value
    flop_per_byte = lecture_ratio * c / b
    ax.plot(bws, flop_per_byte * bws, "--", color="#888888", label=f"lecture's ratio ({lecture_ratio:.0f}), BF16")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("HBM bandwidth (TB/s)")
    ax.set_ylabel("dense BF16 throughput (TFLOP/s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def drain_time(db: Database, evaluations: Evaluations) -> Figure:
    """HBM capacity / bandwidth by release year, with the lecture's 20 ms."""
    train = evaluations["serving.train-interval"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for rec, value in _rows(train):
        year = int(str(rec.meta.get("year")))
        ax.scatter(year, value, color=_colour(rec), s=36, zorder=3)
        ax.annotate(rec.id, (year, value), textcoords="offset points", xytext=(5, 2), fontsize=8)
    ax.axhline(train.claim.stated.value, ls="--", color="#888888", label="lecture: ~20 ms")
    ax.set_xlabel("year of release")
    ax.set_ylabel("HBM capacity ÷ bandwidth (ms)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def cost_per_token(db: Database, evaluations: Evaluations) -> Figure:
    """Step time and cost per token against batch for DeepSeek-V3 on the reference GPU."""
    batch = evaluations["batch.optimal-size"]
    values = {i.symbol: i.field.quantity for i in batch.reference.inputs}
    c = batch.claim.constants[0]
    flops = values["F"].to("flop/s").magnitude
    bandwidth = values["W"].to("B/s").magnitude
    weight_bytes = (values["N_total"] * values["b"]).to("B").magnitude
    flop_per_token = values["N_active"].to("param").magnitude * c.value
    sizes = np.geomspace(1, 1e5, 200)
    fetch = weight_bytes / bandwidth
    step = np.maximum(sizes * flop_per_token / flops, fetch)
    optimum = fetch / batch.value
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    left.plot(sizes, step / fetch, color="#3367d6")
    left.set_ylabel("step time ÷ weight-fetch time")
    right.plot(sizes, (step / sizes) / optimum, color="#c0392b")
    right.set_ylabel("cost per token ÷ cost at B*")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axvline(batch.value, ls="--", color="#888888", label=f"B* = {batch.value:,.0f} tokens")
        ax.set_xlabel("batch (tokens)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    rec = batch.reference.record
    assert rec is not None
    fig.suptitle(
        f"DeepSeek-V3 in BF16 on {rec.name} "
        "(KV cache ignored; the ratios do not depend on how many chips share the weights)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


FIGURES: dict[str, FigureSpec] = {
    spec.name: spec
    for spec in (
        FigureSpec("hardware-ratio", ("batch.optimal-size",), hardware_ratio),
        FigureSpec("drain-time", ("serving.train-interval",), drain_time),
        FigureSpec("cost-per-token", ("batch.optimal-size",), cost_per_token),
    )
}


def render_svg(figure: Figure) -> str:
    """SVG text with no timestamp and a fixed hash salt, so builds are byte-identical."""
    buffer = io.StringIO()
    with plt.rc_context({"svg.hashsalt": "claims-book", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]
