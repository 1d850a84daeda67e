"""The step model in the book: its derivation, its readings, and the table of published benchmarks.

Thin: the formulas come from :mod:`claims.stepmodel` and the comparisons from :mod:`claims.published`;
this module only turns them into docutils nodes.
"""

from __future__ import annotations

import html
from typing import Any, ClassVar

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .. import calculator, formatting, published, step_explorer, stepmodel, typeset
from ..sphinxnodes import build_state, paragraph_of, table_of

logger = logging.getLogger(__name__)


class StepModelDirective(SphinxDirective):
    """``.. step-model::`` — the step model's derivation, each step a sentence and its equation."""

    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        steps = nodes.enumerated_list(classes=["step-model"])
        for text, math in stepmodel.steps("ep"):
            item = nodes.list_item()
            item += paragraph_of(text + ":")
            latex = typeset.display(math)
            item += nodes.math_block(latex, latex, nowrap=False, number=None)
            steps += item
        out.append(steps)
        readings = nodes.definition_list(classes=["step-model-readings"])
        for name, meaning in {**stepmodel.LAYOUTS, **stepmodel.OVERLAPS}.items():
            entry = nodes.definition_list_item()
            entry += nodes.term("", "", nodes.literal("", name))
            definition = nodes.definition()
            definition += paragraph_of(meaning)
            entry += definition
            readings += entry
        out.append(readings)
        return out


class PublishedTableDirective(SphinxDirective):
    """``.. published-table::`` — every hwdb benchmark beside the step model's prediction for it."""

    def run(self) -> list[nodes.Node]:
        db = build_state(self.env.app).db
        if db is None:
            return []
        try:
            comparisons = published.compare_all(db)
        except published.PublishedError as exc:
            logger.error(str(exc), location=self.get_location())
            return []
        headers = [
            "published figure",
            "deployment",
            "batch, context",
            "published, per token",
            "model, per token",
            "ratio",
            "band",
        ]
        rows: list[list[nodes.Node | str]] = []
        for rid, c in comparisons.items():
            record = c.record
            label = nodes.paragraph()
            label += nodes.Text(record.name + " ")
            label += nodes.literal("", rid)
            meta = record.meta
            chip = db[str(meta["hardware"])]
            # Record IDs set as code; number formats as prose writes them (FP8, not the record ID fp8).
            where = paragraph_of(
                nodes.literal("", str(meta["model"])),
                f" on {c.chips} × ",
                nodes.literal("", str(chip.meta.get("accelerator", chip.id))),
                f"; weights {str(meta['weights']).upper()}, KV {str(meta['kv']).upper()}, "
                f"math {str(meta['math']).upper()}; {meta.get('layout', 'tp')}, {meta.get('overlap', 'per-class')}",
            )
            published_cell = paragraph_of(formatting.quantity(c.published_s * 1e3, "ms"))
            published_cell += nodes.inline("", " — " + c.what, classes=["published-how"])
            sequences = "sequence" if round(c.batch) == 1 else "sequences"
            rows.append(
                [
                    label,
                    where,
                    f"{formatting.number(c.batch)} {sequences} at {formatting.quantity(c.context, 'token')}",
                    published_cell,
                    formatting.quantity(c.predicted_s * 1e3, "ms") + f", bound by {c.bound}",
                    formatting.number(c.ratio),
                    c.band,
                ]
            )
        note = paragraph_of(
            "Ratio: the model's time per output token over the published one, the share of the roofline's speed "
            f"the deployment reached. From {formatting.number(published.LOW)} to {formatting.number(published.HIGH)} "
            "the bound holds: " + "; ".join(f"{band}: {meaning}" for band, meaning in published.BANDS.items()) + ".",
            classes=["hwdb-note"],
        )
        return [table_of(headers, rows, ["hwdb-table", "published-table"]), note]


def _select(name: str, label: str, options: list[tuple[str, str]], chosen: str) -> str:
    esc = html.escape
    items = "".join(
        f'<option value="{esc(value)}"{" selected" if value == chosen else ""}>{esc(text)}</option>'
        for value, text in options
    )
    return f'<label class="step-field">{esc(label)} <select name="{esc(name)}">{items}</select></label>'


