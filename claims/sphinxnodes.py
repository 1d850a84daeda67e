"""Docutils building blocks and per-build state shared by the Sphinx directives."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx

import hwdb

from .engine import Evaluation


@dataclass
class State:
    """One build's evaluation of the claims, shared by every directive and role."""

    db: hwdb.Database | None = None
    evaluations: dict[str, Evaluation] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def build_state(app: Sphinx) -> State:
    state = getattr(app, "_claims_state", None)
    if state is None:
        state = State()
        app._claims_state = state  # type: ignore[attr-defined]
    return state


def paragraph_of(*children: nodes.Node | str, classes: list[str] | None = None) -> nodes.paragraph:
    para = nodes.paragraph(classes=classes or [])
    for child in children:
        para += nodes.Text(child) if isinstance(child, str) else child
    return para


def ids_as_code(text: str, ids: Iterable[str]) -> list[nodes.Node]:
    """``text`` as nodes with each of ``ids`` in it set as code: a record ID is an identifier, not a word."""
    wanted = sorted(set(ids), key=len, reverse=True)  # the longest first: deepseek-v3.2-exp before deepseek-v3
    if not wanted:
        return [nodes.Text(text)]
    out: list[nodes.Node] = []
    last = 0
    for m in re.finditer(r"(?<![\w.-])(?:" + "|".join(map(re.escape, wanted)) + r")(?![\w-]|\.\w)", text):
        out += [nodes.Text(text[last : m.start()]), nodes.literal("", m.group(0))]
        last = m.end()
    return [*out, nodes.Text(text[last:])]


def verdict_badge(verdict_text: str, marginal: bool = False) -> nodes.inline:
    """A verdict badge; a marginal one says so, since a small move of its value would change it."""
    slug = verdict_text.replace(" ", "-")
    shown = f"{verdict_text} (marginal)" if marginal else verdict_text
    classes = ["claim-verdict", f"verdict-{slug}"] + (["verdict-marginal"] if marginal else [])
    return nodes.inline(shown, shown, classes=classes)


def claim_xref(claim_id: str, content: nodes.Node) -> addnodes.pending_xref:
    """A link to a claim's box that Sphinx resolves, and warns about, like any cross-reference."""
    xref = addnodes.pending_xref(
        "", refdomain="std", reftype="claim", reftarget=claim_id, refexplicit=True, refwarn=True
    )
    xref += content
    return xref  # type: ignore[no-any-return]


def table_of(
    headers: Sequence[nodes.Node | str], rows: Sequence[Sequence[nodes.Node | str]], classes: list[str]
) -> nodes.table:
    table = nodes.table(classes=classes)
    group = nodes.tgroup(cols=len(headers))
    table += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    head += nodes.row("", *[nodes.entry("", paragraph_of(h)) for h in headers])
    body = nodes.tbody()
    group += body
    for cells in rows:
        body += nodes.row(
            "", *[nodes.entry("", c if isinstance(c, nodes.paragraph) else paragraph_of(c)) for c in cells]
        )
    return table


class details(nodes.General, nodes.Element):  # type: ignore[misc]  # docutils has no type hints
    """A folded section: HTML ``<details>``, which opens without JavaScript."""


class summary(nodes.General, nodes.TextElement):  # type: ignore[misc]
    """The always-visible line of a :class:`details`."""


def folded(title: str, body: nodes.Node, name: str, is_open: bool = False) -> details:
    """``body`` behind a one-line ``title``; ``name`` becomes a class (``claim-fold-NAME``) for styling and tests."""
    node = details(classes=["claim-fold", f"claim-fold-{name}"], open=is_open)
    node += summary(title, title)
    node += body
    return node  # type: ignore[no-any-return]


def visit_details(translator: Any, node: details) -> None:
    attributes = {"open": "open"} if node.get("open") else {}
    translator.body.append(translator.starttag(node, "details", "", **attributes))


def depart_details(translator: Any, node: details) -> None:
    translator.body.append("</details>\n")


def visit_summary(translator: Any, node: summary) -> None:
    translator.body.append(translator.starttag(node, "summary", ""))


def depart_summary(translator: Any, node: summary) -> None:
    translator.body.append("</summary>\n")
