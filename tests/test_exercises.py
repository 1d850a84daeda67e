"""Exercises and notebooks: every number the engine's, every answer hidden, every notebook executed.

The exercise blocks are read from the chapter sources as a reader's tool would read them, each
scenario is evaluated again through the public API, and the built pages must show exactly those
numbers, inside a closed <details> element.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml  # type: ignore[import-untyped]
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

import claims
from claims import deployment, exercise, sizing

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
    kind: str
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
                str(options.get("kind", "apply")),
                str(options["let"]),
                str(options.get("expect", "")),
                body[: answer.start()],
                answer.group("text"),
            )
        )
    return out


BLOCKS = [block for page in CHAPTERS for block in read_blocks(page)]


def scenarios_of(block: Block) -> dict[str, exercise.Case]:
    """Each scenario line, evaluated afresh through the public API (claims.evaluate, claims.sizing.size)."""
    out: dict[str, exercise.Case] = {}
    for line in exercise.lines_of(block.let):
        if line.split("=", 1)[1].split()[0] == exercise.SIZE:
            name, options, changes = exercise.parse_size(line, out)
            out[name] = sizing.size(db=exercise.with_changes(None, changes), **options)
            continue
        name, claim_id, options = exercise.parse_let(line)
        result = claims.evaluate(claim_id, **options)
        assert isinstance(result, claims.Scenario)
        out[name] = result
    return out


def visible(fragment: str) -> str:
    """An HTML fragment's text, unescaped, with whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


#: What an exercise may ask beyond putting another input into the chapter's formula.
DEEPER = ("derive", "estimate", "design")


def toctree_chapters() -> list[str]:
    """The chapters as the book lists them: the entries of the index's toctree captioned "Chapters"."""
    text = (REPO / "book" / "index.md").read_text(encoding="utf-8")
    for tree in re.findall(r"```\{toctree\}\n(.*?)```", text, re.DOTALL):
        if re.search(r"^:caption: Chapters$", tree, re.MULTILINE):
            return [line.strip() for line in tree.splitlines() if line.strip() and not line.startswith(":")]
    raise AssertionError("book/index.md has no toctree captioned Chapters")


def test_the_exercises_read_every_chapter_the_book_lists() -> None:
    assert list(CHAPTERS) == toctree_chapters()


@pytest.mark.parametrize("page", toctree_chapters())
def test_every_chapter_has_four_exercises_two_of_which_go_beyond_apply(page: str) -> None:
    kinds = [block.kind for block in read_blocks(page)]
    assert len(kinds) >= 4, f"{page}: {len(kinds)} exercises"
    deeper = [k for k in kinds if k in DEEPER]
    assert len(deeper) >= 2, f"{page}: {len(deeper)} of {len(kinds)} exercises derive, estimate or design ({kinds})"
    assert set(kinds) <= {"apply", *DEEPER}, f"{page}: unknown kinds {set(kinds) - {'apply', *DEEPER}}"


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
    first = scenarios[name]
    assert isinstance(first, claims.Scenario)
    failed = exercise.check(f"{name} > 2 * {name}", scenarios)
    assert failed == [f"{name} > 2 * {name} (with {first.text}, {first.text})"]
    with pytest.raises(exercise.ExerciseError, match="only numbers, refs"):
        exercise.check(f"{name} in [1]", scenarios)


def test_a_result_in_si_units_is_written_in_the_unit_asked_for() -> None:
    # A GB200's HBM over its bandwidth is a time; the reader sees it in the unit asked for.
    scenarios = {"cx": claims.evaluate("attention.compute-crossover"), "rack": claims.evaluate("rack.blackwell-memory")}
    si = {i.symbol: i.field.si for s in scenarios.values() for i in s.inputs}
    seconds = si["M_GB200"] / si["W"]  # 186 GB over 8 TB/s
    assert exercise.placeholder(" rack$M_GB200 / cx$W | in ms ", scenarios) == f"{seconds * 1e3:.3g} ms"
    assert exercise.placeholder("cx$N_active | in param", scenarios) == "37B parameters"
    assert exercise.placeholder("cx$kappa * 1000 | in MB/token", scenarios) == "70.3 MB/tok"
    with pytest.raises(exercise.ExerciseError, match="unknown unit 'furlongs/token'"):
        exercise.placeholder("cx$kappa | in furlongs/token", scenarios)
    with pytest.raises(exercise.ExerciseError, match="unknown format 'inch'"):
        exercise.placeholder("cx$kappa | inch", scenarios)


def test_refs_carry_their_units_so_a_percentage_compares_as_a_fraction() -> None:
    # A detail in percent: the PCIe 6 drive reads itself in 30.5 % of the long lifetime, the PCIe 4 one in 124 %.
    gen6, gen4 = claims.evaluate("memory.flash-drain"), claims.evaluate("memory.flash-drain", hw="nvme-gen4-ssd")
    scenarios = {"gen6": gen6, "gen4": gen4}
    assert exercise.check("gen6.share_of_long < 1\ngen4.share_of_long > 1", scenarios) == []
    assert exercise.placeholder("gen6$C / gen6$W | in min", scenarios) == gen6.text  # the claim, rebuilt from inputs
    with pytest.raises(exercise.ExerciseError, match="Cannot convert"):
        exercise.check("gen6$C > gen6$W", scenarios)  # bytes against bytes per second
    with pytest.raises(exercise.ExerciseError, match="cannot be written in ms"):
        exercise.placeholder("gen6$C | in ms", scenarios)
    with pytest.raises(exercise.ExerciseError, match=re.escape("not a pure ratio: write | in UNIT")):
        exercise.placeholder("gen6$C / gen4$W", scenarios)


