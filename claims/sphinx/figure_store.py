"""Figures kept across builds and checkouts, by what they show: a clean build draws only what no build drew.

Drawing the book's figures is about half of what a clean build costs, and the figures a build's own cache
(:mod:`claims.sphinx.figure_cache`, beside the doctrees) keeps go when ``_build`` does. This store keeps
them in the user cache the derivations use (``$CLAIMS_CACHE_DIR``, see :mod:`hwdb.parsed`), under the
same rule as that cache: an entry is served only while the code that draws it (the Python of claims/ and
hwdb/, the unit definitions, the ID registry and the libraries' versions) and the digest of every hwdb key
and claim the drawing read are what they were when it was drawn. A copy of the repository, a branch
switched back, or a clean build after ``rm -rf _build`` then serves a figure instead of drawing it again.

Layout: ``figures/CODE/NAME/`` holds ``keys-K.json`` (the keys one drawing read, sorted; K hashes them)
and, per set of their digests D, ``K-D.svg.z`` (the SVG, compressed and framed with its SHA-256). A
lookup reads each key list (usually one), hashes the keys' digests now, and opens that one file. An
unreadable or damaged entry is a miss; an unwritable store only costs the drawing.

It is the ``store`` speed-up (:mod:`claims.sphinx.speedups`): the stale-build tests turn it off for the
clean builds they compare with, so those draw every figure themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from hwdb.files import framed, unframed, write_cache
from hwdb.parsed import cache_root

from . import speedups
from .digests import Key

FORMAT = b"claims-figure-store 1\n"
#: Drawings kept per figure, and code versions kept in all (older ones are other checkouts or past edits).
KEEP_DRAWINGS = 16
KEEP_CODES = 8


def in_use(app: Sphinx) -> bool:
    return speedups.enabled(app.config, "store") and cache_root() is not None


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _folder(code: str, name: str) -> Path | None:
    root = cache_root()
    return None if root is None else root / "figures" / code[:32] / name


def find(code: str, name: str, digest_of: Callable[[Key], str]) -> tuple[str, list[Key]] | None:
    """The kept SVG of figure ``name`` whose reads have today's digests, and those keys; None if none."""
    folder = _folder(code, name)
    if folder is None:
        return None
    try:
        listings = sorted(folder.glob("keys-*.json"))
    except OSError:
        return None
    for listing in listings:
        try:
            keys = [tuple(k) for k in json.loads(listing.read_text(encoding="utf-8"))]
            drawn = (
                folder / f"{listing.stem.removeprefix('keys-')}-{_hash(json.dumps([digest_of(k) for k in keys]))}.svg.z"
            )
            if not drawn.exists():
                continue
            svg = zlib.decompress(unframed(FORMAT, drawn.read_bytes(), "figure")).decode()
        except (OSError, ValueError, TypeError, zlib.error, UnicodeDecodeError):
            continue  # a damaged entry is a miss
        _touch(folder.parent)
        return svg, keys
    return None


def _touch(code_folder: Path) -> None:
    """Mark a code version used now: pruning keeps the versions used last, not the ones made last."""
    with contextlib.suppress(OSError):
        os.utime(code_folder)


def keep(code: str, name: str, reads: Sequence[tuple[Key, str]], svg: str) -> None:
    """Keep a drawing of figure ``name`` with the keys it read and their digests (if the store can be written)."""
    folder = _folder(code, name)
    if folder is None:
        return
    keys: list[Any] = [list(k) for k, _ in reads]
    listing = json.dumps(keys)
    key_hash = _hash(listing)
    fresh_code = not folder.parent.exists()
    if not write_cache(folder / f"keys-{key_hash}.json", listing):
        return
    drawn = folder / f"{key_hash}-{_hash(json.dumps([d for _, d in reads]))}.svg.z"
    write_cache(drawn, framed(FORMAT, zlib.compress(svg.encode(), 6)))
    _prune(sorted(folder.glob("*.svg.z"), key=_age), KEEP_DRAWINGS, Path.unlink)
    _touch(folder.parent)
    if fresh_code:
        codes = [p for p in folder.parent.parent.iterdir() if p.is_dir() and p != folder.parent]
        _prune(sorted(codes, key=_age), KEEP_CODES - 1, lambda p: shutil.rmtree(p, ignore_errors=True))


def _age(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _prune(oldest_first: list[Path], keep_at_most: int, remove: Callable[[Path], None]) -> None:
    for path in oldest_first[: max(0, len(oldest_first) - keep_at_most)]:
        with contextlib.suppress(OSError):  # another build pruned it first
            remove(path)


def setup(app: Sphinx) -> dict[str, Any]:
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
