"""Sphinx adapter: claim boxes, inline values, the claim index, figures, claims.json.

Claims are evaluated once per build, in the Sphinx process, at ``builder-inited``,
and compared with the lock. Any drift or evaluation error is logged there (so a
``-W`` build fails whichever pages were re-read) and again at ``build-finished``,
which also sets a failing exit status. The evaluation runs on a tracked view of hwdb
(:mod:`claims.sphinx.dependencies`), and each page records the claims and hwdb values it
shows: a data edit re-reads exactly the pages that show what moved. A fingerprint of the
code and library versions is a config value with ``rebuild="env"``, so any code change
re-reads every page: nothing is served from a record that cannot see its inputs.
"""

from __future__ import annotations

import hashlib
import html
import json
import sys
from collections.abc import Callable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

import sympy as sp
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.domains.std import StandardDomain
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

import hwdb
from hwdb.files import write_atomic

from . import calculator, citation, formatting, history, lock, notation, release, statements
from .engine import ClaimError, Evaluation, anchor
from .export import dumps
from .figures import FIGURES
from .policy import EVIDENCE, MARKERS, RULES, WORDINGS, Verdict
from .registry import all_claims
from .sensitivity import Elasticity, analyse
from .sphinx import dependencies, figure_cache
from .sphinxnodes import (
    build_state,
    depart_details,
    depart_summary,
    details,
    folded,
    paragraph_of,
    summary,
    table_of,
    visit_details,
    visit_summary,
)
from .sphinxnodes import claim_xref as _claim_xref
from .sphinxnodes import verdict_badge as _verdict

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_FILE = PACKAGE_DIR / "claims.schema.json"
REPO_ROOT = PACKAGE_DIR.parent


#: Libraries whose version can change what a page shows (parsing, maths, units, figures).
RENDERING_LIBRARIES = ("sphinx", "docutils", "myst-parser", "myst-nb", "sympy", "pint", "numpy", "matplotlib")


