"""What a citation is checked against: a ``claims.json`` the book exported, read and validated.

Both citation checkers (``python -m claims check-refs`` and the ``claims.citing`` Sphinx extension)
read the book only through this module, so neither needs the engine: a design-doc repository that
installs this package checks its citations without loading SymPy, NumPy or pint. A file or address
that is not a readable ``claims.json`` of this book is refused with one line naming it
(:class:`BookError`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

#: The JSON Schema every export follows (shipped in the package).
SCHEMA_FILE = Path(__file__).resolve().parent / "claims.schema.json"
#: A published claims.json is about 1 MB; anything far larger is not one.
MAX_BYTES = 64 * 1024 * 1024
#: Seconds to wait for a published claims.json.
FETCH_TIMEOUT = 30


class BookError(ValueError):
    """A claims.json that cannot be read, is not JSON, or does not follow the schema; names its source."""


@dataclass(frozen=True)
class Book:
    """Each claim's version, value and verdict, the renamed and withdrawn IDs, and the releases."""

    claims: dict[str, dict[str, Any]]
    aliases: dict[str, str]
    source: str
    base_url: str = ""
    #: Withdrawn claims by ID: why, in which release, and what they said.
    withdrawn: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Every release the book published, oldest first (empty for an export made under an overlay).
    releases: tuple[str, ...] = ()
    #: The release the export is of.
    release: str = ""

    @classmethod
    def from_export(cls, document: dict[str, Any], source: str) -> Book:
        """The book an export describes; the export is assumed valid (see :func:`validate`)."""
        ids = [c["id"] for c in document["claims"]]
        repeated = sorted({cid for cid in ids if ids.count(cid) > 1})
        if repeated:
            raise BookError(f"{source}: claim ID(s) listed more than once: {', '.join(repeated)}")
        claims = {c["id"]: c for c in document["claims"]}
        aliases = {old: c["id"] for c in document["claims"] for old in c.get("aliases", [])}
        withdrawn = {w["id"]: w for w in document.get("withdrawn", [])}
        releases = tuple(str(r["release"]) for r in document.get("releases", []))
        release = str(document.get("release", {}).get("version", ""))
        return cls(claims, aliases, source, str(document.get("base_url") or ""), withdrawn, releases, release)


def _tolerant(schema: Any) -> Any:
    """The schema with every ``additionalProperties: false`` lifted: a key a later release adds to the
    export must not make this installation refuse it, while every key it relies on is still checked."""
    if isinstance(schema, dict):
        return {k: _tolerant(v) for k, v in schema.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(schema, list):
        return [_tolerant(v) for v in schema]
    return schema


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema  # only a check that reads an export pays for the schema library

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(_tolerant(schema))


def validate(document: Any, source: str) -> dict[str, Any]:
    """``document`` if it follows the shipped schema; else a BookError naming the source and the first fault."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "the top level"
        message = first.message if len(first.message) < 200 else first.message[:200] + "…"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise BookError(f"{source}: not a claims.json of this book: at {where}, {message}{more}")
    assert isinstance(document, dict)
    return document


def parse(content: bytes, source: str) -> dict[str, Any]:
    """The export in ``content``, validated."""
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise BookError(f"{source}: not a claims.json: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise BookError(f"{source}: not a claims.json: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    return validate(document, source)


def fetch(url: str) -> bytes:
    """The bytes at an http(s) address; any failure is a BookError naming the address."""
    import http.client
    import urllib.error
    import urllib.request  # only a build that fetches pays for http and ssl

    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
            content: bytes = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise BookError(f"{url}: cannot fetch claims.json: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise BookError(f"{url}: cannot fetch claims.json: {exc.reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise BookError(f"{url}: cannot fetch claims.json: {exc or type(exc).__name__}") from None
    if len(content) > MAX_BYTES:
        raise BookError(f"{url}: not a claims.json: larger than {MAX_BYTES // 2**20} MiB")
    return content


def is_url(where: str) -> bool:
    return where.startswith(("http://", "https://"))


def read(where: str) -> bytes:
    """The bytes of a claims.json at a path or an http(s) address."""
    if is_url(where):
        return fetch(where)
    path = Path(where)
    try:
        if not path.is_file():
            raise BookError(f"{where}: not a claims.json: {'a folder' if path.is_dir() else 'no such file'}")
        with path.open("rb") as stream:
            content = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise BookError(f"{where}: cannot read: {exc.strerror or exc}") from None
    if len(content) > MAX_BYTES:
        raise BookError(f"{where}: not a claims.json: larger than {MAX_BYTES // 2**20} MiB")
    return content


def load(where: str) -> Book:
    """The book in a claims.json at a path or an http(s) address, validated against the schema."""
    return Book.from_export(parse(read(where), where), where)
