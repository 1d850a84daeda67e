"""Cite the book's claims from another Sphinx project, with their current value and verdict.

In the citing project's ``conf.py``::

    extensions = ["claims.citing"]
    claims_json = "https://…/claims.json"   # or a path, relative to conf.py
    claims_base_url = "https://…/"          # only if that claims.json names no address of its own

Roles, in MyST as ``{claim}`ID``` or in reST as ``:claim:`ID```:

- ``claim``: a link to the claim's box, with the claim's title as its text (``{claim}`text <ID>```
  sets the text);
- ``claim-value``, ``claim-verdict``, ``claim-stated``: the claim's value (what its verdict is
  judged on), its verdict, and the lecture's figure, each linked to the box.

Each takes ``ID@PIN`` to pin the content version a document quoted (``1a2b3c4d5e6f``, at least its
first 8 digits, or ``0.4.0+1a2b3c4d5e6f``, as ``python -m claims cite`` prints it): when the book has
moved on, the build warns naming the claim, what the pinned version said and the current value and
verdict, so a ``-W`` build fails until the text is reviewed. Every warning is typed, so
``suppress_warnings`` can pick: ``claims.unknown``, ``claims.renamed``, ``claims.withdrawn``,
``claims.stale``, ``claims.pin`` (a malformed pin), ``claims.release``, ``claims.fetch`` (claims.json
unreadable) and ``claims.address`` (no address to link to). Each is reported once, at the line of the
role that caused it.

The extension reads ``claims.json`` once per build (re-reading every page that cites a claim when it
changes) and writes nothing into the citing project's output. It needs only this package and Sphinx:
no engine, no data, no plotting library.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole
from sphinx.util.nodes import split_explicit_title

from hwdb.files import write_atomic

from .citable import Book, BookError, is_url, load, parse, read
from .refs import problems

logger = logging.getLogger(__name__)
ROLES = ("claim", "claim-value", "claim-verdict", "claim-stated")


def _warn(message: str, subtype: str, location: Any = None) -> None:
    logger.warning(message, type="claims", subtype=subtype, location=location)


def load_for_build(app: Sphinx) -> None:
    """builder-inited: read claims.json once; pages that cite claims are re-read when it changes.

    A source that cannot be read is one ``claims.fetch`` warning naming it; the roles then render
    their text unlinked and unchecked, and say nothing more."""
    where = str(app.config.claims_json or "")
    book: Book | None = None
    if not where:
        _warn("claims.citing: set claims_json in conf.py to the book's claims.json (a path or a URL)", "fetch")
    else:
        if not is_url(where) and not Path(where).is_absolute():
            where = str(Path(app.confdir) / where)
        try:
            book = _load_cached(where, Path(app.doctreedir) / "claims-citing") if is_url(where) else load(where)
        except BookError as exc:
            _warn(f"claims.citing: {exc}", "fetch")
    app._claims_citing_book = book  # type: ignore[attr-defined]
    claims = book.claims if book is not None else None
    digest = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).hexdigest()
    app._claims_citing_digest = digest  # type: ignore[attr-defined]
    app._claims_citing_base = _base(app, book)  # type: ignore[attr-defined]
    app._claims_citing_said = set()  # type: ignore[attr-defined]


def _load_cached(url: str, folder: Path) -> Book:
    """A published claims.json, fetched once per build; the last copy fetched (kept beside the doctrees,
    named by the URL and the book's release) serves an offline build, with a warning naming its release."""
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    try:
        content = read(url)
        document = parse(content, url)
    except BookError as exc:
        copies = sorted(folder.glob(f"{key}-*.json"), key=lambda p: p.stat().st_mtime)
        if not copies:
            raise BookError(f"{exc}; no earlier copy is cached") from None
        release = copies[-1].stem.split("-", 1)[1]
        _warn(f"claims.citing: {exc}; using the copy of release {release} fetched earlier", "fetch")
        return Book.from_export(parse(copies[-1].read_bytes(), str(copies[-1])), url)
    folder.mkdir(parents=True, exist_ok=True)
    release = str(document["release"]["version"])
    write_atomic(folder / f"{key}-{release}.json", content)
    return Book.from_export(document, url)


def _base(app: Sphinx, book: Book | None) -> str | None:
    """Where the book's pages are: ``claims_base_url``, else the address the export declares, else beside
    a claims.json read from the web. None, with one warning, when none is known: a relative link would
    point into the citing project's own output."""
    declared = str(app.config.claims_base_url or "") or (book.base_url if book else "")
    if declared:
        return declared.rstrip("/") + "/"
    if book is None:
        return None
    if is_url(book.source):
        return book.source.rsplit("/", 1)[0] + "/"
    _warn(
        f"claims.citing: {book.source} names no published address (its base_url is empty) and claims_base_url "
        "is not set, so citations are not linked; set claims_base_url in conf.py to the book's address",
        "address",
    )
    return None


def outdated(app: Sphinx, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """env-get-outdated: every page that cites a claim, if the book's claims changed since it was read."""
    digest = getattr(app, "_claims_citing_digest", "")
    citing: dict[str, str] = getattr(env, "claims_citing_pages", {})
    return [doc for doc, seen in citing.items() if seen != digest and doc not in removed]


def purge(app: Sphinx, env: Any, docname: str) -> None:
    getattr(env, "claims_citing_pages", {}).pop(docname, None)


def merge(app: Sphinx, env: Any, docnames: set[str], other: Any) -> None:
    pages = getattr(env, "claims_citing_pages", {})
    pages.update({d: v for d, v in getattr(other, "claims_citing_pages", {}).items() if d in docnames})
    env.claims_citing_pages = pages


class ClaimRole(SphinxRole):
    """One of the four roles; ``show`` picks what the text is."""

    def __init__(self, show: str) -> None:
        super().__init__()
        self.show = show

    def _source_lines(self) -> list[str] | None:
        """The page's source as lines, read once per page read, not once per role (``temp_data`` is
        cleared when a page has been read, so a page read again is read afresh); None if unreadable."""
        pages: dict[str, list[str] | None] = self.env.temp_data.setdefault("claims_citing_source", {})  # type: ignore[assignment]
        docname = self.env.docname
        if docname not in pages:
            try:
                pages[docname] = self.env.doc2path(docname).read_text(encoding="utf-8").splitlines()
            except OSError:
                pages[docname] = None
        return pages[docname]

    def _line(self) -> int:
        """The role's own line: the paragraph's first line is all the parser reports, so the role's text is
        looked for in the source from there (a repeat in the same paragraph takes the next match)."""
        start = max(self.lineno, 1)
        source = self._source_lines()
        if source is None:
            return start
        seen: dict[tuple[int, str], int] = self.env.temp_data.setdefault("claims_citing_seen", {})  # type: ignore[assignment]
        # MyST hands roles their text rewritten as reST (":name:`text`"): look for the `text` part, which
        # both syntaxes write as it stands.
        body = self.rawtext[self.rawtext.find("`") :].splitlines()[0] if "`" in self.rawtext else self.rawtext
        nth = seen.get((start, body), 0)
        seen[(start, body)] = nth + 1
        lines = source[start - 1 : start + 200]
        places = [start + n for n, text in enumerate(lines) if body for _ in range(text.count(body))]
        return places[nth] if nth < len(places) else start

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        app = self.env.app
        book: Book | None = getattr(app, "_claims_citing_book", None)
        self.env.claims_citing_pages = {  # type: ignore[attr-defined]
            **getattr(self.env, "claims_citing_pages", {}),
            self.env.docname: getattr(app, "_claims_citing_digest", ""),
        }
        has_title, title, target = split_explicit_title(self.text.strip())
        cited, at, pinned = target.partition("@")
        if book is None:  # claims.json could not be read: said once, at load
            return [nodes.inline(self.rawtext, title if has_title else cited, classes=["claim-unchecked"])], []
        line = self._line()
        said: set[tuple[str, int, str, str]] = app._claims_citing_said  # type: ignore[attr-defined]
        found = list(problems(book, cited, pinned if at else None))
        for kind, message in found:
            if kind in ("stale", "pin", "release"):  # the shared message names the pin, not the claim
                message = f"claim '{cited}' {message}" if kind == "stale" else f"claim '{cited}': {message}"
            if (self.env.docname, line, cited, kind) not in said:
                said.add((self.env.docname, line, cited, kind))
                _warn(message, kind, (self.env.docname, line))
        claim = book.claims.get(book.aliases.get(cited, cited))
        base: str | None = getattr(app, "_claims_citing_base", None)
        if claim is None and cited in book.withdrawn:
            entry = book.withdrawn[cited]
            return [self._link(title if has_title else cited, base, entry["permalink"], "withdrawn")], []
        if claim is None:
            return [nodes.literal(self.rawtext, self.text, classes=["claim-missing"])], []
        text = {
            "claim": claim["title"],
            "claim-value": claim["judged"],
            "claim-verdict": claim["verdict"],
            "claim-stated": claim["stated_display"],
        }[self.show]
        node = self._link(title if has_title else text, base, claim["permalink"], self.show)
        node["reftitle"] = f"{claim['id']}: {claim['title']} ({claim['verdict']})"
        return [node], []

    def _link(self, text: str, base: str | None, permalink: str, kind: str) -> nodes.Element:
        if base is None:  # no address known: the text, unlinked (the build said why, once)
            return nodes.inline(self.rawtext, text, classes=[kind])
        return nodes.reference(self.rawtext, text, refuri=base + permalink, classes=[kind])


def forget_page(app: Sphinx, env: Any, docname: str) -> None:
    """A page read again reports its problems again."""
    said: set[tuple[str, int, str, str]] = getattr(app, "_claims_citing_said", set())
    said -= {s for s in said if s[0] == docname}


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("claims_json", "", "env", types=[str])
    app.add_config_value("claims_base_url", "", "env", types=[str])
    # The book publishes its claims in objects.inv as std:claim. Registering that object type lets
    # intersphinx resolve them here; its role is this extension's, so :claim: and
    # :external+book:std:claim: both render the claim's title from claims.json.
    app.add_object_type("claim", "claim", objname="claim")
    app.add_role_to_domain("std", "claim", ClaimRole("claim"), override=True)
    for name in ROLES[1:]:
        app.add_role(name, ClaimRole(name))
    app.connect("builder-inited", load_for_build)
    app.connect("env-get-outdated", outdated)
    app.connect("env-purge-doc", purge)
    app.connect("env-purge-doc", forget_page)
    app.connect("env-merge-info", merge)
    from . import release

    return {"version": release.VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
