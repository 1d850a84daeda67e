"""Parsed TOML kept by content, so a fresh process skips tomllib's parser for files it has seen before.

Python's ``tomllib`` is pure Python, and parsing hwdb's 160-odd files was a third of loading the
database in a fresh ``python -m claims verify``. What a parse returns depends only on the file's
bytes and the Python version, so the table maps the SHA-256 of a file's bytes to the pickled result;
an edited file has another digest and is parsed afresh, as is every file the table does not hold.
A parse error is never kept: a malformed file fails the same way every time.

Where: the user cache the claims' derivation cache uses (``$CLAIMS_CACHE_DIR``, else
``$XDG_CACHE_HOME/claims``, else ``~/.cache/claims``), in one file per Python version.
``CLAIMS_CACHE_DIR=off`` turns it off. A table that is unreadable or does not match its own hash is
ignored with a note on stderr (so is a folder or a special file in its place); one that cannot be
written only costs time.

Pruned by age and size: each entry keeps the day it was last used, and the table is rewritten
without entries unused for :data:`MAX_AGE_DAYS`, and, past :data:`MAX_BYTES`, without the
least recently used of the entries this process did not use. A file deleted from hwdb, or a large
one parsed once, so costs nothing a month later, nor more than the budget meanwhile.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import pickle
import platform
import sys
import time
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from .files import SpecialFileError, framed, read_regular, unframed, write_atomic

ENV_VAR = "CLAIMS_CACHE_DIR"
FORMAT = b"hwdb-parsed-toml 2\n"
FAMILY = b"hwdb-parsed-toml "  # earlier formats start so: replaced without a note
LIMIT = 4096  # entries kept at most
MAX_AGE_DAYS = 30  # an entry no process has used for this long is dropped
MAX_BYTES = 8 * 1024 * 1024  # pickled entries kept at most, the entries this process used always among them
MAX_ENTRY = 2 * 1024 * 1024  # a parse larger than this is not kept: hwdb's files are a few kilobytes
READ_LIMIT = 2 * MAX_BYTES  # a table file larger than this is not read


def cache_root() -> Path | None:
    """The user cache folder for hwdb and the claims, or None when ``$CLAIMS_CACHE_DIR`` is ``off``."""
    chosen = os.environ.get(ENV_VAR, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "claims"


def _today() -> int:
    """Days since the epoch: an entry's age is kept to the day, so a used entry is re-stamped once a day."""
    return int(time.time() // 86400)


class _Table:
    """The digest -> (day last used, pickled parse) table of one cache file, read once per process,
    written at exit if it grew, has entries to prune, or has entries to re-stamp."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[bytes, tuple[int, bytes]] = {}
        self.used: set[bytes] = set()
        self.grew = False
        if path is None:
            return
        try:
            data = read_regular(path, READ_LIMIT)
        except FileNotFoundError:
            return
        except SpecialFileError as exc:
            self._note(f"it {exc}")
            return
        except OSError as exc:
            self._note(f"cannot read it ({exc.strerror or exc})")
            return
        if data.startswith(FAMILY) and not data.startswith(FORMAT):
            return  # another version's table: this one starts afresh and replaces it
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
        if isinstance(entries, dict) and all(
            isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], int) and isinstance(v[1], bytes)
            for v in entries.values()
        ):
            self.entries = entries

    def _note(self, why: str) -> None:
        print(f"note: parsed-TOML cache: ignoring {self.path}: {why}; parsing every file", file=sys.stderr)

    def kept(self, today: int) -> dict[bytes, tuple[int, bytes]]:
        """The entries to keep: every one used now (stamped today), then the most recently used of the rest
        that are younger than :data:`MAX_AGE_DAYS`, while the total stays within :data:`MAX_BYTES` and
        :data:`LIMIT` entries."""
        used = {k: (today, v[1]) for k, v in self.entries.items() if k in self.used}
        size = sum(len(v[1]) for v in used.values())
        rest = sorted(
            ((k, v) for k, v in self.entries.items() if k not in self.used and today - v[0] < MAX_AGE_DAYS),
            key=lambda item: -item[1][0],
        )
        kept = dict(used)
        for key, (day, pickled) in rest:
            if size + len(pickled) > MAX_BYTES or len(kept) >= LIMIT:
                break
            kept[key] = (day, pickled)
            size += len(pickled)
        return kept

    def stale(self, today: int) -> bool:
        """Whether writing the table would change it beyond a day's stamps: it grew, a used entry was last
        stamped on another day, or an entry is due to be pruned."""
        if self.grew:
            return True
        if any(self.entries[k][0] != today for k in self.used if k in self.entries):
            return True
        return len(self.kept(today)) != len(self.entries)

    def save(self) -> None:
        if self.path is None:
            return
        today = _today()
        if not self.stale(today):
            return
        kept = self.kept(today)
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
    kept = table.entries.get(digest)
    if kept is not None:
        table.used.add(digest)
        parsed: dict[str, Any] = pickle.loads(kept[1])
        return parsed
    parsed = tomllib.loads(data.decode("utf-8"))
    pickled = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
    if len(pickled) <= MAX_ENTRY:
        table.entries[digest] = (_today(), pickled)
        table.used.add(digest)
        table.grew = True
    return parsed
