"""Inline roles: a claim's value, judged figure, stated figure and verdict, and one hwdb value; and what
each shows, for the dependency record."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

from .. import formatting
from ..engine import Evaluation
from ..sphinxnodes import build_state
from ..sphinxnodes import claim_xref as _claim_xref
from ..sphinxnodes import verdict_badge as _verdict
from . import dependencies
from .lookup import _lookup, _of

logger = logging.getLogger(__name__)


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
