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
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

import hwdb
from claims import evaluate, get_claim

REPO = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("BOOK_SITE", REPO / "_build/html"))  # another build folder: $BOOK_SITE
SHOTS = Path(os.environ.get("BOOK_SHOTS", REPO / "_build/screenshots"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.glob("*.html"))


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    assert (SITE / "index.html").exists(), "build the book first (nox -s book)"
    failed = SITE / "BUILD-FAILED.txt"
    assert not failed.exists(), f"{failed} says the last build failed; its pages are not to be tested or published"
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


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
        for box in page.locator(".claim-box").all():
            size = box.bounding_box()
            assert box.is_visible() and size is not None and size["height"] > 50
        for figure in page.locator(".claim-figure svg").all():
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


def test_calculator_agrees_with_python(browser: Browser, base_url: str) -> None:
    page, problems = _open(browser, base_url + "train.html")
    try:
        box = page.locator('.claim-calculator[data-claim="serving.train-interval"]')
        field = box.locator("input").nth(1)  # inputs are in symbol order: M_HBM, W
        field.fill("4")
        field.dispatch_event("input")
        shown = float(box.locator("output").get_attribute("data-value") or "nan")
        db = hwdb.load([])
        moved = db.with_value("h100-sxm", "hbm_bandwidth", hwdb.Quantity(4, "TB/s"), "browser test")
        expected = evaluate(get_claim("serving.train-interval"), moved).value
        assert shown == pytest.approx(expected, rel=1e-12)
        assert problems == []
    finally:
        page.close()


def test_screenshots(browser: Browser, base_url: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "rooflines.html"):
        page, _ = _open(browser, base_url + name)
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / name.replace(".html", ".png")), full_page=True)
        page.close()
        assert (SHOTS / name.replace(".html", ".png")).stat().st_size > 10_000


@pytest.mark.parametrize("name", [p for p in PAGES if "claim-calculator" in (SITE / p).read_text(encoding="utf-8")])
def test_every_calculator_reproduces_the_verified_value(browser: Browser, base_url: str, name: str) -> None:
    """At the reference inputs, each page's JavaScript gives the value the engine pinned."""
    values = {c["id"]: c["value"] for c in json.loads((SITE / "claims.json").read_text())["claims"]}
    page, problems = _open(browser, base_url + name)
    try:
        for box in page.locator(".claim-calculator").all():
            claim_id = box.get_attribute("data-claim") or ""
            shown = float(box.locator("output").get_attribute("data-value") or "nan")
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
