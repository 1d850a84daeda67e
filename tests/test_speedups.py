"""The build's speed-ups (claims.sphinx.speedups): one setting says which run, and none changes the site."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BOOK_BUILD, copy_repo

from claims.sphinx.speedups import SPEEDUPS, chosen, option
from hwdb.parsed import cache_root

ALL = frozenset(SPEEDUPS)


@pytest.mark.parametrize(
    ("setting", "runs"),
    [
        ("all", ALL),
        ("none", frozenset()),
        ("", frozenset()),
        ("ahead", {"ahead"}),
        ("ahead, collector", {"ahead", "collector"}),
        ("-ahead", ALL - {"ahead"}),
        ("-ahead,-collector,-store", frozenset()),
        ("-store", ALL - {"store"}),
    ],
)
def test_a_setting_names_the_speedups_that_run(setting: str, runs: frozenset[str]) -> None:
    assert chosen(setting) == runs


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("ahaed", "'ahaed' (the speed-ups are "),
        ("-gc", "'gc' (the speed-ups are "),
        ("ahead,-collector", "mixes names to run with names to leave out"),
        ("all,ahead", "'all' (the speed-ups are "),
        ("writer", "'writer' (the speed-ups are "),
    ],
)
def test_a_setting_that_is_not_a_speedup_is_refused_by_name(setting: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        chosen(setting)


def _build(repo: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [*BOOK_BUILD[:-1], str(out), *extra]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env)


def test_an_unknown_speedup_fails_the_build_by_name(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo")
    result = _build(repo, tmp_path / "out", *option("-ahead,-gc"))
    assert result.returncode != 0
    assert "claims_speedups: not a speed-up: 'gc'" in result.stderr


def _site(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".doctrees" not in p.parts
    }


@pytest.mark.slow
def test_the_site_is_the_same_byte_for_byte_with_every_speedup_and_with_none(built_book: Path, tmp_path: Path) -> None:
    """The test run's shared build (every speed-up, the default), a clean build of another copy with none, and
    a clean build of that copy with every speed-up once the store holds its figures: the same files, byte for
    byte. Builds are also deterministic, claims.json included."""
    repo = copy_repo(tmp_path / "repo")
    result = _build(repo, tmp_path / "none", *option("none"))
    assert result.returncode == 0, result.stderr
    with_all, with_none = _site(built_book / "_build/html"), _site(tmp_path / "none")
    assert sorted(with_all) == sorted(with_none)
    assert [name for name in with_none if with_all[name] != with_none[name]] == []

    # The shared build has drawn every figure into the store, so a clean build of the unedited tree now
    # draws none: each figure is served from the store, and the site is still the same.
    # A copy of the user cache, so that what the other worker's builds store meanwhile cannot count here.
    root = cache_root()
    assert root is not None, "the tests run with the user cache on"
    shutil.copytree(root, tmp_path / "cache")
    stored = _drawings(tmp_path / "cache")
    served = _build(repo, tmp_path / "served", env={**os.environ, "CLAIMS_CACHE_DIR": str(tmp_path / "cache")})
    assert served.returncode == 0, served.stderr
    assert _drawings(tmp_path / "cache") == stored, "a clean build of an unedited tree drew a figure the store held"
    with_store = _site(tmp_path / "served")
    assert [name for name in with_none if with_store.get(name) != with_none[name]] == []


def _drawings(cache: Path) -> dict[str, int]:
    """Every drawing in a cache's figure store, with its modification time."""
    return {str(p): p.stat().st_mtime_ns for p in (cache / "figures").rglob("*.svg.z")}
