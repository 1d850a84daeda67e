"""Cite the book's claims from another Sphinx project, with their current value and verdict.

In the citing project's ``conf.py``::

    extensions = ["claims.citing"]
    claims_json = "https://…/claims.json"   # or a path, relative to conf.py

Roles, in MyST as ``{claim}`ID``` or in reST as ``:claim:`ID```:

- ``claim``: a link to the claim's box, with the claim's title as its text;
- ``claim-value``, ``claim-verdict``, ``claim-stated``: the claim's value (what its verdict is
  judged on), its verdict, and the lecture's figure, each linked to the box.

Each takes ``ID@VERSION`` to pin the content version a document quoted: when the book has moved
on, the build warns naming the claim, the pinned version and the current value and verdict, so
a ``-W`` build fails until the text is reviewed. An unknown ID is an error that names the
nearest IDs; a renamed ID resolves, with a warning naming the new one. The extension reads
``claims.json`` once per build (re-reading every page that cites a claim when it changes) and
writes nothing into the citing project's output. It needs only this package and Sphinx: no
engine, no data, no plotting library.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

from hwdb.files import write_atomic

from .refs import Book, fetch_export, load_book, quoted, withdrawn_text

logger = logging.getLogger(__name__)


def _book(app: Sphinx) -> Book:
    book: Book | None = getattr(app, "_claims_citing_book", None)
    if book is None:
        raise RuntimeError("claims.citing: claims_json was not loaded")  # builder-inited always loads it
    return book


def load_for_build(app: Sphinx) -> None:
    """builder-inited: read claims.json once; pages that cite claims are re-read when it changes."""
    where = str(app.config.claims_json or "")
    if not where:
        raise ValueError("claims.citing: set claims_json in conf.py to the book's claims.json (a path or a URL)")
    if not _is_url(where) and not Path(where).is_absolute():
        where = str(Path(app.confdir) / where)
    book = _load_cached(where, Path(app.doctreedir) / "claims-citing") if _is_url(where) else load_book(where)
    app._claims_citing_book = book  # type: ignore[attr-defined]
    digest = hashlib.sha256(json.dumps(book.claims, sort_keys=True).encode()).hexdigest()
    app._claims_citing_digest = digest  # type: ignore[attr-defined]


def _is_url(where: str) -> bool:
    return where.startswith(("http://", "https://"))


def _load_cached(url: str, folder: Path) -> Book:
    """A published claims.json, fetched once per build; the last copy fetched (kept beside the doctrees,
    named by the URL and the book's release) serves an offline build, with a warning naming its release."""
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    try:
        document = fetch_export(url)
    except (OSError, ValueError) as exc:
        copies = sorted(folder.glob(f"{key}-*.json"), key=lambda p: p.stat().st_mtime)
        if not copies:
            raise ValueError(f"claims.citing: cannot fetch {url} ({exc}) and no earlier copy is cached") from exc
        logger.warning(
            f"claims.citing: cannot fetch {url} ({exc}); using the copy of release "
            f"{copies[-1].stem.split('-', 1)[1]} fetched earlier"
        )
        return Book.from_export(json.loads(copies[-1].read_text(encoding="utf-8")), url)
    folder.mkdir(parents=True, exist_ok=True)
    release = str(document.get("release", {}).get("version", "unknown"))
    write_atomic(folder / f"{key}-{release}.json", json.dumps(document))
    return Book.from_export(document, url)


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


def _base(book: Book) -> str:
    """Where the book's pages are: its declared base URL, else beside the claims.json it was read from."""
    if book.base_url:
        return book.base_url.rstrip("/") + "/"
    if book.source.startswith(("http://", "https://")):
        return book.source.rsplit("/", 1)[0] + "/"
    return ""


class ClaimRole(SphinxRole):
    """One of the four roles; ``show`` picks what the text is."""

    def __init__(self, show: str) -> None:
        super().__init__()
        self.show = show

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        book = _book(self.env.app)
        self.env.claims_citing_pages = {  # type: ignore[attr-defined]
            **getattr(self.env, "claims_citing_pages", {}),
            self.env.docname: getattr(self.env.app, "_claims_citing_digest", ""),
        }
        cited, _, pinned = self.text.strip().partition("@")
        claim_id = book.aliases.get(cited, cited)
        claim = book.claims.get(claim_id)
        location = self.get_location()
        if claim is None and cited in book.withdrawn:
            entry = book.withdrawn[cited]
            logger.warning(f"claim '{cited}' was {withdrawn_text(entry)}", location=location)
            link = nodes.reference(self.rawtext, cited, refuri=_base(book) + entry["permalink"], classes=["withdrawn"])
            return [link], []
        if claim is None:
            near = difflib.get_close_matches(cited, list(book.claims), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            logger.error(f"unknown claim ID '{cited}' in {book.source}{hint}", location=location)
            return [nodes.literal(self.rawtext, self.text, classes=["claim-missing"])], []
        if claim_id != cited:
            logger.warning(f"claim '{cited}' was renamed to '{claim_id}'; cite the new ID", location=location)
        if pinned and pinned != claim["version"]:
            logger.warning(
                f"claim '{claim_id}' is cited at {quoted(claim, pinned)}, "
                f"but the book now has version {claim['version']}: "
                f"{claim['judged']}, {claim['verdict']}, against the lecture's {claim['stated_display']}; "
                "review the text and update the pin",
                location=location,
            )
        text = {
            "claim": claim["title"],
            "claim-value": claim["judged"],
            "claim-verdict": claim["verdict"],
            "claim-stated": claim["stated_display"],
        }[self.show]
        link = nodes.reference(self.rawtext, text, refuri=_base(book) + claim["permalink"], classes=[self.show])
        link["reftitle"] = f"{claim_id}: {claim['title']} ({claim['verdict']})"
        return [link], []


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("claims_json", "", "env", types=[str])
    # The book publishes its claims in objects.inv as std:claim. Registering that object type lets
    # intersphinx resolve them here; its role is this extension's, so :claim: and
    # :external+book:std:claim: both render the claim's title from claims.json.
    app.add_object_type("claim", "claim", objname="claim")
    app.add_role_to_domain("std", "claim", ClaimRole("claim"), override=True)
    for name in ("claim-value", "claim-verdict", "claim-stated"):
        app.add_role(name, ClaimRole(name))
    app.connect("builder-inited", load_for_build)
    app.connect("env-get-outdated", outdated)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
