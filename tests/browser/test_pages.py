"""The built book in a real browser (``nox -s browser``): every page, every box, every link.

Serves _build/html on localhost and drives headless Chromium (Debian's package, through
Playwright): no console errors, no failed or outside requests, math rendered, claim boxes
and figures visible, internal links resolving, the in-page calculator agreeing with the
Python evaluation, the claim index's filter and the offline search working. Screenshots
land in _build/screenshots/.
"""

from __future__ import annotations

import functools
import html.parser
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import pytest
from playwright.sync_api import Browser, Locator, Page, Route

import hwdb
from claims import evaluate, explore, get_claim
from claims.engine import ClaimError, Evaluation

from .explore_rows import explore_rows

REPO = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("BOOK_SITE", REPO / "_build/html"))  # another build folder: $BOOK_SITE
SHOTS = Path(os.environ.get("BOOK_SHOTS", REPO / "_build/screenshots"))
PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.glob("*.html"))


def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def outside(route: Route) -> None:
        problems.append(f"request outside the book: {route.request.url}")
        route.abort()

    page.route(lambda u: urlparse(u).hostname != "127.0.0.1", outside)
    page.goto(url, wait_until="load")
    return page, problems


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_cleanly(browser: Browser, base_url: str, name: str) -> None:
    page, problems = _open(browser, base_url + name)
    try:
        if page.locator(".math").count():
            page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=20000)
            assert page.locator(".math mjx-container, mjx-container").count() > 0
            assert "\\frac" not in page.inner_text("article")  # no raw TeX left on the page
        for evidence in page.locator("details.claim-evidence-section").all():  # the chapter's boxes, folded
            evidence.locator(":scope > summary").click()
        for box in page.locator(".claim-box").all():
            size = box.bounding_box()
            assert box.is_visible() and size is not None and size["height"] > 50
        for figure in page.locator(".claim-figure-wide svg").all():  # the narrow layout shows below 40em
            figure.scroll_into_view_if_needed()
            assert figure.is_visible()
        assert problems == []
    finally:
        page.close()


class Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))


