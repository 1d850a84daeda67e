"""The book's release: one version and date, used by the book, the exports and citations.

Both are read from the last release in ``claims/history.json``, which ``python -m claims pin``
extends whenever a claim changes: the number can never lag behind what the book publishes.
"""

from __future__ import annotations

import os

from .history import latest

_LATEST = latest()
VERSION = _LATEST.number
DATE = _LATEST.date
TITLE = "The lecture, verified"
PUBLISHER = "The claims-book authors"

#: Where the HTML book is published; citations are absolute when this is set.
#: Empty means unpublished: citations then carry book-relative URLs.
BASE_URL_ENV = "CLAIMS_BASE_URL"


def base_url() -> str:
    url = os.environ.get(BASE_URL_ENV, "").strip()
    return url if not url or url.endswith("/") else url + "/"
