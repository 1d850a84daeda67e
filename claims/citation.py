"""Citing claims: the ID registry's checks, and citation formats.

A citation pins three things: the ID (never reused; renames leave aliases), the
claim's *content version* (a hash of its derivation, inputs and results, which
changes whenever what the reader cited changes), and the book's release. The registry
file is read in :mod:`claims.id_registry` and the content version computed in
:mod:`claims.versioning`, below the release history; both are handed on from here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import unicodedata
from pathlib import Path
from typing import Any

from hwdb.files import write_atomic
from hwdb.units import parse_unit

from . import formatting, history, release
from .engine import Claim, Evaluation
from .id_registry import IDS_FILE as IDS_FILE
from .id_registry import IdRegistry as IdRegistry
from .id_registry import read_registry as read_registry
from .versioning import content_version as content_version
from .versioning import parse_number

FORMATS = ("md", "rst", "bibtex", "json")


def identity(claim: Claim) -> dict[str, str]:
    """What an ID stands for: its lecture section and the dimension of its value."""
    return {"section": claim.section, "dimension": str(parse_unit(claim.unit).dimensionality)}


def registry_problems(
    claims: tuple[Claim, ...], registry: IdRegistry, releases: tuple[history.Release, ...] | None = None
) -> list[str]:
    """Every way the code, the registry of published IDs and the release history (by default
    claims/history.json) disagree."""
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
    return problems + release_problems(registry, history.read() if releases is None else releases)


def release_problems(registry: IdRegistry, releases: tuple[history.Release, ...]) -> list[str]:
    """Where the registry's releases disagree with the release history.

    ``since`` is the first release that lists the ID (under that ID: a renamed claim's new ID from its
    rename on, its old ID from its own first release). A withdrawal's ``release`` is the first release
    without the ID after the last one that lists it. An ID no release lists yet (added or withdrawn since
    the last pin) must name a release later than the latest: the next pin records it, and this check
    then holds it to that release's number.
    """
    latest = releases[-1]
    after_latest = f"later than the latest release, {latest.number}, which the next pin records"
    problems = []
    for cid, entry in registry.ids.items():
        since, first = entry.get("since"), history.first_listing(releases, cid)
        if first is not None and since != first.number:
            problems.append(f"ID '{cid}' has since = {since!r}, but release {first.number} first published it")
        elif first is None and not _later(since, latest.number):
            problems.append(f"ID '{cid}' is in no release yet, so its since ({since!r}) must be {after_latest}")
    for cid, entry in registry.withdrawn.items():
        if cid not in registry.ids:
            continue  # reported above: never published
        gone = history.first_missing(releases, cid)
        if gone is not None and entry["release"] != gone.number:
            problems.append(
                f"withdrawn ID '{cid}' has release = {entry['release']!r}, but release {gone.number} is the "
                "first without it"
            )
        elif gone is None and cid in latest.claims and not _later(entry["release"], latest.number):
            problems.append(
                f"withdrawn ID '{cid}' is still in release {latest.number}, so its release "
                f"({entry['release']!r}) must be {after_latest}"
            )
    return problems


def _later(number: Any, than: str) -> bool:
    mine, theirs = parse_number(number), parse_number(than)
    return mine is not None and theirs is not None and mine > theirs


def register_new(claims: tuple[Claim, ...], path: Path | None = None, since: str | None = None) -> list[str]:
    """Append unregistered claims to the registry file; return their IDs.

    Each gets ``since``, the release that first publishes it: the first release in the history that lists
    it, else ``since`` if given, else the release the next pin will record (:func:`history.upcoming`, which
    evaluates the book's claims). The current release is already published without it.
    """
    path = path or IDS_FILE
    registry = read_registry(path)
    new = [c for c in claims if c.id not in registry.ids]
    if new:
        releases = history.read()
        text = path.read_text(encoding="utf-8")
        head, _, tail = text.partition("# Withdrawn claims")
        for claim in new:
            ident = identity(claim)
            listed = history.first_listing(releases, claim.id)
            if listed is None and since is None:
                since = _upcoming()  # evaluated once, for the first claim no release lists
            head += (
                f'[ids."{claim.id}"]\nsection = "{ident["section"]}"\n'
                f'dimension = "{ident["dimension"]}"\nsince = "{listed.number if listed else since}"\n\n'
            )
        write_atomic(path, head + "# Withdrawn claims" + tail)  # a failed write must not empty the registry
    return [c.id for c in new]


def _upcoming() -> str:
    """The release the next pin records for the book's own claims (evaluated on the book's database)."""
    import hwdb

    from .registry import evaluate_all

    return history.upcoming(evaluate_all(hwdb.load([])))


def url(evaluation: Evaluation) -> str:
    """The claim's permanent address, ``BASE/c/ID.html``: it stays valid if the box moves to another chapter.
    Empty when the book's address is not set: no citation format carries a relative address."""
    base = release.base_url()
    return base + permalink(evaluation.claim.id) if base else ""


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


