"""Sphinx configuration. Pages live in book/, output goes to _build/html.

Build with ``nox -s book`` (``sphinx-build -W -c . book _build/html``).
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

# No cycle collection while the libraries load (about a third of a second of full collections):
# claims.sphinx.collector turns it back on when the builder starts, with what was loaded frozen.
gc.disable()

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from claims import release as book_release  # noqa: E402
from claims.sphinxext import fingerprint  # noqa: E402

project = book_release.TITLE
author = book_release.PUBLISHER
copyright = f"{book_release.DATE[:4]}, {book_release.PUBLISHER}"
release = version = book_release.VERSION

# sphinx-mathjax-offline copies a bundled MathJax 3 into _static: pages make no CDN request.
extensions = ["myst_nb", "sphinx-mathjax-offline", "sphinxcontrib.bibtex", "claims.sphinxext"]

# References: one BibTeX file, cited from the chapters with {cite:p}`key`, listed in book/bibliography.md.
bibtex_bibfiles = ["book/references.bib"]  # relative to the configuration directory
bibtex_reference_style = "author_year"
bibtex_default_style = "plain"

# Any change to the code in claims/ or hwdb/ (or to a library version, or the overlays in
# force) changes this value, and rebuild="env" makes Sphinx re-read every page. An hwdb data
# edit re-reads just the pages that show what changed (claims/sphinx/dependencies.py).
claims_fingerprint = fingerprint()

myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
# The worked-example notebooks (book/notebooks/*.nb.md, MyST text notebooks) are read by
# claims.sphinx.kernel, which runs them on an in-process IPython kernel whenever their page is
# read; myst-nb only renders the outputs ("off"), and never serves them from jupyter-cache,
# whose key cannot see hwdb or claims. ".nb.md" comes before ".md" so that Sphinx strips the
# whole suffix: the page stays notebooks/NAME.
source_suffix = {".rst": "restructuredtext", ".nb.md": "myst-nb", ".md": "myst-nb"}
nb_custom_formats = {".nb.md": "claims.sphinx.kernel.read_and_run"}
nb_execution_mode = "off"
nb_execution_raise_on_error = True

exclude_patterns = ["_build"]
html_theme = "furo"
html_title = "The lecture, verified"
html_static_path = ["book/_static"]
html_last_updated_fmt = None
html_baseurl = book_release.base_url()  # $CLAIMS_BASE_URL at deployment: canonical links and every export
