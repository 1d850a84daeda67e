"""One way to write a file: whole or not at all.

Every command that writes (the lock, the ID registry, exports, benchmark results,
measurement overlays) goes through :func:`write_atomic`: the text goes to a temporary
file in the same folder, is flushed to disk, and only then renamed over the target. A
full disk, a crash or an interrupt leaves the old file whole; a reader never sees half
of the new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8), atomically.

    The new file keeps the old one's permissions, or gets the usual ones for a new file.
    Raises the underlying ``OSError`` (disk full, read-only folder) with the target named;
    the target is then untouched and no temporary file is left behind.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)
        raise


def reader_gone() -> int:
    """What a command does when its reader left early (``| head``): stop quietly, exit 0.

    Standard output is pointed at the null device so the interpreter's last flush finds
    nowhere to fail either.
    """
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def readable_anywhere() -> None:
    """Let output with ×, ≈ and µ reach a terminal that cannot show them: escaped, not a crash."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


def framed(format_line: bytes, payload: bytes) -> bytes:
    """A cache file's bytes: its format line, the SHA-256 of the payload, the payload."""
    return format_line + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def unframed(format_line: bytes, data: bytes, what: str = "file") -> bytes:
    """The payload of :func:`framed` bytes; ``ValueError`` saying why when they cannot be trusted."""
    if not data.startswith(format_line):
        raise ValueError(f"not a {what} of this format")
    digest, _, payload = data[len(format_line) :].partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        raise ValueError("its content does not match its SHA-256")
    return payload
