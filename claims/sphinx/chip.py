"""A chapter's three ways of showing a claim without its box: the verdict chip where the reasoning
reaches the claim, the worked arithmetic that leads to it, and one folded Evidence section that holds
the chapter's boxes.

A chapter teaches; the box is the ledger. So the text reads ``{claim-chip} ID`` (one line: the claim's
title, the value against the lecture's figure, the verdict, linked to the box) and ``{claim-worked} ID``
(the closed form, the inputs in place, the value), and ends with ``{claim-evidence}``, which places the
full box of every claim whose page this is, folded, chips' order first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .. import formatting
from ..engine import Evaluation
from ..sphinxnodes import build_state, claim_xref, folded, paragraph_of, verdict_badge
from ..worked import WorkedError, worked
from . import dependencies
from .lookup import _lookup, _of

logger = logging.getLogger(__name__)

CHIPS = "claims-chips"  # env.temp_data key: the claim IDs chipped so far on the page being read


def chip_text(e: Evaluation) -> str:
    """What a chip says besides its title and badge: the value against the lecture's figure."""
    if e.claim.stated.proof:
        return "proved from the derivation"
    return f"{formatting.judged(e)} against the lecture's {formatting.stated(e)}"


@dependencies.shows("claim-chip")
def _chip_shown(evaluations: Mapping[str, Evaluation], claim_id: str) -> str:
    e = _of(evaluations, claim_id)
    return "absent" if e is None else repr((e.claim.title, chip_text(e), e.verdict.value, e.marginal))


class ClaimChipDirective(SphinxDirective):
    """``claim-chip ID``: one line where the chapter reaches the claim; the box is in the Evidence section."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        claim_id = self.arguments[0].strip()
        e = _lookup(self, claim_id, note=False)
        dependencies.note_shown(self.env.app, "claim-chip", claim_id)
        if e is None:
            return []
        chips: list[str] = self.env.temp_data.get(CHIPS) or []
        self.env.temp_data[CHIPS] = [*chips, e.claim.id]
        line = paragraph_of(classes=["claim-chip", f"verdict-{e.verdict.value.replace(' ', '-')}"])
        line += verdict_badge(e.verdict.value, e.marginal)
        line += nodes.Text(" ")
        line += claim_xref(e.claim.id, nodes.inline("", e.claim.title, classes=["claim-chip-title"]))
        line += nodes.Text(": ")
        line += nodes.inline("", chip_text(e), classes=["claim-chip-value"])
        line += nodes.Text(".")
        return [line]


class ClaimEvidenceDirective(SphinxDirective):
    """``claim-evidence``: the full box of every claim placed on this page, behind one fold."""

    option_spec: ClassVar[dict[str, Any]] = {"open": directives.flag}

    def run(self) -> list[nodes.Node]:
        state = build_state(self.env.app)
        here = self.env.docname
        on_page = [cid for cid, e in dependencies.untracked(state.evaluations).items() if e.claim.page == here]
        chips: list[str] = self.env.temp_data.get(CHIPS) or []
        chipped = [cid for cid in chips if cid in on_page]
        order = list(dict.fromkeys(chipped + sorted(on_page)))
        body = nodes.container(classes=["claim-evidence-body"])
        lines = StringList()
        for claim_id in order:
            for text in (f"```{{claim}} {claim_id}", "```", ""):
                lines.append(text, self.get_source_info()[0] or "", self.lineno)
        self.state.nested_parse(lines, self.content_offset, body)
        count = f"{len(order)} claim" + ("" if len(order) == 1 else "s")
        title = f"Evidence: the {count} of this chapter, each with its derivation, inputs, sources and verdict"
        section = folded(title, body, "evidence", is_open="open" in self.options)
        section["classes"].append("claim-evidence-section")
        section["ids"].append("evidence")
        return [section]


def _target(text: str) -> tuple[str, str, str]:
    """``ID``, ``ID@record``, ``ID#detail`` or ``ID@record#detail`` as (claim ID, record, detail)."""
    claim_id, _, record = text.partition("@")
    claim_id, _, detail = claim_id.partition("#")
    if "#" in record:
        record, _, detail = record.partition("#")
    return claim_id, record, detail


class ClaimWorkedDirective(SphinxDirective):
    """``claim-worked ID[@record][#detail]``: the closed form, the same with the inputs in place, the value."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {"name": directives.unchanged_required}

    def run(self) -> list[nodes.Node]:
        target = self.arguments[0].strip()
        claim_id, record, detail = _target(target)
        e = _lookup(self, claim_id, note=False)
        dependencies.note_shown(self.env.app, "claim-worked", f"{target}|{self.options.get('name', '')}")
        if e is None:
            return []
        try:
            lines = worked(e, name=self.options.get("name", ""), record=record, detail=detail)
        except WorkedError as exc:
            logger.error(str(exc), location=self.get_location(), type="claims", subtype="worked")
            return []
        latex = lines.aligned()
        block = nodes.math_block(latex, latex, nowrap=False, number=None, docname=self.env.docname)
        box = nodes.container(classes=["claim-worked"])
        box += block
        return [box]


@dependencies.shows("claim-worked")
def _worked_shown(evaluations: Mapping[str, Evaluation], argument: str) -> str:
    target, _, name = argument.partition("|")
    claim_id, record, detail = _target(target)
    e = _of(evaluations, claim_id)
    if e is None:
        return "absent"
    try:
        return worked(e, name=name, record=record, detail=detail).aligned()
    except WorkedError as exc:
        return f"error: {exc}"
