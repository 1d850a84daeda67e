"""The registry of published claim IDs, ``claims/ids.toml``: every ID ever published, renames, withdrawals.

An ID is never reused: a renamed claim leaves an alias, a withdrawn one an entry saying why and in which
release. The registry is read here and checked against the code and the release history in
:mod:`claims.citation`; the history and the claim lookup read it too, so it stands below them all.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .versioning import parse_number

IDS_FILE = Path(__file__).resolve().parent / "ids.toml"


@dataclass(frozen=True)
class IdRegistry:
    ids: dict[str, dict[str, str]]
    aliases: dict[str, str]
    #: Claims taken out of the book, each with why and in which release: their IDs still resolve, to a
    #: page that says so, and are never reused.
    withdrawn: dict[str, dict[str, str]]


def read_registry(path: Path | None = None) -> IdRegistry:
    """The registry as the file says now (parsed once per file content, copied per call)."""
    path = path or IDS_FILE
    data = _parse_registry(path, path.read_bytes())
    withdrawn = data.get("withdrawn", {})
    for cid, entry in withdrawn.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: withdrawn claim '{cid}' must be a table with reason and release")
        missing = [key for key in ("reason", "release") if not isinstance(entry.get(key), str) or not entry[key]]
        if missing:
            raise ValueError(f"{path}: withdrawn claim '{cid}' needs {' and '.join(missing)} (text)")
        if parse_number(entry["release"]) is None:
            raise ValueError(
                f"{path}: withdrawn claim '{cid}': release must be the version that removed it, such as "
                f"0.5.0, not {entry['release']!r}"
            )
    return IdRegistry({k: dict(v) for k, v in data.get("ids", {}).items()}, dict(data.get("aliases", {})), withdrawn)


@lru_cache(maxsize=8)
def _parse_registry(path: Path, content: bytes) -> dict[str, Any]:
    return tomllib.loads(content.decode("utf-8"))
