"""Reading one TOML file of hwdb's (a record, the source registry, an overlay), with the cause of a failure named.

The loader and the overlay reader share this, so a FIFO, a device, a byte-order mark or a binary file
is refused in the same words wherever it is met, and each failure is one line that names its cause.
"""

from __future__ import annotations

import codecs
import tomllib
from pathlib import Path
from typing import Any

from . import parsed
from .files import SpecialFileError, read_regular


class TomlFileError(ValueError):
    """A file that cannot be read as TOML; the message says why, without the path (the caller names it)."""


def decode_problem(data: bytes) -> str | None:
    """Why bytes are not TOML before the parser says it less clearly: a UTF-8 byte-order mark, which
    tomllib reports as an invalid statement at line 1."""
    if data.startswith(codecs.BOM_UTF8):
        return "starts with a byte-order mark (BOM), which TOML does not allow; save it as UTF-8 without a BOM"
    return None


def read_toml(path: Path, noun: str = "a TOML file") -> tuple[dict[str, Any], bytes]:
    """The parsed document and the bytes it was parsed from; ``noun`` is what the file should have been.

    Raises :class:`TomlFileError` for a special file, an oversized file, a BOM, text that is not UTF-8
    and malformed TOML; ``FileNotFoundError`` and other ``OSError`` pass through for the caller to word.
    A pipe is refused like a FIFO rather than read once: a build reads an overlay more than once.
    """
    try:
        data = read_regular(path)
    except SpecialFileError as exc:
        if exc.kind is None:
            raise TomlFileError(str(exc)) from None
        hint = {
            "a folder": "",
            "a pipe or FIFO": "; hwdb reads only regular files (it may read one twice), so save it to a file first",
        }.get(exc.kind, "; give a regular file")
        raise TomlFileError(f"is {exc.kind}, not {noun}{hint}") from None
    wrong = decode_problem(data)
    if wrong:
        raise TomlFileError(wrong)
    try:
        return parsed.parse(data), data
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(f"malformed TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        hint = "it starts as UTF-16 text does: save it as UTF-8" if utf16 else "is it a binary file?"
        raise TomlFileError(f"malformed TOML: not UTF-8 text (byte {exc.start}); {hint}") from None
