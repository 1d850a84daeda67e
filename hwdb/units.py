"""The one unit registry shared by hwdb and the claims (definitions in units.txt)."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

import pint

from .parsed import cache_root

UNITS_FILE = Path(__file__).with_name("units.txt")


def _registry() -> pint.UnitRegistry[Any]:
    """pint's registry with our definitions, its parse kept in pint's own disk cache where ours is on.

    Parsing pint's definitions and ours was the largest single cost of a fresh process after the
    libraries' imports. pint names its cache files by the definitions' content and its own version,
    so an edited ``units.txt`` is parsed afresh. pint does not guard its cache against a damaged
    file; a registry that fails to build from it is built without it, with a note.
    """
    root = cache_root()
    if root is not None:
        try:
            return pint.UnitRegistry(str(UNITS_FILE), autoconvert_offset_to_baseunit=False, cache_folder=root / "pint")
        except OSError:
            pass  # an unwritable cache only costs time
        except Exception as exc:  # a damaged cache file: anything pickle or pint may raise
            print(
                f"note: pint's cache in {root / 'pint'} is unusable ({type(exc).__name__}); not using it",
                file=sys.stderr,
            )
    return pint.UnitRegistry(str(UNITS_FILE), autoconvert_offset_to_baseunit=False)


ureg: pint.UnitRegistry[Any] = _registry()
Quantity = ureg.Quantity


@cache
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string; "1" means dimensionless. Units are immutable, so each text is parsed once."""
    if text.strip() in {"1", "dimensionless"}:
        return ureg.dimensionless
    return ureg.Unit(text)
