"""Sessions: verify, tests, book, lint, pin, browser, mutate, bench. Run ``nox -s NAME``."""

from __future__ import annotations

import shutil

import nox

# uv makes a fresh machine's installs take seconds; without it, plain venv and pip do the same job.
nox.options.default_venv_backend = "uv|venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "verify", "tests", "book"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = "3.11"


def install(session: nox.Session, *groups: str) -> None:
    """The project (editable, so the lock and data are the working tree's) and groups."""
    session.install("-e", ".")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session(python=PYTHON)
def verify(session: nox.Session) -> None:
    """The claims test suite: one test per claim and per hardware row, against the lock."""
    install(session, "test")
    session.run("python", "-m", "pytest", "tests/verify", "-q", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit, property and drift tests of hwdb, the engine and the Sphinx extension, whole-book builds included
    (``nox -s tests -- -m "not slow"`` leaves out the builds and fresh environments: the quick loop)."""
    install(session, "test", "book")
    if session.venv_backend == "uv":
        session.install("pip")  # tests/conftest.py installs the wheel with pip where uv is not on the PATH
    # Many tests build the book in a scratch copy; spread them over the machine's cores.
    session.run(
        "python",
        "-m",
        "pytest",
        "tests",
        "--ignore=tests/verify",
        "--ignore=tests/browser",
        "-q",
        "-n",
        "auto",
        "--dist",
        "loadgroup",  # a module's tests on one worker: its built copy is built once (tests/conftest.py)
        "--no-loadscope-reorder",  # in the order tests/conftest.py gives: the longest groups first
        *session.posargs,
    )


@nox.session(python=PYTHON)
def book(session: nox.Session) -> None:
    """Build the HTML book into _build/html from scratch, warnings as errors."""
    install(session, "book")
    shutil.rmtree("_build", ignore_errors=True)
    session.run(
        "sphinx-build", "-W", "--keep-going", "-n", "-b", "html", "-c", ".", "book", "_build/html", *session.posargs
    )


@nox.session(python=PYTHON)
def browser(session: nox.Session) -> None:
    """Every page of the built book in headless Chromium (Debian's chromium package, or $CHROMIUM)."""
    install(session, "test", "book", "browser")
    session.run("sphinx-build", "-W", "--keep-going", "-q", "-b", "html", "-c", ".", "book", "_build/html")
    session.run("python", "-m", "pytest", "tests/browser", "-q", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) and mypy (strict)."""
    install(session, "lint", "test", "book", "browser")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Time evaluation, verify and book builds (medians, spread); write bench/results.json, README table."""
    install(session, "book")
    session.install("nox")  # to time `nox -s verify` itself
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(python=PYTHON)
def mutate(session: nox.Session) -> None:
    """Raise each hwdb input a claim uses by 10 % and check that verification names it."""
    install(session)
    session.run("python", "-m", "claims.mutate", "--json", "_build/mutate.json", *session.posargs)


EXAMPLE_OVERLAY = "book/examples/my-accelerator.toml"


@nox.session(python=PYTHON)
def pin(session: nox.Session) -> None:
    """Rewrite the book's lock and the worked overlay example's lock; review the diff."""
    install(session)
    session.run("python", "-m", "claims", "pin", env={"HWDB_OVERLAY": ""})
    session.run("python", "-m", "claims", "--hwdb-overlay", EXAMPLE_OVERLAY, "pin", env={"HWDB_OVERLAY": ""})
