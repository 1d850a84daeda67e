"""measure/: the roofline fit, the overlay it writes, and (where torch is installed) the whole CLI on a CPU."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REPO
from hypothesis import given
from hypothesis import strategies as st

import hwdb
from hwdb import HwdbError, load_from
from measure import SCRIPT_VERSION
from measure.analysis import RidgeFitError, Spread, fit_ridge, log_sweep, median, summarize
from measure.records import FieldValue, Measurement, render, toml_number, toml_string, write

SWEEP = np.array(log_sweep(16384), dtype=np.float64)  # the GPU run's batches: 1, 2, 3, 4, 6, ..., 16384

#: The stated tolerance: with every time off by a factor within exp(±ε), the fitted ridge is
#: within a factor exp(2.5ε) of the true one. (At worst the floor reads ε high and the line ε
#: low, moving the ridge by e^{2ε}; the extra half ε is headroom for points at the kink.)
NOISE_TOLERANCE = 2.5

floor_times = st.floats(min_value=1e-7, max_value=10.0)
ridges = st.floats(min_value=4.0, max_value=4096.0)  # at least ×4 inside the sweep at both ends
noise_levels = st.floats(min_value=0.0, max_value=0.05)
unit_noise = st.lists(st.floats(min_value=-1.0, max_value=1.0), min_size=SWEEP.size, max_size=SWEEP.size)


def _roofline(t0: float, ridge: float, batches: np.ndarray = SWEEP) -> np.ndarray:
    return np.maximum(t0, t0 / ridge * batches)


# --- statistics -----------------------------------------------------------------------------


def test_summary_of_a_small_sample() -> None:
    s = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.n, s.minimum, s.q1, s.median, s.q3, s.maximum) == (5, 1.0, 2.0, 3.0, 4.0, 5.0)
    assert s.relative_iqr == pytest.approx(2 / 3)
    assert median([1.0, 1.0, 1.0, 100.0]) == 1.0  # one slow sample does not move the figure


def test_rates_reverse_the_order_of_times() -> None:
    rate = Spread(3, 1.0, 2.0, 4.0, 5.0, 10.0).rate(100.0)
    assert (rate.minimum, rate.q1, rate.median, rate.q3, rate.maximum) == (10.0, 20.0, 25.0, 50.0, 100.0)
    with pytest.raises(ValueError, match="positive"):
        Spread(1, 0.0, 0.0, 0.0, 0.0, 0.0).rate(1.0)


@pytest.mark.parametrize("bad", [[], [1.0, math.nan], [math.inf]])
def test_summary_refuses_empty_or_non_finite_samples(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        summarize(bad)


@given(st.lists(st.floats(min_value=1e-9, max_value=1e3), min_size=1, max_size=50))
def test_spread_is_ordered(samples: list[float]) -> None:
    s = summarize(samples)
    assert s.minimum <= s.q1 <= s.median <= s.q3 <= s.maximum
    assert s.minimum == min(samples) and s.maximum == max(samples)


# --- the ridge fit --------------------------------------------------------------------------


def test_log_sweep_is_even_on_log_axes() -> None:
    assert log_sweep(16384)[:8] == (1, 2, 3, 4, 6, 8, 12, 16)
    assert log_sweep(16384)[-1] == 16384 and len(SWEEP) == 28
    ratios = SWEEP[1:] / SWEEP[:-1]
    assert ratios.max() <= 2.0 and ratios.min() >= 4 / 3
    with pytest.raises(ValueError):
        log_sweep(0)


@given(t0=floor_times, ridge=ridges)
def test_noise_free_roofline_is_recovered_exactly(t0: float, ridge: float) -> None:
    fit = fit_ridge(SWEEP, _roofline(t0, ridge))
    assert fit.ridge_batch == pytest.approx(ridge, rel=1e-9)
    assert fit.floor_time == pytest.approx(t0, rel=1e-9)
    assert fit.time_per_row == pytest.approx(t0 / ridge, rel=1e-9)
    assert fit.rms_log_residual < 1e-9
    assert int(np.sum(ridge * (1 - 1e-6) > SWEEP)) <= fit.points_on_floor <= int(np.sum(ridge * (1 + 1e-6) > SWEEP))


@given(t0=floor_times, ridge=ridges, eps=noise_levels, noise=unit_noise)
def test_bounded_relative_noise_moves_the_ridge_by_at_most_the_stated_tolerance(
    t0: float, ridge: float, eps: float, noise: list[float]
) -> None:
    times = _roofline(t0, ridge) * np.exp(eps * np.asarray(noise))
    fit = fit_ridge(SWEEP, times)
    assert abs(math.log(fit.ridge_batch / ridge)) <= NOISE_TOLERANCE * eps + 1e-9
    assert abs(math.log(fit.floor_time / t0)) <= NOISE_TOLERANCE * eps + 1e-9


def test_gaussian_timing_noise_of_three_percent() -> None:
    """A realistic case: log-normal noise (3 %) on the GPU sweep's batches, ridge 233."""
    rng = np.random.default_rng(2026)
    for _ in range(50):
        times = _roofline(4e-5, 233.0) * np.exp(rng.normal(0.0, 0.03, SWEEP.size))
        assert fit_ridge(SWEEP, times).ridge_batch == pytest.approx(233.0, rel=0.10)


