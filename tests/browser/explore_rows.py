"""The explore page's result table as the browser tests read it."""

from __future__ import annotations

from playwright.sync_api import Page


def explore_rows(page: Page, shown: str = "value") -> dict[str, tuple[str | None, str | None, str]]:
    """Each claim row of the explore page: data-value, data-verdict, and the text of its ``shown`` cell
    ("value" or "verdict") as written."""
    out = {}
    for row in page.locator("table.explore-results tbody tr").all():
        value = row.locator('output[data-role="value"]')
        verdict = row.locator('output[data-role="verdict"]')
        out[row.get_attribute("data-claim") or ""] = (
            value.get_attribute("data-value"),
            verdict.get_attribute("data-verdict"),
            (value if shown == "value" else verdict).inner_text(),
        )
    return out
