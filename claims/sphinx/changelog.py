"""Sphinx adapter: ``.. claims-changelog::``, the book's changes release by release, from claims/history.json.

The page is generated, never written: each release lists the claims whose value or verdict moved
(old → new), those reworded with value and verdict unchanged, and those added, renamed or withdrawn.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from .. import history
from ..citation import read_registry
from ..sphinxnodes import paragraph_of

WHAT = {
    "moved": "Value or verdict moved",
    "firmness": "Evidence class or marginal flag changed, value and verdict unchanged",
    "reworded": "Reworded (statement, tolerance, inputs or derivation), value and verdict unchanged",
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


def _line(change: history.Change) -> nodes.list_item:
    from ..sphinxnodes import claim_xref as _claim_xref

    name = nodes.literal("", change.claim)
    target: nodes.Node = (
        nodes.reference("", "", name, refuri=f"c/{change.claim}.html")
        if change.kind == "withdrawn"
        else _claim_xref(change.claim, name)
    )
    old, new = change.old, change.new
    if change.kind == "moved" and old and new:
        text = f": {_said(old)} → {_said(new)}, against the lecture's {new['stated']}" + _firmness(old, new)
    elif change.kind == "firmness" and old and new:
        text = f": {_said(new)}" + _firmness(old, new) + f", version {new['version']}"
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
        out: list[nodes.Node] = []
        for release, found in history.changes(releases, read_registry().aliases):
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
                        section += nodes.bullet_list("", *[_line(c) for c in lines])
            out.append(section)
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("claims-changelog", ChangelogDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
