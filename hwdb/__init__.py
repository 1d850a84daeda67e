"""hwdb: a sourced, unit-checked database of accelerators, models and prices.

>>> from hwdb import load
>>> db = load()
>>> db["h100-sxm"]["hbm_bandwidth"].quantity
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import HwdbError, Problem
    from .files import display_path
    from .loader import DATA_DIR
    from .loader import load as load_from
    from .model import Database, Field, Record, Source
    from .overlay import ENV_VAR, overlays_from_env
    from .units import Quantity, ureg

#: Where each public name lives. The package imports its modules on first use, so a tool that needs
#: only a light part (``hwdb.files`` for atomic writes, in ``claims.citing``) never loads pint.
_LAZY = {
    "HwdbError": ("errors", "HwdbError"),
    "Problem": ("errors", "Problem"),
    "DATA_DIR": ("loader", "DATA_DIR"),
    "display_path": ("files", "display_path"),
    "load_from": ("loader", "load"),
    "Database": ("model", "Database"),
    "Field": ("model", "Field"),
    "Record": ("model", "Record"),
    "Source": ("model", "Source"),
    "ENV_VAR": ("overlay", "ENV_VAR"),
    "overlays_from_env": ("overlay", "overlays_from_env"),
    "Quantity": ("units", "Quantity"),
    "ureg": ("units", "ureg"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'hwdb' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # found once; later lookups do not come back here
    return value


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
    from .overlay import absolute_path, overlays_from_env

    paths = tuple(overlays_from_env() if overlays is None else (absolute_path(str(p)) for p in overlays))
    return _load_cached(paths)


@cache
def _load_cached(overlays: tuple[Path, ...]) -> Database:
    from .loader import DATA_DIR
    from .loader import load as load_from

    return load_from(DATA_DIR, overlays)
