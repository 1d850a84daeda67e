"""Sphinx adapter: the worked-example notebooks, runnable here and downloadable as .ipynb.

The notebooks are MyST text notebooks (``book/notebooks/*.nb.md``); :mod:`claims.sphinx.kernel`
runs each one whenever its page is read, in the build's process and so on the checkout being
built, and myst-nb writes each executed notebook to its output folder. This module gives a page
a download link (``{notebook-download}``), and at the end of a build copies each linked
notebook beside its HTML page, where the link points.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .kernel import CURRENT_PAGE

logger = logging.getLogger(__name__)

#: Where in the build environment the pages that offer a download are listed.
ENV_KEY = "claims_notebook_downloads"


def _downloads(env: BuildEnvironment) -> set[str]:
    if not hasattr(env, ENV_KEY):
        setattr(env, ENV_KEY, set())
    found: set[str] = getattr(env, ENV_KEY)
    return found


class NotebookDownloadDirective(SphinxDirective):
    """``notebook-download``: a link to this page as an executed Jupyter notebook."""

    def run(self) -> list[nodes.Node]:
        if self.env.docname not in self.env.metadata or "kernelspec" not in self.env.metadata[self.env.docname]:
            logger.error(
                "notebook-download belongs on a notebook page (front matter with a kernelspec)",
                location=self.get_location(),
            )
            return []
        _downloads(self.env).add(self.env.docname)
        name = self.env.docname.rsplit("/", 1)[-1] + ".ipynb"
        link = (
            f'<p class="notebook-download"><a class="reference download" href="{name}" download>'
            f"Download this notebook ({name})</a>: it runs in Jupyter with this book's <code>claims</code> "
            "package importable.</p>\n"
        )
        return [nodes.raw("", link, format="html")]


def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _downloads(env).discard(docname)


def merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    _downloads(env).update(_downloads(other) & docnames)


def copy_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: put each executed notebook beside its page, where its download link points."""
    if exception is not None or app.builder.format != "html":
        return
    executed = Path(app.env.mystnb_config.output_folder)  # type: ignore[attr-defined]
    for docname in sorted(_downloads(app.env)):
        source = executed / f"{docname}.ipynb"
        if not source.is_file():
            logger.error(f"{docname}: no executed notebook at {source} to offer for download")
            app.statuscode = 1
            continue
        target = Path(app.outdir) / f"{docname}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def name_the_page(app: Sphinx, docname: str, source: list[str]) -> None:
    """source-read: tell the in-process kernel which page it is about to run, for its error messages."""
    os.environ[CURRENT_PAGE] = str(app.env.doc2path(docname))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("notebook-download", NotebookDownloadDirective)
    app.connect("source-read", name_the_page)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("build-finished", copy_notebooks)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
