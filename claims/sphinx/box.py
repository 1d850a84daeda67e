"""The claim box: statement, verdict line, why, and the folded derivation, inputs, calculator, rows,
sensitivity and citation of one claim.

:func:`render` builds the box from the claim's evaluation alone; :class:`ClaimDirective` finds the
evaluation, checks the page and registers the claim's targets with Sphinx.
"""

from __future__ import annotations

import html

import sympy as sp
from docutils import nodes
from sphinx.domains.std import StandardDomain
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .. import calculator, citation, formatting, lock, release, typeset
from ..engine import Evaluation, anchor
from ..policy import EVIDENCE, RULES, WORDINGS
from ..sensitivity import Elasticity, analyse
from ..sphinxnodes import folded, ids_as_code, paragraph_of, table_of
from ..sphinxnodes import verdict_badge as _verdict
from .lookup import _lookup, _source_link

logger = logging.getLogger(__name__)


def _only_reports(e: Evaluation) -> bool:
    """A claim whose value is one reported figure: nothing to derive, nothing to recompute."""
    return isinstance(e.derivation.result, sp.Symbol)


def _count(e: Evaluation) -> int:
    return len(e.reference.inputs) + len(e.claim.constants)


def _rows_summary(e: Evaluation) -> str:
    c = e.claim
    assert c.rows is not None
    judged = [r for r in e.rows if r.record is not None and r.verdict is not None]
    if e.population is not None:
        return f"Per {c.rows.kind}: {formatting.judged(e)}"
    reference = e.reference.record.name if e.reference.record else c.rows.reference
    return f"Per {c.rows.kind}: {len(judged)} in scope, judged on {reference}"


def _cite(e: Evaluation) -> nodes.container:
    """One line to copy (``claim:ID@RELEASE+VERSION``, which claims.citing and check-refs read), the
    formats folded."""
    pinned = f"claim:{e.claim.id}@{citation.pin(e)}"
    cite = nodes.container(classes=["claim-cite"])
    line = paragraph_of(nodes.strong("", "Cite: "), nodes.literal("", pinned, classes=["claim-cite-id"]))
    line += nodes.raw(
        "",
        f'<button type="button" class="claim-copy" data-copy="{html.escape(pinned)}">copy</button>',
        format="html",
    )
    line += nodes.Text(f" (release {release.VERSION}; ")
    # in the book a relative address serves; the formats below carry the published one, or none
    line += nodes.reference("", "permanent address", refuri=citation.url(e) or citation.permalink(e.claim.id))
    line += nodes.Text(")")
    cite += line
    formats = nodes.container()
    markdown = citation.cite(e, "md")
    formats += paragraph_of("Markdown:")
    formats += nodes.literal_block(markdown, markdown, language="markdown")
    bib = citation.bibtex(e)
    formats += paragraph_of("BibTeX (every claim: ", nodes.reference("", "claims.bib", refuri="claims.bib"), "):")
    formats += nodes.literal_block(bib, bib, language="bibtex")
    formats += paragraph_of(
        "CSL-JSON for Zotero or Pandoc: ",
        nodes.reference("", "claims.csl.json", refuri="claims.csl.json"),
        "; in another Sphinx project, ",
        nodes.literal("", f"{{claim-value}}`{pinned}`"),
        " with claims.citing (see the citing page).",
    )
    cite += folded("Citation formats", formats, "formats")
    return cite


def _header(e: Evaluation) -> nodes.paragraph:
    c = e.claim
    head = paragraph_of(classes=["claim-header"])
    head += nodes.strong("", c.title)
    head += nodes.Text(" ")
    head += nodes.literal("", c.id, classes=["claim-id"])
    head += nodes.Text(" ")
    head += nodes.inline("", f"evidence: {e.evidence}", classes=["claim-evidence"], reftitle=EVIDENCE[e.evidence])
    head += nodes.Text(" ")
    head += _verdict(e.verdict.value, e.marginal)
    head += nodes.reference(
        "", "¶", refuri=f"#{anchor(c.id)}", classes=["claim-permalink"], reftitle="permalink to this claim"
    )
    return head


def _derivation(e: Evaluation, docname: str) -> nodes.container:
    box = nodes.container(classes=["claim-derivation"])
    for step in e.derivation.steps:
        box += paragraph_of(step.text + ":")
        latex = typeset.display(step.math)
        box += nodes.math_block(latex, latex, nowrap=False, number=None, docname=docname)
    return box


def _inputs(e: Evaluation) -> nodes.table:
    rows: list[list[nodes.Node | str]] = []
    for item in e.reference.inputs:
        f = item.field
        where = paragraph_of(nodes.literal("", item.key), f" ({item.field.file})")
        rows.append(
            [
                paragraph_of(nodes.math("", typeset.latex(sp.Symbol(item.symbol)))),
                item.label,
                formatting.field_value(f),
                where,
                paragraph_of(_source_link(f.source), f", retrieved {f.source.retrieved.isoformat()}"),
            ]
        )
    for const in e.claim.constants:
        rows.append(
            [
                paragraph_of(nodes.math("", typeset.latex(const.symbol))),
                const.why,
                f"{formatting.number(const.value)} {formatting.unit(const.unit)}".strip(),
                "constant of the derivation",
                "—",
            ]
        )
    title = "Inputs" + (f" (reference row: {e.reference.record.name})" if e.claim.rows and e.reference.record else "")
    inputs = table_of(["symbol", "meaning", "value", "hwdb record.field", "source"], rows, ["claim-inputs"])
    inputs.insert(0, nodes.title("", title))
    return inputs


