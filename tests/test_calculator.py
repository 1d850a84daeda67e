"""The in-page calculators and the explore page, held to the engine.

The specs are checked in Python (what is offered, in which unit, with which verdict rule);
the JavaScript that runs in the page (book/_static/calculator.js) is run here in Node, where
Node is installed, on every row of every claim: value, verdict and written form must be the
engine's. The browser session (tests/browser) checks the same pages in Chromium.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import hwdb
from claims import calculator, evaluate, explore, formatting, plausible
from claims.engine import ClaimError, Evaluation
from claims.policy import Verdict
from claims.registry import evaluate_all
from hwdb.derived import DERIVED_FIELDS, field_of
from hwdb.schema import FIELDS

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "book/_static/calculator.js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the browser session covers the page)")

#: Runs calculator.js's functions on a batch of tasks read from stdin.
HARNESS = """
const calc = require(process.argv[1]);  // node -e: argv[1] is the first argument
const tasks = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = tasks.map((t) => {
  if (t.op === "parse") return calc.parse(t.text, t.variable);
  if (t.op === "number") return calc.number(t.value, t.digits);
  if (t.op === "order") {
    const entries = {};
    t.entries.forEach((e) => (entries[e.name] = { si: e.si, error: null, stamp: e.stamp, variable: e.variable }));
    return calc.orderErrors(t.pairs, entries);
  }
  if (t.op === "echo") return calc.echo(t.text, calc.parse(t.text, t.variable).si, t.variable);
  const value = calc.compile(t.spec)(t.args);
  return { value: value, shown: calc.quantity(value, t.spec.format), verdict: calc.verdict(value, t.spec.judge) };
});
process.stdout.write(JSON.stringify(out));
"""
VERDICT_KEYS = {Verdict.HOLDS: "holds", Verdict.ROUGHLY: "rough", Verdict.FAILS: "fails"}


@cache
def _db() -> hwdb.Database:
    return hwdb.load([])


@cache
def _evaluations() -> dict[str, Evaluation]:
    return evaluate_all(_db())


def _node(tasks: list[dict[str, Any]]) -> list[Any]:
    assert NODE is not None
    done = subprocess.run([NODE, "-e", HARNESS, str(SCRIPT)], input=json.dumps(tasks), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result: list[Any] = json.loads(done.stdout)
    return result


def _specs() -> dict[str, dict[str, Any]]:
    return {cid: s for cid, e in _evaluations().items() if (s := calculator.spec(e)) is not None}


# ---------------------------------------------------------------- what is offered


def test_no_calculator_for_a_claim_that_only_reports_a_figure() -> None:
    specs = _specs()
    for cid, e in _evaluations().items():
        result = e.derivation.result
        if e.claim.kind == "reported" or not result.free_symbols or result.is_Symbol:
            assert cid not in specs, cid
    assert "pricing.gpu-hour" not in specs and "rack.gpus-per-rack" not in specs
    assert "batch.optimal-size" in specs and "serving.train-interval" in specs


def test_every_symbol_of_the_value_is_an_input_or_a_constant() -> None:
    for cid, spec in _specs().items():
        e = _evaluations()[cid]
        assert len(spec["vars"]) + len(spec["constants"]) == len(e.derivation.result.free_symbols), cid
        assert all(v["si"] > 0 and v["factor"] > 0 for v in spec["vars"]), cid


def test_inputs_are_written_in_a_readable_unit() -> None:
    spec = _specs()["batch.optimal-size"]
    by_key = {v["key"]: v for v in spec["vars"]}
    total = by_key["deepseek-v3.total_params"]
    assert total["text"] != str(total["si"]) and "e" not in total["text"]
    assert float(total["text"].replace(",", "")) * total["factor"] == pytest.approx(total["si"])
    assert total["unit"].endswith("parameters")
    for v in spec["vars"]:
        number = float(v["text"].replace(",", ""))
        assert 1 <= number < 10_000, v
        assert number * v["factor"] == pytest.approx(v["si"], rel=1e-4), v


def test_verdict_rule_follows_the_claim() -> None:
    for cid, spec in _specs().items():
        claim = _evaluations()[cid].claim
        mode = spec["judge"]["mode"]
        if claim.evidence == "none":
            assert mode == "none", cid
        elif claim.rows is not None and claim.rows.rule != "reference":
            assert mode in ("row", "none") and spec["judge"]["note"], cid
        else:
            assert mode == "bands", cid
        holds, _ = claim.stated.bands()
        assert spec["judge"]["holds"][0] == holds[0], cid


def test_spellings_convert_to_si() -> None:
    tb_s = calculator.spellings(hwdb.Quantity(8, "TB/s").units)
    assert tb_s["TB/s"] == 1e12 and tb_s["GB/s"] == 1e9
    assert "mB/s" not in tb_s  # no millibytes
    assert calculator.spellings(hwdb.Quantity(3, "ms").units)["us"] == pytest.approx(1e-6)
    params = calculator.spellings(hwdb.Quantity(1, "param").units)
    assert params["B"] == 1e9 and params["Bparams"] == 1e9 and params["k"] == 1e3


# ---------------------------------------------------------------- the rules a typed value must meet


def test_every_field_has_plausible_limits() -> None:
    """Every schema and derived field maps to bounds: a new dimension without a row in PLAUSIBLE fails here."""
    for name in [*FIELDS, *DERIVED_FIELDS]:
        limits = plausible.limits(name)
        assert 0 <= limits.low < limits.high < math.inf, name
        assert limits.count == bool(FIELDS.get(name) and FIELDS[name].count), name


def test_every_hwdb_figure_lies_well_inside_its_limits() -> None:
    """The bounds are wide: every figure hwdb holds (derived ones too) is MARGIN times inside them; counts are whole."""
    checked = 0
    for record in _db().records.values():
        for name in [*record.fields, *DERIVED_FIELDS]:
            field = field_of(record, name)
            if field is None:
                continue
            limits = plausible.limits(name)
            si = field.si
            where = f"{record.id}.{name} = {si:g}"
            if limits.count:
                assert si == round(si) and si >= (0 if limits.zero else 1), where
                assert si * plausible.MARGIN <= limits.high, where
            elif si == 0:
                assert limits.zero, where
            elif limits.high <= 1:  # a share: at most all of it
                assert limits.low < si <= limits.high, where
            else:
                assert limits.low * plausible.MARGIN <= si <= limits.high / plausible.MARGIN, where
            checked += 1
    assert checked > 300


def test_ordered_pairs_name_schema_fields_and_hold_in_hwdb() -> None:
    """Each declared order names real fields, and no hwdb record breaks one (most are met by several)."""
    met = dict.fromkeys(plausible.ORDERED, 0)
    for small, large in plausible.ORDERED:
        assert small in FIELDS and large in FIELDS, (small, large)
        assert FIELDS[small].unit == FIELDS[large].unit, (small, large)
        for record in _db().records.values():
            if record.has(small) and record.has(large):
                assert record[small].si <= record[large].si, (record.id, small, large)
                met[(small, large)] += 1
    assert met[("active_params", "total_params")] > 3 and met[("dense_layers", "layers")] > 3


def test_ordered_binds_only_fields_of_one_record() -> None:
    keys = [("a", "total_params"), ("b", "active_params"), ("a", "active_params"), ("a", "layers")]
    assert plausible.ordered(keys) == [(2, 0)]


def test_spec_carries_each_inputs_rules() -> None:
    spec = _specs()["batch.unbatched-penalty"]
    by_key = {v["key"]: v for v in spec["vars"]}
    names = {v["name"]: v["key"] for v in spec["vars"]}
    assert {(names[a], names[b]) for a, b in spec["ordered"]} == {
        ("deepseek-v3.active_params", "deepseek-v3.total_params"),
        ("deepseek-v3.experts_per_token", "deepseek-v3.routed_experts"),
        ("deepseek-v3.dense_layers", "deepseek-v3.layers"),
    }
    layers, dense = by_key["deepseek-v3.layers"], by_key["deepseek-v3.dense_layers"]
    assert layers["count"] and not layers["zero"] and dense["count"] and dense["zero"]
    total = by_key["deepseek-v3.total_params"]
    assert not total["count"] and total["base"] == ["parameters", 1.0] and total["text"] == "671"
    bandwidth = by_key["gb200.hbm_bandwidth"]
    assert bandwidth["base"] == ["B/s", 1.0] and bandwidth["low"] < bandwidth["si"] < bandwidth["high"]
    assert bandwidth["range"] == "from 1 kB/s to 1 PB/s"
    for spec in _specs().values():  # at the reference inputs, every page starts inside every rule
        for v in spec["vars"]:
            assert v["low"] <= v["si"] <= v["high"], (spec["claim"], v["key"])


def test_explore_fields_carry_rules_and_orders() -> None:
    data = explore.data(_evaluations(), _db())
    assert ["model.active_params", "model.total_params"] in data["ordered"]
    assert ["model.dense_layers", "model.layers"] in data["ordered"]
    fields = {(f["group"], f["field"]): f for f in data["fields"]}
    assert fields[("model", "layers")]["count"] and fields[("accelerator", "hbm_bandwidth")]["base"] == ["B/s", 1.0]
    for key in data["ordered"]:
        assert all(tuple(k.split(".")) in fields for k in key)


# ---------------------------------------------------------------- the page's JavaScript, in Node


@needs_node
def test_javascript_gives_the_engine_value_verdict_and_text_on_every_row() -> None:
    """For every calculator and every row of its claim: the engine's value, band and written value."""
    tasks, expected = [], []
    for cid, spec in _specs().items():
        e = _evaluations()[cid]
        for row in e.rows:
            by_symbol = {i.symbol: i.field.si for i in row.inputs}
            args = [by_symbol[v["input"]] for v in spec["vars"]]
            tasks.append({"op": "eval", "spec": spec, "args": args})
            band = e.claim.stated.verdict(formatting.in_stated_unit(e, row.value))
            expected.append((cid, row, band))
    results = _node(tasks)
    for (cid, row, band), got in zip(expected, results, strict=True):
        assert got["value"] == pytest.approx(row.value, rel=1e-12), cid
        assert got["verdict"] == VERDICT_KEYS[band], (cid, row.record and row.record.id)
        if row.verdict is not None:
            assert got["verdict"] == VERDICT_KEYS[row.verdict], cid
        assert got["shown"] == formatting.claim_quantity(_evaluations()[cid].claim, row.value), cid


