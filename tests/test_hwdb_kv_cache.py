"""The KV-cache model of hwdb.derived (sliding windows, MLA, indexer, shared layers) and the
derived figures the command line prints and exports."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pint
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hwdb
from hwdb import Field, Quantity, Record, Source, derived
from hwdb.__main__ import main

SOURCE = Source("test", "A test config", "Nobody", "https://example.com", dt.date(2026, 1, 1))
UNITS = {"sliding_window": "token"}


def model(**values: float) -> Record:
    """A scratch model record with the given fields (counts, or tokens for sliding_window)."""
    fields = {
        name: Field(name, Quantity(value, UNITS.get(name, "")), value, UNITS.get(name, "1"), SOURCE)
        for name, value in values.items()
    }
    return Record("scratch", "model", "Scratch", "scratch.toml", fields)


@pytest.fixture(scope="module")
def db() -> hwdb.Database:
    return hwdb.load([])


def nbytes(quantity: pint.Quantity[Any] | None) -> float:
    assert quantity is not None
    return float(quantity.to("B").magnitude)


def per_token(quantity: pint.Quantity[Any] | None) -> float:
    assert quantity is not None
    return float(quantity.to("B/token").magnitude)


counts = st.integers(min_value=1, max_value=128)
contexts = st.integers(min_value=0, max_value=2_000_000)


@given(layers=counts, local=st.integers(0, 128), heads=st.integers(1, 16), dim=st.integers(1, 256), data=st.data())
def test_a_window_no_shorter_than_the_context_is_full_attention(
    db: hwdb.Database, layers: int, local: int, heads: int, dim: int, data: st.DataObject
) -> None:
    local = min(local, layers)
    context = data.draw(contexts)
    window = data.draw(st.integers(min_value=max(context, 1), max_value=4_000_000))
    sliding = model(layers=layers, kv_heads=heads, head_dim=dim, local_layers=local, sliding_window=window)
    full = model(layers=layers, kv_heads=heads, head_dim=dim)
    bf16 = db["bf16"]
    assert nbytes(derived.kv_cache_bytes(sliding, bf16, context)) == nbytes(derived.kv_cache_bytes(full, bf16, context))
    assert nbytes(derived.kv_cache_bytes(full, bf16, context)) == 2 * layers * heads * dim * 2 * context


@given(a=contexts, b=contexts)
def test_the_cache_grows_with_the_context_for_every_model(db: hwdb.Database, a: int, b: int) -> None:
    low, high = sorted((a, b))
    for record in db.of_kind("model"):
        for dtype in ("bf16", "fp8"):
            small = derived.kv_cache_bytes(record, db[dtype], low)
            large = derived.kv_cache_bytes(record, db[dtype], high)
            if small is None or large is None:
                continue
            assert nbytes(small) <= nbytes(large)


def test_mla_caches_one_latent_and_one_rotary_key_per_layer(db: hwdb.Database) -> None:
    v3 = db["deepseek-v3"]
    for dtype, size in (("bf16", 2), ("fp8", 1)):
        assert per_token(derived.kv_bytes_per_token(v3, db[dtype])) == 61 * (512 + 64) * size
        assert nbytes(derived.kv_cache_bytes(v3, db[dtype], 1000)) == 1000 * 61 * (512 + 64) * size
    kimi = db["kimi-k2"]
    assert per_token(derived.kv_bytes_per_token(kimi, db["bf16"])) == 61 * (512 + 64) * 2


def test_the_v32_indexer_key_is_fp8_with_a_scale_whatever_the_cache_format(db: hwdb.Database) -> None:
    v32 = db["deepseek-v3.2-exp"]
    indexer = 128 * 1 + 4  # 128 FP8 values and one FP32 scale per layer per token
    assert per_token(derived.kv_bytes_per_token(v32, db["bf16"])) == 61 * ((512 + 64) * 2 + indexer)
    assert per_token(derived.kv_bytes_per_token(v32, db["fp8"])) == 61 * ((512 + 64) * 1 + indexer)
    elements = derived.kv_elements_per_token(v32)
    assert elements is not None
    assert elements.magnitude == 61 * (512 + 64)  # the indexer key is not in the datatype's count


def test_gemma_per_token_average_falls_towards_the_global_layers(db: hwdb.Database) -> None:
    gemma, bf16 = db["gemma-3-27b"], db["bf16"]
    layer = 2 * 16 * 128 * 2  # bytes per token per layer in BF16
    short = per_token(derived.kv_bytes_per_token(gemma, bf16, 1024))
    assert short == 62 * layer  # within the window every layer holds every token
    averages = [per_token(derived.kv_bytes_per_token(gemma, bf16, n)) for n in (1024, 2048, 8192, 131072, 10**7)]
    assert averages == sorted(averages, reverse=True)
    assert len(set(averages)) == len(averages)
    marginal = per_token(derived.kv_bytes_per_token(gemma, bf16))
    assert marginal == 10 * layer  # 10 global layers of 62
    assert marginal < averages[-1] < marginal * 1.01
    assert per_token(derived.kv_bytes_per_token(gemma, bf16, 131072)) == 10 * layer + 52 * layer * 1024 / 131072


def test_gpt_oss_bands_every_other_layer(db: hwdb.Database) -> None:
    oss, bf16 = db["gpt-oss-120b"], db["bf16"]
    layer = 2 * 8 * 64 * 2
    assert per_token(derived.kv_bytes_per_token(oss, bf16)) == 18 * layer
    assert nbytes(derived.kv_cache_bytes(oss, bf16, 100)) == 36 * layer * 100
    assert nbytes(derived.kv_cache_bytes(oss, bf16, 1000)) == 18 * layer * 1000 + 18 * layer * 128


def test_cross_layer_sharing_counts_only_the_layers_that_keep_a_cache(db: hwdb.Database) -> None:
    shared = model(layers=32, kv_layers=20, kv_heads=8, head_dim=128)
    full = model(layers=20, kv_heads=8, head_dim=128)
    for context in (0, 1, 5000):
        assert nbytes(derived.kv_cache_bytes(shared, db["fp8"], context)) == nbytes(
            derived.kv_cache_bytes(full, db["fp8"], context)
        )


def test_without_local_layers_the_average_is_the_marginal_figure(db: hwdb.Database) -> None:
    llama = db["llama-3.1-405b"]
    marginal = per_token(derived.kv_bytes_per_token(llama, db["bf16"]))
    assert marginal == 2 * 126 * 8 * 128 * 2
    assert per_token(derived.kv_bytes_per_token(llama, db["bf16"], 7)) == marginal


def test_every_model_but_chinchilla_has_a_kv_size(db: hwdb.Database) -> None:
    missing = {r.id for r in db.of_kind("model") if derived.kv_bytes_per_token(r, db["bf16"]) is None}
    assert missing == {"chinchilla"}


def test_inconsistent_or_impossible_inputs_are_refused(db: hwdb.Database) -> None:
    with pytest.raises(ValueError, match="local_layers needs sliding_window"):
        derived.kv_layout(model(layers=4, kv_heads=1, head_dim=8, local_layers=2))
    with pytest.raises(ValueError, match="exceeds"):
        derived.kv_layout(model(layers=4, kv_heads=1, head_dim=8, local_layers=5, sliding_window=16))
    with pytest.raises(ValueError, match="non-negative"):
        derived.kv_cache_bytes(db["deepseek-v3"], db["bf16"], -1)
    with pytest.raises(ValueError, match="at least one token"):
        derived.kv_bytes_per_token(db["deepseek-v3"], db["bf16"], 0)
    assert derived.kv_cache_bytes(db["chinchilla"], db["bf16"], 10) is None


def test_a_context_may_be_a_quantity_in_tokens(db: hwdb.Database) -> None:
    gemma = db["gemma-3-27b"]
    assert derived.kv_cache_bytes(gemma, db["bf16"], Quantity(8, "ktoken")) == derived.kv_cache_bytes(
        gemma, db["bf16"], 8000
    )


def test_show_prints_a_derived_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "gemma-3-27b"]) == 0
    out = capsys.readouterr().out
    assert "  Derived\n" in out
    assert "kv_bytes_per_token_bf16_avg_8k" in out
    assert "81,920 B/tok" in out
    assert main(["show", "h100-sxm"]) == 0
    out = capsys.readouterr().out
    assert "drain_time" in out and "bf16_flops_per_hbm_byte" in out


def test_export_adds_derived_figures_with_units(db: hwdb.Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--format", "json"]) == 0
    records = {r["id"]: r for r in json.loads(capsys.readouterr().out)["records"]}
    assert all("derived" in r for r in records.values())
    for figure in (f for r in records.values() for f in r["derived"].values()):
        assert {"value", "unit", "value_si", "description"} <= set(figure)
    gemma = records["gemma-3-27b"]["derived"]
    assert gemma["kv_bytes_per_token_bf16"]["value"] == 81920
    assert gemma["kv_bytes_per_token_bf16"]["unit"] == "byte / token"
    assert gemma["kv_bytes_per_token_fp8_avg_128k"]["value"] == pytest.approx((10 + 52 * 1024 / 131072) * 4096)
    assert "kv_bytes_per_token_bf16_avg_8k" not in records["deepseek-v3"]["derived"]
    assert records["chinchilla"]["derived"] == {}
    h100 = records["h100-sxm"]["derived"]
    assert h100["drain_time"]["unit"] == "second"
    chip = db["h100-sxm"]
    ridge = chip["bf16_flops"].si / chip["hbm_bandwidth"].si
    assert h100["bf16_flops_per_hbm_byte"]["value_si"] == pytest.approx(ridge)
    nvl72 = records["gb200-nvl72"]["derived"]
    assert nvl72["total_hbm_capacity"]["value_si"] == pytest.approx(72 * db["gb200"]["hbm_capacity"].si)
    assert records["hdd-exos-x24"]["derived"]["drain_time"]["value_si"] > 3600
