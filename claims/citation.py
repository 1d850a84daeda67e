"""Citing claims: the ID registry, content versions, and citation formats.

A citation pins three things: the ID (never reused; renames leave aliases), the
claim's *content version* (a hash of its derivation, inputs and results, which
changes whenever what the reader cited changes), and the book's release.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sympy as sp

from hwdb.files import write_atomic
from hwdb.units import parse_unit

from . import formatting, release
from .engine import Claim, Evaluation
from .lock import pinned_text
from .policy import verdict_text

IDS_FILE = Path(__file__).resolve().parent / "ids.toml"
FORMATS = ("md", "rst", "bibtex", "json")


@dataclass(frozen=True)
class IdRegistry:
    ids: dict[str, dict[str, str]]
    aliases: dict[str, str]
    #: Claims taken out of the book, each with why and in which release: their IDs still resolve, to a
    #: page that says so, and are never reused.
    withdrawn: dict[str, dict[str, str]]


def read_registry(path: Path | None = None) -> IdRegistry:
    """The registry as the file says now (parsed once per file content, copied per call)."""
    path = path or IDS_FILE
    data = _parse_registry(path, path.read_bytes())
    withdrawn = data.get("withdrawn", {})
    for cid, entry in withdrawn.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: withdrawn claim '{cid}' must be a table with reason and release")
        missing = [key for key in ("reason", "release") if not isinstance(entry.get(key), str) or not entry[key]]
        if missing:
            raise ValueError(f"{path}: withdrawn claim '{cid}' needs {' and '.join(missing)} (text)")
    return IdRegistry({k: dict(v) for k, v in data.get("ids", {}).items()}, dict(data.get("aliases", {})), withdrawn)


@lru_cache(maxsize=8)
def _parse_registry(path: Path, content: bytes) -> dict[str, Any]:
    return tomllib.loads(content.decode("utf-8"))


def identity(claim: Claim) -> dict[str, str]:
    """What an ID stands for: its lecture section and the dimension of its value."""
    return {"section": claim.section, "dimension": str(parse_unit(claim.unit).dimensionality)}


def registry_problems(claims: tuple[Claim, ...], registry: IdRegistry) -> list[str]:
    """Every way the code and the registry of published IDs disagree."""
    by_id = {c.id: c for c in claims}
    problems = []
    for cid, entry in registry.ids.items():
        claim = by_id.get(cid)
        if claim is None:
            target = next((new for old, new in registry.aliases.items() if old == cid), None)
            if cid not in registry.withdrawn and (target is None or target not in by_id):
                problems.append(
                    f"published ID '{cid}' no longer names a claim: add an alias to its new ID, or a "
                    "[withdrawn] entry saying why"
                )
            continue
        if cid in registry.withdrawn:
            problems.append(f"ID '{cid}' is marked withdrawn but still names a claim")
        now = identity(claim)
        for key in ("section", "dimension"):
            if entry.get(key) != now[key]:
                problems.append(
                    f"ID '{cid}' is reused for a different claim: {key} was '{entry.get(key)}', is '{now[key]}'"
                )
    for cid in sorted(set(by_id) - set(registry.ids)):
        problems.append(f"claim '{cid}' is not in claims/ids.toml; run `python -m claims ids --register`")
    for cid in sorted(set(registry.withdrawn) - set(registry.ids)):
        problems.append(f"withdrawn ID '{cid}' was never published (not in [ids])")
    for old, new in registry.aliases.items():
        if new not in by_id:
            problems.append(f"alias '{old}' points to '{new}', which is not a claim")
        if old in by_id:
            problems.append(f"alias '{old}' is also a live claim ID")
    return problems


def register_new(claims: tuple[Claim, ...], path: Path | None = None) -> list[str]:
    """Append unregistered claims to the registry file; return their IDs."""
    path = path or IDS_FILE
    registry = read_registry(path)
    new = [c for c in claims if c.id not in registry.ids]
    if new:
        text = path.read_text(encoding="utf-8")
        head, _, tail = text.partition("# Withdrawn claims")
        for claim in new:
            ident = identity(claim)
            head += (
                f'[ids."{claim.id}"]\nsection = "{ident["section"]}"\n'
                f'dimension = "{ident["dimension"]}"\nsince = "{release.VERSION}"\n\n'
            )
        write_atomic(path, head + "# Withdrawn claims" + tail)  # a failed write must not empty the registry
    return [c.id for c in new]


def content_version(evaluation: Evaluation) -> str:
    """A short hash of what a reader cites: statement, lecture figure and tolerance, derivation, inputs,
    value, verdict, rows.

    Numbers enter as the lock pins them (12 significant digits), so a change in the last bits of a float
    (the order of unit conversions, a platform's libm) does not make a new version. The ID is not in it:
    renaming a claim (its old ID kept as an alias) does not move the version of what it says.
    """
    d = evaluation.derivation
    stated = evaluation.claim.stated
    body = {
        "statement": evaluation.claim.statement,
        "tolerance": [stated.text, stated.low, stated.high, [list(b) if b else None for b in stated.bands()]],
        "steps": [_srepr(s.math) for s in d.steps],
        "result": _srepr(d.result),
        "inputs": sorted((i.key, pinned_text(i.field.si)) for i in evaluation.inputs()),
        "constants": sorted((str(c.symbol), c.value, c.unit) for c in evaluation.claim.constants),
        "stated": [evaluation.claim.stated.value, evaluation.claim.stated.wording],
        "value": pinned_text(evaluation.value),
        "unit": evaluation.claim.unit,
        "verdict": evaluation.verdict.value,
        "rows": sorted(
            (r.record.id, pinned_text(r.value), verdict_text(r.verdict)) for r in evaluation.rows if r.record
        ),
        "sensitivity": [(s.input.key, pinned_text(s.low), pinned_text(s.high)) for s in evaluation.sensitivity],
    }
    rows = evaluation.claim.rows
    if rows is not None and rows.voter:  # a population counted by groups says something else than one by rows
        body["votes"] = rows.voter
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]


@lru_cache(maxsize=4096)
def _srepr(expr: sp.Basic) -> str:
    """SymPy's exact printed form; derivations do not change within a process, so print once."""
    return str(sp.srepr(expr))


def url(evaluation: Evaluation) -> str:
    """The claim's permanent address, ``c/ID.html``: it stays valid if the box moves to another chapter."""
    return release.base_url() + permalink(evaluation.claim.id)


def permalink(claim_id: str) -> str:
    return f"c/{claim_id}.html"


def summary(evaluation: Evaluation) -> str:
    claim = evaluation.claim
    stated, verdict = formatting.stated(evaluation), evaluation.verdict.value
    if evaluation.population is not None:
        return f"{claim.title}: against the lecture's {stated}, {formatting.judged(evaluation)} ({verdict})"
    return f"{claim.title}: derived {formatting.judged(evaluation)} against the lecture's {stated} ({verdict})"


def _renamed_note(key: str | None, evaluation: Evaluation) -> str:
    return f"Deprecated key claim:{key}: the claim was renamed to claim:{evaluation.claim.id}. " if key else ""


def csl_json(evaluation: Evaluation, old_id: str | None = None) -> dict[str, Any]:
    """A CSL-JSON item (the format Zotero, Pandoc and citeproc read); ``old_id`` files it under a renamed ID."""
    year, month, day = (int(part) for part in release.DATE.split("-"))
    return {
        "id": f"claim:{old_id or evaluation.claim.id}",
        "type": "dataset",
        # Common CSL styles print neither version nor note: the title carries the version, so a
        # rendered bibliography still says which content of the claim was cited.
        "title": f"{evaluation.claim.id}: {evaluation.claim.title} "
        f"(version {release.VERSION}+{content_version(evaluation)})",
        "container-title": release.TITLE,
        "publisher": release.PUBLISHER,
        "version": f"{release.VERSION}+{content_version(evaluation)}",
        "author": [{"literal": release.PUBLISHER}],
        "issued": {"date-parts": [[year, month, day]]},
        "accessed": {"date-parts": [[year, month, day]]},
        "URL": url(evaluation),
        "note": _renamed_note(old_id, evaluation)
        + f"Version {release.VERSION}+{content_version(evaluation)}. {summary(evaluation)}",
    }


#: LaTeX for the characters the book's titles and summaries use; anything else non-ASCII is spelled
#: out by Unicode decomposition, so the entry compiles under plain pdflatex with no extra package.
LATEX = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
    "≈": r"$\approx$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "≳": r"$\gtrsim$",
    "×": r"$\times$",
    "÷": r"$\div$",
    "²": r"$^2$",
    "³": r"$^3$",
    "⁻": r"$^-$",
    "¹": r"$^1$",
    "⁵": r"$^5$",
    "µ": r"$\mu$",
    "√": r"$\surd$",
    "–": "--",
    "—": "---",
    "’": "'",
    "‘": "`",
    "“": "``",
    "”": "''",
    "→": r"$\to$",
    "…": r"\ldots{}",
}


