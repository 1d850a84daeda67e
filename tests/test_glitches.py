"""The small slips a reader notices first, found in the built book: "26.3 us", "1 NVLink domains",
a record ID where a name belongs, a notebook and a box counting inputs differently, and a lecture
figure typed into a chapter instead of taken from a claim.

The built pages come from ``$BOOK_SITE`` (a build folder's ``html``, as for the browser tests) or
from the test run's one shared build of a scratch copy of the book.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import REPO

import hwdb
from claims import formatting
from claims.registry import all_claims

SKIPPED_PAGES = ("genindex.html", "search.html", "bibliography.html")


@pytest.fixture(scope="session")
def site(built_site: Path) -> Path:
    """The built book's HTML folder: $BOOK_SITE where set, else the test run's shared build."""
    return built_site


class _Text(HTMLParser):
    """What a reader sees, block by block, in two versions: all of it, and the part that is prose.

    Neither holds scripts, styles, math, code, figures' SVG or bibliography entries. The prose version
    also leaves out link text (a link may name its target by ID) and a notebook's cell output (what the
    Python API prints, IDs included, is program output like code).
    """

    SKIP: ClassVar[set[str]] = {"script", "style", "pre", "code", "kbd", "samp", "math", "svg", "title", "head"}
    SKIP_CLASSES: ClassVar[set[str]] = {"math", "highlight", "citation"}
    BLOCKS: ClassVar[set[str]] = {
        *("p", "li", "td", "th", "div", "dt", "dd", "h1", "h2", "h3", "h4"),
        *("caption", "figcaption", "summary", "label", "option", "section", "tr", "br"),
    }

    def __init__(self) -> None:
        super().__init__()
        self.skipping: list[str] = []
        self.quiet: list[tuple[str, int]] = []  # (tag, depth) of open elements whose text is not prose
        self.depth = 0
        self.blocks: list[tuple[str, str]] = [("", "")]

    def _break(self) -> None:
        self.blocks.append(("", ""))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        if self.skipping:
            if tag == self.skipping[-1]:  # the same element nested: count it, so its end tag matches
                self.skipping.append(tag)
            return
        if tag in self.SKIP or self.SKIP_CLASSES & classes:
            self.skipping.append(tag)
            return
        if tag in {"br", "img", "input", "hr", "meta", "link", "wbr"}:
            return  # void elements: no end tag
        self.depth += 1
        if tag == "a" or "cell_output" in classes:
            self.quiet.append((tag, self.depth))
        if tag in self.BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if self.skipping[-1] == tag:
                self.skipping.pop()
            return
        if tag in {"br", "img", "input", "hr", "meta", "link", "wbr"}:
            return
        if self.quiet and self.quiet[-1][1] == self.depth:
            self.quiet.pop()
        self.depth -= 1
        if tag in self.BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            full, prose = self.blocks[-1]
            self.blocks[-1] = (full + data, prose + (" " if self.quiet else data))


def _pages(site: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Each built page's name and its text blocks (all, prose), whitespace folded."""
    for page in sorted(site.rglob("*.html")):
        if page.name in SKIPPED_PAGES or "_static" in page.parts or "_modules" in page.parts:
            continue
        parser = _Text()
        parser.feed(page.read_text(encoding="utf-8"))
        blocks = [(" ".join(full.split()), " ".join(prose.split())) for full, prose in parser.blocks]
        yield page.relative_to(site).as_posix(), [b for b in blocks if b[0]]


def _around(text: str, m: re.Match[str]) -> str:
    return f"…{text[max(0, m.start() - 50) : m.end() + 30]}…"


# ------------------------------------------------------------------ units


#: A quotation keeps its source's spelling ("‘InfiniBand | 2.8us’" from DeepSeek's table).
QUOTED = re.compile(r"‘[^’]*’|“[^”]*”")
#: "us" as a unit after a number: "26.3 us", "949–9,490 us", "3.7us/hop".
MICRO_AS_US = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?\s?us\b(?!\w)")


