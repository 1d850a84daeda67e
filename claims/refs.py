"""Claim citations in documents outside Sphinx: find them, and say which are unknown, renamed or stale.

A design doc cites a claim by its ID (``kv.bytes-per-token``), optionally pinned to the content
version it quoted (``kv.bytes-per-token@`` and twelve hex digits). This module reads any text file
(Markdown, reST, plain text, HTML) line by line and checks each citation against an export of
the book (``claims.json``: the one this checkout builds, or a published one), so nothing here
needs the engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: A version pin: the 12 hex digits of a claim's content version.
VERSION = r"@(?P<version>[0-9a-f]{12})"


@dataclass(frozen=True)
class Book:
    """What a citation is checked against: each claim's version, value and verdict, and the renamed IDs."""

    claims: dict[str, dict[str, Any]]
    aliases: dict[str, str]
    source: str
    base_url: str = ""
    #: Withdrawn claims by ID: why, in which release, and what they said.
    withdrawn: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_export(cls, document: dict[str, Any], source: str) -> Book:
        ids = [c["id"] for c in document["claims"]]
        repeated = sorted({cid for cid in ids if ids.count(cid) > 1})
        if repeated:
            raise ValueError(f"{source}: claim ID(s) listed more than once: {', '.join(repeated)}")
        claims = {c["id"]: c for c in document["claims"]}
        aliases = {old: c["id"] for c in document["claims"] for old in c.get("aliases", [])}
        withdrawn = {w["id"]: w for w in document.get("withdrawn", [])}
        return cls(claims, aliases, source, str(document.get("base_url") or ""), withdrawn)

    def pattern(self) -> re.Pattern[str]:
        """IDs look like ``chapter.slug``; only the book's chapters count, so prose such as 'e.g.' is never one."""
        chapters = sorted({cid.split(".", 1)[0] for cid in (*self.claims, *self.aliases, *self.withdrawn)})
        names = "|".join(re.escape(c) for c in chapters)
        return re.compile(rf"(?<![\w.-])(?P<id>(?:{names})\.[a-z0-9][a-z0-9-]*[a-z0-9])(?:{VERSION})?(?![\w-])")


def fetch_export(url: str) -> dict[str, Any]:
    """A published ``claims.json``, fetched over http(s)."""
    import urllib.request  # only a build that fetches pays for http and ssl

    with urllib.request.urlopen(url, timeout=30) as response:
        document: dict[str, Any] = json.load(response)
    return document


def load_book(where: str) -> Book:
    """A ``claims.json`` from a path or an http(s) URL."""
    if where.startswith(("http://", "https://")):
        return Book.from_export(fetch_export(where), where)
    path = Path(where)
    try:
        return Book.from_export(json.loads(path.read_text(encoding="utf-8")), where)
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{where}: not a readable claims.json ({exc})") from exc


@dataclass(frozen=True)
class Finding:
    """One citation that needs attention, with where it is."""

    file: str
    line: int
    cited: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.cited}: {self.problem}"


def _current(claim: dict[str, Any]) -> str:
    return f"{claim['judged']} ({claim['verdict']}, version {claim['version']})"


def quoted(claim: dict[str, Any], version: str) -> str:
    """What a citation pinned to ``version`` quoted, from the claim's release history."""
    entry = next((h for h in reversed(claim.get("history", [])) if h["version"] == version), None)
    if entry is None:
        return f"version {version}, which this book never published"
    return f"version {version} (release {entry['release']}: {entry['judged']}, {entry['verdict']})"


def withdrawn_text(entry: dict[str, Any]) -> str:
    last = entry["history"][-1] if entry.get("history") else None
    said = f"; it last said {last['judged']} ({last['verdict']})" if last else ""
    return f"withdrawn in release {entry['release']}: {entry['reason']}{said}"


def check_text(book: Book, text: str, file: str) -> Iterator[Finding]:
    """Every citation in ``text`` that is unknown, renamed or pinned to an older version."""
    pattern = book.pattern()
    for number, line in enumerate(text.splitlines(), start=1):
        for match in pattern.finditer(line):
            cited, version = match.group("id"), match.group("version")
            claim_id = book.aliases.get(cited, cited)
            claim = book.claims.get(claim_id)
            where = (file, number, match.group(0))
            if claim is None and cited in book.withdrawn:
                yield Finding(*where, withdrawn_text(book.withdrawn[cited]))
                continue
            if claim is None:
                import difflib

                near = difflib.get_close_matches(cited, list(book.claims), n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(near)}?" if near else ""
                yield Finding(*where, f"unknown claim ID{hint}")
                continue
            if claim_id != cited:
                yield Finding(*where, f"renamed to {claim_id}; cite the new ID")
            if version is not None and version != claim["version"]:
                yield Finding(
                    *where, f"cites {quoted(claim, version)}, which is no longer current: now {_current(claim)}"
                )


def check_files(book: Book, paths: Iterable[Path]) -> list[Finding]:
    """Findings for every file (folders are searched for .md, .rst, .txt and .html files)."""
    found: list[Finding] = []
    for path in paths:
        files = (
            sorted(p for ext in ("md", "rst", "txt", "html") for p in path.rglob(f"*.{ext}"))
            if path.is_dir()
            else [path]
        )
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"{file}: cannot read as UTF-8 text ({exc})") from exc
            found += check_text(book, text, str(file))
    return found
