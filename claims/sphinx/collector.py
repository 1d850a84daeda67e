"""Keep Python's cycle collector off what a build holds to the end.

A build holds several hundred thousand objects for its whole life: the libraries it imported (SymPy,
matplotlib, docutils, pint), hwdb, every claim's evaluation, and once the pages are read, the
environment and its doctrees. Each of CPython's full collections walks all of them, and a rebuild
spends many of them doing so: measured on the 2-core machine, about 2.1 s of a 10 s rebuild after an
accelerator edit, and 4.3 s of a 17 s clean build, went to full collections.

The book's ``conf.py`` turns collection off while the libraries load; it is turned back on when the
builder starts. The objects alive at three points are frozen (``gc.freeze``: moved where collections never look):
when the build starts (the extensions are set up), once every claim is evaluated, and once every page
is read. Full collections are also made ten times rarer while the build runs (the oldest generation's
threshold, 10 → 100). Cyclic garbage made after a freeze is still collected. The cost is that garbage
already waiting at a freeze is kept until the process ends: measured, a clean build's peak memory did
not move (262 MB either way). The threshold is put back when the build finishes; frozen objects stay
frozen, as they would if frozen in any other program, and the process exits without walking them.
"""

from __future__ import annotations

import gc
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from . import speedups

#: The oldest generation's threshold while a build runs (CPython's default is 10).
RARER_FULL_COLLECTIONS = 100


def freeze(app: Sphinx, *_: Any) -> None:
    """Take every object alive now out of later collections; on the first call, make full collections rarer
    (and turn collection on, should ``conf.py`` have turned it off). Turned off, collection is only turned on."""
    if not speedups.enabled(app.config, "collector"):
        gc.enable()
        return
    if getattr(app, "_claims_gc_thresholds", None) is None:
        gc.enable()
        thresholds = gc.get_threshold()
        app._claims_gc_thresholds = thresholds  # type: ignore[attr-defined]
        gc.set_threshold(thresholds[0], thresholds[1], max(thresholds[2], RARER_FULL_COLLECTIONS))
    gc.freeze()


def _freeze_after_reading(app: Sphinx, env: BuildEnvironment) -> list[str]:
    freeze(app)
    return []


def restore(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: the thresholds as they were before the build."""
    thresholds = getattr(app, "_claims_gc_thresholds", None)
    if thresholds is not None:
        gc.set_threshold(*thresholds)
        app._claims_gc_thresholds = None  # type: ignore[attr-defined]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", freeze, priority=100)  # before the claims are evaluated (priority 500)
    app.connect("builder-inited", freeze, priority=900)  # and after
    app.connect("env-updated", _freeze_after_reading)
    app.connect("build-finished", restore, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
