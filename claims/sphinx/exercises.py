"""Sphinx adapter: exercises whose every number comes from a scenario evaluated at build time.

A chapter writes (MyST)::

    ::::{exercise} The same model on an H200
    ---
    let: |
      h200 = batch.optimal-size hw=h200
    expect: h200 < base
    ---
    Question, with numbers as {{ h200$W }} ...

    :::{answer}
    Answer, with {{ h200 }} and why ...
    :::
    ::::

The scenario language and the refs are :mod:`claims.exercise`'s. The answer is an HTML
``<details>`` element: closed until the reader opens it, with or without JavaScript. A scenario
that fails to evaluate, an unknown ref, or an expectation that no longer holds is a build error
naming the exercise; since every page is re-read when claims/ or hwdb/ change (the extension's
fingerprint), no page keeps an answer the data no longer supports.
"""

from __future__ import annotations

from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.writers.html5 import HTML5Translator

from .. import exercise
from ..sphinxnodes import build_state

logger = logging.getLogger(__name__)

# What an exercise asks the reader to do. "apply" changes one input of the chapter's formula; the
# others ask for more: a formula of one's own ("derive"), an order of magnitude from few facts
# ("estimate"), or a choice that meets a constraint ("design").
KINDS = {
    "apply": "Apply",
    "derive": "Derive",
    "estimate": "Estimate",
    "design": "Design",
}


class exercise_node(nodes.General, nodes.Element):  # type: ignore[misc]  # docutils names nodes in lower case
    """One exercise: title, question and answer."""


class answer_node(nodes.General, nodes.Element):  # type: ignore[misc]
    """An exercise's answer, folded."""


def visit_exercise_html(self: HTML5Translator, node: exercise_node) -> None:
    self.body.append(self.starttag(node, "section", CLASS="exercise"))  # with its exercise-KIND class


def depart_exercise_html(self: HTML5Translator, node: exercise_node) -> None:
    self.body.append("</section>\n")


def visit_answer_html(self: HTML5Translator, node: answer_node) -> None:
    self.body.append(self.starttag(node, "details", CLASS="exercise-answer"))
    self.body.append('<summary>Answer</summary>\n<div class="exercise-answer-body">\n')


def depart_answer_html(self: HTML5Translator, node: answer_node) -> None:
    self.body.append("</div>\n</details>\n")


def _pass(self: Any, node: nodes.Element) -> None:
    """Other writers show the answer as plain paragraphs after the question."""


class AnswerDirective(SphinxDirective):
    """``answer``: the folded answer of the exercise around it (its refs are filled by that exercise)."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        node = answer_node()
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


class ExerciseDirective(SphinxDirective):
    """``exercise TITLE``: scenarios in ``:let:``, expectations in ``:expect:``, a question and one answer."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {
        "let": directives.unchanged_required,
        "expect": directives.unchanged,
        "kind": lambda text: directives.choice(text, tuple(KINDS)),
    }

    def _fail(self, message: str) -> list[nodes.Node]:
        logger.error(f"exercise '{self.arguments[0]}': {message}", location=self.get_location())
        return []

    def run(self) -> list[nodes.Node]:
        state = build_state(self.env.app)
        if state.db is None:
            return self._fail("the claims failed to evaluate (see the first error)")
        try:
            scenarios = exercise.evaluate_lets(self.options.get("let", ""), state.db)
            failed = exercise.check(self.options.get("expect", ""), scenarios)
            title = exercise.fill(self.arguments[0], scenarios)
            lines = [exercise.fill(line, scenarios) for line in self.content]  # one line at a time: locations hold
        except exercise.ExerciseError as exc:
            return self._fail(str(exc))
        if failed:
            return self._fail("expectation no longer holds, so the answer's reasoning is stale: " + "; ".join(failed))
        number = self.env.new_serialno("exercise") + 1
        kind = self.options.get("kind", "apply")
        node = exercise_node(ids=[f"exercise-{number}"], classes=[f"exercise-{kind}"])
        heading = nodes.paragraph(classes=["exercise-title"])
        heading += nodes.inline("", KINDS[kind], classes=["exercise-kind"])
        heading += nodes.Text(" ")
        heading += nodes.strong("", f"Exercise {number}. ")
        inline, messages = self.parse_inline(title, lineno=self.lineno)
        heading += inline
        node += heading
        node += messages
        self.state.nested_parse(StringList(lines, items=self.content.items), self.content_offset, node)
        answers = list(node.findall(answer_node))
        if len(answers) != 1:
            return self._fail(f"needs exactly one answer block, has {len(answers)}")
        if any(exercise.PLACEHOLDER.search(n.astext()) for n in node.findall(nodes.Text)):
            return self._fail("a {{ ref }} was left unfilled (split across lines?)")
        return [node]


def check_answers_placed(app: Sphinx, doctree: nodes.document) -> None:
    """doctree-read: an answer outside an exercise would show unfilled refs and no question."""
    for node in doctree.findall(answer_node):
        if not any(isinstance(parent, exercise_node) for parent in _ancestors(node)):
            logger.error("an answer block must sit inside an exercise", location=node)


def _ancestors(node: nodes.Node) -> list[nodes.Node]:
    out = []
    while node.parent is not None:
        node = node.parent
        out.append(node)
    return out


def setup(app: Sphinx) -> dict[str, Any]:
    plain = (_pass, _pass)
    for node, html in (
        (exercise_node, (visit_exercise_html, depart_exercise_html)),
        (answer_node, (visit_answer_html, depart_answer_html)),
    ):
        app.add_node(node, html=html, latex=plain, text=plain, man=plain, texinfo=plain)
    app.add_directive("exercise", ExerciseDirective)
    app.add_directive("answer", AnswerDirective)
    app.add_css_file("exercises.css")
    app.connect("doctree-read", check_answers_placed)
    app.setup_extension("claims.sphinx.notebooks")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
