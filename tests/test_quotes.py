"""Smart quotes over only the blocks with something to change (claims.sphinx.quotes) give the page that
Sphinx's own transform gives, over every block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docutils import nodes
from sphinx.application import Sphinx

from claims.sphinx.quotes import has_work

PAGE = r"""
"Quoted" titles -- and dashes
=============================

The lecture's "train" leaves every 20 ms... and *this*'s emphasis ends in an apostrophe.
A dash split across nodes: *a*-\ -*b*, and one across three: x-*-*-y. An en dash -- an em dash --- here.
Spaced dots . . . and escapes: \"not curly\", \'nor this\', \-\- two hyphens, a backslash \\ too.

``"literal" -- ...`` stays as typed, and so does :math:`a - b`.

.. list-table::

   * - 738.1B parameters
     - 3.35 TB/s
   * - it's 2×
     - "yes"

* an item with 'single quotes'
* an item with nothing to change: 1,024 tokens

Term "with quotes"
   A definition -- with a dash.

.. code-block:: text

   "code" -- is never educated...
"""


def _build(tmp_path: Path, extensions: list[str]) -> str:
    source = tmp_path / "src"
    source.mkdir(parents=True)
    (source / "conf.py").write_text(f"extensions = {extensions!r}\n")
    (source / "index.rst").write_text(PAGE)
    out = tmp_path / "out"
    app = Sphinx(source, source, out, tmp_path / "doctrees", "html", status=None, warning=None, freshenv=True)
    app.build()
    html = (out / "index.html").read_text(encoding="utf-8")
    return re.sub(r"\?v=[0-9a-f]+", "", html)


def test_only_the_blocks_with_work_gives_sphinxs_page(tmp_path: Path) -> None:
    mine = _build(tmp_path / "mine", ["claims.sphinx.quotes"])
    sphinx = _build(tmp_path / "sphinx", [])
    assert "’s" in mine and "“Quoted”" in mine and "–" in mine and "—" in mine and "…" in mine  # it educated
    assert mine == sphinx


@pytest.mark.parametrize(
    ("text", "work"),
    [
        ("738.1B parameters", False),
        ("3.35 TB/s, 2× the H100", False),
        ("it's", True),
        ('"quoted"', True),
        ("a -- b", True),
        ("wait...", True),
        ("wait . . .", True),
        ("a \\ b", True),
        ("one-two", False),
    ],
)
def test_which_blocks_have_work(text: str, work: bool) -> None:
    assert has_work(nodes.paragraph("", text)) is work
