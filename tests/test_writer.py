"""Pages written by two processes (claims.sphinx.writer): the split that lets both finish soonest, and a site
written that way equal, file for file, to one written by the build alone, with the child's warnings reported."""

from __future__ import annotations

import io
import json
import multiprocessing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sphinx.application import Sphinx

from claims.sphinx.writer import COSTS, GUESS, _read_costs, split

fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")


def _finish(count: int, resolve: list[float], render: list[float]) -> float:
    """When the later of the two processes is done, if the child renders the first ``count`` pages."""
    child = sum(resolve[:count]) + sum(render[:count])
    build = sum(resolve) + sum(render[count:])
    return max(child, build)


def test_pages_of_equal_cost_split_five_to_four() -> None:
    """Nine pages, rendering twice as dear as resolving: the child takes five (done at 15, the build at 17);
    four would leave the build until 19, six keep it busy until 18."""
    names = [f"p{i}" for i in range(9)]
    assert split(names, {n: (1.0, 2.0) for n in names}) == 5
    assert split(names, {}) == 5  # never measured: the same guess for every page
    assert GUESS == (1.0, 2.0)


def test_a_costly_page_goes_where_it_balances_the_work() -> None:
    names = ["a", "b", "c", "d"]
    costs = {"a": (0.01, 0.02), "b": (0.01, 0.02), "c": (0.01, 0.02), "d": (0.3, 0.6)}
    assert split(names, costs) == 3  # the build keeps only the heavy last page
    assert split(names, {"a": (0.3, 0.6), "b": (0.01, 0.02), "c": (0.01, 0.02), "d": (0.01, 0.02)}) == 1


@given(st.lists(st.tuples(st.floats(0.001, 1.0), st.floats(0.001, 1.0)), min_size=1, max_size=30))
def test_no_other_split_finishes_sooner(costs: list[tuple[float, float]]) -> None:
    names = [f"p{i:02d}" for i in range(len(costs))]
    resolve, render = [c[0] for c in costs], [c[1] for c in costs]
    chosen = split(names, dict(zip(names, costs, strict=True)))
    assert 0 <= chosen <= len(names)
    best = min(_finish(count, resolve, render) for count in range(len(names) + 1))
    assert _finish(chosen, resolve, render) <= best + 1e-9


# ---------------------------------------------------------------- a site written in two processes

WARN_ON_RENDER = """
import os
from sphinx.util import logging

BUILD = os.getpid()

def warn(app, pagename, templatename, context, doctree):
    if pagename == "page-01":
        logging.getLogger("test").warning("rendering %s", pagename)
    if pagename == "page-02" and os.getpid() != BUILD and app.config.die_in_child:
        os._exit(9)  # killed, as it were: no word to the build

def setup(app):
    app.add_config_value("die_in_child", False, "")
    app.connect("html-page-context", warn)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
"""


def _site(tmp_path: Path, in_two: bool, die_in_child: bool = False) -> tuple[dict[str, bytes], str, Path]:
    """A nine-page site built from scratch: its files, its warnings and its doctree folder."""
    source = tmp_path / "src"
    source.mkdir(parents=True)
    (source / "warn_on_render.py").write_text(WARN_ON_RENDER)
    (source / "conf.py").write_text(
        "import sys, pathlib\nsys.path.insert(0, str(pathlib.Path(__file__).parent))\n"
        f"extensions = ['claims.sphinx.writer', 'warn_on_render']\nclaims_write_in_two = {in_two}\n"
        f"die_in_child = {die_in_child}\n"
    )
    pages = [f"page-{i:02d}" for i in range(8)]
    (source / "index.rst").write_text("Index\n=====\n\n.. toctree::\n\n" + "".join(f"   {p}\n" for p in pages))
    for i, page in enumerate(pages):
        body = "\n\n".join(
            f"Paragraph {j} of page {i}, linking :doc:`index` and `a site <https://x.test/{j}>`_." for j in range(i * 5)
        )
        (source / f"{page}.rst").write_text(f"Page {i}\n=======\n\n{body}\n\n.. note:: A note on page {i}.\n")
    out, doctrees, warnings = tmp_path / "out", tmp_path / "doctrees", io.StringIO()
    app = Sphinx(source, source, out, doctrees, "html", status=None, warning=warnings, freshenv=True)
    app.build()
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    return files, warnings.getvalue(), doctrees


@fork
def test_a_site_written_in_two_processes_is_the_site_written_by_one(tmp_path: Path) -> None:
    two, warned_two, doctrees = _site(tmp_path / "two", in_two=True)
    one, warned_one, doctrees_one = _site(tmp_path / "one", in_two=False)
    assert sorted(two) == sorted(one)
    assert [name for name in one if two[name] != one[name]] == []
    # Written in two: every page measured; a clean build guesses, so the child had the first five of nine.
    costs = json.loads((doctrees / COSTS).read_text(encoding="utf-8"))
    pages = ["index"] + [f"page-{i:02d}" for i in range(8)]
    assert sorted(costs) == pages and not (doctrees_one / COSTS).exists()
    assert pages[: split(pages, {})] == ["index", "page-00", "page-01", "page-02", "page-03"]
    # The child's warning (page-01) reaches the build's warnings, as the build's own would.
    assert "rendering page-01" in warned_two and "rendering page-01" in warned_one


@fork
def test_pages_of_a_child_that_dies_are_written_by_the_build(tmp_path: Path) -> None:
    """The child exits without a word on its fourth page: the build renders all of the child's pages itself."""
    died, warned, _ = _site(tmp_path / "died", in_two=True, die_in_child=True)
    one, _, _ = _site(tmp_path / "one", in_two=False)
    assert sorted(died) == sorted(one)
    assert [name for name in one if died[name] != one[name]] == []
    assert warned.count("rendering page-01") == 1  # from the build's own rendering; the child's was lost with it


def test_unreadable_costs_are_guessed(tmp_path: Path) -> None:
    """The costs are a cache: a damaged file means every page is guessed, never a failed build."""

    class Built:
        doctreedir = tmp_path

    for damaged in ("[1, 2]", '{"a": 3}', '{"a": [1]}', "not json", '{"a": ["x", 2]}'):
        (tmp_path / COSTS).write_text(damaged, encoding="utf-8")
        assert _read_costs(Built()) == {}  # type: ignore[arg-type]
    (tmp_path / COSTS).write_text('{"a": [0.5, 1.5]}', encoding="utf-8")
    assert _read_costs(Built()) == {"a": (0.5, 1.5)}  # type: ignore[arg-type]