@functools.cache
def _parse(name: str) -> Links:
    parser = Links()
    parser.feed((SITE / name).read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("name", PAGES)
def test_internal_links_resolve(name: str) -> None:
    broken = []
    for href in _parse(name).hrefs:
        target = urlparse(urljoin(f"http://book/{name}", href))
        if target.hostname != "book" or (href.startswith("#") and not target.fragment):
            continue
        path = target.path.lstrip("/") or "index.html"
        if path.endswith("/"):
            path += "index.html"
        if not (SITE / path).exists():
            broken.append(f"{href}: no file {path}")
        elif target.fragment and path.endswith(".html") and target.fragment not in _parse(path).ids:
            broken.append(f"{href}: no anchor #{target.fragment} in {path}")
    assert broken == []


# ---------------------------------------------------------------- calculators and the explore page


CALCULATOR_PAGES = [p for p in PAGES if "claim-calculator" in (SITE / p).read_text(encoding="utf-8")]
REFUSED = ("0", "-5", "abc")


def _reveal(locator: Locator) -> None:
    """Open every folded section around an element (a calculator may sit in a <details>)."""
    locator.evaluate(
        "el => { for (let d = el.closest('details'); d; d = d.parentElement.closest('details')) d.open = true; }"
    )


def _spec(box: Locator) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(box.locator('script[type="application/json"]').text_content() or "{}")
    return spec


@functools.cache
def _db() -> hwdb.Database:
    return hwdb.load([])


def _judged(e: Evaluation, mode: str) -> str:
    """The verdict a calculator shows: the claim's (one case) or its reference row's band (a population)."""
    if mode == "bands":
        return e.verdict.value
    assert e.reference.verdict is not None
    return e.reference.verdict.value


def _moved(claim_id: str, variable: dict[str, Any], si: float) -> Evaluation | None:
    """The engine on hwdb with one input set to ``si`` (SI base units); None for a derived field."""
    record, _, name = variable["key"].rpartition(".")
    db = _db()
    if not db[record].has(name):
        return None
    unit = db[record][name].quantity.units
    quantity = hwdb.Quantity(si, hwdb.Quantity(1, unit).to_base_units().units).to(unit)
    return evaluate(get_claim(claim_id), db.with_value(record, name, quantity, "browser test"))


def _admissible(spec: dict[str, Any], variable: dict[str, Any], si: float) -> float | None:
    """``si`` as the page would take it (a count rounded to a whole number), or None where the page refuses it:
    outside the field's plausible range, or breaking an order such as active ≤ total parameters."""
    if variable["count"]:
        si = float(max(round(si), 1))
    if not variable["low"] <= si <= variable["high"]:
        return None
    values = {v["name"]: v["si"] for v in spec["vars"]} | {variable["name"]: si}
    return None if any(values[a] > values[b] for a, b in spec.get("ordered", [])) else si


def _change_verdict(claim_id: str, spec: dict[str, Any]) -> tuple[dict[str, Any], float, Evaluation]:
    """An input and a new value of it for which the engine's verdict differs (or, failing that, the value)."""
    mode = spec["judge"]["mode"]
    before = evaluate(get_claim(claim_id), _db())
    fallback = None
    for k in (10.0, 0.1, 3.0, 1 / 3, 100.0, 0.01, 1.5, 1 / 1.5):
        for variable in spec["vars"]:
            si = _admissible(spec, variable, variable["si"] * k)
            if si is None:
                continue
            moved = _moved(claim_id, variable, si)
            if moved is None or moved.value == pytest.approx(before.value, rel=1e-9):
                continue
            if mode == "none" or _judged(moved, mode) != _judged(before, mode):
                return variable, si, moved
            fallback = fallback or (variable, si, moved)
    assert fallback is not None, f"{claim_id}: no input of the calculator moves its value"
    return fallback


def _fill(box: Locator, variable: dict[str, Any], text: str) -> None:
    field = box.locator(f'input[data-key="{variable["key"]}"]')
    field.fill(text)  # fires the input event


def _shown(box: Locator) -> tuple[str, str | None, str | None]:
    value = box.locator('output[data-role="value"]')
    verdict = box.locator('output[data-role="verdict"]')
    return value.inner_text(), value.get_attribute("data-value"), verdict.get_attribute("data-verdict")


@pytest.mark.parametrize("name", CALCULATOR_PAGES)
def test_every_calculator_updates_value_and_verdict(browser: Browser, base_url: str, name: str) -> None:
    """Typing a new input gives the engine's value and verdict for it; the verdict moves where the engine's does."""
    page, problems = _open(browser, base_url + name)
    try:
        boxes = page.locator(".claim-calculator").all()
        assert boxes
        for box in boxes:
            _reveal(box)
            claim_id = box.get_attribute("data-claim") or ""
            spec = _spec(box)
            before = evaluate(get_claim(claim_id), _db())
            mode = spec["judge"]["mode"]
            _, _, shown_before = _shown(box)
            if mode != "none":
                assert shown_before == _judged(before, mode), claim_id
            variable, si, moved = _change_verdict(claim_id, spec)
            _fill(box, variable, f"{si / variable['factor']:.15g}")
            text, value, verdict = _shown(box)
            assert value and float(value) == pytest.approx(moved.value, rel=1e-9), claim_id
            assert text and "Infinity" not in text and "NaN" not in text
            if mode == "none":
                assert verdict is None, claim_id
            else:
                assert verdict == _judged(moved, mode), claim_id
                if _judged(moved, mode) != _judged(before, mode):
                    assert verdict != shown_before, claim_id
        assert problems == []
    finally:
        page.close()


@pytest.mark.parametrize("name", CALCULATOR_PAGES)
def test_every_calculator_refuses_bad_input(browser: Browser, base_url: str, name: str) -> None:
    """Zero, a negative and a non-number are refused with a message beside the field; no value, no verdict."""
    page, problems = _open(browser, base_url + name)
    try:
        for box in page.locator(".claim-calculator").all():
            _reveal(box)
            variable = _spec(box)["vars"][0]
            field = box.locator(f'input[data-key="{variable["key"]}"]')
            message = page.locator("#" + (field.get_attribute("aria-describedby") or "missing"))
            for text in REFUSED:
                field.fill(text)
                assert message.is_visible() and message.inner_text().strip(), (box.get_attribute("data-claim"), text)
                assert field.get_attribute("aria-invalid") == "true"
                shown, value, verdict = _shown(box)
                assert not value and verdict is None and "Infinity" not in shown and "-" not in shown.split()[0]
            field.fill(variable["text"])
            assert not message.is_visible() and field.get_attribute("aria-invalid") is None
            assert _shown(box)[1]
        assert problems == []
    finally:
        page.close()


#: Every page a reader reaches: the chapters and reference pages, and the notebooks (not the c/ID.html redirects).
READER_PAGES = sorted(
    p.relative_to(SITE).as_posix()
    for p in SITE.rglob("*.html")
    if p.relative_to(SITE).parts[0] not in {"c", "_static", "_sources", "_images"}
    and p.name not in {"genindex.html", "search.html"}
)
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.mark.parametrize("width", [1400, 420])
@pytest.mark.parametrize("name", READER_PAGES)
def test_page_fits_every_fold_opens_and_answers_start_hidden(
    browser: Browser, base_url: str, name: str, width: int
) -> None:
    """At desktop and phone width: no page wider than the viewport, before or after every folded section is
    opened by a click; every exercise answer is hidden until opened. Each page is shot at both widths."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(base_url + name, wait_until="load")
        if page.locator(".math").count():
            page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=20000)
        page.wait_for_timeout(200)
        assert page.evaluate(OVERFLOW) <= 0, f"{name} is wider than the viewport at {width}px"
        for answer in page.locator("details.exercise-answer").all():
            assert answer.get_attribute("open") is None, f"{name}: an exercise answer starts open"
            body = answer.locator(":scope > :not(summary)").first
            assert not body.is_visible(), f"{name}: an exercise answer is visible before it is opened"
        for fold in page.locator("details").all():
            summary = fold.locator(":scope > summary")
            summary.scroll_into_view_if_needed()
            summary.click()
            assert fold.evaluate("d => d.open"), f"{name}: a folded section did not open"
            assert fold.locator(":scope > :not(summary)").first.is_visible(), f"{name}: an opened fold shows nothing"
        overflow = page.evaluate(OVERFLOW)
        assert overflow <= 0, f"{name} is {overflow}px wider than the viewport at {width}px with its folds open"
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"{name.removesuffix('.html').replace('/', '-')}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 5_000
    finally:
        page.close()


@pytest.mark.parametrize("name", [p for p in PAGES if "claim-calculator" in (SITE / p).read_text(encoding="utf-8")])
def test_every_calculator_reproduces_the_verified_value(browser: Browser, base_url: str, name: str) -> None:
    """At the reference inputs, each page's JavaScript gives the value the engine pinned."""
    values = {c["id"]: c["value"] for c in json.loads((SITE / "claims.json").read_text())["claims"]}
    page, problems = _open(browser, base_url + name)
    try:
        for box in page.locator(".claim-calculator").all():
            claim_id = box.get_attribute("data-claim") or ""
            shown = float(box.locator('output[data-role="value"]').get_attribute("data-value") or "nan")
            assert shown == pytest.approx(values[claim_id], rel=1e-9), claim_id
        assert problems == []
    finally:
        page.close()


def test_claim_index_filters_by_verdict_and_evidence(browser: Browser, base_url: str) -> None:
    """The filter shows exactly the claims claims.json gives that verdict (and evidence class)."""
    claims = json.loads((SITE / "claims.json").read_text())["claims"]
    page, problems = _open(browser, base_url + "claims.html")
    try:
        table = page.locator("table.claim-index").first
        form = page.locator("form.claim-index-filter").first
        assert table.locator("tbody tr:visible").count() == len(claims)
        for verdict in ("holds", "holds roughly", "does not hold", "no public evidence"):
            form.locator('select[name="verdict"]').select_option(verdict)
            expected = sorted(c["id"] for c in claims if c["verdict"] == verdict)
            shown = sorted(code.inner_text() for code in table.locator("tbody tr:visible td:first-child code").all())
            assert shown == expected, verdict
            assert form.locator("output").inner_text() == f"{len(expected)} of {len(claims)} claims"
        form.locator('select[name="verdict"]').select_option("does not hold")
        form.locator('select[name="evidence"]').select_option("independent")
        expected = [
            c["id"] for c in claims if c["verdict"] == "does not hold" and c["evidence"]["class"] == "independent"
        ]
        assert table.locator("tbody tr:visible").count() == len(expected)
        # Sorted by margin, smallest first; claims with no margin (exact, no verdict) last, in book order.
        form.locator('select[name="verdict"]').select_option("all")
        form.locator('select[name="evidence"]').select_option("all")
        form.locator('select[name="order"]').select_option(index=1)
        shown = [code.inner_text() for code in table.locator("tbody tr td:first-child code").all()]
        with_margin = sorted((c for c in claims if c["margin"] is not None), key=lambda c: round(c["margin"] * 1e6))
        assert shown[: len(with_margin)] == [c["id"] for c in with_margin]
        form.locator('select[name="order"]').select_option(index=0)
        shown = [code.inner_text() for code in table.locator("tbody tr td:first-child code").all()]
        assert shown == [c["id"] for c in claims]  # book order again
        assert problems == []
    finally:
        page.close()


def test_search_finds_a_claim(browser: Browser, base_url: str) -> None:
    """Sphinx's client-side search works offline and finds the chapter that holds a claim."""
    page, problems = _open(browser, base_url + "search.html?q=roofline")
    try:
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=15_000)
        targets = [a.get_attribute("href") or "" for a in results.all()]
        assert any(t.startswith("rooflines.html") for t in targets), targets
        assert problems == []
    finally:
        page.close()