def fingerprint() -> str:
    """A hash of what the pages' dependency record cannot see: code, library versions, overlay paths.

    Every file of claims/ and of hwdb/ outside its data folder (so the claims, the engine, this
    extension, the release history, the statement and ID tables), the rendering libraries' and
    Python's versions, and which overlays are in force. It is ``claims_fingerprint``, a config value
    with ``rebuild="env"``: when it moves, every page is re-read. hwdb data and overlay contents are
    not in it: :mod:`claims.sphinx.dependencies` re-reads just the pages that show what changed.
    The lock is not in it either: it decides whether the build passes, checked on every build, and
    no page shows it.
    """
    digest = hashlib.sha256()
    data_dir = REPO_ROOT / "hwdb" / "data"
    locks = {lock.LOCK_FILE.resolve()}
    files = [
        path
        for folder in (PACKAGE_DIR, REPO_ROOT / "hwdb")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and "__pycache__" not in path.parts
        and data_dir not in path.parents
        and path.resolve() not in locks
    ]
    for path in files:
        digest.update(hwdb.display_path(path).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in RENDERING_LIBRARIES:
        digest.update(f"{name}={version(name)}\0".encode())
    digest.update(f"python={sys.version}\0".encode())
    for overlay in hwdb.overlays_from_env():
        digest.update(f"overlay={overlay.resolve()}\0".encode())
    return digest.hexdigest()


def evaluate_for_build(app: Sphinx) -> None:
    """builder-inited: evaluate every claim and check it against the lock."""
    state = build_state(app)
    state.failures.clear()
    try:
        overlays = hwdb.overlays_from_env()
        state.db = hwdb.load_from(hwdb.DATA_DIR, overlays)
        state.db, state.evaluations = dependencies.evaluate_for_build(app, state.db)
        drifts = lock.check(state.evaluations, lock.read(lock.lock_path(overlays)))
        state.failures += [f"claim drifted from the lock: {d}" for d in drifts]
        if lock.lock_path(overlays) == lock.LOCK_FILE and not drifts:  # the book's release names what it publishes
            state.failures += history_problems(state.evaluations)
        if lock.lock_path(overlays) == lock.LOCK_FILE:  # the published benchmarks' table, pinned beside the lock
            from . import published

            moved = published.drift(published.compare_all(state.db), published.read())
            state.failures += [f"published comparison drifted from its lock: {line}" for line in moved]
        state.failures += citation.registry_problems(all_claims(), citation.read_registry())
        statements.load()
    except (hwdb.HwdbError, ClaimError, lock.LockError, KeyError, ValueError) as exc:  # PublishedError too
        state.failures.append(str(exc))
    for failure in state.failures:
        logger.error(failure, type="claims", subtype="drift")


def history_problems(evaluations: dict[str, Evaluation]) -> list[str]:
    """Claims whose content changed since the last recorded release (a pin records a new one)."""
    changed = history.stale(history.read(), history.entries(evaluations))
    if not changed:
        return []
    return [
        f"{len(changed)} claim(s) changed since release {release.VERSION} was recorded ({', '.join(changed[:5])}"
        f"{', …' if len(changed) > 5 else ''}): run `python -m claims pin` to record a new release in "
        f"{hwdb.display_path(history.HISTORY_FILE)}"
    ]


#: What the build writes beside the pages, and the mark it leaves on an output folder it failed to make.
EXPORTS = ("claims.json", "claims.schema.json", "claims.bib", "claims.csl.json")
FAILED_MARK = "BUILD-FAILED.txt"


def report_at_finish(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: write the exports, or mark the output failed; re-report failures, fail the build.

    A red build may already have written pages with new numbers, so it must not leave exports
    from an earlier evaluation beside them: it removes them and marks the folder failed (the
    browser session refuses such a folder). A green build writes every export and clears the mark.
    """
    state = build_state(app)
    if app.builder.format != "html":
        pass
    elif exception is None and state.db is not None and not state.failures:
        out = Path(app.outdir)
        write_atomic(out / "claims.json", dumps(state.evaluations, state.db.fingerprint, hwdb.overlays_from_env()))
        write_atomic(out / "claims.schema.json", SCHEMA_FILE.read_bytes())
        write_atomic(out / "claims.bib", citation.bibliography(state.evaluations))
        csl = citation.csl_items(state.evaluations)
        write_atomic(out / "claims.csl.json", json.dumps(csl, indent=2, ensure_ascii=False) + "\n")
        _permanent_pages(out, state.evaluations)
        (out / FAILED_MARK).unlink(missing_ok=True)
    else:
        out = Path(app.outdir)
        for name in EXPORTS:
            (out / name).unlink(missing_ok=True)
        reasons = state.failures or [str(exception)]
        write_atomic(
            out / FAILED_MARK,
            "This build failed; the pages here may show numbers that are not pinned, and no export was "
            "written. Do not publish this folder.\n\n" + "\n".join(reasons) + "\n",
        )
    if state.failures:
        for failure in state.failures:
            logger.error(f"(repeated at the end of the build) {failure}", type="claims", subtype="drift")
        app.statuscode = 1


# ---------------------------------------------------------------- helpers


def _permanent_pages(out: Path, evaluations: dict[str, Evaluation]) -> None:
    """``c/ID.html`` for every claim and alias: an address that never moves, whichever chapter holds the box.

    Each page sends the reader on to the box; it shows no number, so it can never disagree with one.
    """
    folder = out / "c"
    folder.mkdir(exist_ok=True)
    aliases = citation.read_registry().aliases
    for claim_id, e in evaluations.items():
        for name in (claim_id, *(old for old, new in aliases.items() if new == claim_id)):
            target = "../" + e.claim.url
            title = html.escape(f"{claim_id}: {e.claim.title}")
            renamed = f"<p>{html.escape(name)} was renamed to {html.escape(claim_id)}.</p>" if name != claim_id else ""
            page = (
                f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>{title}</title>\n'
                f'<link rel="canonical" href="{html.escape(release.base_url() + e.claim.url)}">\n'
                f'<meta http-equiv="refresh" content="0; url={html.escape(target)}"></head>\n'
                f'<body>{renamed}<p><a href="{html.escape(target)}">{title}</a></p></body></html>\n'
            )
            write_atomic(folder / f"{name}.html", page)
    for claim_id, entry in citation.read_registry().withdrawn.items():
        write_atomic(
            folder / f"{claim_id}.html", tombstone(claim_id, entry, history.of_claim(history.read(), claim_id))
        )


def tombstone(claim_id: str, entry: dict[str, str], said: list[dict[str, Any]]) -> str:
    """The page a withdrawn claim's address keeps: why it went, when, and what it last said."""
    name = html.escape(claim_id)
    last = (
        f"<p>Its last published version, {html.escape(said[-1]['version'])} (release "
        f"{html.escape(said[-1]['release'])}), said {html.escape(said[-1]['judged'])} against the lecture's "
        f"{html.escape(said[-1]['stated'])}: {html.escape(said[-1]['verdict'])}.</p>"
        if said
        else ""
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>{name} (withdrawn)</title></head>\n'
        f"<body><h1>{name}: withdrawn</h1>\n<p>This claim was withdrawn from the book in release "
        f"{html.escape(entry['release'])}. {html.escape(entry['reason'])}</p>\n{last}\n"
        f'<p><a href="../changelog.html">The changelog</a> lists every change by release.</p></body></html>\n'
    )


def _of(evaluations: Mapping[str, Evaluation], claim_id: str) -> Evaluation | None:
    """A claim's evaluation by its ID or an older alias, logging nothing (:func:`_lookup` logs)."""
    found = evaluations.get(claim_id)
    renamed = citation.read_registry().aliases.get(claim_id)
    return evaluations.get(renamed) if found is None and renamed is not None else found


def _lookup(directive_or_role: SphinxDirective | SphinxRole, claim_id: str, note: bool = True) -> Evaluation | None:
    """The claim's evaluation (by its ID or an older alias), or None with the error logged; ``note=False``
    for a caller that notes what it shows of the claim itself."""
    state = build_state(directive_or_role.env.app)
    evaluations = state.evaluations if note else dependencies.untracked(state.evaluations)
    evaluation = evaluations.get(claim_id)
    if evaluation is None and (renamed := _of(evaluations, claim_id)) is not None:
        logger.warning(
            f"claim ID '{claim_id}' is deprecated: the claim was renamed to '{renamed.claim.id}'; cite the new ID",
            location=directive_or_role.get_location(),
            type="claims",
            subtype="renamed",
        )
        return renamed
    registry = citation.read_registry()
    if evaluation is None and claim_id in registry.withdrawn:
        entry = registry.withdrawn[claim_id]
        logger.error(
            f"claim '{claim_id}' was withdrawn in release {entry['release']}: {entry['reason']}",
            location=directive_or_role.get_location(),
            type="claims",
            subtype="withdrawn",
        )
        return None
    if evaluation is None:
        if state.failures and not state.evaluations:
            message = f"claim '{claim_id}' cannot be shown: the claims failed to evaluate (see the first error)"
        else:
            known = ", ".join(sorted(state.evaluations))
            message = f"unknown claim ID '{claim_id}' (known: {known})"
        logger.error(message, location=directive_or_role.get_location(), type="claims", subtype="unknown")
    return evaluation


def _margin_cell(e: Evaluation) -> nodes.paragraph:
    """The claim index's margin cell, carrying the number a sortable table orders by."""
    cell = paragraph_of(formatting.margin(e))
    cell["classes"].append("claim-margin")
    cell["classes"].append(f"sort-{-1 if e.margin is None else round(e.margin * 1e6)}")
    return cell


def _source_link(source: hwdb.Source) -> nodes.reference:
    ref = nodes.reference("", source.publisher, refuri=source.url, reftitle=source.title)
    return ref


# ---------------------------------------------------------------- the claim box


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


class ClaimDirective(SphinxDirective):
    """``.. claim:: ID`` — the full box for one claim, and its std:claim target."""

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
        node_id = anchor(claim_id)
        box = nodes.container(
            ids=[node_id], classes=["claim-box", f"verdict-{evaluation.verdict.value.replace(' ', '-')}"]
        )
        domain = self.env.get_domain("std")
        assert isinstance(domain, StandardDomain)
        domain.note_object("claim", claim_id, node_id, location=box)
        box += self._header(evaluation)
        box += paragraph_of(claim.statement, classes=["claim-statement"])
        box += paragraph_of(
            nodes.emphasis("", "Lecture, section " + claim.section + ": "),
            f"“{claim.stated.text}”",
            classes=["claim-lecture"],
        )
        # Top-down: what is claimed, the verdict against the lecture's figure and why; the working folded below.
        box += self._result(evaluation)
        box += paragraph_of(nodes.strong("", "Why. "), formatting.finding(evaluation), classes=["claim-finding"])
        if not _only_reports(evaluation):
            derivation = self._derivation(evaluation)
            if evaluation.derivation.checks:
                derivation += self._checks(evaluation)
            box += folded("How it is derived", derivation, "derivation")
        box += folded(f"Inputs and their sources ({_count(evaluation)})", self._inputs(evaluation), "inputs")
        calculator_html = None if _only_reports(evaluation) else calculator.html(evaluation)
        if calculator_html is not None:
            box += folded("Try it: recompute with other inputs", nodes.raw("", calculator_html, format="html"), "calc")
        if claim.rows:
            box += folded(_rows_summary(evaluation), self._rows(evaluation), "rows")
        elasticities = analyse(evaluation)
        if elasticities:
            box += folded("What the value depends on", self._elasticities(evaluation, elasticities), "elasticities")
        if evaluation.sensitivity:
            box += folded(
                "The lecture's assumptions across their plausible range", self._sensitivity(evaluation), "sensitivity"
            )
        box += self._cite(evaluation)
        for old, new in citation.read_registry().aliases.items():
            if new == claim_id:  # a retired ID still resolves, here and through intersphinx
                box["ids"].append(anchor(old))
                domain.note_object("claim", old, anchor(old), location=box)
        return [box]

    def _cite(self, e: Evaluation) -> nodes.container:
        """One line to copy (``ID@VERSION``, which claims.citing and check-refs read), the formats folded."""
        version = citation.content_version(e)
        pinned = f"{e.claim.id}@{version}"
        cite = nodes.container(classes=["claim-cite"])
        line = paragraph_of(nodes.strong("", "Cite: "), nodes.literal("", pinned, classes=["claim-cite-id"]))
        line += nodes.raw(
            "",
            f'<button type="button" class="claim-copy" data-copy="{html.escape(pinned)}">copy</button>',
            format="html",
        )
        line += nodes.Text(f" (release {release.VERSION}; ")
        line += nodes.reference("", "permanent address", refuri=citation.url(e))
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

    def _header(self, e: Evaluation) -> nodes.paragraph:
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

    def _derivation(self, e: Evaluation) -> nodes.container:
        box = nodes.container(classes=["claim-derivation"])
        for step in e.derivation.steps:
            box += paragraph_of(step.text + ":")
            latex = sp.latex(step.math)
            box += nodes.math_block(latex, latex, nowrap=False, number=None, docname=self.env.docname)
        return box

    def _inputs(self, e: Evaluation) -> nodes.table:
        rows: list[list[nodes.Node | str]] = []
        for item in e.reference.inputs:
            f = item.field
            where = paragraph_of(nodes.literal("", item.key), f" ({item.field.file})")
            rows.append(
                [
                    paragraph_of(nodes.math("", sp.latex(sp.Symbol(item.symbol)))),
                    item.label,
                    formatting.field_value(f),
                    where,
                    paragraph_of(_source_link(f.source), f", retrieved {f.source.retrieved.isoformat()}"),
                ]
            )
        for const in e.claim.constants:
            rows.append(
                [
                    paragraph_of(nodes.math("", sp.latex(const.symbol))),
                    const.why,
                    f"{formatting.number(const.value)} {formatting.unit(const.unit)}".strip(),
                    "constant of the derivation",
                    "—",
                ]
            )
        title = "Inputs" + (
            f" (reference row: {e.reference.record.name})" if e.claim.rows and e.reference.record else ""
        )
        inputs = table_of(["symbol", "meaning", "value", "hwdb record.field", "source"], rows, ["claim-inputs"])
        inputs.insert(0, nodes.title("", title))
        return inputs

    def _result(self, e: Evaluation) -> nodes.container:
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

    def _rows(self, e: Evaluation) -> nodes.table:
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
        listing = table_of(
            ["hardware", "value", "verdict", *vote] + [d.label for d in detail_names], rows, ["claim-rows"]
        )
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
        listing.insert(0, nodes.title("", caption))
        return listing

    def _elasticities(self, e: Evaluation, elasticities: list[Elasticity]) -> nodes.table:
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

    def _sensitivity(self, e: Evaluation) -> nodes.table:
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

    def _checks(self, e: Evaluation) -> nodes.bullet_list:
        items = nodes.bullet_list(classes=["claim-checks"])
        for name, value in e.derivation.checks:
            items += nodes.list_item("", paragraph_of(f"Check — {name}: {formatting.number(value)}"))
        return items


# ---------------------------------------------------------------- inline roles


def _role_target(target: str) -> tuple[str, str, str]:
    """``ID@record`` or ``ID#detail`` as (claim ID, record, detail)."""
    claim_id, _, record = target.partition("@")
    claim_id, _, detail = claim_id.partition("#")
    return claim_id, record, detail


class ClaimValueRole(SphinxRole):
    """``{claim-value}`ID``, ``ID@record`` (a row) or ``ID#detail``: the number, linked."""

    kind = "claim-value"  # what the page notes it shows: this text, and nothing else of the claim

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        target = self.text.strip()
        claim_id, rest, detail = _role_target(target)
        evaluation = _lookup(self, claim_id, note=False)
        dependencies.note_shown(self.env.app, self.kind, target)
        if evaluation is None:
            return [nodes.inline(target, target, classes=["claim-missing"])], []
        text = self.format(evaluation, rest, detail)
        if text is None:
            logger.error(f"claim '{claim_id}' has no row or detail '{rest or detail}'", location=self.get_location())
            return [nodes.inline(target, target, classes=["claim-missing"])], []
        return [_claim_xref(claim_id, nodes.inline(text, text, classes=["claim-value"]))], []

    @staticmethod
    def format(e: Evaluation, record: str, detail: str) -> str | None:
        row = e.reference
        if record:
            match = [r for r in e.rows if r.record is not None and r.record.id == record]
            if not match:
                return None
            row = match[0]
        if detail:
            spec = {d.name: d for d in e.derivation.details}.get(detail)
            return None if spec is None else formatting.detail(spec, row.details[detail])
        return formatting.claim_quantity(e.claim, row.value)


class ClaimJudgedRole(ClaimValueRole):
    """``{claim-judged}`ID``: what the verdict is judged on (a case's value, or a population's counts)."""

    kind = "claim-judged"

    @staticmethod
    def format(e: Evaluation, record: str, detail: str) -> str | None:
        if record or detail:
            return None
        return formatting.judged(e)


def _role_text(
    text_of: Callable[[Evaluation, str, str], str | None],
) -> Callable[[Mapping[str, Evaluation], str], str]:
    """What a value role shows for a target, as its ("shown", …) digest is computed."""

    def shown(evaluations: Mapping[str, Evaluation], target: str) -> str:
        claim_id, record, detail = _role_target(target)
        e = _of(evaluations, claim_id)
        text = None if e is None else text_of(e, record, detail)
        return "absent" if text is None else text

    return shown


dependencies.shows(ClaimValueRole.kind)(_role_text(ClaimValueRole.format))
dependencies.shows(ClaimJudgedRole.kind)(_role_text(ClaimJudgedRole.format))


@dependencies.shows("claim-stated")
def _stated_shown(evaluations: Mapping[str, Evaluation], claim_id: str) -> str:
    e = _of(evaluations, claim_id)
    return "absent" if e is None else formatting.stated(e)


@dependencies.shows("claim-verdict")
def _verdict_shown(evaluations: Mapping[str, Evaluation], claim_id: str) -> str:
    e = _of(evaluations, claim_id)
    return "absent" if e is None else f"{e.verdict.value} marginal={e.marginal}"


@dependencies.shows("lecture-arithmetic")
def _arithmetic_shown(evaluations: Mapping[str, Evaluation], claim_id: str) -> str:
    e = evaluations.get(claim_id)
    return "absent" if e is None else repr((formatting.own_arithmetic(e), e.own_verdict))


@dependencies.shows("claim-index")
def _index_row_shown(evaluations: Mapping[str, Evaluation], claim_id: str) -> str:
    e = evaluations.get(claim_id)
    if e is None:
        return "absent"
    return repr(
        (formatting.judged(e), formatting.stated(e), e.verdict.value, e.evidence, formatting.margin(e), e.marginal)
    )


class ClaimStatedRole(SphinxRole):
    """``{claim-stated}`ID``: the lecture's figure."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        evaluation = _lookup(self, self.text.strip(), note=False)
        dependencies.note_shown(self.env.app, "claim-stated", self.text.strip())
        text = formatting.stated(evaluation) if evaluation else self.text
        return [nodes.inline(text, text, classes=["claim-stated"])], []


class ClaimVerdictRole(SphinxRole):
    """``{claim-verdict}`ID``: the derived verdict, linked to the box."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        claim_id = self.text.strip()
        evaluation = _lookup(self, claim_id, note=False)
        dependencies.note_shown(self.env.app, "claim-verdict", claim_id)
        if evaluation is None:
            return [nodes.inline(claim_id, claim_id, classes=["claim-missing"])], []
        return [_claim_xref(claim_id, _verdict(evaluation.verdict.value, evaluation.marginal))], []


class HwdbRole(SphinxRole):
    """``{hwdb}`record.field``: one database value, as normalised, linked to its source."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        db = build_state(self.env.app).db
        record_id, _, field_name = self.text.strip().rpartition(".")  # IDs may hold dots, fields never
        if db is None or record_id not in db.records or not db.records[record_id].has(field_name):
            logger.error(
                f"unknown hwdb value '{self.text}' (write record.field, e.g. h100-sxm.hbm_bandwidth)",
                location=self.get_location(),
            )
            return [nodes.inline(self.text, self.text, classes=["claim-missing"])], []
        f = db.records[record_id][field_name]
        text = formatting.field_value(f)
        return [
            nodes.reference(
                "",
                text,
                refuri=f.source.url,
                reftitle=f"{f.source.title} ({record_id}.{field_name})",
                classes=["hwdb-value"],
            )
        ], []


# ---------------------------------------------------------------- listings


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
            rows.append(
                [
                    paragraph_of(_claim_xref(claim.id, nodes.literal("", claim.id))),
                    claim.title,
                    e.evidence,
                    formatting.judged(e),
                    formatting.stated(e),
                    paragraph_of(_verdict(e.verdict.value, e.marginal)),
                    _margin_cell(e),
                ]
            )
        headers = ["claim", "title", "evidence", "judged", "lecture", "verdict", "margin"]
        return [table_of(headers, rows, ["claim-index", "sortable"])]


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
                section += paragraph_of(source.note, classes=["hwdb-source-note"])
            users = nodes.bullet_list()
            for record, f in citing.get(source.id, []):
                text = f"{record.id}.{f.name} = {formatting.field_value(f)}" + (f" — {f.note}" if f.note else "")
                users += nodes.list_item("", paragraph_of(nodes.literal("", f"{record.file}"), " ", text))
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


class NotationDirective(SphinxDirective):
    """``.. notation-table::`` — every symbol of every derivation, generated from the claims."""

    def run(self) -> list[nodes.Node]:
        rows: list[list[nodes.Node | str]] = []
        for entry in notation.entries(all_claims()):
            links: list[nodes.Node | str] = []
            for i, claim_id in enumerate(entry.claims):
                links += [", "] if i else []
                links.append(_claim_xref(claim_id, nodes.literal("", claim_id)))
            units = ", ".join((formatting.unit(u) or "dimensionless") for u in entry.units) or "(defined in a step)"
            rows.append(
                [
                    paragraph_of(nodes.math("", entry.symbol)),
                    "; ".join(entry.meanings),
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


def check_every_claim_placed(app: Sphinx, env: Any) -> None:
    """env-check-consistency: every claim must have a box somewhere in the book."""
    domain = env.get_domain("std")
    placed = {name for (objtype, name) in domain.objects if objtype == "claim"}
    for claim_id in sorted(set(build_state(app).evaluations) - placed):
        logger.error(
            f"claim '{claim_id}' has no box in the book "
            f"(add a claim directive for it to {build_state(app).evaluations[claim_id].claim.page}.md)"
        )


def setup(app: Sphinx) -> dict[str, Any]:
    from .hwdb_tables import HwdbTableDirective, OverlayDemoDirective, SystemsDirective
    from .sphinx.stepmodel import PublishedTableDirective, StepExploreDirective, StepModelDirective
    from .sphinx.stepmodel import add_script as add_step_script
    from .sphinx.verdicts import FirmnessRulesDirective, VerdictGroupsDirective

    app.add_config_value("claims_fingerprint", "", rebuild="env", types=[str])
    app.add_object_type("claim", "claim", objname="claim", indextemplate="pair: %s; claim")
    app.add_directive_to_domain("std", "claim", ClaimDirective, override=True)
    app.add_directive("claim-index", ClaimIndexDirective)
    app.add_directive("statement-index", StatementIndexDirective)
    app.add_directive("verdict-summary", VerdictSummaryDirective)
    app.add_directive("verdict-groups", VerdictGroupsDirective)
    app.add_directive("firmness-rules", FirmnessRulesDirective)
    app.add_directive("lecture-arithmetic", LectureArithmeticDirective)
    app.add_directive("claim-figure", ClaimFigureDirective)
    app.add_directive("hwdb-sources", SourcesDirective)
    app.add_directive("tolerance-policy", TolerancePolicyDirective)
    app.add_directive("hwdb-table", HwdbTableDirective)
    app.add_directive("hwdb-systems", SystemsDirective)
    app.add_directive("overlay-demo", OverlayDemoDirective)
    app.add_directive("verdict-rules", VerdictRulesDirective)
    app.add_directive("cite-example", CiteExampleDirective)
    app.add_directive("notation-table", NotationDirective)
    app.add_directive("step-model", StepModelDirective)
    app.add_directive("published-table", PublishedTableDirective)
    app.add_directive("explore-step", StepExploreDirective)
    app.connect("html-page-context", add_step_script)
    app.add_role("claim-value", ClaimValueRole())
    app.add_role("claim-stated", ClaimStatedRole())
    app.add_role("claim-judged", ClaimJudgedRole())
    app.add_role("claim-verdict", ClaimVerdictRole())
    app.add_role("hwdb", HwdbRole())
    app.add_node(details, html=(visit_details, depart_details))
    app.add_node(summary, html=(visit_summary, depart_summary))
    app.add_css_file("claims.css")
    app.add_js_file("claim-box.js")
    app.add_js_file("calculator.js")
    app.add_js_file("claim-index.js")
    app.setup_extension("claims.sphinx.collector")
    app.setup_extension("claims.sphinx.quotes")
    app.setup_extension("claims.sphinx.citations")
    app.setup_extension("claims.sphinx.dependencies")
    app.setup_extension("claims.sphinx.ahead")
    app.setup_extension("claims.sphinx.writer")
    app.connect("builder-inited", evaluate_for_build)
    app.connect("env-check-consistency", check_every_claim_placed)
    app.connect("build-finished", report_at_finish)
    app.setup_extension("claims.sphinx.changelog")
    app.setup_extension("claims.sphinx.exercises")
    app.setup_extension("claims.sphinx.explore")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 2}