@given(t0=floor_times, ridge=ridges, time_scale=st.floats(1e-3, 1e3), batch_scale=st.sampled_from([1, 2, 8, 64]))
def test_ridge_scales_with_batches_and_not_with_times(
    t0: float, ridge: float, time_scale: float, batch_scale: int
) -> None:
    base = fit_ridge(SWEEP, _roofline(t0, ridge))
    scaled = fit_ridge(SWEEP * batch_scale, _roofline(t0, ridge) * time_scale)
    assert scaled.ridge_batch == pytest.approx(base.ridge_batch * batch_scale, rel=1e-9)
    assert scaled.floor_time == pytest.approx(base.floor_time * time_scale, rel=1e-9)


@given(data=st.data(), t0=floor_times, ridge=ridges)
def test_order_and_repeated_batches_do_not_matter(data: st.DataObject, t0: float, ridge: float) -> None:
    order = np.asarray(data.draw(st.permutations(range(2 * SWEEP.size))))
    twice = np.concatenate([SWEEP, SWEEP])
    fit = fit_ridge(twice[order], _roofline(t0, ridge, twice)[order])
    assert fit.ridge_batch == pytest.approx(ridge, rel=1e-9)


@given(st.lists(st.floats(min_value=1.0, max_value=1.5), min_size=SWEEP.size, max_size=SWEEP.size))
def test_monotone_sweeps_fit_inside_the_sweep_or_say_why_not(steps: list[float]) -> None:
    """Any sweep whose time never falls with the batch: a ridge within the sweep, or a clear refusal."""
    times = 1e-5 * np.cumprod(steps)
    try:
        fit = fit_ridge(SWEEP, times)
    except RidgeFitError as exc:
        assert "never leaves the memory floor" in str(exc) or "never sits on the memory floor" in str(exc)
        return
    assert 2 * SWEEP.min() <= fit.ridge_batch <= SWEEP.max() / 2
    assert fit.points_on_floor >= 2 and fit.points_on_line >= 2
    fitted = [fit.predict(b) for b in SWEEP]
    assert all(later >= earlier for earlier, later in itertools.pairwise(fitted))


@given(t0=floor_times, eps=noise_levels, noise=unit_noise)
def test_a_sweep_that_never_leaves_the_floor_is_refused(t0: float, eps: float, noise: list[float]) -> None:
    with pytest.raises(RidgeFitError, match=r"never leaves the memory floor.*beyond"):
        fit_ridge(SWEEP, t0 * np.exp(eps * np.asarray(noise)))


@given(per_row=floor_times, eps=noise_levels, noise=unit_noise)
def test_a_sweep_that_never_sits_on_the_floor_is_refused(per_row: float, eps: float, noise: list[float]) -> None:
    with pytest.raises(RidgeFitError, match=r"never sits on the memory floor.*below"):
        fit_ridge(SWEEP, per_row * SWEEP * np.exp(eps * np.asarray(noise)))


def test_a_ridge_near_the_end_of_the_sweep_is_refused() -> None:
    """A ridge at 12 288 of a sweep ending at 16 384 has one point on the line: too few to trust."""
    with pytest.raises(RidgeFitError, match="never leaves"):
        fit_ridge(SWEEP, _roofline(1e-4, 12288.0))
    with pytest.raises(RidgeFitError, match="never sits"):
        fit_ridge(SWEEP, _roofline(1e-4, 1.5))


def test_implied_flop_rate_and_bandwidth() -> None:
    d = 8192
    weight = 2.0 * d * d  # BF16 bytes; also FLOP per row (2·d² per token)
    bandwidth, flops = 3.0e12, 700e12
    times = np.maximum(weight / bandwidth, SWEEP * weight / flops)
    fit = fit_ridge(SWEEP, times, flop_per_row=weight, floor_bytes=weight)
    assert fit.bandwidth == pytest.approx(bandwidth, rel=1e-9)
    assert fit.flop_rate == pytest.approx(flops, rel=1e-9)
    assert fit.ridge_batch == pytest.approx(flops / bandwidth, rel=1e-9)  # intensity of 1 FLOP/byte per row
    assert fit_ridge(SWEEP, times).flop_rate is None


