"""The step model: its parts against hand calculations, its properties, its units and its refusals.

The hand calculations use the records' own numbers, read here independently of the step model, and
write each formula out the way an architect would on paper.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pint
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import hwdb
from claims import deployment as step_module
from claims import stepmodel as sm
from claims.__main__ import main
from claims.deployment import StepError, step


@cache
def db() -> hwdb.Database:
    return hwdb.load([])


def si(record: str, field: str, unit: str) -> float:
    return float(db()[record][field].quantity.to(unit).magnitude)


def test_gqa_dense_memory_bound_by_hand() -> None:
    """Llama 3.1 70B on 8 H100 SXM, BF16, batch 64 at 8,192 tokens: weights plus KV over 8 HBMs, to 1 %."""
    r = step("llama-3.1-70b", "hgx-h100", 8, 64, 8192, db=db())
    weights = si("llama-3.1-70b", "total_params", "param") * 2
    kv_per_token = si("llama-3.1-70b", "layers", "") * 2 * si("llama-3.1-70b", "kv_heads", "") * 128 * 2
    kv = 64 * 8192 * kv_per_token
    bandwidth = 8 * si("h100-sxm", "hbm_bandwidth", "B/s")
    by_hand = (weights + kv) / bandwidth
    assert r.bound == "kv"
    # The memory-bound parts are the hand calculation; communication (two all-reduces a layer) comes on top.
    assert r.weights_s + r.kv_s == pytest.approx(by_hand, rel=0.01)
    assert r.step_s - r.comm_s == pytest.approx(by_hand, rel=0.01)
    assert r.compute_s + r.attention_s < 0.2 * r.step_s
    # Per chip: an eighth of the weights and of the cache (8 KV heads over 8 chips: nothing replicated).
    assert r.memory_bytes == pytest.approx((weights + kv) / 8, rel=1e-9)
    assert r.fits


def test_gqa_replicates_kv_past_its_heads() -> None:
    """Tensor parallel over more chips than KV heads copies each head: Llama 3.1 405B has 8."""
    one = step("llama-3.1-405b", "gb200-nvl72", 8, 16, 4096, db=db())
    more = step("llama-3.1-405b", "gb200-nvl72", 16, 16, 4096, db=db())
    assert more.kv_bytes == pytest.approx(one.kv_bytes, rel=1e-9)  # per chip: 16 chips, 2 copies of each head
    assert more.weights_bytes == pytest.approx(one.weights_bytes / 2, rel=1e-9)


def test_mla_attention_flops_count() -> None:
    """DeepSeek-V3 on a GB200 GPU, FP8 weights and math, BF16 KV and attention, batch 5,670 at 4,989 tokens:
    all its compute is more than twice the weights' compute alone, and it fills ~83 % of the step."""
    r = step("deepseek-v3", "gb200", 1, 5670, 4989, weights="fp8", math="fp8", attention_math="bf16", db=db())
    assert r.compute_s + r.attention_s > 2 * r.compute_s
    # By hand: 2 FLOP per active parameter per token at the FP8 rate; 2·heads·(576 + 512) FLOP per cached
    # token per layer at the BF16 rate.
    heads, layers = si("deepseek-v3", "attention_heads", ""), si("deepseek-v3", "layers", "")
    attention = 2 * heads * (576 + 512) * layers * 4989 * 5670 / si("gb200", "bf16_flops", "flop/s")
    assert r.attention_s == pytest.approx(attention, rel=1e-9)
    kv = 5670 * 4989 * layers * 576 * 2 / si("gb200", "hbm_bandwidth", "B/s")
    assert r.kv_s == pytest.approx(kv, rel=1e-9)
    assert 0.8 < r.compute_share < 0.86
    assert r.comm_s == 0  # one chip sends nothing
    # The balance with attention counted exists only below ~7,400 tokens of context.
    assert 7000 < r.context_limit < 7800
    # Per operation: a dense matrix balances at the chip's ratio, one routed expert at 256/8 times it.
    assert r.expert_balanced_batch == pytest.approx(32 * r.dense_balanced_batch, rel=1e-9)


