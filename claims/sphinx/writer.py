"""Pages written by two processes: a forked child renders some pages' HTML while the build does the rest.

Writing a page has two halves. *Resolving* it (loading its doctree, the post-transforms that resolve
references, the search index, the images to copy) must happen in the build's own process, where the
index and the image list live. *Rendering* it (the HTML translator, the theme's template, the file)
needs only the resolved doctree; on the book it costs about twice as much. So, once at least
:data:`LEAST_PAGES` pages are to be written:

1. the first pages, in Sphinx's own order, are resolved;
2. a forked child renders them (:class:`sphinx.util.parallel.ParallelTasks`, which brings the child's
   log records back to the build and turns a failure in it into the build's error);
3. meanwhile the build resolves and renders the remaining pages, then waits for the child.

How many pages go to the child (:func:`split`) is chosen so that both processes finish soonest, from
each page's costs as measured the last time it was written (kept in :data:`COSTS` beside the doctrees; a
page never measured is guessed). Sphinx's own ``-j`` splits the same halves, but into chunks, each
rendered by a fresh child while the build waits for the last, and it also reads pages in processes:
on the 2-core machine that cost more than it saved. Pages are resolved in Sphinx's order, so the search
index numbers them as a serial build does; the site is the same, byte for byte (tested). Nothing is
split without ``fork`` (other platforms), under Sphinx's own ``-j``, for a builder that writes its own
way (``singlehtml``), or with ``claims_write_in_two = False`` in ``conf.py``. A child that dies without a
word (killed) leaves its pages to the build, which renders them itself.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Sequence, Set
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders import Builder
from sphinx.util import logging
from sphinx.util.build_phase import BuildPhase
from sphinx.util.parallel import ParallelTasks

from hwdb.files import write_cache

from . import ahead, unfinished
from .children import die_with_parent

#: Below this many pages the fork costs more than it saves (a prose edit writes one or two).
LEAST_PAGES = 4

#: Where each page's last measured costs are kept: docname -> [seconds to resolve, seconds to render].
COSTS = "claims-write-costs.json"

#: A page never measured (a clean build) is guessed to cost this to resolve and to render; rendering took
#: about twice as long as resolving, page for page, on the book.
GUESS = (1.0, 2.0)

Costs = dict[str, tuple[float, float]]


def split(names: Sequence[str], costs: Costs) -> int:
    """How many of ``names`` (in order) the child renders so that both processes finish soonest: the build
    resolves those pages, then resolves and renders the rest, while the child renders them."""
    known = [c for c in (costs.get(n) for n in names) if c is not None]
    guess = (statistics.median(c[0] for c in known), statistics.median(c[1] for c in known)) if known else GUESS
    resolve = [costs.get(n, guess)[0] for n in names]
    render = [costs.get(n, guess)[1] for n in names]

    def finish(count: int) -> float:
        before_fork = sum(resolve[:count])
        return before_fork + max(sum(render[:count]), sum(resolve[count:]) + sum(render[count:]))

    return min(range(len(names) + 1), key=finish)


def _costs_path(builder: Builder) -> Path:
    return Path(builder.doctreedir) / COSTS


def _read_costs(builder: Builder) -> Costs:
    try:
        found = json.loads(_costs_path(builder).read_text(encoding="utf-8"))
        return {str(name): (float(r), float(w)) for name, (r, w) in found.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}  # none yet, or unreadable (a cache: safe to lose): every page guessed


def _resolve(builder: Builder, docname: str) -> nodes.document:
    """The build's half of writing a page (what must stay in this process)."""
    builder.phase = BuildPhase.RESOLVING
    doctree = builder.env.get_and_resolve_doctree(docname, builder, tags=builder.tags)
    builder.phase = BuildPhase.WRITING
    builder.write_doc_serialized(docname, doctree)
    return doctree


def _render(builder: Builder, pages: list[tuple[str, nodes.document]]) -> dict[str, float]:
    """The child's half: the HTML of pages already resolved; how long each took."""
    builder.phase = BuildPhase.WRITING
    took: dict[str, float] = {}
    for docname, doctree in pages:
        started = time.perf_counter()
        builder.write_doc(docname, doctree)
        took[docname] = time.perf_counter() - started
    return took


def _render_in_child(builder: Builder, parent: int, pages: list[tuple[str, nodes.document]]) -> dict[str, float]:
    die_with_parent(parent)
    return _render(builder, pages)


def write_in_two(app: Sphinx, builder: Builder, docnames: Set[str], serial: Callable[[Set[str]], None]) -> None:
    """``Builder.write_documents`` for the HTML builder: the first pages rendered by a forked child."""
    names = sorted(docnames)
    if len(names) < LEAST_PAGES:
        serial(docnames)
        return
    costs = _read_costs(builder)
    count = split(names, costs)
    if count == 0:
        serial(docnames)
        return
    resolved: dict[str, float] = {}
    rendered: dict[str, float] = {}

    def resolve(docname: str) -> nodes.document:
        started = time.perf_counter()
        doctree = _resolve(builder, docname)
        resolved[docname] = time.perf_counter() - started
        return doctree

    # As Sphinx's serial writing does: warnings held to the end, unless the first one is to stop the build.
    stops_at_warning = getattr(app, "_exception_on_warning", False)
    with nullcontext() if stops_at_warning else logging.pending_warnings():
        batch = [(docname, resolve(docname)) for docname in names[:count]]
        child = ParallelTasks(1)
        child.add_task(partial(_render_in_child, builder, os.getpid()), batch, lambda _, took: rendered.update(took))
        try:
            unfinished.checkpoint("writer")  # for the interruption tests: the child is rendering its pages
            rendered.update(_render(builder, [(docname, resolve(docname)) for docname in names[count:]]))
        except BaseException:
            child.terminate()  # the build fails on its own page: the child's work is moot
            raise
        try:
            child.join()
        except (EOFError, OSError):  # the child died without a word: its pages are written here
            rendered.update(_render(builder, batch))
    costs.update({name: (resolved[name], rendered[name]) for name in resolved if name in rendered})
    write_cache(_costs_path(builder), json.dumps(costs, sort_keys=True) + "\n")


def possible(app: Sphinx) -> bool:
    """Where the build's other children may be forked (:func:`claims.sphinx.ahead.possible`), unless turned off."""
    return bool(app.config.claims_write_in_two) and ahead.possible(app)


def install(app: Sphinx) -> None:
    """builder-inited: the HTML builder writes its pages in two processes (where it can)."""
    builder = app.builder
    stock = type(builder).write_documents is Builder.write_documents  # not singlehtml, which writes its own way
    if builder.format != "html" or not stock or not builder.allow_parallel or not possible(app):
        return
    serial = builder.write_documents

    def write_documents(docnames: Set[str]) -> None:
        write_in_two(app, builder, docnames, serial)

    builder.write_documents = write_documents  # type: ignore[method-assign]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("claims_write_in_two", True, "", bool)
    app.connect("builder-inited", install)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