@needs_node
def test_javascript_verdict_on_band_edges() -> None:
    """Values on, just inside and just outside each band edge get the policy's verdict."""
    tasks, expected = [], []
    for cid, spec in _specs().items():
        e = _evaluations()[cid]
        holds, rough = e.claim.stated.bands()
        edges = [x for band in (holds, rough) if band for x in band if math.isfinite(x) and x != 0]
        scale = 1 / spec["judge"]["to_stated"]
        for edge in edges:
            for k in (1.0, 1 - 1e-6, 1 + 1e-6, 1 - 1e-13):
                value = edge * k * scale  # in the claim's unit
                const = {**spec, "vars": [], "constants": {}, "expr": repr(value), "to_unit": 1.0}
                tasks.append({"op": "eval", "spec": const, "args": []})
                expected.append((cid, e.claim.stated.verdict(formatting.in_stated_unit(e, value))))
    for (cid, verdict), got in zip(expected, _node(tasks), strict=True):
        assert got["verdict"] == VERDICT_KEYS[verdict], cid


@needs_node
def test_javascript_number_matches_python() -> None:
    values = [0.000489, 0.0123, 0.5, 1, 2.5, 9.995, 12.34, 312.5, 999.5, 1234.5, 5667.2, 98765.4, 2.5e9, 1.3e15, 7e-6]
    cases = [(v, d) for v in values for d in (3, 5)]
    tasks: list[dict[str, Any]] = [{"op": "number", "value": v, "digits": d} for v, d in cases]
    for (value, digits), got in zip(cases, _node(tasks), strict=True):
        assert got == formatting.number(value, digits), (value, digits)


