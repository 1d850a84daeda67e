"""A build's figures: kept beside the doctrees with what they read, and drawn ahead in a second process.

**Kept.** A figure's cache entry holds its SVG, a hash of the code that draws it
(:func:`_code_of_drawing`), and each hwdb key and claim the drawing read with its digest. It is served only
while all of them are unchanged, and its reads are then noted for the page as if it had been drawn:
a prose edit redraws nothing, and a data edit redraws exactly the figures that show the data. The
entries live beside the doctrees; a figure with no entry there is looked for in the user-wide store
(:mod:`claims.sphinx.figure_store`, the ``store`` speed-up) before it is drawn.

**Drawn ahead.** The out-of-date figures of the pages a build is about to read are drawn by a forked
child (:mod:`claims.sphinx.ahead`), each kept exactly as the page would keep it; a page that shows one
waits for the child to finish it, then serves it from the cache like any other. If the child failed on
a figure, the page draws it itself, so an error is reported where it always was.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable
from functools import cache, partial
from importlib.metadata import version
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from hwdb.files import write_cache

from .. import derivation_cache
from ..figures import FIGURES
from ..sphinxnodes import build_state
from . import ahead, dependencies, figure_store

#: ``{claim-figure} NAME`` (MyST) or ``.. claim-figure:: NAME`` (reST) in a page's source.
FIGURE_IN_SOURCE = re.compile(r"(?:\{claim-figure\}|\.\. claim-figure::)[ \t]+([\w.-]+)")


def drawing(app: Sphinx, name: str) -> Callable[[], str] | None:
    """The function that draws figure ``name`` from this build's data; None if the build cannot draw it
    (an unknown figure, or the claims it shows were not evaluated)."""
    state = build_state(app)
    spec = FIGURES.get(name)
    # Whether the build has the claims is not what the figure shows: asked of the plain dict, noting nothing.
    if spec is None or state.db is None or any(not dict.__contains__(state.evaluations, c) for c in spec.claims):
        return None
    db, evaluations = state.db, state.evaluations
    recorder = dependencies.tracking(app).recorder
    return lambda: spec.render(db, dependencies.reference_views(evaluations, recorder))


def _entry_path(app: Sphinx, name: str) -> Path:
    return Path(app.doctreedir) / "claim-figures" / f"{name}.json"


@cache
def _code_of_drawing() -> str:
    """What a figure is drawn by besides the data it reads: the Python of claims/ and hwdb/ outside the Sphinx
    adapter, hwdb's unit definitions and the libraries (the derivation cache's key); the adapter's modules that
    draw a figure, keep it and note what it read (:func:`figure_path`); the registry of claim IDs, matplotlib's
    version and Python's. Not ``claims_fingerprint``: the release history, the locks and the statement table
    are in that and no figure shows them, so a pin re-reads every page but redraws no figure. Nor the rest of
    the adapter: an edit to how a page shows a box or a chip redraws nothing."""
    digest = hashlib.sha256(f"{derivation_cache.key()}\0{version('matplotlib')}\0{sys.version}\0".encode())
    derivation_cache.code_digest(digest, figure_path())
    digest.update((derivation_cache.PACKAGE_DIR / "ids.toml").read_bytes())
    return digest.hexdigest()


def figure_path() -> list[Path]:
    """This module and every module of the Sphinx adapter it imports, directly or through another (read from
    their import statements, function-level ones too): the adapter code a kept figure depends on."""
    found, todo = set(), [derivation_cache.PACKAGE_DIR / "sphinx" / "figure_cache.py"]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.add(path)
        todo += [p for p in imported_files(path) if derivation_cache.in_sphinx_adapter(p)]
    return sorted(found)


def imported_files(path: Path) -> list[Path]:
    """The files of the ``claims`` package that a module's import statements name (relative or absolute)."""
    package = path.parent
    root = derivation_cache.PACKAGE_DIR
    named: list[Path] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.parents[node.level - 2] if node.level > 1 else package
            elif (node.module or "").split(".")[0] == "claims":
                base = root.parent
            else:
                continue
            module = base.joinpath(*(node.module or "").split(".")) if node.module else base
            named += [module, *(module / alias.name for alias in node.names)]
        elif isinstance(node, ast.Import):
            named += [root.parent.joinpath(*a.name.split(".")) for a in node.names if a.name.startswith("claims.")]
    files = [n.with_suffix(".py") for n in named] + [n / "__init__.py" for n in named]
    return [f for f in files if f.is_file()]


