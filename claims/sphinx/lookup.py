"""Finding a claim's evaluation from a directive or role, with the error that names the page and the ID."""

from __future__ import annotations

from collections.abc import Mapping

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

import hwdb

from .. import citation
from ..engine import Evaluation
from ..sphinxnodes import build_state
from . import dependencies

logger = logging.getLogger(__name__)


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
            import difflib

            near = difflib.get_close_matches(claim_id, sorted(state.evaluations), n=3, cutoff=0.6)
            message = f"unknown claim ID '{claim_id}'" + (f"; did you mean {', '.join(near)}?" if near else "")
        logger.error(message, location=directive_or_role.get_location(), type="claims", subtype="unknown")
    return evaluation


def _source_link(source: hwdb.Source) -> nodes.reference:
    ref = nodes.reference("", source.publisher, refuri=source.url, reftitle=source.title)
    return ref
