"""hwdb: a sourced, unit-checked database of accelerators, models and prices.

>>> from hwdb import load
>>> db = load()
>>> db["h100-sxm"]["hbm_bandwidth"].quantity
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from .errors import HwdbError, Problem
from .loader import DATA_DIR, display_path
from .loader import load as load_from
from .model import Database, Field, Record, Source
from .overlay import ENV_VAR, absolute_path, overlays_from_env
from .units import Quantity, ureg

__all__ = [
    "DATA_DIR",
    "ENV_VAR",
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
    "overlays_from_env",
    "ureg",
]


def load(overlays: Sequence[Path] | None = None) -> Database:
    """The packaged database plus overlays (default: those named in $HWDB_OVERLAY)."""
    paths = tuple(overlays_from_env() if overlays is None else (absolute_path(str(p)) for p in overlays))
    return _load_cached(paths)


@cache
def _load_cached(overlays: tuple[Path, ...]) -> Database:
    return load_from(DATA_DIR, overlays)
