"""Sphinx adapter: ``.. claims-changelog::``, the book's changes release by release, from claims/history.json.

The page is generated, never written: each release lists the claims whose value or verdict moved
(old → new); those whose value and verdict stayed but a row or input moved (which, old → new), or only
their statement, tolerance, derivation or an input's plausible range changed; and those added, renamed or
withdrawn. Every line of a
withdrawn claim, in whichever release, links its tombstone: the claim has no box to link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from .. import history
from ..citation import read_registry
from ..sphinxnodes import claim_xref, ids_as_code, paragraph_of
from .withdrawn import tombstone_link

WHAT = {
    "moved": "Value or verdict moved",
    "firmness": "Evidence class or marginal flag changed, value and verdict unchanged",
    "data": "A row or input moved, value and verdict unchanged",
    "reworded": (
        "Statement, tolerance, derivation or an input's plausible range changed; value, verdict, rows and inputs "
        "unchanged"
    ),
    "unrecorded": (
        "Statement, tolerance, inputs, rows or derivation changed (which was not yet recorded), value and verdict "
        "unchanged"
    ),
    "added": "Added",
    "renamed": "Renamed (the old ID still resolves)",
    "withdrawn": "Withdrawn",
}


def _said(entry: dict[str, Any]) -> str:
    return f"{entry['judged']} ({entry['verdict']})"


def _firmness(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What changed in how firm the verdict is: "; evidence independent → reported; now marginal"."""
    out = ""
    for key in history.firmness_changed(old, new):
        if key == "evidence":
            out += f"; evidence {old['evidence']} → {new['evidence']}"
        else:
            out += "; now marginal" if new["marginal"] else "; no longer marginal"
    return out


#: How many moved rows and inputs a line names before it counts the rest.
SHOWN = 5


def _first(lines: list[str]) -> list[str]:
    return lines if len(lines) <= SHOWN else [*lines[:SHOWN], f"and {len(lines) - SHOWN} more rows or inputs"]


def _line(change: history.Change, link: Callable[[str, nodes.Node], nodes.Node]) -> nodes.list_item:
    """One claim's change; ``link`` makes the link to the claim (its box, or its tombstone if withdrawn)."""
    target = link(change.claim, nodes.literal("", change.claim))
    old, new = change.old, change.new
    if change.kind == "moved" and old and new:
        text = f": {_said(old)} → {_said(new)}, against the lecture's {new['stated']}" + _firmness(old, new)
    elif change.kind == "firmness" and old and new:
        text = f": {_said(new)}" + _firmness(old, new) + f", version {new['version']}"
    elif change.kind == "data" and old and new:
        moved = "; ".join(_first(history.what_moved(old, new)))
        text = f": {_said(new)}, version {new['version']}; {moved}"
        names = {*old["rows"], *new["rows"], *old["inputs"], *new["inputs"]}  # record IDs and record.field keys
        return nodes.list_item("", paragraph_of(target, *ids_as_code(text, names)))
    elif change.kind == "renamed":
        text = f": was {change.old_id}"
    elif change.kind == "withdrawn" and old:
        entry = read_registry().withdrawn.get(change.claim, {})
        text = f": {entry.get('reason', 'withdrawn')} It last said {_said(old)}."
    elif new:
        text = f": {_said(new)}, version {new['version']}"
    return nodes.list_item("", paragraph_of(target, text))


class ChangelogDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(history.HISTORY_FILE))
        releases = history.read()
        registry = read_registry()

        def link(claim_id: str, content: nodes.Node) -> nodes.Node:
            if claim_id in registry.withdrawn:
                return tombstone_link(self.env, claim_id, content)
            return claim_xref(claim_id, content)

        out: list[nodes.Node] = []
        for release, found in history.changes(releases, registry.aliases):
            section = nodes.container(classes=["claims-release"])
            section += nodes.rubric("", f"Release {release.number}, {release.date}")
            if release is releases[0]:
                section += paragraph_of(
                    f"The recorded history starts with this release: {len(release.claims)} claims, each with "
                    "its content version, value and verdict. Earlier releases were not recorded."
                )
            else:
                for kind, title in WHAT.items():
                    lines = [c for c in found if c.kind == kind]
                    if lines:
                        section += paragraph_of(nodes.strong("", f"{title}: {len(lines)}"))
                        section += nodes.bullet_list("", *[_line(c, link) for c in lines])
            out.append(section)
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("claims-changelog", ChangelogDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
