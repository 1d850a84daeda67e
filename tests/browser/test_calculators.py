"""The calculators refuse the impossible, and the explore page judges only the lecture's own case (``nox -s browser``).

Each refusal the book promises is typed into the built page in Chromium: more active than total
parameters, more experts selected than routed, more dense layers than layers, a whole parameter count
typed into a field of billions, a bandwidth no part could reach. The explore page must leave other
models unjudged and keep its scenario in the address; an update must take well under 50 ms.
"""

from __future__ import annotations

import functools
import json
import os
import re
import statistics
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Locator, Page

import hwdb
from claims import evaluate, explore, get_claim
from claims.engine import ClaimError

from .explore_rows import explore_rows

REPO = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("BOOK_SITE", REPO / "_build/html"))  # another build folder: $BOOK_SITE
UPDATE_BUDGET_MS = 50  # the target for one update; typical figures are a few ms (printed)


@functools.cache
def _db() -> hwdb.Database:
    return hwdb.load([])


def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(url, wait_until="load")
    return page, problems


def _page_of(claim_id: str) -> str:
    """The chapter page whose claim box holds this claim's calculator (boxes may move between pages)."""
    marker = f'class="claim-calculator" data-claim="{claim_id}"'
    for path in sorted(SITE.glob("*.html")):
        if marker in path.read_text(encoding="utf-8"):
            return path.name
    raise AssertionError(f"no built page holds the calculator of {claim_id}")


def _calculator(page: Page, claim_id: str) -> Locator:
    box = page.locator(f'.claim-calculator[data-claim="{claim_id}"]').first
    box.evaluate(  # open every fold around it: the box may sit in a folded Evidence section
        "el => { for (let d = el.closest('details'); d; d = d.parentElement.closest('details')) d.open = true; }"
    )
    box.scroll_into_view_if_needed()
    return box


def _field(box: Locator, key: str) -> Locator:
    return box.locator(f'input[data-key="{key}"]')


def _message(page: Page, field: Locator) -> Locator:
    return page.locator("#" + (field.get_attribute("aria-describedby") or "missing"))


def _echo(page: Page, field: Locator) -> Locator:
    return page.locator(f'output.calc-echo[for="{field.get_attribute("id")}"]')


def _value(box: Locator) -> tuple[str | None, str | None]:
    """The calculator's data-value (empty: no value) and data-verdict (None: no verdict)."""
    value = box.locator('output[data-role="value"]').get_attribute("data-value")
    return value, box.locator('output[data-role="verdict"]').get_attribute("data-verdict")


