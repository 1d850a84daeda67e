"""The one unit registry shared by hwdb and the claims (definitions in units.txt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pint

UNITS_FILE = Path(__file__).with_name("units.txt")

ureg: pint.UnitRegistry[Any] = pint.UnitRegistry(str(UNITS_FILE), autoconvert_offset_to_baseunit=False)
Quantity = ureg.Quantity


def parse_unit(text: str) -> pint.Unit:
    """Parse a unit string; "1" means dimensionless."""
    if text.strip() in {"1", "dimensionless"}:
        return ureg.dimensionless
    return ureg.Unit(text)
