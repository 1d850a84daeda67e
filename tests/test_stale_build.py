"""Stale-build immunity, hermetic and deterministic builds, and the mutation harness's parts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import BOOK_BUILD, built_offline, can_unshare

from claims.mutate import _perturb
from claims.sphinx.speedups import DRAWS_EVERY_FIGURE
from claims.sphinx.unfinished import EXPORTS

#: The module's tests fall in two groups, each run by one worker on its own built copy (tests/conftest.py).
FIRST, SECOND = pytest.mark.xdist_group("test_stale_build"), pytest.mark.xdist_group("test_stale_build-2")


def build(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(BOOK_BUILD, cwd=repo, capture_output=True, text=True)


def fails_until_reverted(repo: Path, path: Path, edited: str, *messages: str) -> None:
    """With ``path`` holding ``edited`` the build fails, naming each message; restored, it passes again."""
    original = path.read_text()
    path.write_text(edited)
    try:
        failed = build(repo)
        assert failed.returncode != 0
        for message in messages:
            assert message in failed.stderr
    finally:
        path.write_text(original)
    assert build(repo).returncode == 0


@pytest.fixture(scope="module")
def repo(tracked: Tracked) -> Path:
    """The module's built copy, for tests that edit it and put it back as they found it."""
    return tracked.repo


@pytest.mark.slow
@FIRST
def test_claims_code_change_fails_the_incremental_build_and_revert_passes(repo: Path) -> None:
    module = repo / "claims/catalogue/serving.py"
    text = module.read_text()
    assert text.count("result=M / W,") == 1
    edited = text.replace("result=M / W,", "result=2 * M / W,")
    fails_until_reverted(
        repo, module, edited, "serving.train-interval", "no input changed: the derivation or its code did"
    )


def _figure(html: str, name: str) -> str:
    """The inline SVG of one generated figure."""
    return html[html.index(f'id="figure-{name}"') :].split("</svg>")[0]


@pytest.mark.slow
@FIRST
@pytest.mark.skipif(not can_unshare(), reason="needs `unshare -n` (root, util-linux) to cut the network")
def test_book_builds_with_the_network_unreachable(tracked: Tracked) -> None:
    # The shared built book, which this module's copies start from, was built in a network namespace of its
    # own, loopback down too: nothing was reachable. The notebooks run on an in-process kernel, so not even
    # 127.0.0.1 is needed.
    assert tracked.offline
    html = tracked.site["rooflines.html"].decode()
    assert "cdn." not in html and "https://cdn" not in html


def test_perturb_changes_only_the_named_field() -> None:
    text = '[fields.a]\nvalue = 2\nunit = "GB"\n\n[fields.b]\nvalue = 3\nunit = "GB"\n'
    assert _perturb(text, "b", 1.5) == '[fields.a]\nvalue = 2\nunit = "GB"\n\n[fields.b]\nvalue = 4.5\nunit = "GB"\n'
    with pytest.raises(ValueError, match=r"no \[fields.c\] table"):
        _perturb(text, "c", 1.5)


# ---------------------------------------------------------------- incremental builds after a data edit

TRACKED_EDITS = {
    "accelerator field": ("hwdb/data/accelerators/h100-sxm.toml", "hbm_bandwidth"),
    "price sheet": ("hwdb/data/prices/claude-haiku-4-5.toml", "output_price"),
    "model field": ("hwdb/data/models/deepseek-v3.toml", "total_params"),
    "assumption": ("hwdb/data/assumptions/lecture-examples.toml", "step_time"),
    "source title": ("hwdb/data/sources.toml", "anthropic-pricing"),
}
#: The edits that move a pinned number: the build must fail on drift until the edit is reverted (or pinned).
NUMBERS_MOVED = ("accelerator field", "price sheet", "model field", "assumption")
#: Pages that show no hwdb value and no claim's number: no data edit may re-read them.
DATA_FREE_PAGES = ("policy", "notation")
#: Pages that show claims the edit moves, but none of the text they show of them (the claim index, the
#: landing page's values and verdicts, the explore page's per-chip claims, a chapter's inline values):
#: they must not be re-read for it. (A model field has none left: the prices chapter, once spared, now
#: shows DeepSeek-V3's balanced batch in an exercise.)
SPARED = {
    "accelerator field": {"context"},
    "price sheet": {"claims", "index", "explore"},
    "source title": {"claims", "index", "explore"},
}