def test_explore_follows_the_engine_on_every_accelerator(browser: Browser, base_url: str) -> None:
    """Choosing a chip gives, for every claim, the row claims.json holds for that chip: value and verdict."""
    claims = {c["id"]: c for c in json.loads((SITE / "claims.json").read_text())["claims"]}
    page, problems = _open(browser, base_url + "explore.html")
    try:
        select = page.locator('.claim-explore select[name="accelerator"]')
        chips = [o.get_attribute("value") or "" for o in select.locator("option").all()]
        assert len(chips) > 10
        compared = 0
        for chip in chips:
            select.select_option(chip)
            for claim_id, (value, verdict, text) in explore_rows(page).items():
                row = next((r for r in claims[claim_id]["rows"] if r["record"] == chip), None)
                if row is None:  # claims.json has no row: the chip lacks a figure, and the page says which
                    assert not value and "needs" in text, (claim_id, chip)
                    continue
                assert value and float(value) == pytest.approx(row["value"], rel=1e-12), (claim_id, chip)
                assert verdict == row["verdict"], (claim_id, chip)  # None: outside the claim's scope
                compared += 1
        assert compared > 100
        assert problems == []
    finally:
        page.close()


def test_explore_follows_the_engine_for_another_model(browser: Browser, base_url: str) -> None:
    """Another model from hwdb: the page gives what the engine gives with that model's inputs bound."""
    db = _db()
    page, problems = _open(browser, base_url + "explore.html")
    try:
        chip = page.locator('.claim-explore select[name="accelerator"]').input_value()
        models = page.locator('.claim-explore select[name="model"]')
        default = models.input_value()
        others = [o.get_attribute("value") or "" for o in models.locator("option").all()]
        checked = 0
        for model in [m for m in others if m != default]:
            models.select_option(model)
            for claim_id, (value, verdict, text) in explore_rows(page).items():
                claim = get_claim(claim_id)
                if explore.model_of(claim, db) is None:
                    continue
                try:
                    e = evaluate(explore.with_model(claim, db, model), db)
                except ClaimError:
                    assert not value and "needs" in text, (claim_id, model)
                    continue
                row = next(r for r in e.rows if r.record is not None and r.record.id == chip)
                assert value and float(value) == pytest.approx(row.value, rel=1e-12), (claim_id, model)
                assert verdict is None, (claim_id, model)  # the lecture's figure is about its own model only
                checked += 1
        assert checked > 0
        assert problems == []
    finally:
        page.close()


