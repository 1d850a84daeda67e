"""Reading overlay files: a user's own sources, new records and overrides.

An overlay is one TOML file::

    [sources.my-lab]                  # new sources, same keys as hwdb/data/sources.toml
    title = "..."; publisher = "..."; url = "..."; retrieved = 2026-11-26

    [[record]]                        # a new record, same keys as a record file
    id = "my-chip"; kind = "accelerator"; name = "..."; source = "my-lab"
    [record.fields.hbm_capacity]
    value = 256; unit = "GB"

    [[override]]                      # replace existing fields of an existing record
    id = "h100-sxm"
    [override.fields.hbm_bandwidth]
    value = 3.9; unit = "TB/s"; source = "my-lab"

The loader validates overlay content exactly like the packaged data, and refuses the
whole load if anything is wrong, so a bad overlay changes nothing.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Problem
from .files import display_path
from .tomlfile import TomlFileError, read_toml

ENV_VAR = "HWDB_OVERLAY"
OVERLAY_KEYS = {"sources", "record", "override"}


@dataclass
class Overlay:
    sources: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    overrides: list[dict[str, Any]] = field(default_factory=list)


def read_overlay(path: Path, problems: list[Problem], contents: dict[Path, bytes] | None = None) -> Overlay:
    """Parse one overlay file; its problems are appended to ``problems``, its bytes kept in ``contents``."""
    file = display_path(path)
    try:
        data, raw = read_toml(path, "an overlay file")
    except FileNotFoundError:
        problems.append(Problem(file, "overlay file not found"))
        return Overlay()
    except TomlFileError as exc:
        problems.append(Problem(file, str(exc)))
        return Overlay()
    except OSError as exc:  # unreadable, a symlink loop
        problems.append(Problem(file, f"cannot read the overlay: {exc.strerror or exc}"))
        return Overlay()
    if contents is not None:
        contents[path] = raw
    unknown = set(data) - OVERLAY_KEYS
    if unknown:
        problems.append(
            Problem(file, f"unknown top-level key(s) {sorted(unknown)}; use [sources.*], [[record]], [[override]]")
        )
    overlay = Overlay(data.get("sources", {}), data.get("record", []), data.get("override", []))
    if not isinstance(overlay.sources, dict):
        problems.append(Problem(file, "[sources] must be a table of tables"))
        overlay.sources = {}
    for key in ("records", "overrides"):
        items = getattr(overlay, key)
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            problems.append(Problem(file, f"'{key[:-1]}' must be an array of tables ([[{key[:-1]}]])"))
            setattr(overlay, key, [])
    if not (overlay.sources or overlay.records or overlay.overrides):
        problems.append(Problem(file, "overlay is empty"))
    return overlay


def add_overlay_argument(parser: argparse.ArgumentParser) -> None:
    """The --hwdb-overlay option both command lines share."""
    parser.add_argument(
        "--hwdb-overlay",
        action="append",
        default=[],
        metavar="PATH",
        help=f"extra or overriding hwdb records (repeatable; default: ${ENV_VAR})",
    )


def overlays_from_args(args: argparse.Namespace) -> list[Path]:
    """--hwdb-overlay paths if any were given, else those named in $HWDB_OVERLAY."""
    given = [absolute_path(p) for p in args.hwdb_overlay]
    return given or overlays_from_env()


def overlays_from_env() -> list[Path]:
    """Overlay paths from $HWDB_OVERLAY (several separated by the OS path separator)."""
    value = os.environ.get(ENV_VAR, "")
    return [absolute_path(p) for p in value.split(os.pathsep) if p.strip()]


def absolute_path(text: str) -> Path:
    """The overlay's absolute path, as given where resolving it would lose it.

    A symlink loop is left unresolved, for the reader to refuse by name; so is a link that resolves to
    no file although the path opens (``/dev/fd/63`` from ``<(…)`` resolves to ``pipe:[…]``), so the
    reader says it is a pipe rather than that it is missing.
    """
    path = Path(text)
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, on Python before 3.13
        return path.absolute()
    if not resolved.exists() and os.path.exists(path):
        return path.absolute()
    return resolved
