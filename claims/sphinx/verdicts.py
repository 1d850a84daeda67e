"""The landing page's verdicts, grouped by the evidence each rests on.

A hand-picked list of "what holds" drifts into claiming more than the evidence gives: a verdict
that repeats the lecture's own arithmetic is not a datasheet check. So the groups are the
evidence classes the engine derives, in order of strength, and each claim sits where its class
puts it.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from .. import formatting
from ..catalogue import CLAIMS
from ..engine import Evaluation
from ..policy import EVIDENCE, GROUP_VOTE, INPUT_EVIDENCE, MARGINAL, STRENGTH, Verdict
from ..sphinxnodes import build_state, claim_xref, paragraph_of, verdict_badge
from . import dependencies

#: Strongest first; a proof is a different kind of evidence and is listed after the data.
ORDER: tuple[str, ...] = (*reversed(STRENGTH[1:]), "identity", "none")
HEADINGS = {
    "independent": "Checked against datasheets, configs, price sheets and papers",
    "reported": "Resting on a figure a lab, vendor or analyst reports",
    "lecture-arithmetic": "Resting on the lecture's own assumptions: the lecture checked against itself",
    "identity": "Proofs: true of the lecture's model, whatever the hardware",
    "none": "No public evidence",
}
VERDICT_ORDER = (Verdict.HOLDS, Verdict.ROUGHLY, Verdict.FAILS, Verdict.UNCHECKABLE)


def grouped(evaluations: dict[str, Evaluation]) -> list[tuple[str, list[Evaluation]]]:
    """The claims in each evidence class, strongest class first; in a class, holds before fails, then book order."""
    book = [evaluations[c.id] for c in CLAIMS if c.id in evaluations]
    out = []
    for key in ORDER:
        members = [e for e in book if e.evidence == key]
        members.sort(key=lambda e: VERDICT_ORDER.index(e.verdict))
        if members:
            out.append((key, members))
    return out


class VerdictGroupsDirective(SphinxDirective):
    """``.. verdict-groups::`` — every claim under its evidence class, with its value, the lecture's and the verdict."""

    def run(self) -> list[nodes.Node]:
        evaluations = dependencies.untracked(build_state(self.env.app).evaluations)
        out: list[nodes.Node] = []
        for key, members in grouped(evaluations):
            section = nodes.container(classes=["verdict-group", f"evidence-{key}"])
            section += paragraph_of(
                nodes.strong("", f"{HEADINGS[key]} ({len(members)})"),
                f" — {EVIDENCE[key]}.",
                classes=["verdict-group-title"],
            )
            listing = nodes.bullet_list()
            for e in members:
                dependencies.note_shown(self.env.app, "claim-index", e.claim.id)
                item = nodes.list_item()
                item += paragraph_of(
                    claim_xref(e.claim.id, nodes.inline("", e.claim.title)),
                    f": {formatting.judged(e)} against the lecture's {formatting.stated(e)} ",
                    verdict_badge(e.verdict.value, e.marginal),
                )
                listing += item
            section += listing
            out.append(section)
        return out


class FirmnessRulesDirective(SphinxDirective):
    """``.. firmness-rules::`` — the policy's rules for votes, margins and evidence, read from the policy."""

    def run(self) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        voting = nodes.bullet_list()
        for claim in CLAIMS:
            if claim.rows is not None and claim.rows.voter:
                voting += nodes.list_item(
                    "",
                    paragraph_of(
                        claim_xref(claim.id, nodes.literal("", claim.id)),
                        f": one vote per {claim.rows.voter} ({claim.rows.voter_noun}); {claim.rows.why_voter}.",
                    ),
                )
        out.append(
            paragraph_of(
                "Claims that count one vote per group, and why their rows are one piece of evidence "
                f"(a group votes by the {GROUP_VOTE!r} rule among its own rows):"
            )
        )
        out.append(voting)
        out.append(
            paragraph_of(
                f"A verdict is marked marginal when a move of less than {formatting.number(100 * MARGINAL)} % "
                "in its judged value changes it, or when an assumed input's own stated range does."
            )
        )
        strength = " < ".join(STRENGTH)
        kinds = "; ".join(f"an input from a {kind} record counts as {cls}" for kind, cls in INPUT_EVIDENCE.items())
        out.append(
            paragraph_of(
                f"Evidence classes, weakest first: {strength}. {kinds.capitalize()}; every other input "
                "(datasheets, configs, price sheets, papers, published deployments) as independent. "
                "A proof (identity) is not ranked: it holds whatever its illustrative inputs."
            )
        )
        return out
