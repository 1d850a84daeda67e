"""The one unit registry shared by hwdb and the claims (definitions in units.txt)."""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import pint

from .files import special_kind
from .parsed import cache_root
from .unit_text import UnitTextError, read_unit

UNITS_FILE = Path(__file__).with_name("units.txt")


def _registry() -> pint.UnitRegistry[Any]:
    """pint's registry with our definitions, its parse kept in pint's own disk cache where ours is on.

    Parsing pint's definitions and ours was the largest single cost of a fresh process after the
    libraries' imports. pint names its cache files by the definitions' content and its own version,
    so an edited ``units.txt`` is parsed afresh. pint does not guard its cache against a damaged
    file; a registry that fails to build from it is built without it, with a note. Nor does pint
    check what it opens: a FIFO in its folder would block it for ever, so a folder holding anything
    but regular files and folders is not used.
    """
    root = cache_root()
    if root is not None:
        folder = root / "pint"
        why = _special_entry(folder)
        try:
            if why is None:
                return pint.UnitRegistry(str(UNITS_FILE), autoconvert_offset_to_baseunit=False, cache_folder=folder)
        except (FileExistsError, IsADirectoryError, NotADirectoryError) as exc:  # a file or folder in the way
            why = f"{exc.filename or folder} is in the way ({exc.strerror})"
        except OSError:
            pass  # an unwritable cache only costs time
        except Exception as exc:  # a damaged cache file: anything pickle or pint may raise
            why = f"unusable ({type(exc).__name__})"
        if why is not None:
            print(f"note: pint's cache in {folder}: {why}; not using it", file=sys.stderr)
    return pint.UnitRegistry(str(UNITS_FILE), autoconvert_offset_to_baseunit=False)


def _special_entry(folder: Path) -> str | None:
    """Why pint must not open its cache folder: an entry that is neither a regular file nor a folder."""
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    kind = special_kind(entry.stat().st_mode)
                except OSError:  # a dangling link: pint's own error decides
                    continue
                if kind not in (None, "a folder"):
                    return f"{entry.path} is {kind}"
    except OSError:
        return None  # missing (pint makes it) or unreadable (pint's own error decides)
    return None


ureg: pint.UnitRegistry[Any] = _registry()
Quantity = ureg.Quantity


@lru_cache(maxsize=4096)
def parse_unit(text: str) -> pint.Unit:
    """The unit ``text`` writes; "1" means dimensionless. Units are immutable, so each text is read once.

    The text is read by :mod:`hwdb.unit_text`'s grammar, never by pint's expression parser, so text
    from a record, an overlay or a what-if cannot make pint run for minutes or crash:
    :class:`UnitTextError` (a ``ValueError``) says what is wrong.
    """
    return read_unit(ureg, text)


__all__ = ["UNITS_FILE", "Quantity", "UnitTextError", "parse_unit", "ureg"]