def _current(app: Sphinx, name: str) -> tuple[str, list[dependencies.Key]] | None:
    """The kept SVG and the keys it read, if the entry is still what drawing now would give: this build
    folder's, else the store's (:mod:`claims.sphinx.figure_store`), then kept here too."""
    digests = dependencies.tracking(app).digests
    if digests is None:
        return None
    code = _code_of_drawing()
    try:
        entry = json.loads(_entry_path(app, name).read_text(encoding="utf-8"))
        reads = [(tuple(key), digest) for key, digest in entry["reads"]]
        if entry["code"] == code and all(digests.of(k) == d for k, d in reads):
            return str(entry["svg"]), [k for k, _ in reads]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no usable entry
    stored = figure_store.find(code, name, digests.of) if figure_store.in_use(app) else None
    if stored is not None:
        svg, keys = stored
        _write_entry(app, name, [[list(k), digests.of(k)] for k in keys], svg)
    return stored


def _write_entry(app: Sphinx, name: str, reads: list[list[object]], svg: str) -> None:
    write_cache(_entry_path(app, name), json.dumps({"code": _code_of_drawing(), "reads": reads, "svg": svg}))


def _draw_and_keep(app: Sphinx, name: str, draw: Callable[[], str]) -> tuple[str, set[dependencies.Key]]:
    """Draw the figure, noting what it reads, and keep it (unless the build's digests are unknown)."""
    tracked = dependencies.tracking(app)
    with tracked.recorder.capture() as keys:
        svg = draw()
    if tracked.digests is not None:
        reads = [(k, tracked.digests.of(k)) for k in sorted(keys)]
        _write_entry(app, name, [[list(k), d] for k, d in reads], svg)
        if figure_store.in_use(app):
            figure_store.keep(_code_of_drawing(), name, reads, svg)
    return svg, keys


def figure_svg(app: Sphinx, name: str, draw: Callable[[], str]) -> str:
    """The figure's SVG for the page being read: kept (once the child has drawn it), or drawn now."""
    ahead.wait_for("figure", name)
    recorder = dependencies.tracking(app).recorder
    kept = _current(app, name)
    if kept is not None:
        svg, keys = kept
        recorder.replay(keys)
        return svg
    svg, drawn_keys = _draw_and_keep(app, name, draw)
    recorder.replay(drawn_keys)
    return svg


# ---------------------------------------------------------------- drawing ahead


def _figures_shown(env: BuildEnvironment, docnames: Iterable[str]) -> dict[str, list[str]]:
    """The figures these pages' sources show, each with the pages that show it, in reading order."""
    shown: dict[str, list[str]] = {}
    for docname in docnames:
        for match in FIGURE_IN_SOURCE.finditer(ahead.source_of(env, docname) or ""):
            pages = shown.setdefault(match.group(1), [])
            if docname not in pages:
                pages.append(docname)
    return shown


def tasks_ahead(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> tuple[set[str], list[ahead.Task]]:
    """The out-of-date figures of the pages about to be read, as tasks for a child, and the pages that show them."""
    if dependencies.tracking(app).digests is None:
        return set(), []
    pages: set[str] = set()
    tasks: list[ahead.Task] = []
    for name, shown_on in _figures_shown(env, docnames).items():
        draw = drawing(app, name)
        if draw is not None and _current(app, name) is None:
            tasks.append((name, partial(_draw_and_keep, app, name, draw)))
            pages.update(shown_on)
    return pages, tasks