def test_microseconds_are_written_with_a_micro_sign(site: Path) -> None:
    found = []
    for name, blocks in _pages(site):
        for full, _ in blocks:
            text = QUOTED.sub("‘’", full)
            found += [f"{name}: {_around(text, m)}" for m in MICRO_AS_US.finditer(text)]
    assert found == [], "write µs, not us:\n" + "\n".join(found)


def test_the_formatter_writes_microseconds_with_a_micro_sign() -> None:
    assert formatting.quantity(26.3, "us") == "26.3 µs"
    assert formatting.unit("microsecond") == "µs"


# ------------------------------------------------------------------ counts

#: Count nouns the book writes after a number, singular → plural.
COUNT_NOUNS = {
    "GPU": "GPUs",
    "TPU": "TPUs",
    "chip": "chips",
    "accelerator": "accelerators",
    "domain": "domains",
    "pass": "passes",
    "rack": "racks",
    "expert": "experts",
    "layer": "layers",
    "token": "tokens",
    "sequence": "sequences",
    "hop": "hops",
    "stage": "stages",
    "micro-batch": "micro-batches",
    "block": "blocks",
    "package": "packages",
    "die": "dies",
    "model": "models",
    "generation": "generations",
    "provider": "providers",
    "record": "records",
    "node": "nodes",
    "step": "steps",
    "request": "requests",
    "parameter": "parameters",
    "head": "heads",
    "month": "months",
    "year": "years",
}
NUMBER = r"(?<![\w.,−-])(\d[\d,]*(?:\.\d+)?)(?![\d.,]\d)"
#: "1 NVLink domains": the number one, at most one capitalised modifier, then a plural count noun.
ONE_WITH_PLURAL = re.compile(
    r"(?<![\w.,−-])1(?![\d.,]\d) (?:[A-Z][\w-]* )?(" + "|".join(map(re.escape, COUNT_NOUNS.values())) + r")\b"
)
#: "2 GPU." or "5,670 token per": another number, then a singular count noun that ends the phrase (not "2 GPU dies").
MANY_WITH_SINGULAR = re.compile(
    NUMBER
    + r" (?:[A-Z][\w-]* )?("
    + "|".join(map(re.escape, COUNT_NOUNS))
    + r")(?=[,.;:)]|$| (?:per|of|in|on|at|and|or|to|for|with|each|from|is|are|hold|holds|takes?)\b)"
)


def test_a_count_agrees_with_its_number(site: Path) -> None:
    found = []
    for name, blocks in _pages(site):
        for full, _ in blocks:
            text = QUOTED.sub("‘’", full)
            found += [f"{name}: {_around(text, m)}" for m in ONE_WITH_PLURAL.finditer(text)]
            found += [f"{name}: {_around(text, m)}" for m in MANY_WITH_SINGULAR.finditer(text) if m.group(1) != "1"]
    assert found == [], "a count disagrees with its number:\n" + "\n".join(found)


def _nouns() -> Iterator[tuple[str, str]]:
    for claim in all_claims():
        if claim.noun:
            yield claim.id, claim.noun
        for detail in claim.build().details:
            if detail.noun:
                yield f"{claim.id}#{detail.name}", detail.noun


@pytest.mark.parametrize(("where", "noun"), list(_nouns()), ids=lambda v: str(v))
def test_every_count_noun_is_written_in_the_plural_and_has_a_singular(where: str, noun: str) -> None:
    """The book writes a count's noun after any number; formatting.counted makes it singular after "1"."""
    assert formatting.singular(noun) != noun, f"{where}: {noun!r} is not a plural the formatter can make singular"
    assert formatting.counted(1, noun) == f"1 {formatting.singular(noun)}"
    assert formatting.counted(2, noun) == f"2 {noun}"


@pytest.mark.parametrize(
    ("noun", "one"),
    [
        ("NVLink domains", "NVLink domain"),
        ("passes over HBM", "pass over HBM"),
        ("experts per GPU", "expert per GPU"),
        ("GPU dies", "GPU die"),
        ("H100s", "H100"),
        ("balanced batches per micro-batch", "balanced batch per micro-batch"),
    ],
)
def test_singular_takes_the_head_noun(noun: str, one: str) -> None:
    assert formatting.singular(noun) == one


