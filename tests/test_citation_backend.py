"""claims.sphinx.citations registers pybtex's plain-text backend once, so citations resolve without a scan
of every installed package; what a lookup returns is unchanged."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from pybtex.plugin import find_plugin

from claims.sphinx import citations


def test_the_registered_backend_is_the_one_the_entry_point_names() -> None:
    group, name = citations.PLAINTEXT_BACKEND
    (entry,) = entry_points(group=group, name=name)
    app: Any = None  # setup does not use the application
    citations.setup(app)
    assert find_plugin(group, name) is entry.load()
