"""The book's ``objects.inv`` as a citing site reads it: each claim shown by its title, withdrawn IDs kept.

Sphinx writes a claim (``std:claim``) with the display name "-", since the object's name is its ID; a
citing project's ``:external+book:claim:`ID``` then shows the bare ID. After Sphinx has written the
inventory (build-finished), this rewrites the claim lines: a claim's display name is its title, a renamed
ID's is its claim's title with the new ID, and each withdrawn ID is added, pointing to its tombstone, so
an old citation still resolves through intersphinx. The book's search index is left as Sphinx made it
(objects found by ID). Other lines are kept byte for byte.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from hwdb.files import write_atomic

from ..citation import permalink, read_registry
from ..registry import all_claims

#: Version 2 of Sphinx's inventory: four header lines, then zlib-compressed lines.
HEADER_LINES = 4
#: One object line: name, domain:role, priority, URI, display name (Sphinx's own parser's pattern).
LINE = re.compile(r"(.+?)\s+(\S+)\s+(-?\d+)\s+?(\S*)\s+(.*)")
CLAIM = "std:claim"


def display_names() -> dict[str, str]:
    """Each ID a citing site can name, with what a link to it should say."""
    titles = {c.id: c.title for c in all_claims()}
    registry = read_registry()
    names = dict(titles)
    for old, new in registry.aliases.items():
        if new in titles:
            names[old] = f"{titles[new]} (now {new})"
    return names


def withdrawn_lines() -> list[str]:
    """An inventory line per withdrawn ID, to its tombstone (priority -1: not an object of the book's own)."""
    return [
        f"{cid} {CLAIM} -1 {permalink(cid)} {cid} (withdrawn in release {entry['release']})"
        for cid, entry in sorted(read_registry().withdrawn.items())
    ]


def rewrite(data: bytes, names: dict[str, str], withdrawn: list[str]) -> bytes:
    """The inventory ``data`` with its claims' display names set and the withdrawn IDs added (once)."""
    lines = data.split(b"\n", HEADER_LINES)
    if len(lines) <= HEADER_LINES or not lines[0].startswith(b"# Sphinx inventory version 2"):
        raise ValueError("not a version-2 Sphinx inventory")
    head, body = b"\n".join(lines[:HEADER_LINES]) + b"\n", zlib.decompress(lines[HEADER_LINES]).decode()
    kept: list[str] = []
    claims: dict[str, str] = {}
    at = None  # where the claims stand among the other objects (Sphinx writes them sorted by domain)
    for line in body.splitlines():
        match = LINE.match(line)
        if match is None or match.group(2) != CLAIM:
            kept.append(line)
            continue
        at = len(kept) if at is None else at
        name, _, priority, uri, shown = match.groups()
        dispname = re.sub(r"\s+", " ", names.get(name, shown))
        claims[name] = f"{name} {CLAIM} {priority} {uri} {dispname}"
    for line in withdrawn:
        claims.setdefault(line.split(" ", 1)[0], line)  # an ID that is still a box keeps its box
    at = len(kept) if at is None else at
    ordered = [*kept[:at], *(claims[name] for name in sorted(claims)), *kept[at:]]
    return head + zlib.compress("".join(f"{line}\n" for line in ordered).encode(), 9)


def rewrite_inventory(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: rewrite the objects.inv the HTML builder wrote (no other builder writes one)."""
    path = Path(app.outdir) / "objects.inv"
    if exception is not None or app.builder.format != "html" or not path.exists():
        return
    write_atomic(path, rewrite(path.read_bytes(), display_names(), withdrawn_lines()))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", rewrite_inventory)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