ROW = re.compile(r"<tr\b.*?</tr>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")


def test_no_row_of_another_accelerator_counts_gpus(site: Path) -> None:
    """A TPU's, Trainium's or Gaudi's row counts accelerators (or its own chips), never "GPUs"."""
    db = hwdb.load([])
    others = [r.name for r in db.of_kind("accelerator") if r.meta.get("family") not in ("GPU", None)]
    assert others, "hwdb holds no accelerator outside the GPU family"
    found = []
    for page in sorted(site.rglob("*.html")):
        for row in ROW.findall(page.read_text(encoding="utf-8")):
            text = " ".join(html.unescape(TAG.sub(" ", row)).split())
            if any(text.startswith(name) for name in others) and re.search(r"\d GPUs?\b", text):
                found.append(f"{page.name}: {text[:120]}")
    assert found == [], "rows of non-GPU accelerators counted in GPUs:\n" + "\n".join(found)


# ------------------------------------------------------------------ record IDs


def _record_ids() -> tuple[re.Pattern[str], dict[str, str]]:
    """A pattern for every hwdb record ID as a word, and each record's display name."""
    db = hwdb.load([])
    names = {record.id: record.name for record in db}
    ids = sorted(names, key=len, reverse=True)  # the longest first: deepseek-v3.2-exp before deepseek-v3
    return re.compile(r"(?<![\w./#@-])(?:" + "|".join(map(re.escape, ids)) + r")(?![\w/-]|\.\w)"), names


def test_no_record_id_stands_in_prose_for_a_name(site: Path) -> None:
    """A record ID such as "gb200" in a sentence reads as a typo: prose names the record (GB200); an ID
    appears only as code or a link.

    An ID that the record's own name spells (gpt-oss-120b is OpenAI's name for it) is a name, and a quotation
    keeps its source's words.
    """
    pattern, names = _record_ids()
    found = []
    for name, blocks in _pages(site):
        for _, prose in blocks:
            prose = QUOTED.sub("‘’", prose)
            found += [
                f"{name}: {m.group(0)} in {_around(prose, m)}"
                for m in pattern.finditer(prose)
                if m.group(0) not in names[m.group(0)]
            ]
    assert found == [], "record IDs in prose (name the record, or set the ID as code):\n" + "\n".join(found)


# ------------------------------------------------------------------ inputs, counted alike


BOX_INPUTS = re.compile(r'id="claim-(?P<id>[\w.-]+)".*?Inputs and their sources \((?P<n>\d+)\)', re.DOTALL)
NOTEBOOK_INPUTS = re.compile(
    r"<strong>(?P<id>[\w.-]+)</strong>:(?:(?!<strong>).)*?inputs and their sources \((?P<n>\d+)\)", re.DOTALL
)


def test_a_notebook_counts_a_claims_inputs_as_its_box_does(site: Path) -> None:
    """The notebook's folded "inputs and their sources (N)" and the box's list the same fields and constants."""
    boxes: dict[str, int] = {}
    for page in site.glob("*.html"):
        for part in page.read_text(encoding="utf-8").split('class="claim-box')[1:]:
            m = BOX_INPUTS.search(part)
            if m:
                boxes[m.group("id")] = int(m.group("n"))
    shown = [
        (page.name, m.group("id"), int(m.group("n")))
        for page in (site / "notebooks").glob("*.html")
        for m in NOTEBOOK_INPUTS.finditer(page.read_text(encoding="utf-8"))
    ]
    assert shown, "no notebook shows a claim's inputs"
    wrong = [f"{page}: {cid} lists {n}, its box {boxes.get(cid)}" for page, cid, n in shown if boxes.get(cid) != n]
    assert wrong == [], "\n".join(wrong)


