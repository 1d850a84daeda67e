"""Claim citations in any text: where they are, and which are unknown, renamed, withdrawn or stale.

A citation is explicit, so ordinary text (``serving.yaml``, ``rooflines.html``, ``kv.cache``) is
never taken for one. Three forms count:

- ``claim:ID`` or ``claim:ID@PIN`` anywhere: the form for Markdown, plain text, code comments, and
  LaTeX, where it is also the key of the book's BibTeX entries (``\\cite{claim:ID}``);
- a link to a claim's permanent address, ``…/c/ID.html``;
- the Sphinx roles ``{claim}`ID```, ``:claim:`ID```, their ``-value``, ``-verdict`` and ``-stated``
  variants and ``:external+NAME:std:claim:`ID``` (with an explicit title, ``{claim}`text <ID>```).

A pin is the content version a document quoted: its 12 hex digits, at least the first 8, in any case,
optionally after the book's release (``0.4.0+1a2b3c4d5e6f``, as ``python -m claims cite`` prints it).
A citation without its own pin takes one written right after it in parentheses, which is how the
``cite`` command's Markdown and reST lines read. A pin that is neither form is a finding, never
silently read as no pin. A line containing ``claims: ignore`` is skipped.

Nothing here needs the engine: citations are checked against an export (:mod:`claims.citable`).
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any

from .citable import Book, BookError

__all__ = ["Book", "BookError", "Citation", "Finding", "Pin", "PinError", "check_text"]

#: The characters of a claim ID as written, typos included (the book's own are lower case).
_ID = r"[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+"
#: What may follow ``@``: a pin is checked for form after it is found, so a malformed one is reported.
_PIN = r"@(?P<pin>[0-9A-Za-z][0-9A-Za-z.+_-]*)"
#: ``claim:ID[@PIN]``, not inside a longer word (``std:claim:`` is a role's prefix, matched below).
CLAIM_FORM = re.compile(rf"(?<![\w:/-])claim:(?P<id>{_ID})(?:{_PIN})?")
#: A link to a claim's permanent page, absolute or relative.
LINK_FORM = re.compile(rf"(?:(?<=/)|(?<![\w.-]))c/(?P<id>{_ID})\.html(?![\w-])")
#: A Sphinx role citing a claim, in MyST or reST, optionally with an explicit title and a domain prefix.
ROLE_FORM = re.compile(
    r"(?:\{(?:std:)?(?P<myst>claim(?:-value|-verdict|-stated)?)\}"
    r"|(?<![\w`]):(?:[\w+.-]+:)*?(?P<rst>claim(?:-value|-verdict|-stated)?):)"
    r"`(?P<body>[^`]+)`"
)
#: A pin written right after a citation: ``… (The lecture, verified 0.4.0+1a2b3c4d5e6f)``.
TRAILING_PIN = re.compile(r"\)?\s*\((?:[^()]*\s)?(?P<pin>\d+\.\d+\.\d+\+[0-9A-Za-z]+)\)")
IGNORE = re.compile(r"claims:\s*ignore", re.IGNORECASE)
_RELEASE = re.compile(r"\d+\.\d+\.\d+")
_HEX = re.compile(r"[0-9A-Fa-f]{8,12}")

#: Files a folder is searched for: the documents people cite in.
DOCUMENT_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".html", ".htm", ".tex")
#: Folders never searched: version control, builds, environments and caches.
SKIPPED_FOLDERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".nox",
        ".tox",
        ".venv",
        "venv",
        "env",
        "node_modules",
        "_build",
        "build",
        "dist",
        "site",
        "__pycache__",
        "site-packages",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".ipynb_checkpoints",
    }
)


class PinError(ValueError):
    """A pin that is neither the content version's hex digits nor RELEASE+hex."""


@dataclass(frozen=True)
class Pin:
    """A content version as a document quoted it: a hex prefix (lower case), perhaps with a release."""

    text: str
    version: str
    release: str | None = None

    def matches(self, version: str) -> bool:
        return version.lower().startswith(self.version)


def parse_pin(text: str) -> Pin:
    """A pin's parts; a PinError that says what a pin looks like when ``text`` is not one."""
    release, plus, digits = text.rpartition("+")
    if (plus and not _RELEASE.fullmatch(release)) or not _HEX.fullmatch(digits):
        raise PinError(
            f"malformed pin '@{text}': a pin is the claim's content version, 12 hex digits (at least the first 8), "
            "optionally after the release, e.g. @0.4.0+1a2b3c4d5e6f"
        )
    return Pin(text, digits.lower(), release or None)


@dataclass(frozen=True)
class Citation:
    """One citation as written: where, the ID and the pin text (None when unpinned)."""

    line: int
    column: int
    text: str
    claim_id: str
    pin: str | None


