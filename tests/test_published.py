"""Published benchmarks against the step model: the reading of each record, the bands, and bad records."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import hwdb
from claims import published
from claims.deployment import step


def db() -> hwdb.Database:
    return hwdb.load([])


def test_every_comparison_is_the_step_model_on_its_own_deployment() -> None:
    for rid, c in published.compare_all(db()).items():
        record = db()[rid]
        hardware = db()[str(record.meta["hardware"])]
        if hardware.kind == "system" and c.chips > int(hardware["chips"].quantity.magnitude):
            hardware = db()[str(hardware.meta["accelerator"])]
        again = step(
            str(record.meta["model"]),
            hardware.id,
            c.chips,
            round(c.batch),
            c.context,
            weights=str(record.meta["weights"]),
            kv=str(record.meta["kv"]),
            math=str(record.meta["math"]),
            attention_math=str(record.meta.get("attention_math", record.meta["math"])),
            layout=str(record.meta.get("layout")) if "layout" in record.meta else None,
            overlap=str(record.meta.get("overlap", "per-class")),
            db=db(),
        )
        assert again.step_s == pytest.approx(c.predicted_s, rel=1e-12), rid


def test_a_request_latency_is_read_per_output_token() -> None:
    c = published.compare_all(db())["amd-llama-3.1-70b-8xmi300x-fp8"]
    assert c.published_s == pytest.approx(15.591 / 2048)
    assert c.context == 128 + 2048 / 2


def test_deepseek_batch_comes_from_littles_law() -> None:
    """14.8k tokens/s per node at 21 tokens/s per sequence: ~705 sequences per node, over 18 nodes."""
    c = published.compare_all(db())["deepseek-v3-online-decode-h800"]
    assert c.batch == pytest.approx(14_800 / 21 * 18)
    assert c.chips == 144
    assert c.published_s == pytest.approx(1 / 21)


@pytest.mark.parametrize(
    ("ratio", "band"),
    [
        (0.1, "slower than the bound allows"),
        (0.2, "within the bound"),
        (1.1, "within the bound"),
        (1.2, "faster than the model"),
    ],
)
def test_bands(ratio: float, band: str) -> None:
    c = published.compare_all(db())["nim-llama-3.3-70b-2xh100-fp8"]
    moved = replace(c, predicted_s=ratio * c.published_s)
    assert moved.band == band


def test_a_moved_prediction_is_drift_naming_the_file() -> None:
    comparisons = published.compare_all(db())
    pinned = published.read()
    rid = "nim-llama-3.3-70b-2xh100-fp8"
    pinned = {**pinned, rid: {**pinned[rid], "predicted_s": pinned[rid]["predicted_s"] * 1.01}}
    (line,) = published.drift(comparisons, pinned)
    assert rid in line and "benchmarks/nim-llama-3.3-70b-2xh100-fp8.toml" in line and "predicted_s" in line


def test_a_benchmark_naming_an_unknown_model_is_refused(tmp_path: Path) -> None:
    overlay = tmp_path / "bad.toml"
    overlay.write_text(
        """
[[record]]
id = "my-bench"
kind = "benchmark"
name = "a benchmark of a model hwdb lacks"
source = "lecture"
[record.meta]
model = "no-such-model"
hardware = "h100-sxm"
weights = "bf16"
kv = "bf16"
math = "bf16"
[record.fields.gpus]
value = 1
unit = "1"
""",
        encoding="utf-8",
    )
    with pytest.raises(hwdb.HwdbError, match=r"meta.model must name a model record, got 'no-such-model'"):
        hwdb.load([overlay])


def test_a_benchmark_without_a_measurement_is_refused(tmp_path: Path) -> None:
    record = replace(
        db()["nim-llama-3.3-70b-2xh100-fp8"], fields={"gpus": db()["nim-llama-3.3-70b-2xh100-fp8"]["gpus"]}
    )
    with pytest.raises(published.PublishedError, match="needs batch"):
        published.compare(record, db())