# ------------------------------------------------------------------ the lecture's figures, typed by hand


ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
#: Not prose inside a line: math, code, exercise refs, link targets, labels, directive options (an alt text is
#: kept: a reader hears it) and comments.
NOT_PROSE = re.compile(
    r"\$\$.*?\$\$|\$[^$\n]+\$|`[^`\n]*`|\{\{.*?\}\}|\]\([^)\n]*\)"
    r"|^\([\w-]+\)=$|^:alt:|^:[\w-]+:[^\n]*$|^%[^\n]*$|<!--.*?-->",
    re.DOTALL | re.MULTILINE,
)
FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})(?P<info>\S*)")
#: Fenced blocks whose body is not prose.
NOT_PROSE_BLOCKS = ("{toctree}", "{code-cell}", "{literalinclude}", "{math}")


def _prose_lines(text: str) -> str:
    """The text without code blocks, tables of contents and fence lines; a directive's body (a caption) stays."""
    out: list[str] = []
    closing: list[tuple[str, bool]] = []  # (fence, body is prose) of each open block
    for line in text.splitlines():
        m = FENCE.match(line.strip())
        if m and closing and line.strip() == closing[-1][0]:
            closing.pop()
            continue
        if m and m.group("info"):
            info = m.group("info")
            prose = info.startswith("{") and info not in NOT_PROSE_BLOCKS
            closing.append((m.group("fence"), prose and all(p for _, p in closing)))
            continue
        if not closing or closing[-1][1]:
            out.append(line)
    return "\n".join(out)


#: Exercises carry their own check (tests/test_exercises.py), which allows no typed digit at all.
EXERCISE = re.compile(r"^(?P<fence>:{4,})\{exercise\}.*?^(?P=fence)$", re.DOTALL | re.MULTILINE)
#: Digits that are not figures: list markers, 2:4 sparsity, names (GPT-4, H100, DeepSeek-V3, Llama 3.1), bit widths,
#: step and section numbers.
NOT_A_FIGURE = re.compile(
    r"^\s*\d+\.\s|\b\d+:\d+\b|\b[\w-]*[A-Za-z][\w-]*\d[\w.]*|\b\d+-bit\b"
    r"|\b(?:[Ss]teps?|[Ss]ection|PCIe|Gen|Llama|Gemma|Gemini|Opus|Sonnet|Qwen) \d+(?:\.\d+)?"
    r"|\d+(?:[.,]\d+)*(?:[A-Za-z]+[\w-]*)",
    re.MULTILINE,
)
FIGURE = re.compile(r"(?<![\w.\-/])\d+(?:[.,]\d+)*")


def _lecture_figures() -> set[float]:
    """Every figure the lecture states: each claim's value and band ends, and the numbers in its words."""
    out: set[float] = set()
    for claim in all_claims():
        s = claim.stated
        out |= {float(v) for v in (s.value, s.low, s.high) if v is not None}
        out |= {float(n.replace(",", "")) for n in FIGURE.findall(s.text)}
        if claim.own is not None:
            out |= {float(v) for _, v in claim.own.figures}
    return out


def _reader_pages() -> list[str]:
    """The landing page and the chapters its "Chapters" table of contents lists."""
    index = (REPO / "book/index.md").read_text(encoding="utf-8")
    for toc in re.findall(r"^```\{toctree\}\n(.*?)^```", index, re.DOTALL | re.MULTILINE):
        if ":caption: Chapters" in toc:
            return ["index", *(line.strip() for line in toc.splitlines() if line.strip() and line[0] != ":")]
    raise AssertionError("book/index.md has no Chapters table of contents")


@pytest.mark.parametrize("page", _reader_pages())
def test_no_lecture_figure_is_typed_into_a_chapter(page: str) -> None:
    """The lecture's figures reach a chapter through roles ({claim-stated}, {claim-value}), so they cannot drift."""
    figures = _lecture_figures()
    text = (REPO / "book" / f"{page}.md").read_text(encoding="utf-8")
    text = EXERCISE.sub("", text)
    text = NOT_PROSE.sub(" ", ROLE.sub(" ", _prose_lines(text)))
    typed = []
    for line in text.splitlines():
        bare = NOT_A_FIGURE.sub(" ", line)
        typed += [
            f"{page}.md: {n!r} in {line.strip()!r}"
            for n in FIGURE.findall(bare)
            if float(n.replace(",", "")) in figures
        ]
    assert typed == [], "a lecture figure typed by hand (use a role):\n" + "\n".join(typed)
