"""The Sphinx adapter, end to end: real builds of a scratch copy of the book."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import BOOK_BUILD, HEADLINE, copy_repo, edit
from sphinx.util.inventory import InventoryFile


def build(repo: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BOOK_BUILD, *extra], cwd=repo, capture_output=True, text=True)


@pytest.fixture(scope="module")
def built(built_book: Path) -> Path:
    """The test run's shared build of the book (read only)."""
    return built_book


def test_objects_inv_lists_every_headline_claim(built: Path) -> None:
    with open(built / "_build/html/objects.inv", "rb") as handle:
        inventory = InventoryFile.load(handle, "", lambda base, uri: uri)
    claims = inventory["std:claim"]
    for claim_id in HEADLINE:
        assert claim_id in claims
    assert claims["batch.optimal-size"].uri == "rooflines.html#claim-batch.optimal-size"


def test_claims_json_matches_the_cli_export(built: Path) -> None:
    written = json.loads((built / "_build/html/claims.json").read_text())
    exported = subprocess.run(
        [sys.executable, "-m", "claims", "export", "--format", "json"],
        cwd=built,
        capture_output=True,
        text=True,
        check=True,
    )
    assert written == json.loads(exported.stdout)
    by_id = {c["id"]: c for c in written["claims"]}
    for claim_id in HEADLINE:
        claim = by_id[claim_id]
        for key in (
            "title",
            "statement",
            "source",
            "value",
            "unit",
            "stated",
            "tolerance",
            "verdict",
            "url",
            "inputs",
            "rows",
        ):
            assert key in claim, (claim_id, key)
        for item in claim["inputs"]:
            assert {"record", "field", "file", "value", "unit", "source"} <= set(item)
        page, _, fragment = claim["url"].partition("#")
        assert f'id="{fragment}"' in (built / "_build/html" / page).read_text()


def test_malformed_hwdb_fails_the_build_naming_file_record_field(repo_copy: Path) -> None:
    edit(repo_copy / "hwdb/data/accelerators/tpu-v7.toml", 'value = 7380\nunit = "GB/s"', 'value = 7380\nunit = "GB"')
    result = build(repo_copy)
    assert result.returncode != 0
    assert "hwdb/data/accelerators/tpu-v7.toml: record 'tpu-v7': field 'hbm_bandwidth': unit 'GB'" in result.stderr


BAD_PAGES = {
    "unknown figure": (
        "```{claim-figure} no-such-figure\n:alt: x\n\ncaption\n```\n",
        "unknown figure 'no-such-figure'",
    ),
    "figure without alt text": (
        "```{claim-figure} drain-time\n\ncaption\n```\n",
        "figure 'drain-time' needs an :alt: text",
    ),
    "unknown hwdb value": ("{hwdb}`h100-sxm.warp_speed`\n", "unknown hwdb value 'h100-sxm.warp_speed'"),
    "unknown row": (
        "{claim-value}`serving.train-interval@h900`\n",
        "claim 'serving.train-interval' has no row or detail 'h900'",
    ),
    "unknown detail": ("{claim-value}`batch.optimal-size#nope`\n", "has no row or detail 'nope'"),
    "unknown worked claim": ("```{claim-worked} serving.nope\n```\n", "unknown claim ID 'serving.nope'"),
    "worked detail unknown": ("```{claim-worked} batch.optimal-size#nope\n```\n", "has no detail 'nope'"),
    "worked detail unnamed": (
        "```{claim-worked} batch.optimal-size#sparsity\n```\n",
        "no derivation step names this closed form; give the left-hand side",
    ),
    "unknown chip claim": ("```{claim-chip} serving.nope\n```\n", "unknown claim ID 'serving.nope'"),
    "unknown verdict role id": ("{claim-verdict}`kv.nope`\n", "unknown claim ID 'kv.nope'"),
    "unknown hwdb-table field": (
        "```{hwdb-table} accelerator\n:fields: warp_speed\n```\n",
        "unknown field or derived column(s) ['warp_speed']",
    ),
    "unknown hwdb-table kind": ("```{hwdb-table} spaceship\n:fields: chips\n```\n", "unknown record kind 'spaceship'"),
}


#: Mistakes made in the chapters themselves (not appended): (page, the text as written, the mistake, message).
BAD_EDITS = {
    "unknown chip claim in a chapter": (
        "train.md",
        "```{claim-chip} serving.train-interval\n```",
        "```{claim-chip} serving.train-intervals\n```",
        "unknown claim ID 'serving.train-intervals'",
    ),
    "unknown claim in an inline role": (
        "train.md",
        "{claim-value}`serving.train-interval@a100-sxm`",
        "{claim-value}`serving.nope-inline`",
        "unknown claim ID 'serving.nope-inline'",
    ),
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, list[str], dict[str, str]]:
    """One build of a copy holding every page mistake at once (``--keep-going`` reports each where it is):
    its exit status, its stderr lines, and where each case's mistake is (``page.md:LINE``)."""
    repo = copy_repo(tmp_path_factory.mktemp("broken") / "repo")
    page = repo / "book/train.md"
    where: dict[str, str] = {}
    for case, (name, written, mistake, _) in BAD_EDITS.items():
        text = (repo / "book" / name).read_text()
        paragraph = text.rfind("\n\n", 0, text.index(written)) + 2  # an inline role is placed at its paragraph
        where[case] = f"{name}:{text[:paragraph].count(chr(10)) + 1}"
        edit(repo / "book" / name, written, mistake)
    text = page.read_text()
    for case, (snippet, _) in sorted(BAD_PAGES.items()):
        text += "\n"
        where[case] = f"train.md:{text.count(chr(10)) + 1}"
        text += snippet
    page.write_text(text)
    rack = repo / "book/rack.md"
    where["claim box on the wrong page"] = f"rack.md:{rack.read_text().count(chr(10)) + 2}"
    with open(rack, "a") as handle:
        handle.write("\n```{claim} serving.train-interval\n```\n")
    # And a statement table that names a claim the catalogue lacks (tests/test_statements.py checks the
    # table's other mistakes where they are found, without a build).
    edit(repo / "claims/statements.toml", '"serving.second-hbm-pass"]', '"serving.second-pass"]')
    result = build(repo)
    return result.returncode, result.stderr.splitlines(), where


