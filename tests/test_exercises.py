"""Exercises and notebooks: every number the engine's, every answer hidden, every notebook executed.

The exercise blocks are read from the chapter sources as a reader's tool would read them, each
scenario is evaluated again through the public API, and the built pages must show exactly those
numbers, inside a closed <details> element.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml  # type: ignore[import-untyped]
from conftest import REPO, copy_repo

import claims
from claims import exercise

CHAPTERS = ("rooflines", "train", "rack", "pipelining", "memory-wall", "overtraining", "prices", "context", "ciphers")
OPENING = re.compile(r"^(?P<fence>:{4,})\{exercise\}[ \t]*(?P<title>.+)$", re.MULTILINE)
ANSWER = re.compile(r"^:{3}\{answer\}\n(?P<text>.*?)^:{3}$", re.MULTILINE | re.DOTALL)
#: Product names that carry digits; anything else digit-like in an exercise's prose was typed by hand.
NAMES = re.compile(
    r"Llama 3\.1|Gemma 3|Gemini \d\.\d|Opus 4\.5|PCIe \d|2:4|Qwen3|GPT-5|8x22B|235B|405B|70B|27B|K2"
    r"|[A-Z]+\d+[A-Za-z]*|\bv\d\b|-V3"
)
ROLE = re.compile(r"\{[\w-]+\}`[^`]*`")


@dataclass(frozen=True)
class Block:
    """One exercise as written in a chapter's source."""

    page: str
    title: str
    let: str
    expect: str
    question: str
    answer: str

    @property
    def name(self) -> str:
        return f"{self.page}: {self.title}"


def read_blocks(page: str) -> list[Block]:
    text = (REPO / "book" / f"{page}.md").read_text(encoding="utf-8")
    out = []
    for match in OPENING.finditer(text):
        close = "\n" + match.group("fence") + "\n"
        inner = text[match.end() + 1 : text.index(close, match.end())]
        assert inner.startswith("---\n"), f"{page}: {match.group('title')}: options in a --- block"
        end = inner.index("\n---\n", 4)
        options = yaml.safe_load(inner[4:end])
        body = inner[end + 5 :]
        answer = ANSWER.search(body)
        assert answer is not None, f"{page}: {match.group('title')}: no answer block"
        out.append(
            Block(
                page,
                match.group("title").strip(),
                str(options["let"]),
                str(options.get("expect", "")),
                body[: answer.start()],
                answer.group("text"),
            )
        )
    return out


BLOCKS = [block for page in CHAPTERS for block in read_blocks(page)]


def scenarios_of(block: Block) -> dict[str, claims.Scenario]:
    """Each scenario line, evaluated afresh through the public API (claims.evaluate)."""
    out = {}
    for line in exercise.lines_of(block.let):
        name, claim_id, options = exercise.parse_let(line)
        result = claims.evaluate(claim_id, **options)
        assert isinstance(result, claims.Scenario)
        out[name] = result
    return out


def visible(fragment: str) -> str:
    """An HTML fragment's text, unescaped, with whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


@pytest.mark.parametrize("page", CHAPTERS)
def test_every_chapter_has_at_least_three_exercises(page: str) -> None:
    assert len(read_blocks(page)) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.name)
def test_each_exercise_evaluates_and_its_expectations_hold(block: Block) -> None:
    scenarios = scenarios_of(block)
    assert exercise.check(block.expect, scenarios) == [], block.name
    for part in (block.title, block.question, block.answer):
        exercise.fill(part, scenarios)  # every ref resolves
    assert exercise.PLACEHOLDER.search(block.answer), f"{block.name}: the answer names no computed figure"
    assert block.expect.strip(), f"{block.name}: an answer's reasoning needs at least one expectation"


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.name)
def test_no_number_in_an_exercise_is_typed_by_hand(block: Block) -> None:
    for part in (block.title, block.question, block.answer):
        prose = NAMES.sub(" ", ROLE.sub(" ", exercise.PLACEHOLDER.sub(" ", part)))
        assert not re.search(r"\d", prose), f"{block.name}: a typed number in {prose!r}"


def test_the_expectation_checker_can_fail() -> None:
    scenarios = scenarios_of(BLOCKS[0])
    name = next(iter(scenarios))
    assert exercise.check(f"{name} > 2 * {name}", scenarios) == [
        f"{name} > 2 * {name} (with {scenarios[name].text}, {scenarios[name].text})"
    ]
    with pytest.raises(exercise.ExerciseError, match="only numbers, refs"):
        exercise.check(f"{name} in [1]", scenarios)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh build of a copy of the book, or the one named by $BOOK_SITE (as the browser tests take it)."""
    if os.environ.get("BOOK_SITE"):
        return Path(os.environ["BOOK_SITE"])
    repo = copy_repo(tmp_path_factory.mktemp("exercises") / "repo")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-c", ".", "book", "_build/html"]
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return repo / "_build/html"


