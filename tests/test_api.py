"""The Python API: claims.evaluate(ID, scenario...) against the engine and against hwdb by hand."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

import claims
import hwdb
from claims import ClaimError, Evaluation, Scenario, Verdict, all_claims, get_claim
from claims.engine import evaluate as engine_evaluate
from claims.registry import UnknownClaimError
from hwdb.model import WHAT_IF


@pytest.fixture(scope="module")
def db() -> hwdb.Database:
    return hwdb.load()


def si(db: hwdb.Database, record: str, field: str) -> float:
    return db[record][field].si


def balanced_batch(db: hwdb.Database, chip: str, model: str, dtype: str = "bf16", flops: str = "bf16_flops") -> float:
    """F·b/(2·W) × N_total/N_active, by hand from hwdb (two FLOP per multiply-add; SI: FLOP/s, B/param, B/s)."""
    ratio = si(db, chip, flops) * si(db, dtype, "storage_per_parameter") / (2 * si(db, chip, "hbm_bandwidth"))
    return ratio * si(db, model, "total_params") / si(db, model, "active_params")


def test_with_no_scenario_every_claim_is_the_books_case(db: hwdb.Database) -> None:
    for claim in all_claims():
        book = engine_evaluate(claim, db)
        mine = claims.evaluate(claim.id, db)
        assert isinstance(mine, Scenario)
        assert mine.value == book.value, claim.id
        assert mine.verdict is book.verdict, claim.id
        assert mine.changes == ()


def test_the_engine_call_still_returns_an_evaluation(db: hwdb.Database) -> None:
    claim = get_claim("batch.optimal-size")
    result = claims.evaluate(claim, db)
    assert isinstance(result, Evaluation)
    with pytest.raises(TypeError, match="claim ID"):
        claims.evaluate(claim, db, hw="h200")  # type: ignore[call-overload]


@pytest.mark.parametrize("chip", ["h100-sxm", "h200", "b200", "mi300x", "tpu-v7"])
def test_hw_moves_the_case_to_that_row(db: hwdb.Database, chip: str) -> None:
    book = engine_evaluate(get_claim("batch.optimal-size"), db)
    row = next(r for r in book.rows if r.record is not None and r.record.id == chip)
    r = claims.evaluate("batch.optimal-size", hw=chip)
    assert r.case == chip
    assert r.value == row.value
    assert math.isclose(r.value, balanced_batch(db, chip, "deepseek-v3"), rel_tol=1e-9)
    assert r.verdict is row.verdict  # a single-case claim is judged on its case, here the new one


def test_hw_on_a_claim_with_one_fixed_chip_replaces_that_chip(db: hwdb.Database) -> None:
    r = claims.evaluate("context.hundred-million-kv", hw="b200")
    llama = [si(db, "llama-3.1-405b", f) for f in ("layers", "kv_heads", "head_dim")]
    per_token = 2 * math.prod(llama) * si(db, "bf16", "storage_per_parameter")  # a key and a value, every layer
    cache = si(db, "ltm-2-mini-context-window", "context_window") * per_token
    assert math.isclose(r.value, cache / si(db, "b200", "hbm_capacity"), rel_tol=1e-9)
    assert r.value < claims.evaluate("context.hundred-million-kv").value


def test_weights_in_fp8_with_bf16_arithmetic_halve_the_balanced_batch(db: hwdb.Database) -> None:
    mixed = claims.evaluate("batch.optimal-size", swap={"bf16": "fp8"})
    assert math.isclose(mixed.value, balanced_batch(db, "gb200", "deepseek-v3", dtype="fp8"), rel_tol=1e-9)
    assert math.isclose(mixed.value, claims.evaluate("batch.optimal-size").value / 2, rel_tol=1e-12)
    both = claims.evaluate("batch.optimal-size", swap={"bf16": "fp8"}, fields={"bf16_flops": "fp8_flops"})
    assert math.isclose(both.value, balanced_batch(db, "gb200", "deepseek-v3", "fp8", "fp8_flops"), rel_tol=1e-9)
    assert mixed.changes == ("bf16 → fp8",)


def test_model_replaces_the_one_model_a_claim_reads(db: hwdb.Database) -> None:
    r = claims.evaluate("batch.optimal-size", model="kimi-k2")
    assert math.isclose(r.value, balanced_batch(db, "gb200", "kimi-k2"), rel_tol=1e-9)
    routed = claims.evaluate("moe.router-fraction", model="mixtral-8x22b")  # a claim with a row per model
    assert r.case == "gb200" and routed.case == "mixtral-8x22b"
    assert routed.value == si(db, "mixtral-8x22b", "routed_experts") / si(db, "mixtral-8x22b", "experts_per_token")


def test_scale_reads_a_sparse_datasheet_figure_as_dense(db: hwdb.Database) -> None:
    dense = claims.evaluate("batch.optimal-size", hw="h200")
    trap = claims.evaluate("batch.optimal-size", hw="h200", scale={"h200.bf16_flops": 2})
    assert math.isclose(trap.value, 2 * dense.value, rel_tol=1e-12)
    flops = next(i for i in trap.inputs if i.symbol == "F")
    assert flops.field.file == WHAT_IF  # a scaled value is a what-if, not the vendor's figure


def test_set_takes_a_typed_value_with_its_unit(db: hwdb.Database) -> None:
    r = claims.evaluate("serving.train-interval", set={"h100-sxm.hbm_bandwidth": "4 TB/s"})
    assert math.isclose(r.value, 1e3 * si(db, "h100-sxm", "hbm_capacity") / 4e12, rel_tol=1e-12)  # in ms
    typed = next(i for i in r.inputs if i.symbol == "W")
    assert typed.field.file == WHAT_IF
    sparse = claims.evaluate("batch.optimal-size", hw="h200", set={"h200.bf16_flops": "1979 TFLOP/s 2:4-sparse"})
    assert math.isclose(sparse.value, claims.evaluate("batch.optimal-size", hw="h200").value, rel_tol=1e-3)


def test_a_scenario_leaves_the_book_untouched(db: hwdb.Database) -> None:
    before = engine_evaluate(get_claim("batch.optimal-size"), db).value
    claims.evaluate("batch.optimal-size", hw="h200", swap={"bf16": "fp8"}, set={"h200.hbm_bandwidth": "9 TB/s"})
    assert get_claim("batch.optimal-size").rows is not None
    assert get_claim("batch.optimal-size").rows.reference == "gb200"  # type: ignore[union-attr]
    assert get_claim("batch.optimal-size").inputs[2].record == "bf16"
    assert engine_evaluate(get_claim("batch.optimal-size"), hwdb.load()).value == before


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"hw": "no-such-chip"}, ValueError, "hwdb has no record 'no-such-chip'"),
        ({"model": "h200"}, ValueError, "model= takes model"),
        ({"hw": "kimi-k2"}, ValueError, "hw= takes accelerator"),
        ({"swap": {"kimi-k2": "deepseek-v3"}}, ValueError, "reads no field of 'kimi-k2'"),
        ({"swap": {"bf16": "nothing"}}, ValueError, "hwdb has no record 'nothing'"),
        ({"fields": {"scaleup_bandwidth": "hbm_bandwidth"}}, ValueError, "reads no field 'scaleup_bandwidth'"),
        ({"fields": {"bf16_flops": "hbm_bandwidth"}}, ValueError, "'hbm_bandwidth' is in"),
        ({"model": "llama-3.1-405b"}, ClaimError, "llama-3.1-405b.toml: record 'llama-3.1-405b' has no field"),
        ({"set": {"gb200.hbm_bandwidth": "0 TB/s"}}, ValueError, "must be positive, got 0"),
        ({"set": {"gb200.hbm_bandwidth": "-3 TB/s"}}, ValueError, "must be positive"),
        ({"set": {"gb200.hbm_bandwidth": "fast"}}, ValueError, "cannot read 'fast'"),
        ({"set": {"gb200.nothing": "3 TB/s"}}, ValueError, "hwdb has no field gb200.nothing"),
        ({"set": {"gb200.bf16_flops": "5 PFLOP/s"}}, ValueError, "say how the figure was printed"),
        ({"scale": {"gb200.hbm_bandwidth": -2}}, ValueError, "positive finite number"),
        ({"scale": {"gb200.hbm_bandwidth": math.inf}}, ValueError, "positive finite number"),
        ({"scale": {"gb200.hbm_bandwidth": 1e300}}, ValueError, "beyond any plausible figure"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_scenarios_are_refused_by_name(options: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        claims.evaluate("batch.optimal-size", **options)  # type: ignore[call-overload]


def test_unknown_claims_and_ambiguous_cases_are_refused() -> None:
    with pytest.raises(UnknownClaimError, match=re.escape("unknown claim ID 'batch.nothing'")):
        claims.evaluate("batch.nothing")
    with pytest.raises(ValueError, match="reads several accelerator records"):
        claims.evaluate("rooflines.ratio-stable", hw="h200")
    with pytest.raises(ValueError, match="reads no accelerator record"):
        claims.evaluate("training.overtraining", hw="h200")


def test_row_details_and_inputs_as_the_book_writes_them(db: hwdb.Database) -> None:
    r = claims.evaluate("batch.optimal-size", hw="h200")
    assert r.row("gb200").value == claims.evaluate("batch.optimal-size").value
    assert r.detail("hardware_ratio").endswith("tokens")
    assert r.input("W") == "4.8 TB/s"
    assert r.stated == "2,000–3,000 tokens"
    with pytest.raises(KeyError, match="no row 'nothing'"):
        r.row("nothing")
    with pytest.raises(KeyError, match="no detail 'nothing'"):
        r.detail("nothing")
    with pytest.raises(KeyError, match="no input 'Q'"):
        r.input("Q")


def test_a_scenario_displays_itself(db: hwdb.Database) -> None:
    r = claims.evaluate("batch.optimal-size", hw="h200", swap={"bf16": "fp8"})
    for text in (r._repr_html_(), r._repr_markdown_(), str(r), repr(r)):
        assert r.text in text
        assert r.verdict.value in text
        assert "bf16 → fp8" in text
    html = r._repr_html_()
    assert "Optimal batch ≈ 300 × sparsity" in html and "<table>" in html and "<details>" in html
    assert r.stated in html
    assert isinstance(r.verdict, Verdict)


def test_display_escapes_what_it_shows() -> None:
    r = claims.evaluate("batch.optimal-size", set={"gb200.hbm_bandwidth": "8 TB/s"})
    assert "<script" not in r._repr_html_()
    assert "gb200.hbm_bandwidth = 8 TB/s" in r._repr_html_()


def test_an_evaluation_notes_what_it_read_for_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the book executes a notebook, each evaluation appends its claim and options, which the build
    replays on the next build's data; one on a database of its own cannot be replayed, and says so."""
    from claims.scenario import TRACE_ENV

    trace = tmp_path / "trace.jsonl"
    monkeypatch.setenv(TRACE_ENV, str(trace))
    claims.evaluate("batch.optimal-size", hw="h200", swap={"bf16": "fp8"})
    claims.evaluate("serving.train-interval", set={"h100-sxm.hbm_bandwidth": "4 TB/s"})
    claims.evaluate("batch.optimal-size", fields={"bf16_flops": "fp8_flops"})
    claims.evaluate("batch.optimal-size", hwdb.load())
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert lines[0] == {
        "claim": "batch.optimal-size",
        "options": {"hw": "h200", "swap": {"bf16": "fp8"}},
        "broad": False,
    }
    assert lines[1] == {
        "claim": "serving.train-interval",
        "options": {"set": {"h100-sxm.hbm_bandwidth": "4 TB/s"}},
        "broad": False,
    }
    assert lines[2] == {
        "claim": "batch.optimal-size",
        "options": {"fields": {"bf16_flops": "fp8_flops"}},
        "broad": False,
    }
    assert lines[3]["broad"] is True


def test_a_scenario_says_how_firm_its_verdict_is() -> None:
    """The Python API carries the evidence class and margin claims.json publishes, and shows a marginal verdict."""
    premium = claims.evaluate("pricing.decode-premium")
    assert premium.marginal and premium.margin is not None and premium.margin < 0.05
    assert "holds (marginal)" in str(premium) and "evidence" in str(premium)
    kv = claims.evaluate("kv.bytes-per-token")
    assert kv.evidence == "lecture-arithmetic"  # it rests on the lecture's own active size
    assert claims.evaluate("rooflines.compute-linear-in-batch").margin is None  # an exact statement