BROKEN_MESSAGES = {
    **{case: expected for case, (_, expected) in BAD_PAGES.items()},
    **{case: expected for case, (*_, expected) in BAD_EDITS.items()},
    "claim box on the wrong page": "its permalink is 'train.html#claim-serving.train-interval'",
}


@pytest.mark.slow  # one whole-book build
@pytest.mark.parametrize("case", sorted(BROKEN_MESSAGES))
def test_bad_page_content_fails_the_build_with_its_location(
    broken: tuple[int, list[str], dict[str, str]], case: str
) -> None:
    status, lines, where = broken
    assert status != 0
    at = [line for line in lines if f"/book/{where[case]}: ERROR: " in line]
    assert at, f"no error at {where[case]}:\n" + "\n".join(lines)
    assert any(BROKEN_MESSAGES[case] in line for line in at), at


@pytest.mark.slow  # the same build
def test_a_broken_statement_table_fails_the_build(broken: tuple[int, list[str], dict[str, str]]) -> None:
    status, lines, _ = broken
    assert status != 0
    message = "claims/statements.toml: [statements.11].claims names unknown claim 'serving.second-pass'"
    assert any(f"ERROR: {message}" in line for line in lines), "\n".join(lines)


def test_every_figure_is_generated_with_alt_text_and_names_a_claim(built: Path) -> None:
    from claims.figures import FIGURES

    pages = {p.name: p.read_text() for p in (built / "_build/html").glob("*.html")}
    found = {}
    for name in FIGURES:
        holders = [page for page, text in pages.items() if f'id="figure-{name}"' in text]
        assert holders, f"figure {name} is on no page"
        text = pages[holders[0]]
        block = text[text.index(f'id="figure-{name}"') :].split("</figure>")[0]
        assert 'role="img" aria-label="' in block and "<svg" in block
        assert "#claim-" in block.split("<figcaption")[1], f"caption of {name} names no claim"
        found[name] = holders[0]
    assert len(found) >= 10
    assert not list((built / "book").rglob("*.png")), "figures must be generated, not committed images"


class _VisibleText(HTMLParser):
    """The text a reader sees, block by block: no code, math, scripts or bibliography entries."""

    SKIP: ClassVar[set[str]] = {"script", "style", "pre", "code", "math", "svg", "title", "head"}
    BLOCKS: ClassVar[set[str]] = {
        "p",
        "li",
        "td",
        "th",
        "div",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "caption",
        "span",
        "label",
    }

    def __init__(self) -> None:
        super().__init__()
        self.skipping: list[str] = []
        self.blocks: list[str] = [""]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self.skipping:
            if tag == self.skipping[-1]:  # the same element nested: count it, so its end tag matches
                self.skipping.append(tag)
        elif tag in self.SKIP or {"math", "highlight", "citation"} & set(classes):
            self.skipping.append(tag)
        elif tag in self.BLOCKS:
            self.blocks.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()
        elif tag in self.BLOCKS:
            self.blocks.append("")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.blocks[-1] += data


#: The same word twice ("GPU GPU", "hops hops"), and numbers no formatter wrote: long digit runs
#: without separators, six or more significant figures, or a repeating tail (0.33333).
DOUBLED = re.compile(r"\b([A-Za-z]{2,})\s+\1\b", re.IGNORECASE)
RAW_NUMBER = re.compile(r"(?<![\w.,:/-])(?:\d{5,}\.\d+|\d*\.\d*([1-9])\1{3,}\d*|\d+\.0*[1-9]\d{5,})(?![\w/-])")


def test_the_text_has_no_doubled_words_or_raw_numbers(built: Path) -> None:
    problems = []
    for page in sorted((built / "_build/html").glob("*.html")):
        if page.name in ("bibliography.html", "genindex.html", "search.html"):
            continue
        parser = _VisibleText()
        parser.feed(page.read_text(encoding="utf-8"))
        for block in parser.blocks:
            text = " ".join(block.split())
            for pattern in (DOUBLED, RAW_NUMBER):
                problems += [
                    f"{page.name}: …{text[max(0, m.start() - 40) : m.end() + 40]}…" for m in pattern.finditer(text)
                ]
    assert problems == [], "\n".join(problems)


def test_every_claim_has_a_permanent_address(built: Path) -> None:
    """c/ID.html sends the reader to the box wherever it is; citations use that address."""
    exported = json.loads((built / "_build/html/claims.json").read_text())
    for claim in exported["claims"]:
        page = (built / "_build/html" / claim["permalink"]).read_text()
        assert f'url=../{claim["url"]}"' in page, claim["id"]