def _result(e: Evaluation) -> nodes.container:
    """The verdict line (what was derived, against what the lecture says), then how it was judged."""
    c = e.claim
    s = c.stated
    result = nodes.container(classes=["claim-result"])
    if e.population is not None:
        assert c.rows is not None
        headline = f"{formatting.judged(e)}, against the lecture's {formatting.stated(e)}: "
    else:
        # The reference row names the record the case was computed with: a chip, a price sheet, a link.
        where = f" ({c.rows.kind}: {e.reference.record.name})" if c.rows and e.reference.record else ""
        headline = f"Derived {formatting.claim_quantity(c, e.value)}{where}, against the lecture's "
        headline += f"{formatting.stated(e)}: "
    line = paragraph_of(nodes.strong("", headline), classes=["claim-headline"])
    line += _verdict(e.verdict.value, e.marginal)
    result += line
    marker = f"the lecture says “{s.marker}”, so " if s.marker else ""
    how = f"Tolerance: {marker}{s.wording} ({WORDINGS[s.wording].meaning}): {formatting.bands(e)}."
    if s.why:
        how += f" Reading: {s.why}."
    if e.population is not None:
        assert c.rows is not None
        votes = f", counting one vote per {c.rows.voter}, each as most of its rows vote" if c.rows.voter else ""
        how += (
            f" Judged on the population ({RULES[c.rows.rule]}{votes}); "
            f"the reference row gives {formatting.claim_quantity(c, e.value)}."
        )
    elif c.rows:
        how += " Judged on the case the lecture speaks of."
    if e.evidence == "none":
        how += f" Evidence: {EVIDENCE['none']}."
    elif e.evidence != c.evidence:
        how += f" Evidence: {e.evidence}, the class of the weakest input it rests on ({EVIDENCE[e.evidence]})."
    if e.margin is not None or e.marginal:
        how += (
            f" Margin: {formatting.margin(e, flag=False)}"
            + (f"; marginal: {e.marginal_why}" if e.marginal else "")
            + "."
        )
    own = formatting.own_arithmetic(e)
    if own:
        how += " " + own
    result += paragraph_of(how, classes=["claim-tolerance"])
    return result


def _rows(e: Evaluation) -> nodes.table:
    c = e.claim
    assert c.rows is not None
    shown = [d for d in e.derivation.details if d.name in e.reference.details]
    # A detail that no row changes (a model's sparsity) is said once, not repeated down a column.
    varies = {d.name for d in shown if len({lock.pinned_text(r.details[d.name]) for r in e.rows}) > 1}
    detail_names = [d for d in shown if d.name in varies]
    same = [d for d in shown if d.name not in varies]
    rows: list[list[nodes.Node | str]] = []
    for row in e.rows:
        assert row.record is not None
        name = row.record.name + (" — reference" if row is e.reference else "")
        verdict: nodes.Node | str = (
            paragraph_of(_verdict(row.verdict.value)) if row.verdict else "context (outside scope, not judged)"
        )
        cells: list[nodes.Node | str] = [name, formatting.claim_quantity(c, row.value), verdict]
        if c.rows.voter:  # which vote the row belongs to
            cells.append(c.rows.voter_of(row.record) if row.counts else "—")
        cells += [formatting.detail(d, row.details[d.name]) for d in detail_names]
        rows.append(cells)
    vote = [c.rows.voter] if c.rows.voter else []
    listing = table_of(["hardware", "value", "verdict", *vote] + [d.label for d in detail_names], rows, ["claim-rows"])
    caption = f"Per {c.rows.kind}: reference {c.rows.reference} ({c.rows.why_reference})."
    if c.rows.why_scope:
        caption += f" Scope: {c.rows.why_scope}."
    if c.rows.voter:
        caption += f" One vote per {c.rows.voter}: {c.rows.why_voter}."
    if same:
        caption += (
            " The same on every row: "
            + "; ".join(f"{d.label}, {formatting.detail(d, e.reference.details[d.name])}" for d in same)
            + "."
        )
    if e.skipped:
        caption += " " + formatting.skipped(e.skipped, c.rows.kind)
    ids = {c.rows.reference, *(record for record, _ in e.skipped)}
    listing.insert(0, nodes.title("", "", *ids_as_code(caption, ids)))
    return listing