@needs_node
def test_javascript_refuses_bad_input_and_reads_units() -> None:
    by_key = {v["key"]: v for v in _specs()["batch.unbatched-penalty"]["vars"]}
    bandwidth, params = by_key["gb200.hbm_bandwidth"], by_key["deepseek-v3.total_params"]
    layers, dense = by_key["deepseek-v3.layers"], by_key["deepseek-v3.dense_layers"]
    experts = by_key["deepseek-v3.routed_experts"]
    cases: list[tuple[dict[str, Any], str, float | None]] = [
        (bandwidth, "8", 8e12),
        (bandwidth, "8 TB/s", 8e12),
        (bandwidth, "8000 GB/s", 8e12),
        (bandwidth, "  8e3GB/s ", 8e12),
        (params, "671", 671e9),
        (params, "671B", 671e9),
        (params, "671 B parameters", 671e9),
        (params, "4,989 M", 4989e6),
        (bandwidth, "0", None),
        (bandwidth, "-3", None),
        (bandwidth, "−3", None),
        (bandwidth, "abc", None),
        (bandwidth, "", None),
        (bandwidth, "Infinity", None),
        (bandwidth, "1e999", None),
        (bandwidth, "1,5", None),
        (bandwidth, "8 furlongs", None),
        (bandwidth, "1e30", None),  # 1e30 TB/s: beyond any part
        (bandwidth, "1e30 TB/s", None),
        (bandwidth, "8e12", None),  # the whole figure typed into a field of TB/s: refused, with a hint
        (bandwidth, "8e12 B/s", 8e12),
        (params, "671e9", None),  # 671e9 billion parameters: refused, not read as 6.7e20
        (params, "671e9 parameters", 671e9),
        (params, "2e15 parameters", None),
        (layers, "61", 61),
        (layers, "61.5", None),  # a count is whole
        (layers, "0", None),
        (dense, "0", 0),  # hwdb allows a model no dense layers
        (dense, "2.5", None),
        (experts, "1e9", None),
    ]
    tasks = [{"op": "parse", "text": text, "variable": variable} for variable, text, _ in cases]
    for (_, text, si), got in zip(cases, _node(tasks), strict=True):
        if si is None:
            assert got.get("error"), text
        else:
            assert got.get("si") == pytest.approx(si, rel=1e-12), text


