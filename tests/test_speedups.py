"""The build's speed-ups (claims.sphinx.speedups): one setting says which run, and none changes the site."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_repo

from claims.sphinx.speedups import SPEEDUPS, chosen

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
        ("-ahead,-collector", frozenset()),
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


def _build(repo: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-c", ".", "book", str(out), *extra]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True)


def test_an_unknown_speedup_fails_the_build_by_name(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo")
    result = _build(repo, tmp_path / "out", "-D", "claims_speedups=-ahead,-gc")
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
    """The test run's shared build (every speed-up, the default) and a clean build of another copy, in another
    process, with none: the same files, byte for byte. Builds are also deterministic, claims.json included."""
    repo = copy_repo(tmp_path / "repo")
    result = _build(repo, tmp_path / "none", "-D", "claims_speedups=none")
    assert result.returncode == 0, result.stderr
    with_all, with_none = _site(built_book / "_build/html"), _site(tmp_path / "none")
    assert sorted(with_all) == sorted(with_none)
    assert [name for name in with_none if with_all[name] != with_none[name]] == []
