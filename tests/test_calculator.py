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
from claims import calculator, evaluate, explore, formatting
from claims.engine import ClaimError, Evaluation
from claims.policy import Verdict
from claims.registry import evaluate_all

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
    spec = _specs()["batch.optimal-size"]
    by_key = {v["key"]: v for v in spec["vars"]}
    bandwidth, params = by_key["gb200.hbm_bandwidth"], by_key["deepseek-v3.total_params"]
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
    ]
    tasks = [{"op": "parse", "text": text, "variable": variable} for variable, text, _ in cases]
    for (_, text, si), got in zip(cases, _node(tasks), strict=True):
        if si is None:
            assert got.get("error"), text
        else:
            assert got.get("si") == pytest.approx(si, rel=1e-12), text


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
