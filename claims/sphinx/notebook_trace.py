"""A notebook page's dependencies: the evaluations its kernel ran, traced while the page is read.

A notebook page's code runs through ``claims.evaluate``, which notes each evaluation (claim and
options) in a trace file while the page is read. The page depends on each one as a
``("scenario", …)`` key, whose digest replays it on each build's data
(:func:`claims.sphinx.digests.replayed`). A notebook whose code reads data any other way
(:data:`UNTRACED_READS`) or evaluates on a database of its own depends on everything.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from ..scenario import TRACE_ENV
from .tracked import record, table, tracking


def _is_notebook(env: BuildEnvironment, docname: str) -> bool:
    return "kernelspec" in env.metadata.get(docname, {}) or str(env.doc2path(docname)).endswith(".ipynb")


def _trace_file(app: Sphinx, docname: str) -> Path:
    return Path(app.doctreedir) / "claims-traces" / (docname.replace("/", "--") + ".jsonl")


def notebook_source(app: Sphinx, docname: str, source: list[str]) -> None:
    """source-read: a notebook page's kernel (run while this page is parsed, in this process) writes to the
    file to which ``claims.scenario`` notes every evaluation it runs; code that reads data some other way
    is noted here, from the page's text, for :func:`notebook_read`."""
    os.environ.pop(TRACE_ENV, None)
    untraced = tracking(app).untraced
    untraced.discard(docname)
    text = source[0]
    if "kernelspec" in text[:4000]:
        cells = [m.group(2) for m in CODE_CELL.finditer(text)] if "{code-cell}" in text else [text]  # or .ipynb
        if any(word in cell for cell in cells for word in UNTRACED_READS):
            untraced.add(docname)
        path = _trace_file(app, docname)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        os.environ[TRACE_ENV] = str(path)


def _traced(path: Path) -> list[str] | None:
    """The evaluations a kernel ran, each as the JSON the build replays; None if that cannot be told."""
    try:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not lines or any(line["broad"] for line in lines):
            return None
        specs = {
            json.dumps({"claim": str(line["claim"]), "options": dict(line["options"])}, sort_keys=True)
            for line in lines
        }
        return sorted(specs)
    except (OSError, ValueError, KeyError, TypeError):
        return None


#: Words in a notebook's source that mean its kernel may read data other than through a traced
#: evaluation: the page then depends on everything.
UNTRACED_READS = ("hwdb", "evaluate_all", "open(", "Path(", ".fields", ".evaluation", "claims.step(", "published")
CODE_CELL = re.compile(r"^(`{3,})\{code-cell\}[^\n]*\n(.*?)^\1", re.M | re.S)


def notebook_read(app: Sphinx, doctree: Any) -> None:
    """doctree-read: a notebook page depends on what its kernel's evaluations showed, replayed on the next
    build's data; on everything if that cannot be told (no trace, a database of its own, or code that reads
    data some other way)."""
    env = app.env
    docname = env.docname
    path = os.environ.pop(TRACE_ENV, None)
    if not _is_notebook(env, docname):
        return
    specs = _traced(Path(path)) if path else None
    if specs is None or docname in tracking(app).untraced:
        record(env, docname, everything=True)
        return
    entry = table(env).setdefault(docname, {})
    for spec in specs:
        entry[("scenario", spec)] = ""