def _bibtex_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in LATEX:
            out.append(LATEX[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode() or "?")
    return "".join(out)


def bibtex(evaluation: Evaluation, old_id: str | None = None) -> str:
    """A @misc entry that compiles under pdflatex and keeps the claim ID's case in any style.

    The title is brace-protected; the version, which standard styles drop, is repeated in the note.
    ``old_id`` writes the entry under a renamed claim's old key, so existing documents still compile.
    """
    c = evaluation.claim
    year = release.DATE.split("-")[0]
    version = f"{release.VERSION}+{content_version(evaluation)}"
    fields = {
        "author": f"{{{_bibtex_escape(release.PUBLISHER)}}}",
        "title": f"{{{_bibtex_escape(f'{c.id}: {c.title}')}}}",
        "url": url(evaluation),
        "urldate": release.DATE,
        "organization": _bibtex_escape(release.PUBLISHER),
        "booktitle": _bibtex_escape(release.TITLE),
        "year": year,
        "version": version,
        "note": _bibtex_escape(f"{_renamed_note(old_id, evaluation)}Version {version}. {summary(evaluation)}"),
    }
    body = ",\n".join(f"  {key} = {{{value}}}" for key, value in fields.items())
    return f"@misc{{claim:{old_id or c.id},\n{body}\n}}\n"


def _with_aliases(evaluations: dict[str, Evaluation]) -> list[tuple[Evaluation, str | None]]:
    """Every claim, then each renamed ID with the claim it now names."""
    aliases = read_registry().aliases
    return [(e, None) for e in evaluations.values()] + [
        (evaluations[new], old) for old, new in sorted(aliases.items()) if new in evaluations
    ]


def bibliography(evaluations: dict[str, Evaluation]) -> str:
    """claims.bib: one entry per claim, and one under each renamed ID."""
    return "\n".join(bibtex(e, old) for e, old in _with_aliases(evaluations))


def csl_items(evaluations: dict[str, Evaluation]) -> list[dict[str, Any]]:
    """claims.csl.json: one item per claim, and one under each renamed ID."""
    return [csl_json(e, old) for e, old in _with_aliases(evaluations)]


def cite(evaluation: Evaluation, form: str) -> str:
    """One citation of a claim in ``md``, ``rst``, ``bibtex`` or ``json`` (CSL-JSON)."""
    c = evaluation.claim
    version = f"{release.VERSION}+{content_version(evaluation)}"
    if form == "md":
        return f"[`{c.id}`]({url(evaluation)}) ({release.TITLE} {version}): {summary(evaluation)}\n"
    if form == "rst":
        return (
            f":external+book:claim:`{c.id}` ({release.TITLE} {version}): {summary(evaluation)}\n\n"
            f"Without intersphinx: `{c.id} <{url(evaluation)}>`__\n"
        )
    if form == "bibtex":
        return bibtex(evaluation)
    if form == "json":
        return json.dumps(csl_json(evaluation), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown citation format {form!r} (known: {', '.join(FORMATS)})")