def _strip_pin(pin: str | None) -> str | None:
    """A pin without the sentence's punctuation after it ("…@1a2b3c4d." ends a sentence)."""
    return pin.rstrip(".-_") or None if pin is not None else None


def _target(body: str) -> str:
    """A role's target: the text in ``<…>`` of an explicit title, else the whole text."""
    match = re.fullmatch(r"(?s).*?<([^<>]+)>\s*", body)
    return (match.group(1) if match else body).strip()


def citations_in_line(line: str, number: int) -> list[Citation]:
    """Every citation in one line, in reading order (a line marked ``claims: ignore`` has none)."""
    if IGNORE.search(line):
        return []
    found: list[Citation] = []
    taken: list[tuple[int, int]] = []
    for match in ROLE_FORM.finditer(line):
        cited, _, pin = _target(match.group("body")).partition("@")
        found.append(Citation(number, match.start() + 1, match.group(0), cited, pin or None))
        taken.append(match.span())
    for pattern in (CLAIM_FORM, LINK_FORM):
        for match in pattern.finditer(line):
            if any(start <= match.start() < end for start, end in taken):
                continue
            pinned = _strip_pin(match.groupdict().get("pin"))
            text = match.group(0)[: len(match.group(0)) - len(match.groupdict().get("pin") or "") + len(pinned or "")]
            found.append(Citation(number, match.start() + 1, text, match.group("id"), pinned))
            taken.append(match.span())
    found.sort(key=lambda c: c.column)
    out: list[Citation] = []
    for n, citation in enumerate(found):
        if citation.pin is None:  # a pin written after it: "[claim:ID](…/c/ID.html) (Title 0.4.0+hex)"
            end = citation.column - 1 + len(citation.text)
            stop = found[n + 1].column - 1 if n + 1 < len(found) else len(line)
            trailing = TRAILING_PIN.match(line, end)
            if trailing and (n + 1 == len(found) or trailing.start("pin") < stop):
                citation = Citation(citation.line, citation.column, citation.text, citation.claim_id, trailing["pin"])
        # a Markdown link repeats the ID of its text in its address: one citation, the one with the pin
        if out and out[-1].claim_id == citation.claim_id and line[out[-1].column - 1 : citation.column].count(" ") < 2:
            if out[-1].pin is None:
                out[-1] = citation
            continue
        out.append(citation)
    return out


@dataclass(frozen=True)
class Finding:
    """One citation that needs attention: where it is, what kind of problem and what to do."""

    file: str
    line: int
    column: int
    cited: str
    kind: str  # unknown | renamed | withdrawn | stale | pin (malformed) | release
    problem: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.cited}: {self.problem}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _current(claim: dict[str, Any]) -> str:
    return f"{claim['judged']} ({claim['verdict']}, version {claim['version']})"


def _entry(claim: dict[str, Any], pin: Pin) -> tuple[dict[str, Any] | None, str | None]:
    """The history entry whose version the pin names, and the release that replaced it (None: still current)."""
    history = claim.get("history", [])
    for n, entry in enumerate(history):
        if pin.matches(entry["version"]):
            return entry, history[n + 1]["release"] if n + 1 < len(history) else None
    return None, None


def quoted(claim: dict[str, Any], version: str | Pin) -> str:
    """What a citation pinned to ``version`` quoted, from the claim's release history."""
    pin = version if isinstance(version, Pin) else Pin(version, version.lower())
    entry, _ = _entry(claim, pin)
    if entry is None:
        return f"version {pin.version}, which this book never published"
    return f"version {entry['version']} (release {entry['release']}: {entry['judged']}, {entry['verdict']})"


def withdrawn_text(entry: dict[str, Any]) -> str:
    last = entry["history"][-1] if entry.get("history") else None
    said = f"; it last said {last['judged']} ({last['verdict']})" if last else ""
    return f"withdrawn in release {entry['release']}: {entry['reason']}{said}"


def _release_key(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("."))


def _what_moved(claim: dict[str, Any], old: dict[str, Any]) -> str:
    """When the value and verdict a pin quoted are still the book's, what else changed."""
    if (old["judged"], old["verdict"]) != (claim["judged"], claim["verdict"]):
        return ""
    from .history import what_moved

    new = next((h for h in claim.get("history", []) if h["version"] == claim["version"]), None)
    moved = what_moved(old, new) if new is not None else []
    return "; the value and verdict you quoted are unchanged" + (f" (what moved: {'; '.join(moved)})" if moved else "")