def test_sliding_window_caps_local_layers() -> None:
    """Gemma 3 27B: 52 of 62 layers keep only 1,024 tokens, so past the window the cache grows by 10 layers."""
    short = step("gemma-3-27b", "h100-sxm", 1, 1, 1024, db=db())
    long = step("gemma-3-27b", "h100-sxm", 1, 1, 9216, db=db())
    per_layer_token = 16 * 128 * 2 * 2  # K and V per KV head, BF16
    assert short.kv_bytes == pytest.approx(62 * 1024 * per_layer_token, rel=1e-9)
    assert long.kv_bytes - short.kv_bytes == pytest.approx(10 * 8192 * per_layer_token, rel=1e-9)


def test_formats_change_bytes_and_rates() -> None:
    bf16 = step("llama-3.1-70b", "h100-sxm", 1, 8, 2048, db=db())
    fp8 = step("llama-3.1-70b", "h100-sxm", 1, 8, 2048, weights="fp8", kv="fp8", math="fp8", db=db())
    assert fp8.weights_bytes == pytest.approx(bf16.weights_bytes / 2)
    assert fp8.kv_bytes == pytest.approx(bf16.kv_bytes / 2)
    assert fp8.compute_s == pytest.approx(bf16.compute_s / 2)


def test_inputs_carry_sources() -> None:
    r = step("deepseek-v3", "gb200-nvl72", 72, 256, 4096, weights="fp8", math="fp8", db=db())
    described = r.describe()
    fields = {(i["record"], i["field"]) for i in described["inputs"]}
    assert ("gb200", "hbm_bandwidth") in fields and ("deepseek-v3", "kv_lora_rank") in fields
    assert ("serving-memory-reserve", "memory_reserve") in fields
    assert all(i["source"] and i["file"] for i in described["inputs"])
    assert described["layout"] == "ep"


# ------------------------------------------------------------------ properties

CASES = (
    ("llama-3.1-70b", "hgx-h100", 8, "bf16"),
    ("deepseek-v3", "gb200-nvl72", 72, "fp8"),
    ("gemma-3-27b", "h100-sxm", 1, "bf16"),
    ("qwen3-235b-a22b", "hgx-h200", 8, "fp8"),
    ("gpt-oss-120b", "h100-sxm", 1, "bf16"),
)
case = st.sampled_from(CASES)
batches = st.integers(min_value=1, max_value=20_000)
contexts = st.integers(min_value=0, max_value=300_000)


@settings(max_examples=60, deadline=None)
@given(case, batches, batches, contexts)
def test_monotonic_in_batch(c: tuple[str, str, int, str], b1: int, b2: int, ctx: int) -> None:
    model, hw, chips, fmt = c
    low, high = sorted((b1, b2))
    r = step(model, hw, chips, [low, high], ctx, weights=fmt, math=fmt, db=db())
    assert r.step_s[0] <= r.step_s[1] * (1 + 1e-12)
    assert r.memory_bytes[0] <= r.memory_bytes[1] * (1 + 1e-12)


@settings(max_examples=60, deadline=None)
@given(case, batches, contexts, contexts)
def test_monotonic_in_context(c: tuple[str, str, int, str], b: int, c1: int, c2: int) -> None:
    model, hw, chips, fmt = c
    low, high = sorted((c1, c2))
    r = step(model, hw, chips, b, [low, high], weights=fmt, math=fmt, db=db())
    assert r.step_s[0] <= r.step_s[1] * (1 + 1e-12)
    assert r.kv_bytes[0] <= r.kv_bytes[1] * (1 + 1e-12)