@pytest.mark.parametrize(
    ("batches", "times", "message"),
    [
        ([1, 2, 4, 8], [1, 1, 2], "4 batches but 3 times"),
        ([1, 2, 4, 8, 16], [1, 1, 0, 2, 4], "positive"),
        ([1, -2, 4, 8, 16], [1, 1, 1, 2, 4], "positive"),
        ([1, 2, 4, 8, 16], [1, 1, math.nan, 2, 4], "finite"),
        ([1, 2, 4], [1, 1, 2], "at least 4 distinct"),
        ([1, 1, 1, 1, 2, 2], [1, 1, 1, 1, 2, 2], "at least 4 distinct"),
    ],
)
def test_malformed_sweeps_are_refused(batches: list[float], times: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_ridge(batches, times)


# --- the overlay file -----------------------------------------------------------------------

DATE = dt.date(2026, 11, 26)


def _measurement(**fields: FieldValue) -> Measurement:
    defaults = {
        "hbm_read_bandwidth": FieldValue(3.02, "TB/s", 'median of 30; IQR 3.01 to 3.03 TB/s, "quoted"'),
        "hbm_copy_bandwidth": FieldValue(2.91, "TB/s"),
        "bf16_matmul_flops": FieldValue(712.5, "TFLOP/s", "median of 30"),
        "fp8_matmul_flops": FieldValue(1301.0, "TFLOP/s"),
        "decode_ridge_batch": FieldValue(236.0, "token", "fit of 28 batches"),
    }
    return Measurement(
        accelerator="h100-sxm",
        device="NVIDIA H100 80GB HBM3",
        date=DATE,
        fields={**defaults, **fields},
        meta={"device": "NVIDIA H100 80GB HBM3", "cuda": "13.0", "script_version": SCRIPT_VERSION, "repeats": 30},
        source_note="device NVIDIA H100 80GB HBM3, driver 580.1\nsecond line\ttab",
    )


def _write(tmp_path: Path, measurement: Measurement) -> Path:
    path = tmp_path / "h100-sxm-measured.toml"
    write(measurement, path)
    return path


def test_written_overlay_loads_through_hwdb_with_units(tmp_path: Path) -> None:
    db = load_from(hwdb.DATA_DIR, [_write(tmp_path, _measurement())])
    record = db["h100-sxm-measured"]
    assert record.kind == "measurement" and record.name == "NVIDIA H100 80GB HBM3, measured"
    assert record.meta["accelerator"] == "h100-sxm" and db["h100-sxm"].kind == "accelerator"
    assert record.meta["script_version"] == SCRIPT_VERSION
    assert record["hbm_read_bandwidth"].quantity.to("GB/s").magnitude == pytest.approx(3020)
    assert record["hbm_read_bandwidth"].note == 'median of 30; IQR 3.01 to 3.03 TB/s, "quoted"'
    assert record["bf16_matmul_flops"].si == pytest.approx(712.5e12)
    assert record["fp8_matmul_flops"].quantity.to("PFLOP/s").magnitude == pytest.approx(1.301)
    assert record["decode_ridge_batch"].quantity.to("token").magnitude == pytest.approx(236)
    source = record["decode_ridge_batch"].source
    assert source.id == "measured-h100-sxm-2026-11-26" and source.retrieved == DATE
    assert source.note is not None and source.note.endswith("second line\ttab")


def test_only_the_read_bandwidth_is_required(tmp_path: Path) -> None:
    only = Measurement("h200", "NVIDIA H200", DATE, {"hbm_read_bandwidth": FieldValue(4.1, "TB/s")})
    db = load_from(hwdb.DATA_DIR, [_write(tmp_path, only)])
    assert set(db["h200-measured"].fields) == {"hbm_read_bandwidth"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("value = 3.02", "value = -3.02"), "field 'hbm_read_bandwidth': value must be positive"),
        (('unit = "TB/s"\nnote = "median of 30;', 'note = "median of 30;'), "field 'hbm_read_bandwidth': missing unit"),
        (('unit = "token"', 'unit = "TB/s"'), "field 'decode_ridge_batch': unit 'TB/s' has dimension"),
        (('unit = "TFLOP/s"\nnote', 'unit = "TB/s"\nnote'), "field 'bf16_matmul_flops': unit 'TB/s' has dimension"),
        (('accelerator = "h100-sxm"', 'accelerator = "h100-sxm-nope"'), "meta.accelerator must name an accelerator"),
        (("[record.fields.hbm_read_bandwidth]", "[record.fields.hbm_bandwidth]"), "not a field of a measurement"),
    ],
)
def test_a_bad_overlay_is_refused_by_the_loader(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = _write(tmp_path, _measurement())
    text = path.read_text()
    assert text.count(edit[0]) == 1, edit[0]
    path.write_text(text.replace(*edit))
    with pytest.raises(HwdbError) as info:
        load_from(hwdb.DATA_DIR, [path])
    assert message in str(info.value)
    assert "h100-sxm-measured.toml" in str(info.value)


def test_missing_read_bandwidth_is_refused_by_the_loader(tmp_path: Path) -> None:
    path = _write(tmp_path, _measurement())
    text = path.read_text()
    start = text.index("[record.fields.hbm_read_bandwidth]")
    path.write_text(text[:start] + text[text.index("[record.fields.hbm_copy_bandwidth]") :])
    with pytest.raises(HwdbError, match="field 'hbm_read_bandwidth': required for a measurement record"):
        load_from(hwdb.DATA_DIR, [path])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fields": {"hbm_read_bandwidth": FieldValue(-1.0, "TB/s")}}, "positive"),
        ({"fields": {"hbm_read_bandwidth": FieldValue(math.nan, "TB/s")}}, "positive and finite"),
        ({"fields": {"hbm_read_bandwidth": FieldValue(1.0, " ")}}, "missing unit"),
        ({"fields": {}}, "nothing was measured"),
        ({"accelerator": "H100 SXM"}, "lowercase slug"),
    ],
)
def test_records_refuses_what_hwdb_would_refuse(change: dict[str, Any], message: str) -> None:
    bad = dataclasses.replace(_measurement(), **change)
    with pytest.raises(ValueError, match=message):
        render(bad)


