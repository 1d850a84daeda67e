"""Which work the build does ahead, and when: its two children, started before it reads the pages.

When the build knows which pages it will read (``env-before-read-docs``), this asks the figures
(:mod:`claims.sphinx.figure_cache`) and the notebooks (:mod:`claims.sphinx.kernel`) for their tasks,
forks a child for each (:mod:`claims.sphinx.ahead`, the side those modules wait on) and moves the pages
that wait on a child to the end of the reading order. It stands above all three, so the children's
mechanism needs to know nothing of what they do.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from . import ahead, figure_cache, kernel, speedups
from .unfinished import checkpoint


def start(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """env-before-read-docs: fork the children; read the pages that wait on them last."""
    ahead.stop(app)
    if not ahead.possible(app) or not speedups.enabled(app.config, "ahead"):
        return
    waiting: set[str] = set()
    for kind, (pages, tasks) in (
        ("figure", figure_cache.tasks_ahead(app, env, docnames)),
        ("notebook", kernel.tasks_ahead(app, env, docnames)),
    ):
        if ahead.begin(kind, tasks):
            waiting |= pages
    docnames[:] = [d for d in docnames if d not in waiting] + [d for d in docnames if d in waiting]
    checkpoint("figures")  # for the interruption tests: the children are drawing and running


def _stop_at_update(app: Sphinx, env: BuildEnvironment) -> list[str]:
    ahead.stop(app)
    return []


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-before-read-docs", start, priority=900)  # after the dependencies module notes the list
    app.connect("env-updated", _stop_at_update)
    app.connect("build-finished", ahead.stop)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
