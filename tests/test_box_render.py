"""The claim box built from a claim's evaluation alone, without a Sphinx app (claims.sphinx.box.render)."""

from __future__ import annotations

from functools import cache

from docutils import nodes

import hwdb
from claims.engine import Evaluation, anchor, evaluate
from claims.registry import get_claim
from claims.sphinx.box import render


@cache
def _db() -> hwdb.Database:
    return hwdb.load([])


def _evaluation(claim_id: str) -> Evaluation:
    return evaluate(get_claim(claim_id), _db())


def _folds(box: nodes.Element) -> set[str]:
    """The names of the box's folds (``claim-fold-NAME``), nested ones included."""
    return {
        c.removeprefix("claim-fold-")
        for n in box.findall(nodes.Element)
        for c in n["classes"]
        if c.startswith("claim-fold-")
    }


def _body_rows(box: nodes.Element, table_class: str) -> int:
    (table,) = [t for t in box.findall(nodes.table) if table_class in t["classes"]]
    (body,) = table.findall(nodes.tbody)
    return len(body.children)


def test_a_derived_claim_box_shows_its_verdict_working_inputs_and_rows() -> None:
    e = _evaluation("serving.train-interval")
    box = render(e, "serving")
    assert box["ids"] == [anchor(e.claim.id)]
    assert f"verdict-{e.verdict.value.replace(' ', '-')}" in box["classes"]
    header, statement = box.children[0], box.children[1]
    assert e.claim.title in header.astext() and e.claim.id in header.astext()
    assert statement.astext() == e.claim.statement
    assert {"derivation", "inputs", "rows", "formats"} <= _folds(box)
    assert _body_rows(box, "claim-inputs") == len(e.reference.inputs) + len(e.claim.constants)
    assert _body_rows(box, "claim-rows") == len(e.rows)
    maths = list(box.findall(nodes.math_block))
    assert len(maths) == len(e.derivation.steps) and all(m["docname"] == "serving" for m in maths)
    assert f"claim:{e.claim.id}@" in box.astext()  # the line to cite it by


def test_a_reported_figure_has_no_working_to_fold() -> None:
    e = _evaluation("pricing.gpu-hour")
    box = render(e, "pricing")
    assert "derivation" not in _folds(box) and "calc" not in _folds(box)
    assert "inputs" in _folds(box)
    assert not list(box.findall(nodes.math_block))
