"""The book's release: one version and date, used by the book, the exports and citations.

Both are read from the last release in ``claims/history.json``, which ``python -m claims pin``
extends whenever a claim changes: the number can never lag behind what the book publishes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .history import latest

if TYPE_CHECKING:
    VERSION: str
    DATE: str


def __getattr__(name: str) -> Any:
    """VERSION and DATE, read from the history on first use: a command that needs no release (``--help``,
    ``verify``) runs even when the history is missing or damaged; one that does gets its one-line error."""
    if name not in ("VERSION", "DATE"):
        raise AttributeError(f"module 'claims.release' has no attribute {name!r}")
    last = latest()
    globals().update(VERSION=last.number, DATE=last.date)
    return globals()[name]


TITLE = "The lecture, verified"
PUBLISHER = "The claims-book authors"

#: Where the HTML book is published. Set at build time; Read the Docs sets the second, which is used
#: when the first is not. With neither, the book is unpublished: citation formats then carry no address
#: (a relative one would resolve against whatever document quotes it).
BASE_URL_ENV = "CLAIMS_BASE_URL"
READTHEDOCS_ENV = "READTHEDOCS_CANONICAL_URL"


def base_url() -> str:
    """The published address, ending in '/', or '' when unpublished; a value that is not an http(s)
    address is an error naming the variable it came from."""
    for name in (BASE_URL_ENV, READTHEDOCS_ENV):
        url = os.environ.get(name, "").strip()
        if url:
            if not url.startswith(("http://", "https://")) or " " in url:
                raise ValueError(f"${name} must be the book's http(s) address, not {url!r}")
            return url if url.endswith("/") else url + "/"
    return ""
