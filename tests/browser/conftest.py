"""What every browser test shares: the built site served on localhost, and one headless Chromium.

The site is ``_build/html`` (or ``$BOOK_SITE``); a folder marked BUILD-FAILED is refused, since its pages
are not to be tested or published. Chromium is Debian's package (or ``$CHROMIUM``), driven by Playwright.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

REPO = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("BOOK_SITE", REPO / "_build/html"))  # another build folder: $BOOK_SITE
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/favicon.ico":  # Chromium asks for one on its first page; the book has none
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    assert (SITE / "index.html").exists(), "build the book first (nox -s book)"
    failed = SITE / "BUILD-FAILED.txt"
    assert not failed.exists(), f"{failed} says the last build failed; its pages are not to be tested or published"
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()
