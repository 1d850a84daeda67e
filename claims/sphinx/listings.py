"""Listings: the claim index, verdict summary, the lecture's arithmetic, statements, figures, sources,
the tolerance policy and the notation table."""

from __future__ import annotations

from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .. import citation, formatting, notation, statements
from ..engine import ClaimError, Evaluation
from ..figures import FIGURES
from ..policy import EVIDENCE, MARKERS, RULES, WORDINGS, Verdict
from ..registry import all_claims
from ..sphinxnodes import build_state, ids_as_code, paragraph_of, table_of
from ..sphinxnodes import claim_xref as _claim_xref
from ..sphinxnodes import verdict_badge as _verdict
from . import dependencies, figure_cache
from .lookup import _lookup

logger = logging.getLogger(__name__)


def _margin_line(e: Evaluation) -> nodes.inline:
    """The margin under the verdict, carrying the number the Order menu sorts by as a class (sort-N)."""
    text = formatting.margin(e, flag=False)
    line = nodes.inline(text, f"margin {text}" if e.margin is not None else text)
    line["classes"] += ["claim-margin", f"sort-{-1 if e.margin is None else round(e.margin * 1e6)}"]
    return line


# One class per column, so a narrow screen can lay each row out as a card (claims.css) and the
# filter can find a row's evidence class without counting cells (claim-index.js).
_INDEX_COLUMNS = ("claim-index-claim", "claim-index-judged", "claim-index-stated", "claim-index-verdict")


def _index_row(e: Evaluation) -> list[nodes.Node | str]:
    """Title, ID and evidence in one cell and the margin under the verdict: four columns fit a 730 px column."""
    claim = e.claim
    evidence = nodes.inline(e.evidence, e.evidence, classes=["claim-evidence", "claim-index-evidence"])
    title = nodes.inline(claim.title, claim.title, classes=["claim-index-title"])
    label = nodes.inline("", "", _claim_xref(claim.id, nodes.literal("", claim.id)), nodes.Text(" "), evidence)
    label["classes"].append("claim-index-id")
    return [
        paragraph_of(title, label),
        formatting.judged(e),
        formatting.stated(e),
        paragraph_of(_verdict(e.verdict.value, e.marginal), " ", _margin_line(e)),
    ]


