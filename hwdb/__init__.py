"""hwdb: a sourced, unit-checked database of accelerators, models and prices.

>>> from hwdb import load
>>> db = load()
>>> db["h100-sxm"]["hbm_bandwidth"].quantity
"""

from __future__ import annotations

from functools import cache

from .errors import HwdbError, Problem
from .loader import DATA_DIR, display_path
from .loader import load as load_from
from .model import Database, Field, Record, Source
from .units import Quantity, ureg

__all__ = [
    "DATA_DIR",
    "Database",
    "Field",
    "HwdbError",
    "Problem",
    "Quantity",
    "Record",
    "Source",
    "display_path",
    "load",
    "load_from",
    "ureg",
]


@cache
def load() -> Database:
    """The packaged database, loaded once per process."""
    return load_from(DATA_DIR)