def _sphinx(repo: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [*BOOK_BUILD[:-1], str(out), *extra]
    # One hash seed for every build: a page that iterates a set must not differ between processes.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env)


def _is_notebook(name: str, out: Path) -> bool:
    return name.endswith(".ipynb") or (name.endswith(".html") and (out / name).with_suffix(".ipynb").exists())


def _normalised(name: str, data: bytes) -> bytes:
    """What may legitimately differ between an incremental and a clean build of the same tree, removed.

    - myst-nb's stylesheet and the offline MathJax are written after the pages, so only a build that
      finds them from an earlier build can add Sphinx's ``?v=`` checksum to their links (any incremental
      build, a prose edit's too); the checksum reflects a static file, never a page's data;
    - Sphinx's incremental search index keeps a word no page holds any more, with no pages (``[]``);
      a clean index leaves it out. No search can tell them apart.
    """
    if name.endswith(".html"):
        return re.sub(rb'(_static/[^"?]+)\?v=[0-9a-f]+"', rb'\1"', data)
    if name == "searchindex.js":
        head, _, rest = data.decode().partition("(")
        index = json.loads(rest.rstrip().removesuffix(")"))
        for table in ("terms", "titleterms"):
            index[table] = {word: docs for word, docs in index[table].items() if docs != []}
        return (head + "(" + json.dumps(index, sort_keys=True) + ")").encode()
    return data


def _site(out: Path) -> dict[str, bytes]:
    """Every file a build wrote, normalised, by path; not the doctrees, not the executed notebooks, and
    not ``c/`` (the permanent addresses: a green build writes them and a red one leaves them; they show
    no number).

    A notebook page is compared as its reader sees it, its text with whitespace collapsed: a kernel splits
    its stdout into stream outputs as it flushes, differently from run to run, so the markup around the
    same text differs. The executed ``.ipynb`` files (random cell IDs) are not compared.
    """
    site = {}
    for p in sorted(out.rglob("*")):
        name = p.relative_to(out).as_posix()
        if not p.is_file() or p.relative_to(out).parts[0] in {".doctrees", "c"} or name.endswith(".ipynb"):
            continue
        site[name] = _notebook_text(p.read_bytes()) if _is_notebook(name, out) else _normalised(name, p.read_bytes())
    return site


def _notebook_text(data: bytes) -> bytes:
    return re.sub(rb"\s+", b" ", re.sub(rb"<[^>]+>", b" ", data)).strip()


def _read_stamps(out: Path) -> dict[str, int]:
    doctrees = out / ".doctrees"
    stamps = {
        p.relative_to(doctrees).with_suffix("").as_posix(): p.stat().st_mtime_ns for p in doctrees.rglob("*.doctree")
    }
    return stamps


def _retitle(text: str, source_id: str) -> str:
    """Change one source's title in sources.toml (its table's ``title = "…"`` line)."""
    table = re.search(rf"^\[{re.escape(source_id)}\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert table is not None, f"no [{source_id}] in sources.toml"
    title = re.search(r'^title = "(.*)"$', table.group(1), re.M)
    assert title is not None
    start = table.start(1) + title.start(1)
    return text[:start] + "Retitled: " + text[start:]


def _apply(repo: Path, kind: str) -> str:
    """Make one edit of the given kind; return the file's original text."""
    path, name = TRACKED_EDITS[kind]
    original = (repo / path).read_text()
    edited = _retitle(original, name) if kind == "source title" else _perturb(original, name, 1.1)
    (repo / path).write_text(edited)
    return original


def _differences(got: dict[str, bytes], want: dict[str, bytes]) -> list[str]:
    return sorted(name for name in set(got) | set(want) if got.get(name) != want.get(name))


@dataclass(frozen=True)
class Tracked:
    """A built scratch copy of the book: where it is, what its clean build wrote, and whether that build ran
    with the network unreachable (where ``unshare -n`` can cut it)."""

    repo: Path
    site: dict[str, bytes]
    offline: bool


@pytest.fixture(scope="module")
def tracked(built_book: Path, tmp_path_factory: pytest.TempPathFactory) -> Tracked:
    """A copy of the shared built book (its clean build, no build of its own), for each group to edit."""
    repo = tmp_path_factory.mktemp("tracked") / "repo"
    shutil.copytree(built_book, repo, symlinks=True)
    return Tracked(repo, _site(repo / "_build/html"), built_offline(built_book))


#: Each kind of edit, in the group that runs it (the two groups take about as long).
KINDS = [
    pytest.param("accelerator field", marks=FIRST),
    pytest.param("source title", marks=SECOND),
    pytest.param("price sheet", marks=SECOND),
    pytest.param("model field", marks=SECOND),
    pytest.param("assumption", marks=SECOND),
]
#: The kind whose revert is built and compared with the first build (the one that also pins and un-pins: the
#: most to undo). The other kinds put the build folder back as it was instead, which costs no build.
REVERTED = "accelerator field"
#: What ``python -m claims pin`` rewrites: put back byte for byte to undo a pin.
PIN_FILES = ("claims/claims.lock.json", "claims/published.lock.json", "claims/history.json", "claims/RELEASE")


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_incremental_build_after_a_data_edit_equals_a_clean_build(tracked: Tracked, kind: str, tmp_path: Path) -> None:
    """Each kind of data edit re-reads the pages that show it, and only pages that could: the result
    is, file for file, what a clean build of the edited tree writes; reverting it (and the pin, for
    :data:`REVERTED`) restores the first build.

    The edits move pinned numbers, so these builds are red (drift); a red build still writes every page,
    and both builds must fail the same way. Nothing is normalised: the builds are deterministic.
    """
    repo, base = tracked.repo, tracked.site
    out = repo / "_build/html"
    path, _ = TRACKED_EDITS[kind]
    before = _read_stamps(out)
    originals = {name: ((repo / name).read_bytes(), (repo / name).stat()) for name in (path, *PIN_FILES)}
    if kind != REVERTED:
        shutil.copytree(out, tmp_path / "before")  # the build as it was, modification times and all
    _apply(repo, kind)
    try:
        extra = ("-j", "2") if kind == "price sheet" else ()  # one edit read in parallel: env-merge-info
        incremental = _sphinx(repo, out, *extra)
        reread = {doc for doc, stamp in _read_stamps(out).items() if before.get(doc) != stamp}
        # The clean build draws every figure itself: the store would hand it what the build under test drew.
        clean = _sphinx(repo, tmp_path / "clean", *DRAWS_EVERY_FIGURE)
        assert incremental.returncode == clean.returncode
        if kind in NUMBERS_MOVED:
            assert incremental.returncode != 0, f"{kind}: a pinned number moved and the build is green"
        got, want = _site(out), _site(tmp_path / "clean")
        assert _differences(got, want) == [], f"{kind}: the incremental build differs from a clean one"
        assert _differences(got, base), f"{kind}: the edit to {path} changed no page (the test edits nothing shown)"
        assert reread and not reread & set(DATA_FREE_PAGES), f"{kind}: re-read {sorted(reread)}"
        assert not reread & SPARED.get(kind, set()), f"{kind}: re-read {sorted(reread & SPARED[kind])} for nothing"
        assert len(reread) < len(before), f"{kind}: every page was re-read"
        if kind == "price sheet":  # a notebook re-runs when what its evaluations show moved, not on every edit
            notebooks = {doc for doc in before if (out / doc).with_suffix(".ipynb").exists()}
            assert notebooks & reread == {"notebooks/prices"}, f"{kind}: re-executed {sorted(notebooks & reread)}"
            _refuses_to_publish(out)
        if kind == "accelerator field":
            page = "train.html"  # a generated figure shows the new data
            assert _figure(got[page].decode(), "drain-time") != _figure(base[page].decode(), "drain-time")
            _stays_red_until_pinned(repo, out, json.loads(base["claims.json"]))
    finally:
        for name, (data, stat) in originals.items():
            (repo / name).write_bytes(data)
            os.utime(repo / name, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        if kind != REVERTED:  # the copy as it was before the edit, for the next test: no build needed
            shutil.rmtree(out)
            shutil.copytree(tmp_path / "before", out)
    if kind == REVERTED:
        restored = _sphinx(repo, out)
        assert restored.returncode == 0, restored.stderr
        assert _differences(_site(out), base) == [], f"{kind}: reverting the edit did not restore the pages"


def _refuses_to_publish(out: Path) -> None:
    """A red build's pages may show the new number: no export of the old one may sit beside them."""
    assert not any((out / name).exists() for name in EXPORTS), "a failed build left an export"
    assert "Do not publish" in (out / "BUILD-FAILED.txt").read_text()


def _stays_red_until_pinned(repo: Path, out: Path, before: dict[str, Any]) -> None:
    """After the accelerator edit: a second incremental build does not forget the failure; once pinned, the
    build is green, its export agrees with its pages, and the changelog page shows the new release with each
    moved claim's old and new value and verdict (``before``: the first build's export)."""
    again = _sphinx(repo, out)
    assert again.returncode != 0
    assert "batch.optimal-size" in again.stderr and "h100-sxm.hbm_bandwidth moved" in again.stderr
    _refuses_to_publish(out)
    pinned = subprocess.run([sys.executable, "-m", "claims", "pin"], cwd=repo, capture_output=True, text=True)
    assert pinned.returncode == 0, pinned.stderr
    green = _sphinx(repo, out)
    assert green.returncode == 0, green.stderr
    assert not (out / "BUILD-FAILED.txt").exists()
    path, name = TRACKED_EDITS["accelerator field"]
    bandwidth = tomllib.loads((repo / path).read_text())["fields"][name]["value"]  # TB/s
    exported = json.loads((out / "claims.json").read_text())
    ratio = next(c for c in exported["claims"] if c["id"] == "rooflines.hardware-ratio")
    h100 = next(r for r in ratio["rows"] if r["record"] == "h100-sxm")
    assert h100["value"] == pytest.approx(989.5e12 * 2 / (2 * bandwidth * 1e12))  # the export agrees with the pages
    assert f"{bandwidth:.4g} TB/s" in (out / "rooflines.html").read_text()
    changelog = (out / "changelog.html").read_text()
    assert f"Release {exported['release']['version']}" in changelog and "Value or verdict moved" in changelog
    old = {c["id"]: c for c in before["claims"]}
    moved = [(old[c["id"]], c) for c in exported["claims"] if c["id"] in old and c["judged"] != old[c["id"]]["judged"]]
    assert moved, "the edit moved no claim's value"
    for was, now in moved:
        assert f"{was['judged']} ({was['verdict']}) → {now['judged']} ({now['verdict']})" in changelog, now["id"]


@pytest.mark.slow
@SECOND
def test_figures_drawn_ahead_are_the_figures_drawn_in_one_process(built_book: Path) -> None:
    """The book's build draws its figures in a forked child (claims.sphinx.figure_cache); each page shows
    exactly the SVG that drawing the figure here, from the same data, gives."""
    import hwdb
    from claims import evaluate_all
    from claims.figures import FIGURES, render_svg

    db = hwdb.load_from(built_book / "hwdb" / "data")
    evaluations = evaluate_all(db)
    pages = {p: p.read_text() for p in (built_book / "_build/html").glob("*.html")}
    for name, spec in FIGURES.items():
        shown = [p for p, text in pages.items() if f'id="figure-{name}"' in text]
        assert len(shown) == 1, f"{name}: on {len(shown)} pages"
        svg = render_svg(spec.draw(db, evaluations))
        assert svg in pages[shown[0]], f"{name}: the page's SVG is not the one drawn in one process"


@pytest.mark.slow
@SECOND
def test_notebooks_run_ahead_are_the_notebooks_run_in_one_process(built_book: Path) -> None:
    """The book's build runs its notebooks in a forked child (claims.sphinx.ahead); each downloadable
    notebook holds exactly the outputs that running it here gives."""
    import nbformat

    from claims.sphinx import kernel

    for source in sorted((built_book / "book/notebooks").glob("*.nb.md")):
        name = source.name.removesuffix(".nb.md")
        built = nbformat.reads((built_book / f"_build/html/notebooks/{name}.ipynb").read_text(), as_version=4)  # type: ignore[no-untyped-call]
        here = kernel._execute(source.read_text(), str(source))
        shown = [(c.source, c.execution_count, c.outputs) for c in built.cells if c.cell_type == "code"]
        assert shown == [(c.source, c.execution_count, c.outputs) for c in here.cells if c.cell_type == "code"], name


@pytest.mark.slow
@FIRST
def test_a_notebook_that_fails_ahead_fails_its_page_with_the_cell_named(repo: Path) -> None:
    notebook = repo / "book/notebooks/prices.nb.md"
    edited = notebook.read_text() + "\n```{code-cell} ipython3\nshare = 1 / 0\n```\n"
    fails_until_reverted(
        repo, notebook, edited, "notebooks/prices.nb.md: code cell", "raised ZeroDivisionError: division by zero"
    )