def test_explore_takes_typed_numbers_and_refuses_bad_ones(browser: Browser, base_url: str) -> None:
    """A typed bandwidth (with its own unit) re-derives the rows; zero, negative, non-numbers are refused."""
    page, problems = _open(browser, base_url + "explore.html")
    try:
        chip = page.locator('.claim-explore select[name="accelerator"]').input_value()
        field = page.locator('input[data-name="accelerator-hbm_bandwidth"]')
        message = page.locator("#" + (field.get_attribute("aria-describedby") or "missing"))
        field.fill("4000 GB/s")
        db = _db().with_value(chip, "hbm_bandwidth", hwdb.Quantity(4, "TB/s"), "browser test")
        e = evaluate(get_claim("serving.worst-case-wait"), db)
        row = next(r for r in e.rows if r.record is not None and r.record.id == chip)
        value, verdict, _ = explore_rows(page)["serving.worst-case-wait"]
        assert value and float(value) == pytest.approx(row.value, rel=1e-12)
        assert verdict == (row.verdict.value if row.verdict else None)
        for text in REFUSED:
            field.fill(text)
            assert message.is_visible() and message.inner_text().strip(), text
            value, verdict, shown = explore_rows(page)["serving.worst-case-wait"]
            assert not value and verdict is None and "Infinity" not in shown
        assert problems == []
    finally:
        page.close()


