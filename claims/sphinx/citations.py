"""Citations that resolve without searching the installed packages each time.

sphinxcontrib-bibtex resolves every ``{cite}`` reference through pybtex's plain-text backend, and pybtex
finds that backend anew each time by scanning every installed package's entry points: about 3 ms a
citation, a tenth of a second for the pages a model edit re-reads. The backend is looked up once here
and registered with pybtex's own ``register_plugin``, which pybtex consults before the entry points;
it is the same class the scan finds.
"""

from __future__ import annotations

from typing import Any

from pybtex.plugin import find_plugin, register_plugin
from sphinx.application import Sphinx

#: The one plugin sphinxcontrib-bibtex looks up for every citation it resolves.
PLAINTEXT_BACKEND = ("pybtex.backends", "plaintext")


def setup(app: Sphinx) -> dict[str, Any]:
    group, name = PLAINTEXT_BACKEND
    register_plugin(group, name, find_plugin(group, name), force=True)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
