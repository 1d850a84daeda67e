"""Parsed TOML kept by content, so a fresh process skips tomllib's parser for files it has seen before.

Python's ``tomllib`` is pure Python, and parsing hwdb's 160-odd files was a third of loading the
database in a fresh ``python -m claims verify``. What a parse returns depends only on the file's
bytes and the Python version, so the table maps the SHA-256 of a file's bytes to the pickled result;
an edited file has another digest and is parsed afresh, as is every file the table does not hold.
A parse error is never kept: a malformed file fails the same way every time.

Where: the user cache the claims' derivation cache uses (``$CLAIMS_CACHE_DIR``, else
``$XDG_CACHE_HOME/claims``, else ``~/.cache/claims``), in one file per Python version.
``CLAIMS_CACHE_DIR=off`` turns it off. A table that is unreadable or does not match its own hash is
ignored with a note on stderr; one that cannot be written only costs time.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import pickle
import platform
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from .files import framed, unframed, write_atomic

ENV_VAR = "CLAIMS_CACHE_DIR"
FORMAT = b"hwdb-parsed-toml 1\n"
LIMIT = 4096  # entries kept; beyond it, those this process did not use are dropped first


def cache_root() -> Path | None:
    """The user cache folder for hwdb and the claims, or None when ``$CLAIMS_CACHE_DIR`` is ``off``."""
    chosen = os.environ.get(ENV_VAR, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "claims"


class _Table:
    """The digest -> pickled parse table of one cache file, read once per process, written at exit if it grew."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[bytes, bytes] = {}
        self.used: set[bytes] = set()
        self.grew = False
        if path is None:
            return
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            self._note(f"cannot read it ({exc})")
            return
        try:
            payload = unframed(FORMAT, data, "parsed-TOML table")
        except ValueError as exc:
            self._note(str(exc))
            return
        try:
            entries = pickle.loads(payload)
        except Exception as exc:  # any unpickling failure means the same: do not use it
            self._note(f"it does not unpickle ({type(exc).__name__})")
            return
        if isinstance(entries, dict):
            self.entries = entries

    def _note(self, why: str) -> None:
        print(f"note: parsed-TOML cache: ignoring {self.path}: {why}; parsing every file", file=sys.stderr)

    def save(self) -> None:
        if not self.grew or self.path is None:
            return
        kept = self.entries
        if len(kept) > LIMIT:
            kept = {k: v for k, v in kept.items() if k in self.used}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(self.path, framed(FORMAT, pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)))
        except OSError:
            return  # an unwritable cache only costs time


@cache
def _table() -> _Table:
    root = cache_root()
    if root is None:
        return _Table(None)
    table = _Table(root / "toml" / f"python-{platform.python_version()}.pickle")
    atexit.register(table.save)
    return table


def parse(data: bytes) -> dict[str, Any]:
    """The TOML document in ``data`` (UTF-8), from the table when these exact bytes were parsed before.

    Raises what ``tomllib`` raises: :class:`tomllib.TOMLDecodeError`, or :class:`UnicodeDecodeError`.
    Each call returns a fresh object, so a caller may change what it gets.
    """
    table = _table()
    if table.path is None:
        return tomllib.loads(data.decode("utf-8"))
    digest = hashlib.sha256(data).digest()
    table.used.add(digest)
    kept = table.entries.get(digest)
    if kept is not None:
        parsed: dict[str, Any] = pickle.loads(kept)
        return parsed
    parsed = tomllib.loads(data.decode("utf-8"))
    table.entries[digest] = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
    table.grew = True
    return parsed
