"""The book's release: one version and date, used by the book, the exports and citations."""

from __future__ import annotations

import os

VERSION = "0.1.0"
DATE = "2026-11-26"
TITLE = "The lecture, verified"
PUBLISHER = "The claims-book authors"

#: Where the HTML book is published; citations are absolute when this is set.
#: Empty means unpublished: citations then carry book-relative URLs.
BASE_URL_ENV = "CLAIMS_BASE_URL"


def base_url() -> str:
    url = os.environ.get(BASE_URL_ENV, "").strip()
    return url if not url or url.endswith("/") else url + "/"