def _elasticities(e: Evaluation, elasticities: list[Elasticity]) -> nodes.table:
    rows: list[list[nodes.Node | str]] = []
    for a in elasticities:
        flip: nodes.Node | str = (
            "no flip within ×/÷1,000"
            if e.population is None and e.evidence != "none"
            else "— (the verdict does not rest on this row)"
        )
        if a.flip_factor is not None and a.flips_to is not None:
            flip = paragraph_of(formatting.factor(a.flip_factor) + " → ", _verdict(a.flips_to.value))
        rows.append([paragraph_of(nodes.literal("", a.input.key)), formatting.number(a.elasticity), flip])
    listing = table_of(
        ["input", "elasticity d ln value / d ln input", "change that flips the verdict"],
        rows,
        ["claim-elasticities"],
    )
    listing.insert(0, nodes.title("", "What the value depends on (reference row, one input at a time)"))
    return listing


def _sensitivity(e: Evaluation) -> nodes.table:
    rows: list[list[nodes.Node | str]] = []
    for s in e.sensitivity:
        f = s.input.field
        assert f.low is not None and f.high is not None
        span = formatting.quantity(float(f.low.magnitude), str(f.low.units), 5)
        span += " to " + formatting.quantity(float(f.high.magnitude), str(f.high.units), 5)
        rows.append(
            [
                paragraph_of(nodes.literal("", s.input.key)),
                span,
                paragraph_of(formatting.claim_quantity(e.claim, s.low) + " ", _verdict(s.verdict_low.value)),
                paragraph_of(formatting.claim_quantity(e.claim, s.high) + " ", _verdict(s.verdict_high.value)),
            ]
        )
    listing = table_of(
        ["assumed input", "plausible range", "value at the low end", "at the high end"], rows, ["claim-sensitivity"]
    )
    listing.insert(0, nodes.title("", "How the lecture's assumptions move the value (one at a time)"))
    return listing


def _checks(e: Evaluation) -> nodes.bullet_list:
    items = nodes.bullet_list(classes=["claim-checks"])
    for name, value in e.derivation.checks:
        items += nodes.list_item("", paragraph_of(f"Check — {name}: {formatting.number(value)}"))
    return items


def retired_ids(claim_id: str) -> list[str]:
    """The retired IDs that now name this claim: each still resolves to its box, here and through intersphinx."""
    return [old for old, new in citation.read_registry().aliases.items() if new == claim_id]


def render(evaluation: Evaluation, docname: str, placed_as: str | None = None) -> nodes.container:
    """The box for one claim, as docutils nodes: a function of its evaluation (and of the page it is on, which
    its math blocks name), so a test can build it without a Sphinx app. ``placed_as`` is the ID the page
    named it by, if not the claim's own (an older alias): the box's anchor and its retired IDs follow it."""
    claim = evaluation.claim
    placed_as = placed_as or claim.id
    box = nodes.container(
        ids=[anchor(placed_as)], classes=["claim-box", f"verdict-{evaluation.verdict.value.replace(' ', '-')}"]
    )
    box += _header(evaluation)
    box += paragraph_of(claim.statement, classes=["claim-statement"])
    box += paragraph_of(
        nodes.emphasis("", "Lecture, section " + claim.section + ": "),
        f"“{claim.stated.text}”",
        classes=["claim-lecture"],
    )
    # Top-down: what is claimed, the verdict against the lecture's figure and why; the working folded below.
    box += _result(evaluation)
    box += paragraph_of(nodes.strong("", "Why. "), formatting.finding(evaluation), classes=["claim-finding"])
    if not _only_reports(evaluation):
        derivation = _derivation(evaluation, docname)
        if evaluation.derivation.checks:
            derivation += _checks(evaluation)
        box += folded("How it is derived", derivation, "derivation")
    box += folded(f"Inputs and their sources ({_count(evaluation)})", _inputs(evaluation), "inputs")
    calculator_html = None if _only_reports(evaluation) else calculator.html(evaluation)
    if calculator_html is not None:
        box += folded("Try it: recompute with other inputs", nodes.raw("", calculator_html, format="html"), "calc")
    if claim.rows:
        box += folded(_rows_summary(evaluation), _rows(evaluation), "rows")
    elasticities = analyse(evaluation)
    if elasticities:
        box += folded("What the value depends on", _elasticities(evaluation, elasticities), "elasticities")
    if evaluation.sensitivity:
        box += folded("The lecture's assumptions across their plausible range", _sensitivity(evaluation), "sensitivity")
    box += _cite(evaluation)
    box["ids"] += [anchor(old) for old in retired_ids(placed_as)]
    return box


class ClaimDirective(SphinxDirective):
    """``.. claim:: ID`` — the full box for one claim (:func:`render`), and its std:claim targets."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        claim_id = self.arguments[0].strip()
        evaluation = _lookup(self, claim_id)
        if evaluation is None:
            return []
        claim = evaluation.claim
        if self.env.docname != claim.page:
            logger.error(
                f"claim '{claim_id}' is placed on page '{self.env.docname}' but its permalink is "
                f"'{claim.url}'; place it on '{claim.page}' or change the claim's page",
                location=self.get_location(),
                type="claims",
                subtype="page",
            )
        box = render(evaluation, self.env.docname, claim_id)
        domain = self.env.get_domain("std")
        assert isinstance(domain, StandardDomain)
        for target in (claim_id, *retired_ids(claim_id)):  # a retired ID still resolves, here and through intersphinx
            domain.note_object("claim", target, anchor(target), location=box)
        return [box]
