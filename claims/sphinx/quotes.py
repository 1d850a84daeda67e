"""Smart quotes where a block of text has something for them to change, and nowhere else.

Sphinx's smart-quotes transform turns ASCII quotes into typographic ones, ``--`` and ``---`` into
dashes and ``...`` into an ellipsis. It visits every block of text on a page and replaces every text
node in it, whether or not the block holds a single such character. The book's generated pages are
mostly tables of numbers, units and names with none, and the transform was about a third of the time
it took to read such a page (0.15 s of 0.43 s for the sources page).

:class:`SmartQuotesWhereNeeded` is Sphinx's transform, run over only the blocks whose text holds a
character or sequence that some smart-quotes action can change (:data:`ACTIVE`); every other block
would come out unchanged, and is left alone. ``tests/test_quotes.py`` builds a page of quotes,
dashes, ellipses, escapes and literals both ways and compares them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxSmartQuotes

#: What any smart-quotes action works on: quotes and backticks, dashes, ellipses (also spaced), the
#: backslash escapes it honours, and the entity the "w" action converts.
ACTIVE = ("'", '"', "`", "--", "...", ". .", "\\", "&quot;")


def has_work(block: nodes.TextElement) -> bool:
    """Whether smart quotes could change anything in this block of text (its inline text included)."""
    text = "".join(str(t) for t in block.findall(nodes.Text))
    return any(sequence in text for sequence in ACTIVE)


class _Blocks:
    """The page as the transform walks it: only the given blocks; everything else as the page has it."""

    def __init__(self, document: nodes.document, blocks: list[nodes.TextElement]) -> None:
        self._document, self._blocks = document, blocks

    def findall(self, *args: Any, **kwargs: Any) -> Iterator[nodes.TextElement]:
        return iter(self._blocks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._document, name)


class SmartQuotesWhereNeeded(SphinxSmartQuotes):
    """Sphinx's smart quotes, over the blocks of text that have something for them to change."""

    def apply(self, **kwargs: Any) -> None:
        document = cast(nodes.document, self.document)  # type: ignore[has-type]
        blocks = [
            node
            for node in document.findall(nodes.TextElement)
            if not isinstance(node, self.nodes_to_skip)
            and not isinstance(node.parent, nodes.TextElement)  # an inline element: its block is visited
            and has_work(node)
        ]
        self.document = _Blocks(document, blocks)
        try:
            super().apply(**kwargs)
        finally:
            self.document = document


def setup(app: Sphinx) -> dict[str, Any]:
    transforms = app.registry.transforms
    if SphinxSmartQuotes in transforms:  # registered by Sphinx itself, before any extension
        transforms[transforms.index(SphinxSmartQuotes)] = SmartQuotesWhereNeeded
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