def test_step_explorer_follows_the_engine_and_keeps_the_scenario(browser: Browser, base_url: str) -> None:
    """The step explorer: its numbers are claims.step's, a refused deployment says why, the address keeps it."""
    from claims.deployment import step

    page, problems = _open(browser, base_url + "explore.html")
    try:
        box = page.locator(".step-explore")
        form = box.locator("form")
        form.locator('select[name="model"]').select_option("llama-3.1-70b")
        form.locator('select[name="hw"]').select_option("hgx-h100")
        for name, value in (("chips", "8"), ("batch", "64"), ("context", "8192")):
            form.locator(f'input[name="{name}"]').fill(value)
        for name, value in (("weights", "bf16"), ("kv", "bf16"), ("math", "bf16"), ("attention_math", "bf16")):
            form.locator(f'select[name="{name}"]').select_option(value)
        engine = step("llama-3.1-70b", "hgx-h100", 8, 64, 8192, db=_db())
        shown = float(box.locator('output[data-out="step"]').get_attribute("data-value") or "nan")
        assert shown == pytest.approx(engine.step_s, rel=1e-9)
        assert box.locator('output[data-out="bound"]').inner_text() == engine.bound
        scenario = page.evaluate("window.location.hash")
        assert "model=llama-3.1-70b" in scenario and "batch=64" in scenario
        form.locator('input[name="chips"]').fill("9")  # one more than an HGX H100 holds
        assert box.get_attribute("data-state") == "refused"
        assert "8 chips" in box.locator(".step-status").inner_text()
        again, more = _open(browser, base_url + "explore.html" + scenario)
        try:
            restored = float(again.locator('.step-explore output[data-out="step"]').get_attribute("data-value") or "0")
            assert restored == pytest.approx(engine.step_s, rel=1e-9)
        finally:
            again.close()
        assert problems == [] and more == []
    finally:
        page.close()
