"""Figures derived from records (system totals, drain times, KV sizes) and the JSON export."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GOOD_RECORD, REPO

import hwdb
from hwdb import HwdbError, derived, load_from


def test_system_totals_are_chips_times_the_chip() -> None:
    db = hwdb.load()
    totals = derived.system_totals(db, db["gb200-nvl72"])
    chip = db["gb200"]
    assert totals["hbm_capacity"] == 72 * chip["hbm_capacity"].quantity
    assert totals["hbm_bandwidth"].to("TB/s").magnitude == pytest.approx(576)


def test_drain_time_orders_the_memory_hierarchy() -> None:
    db = hwdb.load()
    seconds = {r.id: derived.drain_time(r).to("s").magnitude for r in db.of_kind("memory-tier")}  # type: ignore[union-attr]
    hbm = max(v for k, v in seconds.items() if k.startswith("hbm"))
    assert hbm < seconds["lpddr5x-grace"] < seconds["nvme-gen4-ssd"] < seconds["hdd-exos-x24"]


def test_kv_bytes_per_token_from_configs() -> None:
    db = hwdb.load()
    mla = derived.kv_bytes_per_token(db["deepseek-v3"], db["bf16"])
    assert mla is not None
    assert mla.to("B/token").magnitude == 61 * (512 + 64) * 2
    gqa = derived.kv_bytes_per_token(db["qwen3-235b-a22b"], db["fp8"])
    assert gqa is not None
    assert gqa.to("B/token").magnitude == 2 * 94 * 4 * 128 * 1


def test_a_system_must_name_an_existing_accelerator(data_dir: Callable[..., Path]) -> None:
    system = 'id = "rack"\nkind = "system"\nname = "Rack"\nsource = "ds"\n[meta]\naccelerator = "chip-z"\n'
    system += '[fields.chips]\nvalue = 8\nunit = "1"\n'
    with pytest.raises(HwdbError, match=r"rack.toml: record 'rack': meta.accelerator must name an accelerator record"):
        load_from(data_dir({"chip-a.toml": GOOD_RECORD, "rack.toml": system}))


def test_export_lists_every_record_with_units_and_sources() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "hwdb", "export", "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(run.stdout)
    db = hwdb.load([])
    assert {r["id"] for r in data["records"]} == set(db.records)
    kinds = {r["kind"] for r in data["records"]}
    assert {"accelerator", "system", "interconnect", "memory-tier", "model", "price-sheet", "statistic"} <= kinds
    for record in data["records"]:
        assert {"id", "kind", "name", "fields"} <= set(record)
        for field in record["fields"].values():
            assert {"value", "unit", "value_si", "source"} <= set(field)
            assert field["source"] in data["sources"]
    h100 = next(r for r in data["records"] if r["id"] == "h100-sxm")
    assert h100["fields"]["hbm_bandwidth"]["value_si"] == 3.35e12
