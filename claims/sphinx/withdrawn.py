"""Withdrawn claims in the book's own pages: a link to a withdrawn ID goes to its tombstone, ``c/ID.html``.

A withdrawn claim has no box, so a cross-reference to it would find no target and fail a ``-n`` build.
The changelog lists a withdrawn claim under every release that changed it and links each of those lines
to the tombstone (:func:`tombstone_link`). Any other reference to a withdrawn ID (``{claim}`ID```)
resolves to the tombstone too, with a warning typed ``claims.withdrawn``: the book's own text should not
lean on a claim it took back, and the warning says why the claim went rather than "target not found".
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.builders import Builder
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

from ..citation import permalink, read_registry

logger = logging.getLogger(__name__)


def tombstone_uri(builder: Builder, docname: str, claim_id: str) -> str:
    """The tombstone's address relative to the page ``docname`` (``../c/ID.html`` from a page in a folder)."""
    return relative_uri(builder.get_target_uri(docname), permalink(claim_id))


def tombstone_link(env: BuildEnvironment, claim_id: str, content: nodes.Node) -> nodes.reference:
    """A link from the page being read to a withdrawn claim's tombstone, which the build writes beside the pages."""
    link = nodes.reference("", "", internal=True, refuri=tombstone_uri(env.app.builder, env.docname, claim_id))
    link += content
    return link


def resolve_withdrawn(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.reference | None:
    """missing-reference: a ``claim`` reference to a withdrawn ID links its tombstone, and says it was withdrawn."""
    if node.get("refdomain") != "std" or node.get("reftype") != "claim":
        return None
    claim_id = node.get("reftarget", "")
    entry = read_registry().withdrawn.get(claim_id)
    if entry is None:
        return None
    logger.warning(
        f"claim '{claim_id}' was withdrawn in release {entry['release']}: {entry['reason']} "
        "(the link goes to its tombstone; cite a live claim, or remove the reference)",
        location=node,
        type="claims",
        subtype="withdrawn",
    )
    docname = node.get("refdoc") or env.docname
    link = nodes.reference("", "", internal=True, refuri=tombstone_uri(app.builder, docname, claim_id))
    link += contnode
    return link


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("missing-reference", resolve_withdrawn)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