@pytest.mark.parametrize("page", CHAPTERS)
def test_the_built_answers_are_the_engines_and_hidden(built: Path, page: str) -> None:
    text = (built / f"{page}.html").read_text(encoding="utf-8")
    sections = re.findall(r'<section class="exercise"[^>]*>(.*?)</section>', text, re.DOTALL)
    blocks = read_blocks(page)
    assert len(sections) == len(blocks)
    for block, section in zip(blocks, sections, strict=True):
        details = re.search(r"<details([^>]*)>(.*)</details>", section, re.DOTALL)
        assert details is not None, block.name
        assert "open" not in details.group(1), f"{block.name}: the answer must start closed"
        question, answer = visible(section[: details.start()]), visible(details.group(2))
        scenarios = scenarios_of(block)
        for source, shown in ((block.question, question), (block.answer, answer)):
            expected = " ".join(exercise.fill(ROLE.sub("", source), scenarios).split())
            for ref in exercise.PLACEHOLDER.findall(source):
                value = exercise.placeholder(ref, scenarios)
                assert value in shown, f"{block.name}: {{{{{ref}}}}} should show {value!r}"
            words = re.findall(r"[A-Za-z]{4,}", expected)
            assert all(w in shown for w in words), block.name


@pytest.mark.parametrize("page", CHAPTERS)
def test_each_chapter_links_its_notebook_which_downloads_as_a_valid_notebook(built: Path, page: str) -> None:
    assert f'href="notebooks/{page}.html"' in (built / f"{page}.html").read_text(encoding="utf-8")
    notebook_page = (built / "notebooks" / f"{page}.html").read_text(encoding="utf-8")
    assert f'href="{page}.ipynb" download' in notebook_page
    raw = (built / "notebooks" / f"{page}.ipynb").read_text(encoding="utf-8")
    notebook = nbformat.reads(raw, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, page
    for cell in code:
        assert cell.execution_count is not None, f"{page}: a cell did not run"
        assert not [o for o in cell.outputs if o.output_type == "error"], f"{page}: a cell raised"
        assert cell.outputs, f"{page}: a cell shows nothing"
    assert "import claims" in code[0].source
    json.loads(raw)


def _scratch_book(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """A one-page book with the claims extension, to see how a bad exercise fails."""
    (tmp_path / "book").mkdir()
    (tmp_path / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
        'extensions = ["myst_nb", "claims.sphinxext"]\nmyst_enable_extensions = ["colon_fence"]\n'
    )
    (tmp_path / "book" / "index.md").write_text("# Scratch\n\n" + textwrap.dedent(body))
    command = [sys.executable, "-m", "sphinx", "--keep-going", "-q", "-c", ".", "book", "_build/html"]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)


BAD = {
    "a false expectation": ("expect: h200 > 2 * h200", "expectation no longer holds"),
    "an unknown scenario": ("expect: nope > 1", "no scenario named 'nope'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_stale_or_broken_exercise_fails_the_build_naming_it(tmp_path: Path, case: str) -> None:
    expect, message = BAD[case]
    result = _scratch_book(
        tmp_path,
        f"""
        ::::{{exercise}} Broken on purpose
        ---
        let: h200 = batch.optimal-size hw=h200
        {expect}
        ---
        A question about {{{{ h200$W }}}}.

        :::{{answer}}
        {{{{ h200 }}}}.
        :::
        ::::
        """,
    )
    assert "exercise 'Broken on purpose'" in result.stderr
    assert message in result.stderr
    assert "index.md" in result.stderr  # the location, for the author
