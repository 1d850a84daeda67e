"""Sphinx adapter: the interactive explore page (``.. explore-claims::``).

The directive writes the page's controls, a table with the engine's values for the default
chip and model (readable without JavaScript), and the data of :func:`claims.explore.data`
as JSON; ``explore.js`` re-derives every row in the browser when the reader picks another
chip or model or types a number.
"""

from __future__ import annotations

import html
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from .. import calculator, explore, formatting
from ..engine import Evaluation
from ..sphinxnodes import build_state
from . import dependencies


def _options(records: list[dict[str, Any]], chosen: str | None) -> str:
    return "".join(
        f'<option value="{html.escape(r["id"])}"{" selected" if r["id"] == chosen else ""}>'
        f"{html.escape(r['name'])}</option>"
        for r in records
    )


def _field(spec: dict[str, Any], record: dict[str, Any] | None) -> str:
    """One input, filled from the default record (empty where that record has no such field)."""
    entry = record["values"].get(spec["field"]) if record else None
    variable = {
        "name": f"{spec['group']}-{spec['field']}",
        "label": spec["label"],
        "key": spec["field"],
        "text": entry["text"] if entry else "",
        "unit": entry["unit"] if entry else "",
    }
    return calculator.field_html(variable, "explore")


def _engine_cells(e: Evaluation, accelerator: str | None) -> tuple[str, str, str]:
    """Value, data-value and verdict badge of the engine's row for the default chip."""
    row = next((r for r in e.rows if r.record is not None and r.record.id == accelerator), None)
    if row is None:
        return "—", "", "—"
    verdict = "—" if row.verdict is None else row.verdict.value
    badge = (
        verdict
        if row.verdict is None
        else f'<span class="claim-verdict verdict-{verdict.replace(" ", "-")}">{html.escape(verdict)}</span>'
    )
    return formatting.claim_quantity(e.claim, row.value), repr(row.value), badge


def _note(claim: dict[str, Any]) -> str:
    parts = []
    if claim["rule"] != "reference":
        parts.append(
            f"One row of a population claim: the book's verdict ({claim['verdict']}) counts "
            f"the {claim['rows']} rows in its scope (rule “{claim['rule']}”)."
        )
    fixed = [a for a in claim["args"] if a["group"] == "fixed"]
    if fixed:
        parts.append("Also uses " + "; ".join(f"{a['label']} {a['shown']} ({a['key']})" for a in fixed) + ".")
    return " ".join(html.escape(p) for p in parts)


def page_html(data: dict[str, Any], evaluations: dict[str, Evaluation]) -> str:
    """The whole interactive block."""
    accelerator, model = data["default_accelerator"], data["default_model"]
    by_id = {r["id"]: r for r in data["accelerators"] + data["models"]}
    groups = []
    for group, legend, chosen in (("accelerator", "Accelerator", accelerator), ("model", "Model", model)):
        fields = "".join(_field(f, by_id.get(chosen or "")) for f in data["fields"] if f["group"] == group)
        groups.append(f'<fieldset class="explore-group"><legend>{legend}</legend>{fields}</fieldset>')
    rows = []
    for claim in data["claims"]:
        value, raw, badge = _engine_cells(evaluations[claim["id"]], accelerator)
        note = _note(claim)
        rows.append(
            f'<tr data-claim="{html.escape(claim["id"])}"><td><a href="{html.escape(claim["url"])}">'
            f"{html.escape(claim['title'])}</a> <code>{html.escape(claim['id'])}</code>"
            + (f'<br><span class="explore-note">{note}</span>' if note else "")
            + "</td>"
            + f'<td data-label="value"><output data-role="value" data-value="{raw}">{html.escape(value)}</output></td>'
            f'<td data-label="lecture">{html.escape(claim["stated"])}</td>'
            f'<td data-label="verdict"><output data-role="verdict">{badge}</output></td></tr>'
        )
    return (
        '<div class="claim-explore">'
        '<div class="explore-pick">'
        f'<label>Accelerator <select name="accelerator">{_options(data["accelerators"], accelerator)}</select></label> '
        f'<label>Model <select name="model">{_options(data["models"], model)}</select></label>'
        "</div>"
        '<p class="explore-status" role="status"></p>'
        f'<div class="explore-fields">{"".join(groups)}</div>'
        '<div class="explore-table-wrap"><table class="explore-results">'
        "<thead><tr><th>claim</th><th>value</th><th>lecture</th><th>verdict</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f'<script type="application/json">{calculator.payload(data)}</script>'
        "</div>"
    )


class ExploreDirective(SphinxDirective):
    """``.. explore-claims::`` — pick a chip and a model (or type numbers); every per-chip claim re-derived."""

    def run(self) -> list[nodes.Node]:
        state = build_state(self.env.app)
        evaluations = dependencies.untracked(state.evaluations)
        if state.db is None or not evaluations:
            return []  # the claims failed to evaluate; that failure is already reported
        # The page shows the per-chip claims (which ones is the code's choice), whole, and the hwdb values
        # the payload reads (noted as they are read).
        dependencies.record(self.env, claims=[e.claim.id for e in explore.hardware_claims(evaluations)])
        data = explore.data(evaluations, state.db)
        return [nodes.raw("", page_html(data, evaluations), format="html")]


def add_script(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """html-page-context: load explore.js only on a page that holds the explorer."""
    if "claim-explore" in context.get("body", ""):
        app.add_js_file("explore.js")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("explore-claims", ExploreDirective)
    app.connect("html-page-context", add_script)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
