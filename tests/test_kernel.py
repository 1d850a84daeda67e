"""The in-process kernel that runs the book's notebooks: a Jupyter kernel's outputs, a fresh namespace
per notebook, and a failing cell that stops the build naming the notebook and the cell."""

from __future__ import annotations

from typing import Any

import nbformat
import pytest
from sphinx.errors import ExtensionError

from claims.sphinx import kernel


def _notebook(*cells: str) -> nbformat.NotebookNode:
    v4: Any = nbformat.v4  # nbformat's builders are untyped
    nb: nbformat.NotebookNode = v4.new_notebook()
    nb.cells = [v4.new_markdown_cell("Some prose.")] + [v4.new_code_cell(c) for c in cells]
    return nb


def _code(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_outputs_are_what_a_jupyter_kernel_sends() -> None:
    nb = kernel.run(
        _notebook(
            'print("one")\nprint("two")\nx = 41',
            "x + 1",
            'import claims\nclaims.evaluate("kv.bytes-per-token", hw="h200")',
            "y = 2",
        )
    )
    printed, value, scenario, quiet = _code(nb)
    assert [(o.output_type, o.name, o.text) for o in printed.outputs] == [("stream", "stdout", "one\ntwo\n")]
    assert value.outputs[0].output_type == "execute_result" and value.outputs[0].data["text/plain"] == "42"
    rich = scenario.outputs[0].data
    assert (
        rich["text/plain"].startswith("<Scenario kv.bytes-per-token on h200") and "claims-scenario" in rich["text/html"]
    )
    assert quiet.outputs == []
    assert [c.execution_count for c in _code(nb)] == [1, 2, 3, 4]
    assert nb.metadata["language_info"]["pygments_lexer"] == "ipython3"
    nbformat.validate(nb)


def test_each_notebook_starts_from_an_empty_namespace() -> None:
    kernel.run(_notebook("left_behind = 1"))
    nb = kernel.run(_notebook("'left_behind' in dir()"))
    assert _code(nb)[0].outputs[0].data["text/plain"] == "False"
    assert _code(nb)[0].execution_count == 1


def test_a_failing_cell_stops_the_build_naming_the_notebook_and_the_cell() -> None:
    with pytest.raises(ExtensionError, match=r"book/notebooks/x\.nb\.md: code cell 2 raised ZeroDivisionError"):
        kernel.run(_notebook("a = 1", "1 / 0", "never = 1"), "book/notebooks/x.nb.md")
