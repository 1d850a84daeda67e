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

When the build knows which pages it will read, their notebooks are run ahead, in a forked child
(:mod:`claims.sphinx.ahead`), while it reads the other pages: each executed notebook, and the trace of
the evaluations it ran, is kept by the hash of its text, and :func:`read_and_run` takes it from there
(after waiting for the child, if it is still running it). A notebook the child could not run is run
here, and its error reported as before.

Each notebook starts from an empty namespace and execution count 1. Modules stay imported
between notebooks, as they are in the build: a notebook must not change the ``claims`` or
``hwdb`` modules it imports (ours do not). A cell that raises stops the build with the notebook,
the cell and the error, as myst-nb's ``nb_execution_raise_on_error`` did.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from functools import cache, partial
from pathlib import Path
from typing import Any

import nbformat
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError

from hwdb.files import write_cache

from ..scenario import TRACE_ENV
from . import ahead

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
    environment = dict(os.environ)
    manager.start_kernel()  # type: ignore[no-untyped-call]
    # ipykernel sets FORCE_COLOR, CLICOLOR, TERM and pagers for a terminal it assumes; this process is a build
    # (or a test run) whose other children must not inherit them (coloured Sphinx output, for one)
    os.environ.clear()
    os.environ.update(environment)
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
    for index, cell in enumerate(notebook.cells):
        # nbformat gives each cell a random ID; one from its place and text makes the download the same
        # from build to build, so an interrupted build followed by another equals a clean one file by file
        if "id" in cell:
            cell.id = hashlib.sha256(f"{index}:{cell.cell_type}:{cell.source}".encode()).hexdigest()[:8]
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


def _execute(text: str, where: str) -> Any:
    """The MyST text notebook, read as myst-nb reads it, executed."""
    from myst_nb.core.read import read_myst_markdown_notebook

    notebook = read_myst_markdown_notebook(text, add_source_map=True)
    return run(notebook, where)


def read_and_run(text: str) -> Any:
    """myst-nb's reader for ``.nb.md`` notebooks: the notebook executed (here, or ahead by the child)."""
    kept = _take_kept(text)
    return kept if kept is not None else _execute(text, os.environ.get(CURRENT_PAGE) or "a notebook")


# ---------------------------------------------------------------- running ahead

#: Where this build's child keeps the notebooks it ran (None: nothing is run ahead).
_kept_in: Path | None = None


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _run_and_keep(text: str, where: str, folder: Path) -> None:
    """In the child: run the notebook, noting its evaluations as the page would, and keep both."""
    key = _key(text)
    os.environ[TRACE_ENV] = str(folder / f"{key}.trace")
    os.environ[CURRENT_PAGE] = where
    notebook = _execute(text, where)
    write_cache(folder / f"{key}.ipynb", nbformat.writes(notebook))  # type: ignore[no-untyped-call]


def _take_kept(text: str) -> Any:
    """The notebook the child ran for this text, its evaluations added to the page's trace; None if none."""
    if _kept_in is None or not ahead.active("notebook"):
        return None
    key = _key(text)
    ahead.wait_for("notebook", key)
    kept, trace = _kept_in / f"{key}.ipynb", _kept_in / f"{key}.trace"
    try:
        notebook = nbformat.reads(kept.read_text(encoding="utf-8"), as_version=4)  # type: ignore[no-untyped-call]
        traced = trace.read_text(encoding="utf-8") if trace.exists() else ""
    except (OSError, ValueError):
        return None  # not run ahead, or not finished: run it here
    page_trace = os.environ.get(TRACE_ENV)
    if page_trace and traced:
        with open(page_trace, "a", encoding="utf-8") as out:
            out.write(traced)
    kept.unlink()
    trace.unlink(missing_ok=True)
    return notebook


def tasks_ahead(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> tuple[set[str], list[ahead.Task]]:
    """The notebooks of the pages about to be read, as tasks for a child, and those pages."""
    global _kept_in
    folder = Path(app.doctreedir) / "claims-notebooks-ahead"
    shutil.rmtree(folder, ignore_errors=True)
    _kept_in = None
    pages: set[str] = set()
    tasks: list[ahead.Task] = []
    for docname in docnames:
        path = str(env.doc2path(docname))
        text = ahead.source_of(env, docname) if path.endswith(".nb.md") else None
        if text is None:
            continue
        pages.add(docname)
        tasks.append((_key(text), partial(_run_and_keep, text, path, folder)))
    if tasks:
        folder.mkdir(parents=True, exist_ok=True)
        _kept_in = folder
    return pages, tasks
