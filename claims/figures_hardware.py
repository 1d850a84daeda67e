"""Figures of the hardware: chips' FLOP/s, bandwidth and ratios by year, rooflines, scale-up domains
and memory tiers, each drawn from the hwdb records a claim judges.
"""

from __future__ import annotations

import numpy as np
from matplotlib import transforms
from matplotlib.figure import Figure

from hwdb import Database, derived

from . import formatting
from .engine import Evaluation
from .figdraw import Evaluations, finish_axes, named_bars, rows_of, vendor_of, vendor_scatter
from .figlabels import short_name
from .figstyle import BLUE, GREEN, GREY, INK, ORANGE, PURPLE, SERIES, VERMILLION, Layout, panel, vendor_style
from .registry import get_claim


def hardware_ratio(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Dense BF16 FLOP/s against HBM bandwidth, with the lecture's ratio as a line.

    Drawn from ``rooflines.hardware-ratio``, whose rows these chips are: no model enters it.
    """
    ratio = evaluations["rooflines.hardware-ratio"]
    lecture_ratio = ratio.claim.stated.value
    fig, ax = panel(layout, 4.8)
    points = []
    for row in ratio.rows:
        rec = row.record
        assert rec is not None
        bw = rec["hbm_bandwidth"].quantity.to("TB/s").magnitude
        flops = rec["bf16_flops"].quantity.to("TFLOP/s").magnitude
        points.append((rec, bw, flops))
    xs = np.array([x for _, x, _ in points])
    bws = np.geomspace(xs.min() / 1.4, xs.max() * 1.4, 50)
    # ratio (tokens at sparsity 1) = F * b / (c * W); for BF16 (b = 2 B/param, c = 2 FLOP/(param*token)) F/W = ratio
    bytes_per_weight = db["bf16"]["storage_per_parameter"].quantity.to("B/param").magnitude
    flop_per_weight = next(c.value for c in ratio.claim.constants if str(c.symbol) == "c")
    flop_per_byte = lecture_ratio * flop_per_weight / bytes_per_weight
    ax.plot(bws, flop_per_byte * bws, "--", color=GREY, lw=1.4, label=f"lecture's ratio, {lecture_ratio:.0f}")
    finish_axes(fig, ax, layout, "HBM bandwidth (TB/s)", "dense BF16 (TFLOP/s)", xlog=10, ylog=10)
    vendor_scatter(fig, ax, points, layout)
    return fig


def _by_year(evaluation: Evaluation, ylabel: str, layout: Layout, unit: bool = True) -> Figure:
    """Each row's value against its record's release year, with the lecture's figure as a line.

    ``unit=False`` leaves the claim's unit off the legend where the axis label already names the quantity.
    """
    fig, ax = panel(layout, 4.8, narrow=6.0)  # a year holds many chips: a phone's column needs the height
    points = [(rec, float(int(str(rec.meta.get("year")))), value) for rec, value in rows_of(evaluation)]
    stated = formatting.stated(evaluation) if unit else formatting.number(evaluation.claim.stated.value)
    ax.axhline(evaluation.claim.stated.value, ls="--", lw=1.4, color=GREY, label=f"lecture: {stated}")
    years = [x for _, x, _ in points]
    top = max(v for _, _, v in points) * 1.12
    finish_axes(fig, ax, layout, "year of release", ylabel, xlim=(min(years) - 0.7, max(years) + 0.7), ylim=(0, top))
    ax.set_xticks(range(int(min(years)), int(max(years)) + 1, 2))
    vendor_scatter(fig, ax, points, layout)
    return fig


def drain_time(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """HBM capacity / bandwidth by release year, with the lecture's figure."""
    return _by_year(evaluations["serving.train-interval"], "HBM capacity ÷ bandwidth (ms)", layout)


#: The roofline's chips: three NVIDIA generations (GB200 is the chip the balanced batch is computed for,
#: whose ridge the caption points to), and the newest TPU and Instinct.
ROOFLINE_CHIPS = ("a100-sxm", "h100-sxm", "gb200", "tpu-v7", "mi355x")


def roofline(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Attainable dense BF16 FLOP/s against arithmetic intensity, with decode and prefill marked."""
    ratio = evaluations["rooflines.hardware-ratio"]
    chosen = [r.record for r in ratio.rows if r.record is not None and r.record.id in ROOFLINE_CHIPS]
    fig, ax = panel(layout, 4.6)
    intensity = np.geomspace(1, 1e4, 400)
    # One colour per chip (three are NVIDIA's, so the vendor colour cannot tell them apart); the
    # vendor's marker sits on each chip's ridge point.
    for rec, colour, dash in zip(chosen, SERIES, ("-", "--", "-.", ":", "-"), strict=False):
        peak = rec["bf16_flops"].quantity.to("TFLOP/s").magnitude
        bandwidth = rec["hbm_bandwidth"].quantity.to("TB/s").magnitude
        marker = vendor_style(rec.meta.get("vendor"))[1]
        label = f"{vendor_of(rec)} {short_name(rec)}"
        ax.plot(intensity, np.minimum(peak, bandwidth * intensity), color=colour, ls=dash, label=label)
        ax.plot([peak / bandwidth], [peak], marker=marker, color=colour, ms=7, ls="none")
    # A BF16 step over B tokens of a model with sparsity S does 2·B·N_active FLOP per 2·N_total
    # weight bytes: intensity B/S. Batch one of a dense model sits at 1; DeepSeek-V3 at its
    # balanced batch (the hardware ratio times S) sits at the ridge of the chip it is served on,
    # the GB200 of batch.optimal-size: at that chip's hardware ratio, whatever the model.
    decode = 1.0
    rows = get_claim("batch.optimal-size").rows  # the claim's definition, not its evaluation: no model enters
    assert rows is not None
    balanced = next(r.value for r in ratio.rows if r.record is not None and r.record.id == rows.reference)
    top = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    ax.axvline(decode, ls=":", lw=1.4, color=INK)
    # Written where no roof runs: above the slopes at batch one, below the roofs at the balanced batch.
    ax.text(decode * 1.2, 0.97, "batch 1, dense model", fontsize=layout.note, rotation=90, va="top", transform=top)
    ax.axvline(balanced, ls="--", lw=1.4, color=GREY)
    ax.text(balanced * 1.12, 2, "DeepSeek-V3, balanced batch", fontsize=layout.note, rotation=90, va="bottom")
    xlabel, ylabel = "FLOP per byte of weights read", "attainable dense BF16 (TFLOP/s)"
    finish_axes(fig, ax, layout, xlabel, ylabel, xlog=10, ylog=10, ylim=(1, None), legend=2)
    return fig


def ratio_by_year(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """The hardware ratio of each accelerator against its year, with the lecture's figure."""
    return _by_year(evaluations["rooflines.hardware-ratio"], "multiply-adds per weight read", layout, unit=False)


def scale_up_domains(db: Database, evaluations: Evaluations, layout: Layout) -> tuple[Figure, ...]:
    """NVIDIA scale-up domains: GPUs and aggregate HBM bandwidth, derived from the system records."""
    systems = [s for s in db.of_kind("system") if vendor_of(db[str(s.meta["accelerator"])]) == "NVIDIA"]
    systems.sort(key=lambda s: (int(str(db[str(s.meta["accelerator"])].meta.get("year"))), s.id))
    names = [short_name(s, maker="NVIDIA") for s in systems]
    chips = [s["chips"].quantity.magnitude for s in systems]
    totals = [derived.system_totals(db, s)["hbm_bandwidth"].to("TB/s").magnitude for s in systems]
    panels = []
    for heights, colour, label in (
        (chips, GREEN, "GPUs in the scale-up domain"),
        (totals, BLUE, "aggregate HBM bandwidth (TB/s)"),
    ):
        fig, ax = panel(layout, 0.7 + 0.42 * len(systems))
        named_bars(ax, names, heights, colour, layout)
        finish_axes(fig, ax, layout, label, grid="x")
        panels.append(fig)
    return tuple(panels)


def tier_drain(db: Database, evaluations: Evaluations, layout: Layout) -> Figure:
    """Drain time of each memory tier on a log scale, with the prompt-cache lifetimes."""
    tiers = sorted(db.of_kind("memory-tier"), key=lambda r: float(derived.drain_time(r).to("s").magnitude))  # type: ignore[union-attr]
    seconds = [float(derived.drain_time(r).to("s").magnitude) for r in tiers]  # type: ignore[union-attr]
    sheet = db["claude-opus-4-5"]
    fig, ax = panel(layout, 1.1 + 0.42 * len(tiers))
    named_bars(ax, [short_name(r, maker="") for r in tiers], seconds, PURPLE, layout)
    for name, colour, dash, label in (
        ("cache_short_duration", VERMILLION, "--", "short prompt-cache lifetime"),
        ("cache_long_duration", ORANGE, "-.", "long prompt-cache lifetime"),
    ):
        ax.axvline(sheet[name].quantity.to("s").magnitude, ls=dash, color=colour, label=label)
    limits = (min(seconds) / 3, max(seconds) * 3)
    finish_axes(fig, ax, layout, "capacity ÷ bandwidth (s)", xlog=10, xlim=limits, grid="x", legend=1)
    return fig