#: The refusals issue 28 lists, each as (claim, field typed into, text, words the message must hold).
REFUSALS = {
    "active-above-total": ("batch.optimal-size", "deepseek-v3.active_params", "1,000", ("cannot exceed", "total")),
    "selected-above-routed": ("moe.router-fraction", "deepseek-v3.experts_per_token", "300", ("cannot exceed",)),
    "dense-layers-above-layers": ("batch.unbatched-penalty", "deepseek-v3.dense_layers", "100", ("cannot exceed",)),
    "whole-count-in-billions": ("batch.optimal-size", "deepseek-v3.total_params", "671e9", ("billions", "671")),
    "bandwidth-beyond-any-part": ("batch.optimal-size", "gb200.hbm_bandwidth", "1e30", ("HBM bandwidth", "plausible")),
    "bandwidth-with-unit": ("batch.optimal-size", "gb200.hbm_bandwidth", "1e30 TB/s", ("HBM bandwidth", "plausible")),
    "fractional-layers": ("batch.unbatched-penalty", "deepseek-v3.layers", "61.5", ("whole number",)),
    "total-below-active": ("batch.optimal-size", "deepseek-v3.total_params", "30", ("cannot be less", "active")),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_calculator_refuses_the_impossible(browser: Browser, base_url: str, case: str) -> None:
    """Each impossible input is refused beside its field, with no value and no verdict; the hwdb value restores."""
    claim_id, key, text, words = REFUSALS[case]
    page, problems = _open(browser, base_url + _page_of(claim_id))
    try:
        box = _calculator(page, claim_id)
        field = _field(box, key)
        before = _value(box)
        assert before[0], f"{claim_id}: no value at the reference inputs"
        original = field.input_value()
        field.fill(text)
        message = _message(page, field)
        assert message.is_visible(), (case, "no message")
        said = message.inner_text()
        for word in words:
            assert word in said, (case, said)
        assert field.get_attribute("aria-invalid") == "true"
        assert _value(box) == ("", None), case
        assert "correct the input" in box.locator('output[data-role="value"]').inner_text()
        field.fill(original)
        assert not message.is_visible() and field.get_attribute("aria-invalid") is None
        assert _value(box) == before
        assert problems == []
    finally:
        page.close()


def test_an_order_broken_and_mended_from_the_other_field(browser: Browser, base_url: str) -> None:
    """1,000B active against 671B total is refused at the active field; raising the total to 2T mends it."""
    page, problems = _open(browser, base_url + _page_of("batch.optimal-size"))
    try:
        box = _calculator(page, "batch.optimal-size")
        active, total = _field(box, "deepseek-v3.active_params"), _field(box, "deepseek-v3.total_params")
        active.fill("1000")
        assert active.get_attribute("aria-invalid") == "true" and total.get_attribute("aria-invalid") is None
        total.fill("2T")
        assert active.get_attribute("aria-invalid") is None and total.get_attribute("aria-invalid") is None
        assert _echo(page, total).inner_text() == "= 2,000 B parameters"
        db = _db().with_value("deepseek-v3", "active_params", hwdb.Quantity(1000e9, "param"), "test")
        db = db.with_value("deepseek-v3", "total_params", hwdb.Quantity(2e12, "param"), "test")
        expected = evaluate(get_claim("batch.optimal-size"), db).value
        value, _ = _value(box)
        assert value and float(value) == pytest.approx(expected, rel=1e-9)
        assert problems == []
    finally:
        page.close()


def test_a_typed_unit_is_applied_and_echoed(browser: Browser, base_url: str) -> None:
    """671e9 with its unit is 671B parameters, and the page says so beside the field; 4000 GB/s is 4 TB/s."""
    page, problems = _open(browser, base_url + _page_of("batch.optimal-size"))
    try:
        box = _calculator(page, "batch.optimal-size")
        before = _value(box)
        total = _field(box, "deepseek-v3.total_params")
        total.fill("671e9 parameters")
        assert total.get_attribute("aria-invalid") is None
        assert _echo(page, total).inner_text() == "= 671 B parameters"
        assert _value(box) == before
        bandwidth = _field(box, "gb200.hbm_bandwidth")
        bandwidth.fill("8000 GB/s")
        assert _echo(page, bandwidth).inner_text() == "= 8 TB/s"
        assert _value(box) == before
        bandwidth.fill("8")  # as the field shows it: nothing to echo
        assert not _echo(page, bandwidth).is_visible()
        assert problems == []
    finally:
        page.close()


def test_a_count_the_schema_lets_be_zero_is_accepted(browser: Browser, base_url: str) -> None:
    """No leading dense layers is a real model (a count hwdb allows to be zero): computed, not refused."""
    page, problems = _open(browser, base_url + _page_of("batch.unbatched-penalty"))
    try:
        box = _calculator(page, "batch.unbatched-penalty")
        field = _field(box, "deepseek-v3.dense_layers")
        field.fill("0")
        assert field.get_attribute("aria-invalid") is None
        db = _db().with_value("deepseek-v3", "dense_layers", hwdb.Quantity(0, ""), "test")
        value, _ = _value(box)
        assert value and float(value) == pytest.approx(evaluate(get_claim("batch.unbatched-penalty"), db).value)
        assert problems == []
    finally:
        page.close()


# ---------------------------------------------------------------- the explore page


def test_explore_judges_only_the_claims_own_model(browser: Browser, base_url: str) -> None:
    """Llama 405B's balanced batch is shown, not held to DeepSeek's 2,000–3,000; every value is still the engine's."""
    db = _db()
    page, problems = _open(browser, base_url + "explore.html")
    try:
        chip = page.locator('.claim-explore select[name="accelerator"]').input_value()
        assert explore_rows(page, "verdict")["batch.optimal-size"][1] is not None  # the claim's own model: judged
        page.locator('.claim-explore select[name="model"]').select_option("llama-3.1-405b")
        rows = explore_rows(page, "verdict")
        value, verdict, text = rows["batch.optimal-size"]
        assert value and verdict is None and "DeepSeek" in text
        assert page.locator('tr[data-claim="batch.optimal-size"] .claim-verdict').count() == 0
        checked = 0
        for claim_id, (value, verdict, _) in rows.items():
            claim = get_claim(claim_id)
            if explore.model_of(claim, db) is None:
                continue  # reads no model: the chip's own row, judged as before
            assert verdict is None, claim_id
            try:
                e = evaluate(explore.with_model(claim, db, "llama-3.1-405b"), db)
            except ClaimError:
                assert not value, claim_id  # the model lacks a field the claim needs
                continue
            row = next(r for r in e.rows if r.record is not None and r.record.id == chip)
            assert value and float(value) == pytest.approx(row.value, rel=1e-12), claim_id
            checked += 1
        assert checked > 0
        assert problems == []
    finally:
        page.close()


def test_explore_refuses_the_impossible(browser: Browser, base_url: str) -> None:
    """The same rules as the claim boxes: 1,000B active of 671B is refused, as is 1e30 TB/s."""
    page, problems = _open(browser, base_url + "explore.html")
    try:
        active = page.locator('input[data-name="model-active_params"]')
        active.fill("1000")
        assert "cannot exceed" in _message(page, active).inner_text()
        assert not explore_rows(page, "verdict")["batch.optimal-size"][0]
        active.fill("37")
        assert explore_rows(page, "verdict")["batch.optimal-size"][0]
        bandwidth = page.locator('input[data-name="accelerator-hbm_bandwidth"]')
        bandwidth.fill("1e30")
        assert "plausible" in _message(page, bandwidth).inner_text()
        assert not explore_rows(page, "verdict")["serving.worst-case-wait"][0]
        assert problems == []
    finally:
        page.close()


def test_explore_scenario_survives_a_reload(browser: Browser, base_url: str) -> None:
    """Chip, model and typed numbers go into the address; opening it again shows the same rows, step explorer too."""
    page, problems = _open(browser, base_url + "explore.html")
    try:
        page.locator('.claim-explore select[name="accelerator"]').select_option("b200")
        page.locator('.claim-explore select[name="model"]').select_option("kimi-k2")
        page.locator('input[data-name="accelerator-hbm_bandwidth"]').fill("4000 GB/s")
        page.locator('.step-explore input[name="batch"]').fill("64")
        url = page.evaluate("location.href")  # page.url may lag a history.replaceState
        query = parse_qs(urlparse(url).query)
        assert query["accelerator"] == ["b200"] and query["model"] == ["kimi-k2"]
        assert query["accelerator.hbm_bandwidth"] == ["4000 GB/s"]
        assert "batch=64" in urlparse(url).fragment  # the step explorer's own scenario, kept beside it
        rows = explore_rows(page, "verdict")
        step = page.locator('.step-explore output[data-out="step"]').get_attribute("data-value")
    finally:
        page.close()
    again, more = _open(browser, url)
    try:
        assert again.locator('.claim-explore select[name="accelerator"]').input_value() == "b200"
        assert again.locator('.claim-explore select[name="model"]').input_value() == "kimi-k2"
        assert again.locator('input[data-name="accelerator-hbm_bandwidth"]').input_value() == "4000 GB/s"
        assert explore_rows(again, "verdict") == rows
        assert again.locator('.step-explore output[data-out="step"]').get_attribute("data-value") == step
        assert problems == [] and more == []
    finally:
        again.close()


def test_explore_names_an_unknown_record_in_the_address(browser: Browser, base_url: str) -> None:
    page, problems = _open(browser, base_url + "explore.html?model=no-such-model")
    try:
        assert "no-such-model" in page.locator(".explore-status").inner_text()
        assert page.locator('.claim-explore select[name="model"]').input_value() != "no-such-model"
        assert problems == []
    finally:
        page.close()


# ---------------------------------------------------------------- speed

#: Times one update: set the input's text and dispatch the event the page listens to; returns milliseconds.
TIME_UPDATES = """
([selector, texts, event]) => {
  const el = document.querySelector(selector);
  const times = [];
  for (let i = 0; i < 41; i++) {
    el.value = texts[i % texts.length];
    const start = performance.now();
    el.dispatchEvent(new Event(event, { bubbles: true }));
    times.push(performance.now() - start);
  }
  return times;
}
"""


def _report(what: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"\n{what}: median {median:.2f} ms, max {max(times):.2f} ms over {len(times)} updates")
    return median


def test_an_update_takes_well_under_50_ms(browser: Browser, base_url: str) -> None:
    """The largest claim box, a typed field and a chosen chip on the explore page: the median update is timed."""
    claim_id = "batch.unbatched-penalty"  # the most inputs of any calculator
    page, problems = _open(browser, base_url + _page_of(claim_id))
    try:
        box = _calculator(page, claim_id)
        ident = _field(box, "gb200.hbm_bandwidth").get_attribute("id")
        times = page.evaluate(TIME_UPDATES, [f"#{ident}", ["8", "4000 GB/s", "12", "1e30"], "input"])
        assert _report(f"claim box {claim_id}", times) <= UPDATE_BUDGET_MS
        assert problems == []
    finally:
        page.close()
    page, problems = _open(browser, base_url + "explore.html")
    try:
        chips = [o.get_attribute("value") for o in page.locator('select[name="accelerator"] option').all()]
        field = 'input[data-name="accelerator-hbm_bandwidth"]'
        times = page.evaluate(TIME_UPDATES, [field, ["8", "4000 GB/s", "12", "1e30"], "input"])
        assert _report("explore, a typed bandwidth", times) <= UPDATE_BUDGET_MS
        times = page.evaluate(TIME_UPDATES, ['.claim-explore select[name="accelerator"]', chips, "change"])
        assert _report("explore, another chip", times) <= UPDATE_BUDGET_MS
        assert problems == []
    finally:
        page.close()


def test_specs_carry_the_rules_the_page_applies() -> None:
    """The built page's spec (not a fresh one) names the orders and counts the refusals above rely on."""
    page = (SITE / _page_of("batch.unbatched-penalty")).read_text(encoding="utf-8")
    found = re.search(
        r'data-claim="batch\.unbatched-penalty">.*?<script type="application/json">(.*?)</script>', page, re.S
    )
    assert found is not None
    spec: dict[str, Any] = json.loads(found.group(1).replace("<\\/", "</"))
    keys = {v["name"]: v["key"] for v in spec["vars"]}
    pairs = {(keys[a], keys[b]) for a, b in spec["ordered"]}
    assert ("deepseek-v3.active_params", "deepseek-v3.total_params") in pairs
    assert ("deepseek-v3.experts_per_token", "deepseek-v3.routed_experts") in pairs
    assert ("deepseek-v3.dense_layers", "deepseek-v3.layers") in pairs
    counts = {v["key"] for v in spec["vars"] if v["count"]}
    assert "deepseek-v3.layers" in counts and "deepseek-v3.total_params" not in counts