def csl_json(evaluation: Evaluation, old_id: str | None = None, accessed: dt.date | None = None) -> dict[str, Any]:
    """A CSL-JSON item (the format Zotero, Pandoc and citeproc read); ``old_id`` files it under a renamed ID.
    ``issued`` is the release's date, ``accessed`` the day the item was made (:func:`accessed_on`)."""
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
        "accessed": _date_parts(accessed or accessed_on()),
        **({"URL": url(evaluation)} if url(evaluation) else {}),
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


def bibtex(evaluation: Evaluation, old_id: str | None = None, accessed: dt.date | None = None) -> str:
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
        **({"url": url(evaluation)} if url(evaluation) else {}),
        "urldate": (accessed or accessed_on()).isoformat(),
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


def bibliography(evaluations: dict[str, Evaluation], accessed: dt.date | None = None) -> str:
    """claims.bib: one entry per claim, one under each renamed ID, and one per withdrawn ID (marked so)."""
    day = accessed or accessed_on()
    live = [bibtex(e, old, day) for e, old in _with_aliases(evaluations)]
    return "\n".join(live + [withdrawn_bibtex(*w, accessed=day) for w in _withdrawn()])


def csl_items(evaluations: dict[str, Evaluation], accessed: dt.date | None = None) -> list[dict[str, Any]]:
    """claims.csl.json: one item per claim, one under each renamed ID, and one per withdrawn ID (marked so)."""
    day = accessed or accessed_on()
    live = [csl_json(e, old, day) for e, old in _with_aliases(evaluations)]
    return live + [withdrawn_csl(*w, accessed=day) for w in _withdrawn()]


def accessed_on() -> dt.date:
    """The day a citation is made: today (UTC), or ``SOURCE_DATE_EPOCH``'s day for a reproducible build.

    It is when the item was read, not when the release was made (that is ``issued``, the release's date)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"$SOURCE_DATE_EPOCH must be a count of seconds since 1970, not {epoch!r}") from None
    return dt.datetime.now(dt.UTC).date()


def _date_parts(day: dt.date) -> dict[str, list[list[int]]]:
    return {"date-parts": [[day.year, day.month, day.day]]}


Said = list[dict[str, Any]]


def _withdrawn() -> list[tuple[str, dict[str, str], Said]]:
    """Each withdrawn ID with its registry entry and its published versions, oldest first."""
    registry, releases = read_registry(), history.read()
    return [
        (cid, entry, history.of_claim(releases, cid, registry.aliases))
        for cid, entry in sorted(registry.withdrawn.items())
    ]


def tombstone_url(claim_id: str) -> str:
    """A withdrawn claim's permanent address (its tombstone), like :func:`url`: empty when unpublished."""
    base = release.base_url()
    return base + permalink(claim_id) if base else ""


