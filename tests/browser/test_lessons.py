"""Every chapter reads as a lesson, at desktop and phone width (``nox -s browser``).

A chapter opens with reasoning, not a verdict; its claim boxes wait in one folded Evidence section, so
they fill little of the page as loaded; it ends with exercises; and no equation, with every fold open, is
wider than the column it sits in. Measured in Chromium on the built book, the way a reader gets it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("BOOK_SITE", REPO / "_build/html"))


BOX_SHARE = 0.35  # of the article's height, as loaded
WORDS_BEFORE_VERDICT = 120
EXERCISES = 4
TEACHING_EXERCISES = 2  # of which derive, estimate or design


def _chapters() -> list[str]:
    """The chapters: the pages that place claim boxes (an Evidence section)."""
    return sorted(p.name for p in SITE.glob("*.html") if "claim-evidence-section" in p.read_text(encoding="utf-8"))


CHAPTERS = _chapters() if SITE.exists() else []

MEASURE = """() => {
  const article = document.querySelector("article[role=main]") || document.querySelector("article");
  const height = article.getBoundingClientRect().height;
  let boxes = 0;
  for (const box of article.querySelectorAll(".claim-box")) {
    if (box.checkVisibility()) boxes += box.getBoundingClientRect().height;
  }
  // Words of running prose (paragraphs and list items, no headings, captions or math) before the first
  // verdict badge in document order.
  let words = 0, verdict = null;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.nodeType === Node.ELEMENT_NODE) {
      if (node.matches(".claim-verdict")) { verdict = node.textContent; break; }
      continue;
    }
    const parent = node.parentElement;
    if (!parent.closest("p, li") || parent.closest("mjx-container, h1, h2, h3, figcaption, .caption")) continue;
    words += node.textContent.split(/\\s+/).filter(Boolean).length;
  }
  const kinds = [...article.querySelectorAll("section.exercise")].map(
    (s) => [...s.classList].find((c) => c.startsWith("exercise-")) || "exercise-apply");
  return {share: boxes / height, words, verdict, kinds};
}"""

TOO_WIDE = """() => {
  const out = [];
  for (const math of document.querySelectorAll("article mjx-container[display=true]")) {
    const column = math.parentElement.getBoundingClientRect().width;
    const drawn = math.querySelector("mjx-math").getBoundingClientRect().width;
    if (drawn > column + 1) {
      const holder = math.closest("[id]");
      out.push(`${Math.round(drawn)} px in a ${Math.round(column)} px column (in #${holder ? holder.id : "?"})`);
    }
  }
  return out;
}"""


def _load(browser: Browser, url: str, width: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(url, wait_until="load")
    page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=20000)
    page.wait_for_timeout(300)
    return page


def test_the_chapters_are_found() -> None:
    assert len(CHAPTERS) >= 9, f"found only {CHAPTERS}: is the book built?"


@pytest.mark.parametrize("width", [1400, 420])
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_teaches_before_it_judges(browser: Browser, base_url: str, name: str, width: int) -> None:
    """Boxes under a third of the page as loaded; reasoning before the first verdict; exercises that teach."""
    page = _load(browser, base_url + name, width)
    try:
        measured = page.evaluate(MEASURE)
        assert measured["share"] <= BOX_SHARE, (
            f"{name} at {width}px: claim boxes fill {measured['share']:.0%} of the page as loaded"
        )
        assert measured["verdict"] is not None, f"{name}: no verdict chip at all"
        assert measured["words"] >= WORDS_BEFORE_VERDICT, (
            f"{name}: only {measured['words']} words before the first verdict ({measured['verdict']!r})"
        )
        kinds = measured["kinds"]
        assert len(kinds) >= EXERCISES, f"{name}: {len(kinds)} exercises"
        teaching = [k for k in kinds if k in ("exercise-derive", "exercise-estimate", "exercise-design")]
        assert len(teaching) >= TEACHING_EXERCISES, f"{name}: {len(teaching)} exercises derive, estimate or design"
    finally:
        page.close()


@pytest.mark.parametrize("width", [1400, 420])
@pytest.mark.parametrize("name", CHAPTERS)
def test_no_equation_is_wider_than_its_column(browser: Browser, base_url: str, name: str, width: int) -> None:
    """With every fold open (the boxes' derivations included), each display equation fits its column."""
    page = _load(browser, base_url + name, width)
    try:
        page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        page.wait_for_timeout(500)
        assert page.evaluate(TOO_WIDE) == [], f"{name} at {width}px"
    finally:
        page.close()


def test_a_link_to_a_box_opens_the_evidence_around_it(browser: Browser, base_url: str) -> None:
    """The chips and c/ID.html link to a box inside a closed fold: the reader lands on the open box."""
    page = _load(browser, base_url + "rooflines.html#claim-batch.optimal-size", 1400)
    try:
        box = page.locator("#claim-batch\\.optimal-size")
        assert box.is_visible()
        # The page settles (equations typeset, figures laid out) while the box is kept in view.
        page.wait_for_function(
            "() => { const r = document.getElementById('claim-batch.optimal-size').getBoundingClientRect();"
            " return r.top >= 0 && r.top < innerHeight; }",
            timeout=5000,
        )
        page.goto(base_url + "rooflines.html", wait_until="load")
        chip = page.locator("p.claim-chip a", has_text=re.compile(r"\w")).first
        chip.click()
        page.wait_for_timeout(300)
        target = chip.get_attribute("href") or ""
        landed = page.locator("#" + target.split("#", 1)[1].replace(".", "\\."))
        assert landed.is_visible()
    finally:
        page.close()


def test_every_chip_matches_its_box(browser: Browser, base_url: str) -> None:
    """A chip's verdict is its box's verdict (both read the one evaluation)."""
    page = _load(browser, base_url + "train.html", 1400)
    try:
        for chip in page.locator("p.claim-chip").all():
            href = chip.locator("a").first.get_attribute("href") or ""
            box = page.locator("#" + href.split("#", 1)[1].replace(".", "\\."))
            chip_verdict = chip.locator(".claim-verdict").text_content()
            box_verdict = box.locator(".claim-header .claim-verdict, .claim-headline .claim-verdict").first
            assert chip_verdict == box_verdict.text_content(), href
    finally:
        page.close()
