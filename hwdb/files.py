"""One way to write a file: whole or not at all; one way to read one: a regular file, of bounded size.

Every command that writes (the lock, the ID registry, exports, benchmark results,
measurement overlays) goes through :func:`write_atomic`: the text goes to a temporary
file in the same folder, is flushed to disk, and only then renamed over the target. A
full disk, a crash or an interrupt leaves the old file whole; a reader never sees half
of the new one.

Every data file, overlay and cache hwdb reads goes through :func:`read_regular`: a FIFO, a device
such as ``/dev/zero`` or a pipe (``<(…)``) would block the reader for ever or fill memory, so it is
refused by name before a byte is read, and a regular file larger than hwdb's files ever are is refused
without being read whole.

Every message and export names a file by :func:`display_path`: relative to the repository when it lies in it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

#: The folder that holds ``hwdb/`` (the repository, or an installed package's site folder).
REPO_ROOT = Path(__file__).resolve().parent.parent


def display_path(path: Path) -> str:
    """A path relative to the repository root where possible (for messages and exports)."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except (ValueError, OSError, RuntimeError):  # outside the repository, or a symlink loop
        return str(path)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8), atomically.

    The new file keeps the old one's permissions, or gets the usual ones for a new file. Only a regular
    file is replaced: a FIFO, a device (``/dev/null``, as root) or a folder is refused with its path.
    Raises the underlying ``OSError`` (disk full, read-only folder) with the target named;
    the target is then untouched and no temporary file is left behind.
    """
    write_together({path: data})


def write_together(files: Mapping[Path, str | bytes]) -> None:
    """Replace several files so that a failure while writing leaves every one of them as it was.

    Every new content is first written beside its target and flushed to disk; only then are the
    temporary files renamed over their targets, in order. A full disk or a failing ``fsync`` therefore
    stops the whole set before any target changes (a rename within a folder needs no space).
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            staged.append((_stage(path, data.encode("utf-8") if isinstance(data, str) else data), path))
        while staged:
            temporary, path = staged[0]
            os.replace(temporary, path)
            staged.pop(0)
    except BaseException as exc:
        for temporary, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        if isinstance(exc, OSError) and exc.filename is None and staged:
            exc.filename = str(staged[0][1])
        raise


def _stage(path: Path, payload: bytes) -> str:
    """The new content of ``path`` in a temporary file beside it, on disk, with the target's permissions."""
    try:
        found = path.stat().st_mode
        if not stat.S_ISREG(found):  # a FIFO, a device (/dev/null, as root) or a folder is never replaced
            raise OSError(errno.EEXIST, "not a regular file; refusing to replace it", str(path))
        mode = found & 0o777
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
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)
        raise
    return temporary


class SpecialFileError(ValueError):
    """A path that is not a regular file of a sensible size; ``kind`` says what it is instead ("a folder")."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind


#: The most :func:`read_regular` reads by default: hwdb's largest file is a few kilobytes.
READ_LIMIT = 8 * 1024 * 1024


def special_kind(mode: int) -> str | None:
    """What a non-regular file is, in words ("a folder", "a pipe or FIFO", "a device"); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe or FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def read_regular(path: Path, limit: int = READ_LIMIT) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    :class:`SpecialFileError` for a folder, a FIFO, a pipe, a device or a socket (checked on the
    opened file, so nothing is read from it and nothing can be swapped in between) and for a file over
    ``limit`` bytes; ``OSError`` as ``open`` raises it (not found, no permission, a symlink loop).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket
            raise SpecialFileError("is a socket, not a regular file", "a socket") from None
        raise
    try:
        kind = special_kind(os.fstat(handle).st_mode)
        if kind is not None:
            raise SpecialFileError(f"is {kind}, not a regular file", kind)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(handle, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            size_text = f"{limit // (1 << 20)} MiB" if limit % (1 << 20) == 0 else f"{limit:,} bytes"
            raise SpecialFileError(f"is over {size_text}, more than such a file ever holds; not reading it")
        return b"".join(chunks)
    finally:
        os.close(handle)


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


def write_cache(path: Path, data: str | bytes) -> bool:
    """Keep a cache entry if it can be kept (atomically, as :func:`write_atomic`); whether it was.

    A cache only saves time: a folder or a special file in the entry's place, a full disk or a read-only
    folder means the work is done again next time, never that the command fails.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError:
        return False
    return True