@settings(max_examples=60, deadline=None)
@given(case, batches, contexts, st.integers(min_value=2, max_value=9))
def test_compute_linear_in_batch(c: tuple[str, str, int, str], b: int, ctx: int, k: int) -> None:
    model, hw, chips, fmt = c
    r = step(model, hw, chips, [b, k * b], ctx, weights=fmt, math=fmt, db=db())
    assert r.compute_s[1] == pytest.approx(k * r.compute_s[0], rel=1e-9)
    assert r.attention_s[1] == pytest.approx(k * r.attention_s[0], rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(case, batches, contexts)
def test_fits_iff_bytes_within_capacity(c: tuple[str, str, int, str], b: int, ctx: int) -> None:
    model, hw, chips, fmt = c
    r = step(model, hw, chips, b, ctx, weights=fmt, math=fmt, db=db())
    assert r.fits == (r.memory_bytes <= r.capacity_bytes)
    if ctx >= 1 and 1 <= r.max_batch < 1e9:  # the largest batch that fits does fit, and one more does not
        at_max = step(model, hw, chips, [r.max_batch, r.max_batch + 1], ctx, weights=fmt, math=fmt, db=db())
        assert at_max.fits == [True, False]


def test_fewest_chips_holds_the_model() -> None:
    d = step_module.deployment("llama-3.1-405b", "gb200-nvl72", 8, db=db())
    fewest = step_module.fewest_chips(d, 1, 8192)
    assert fewest is not None
    held = si("llama-3.1-405b", "total_params", "param") * 2
    usable = si("gb200", "hbm_capacity", "B") * 0.9
    assert (fewest - 1) * usable < held <= fewest * usable * 1.01
    # the same search the JSON reports: with this batch's cache, more chips; past any count, none
    more = step_module.fewest_chips(d, 8, 32768)
    assert more is not None and more > fewest
    assert step_module.fewest_chips(d, 10**6, 131072, limit=64) is None


# ------------------------------------------------------------------ the formulas' units


def test_every_formula_has_the_units_it_claims() -> None:
    """Feed each closed form pint quantities of the right dimensions: times come out in seconds, bytes in bytes."""
    q = hwdb.Quantity
    values: dict[sp.Symbol, Any] = {
        sm.B: q(3, ""),
        sm.L: q(100, ""),
        sm.G: q(4, ""),
        sm.N_ar: q(1e9, "param"),
        sm.N_r: q(5e9, "param"),
        sm.N_act: q(2e9, "param"),
        sm.E: q(64, ""),
        sm.k: q(4, ""),
        sm.c: q(2, "flop/param"),
        sm.b_w: q(1, "B/param"),
        sm.kappa: q(1000, "B"),
        sm.rho: q(1, ""),
        sm.A: q(1e5, "flop"),
        sm.F_w: q(1e15, "flop/s"),
        sm.F_a: q(5e14, "flop/s"),
        sm.W: q(3e12, "B/s"),
        sm.M: q(80e9, "B"),
        sm.r: q(0.1, ""),
        sm.S: q(4.5e11, "B/s"),
        sm.h: q(4096, ""),
        sm.b_a: q(2, "B"),
        sm.n_L: q(32, ""),
        sm.n_M: q(30, ""),
        sm.sigma: q(1, ""),
        sm.S_hop: q(5e10, "B/s"),
    }
    expected = {"weights_read": "B", "kv_read": "B", "flops": "flop", "memory": "B", "capacity": "B"}
    expected |= {name: "s" for name in ("compute", "weights", "attention", "kv", "comm", "hop")}
    expected |= {name: "" for name in ("critical_batch", "dense_balanced", "expert_balanced", "max_batch")}
    for layout in sm.LAYOUTS:
        f = sm.formulas(layout)
        for name, unit in expected.items():
            expr = getattr(f, name)
            symbols = sorted(expr.free_symbols, key=str)
            result = sp.lambdify(symbols, expr, modules="numpy")(*(values[s] for s in symbols))
            assert isinstance(result, pint.Quantity), name
            assert result.to(unit).magnitude > 0, (layout, name)
        for overlap in sm.OVERLAPS:
            expr = sm.step_time(f, overlap)
            symbols = sorted(expr.free_symbols, key=str)
            args = [values[s].to_base_units().magnitude for s in symbols]
            assert float(sp.lambdify(symbols, expr, modules="numpy")(*args)) > 0


def test_sweep_of_a_thousand_configurations_is_vectorised() -> None:
    batches = np.arange(1, 1001)
    r = step("deepseek-v3", "gb200-nvl72", 72, batches, 4096, weights="fp8", math="fp8", db=db())
    assert r.step_s.shape == (1000,)
    assert np.all(np.diff(r.step_s) >= -1e-15)


# ------------------------------------------------------------------ the command line


def test_cli_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--model", "llama-3.1-70b", "--hw", "hgx-h100", "--batch", "64", "--context", "8192", "--json"]
    assert main(["step", *args]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"step_s", "compute_s", "weights_s", "kv_s", "comm_s", "bound", "memory_bytes", "capacity_bytes", "fits"}
    keys |= {"tokens_per_s", "tokens_per_s_per_chip", "critical_batch", "inputs", "fewest_chips", "max_batch"}
    assert keys <= set(out)
    assert out["bound"] == "kv" and out["fits"] is True


def test_cli_sweep_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--model", "deepseek-v3", "--hw", "gb200", "--weights", "fp8", "--math", "fp8", "--context", "4989"]
    assert main(["step", *args, "--sweep", "batch=1,8,64"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()[:1].isdigit()]
    assert [line.split()[0] for line in lines] == ["1", "8", "64"]


REFUSED = {
    "batch zero": (["--model", "llama-3.1-70b", "--hw", "h100-sxm", "--batch", "0"], "whole number of sequences"),
    "negative context": (["--model", "llama-3.1-70b", "--hw", "h100-sxm", "--context", "-5"], "at least 0"),
    "more chips than the system": (["--model", "llama-3.1-70b", "--hw", "hgx-h100", "--chips", "9"], "has 8 chips"),
    "format the chip cannot compute in": (
        ["--model", "llama-3.1-70b", "--hw", "h100-sxm", "--math", "int8"],
        "int8_flops",
    ),
    "unknown format": (["--model", "llama-3.1-70b", "--hw", "h100-sxm", "--kv", "fp3"], "no number format 'fp3'"),
    "a model lacking a field": (["--model", "chinchilla", "--hw", "h100-sxm"], "has no field 'active_params'"),
    "chips with no scale-up domain": (
        ["--model", "llama-3.1-70b", "--hw", "gaudi2", "--chips", "2"],
        "no scale-up domain",
    ),
    "not a chip": (["--model", "llama-3.1-70b", "--hw", "deepseek-v3"], "name an accelerator or a system"),
    "bad sweep": (["--model", "llama-3.1-70b", "--hw", "h100-sxm", "--sweep", "heads=1,2"], "batch=1,8,64"),
    "reserve of all HBM": (["--model", "llama-3.1-70b", "--hw", "h100-sxm", "--reserve", "1"], "below 1"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bad_input_is_refused_with_exit_2(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    args, words = REFUSED[case]
    assert main(["step", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_past_one_domain_the_hidden_states_cross_the_scale_out_link() -> None:
    """Eight H100s talk over NVLink; sixteen span two servers and their all-reduces cross the NICs."""
    within = step("llama-3.1-70b", "h100-sxm", 8, 64, 4096, db=db())
    across = step("llama-3.1-70b", "h100-sxm", 16, 64, 4096, db=db())
    assert within.deployment.link == "scaleup_bandwidth" and across.deployment.link == "scaleout_bandwidth"
    ratio = si("h100-sxm", "scaleup_bandwidth", "B/s") / si("h100-sxm", "scaleout_bandwidth", "B/s")
    per_byte_within = within.comm_s / (2 * 7 / 8)  # ring all-reduce: each chip sends 2(G-1)/G of the data
    per_byte_across = across.comm_s / (2 * 15 / 16)
    assert per_byte_across == pytest.approx(per_byte_within * ratio, rel=1e-9)


def test_api_refuses_a_fractional_batch() -> None:
    with pytest.raises(StepError, match="whole number"):
        step("llama-3.1-70b", "h100-sxm", 1, 2.5, 10, db=db())


OWN_MODEL = """
[sources.my-config]
title = "config.json of my own dense model (a test's)"
publisher = "The reader"
url = "https://example.com/config.json"
retrieved = 2026-12-07

[[record]]
id = "my-dense-8b"
kind = "model"
name = "My dense 8B"
source = "my-config"

[record.fields.total_params]
value = 8e9
unit = "param"

[record.fields.active_params]
value = 8e9
unit = "param"

[record.fields.layers]
value = 32
unit = "1"

[record.fields.hidden_size]
value = 4096
unit = "1"

[record.fields.attention_heads]
value = 32
unit = "1"

[record.fields.kv_heads]
value = 8
unit = "1"
"""


def test_a_model_of_ones_own_is_one_overlay_record_and_one_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dense model from its config: one overlay record, then `step`; the field it lacks is named first."""
    overlay = tmp_path / "mine.toml"
    overlay.write_text(OWN_MODEL, encoding="utf-8")
    args = ["--hwdb-overlay", str(overlay), "step", "--model", "my-dense-8b", "--hw", "h100-sxm", "--json"]
    assert main([*args, "--batch", "8", "--context", "2048"]) == 2
    assert "record 'my-dense-8b' has no field 'head_dim'" in capsys.readouterr().err
    fixed = tmp_path / "mine-fixed.toml"  # hwdb.load keeps what it read of a path for the process's life
    fixed.write_text(OWN_MODEL + '\n[record.fields.head_dim]\nvalue = 128\nunit = "1"\n', encoding="utf-8")
    args[1] = str(fixed)
    assert main([*args, "--batch", "8", "--context", "2048"]) == 0
    out = json.loads(capsys.readouterr().out)
    by_hand = (8e9 * 2 + 8 * 2048 * 32 * 2 * 8 * 128 * 2) / si("h100-sxm", "hbm_bandwidth", "B/s")
    assert out["weights_s"] + out["kv_s"] == pytest.approx(by_hand, rel=1e-9)
    assert any(i["record"] == "my-dense-8b" and i["source"].startswith("config.json") for i in out["inputs"])


def test_storage_layouts_count_their_scales_and_rotary_part() -> None:
    """FlashMLA's FP8 latent cache is 656 bytes per token per layer; NVFP4 weights 9 bytes per 16 values."""
    flash = step("deepseek-v3", "h100-sxm", 1, 1, 1000, kv="fp8-flashmla", db=db())
    assert flash.deployment.layer_bytes == 656
    layers = si("deepseek-v3", "layers", "")
    assert flash.kv_bytes == pytest.approx(1000 * layers * 656)
    from hwdb.derived import kv_bytes_per_token

    per_token = kv_bytes_per_token(db()["deepseek-v3"], db()["fp8-flashmla"])
    assert per_token is not None and per_token.to("B/token").magnitude == pytest.approx(layers * 656)
    fp4 = step("llama-3.1-70b", "b200", 1, 1, 0, weights="fp4", db=db())
    assert fp4.weights_bytes == pytest.approx(si("llama-3.1-70b", "total_params", "param") * 9 / 16)
    awq = step("llama-3.1-70b", "h100-sxm", 1, 1, 0, weights="int4", db=db())
    assert awq.weights_bytes == pytest.approx(si("llama-3.1-70b", "total_params", "param") * (64 + 2.5) / 128)
