"""Run the book's worked-example notebooks in the build's own process, on an IPython kernel.

A notebook used to run in a Jupyter kernel of its own: a new Python process that imported SymPy,
pint and the claims again and then waited to be shut down, about 1.3 s on the 2-core machine for
a notebook whose own work takes a tenth of that. A data edit that touches three notebooks cost
four seconds. Here each notebook runs on ipykernel's in-process kernel instead: the same IPython
shell and display machinery a Jupyter kernel uses, so each cell's outputs (printed text, rich
displays, the value of its last line) are the messages a kernel would send, turned into
notebook outputs with nbformat's own converter. The libraries and the claims are already
imported, and hwdb already loaded, so a notebook costs about what its cells do.

myst-nb reads the notebooks through ``nb_custom_formats`` (the ``.nb.md`` suffix in conf.py),
with :func:`read_and_run` as the reader, and renders the outputs it returns with
``nb_execution_mode = "off"``: myst-nb runs nothing itself. The executed notebook is what the
page shows and what its download holds.

Each notebook starts from an empty namespace and execution count 1. Modules stay imported
between notebooks, as they are in the build: a notebook must not change the ``claims`` or
``hwdb`` modules it imports (ours do not). A cell that raises stops the build with the notebook,
the cell and the error, as myst-nb's ``nb_execution_raise_on_error`` did.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import nbformat
from sphinx.errors import ExtensionError

#: Set by the build (claims.sphinx.notebooks, at source-read) while a notebook page is read: its path, for errors.
CURRENT_PAGE = "CLAIMS_NOTEBOOK_PAGE"
TIMEOUT = 60.0  # seconds to wait for a cell's messages; an in-process cell has already finished by then


@cache
def _kernel() -> tuple[Any, Any]:
    """One in-process kernel per build process: its manager and a blocking client."""
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # ipykernel imports debugpy, which warns
    from ipykernel.inprocess.manager import InProcessKernelManager
    from traitlets.config import Config

    # A build is not an interactive session: no command history on disk, and no output cache (Out[n],
    # _1, …), whose clearing at each notebook's reset made a full garbage collection every time.
    config = Config({"HistoryManager": {"enabled": False}, "InteractiveShell": {"cache_size": 0}})
    manager = InProcessKernelManager(config=config)
    manager.start_kernel()  # type: ignore[no-untyped-call]
    client = manager.client()  # type: ignore[no-untyped-call]
    client.start_channels()
    return manager, client


def _run_cell(client: Any, source: str) -> tuple[list[Any], int | None, dict[str, Any] | None]:
    """Run one cell; its outputs as notebook outputs, its execution count, and its error (if any)."""
    msg_id = client.execute(source, store_history=True, allow_stdin=False)  # as Jupyter does: counts the cell
    outputs: list[Any] = []
    error = None
    while True:
        msg = client.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id", msg_id) != msg_id:
            continue  # another request's (the in-process kernel sends printed text with no parent)
        kind = msg["msg_type"]
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            break
        if kind == "clear_output":
            outputs.clear()
        elif kind in ("stream", "display_data", "execute_result", "error"):
            outputs.append(nbformat.v4.output_from_msg(msg))  # type: ignore[no-untyped-call]
            if kind == "error":
                error = msg["content"]
    reply = client.get_shell_msg(timeout=TIMEOUT)
    return _merged_streams(outputs), reply["content"].get("execution_count"), error


def _merged_streams(outputs: list[Any]) -> list[Any]:
    """Consecutive text on the same stream as one output, as Jupyter shows it."""
    merged: list[Any] = []
    for out in outputs:
        last = merged[-1] if merged else None
        if out.output_type == "stream" and last is not None and last.output_type == "stream" and last.name == out.name:
            last.text += out.text
            continue
        merged.append(out)
    return merged


def run(notebook: Any, where: str = "a notebook") -> Any:
    """Execute every code cell of ``notebook`` in order, in place, on a fresh namespace; return it."""
    manager, client = _kernel()
    manager.kernel.shell.reset(new_session=True)
    manager.kernel.shell.execution_count = 1
    # What a kernel's kernel_info reply puts in an executed notebook: the lexer for code cells comes from it.
    notebook.metadata["language_info"] = dict(manager.kernel.language_info)
    number = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        number += 1
        outputs, count, error = _run_cell(client, cell.source)
        cell.outputs, cell.execution_count = outputs, count
        if error is not None:
            raise ExtensionError(
                f"{where}: code cell {number} raised {error['ename']}: {error['evalue']}\n{cell.source}"
            )
    return notebook


def read_and_run(text: str) -> Any:
    """myst-nb's reader for ``.nb.md`` notebooks: the MyST text notebook, read as myst-nb reads it, executed."""
    from myst_nb.core.read import read_myst_markdown_notebook

    notebook = read_myst_markdown_notebook(text, add_source_map=True)
    return run(notebook, os.environ.get(CURRENT_PAGE) or "a notebook")
