"""The claim index at desktop and phone width (``nox -s browser``): every verdict on screen, cards below 40em.

A verdict that sits in a table scrolled sideways, or past the right edge of a phone, is a verdict
nobody reads; so every cell of every claim-index row must lie inside the viewport and inside every
box that clips it, at 1400 px (a table that fits the article) and at 420 px (one card per claim).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("BOOK_SITE", REPO / "_build/html"))  # another build folder: $BOOK_SITE
INDEX_PAGES = ("claims.html", "index.html")  # the pages that hold a claim index

# For each cell of each shown row of each claim index: its text, its horizontal extent, and the
# horizontal extent it may use (the viewport narrowed by every ancestor that clips overflow).
CELLS = """
() => {
  const out = [];
  const width = document.documentElement.clientWidth;
  for (const cell of document.querySelectorAll("table.claim-index tbody tr:not([hidden]) td")) {
    let [left, right] = [0, width];
    for (let box = cell.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible") {
        const r = box.getBoundingClientRect();
        [left, right] = [Math.max(left, r.left), Math.min(right, r.right)];
      }
    }
    const r = cell.getBoundingClientRect();
    const verdict = cell.querySelector(".claim-verdict");
    out.push({
      text: cell.innerText.trim().slice(0, 60),
      verdict: verdict ? verdict.innerText : null,
      box: [r.left, r.right, r.width],
      room: [left, right],
    });
  }
  return out;
}
"""


def _open(browser: Browser, url: str, width: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(url, wait_until="load")
    page.wait_for_function("document.querySelector('form.claim-index-filter') !== null")
    return page


def _outside(page: Page) -> list[str]:
    """Every cell (and so every verdict) that reaches past the viewport or a box that clips it."""
    bad = []
    for cell in page.evaluate(CELLS):
        (left, right, width), (room_left, room_right) = cell["box"], cell["room"]
        if width <= 0 or left < room_left - 0.5 or right > room_right + 0.5:
            what = f"verdict {cell['verdict']!r}" if cell["verdict"] else f"cell {cell['text']!r}"
            bad.append(f"{what} spans {left:.0f}–{right:.0f} px, room {room_left:.0f}–{room_right:.0f} px")
    return bad


@pytest.mark.parametrize("width", [1400, 420])
@pytest.mark.parametrize("name", INDEX_PAGES)
def test_every_claim_index_verdict_inside_the_viewport(browser: Browser, base_url: str, name: str, width: int) -> None:
    """Every claim-index verdict inside the viewport at 1400 and 420 px (bounding box within [0, viewport width])."""
    claims = json.loads((SITE / "claims.json").read_text())["claims"]
    page = _open(browser, base_url + name, width)
    try:
        verdicts = page.locator("table.claim-index tbody tr .claim-verdict")
        assert verdicts.count() >= len(claims), f"{name}: the claim index shows fewer verdicts than claims"
        for verdict in verdicts.all():
            box = verdict.bounding_box()
            assert box is not None and box["width"] > 0, f"{name}: a verdict is not drawn at {width}px"
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (
                f"{name} at {width}px: verdict {verdict.inner_text()!r} spans {box['x']:.0f}–"
                f"{box['x'] + box['width']:.0f} px"
            )
        bad = _outside(page)
        assert not bad, f"{name} at {width}px: {len(bad)} cells clipped or off-screen, e.g. " + "; ".join(bad[:5])
    finally:
        page.close()


def test_claim_index_is_cards_on_a_phone_and_a_table_on_a_desktop(browser: Browser, base_url: str) -> None:
    """Below 40em each claim is a card (no header row; value and lecture labelled); above, a table with headers."""
    for width, cards in ((1400, False), (420, True)):
        page = _open(browser, base_url + "claims.html", width)
        try:
            table = page.locator("table.claim-index").first
            assert table.locator("thead").is_visible() is not cards, f"header row at {width}px"
            row = table.locator("tbody tr").first
            assert (row.evaluate("r => getComputedStyle(r).display") == "grid") is cards, f"row display at {width}px"
            if cards:
                labels = row.locator("td.claim-index-judged").evaluate("c => getComputedStyle(c, '::before').content")
                assert labels == '"the book"'
        finally:
            page.close()


def test_claim_index_filter_hides_cards_on_a_phone(browser: Browser, base_url: str) -> None:
    """The verdict filter hides cards at 420 px as it hides rows at 1400 px (a card's display must not undo it)."""
    claims = json.loads((SITE / "claims.json").read_text())["claims"]
    expected = sum(c["verdict"] == "does not hold" for c in claims)
    page = _open(browser, base_url + "claims.html", 420)
    try:
        table = page.locator("table.claim-index").first
        page.locator("form.claim-index-filter").first.locator('select[name="verdict"]').select_option("does not hold")
        assert table.locator("tbody tr:visible").count() == expected
        assert not _outside(page)
    finally:
        page.close()
