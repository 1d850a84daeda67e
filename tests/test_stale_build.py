"""Stale-build immunity, hermetic and deterministic builds, and the mutation harness's parts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_repo, edit

from claims.mutate import _perturb

SPHINX = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-c", ".", "book", "_build/html"]


def build(repo: Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, *SPHINX], cwd=repo, capture_output=True, text=True)


def pin(repo: Path) -> None:
    subprocess.run([sys.executable, "-m", "claims", "pin"], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_repo(tmp_path_factory.mktemp("stale") / "repo")
    assert build(repo).returncode == 0
    return repo


def test_claims_code_change_fails_the_incremental_build_and_revert_passes(repo: Path) -> None:
    module = repo / "claims/catalogue/serving.py"
    original = module.read_text()
    edit(module, "result=M / W,", "result=2 * M / W,")
    try:
        failed = build(repo)
        assert failed.returncode != 0
        assert "serving.train-interval" in failed.stderr
        assert "no input changed: the derivation or its code did" in failed.stderr
    finally:
        module.write_text(original)
    assert build(repo).returncode == 0


def test_hwdb_revert_turns_the_build_green_again(repo: Path) -> None:
    toml = repo / "hwdb/data/accelerators/tpu-v5e.toml"
    original = toml.read_text()
    edit(toml, "value = 819\n", "value = 900\n")
    try:
        assert build(repo).returncode != 0
    finally:
        toml.write_text(original)
    assert build(repo).returncode == 0


def _figure(html: str, name: str) -> str:
    """The inline SVG of one generated figure."""
    return html[html.index(f'id="figure-{name}"') :].split("</svg>")[0]


def test_generated_figure_shows_new_data(repo: Path) -> None:
    page = repo / "_build/html/train.html"
    before = page.read_text()
    toml = repo / "hwdb/data/accelerators/h100-sxm.toml"
    original = toml.read_text()
    edit(toml, "value = 3.35\n", "value = 2.0\n")
    try:
        pin(repo)
        assert build(repo).returncode == 0
        after = page.read_text()
        assert _figure(after, "drain-time") != _figure(before, "drain-time")
    finally:
        toml.write_text(original)
        pin(repo)
    assert build(repo).returncode == 0


def test_a_failed_build_leaves_no_claims_json(repo_copy: Path) -> None:
    edit(repo_copy / "hwdb/data/accelerators/h100-sxm.toml", "value = 3.35\n", "value = 3.9\n")
    assert build(repo_copy).returncode != 0
    assert not (repo_copy / "_build/html/claims.json").exists()


def test_two_clean_builds_give_identical_claims_json(repo_copy: Path, tmp_path: Path) -> None:
    assert build(repo_copy).returncode == 0
    first = (repo_copy / "_build/html/claims.json").read_bytes()
    shutil.rmtree(repo_copy / "_build")
    assert build(repo_copy).returncode == 0
    assert (repo_copy / "_build/html/claims.json").read_bytes() == first


def _can_unshare() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not _can_unshare(), reason="needs `unshare -n` (root, util-linux) to cut the network")
def test_book_builds_with_the_network_unreachable(repo_copy: Path) -> None:
    result = build(repo_copy, ("unshare", "-n"))
    assert result.returncode == 0, result.stderr
    html = (repo_copy / "_build/html/rooflines.html").read_text()
    assert "cdn." not in html and "https://cdn" not in html


def test_perturb_changes_only_the_named_field() -> None:
    text = '[fields.a]\nvalue = 2\nunit = "GB"\n\n[fields.b]\nvalue = 3\nunit = "GB"\n'
    assert _perturb(text, "b", 1.5) == '[fields.a]\nvalue = 2\nunit = "GB"\n\n[fields.b]\nvalue = 4.5\nunit = "GB"\n'
    with pytest.raises(ValueError, match=r"no \[fields.c\] table"):
        _perturb(text, "c", 1.5)