class ClaimIndexDirective(SphinxDirective):
    """``.. claim-index::`` — every claim with its derived and stated value and verdict."""

    option_spec: ClassVar[dict[str, Any]] = {"verdict": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        evaluations = dependencies.untracked(build_state(self.env.app).evaluations)
        wanted = self.options.get("verdict")
        rows: list[list[nodes.Node | str]] = []
        for claim in all_claims():
            e = evaluations.get(claim.id)
            dependencies.note_shown(self.env.app, "claim-index", claim.id)  # judged, stated and verdict
            if e is None or (wanted and e.verdict.value != wanted):
                continue
            rows.append(_index_row(e))
        headers = ["claim", "the book", "the lecture", "verdict"]
        table = table_of(headers, rows, ["claim-index", "sortable"])
        for row in table.findall(nodes.row):
            for entry, column in zip(row.children, _INDEX_COLUMNS, strict=True):
                entry["classes"].append(column)
        return [table]


class VerdictSummaryDirective(SphinxDirective):
    """``.. verdict-summary::`` — verdicts counted per evidence class: how strong is each "holds"."""

    def run(self) -> list[nodes.Node]:
        evaluations = dependencies.untracked(build_state(self.env.app).evaluations)
        verdicts = [v.value for v in Verdict]
        counts = {(k, v): 0 for k in EVIDENCE for v in verdicts}
        for e in evaluations.values():
            dependencies.note_shown(self.env.app, "claim-verdict", e.claim.id)
            counts[(e.evidence, e.verdict.value)] += 1
        rows: list[list[nodes.Node | str]] = []
        for key, meaning in EVIDENCE.items():
            total = sum(counts[(key, v)] for v in verdicts)
            if total:
                row: list[nodes.Node | str] = [paragraph_of(nodes.literal("", key), f": {meaning}")]
                rows.append(row + [str(counts[(key, v)]) for v in verdicts] + [str(total)])
        totals = [str(sum(counts[(k, v)] for k in EVIDENCE)) for v in verdicts]
        rows.append(["all claims", *totals, str(len(evaluations))])
        return [table_of(["evidence", *verdicts, "claims"], rows, ["verdict-summary"])]


class LectureArithmeticDirective(SphinxDirective):
    """``.. lecture-arithmetic::`` — every statement whose own figures do not give its own result."""

    def run(self) -> list[nodes.Node]:
        evaluations = dependencies.untracked(build_state(self.env.app).evaluations)
        rows: list[list[nodes.Node | str]] = []
        for claim in all_claims():
            e = evaluations.get(claim.id)
            dependencies.note_shown(self.env.app, "lecture-arithmetic", claim.id)
            text = formatting.own_arithmetic(e) if e else None
            if e is None or text is None:
                continue
            closes = e.own_verdict is Verdict.HOLDS
            rows.append(
                [
                    paragraph_of(_claim_xref(claim.id, nodes.literal("", claim.id))),
                    text,
                    "closes" if closes else paragraph_of(nodes.strong("", "does not close")),
                ]
            )
        return [
            table_of(
                ["claim", "the lecture's own figures, through its own formula", "result"], rows, ["lecture-arithmetic"]
            )
        ]


class StatementIndexDirective(SphinxDirective):
    """``.. statement-index::`` — each of the lecture's statements with the claims that check it."""

    def run(self) -> list[nodes.Node]:
        evaluations = dependencies.untracked(build_state(self.env.app).evaluations)
        try:
            table = statements.load()
        except ClaimError:
            return []  # reported once, as a build failure, by evaluate_for_build
        rows: list[list[nodes.Node | str]] = []
        for s in table:
            checked: list[nodes.Node | str] = []
            for claim_id in s.claims:
                e = evaluations.get(claim_id)
                dependencies.note_shown(self.env.app, "claim-verdict", claim_id)
                checked += [
                    paragraph_of(
                        _claim_xref(claim_id, nodes.literal("", claim_id)),
                        " ",
                        *([_verdict(e.verdict.value)] if e else []),
                    )
                ]
            rows.append([str(s.number), s.topic, nodes.container("", *checked) if checked else "—", s.unchecked or ""])
        return [table_of(["#", "statement", "claims", "left unchecked"], rows, ["statement-index"])]


class ClaimFigureDirective(SphinxDirective):
    """``.. claim-figure:: NAME`` with ``:alt:`` and a caption: drawn from hwdb now."""

    required_arguments = 1
    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {"alt": directives.unchanged_required}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        if name not in FIGURES:
            logger.error(f"unknown figure '{name}' (known: {', '.join(sorted(FIGURES))})", location=self.get_location())
            return []
        if "alt" not in self.options:
            logger.error(f"figure '{name}' needs an :alt: text", location=self.get_location())
            return []
        draw = figure_cache.drawing(self.env.app, name)
        if draw is None:
            return []
        svg = figure_cache.figure_svg(self.env.app, name, draw)
        alt = self.options["alt"].replace('"', "&quot;")
        figure = nodes.figure(ids=[f"figure-{name}"], classes=["claim-figure"])
        figure += nodes.raw(
            "", f'<div class="claim-figure-svg" role="img" aria-label="{alt}">{svg}</div>', format="html"
        )
        caption = nodes.caption()
        inline, messages = self.parse_inline("\n".join(self.content), lineno=self.lineno)
        caption += inline
        figure += caption
        return [figure, *messages]


class SourcesDirective(SphinxDirective):
    """``.. hwdb-sources::`` — every source with the record fields that cite it."""

    def run(self) -> list[nodes.Node]:
        db = build_state(self.env.app).db
        if db is None:
            return []
        out = nodes.container(classes=["hwdb-sources"])
        citing = db.citations()
        ids = [record.id for record in db]  # a note that names another record sets its ID as code
        for source in sorted(db.sources.values(), key=lambda s: (s.publisher, s.title)):
            section = nodes.container(ids=[f"source-{source.id}"], classes=["hwdb-source"])
            section += paragraph_of(
                nodes.strong("", source.title),
                " — ",
                source.publisher,
                ". ",
                nodes.reference("", source.url, refuri=source.url),
                f" (retrieved {source.retrieved.isoformat()}).",
            )
            if source.note:
                section += paragraph_of(*ids_as_code(source.note, ids), classes=["hwdb-source-note"])
            users = nodes.bullet_list()
            for record, f in citing.get(source.id, []):
                text = f" = {formatting.field_value(f)}" + (f" — {f.note}" if f.note else "")
                where = nodes.literal("", f"{record.id}.{f.name}")
                line = paragraph_of(nodes.literal("", f"{record.file}"), " ", where, *ids_as_code(text, ids))
                users += nodes.list_item("", line)
            section += users
            out += section
        return [out]


class TolerancePolicyDirective(SphinxDirective):
    """``.. tolerance-policy::`` — the wording-to-tolerance table, read from the policy itself."""

    def run(self) -> list[nodes.Node]:
        rows: list[list[nodes.Node | str]] = []
        for w in WORDINGS.values():
            rough = "—" if w.roughly_factor is None else f"×/÷ {formatting.number(w.roughly_factor)}"
            if w.key == "exact":
                holds = f"relative difference ≤ {w.holds_factor - 1:.0e}"
            elif w.key == "range":
                holds = "inside the stated range"
                rough = f"range widened ×/÷ {formatting.number(w.roughly_factor or 1)} at each end"
            elif w.key == "at-least":
                holds = "at or above the stated floor"
                rough = f"floor ÷ {formatting.number(w.roughly_factor or 1)}"
            else:
                holds = f"×/÷ {formatting.number(w.holds_factor)}"
            markers = dict(MARKERS).get(w.key, ())
            said = ", ".join(f"“{m}”" for m in markers) if markers else "no hedge word"
            if w.key == "exact":
                said += "; and every proof (structural claim), whatever its words"
            rows.append([paragraph_of(nodes.literal("", w.key)), said, holds, rough])
        order = " → ".join(key for key, _ in MARKERS) + " → bare"
        table = table_of(
            ["wording", "the lecture's words that select it", "holds", "holds roughly"],
            rows,
            ["tolerance-policy"],
        )
        note = paragraph_of(
            f"A quotation is read in this order: {order}; the first class with one of its words in the quoted "
            "text fixes the bands (“N–M” is two figures joined by a dash)."
        )
        evidence = table_of(
            ["evidence class", "what it means"],
            [[paragraph_of(nodes.literal("", k)), v] for k, v in EVIDENCE.items()],
            ["evidence-classes"],
        )
        return [table, note, evidence]


class VerdictRulesDirective(SphinxDirective):
    """``.. verdict-rules::`` — how per-row verdicts combine, read from the policy."""

    def run(self) -> list[nodes.Node]:
        items = nodes.bullet_list()
        for key, meaning in RULES.items():
            items += nodes.list_item("", paragraph_of(nodes.literal("", key), f": {meaning}."))
        return [items]


def _sentence_case(text: str) -> str:
    """A label as a table cell opens: capitalised (labels are lower case, written for a claim box's list)."""
    return text[:1].upper() + text[1:]


def _with_math(text: str) -> nodes.paragraph:
    """A glossary definition, its ``$…$`` spans as inline math."""
    parts = text.split("$")
    return paragraph_of(*(nodes.math("", part) if i % 2 else part for i, part in enumerate(parts) if part))


class NotationDirective(SphinxDirective):
    """``.. notation-table::`` — every symbol of every derivation, one row per meaning, generated from the claims."""

    def run(self) -> list[nodes.Node]:
        claims = all_claims()
        for missing in notation.undefined(claims):  # the table would fall back on the step's sentence
            logger.warning(
                "notation: claims/glossary.py has no definition of %s as claim %s uses it (%s)",
                missing.symbol.name,
                missing.claim,
                "defined in a step" if missing.definitions else "a variable",
                location=self.get_location(),
            )
        rows: list[list[nodes.Node | str]] = []
        for entry in notation.entries(claims):
            links: list[nodes.Node | str] = []
            for i, claim_id in enumerate(entry.claims):
                links += [", "] if i else []
                links.append(_claim_xref(claim_id, nodes.literal("", claim_id)))
            units = ", ".join((formatting.unit(u) or "dimensionless") for u in entry.units) or "–"
            rows.append(
                [
                    paragraph_of(nodes.math("", entry.symbol)),
                    (_with_math if entry.from_glossary else _sentence_case)("; ".join(entry.meanings)),
                    units,
                    paragraph_of(*links),
                ]
            )
        return [table_of(["symbol", "meaning", "unit", "claims"], rows, ["notation-table"])]


class CiteExampleDirective(SphinxDirective):
    """``.. cite-example:: ID`` — the claim's citation in every format, generated now."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        evaluation = _lookup(self, self.arguments[0])
        if evaluation is None:
            return []
        out: list[nodes.Node] = []
        languages = {"md": "markdown", "rst": "rst", "bibtex": "bibtex", "json": "json"}
        for form in citation.FORMATS:
            out.append(paragraph_of(nodes.literal("", f"python -m claims cite {evaluation.claim.id} --format {form}")))
            text = citation.cite(evaluation, form)
            out.append(nodes.literal_block(text, text, language=languages[form]))
        return out
