"""The book's figures as a reader sees them (``nox -s browser``): text never under 11 px, on a phone or a desktop.

An SVG is drawn at a natural size and the browser shrinks it to its column, and its text with it.
So the size that matters is the smallest text the figure prints (``data-smallest-text-pt``, which
claims/figstyle.py stamps on every ``<svg>``) times the scale the page shows it at: displayed width
over natural width. Each figure comes in a wide and a narrow layout; at every width checked here
exactly one layout shows, it fits its column, and its smallest text is at least MIN_TEXT_PX.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from claims.figstyle import MIN_TEXT_PX

REPO = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("BOOK_SITE", REPO / "_build/html"))  # another build folder: $BOOK_SITE
#: A phone, the narrowest width that gets the wide layout (40em and a pixel), and a desktop.
WIDTHS = (420, 641, 1400)
PAGES = sorted(p.name for p in SITE.glob("*.html") if '<figure class="claim-figure' in p.read_text(encoding="utf-8"))

# For each figure on the page: its id, how many panels each layout has, and for each shown <svg> its
# natural width (pt), displayed width, smallest text (pt), and its right edge against its column's.
FIGURES = """
() => [...document.querySelectorAll("figure.claim-figure")].map(figure => {
  const layouts = {};
  for (const name of ["wide", "narrow"]) {
    const box = figure.querySelector(`.claim-figure-${name}`);
    layouts[name] = box ? box.querySelectorAll("svg").length : 0;
  }
  const column = figure.getBoundingClientRect();
  const shown = [...figure.querySelectorAll("svg")].filter(s => s.getBoundingClientRect().width > 0).map(s => {
    const r = s.getBoundingClientRect();
    return {
      layout: s.closest(".claim-figure-wide") ? "wide" : "narrow",
      natural_pt: parseFloat(s.getAttribute("width")),
      displayed_px: r.width,
      smallest_pt: parseFloat(s.dataset.smallestTextPt),
      overflow_px: Math.max(r.right - column.right, column.left - r.left),
    };
  });
  return {id: figure.id, layouts, shown};
})
"""


def _figures(browser: Browser, url: str, width: int) -> list[dict[str, Any]]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(url)
        figures: list[dict[str, Any]] = page.evaluate(FIGURES)
    finally:
        page.close()
    return figures


def test_the_book_has_figures() -> None:
    assert len(PAGES) >= 5, f"only {PAGES} show a figure: is {SITE} a current build?"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_figure_text_is_legible_as_shown(browser: Browser, base_url: str, page: str, width: int) -> None:
    expected = "narrow" if width < 640 else "wide"
    figures = _figures(browser, base_url + page, width)
    assert figures, f"{page}: no figure found"
    for figure in figures:
        name, shown = figure["id"], figure["shown"]
        assert {s["layout"] for s in shown} == {expected}, f"{page} at {width} px: {name} shows {shown}"
        assert len(shown) == figure["layouts"][expected], f"{page} at {width} px: {name} hides a panel"
        for svg in shown:
            scale = svg["displayed_px"] / (svg["natural_pt"] * 96 / 72)
            text_px = svg["smallest_pt"] * 96 / 72 * scale
            assert text_px >= MIN_TEXT_PX, (
                f"{page} at {width} px: {name}'s smallest text is {text_px:.1f} px "
                f"({svg['smallest_pt']} pt shown at {scale:.2f} of its natural size)"
            )
            overflow = svg["overflow_px"]
            assert overflow <= 1, f"{page} at {width} px: {name} runs {overflow:.0f} px past its column"