@given(st.text())
def test_any_text_survives_as_a_toml_string(text: str) -> None:
    assert tomllib.loads(f"k = {toml_string(text)}")["k"] == text


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**63), 2**63 - 1))
def test_any_finite_number_survives_as_a_toml_number(value: float) -> None:
    assert tomllib.loads(f"k = {toml_number(value)}")["k"] == value


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_not_written(value: float) -> None:
    with pytest.raises(ValueError):
        toml_number(value)


# --- the command line, on a CPU -------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "measure.roofline", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_quick_cpu_run_writes_an_overlay_hwdb_loads(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    run = _cli("--accelerator", "h100-sxm", "--out", str(tmp_path), "--quick", "--device", "cpu", "--repeats", "3")
    assert run.returncode == 0, run.stderr + run.stdout
    assert "HBM read bandwidth" in run.stdout and "skipped fp8" in run.stdout
    toml_path, json_path = tmp_path / "h100-sxm-measured.toml", tmp_path / "h100-sxm-measured.json"
    record = load_from(hwdb.DATA_DIR, [toml_path])["h100-sxm-measured"]
    assert {"hbm_read_bandwidth", "hbm_copy_bandwidth", "bf16_matmul_flops"} <= set(record.fields)
    assert "fp8_matmul_flops" not in record.fields  # no FP8 on a CPU: omitted, with the reason in the JSON
    assert record["hbm_read_bandwidth"].quantity.to("TB/s").magnitude > 0
    assert record.meta["accelerator"] == "h100-sxm" and record.meta["quick"] == "true"
    raw = json.loads(json_path.read_text())
    assert "CUDA device" in raw["skipped"]["fp8"]
    sweep = raw["decode_sweep"]
    assert [p["batch"] for p in sweep["points"]] == list(log_sweep(1024))
    assert all(len(p["samples_s"]) == 3 for p in sweep["points"])
    if "decode_ridge_batch" in record.fields:  # a busy CPU may blur the floor; then the reason is recorded
        assert record["decode_ridge_batch"].printed_value == pytest.approx(sweep["fit"]["ridge_batch"], rel=1e-3)
    else:
        assert "decode_ridge_batch" in raw["skipped"]


def test_cli_refuses_a_bad_accelerator_id(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    run = _cli("--accelerator", "H100 SXM", "--out", str(tmp_path), "--quick", "--device", "cpu")
    assert run.returncode == 2 and "not an hwdb id" in run.stderr
    assert not list(tmp_path.iterdir())


def test_fp8_code_path_runs_where_this_torch_offers_fp8_on_a_cpu() -> None:
    """The GPU run is one-shot: exercise the _scaled_mm call (layouts, scales, keywords) here first."""
    torch = pytest.importorskip("torch")
    from measure import roofline

    cpu = torch.device("cpu")
    assert roofline.fp8_unsupported(cpu) is not None  # the CLI still leaves FP8 out on a CPU
    tiny = dataclasses.replace(roofline.QUICK, matmul_n=64, warmup=1, repeats=2)
    try:
        results = roofline.fp8_matmul(cpu, tiny)
    except (RuntimeError, NotImplementedError) as exc:
        pytest.skip(f"this torch has no CPU FP8 matmul: {exc}")
    assert set(results) == {"fast_accum=False", "fast_accum=True"}
    assert all(t.rate.median > 0 and t.work == 2 * 64**3 for t in results.values())