def pin_problem(book: Book, claim: dict[str, Any], pin: Pin) -> tuple[str, str] | None:
    """(kind, message) when a pin is not the claim's current version, or names a release that did not publish it."""
    entry, replaced = _entry(claim, pin)
    if pin.release is not None and book.releases and pin.release not in book.releases:
        return "release", (
            f"release {pin.release} was never published by this book (releases {book.releases[0]} to "
            f"{book.releases[-1]}); check the pin"
        )
    if not pin.matches(claim["version"]):
        if entry is None:
            return "stale", f"cites version {pin.version}, which this book never published; now {_current(claim)}"
        moved = _what_moved(claim, entry)
        return "stale", f"cites {quoted(claim, pin)}, which is no longer current: now {_current(claim)}{moved}"
    if pin.release is not None and entry is not None and book.releases:
        first, key = entry["release"], _release_key(pin.release)
        if key < _release_key(first) or (replaced is not None and key >= _release_key(replaced)):
            return "release", f"release {pin.release} did not publish version {entry['version']} (first in {first})"
    return None


def problems(book: Book, cited: str, pin_text: str | None) -> Iterator[tuple[str, str]]:
    """(kind, message) for everything wrong with citing ``cited`` at ``pin_text``: the one judgement both
    checkers (``check-refs`` and the Sphinx roles of ``claims.citing``) make."""
    claim_id = book.aliases.get(cited, cited)
    claim = book.claims.get(claim_id)
    if claim is None and cited in book.withdrawn:
        yield "withdrawn", f"claim '{cited}' was {withdrawn_text(book.withdrawn[cited])}"
        return
    if claim is None:
        near = difflib.get_close_matches(cited.lower(), list(book.claims), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        yield "unknown", f"unknown claim ID '{cited}' in {book.source}{hint}"
        return
    if claim_id != cited:
        yield "renamed", f"claim '{cited}' was renamed to '{claim_id}'; cite the new ID"
    if pin_text is None:
        return
    try:
        pin = parse_pin(pin_text)
    except PinError as exc:
        yield "pin", str(exc)
        return
    found = pin_problem(book, claim, pin)
    if found:
        yield found


def check_text(book: Book, text: str, file: str) -> Iterator[Finding]:
    """Every citation in ``text`` that is unknown, renamed, withdrawn, stale or wrongly pinned."""
    for number, line in enumerate(text.splitlines(), start=1):
        for citation in citations_in_line(line, number):
            for kind, message in problems(book, citation.claim_id, citation.pin):
                yield Finding(file, citation.line, citation.column, citation.text, kind, message)


@dataclass
class Scan:
    """What a scan found: citation findings, and files or folders it could not read (never passed over)."""

    findings: list[Finding]
    unreadable: list[str]
    notes: list[str]
    files: int = 0


def _excluded(path: Path, root: Path, excludes: Iterable[str]) -> bool:
    relative = path.relative_to(root).as_posix() if path != root and path.is_relative_to(root) else path.as_posix()
    return any(
        fnmatch(relative, glob) or fnmatch(path.as_posix(), glob) or PurePosixPath(relative).match(glob)
        for glob in excludes
    )


def _documents(root: Path, excludes: tuple[str, ...], scan: Scan) -> Iterator[Path]:
    """The documents under a folder, sorted, skipping build, VCS and environment folders."""

    def unreadable(error: OSError) -> None:
        scan.unreadable.append(f"{error.filename}: cannot read folder: {error.strerror}")

    for folder, subfolders, names in os.walk(root, onerror=unreadable):
        here = Path(folder)
        subfolders[:] = sorted(
            s for s in subfolders if s not in SKIPPED_FOLDERS and not _excluded(here / s, root, excludes)
        )
        for name in sorted(names):
            path = here / name
            if path.suffix.lower() in DOCUMENT_SUFFIXES and not _excluded(path, root, excludes):
                yield path


def _read(path: Path, scan: Scan) -> str | None:
    """A document's text: UTF-8, else decoded with replacement and a note; None for what is not a file."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            scan.notes.append(f"{path}: skipped: not a regular file")
            return None
        content = path.read_bytes()
    except OSError as exc:
        scan.unreadable.append(f"{path}: cannot read: {exc.strerror or exc}")
        return None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        scan.notes.append(f"{path}: not UTF-8 (byte {exc.start}); read with undecodable bytes replaced")
        return content.decode("utf-8", errors="replace")


def scan_paths(book: Book, paths: Iterable[Path], excludes: Iterable[str] = ()) -> Scan:
    """Findings for every file named and every document in every folder named."""
    globs = tuple(excludes)
    scan = Scan([], [], [])
    for path in paths:
        files = _documents(path, globs, scan) if path.is_dir() else ([] if _excluded(path, path, globs) else [path])
        for file in files:
            text = _read(file, scan)
            if text is not None:
                scan.files += 1
                scan.findings += check_text(book, text, str(file))
    return scan