@needs_node
def test_javascript_names_the_field_and_the_unit_in_a_refusal() -> None:
    by_key = {v["key"]: v for v in _specs()["batch.optimal-size"]["vars"]}
    params, bandwidth = by_key["deepseek-v3.total_params"], by_key["gb200.hbm_bandwidth"]
    tasks = [
        {"op": "parse", "text": "671e9", "variable": params},
        {"op": "parse", "text": "1e30", "variable": bandwidth},
        {"op": "echo", "text": "671e9 parameters", "variable": params},
        {"op": "echo", "text": "4000 GB/s", "variable": bandwidth},
        {"op": "echo", "text": "671", "variable": params},
    ]
    billions, beyond, echoed, echoed_bandwidth, same = _node(tasks)
    assert "billions" in billions["error"] and "type 671 " in billions["error"], billions
    assert beyond["error"].startswith("HBM bandwidth: 1e30 TB/s is beyond any plausible figure"), beyond
    assert (echoed, echoed_bandwidth, same) == ("= 671 B parameters", "= 4 TB/s", "")


@needs_node
def test_javascript_blames_the_field_of_a_broken_order_typed_last() -> None:
    by_key = {v["key"]: v for v in _specs()["batch.unbatched-penalty"]["vars"]}
    active, total = by_key["deepseek-v3.active_params"], by_key["deepseek-v3.total_params"]
    experts, routed = by_key["deepseek-v3.experts_per_token"], by_key["deepseek-v3.routed_experts"]

    def task(small: dict[str, Any], large: dict[str, Any], si: tuple[float, float], typed_last: str) -> dict[str, Any]:
        stamps = (2, 1) if typed_last == "small" else (1, 2)
        return {
            "op": "order",
            "pairs": [["s", "l"]],
            "entries": [
                {"name": "s", "si": si[0], "stamp": stamps[0], "variable": small},
                {"name": "l", "si": si[1], "stamp": stamps[1], "variable": large},
            ],
        }

    tasks = [
        task(active, total, (1000e9, 671e9), "small"),
        task(active, total, (37e9, 30e9), "large"),
        task(experts, routed, (300, 256), "small"),
        task(active, total, (671e9, 671e9), "small"),  # equal is allowed: a dense model
    ]
    too_many, too_few, selected, equal = _node(tasks)
    assert too_many == {"s": "Active parameters cannot exceed total parameters (671 B parameters)."}
    assert too_few == {"l": "Total parameters cannot be less than active parameters (37 B parameters)."}
    assert selected == {"s": "Experts chosen per token cannot exceed routed experts (256)."}
    assert equal == {}