def withdrawn_note(entry: dict[str, str], said: Said) -> str:
    """'Withdrawn in release R: why; it last said X against the lecture's Y (verdict), version REL+V.'"""
    text = f"Withdrawn in release {entry['release']}: {entry['reason'].strip().rstrip('.')}"
    if said:
        last = said[-1]
        text += (
            f"; it last said {last['judged']} against the lecture's {last['stated']} ({last['verdict']}), "
            f"version {last['release']}+{last['version']}"
        )
    return text + "."


def _last_version(said: Said) -> str:
    return f"{said[-1]['release']}+{said[-1]['version']}" if said else ""


def withdrawn_csl(claim_id: str, entry: dict[str, str], said: Said, accessed: dt.date | None = None) -> dict[str, Any]:
    """A withdrawn claim's CSL-JSON item: its key kept, the title saying it was withdrawn (styles drop the note)."""
    version = _last_version(said)
    return {
        "id": f"claim:{claim_id}",
        "type": "dataset",
        "title": f"{claim_id}: withdrawn in release {entry['release']} ({entry['reason'].strip().rstrip('.')})",
        "container-title": release.TITLE,
        "publisher": release.PUBLISHER,
        **({"version": version} if version else {}),
        "author": [{"literal": release.PUBLISHER}],
        "issued": _date_parts(dt.date.fromisoformat(release.DATE)),
        "accessed": _date_parts(accessed or accessed_on()),
        **({"URL": tombstone_url(claim_id)} if tombstone_url(claim_id) else {}),
        "note": withdrawn_note(entry, said),
    }


def withdrawn_bibtex(claim_id: str, entry: dict[str, str], said: Said, accessed: dt.date | None = None) -> str:
    """A withdrawn claim's @misc entry under its old key, so a document citing it still compiles, and says why."""
    version = _last_version(said)
    fields = {
        "author": f"{{{_bibtex_escape(release.PUBLISHER)}}}",
        "title": "{" + _bibtex_escape(f"{claim_id}: withdrawn in release {entry['release']}") + "}",
        **({"url": tombstone_url(claim_id)} if tombstone_url(claim_id) else {}),
        "urldate": (accessed or accessed_on()).isoformat(),
        "organization": _bibtex_escape(release.PUBLISHER),
        "booktitle": _bibtex_escape(release.TITLE),
        "year": release.DATE.split("-")[0],
        **({"version": version} if version else {}),
        "note": _bibtex_escape(withdrawn_note(entry, said)),
    }
    body = ",\n".join(f"  {key} = {{{value}}}" for key, value in fields.items())
    return f"@misc{{claim:{claim_id},\n{body}\n}}\n"


def pin(evaluation: Evaluation) -> str:
    """What a document writes after ``@`` to pin this content of the claim: ``RELEASE+VERSION``."""
    return f"{release.VERSION}+{content_version(evaluation)}"


def cite(evaluation: Evaluation, form: str) -> str:
    """One citation of a claim in ``md``, ``rst``, ``bibtex`` or ``json`` (CSL-JSON).

    The Markdown and reST lines cite in the explicit form the citation checkers read, ``claim:ID@PIN``
    (reST: the ``claim`` role of ``claims.citing``), so a pasted citation is checked as it stands."""
    c = evaluation.claim
    cited, address = f"{c.id}@{pin(evaluation)}", url(evaluation)
    if form == "md":
        text = f"[claim:{cited}]({address})" if address else f"claim:{cited}"
        return f"{text} ({release.TITLE}): {summary(evaluation)}\n"
    if form == "rst":
        plain = f"\n\nWithout claims.citing: `claim:{cited} <{address}>`__" if address else ""
        return f":claim:`{cited}` ({release.TITLE}): {summary(evaluation)}{plain}\n"
    if form == "bibtex":
        return bibtex(evaluation)
    if form == "json":
        return json.dumps(csl_json(evaluation), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown citation format {form!r} (known: {', '.join(FORMATS)})")