def test_a_claims_constants_are_refs_too() -> None:
    # The balanced batch rebuilt from its inputs and c, two FLOP per parameter per token (a constant, not data).
    scenarios = {"ds": claims.evaluate("batch.optimal-size")}
    assert exercise.check("ds == ds$F * ds$b * ds$N_total / (ds$c * ds$W * ds$N_active)", scenarios) == []
    assert exercise.check("ds == 2 * ds$F * ds$b * ds$N_total / (ds$c * ds$W * ds$N_active)", scenarios) != []
    with pytest.raises(exercise.ExerciseError, match=r"no input or constant 'q'.*N_total.*c, n"):
        exercise.placeholder("ds$q", scenarios)


#: DeepSeek's mean served context, in tokens.
CONTEXT = 4989.0


def served(chips: int) -> deployment.Deployment:
    """DeepSeek-V3 on GB200 GPUs as DeepSeek serves it: FP8 weights and arithmetic, BF16 cache and attention."""
    return deployment.deployment(
        "deepseek-v3", "gb200", chips, weights="fp8", math_format="fp8", kv="bf16", attention_math="bf16"
    )


@settings(max_examples=15, deadline=None)
@given(limit_ms=st.floats(min_value=2.0, max_value=80.0), chips=st.sampled_from([5, 18, 72]))
def test_the_largest_batch_meets_the_limit_and_one_more_would_not(limit_ms: float, chips: int) -> None:
    d = served(chips)
    limit = limit_ms / 1e3
    found = sizing.largest_batch(d, CONTEXT, limit)
    one = deployment.evaluate(d, 1.0, CONTEXT)
    if found is None:
        assert float(one["step_s"]) > limit or float(one["max_batch"]) < 1
        return
    batch, limited_by = found
    at, after = (deployment.evaluate(d, float(b), CONTEXT) for b in (batch, batch + 1))
    assert float(at["step_s"]) <= limit and bool(at["fits"])
    if limited_by == "time":
        assert float(after["step_s"]) > limit
    else:
        assert limited_by == "memory" and not bool(after["fits"])


def test_a_search_reports_the_fewest_chips_and_the_cheapest_count() -> None:
    found = sizing.size(
        "deepseek-v3", "gb200", context=CONTEXT, limit_s=0.01, max_chips=12, weights="fp8", math_format="fp8"
    )
    per_count = {}
    for chips in range(1, 13):
        d = deployment.deployment("deepseek-v3", "gb200", chips, weights="fp8", math_format="fp8")
        fit = sizing.largest_batch(d, CONTEXT, 0.01)
        step = None if fit is None else float(deployment.evaluate(d, float(fit[0]), CONTEXT)["step_s"])
        per_count[chips] = None if fit is None or step is None else fit[0] / step / chips
    meeting = [c for c, rate in per_count.items() if rate is not None]
    assert found.fewest.chips == min(meeting)
    assert found.cheapest.per_chip == pytest.approx(max(r for r in per_count.values() if r is not None))
    assert found.cheapest.chips == found.max_chips == 12  # more chips, each reading fewer experts


BAD_SEARCH = {
    "no limit": ("x = size model=deepseek-v3 hw=gb200 context=a$L", "a search needs limit="),
    "an unknown option": (
        "x = size model=deepseek-v3 hw=gb200 context=a$L limit=a.step_at_balanced foo=1",
        "unknown option 'foo'",
    ),
    "a limit that is not a time": ("x = size model=deepseek-v3 hw=gb200 context=a$L limit=a$L", "Cannot convert"),
    "a fraction of a chip": (
        "x = size model=deepseek-v3 hw=gb200 context=a$L limit=a.step_at_balanced max-chips=a.sparsity",
        "not a whole number of chips",
    ),
    "a limit no deployment meets": (
        "x = size model=deepseek-v3 hw=gb200 context=a$L limit='a.step_at_balanced / 1000000'",
        "runs even one sequence",
    ),
    "a chip with no FP8 rate": (
        "x = size model=deepseek-v3 hw=h800 math=fp8 context=a$L limit=a.step_at_balanced",
        "has no field 'fp8_flops'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SEARCH))
def test_a_bad_search_is_refused_naming_what_is_wrong(case: str) -> None:
    line, message = BAD_SEARCH[case]
    with pytest.raises(exercise.ExerciseError, match=re.escape(message)):
        exercise.evaluate_lets(f"a = batch.optimal-size\n{line}")


def test_a_search_has_no_single_value_and_names_its_figures() -> None:
    scenarios = exercise.evaluate_lets(
        "a = batch.optimal-size\n"
        "x = size model=deepseek-v3 hw=gb200 weights=fp8 math=fp8 context=a$L limit=a.step_at_balanced max-chips=8"
    )
    with pytest.raises(exercise.ExerciseError, match="one of chips, batch, step_time"):
        exercise.placeholder("x", scenarios)
    balanced = scenarios["a"]
    assert isinstance(balanced, claims.Scenario)
    assert exercise.placeholder("x.limit", scenarios) == balanced.detail("step_at_balanced")
    assert exercise.check("x.step_time <= x.limit\nx.fewest_chips <= x.chips\nx.link == 'scale-up'", scenarios) == []


@pytest.fixture(scope="module")
def built(built_site: Path) -> Path:
    """The test run's shared build of the book, or the one named by $BOOK_SITE (as the browser tests take it)."""
    return built_site


@pytest.mark.parametrize("page", CHAPTERS)
def test_the_built_answers_are_the_engines_and_hidden(built: Path, page: str) -> None:
    text = (built / f"{page}.html").read_text(encoding="utf-8")
    sections = re.findall(r'<section class="(?:[^"]*\s)?exercise(?:\s[^"]*)?"[^>]*>(.*?)</section>', text, re.DOTALL)
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