# ---------------------------------------------------------------- the explore page's data


def test_explore_covers_every_per_accelerator_claim() -> None:
    data = explore.data(_evaluations(), _db())
    per_chip = {
        cid
        for cid, e in _evaluations().items()
        if e.claim.rows and e.claim.rows.kind == "accelerator" and cid in _specs()
    }
    assert {c["id"] for c in data["claims"]} == per_chip
    assert data["default_accelerator"] in {a["id"] for a in data["accelerators"]}
    assert data["default_model"] in {m["id"] for m in data["models"]}
    fields = {(f["group"], f["field"]) for f in data["fields"]}
    for claim in data["claims"]:
        for arg in claim["args"]:
            assert arg["group"] == "fixed" or (arg["group"], arg["field"]) in fields


def _explore_args(claim: dict[str, Any], chip: dict[str, Any], model: dict[str, Any]) -> list[float] | None:
    args = []
    for arg in claim["args"]:
        if arg["group"] == "fixed":
            args.append(arg["si"])
            continue
        entry = (chip if arg["group"] == "accelerator" else model)["values"][arg["field"]]
        if entry is None:
            return None
        args.append(entry["si"])
    return args


@needs_node
def test_explore_gives_the_engine_row_for_every_chip_and_model() -> None:
    """Every chip with every model: the page's value and verdict are the engine's with that model bound."""
    db = _db()
    data = explore.data(_evaluations(), db)
    tasks, expected = [], []
    for claim in data["claims"]:
        original = _evaluations()[claim["id"]].claim
        spec = {**claim, "vars": [{"name": f"v{i}"} for i in range(len(claim["args"]))]}
        for model in data["models"] if claim["model"] else [None]:
            try:
                e = evaluate(explore.with_model(original, db, model["id"]) if model else original, db)
            except ClaimError:
                e = None  # the model lacks a field this claim needs: the page must say so
            for chip in data["accelerators"]:
                args = _explore_args(claim, chip, model or data["models"][0])
                row = e and next((r for r in e.rows if r.record and r.record.id == chip["id"]), None)
                assert (args is None) == (row is None), (claim["id"], chip["id"], model and model["id"])
                if row is None or args is None:
                    continue
                tasks.append({"op": "eval", "spec": spec, "args": args})
                expected.append((claim["id"], chip["id"], row, e))
    assert len(expected) > 100
    for (cid, chip_id, row, e), got in zip(expected, _node(tasks), strict=True):
        assert e is not None
        assert got["value"] == pytest.approx(row.value, rel=1e-12), (cid, chip_id)
        band = e.claim.stated.verdict(formatting.in_stated_unit(e, row.value))
        assert got["verdict"] == VERDICT_KEYS[band], (cid, chip_id)
        if row.verdict is not None:
            assert got["verdict"] == VERDICT_KEYS[row.verdict], (cid, chip_id)


def test_with_model_rebinds_only_the_model() -> None:
    claim = _evaluations()["batch.optimal-size"].claim
    moved = explore.with_model(claim, _db(), "kimi-k2")
    changed = {(a.record, b.record) for a, b in zip(claim.inputs, moved.inputs, strict=True) if a != b}
    assert changed == {("deepseek-v3", "kimi-k2")}
    assert explore.with_model(replace(claim, inputs=()), _db(), "kimi-k2").inputs == ()