def _number(name: str, label: str, value: object, hint: str) -> str:
    esc = html.escape
    return (
        f'<label class="step-field">{esc(label)} <input name="{esc(name)}" type="number" min="0" step="any" '
        f'value="{esc(format(value, "g") if isinstance(value, float) else str(value))}" inputmode="decimal" '
        f'title="{esc(hint)}"></label>'
    )


#: The outputs the page shows: key, label.
SHOWN = (
    ("step", "step time"),
    ("compute_s", "weights' arithmetic"),
    ("weights_s", "reading the weights"),
    ("attention_s", "attention's arithmetic"),
    ("kv_s", "reading the KV cache"),
    ("comm_s", "communication"),
    ("bound", "largest part"),
    ("memory", "memory per chip"),
    ("fits", "fits"),
    ("max_batch", "largest batch that fits"),
    ("tokens", "tokens per second"),
    ("tokens_chip", "tokens per second per chip"),
    ("critical", "batch where compute = memory"),
    ("limit", "context past which no batch balances"),
    ("dense", "balanced batch of a dense matrix"),
    ("expert", "balanced batch of one routed expert"),
)


def step_page_html(data: dict[str, Any]) -> str:
    """The step explorer: the form, the outputs (filled by step-explorer.js) and the data it needs."""
    d = data["defaults"]
    models = [(m["id"], m["name"] + ("" if "shape" in m else " (lacks a field)")) for m in data["models"]]
    hardware = [(h["id"], h["name"]) for h in data["hardware"]]
    formats = [(f["id"], f["name"]) for f in data["formats"]]
    arithmetic = [(f["id"], f["name"]) for f in data["formats"] if f["arithmetic"]]
    layouts = [("", "default: ep for a mixture of experts, tp for a dense model")] + [
        (k, f"{k}: {v}") for k, v in data["layouts"].items()
    ]
    overlaps = [(k, f"{k}: {v}") for k, v in data["overlaps"].items()]
    fields = (
        _select("model", "Model", models, d["model"])
        + _select("hw", "Accelerator or system", hardware, d["hw"])
        + _number("chips", "Chips", d["chips"], "empty: one accelerator, or every chip of a system")
        + _number("batch", "Batch (sequences)", d["batch"], "sequences decoded together, one token each per step")
        + _number("context", "Context (tokens per sequence)", d["context"], "tokens each sequence has cached")
        + _select("weights", "Weights", formats, d["weights"])
        + _select("kv", "KV cache", formats, d["kv"])
        + _select("math", "Matrix multiplies in", arithmetic, d["math"])
        + _select("attention_math", "Attention in", arithmetic, d["attention_math"])
        + _select("layout", "Parallel layout", layouts, d["layout"])
        + _select("overlap", "Reading of the step", overlaps, d["overlap"])
    )
    rows = "".join(
        f'<tr><th scope="row">{html.escape(label)}</th><td><output data-out="{key}">—</output></td></tr>'
        for key, label in SHOWN
    )
    return (
        '<div class="step-explore">'
        f'<form class="step-form">{fields}</form>'
        '<p class="step-status" role="status">This calculator needs JavaScript; '
        "<code>python -m claims step</code> computes the same.</p>"
        f'<div class="explore-table-wrap"><table class="step-results"><tbody>{rows}</tbody></table></div>'
        f'<script type="application/json">{calculator.payload(data)}</script>'
        "</div>"
    )


class StepExploreDirective(SphinxDirective):
    """``.. explore-step::`` — the step model for any model, chip and formats, live in the page."""

    def run(self) -> list[nodes.Node]:
        db = build_state(self.env.app).db
        if db is None:
            return []
        return [nodes.raw("", step_page_html(step_explorer.page_data(db)), format="html")]


def add_script(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """html-page-context: load step-explorer.js only on a page that holds the step explorer."""
    if "step-explore" in context.get("body", ""):
        app.add_js_file("step-explorer.js")
