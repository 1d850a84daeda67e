"""Where a rebuild's CPU goes: ``python -m bench.cpu_by_part [--edit KIND] [--runs N]``.

A prose edit and one data edit (``--edit``, one of the benchmark's kinds; the model field by default)
are rebuilt in alternation in a scratch copy of the repository, each in a fresh process that measures
CPU seconds by part:

- in the build's own process: reading pages, writing them (resolving and rendering), and the page
  digests (which pages moved, and stamping the ones read);
- in its forked children: figures drawn ahead, notebooks run ahead.

The medians are printed side by side, with what the edit adds. On two cores the build cannot take less
than half of the added CPU in added wall time, which bounds the rebuild ratios ``nox -s bench`` shows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The parts measured in the build's own process: (label, module, object, attribute).
MAIN_PARTS = (
    ("reading pages", "sphinx.builders", "Builder", "read_doc"),
    ("writing pages", "sphinx.builders", "Builder", "write"),
    ("page digests", "claims.sphinx.dependencies", None, "outdated"),
    ("page digests", "claims.sphinx.dependencies", None, "updated"),
)
CHILD_LOG = "CLAIMS_CPU_BY_PART_LOG"  # where the children append what they used, one JSON line each
FIGURES_AHEAD, NOTEBOOKS_AHEAD = "figures drawn ahead", "notebooks run ahead"
BUILD_PROCESS = "build process, in all"
#: The parts that, added up, are all the CPU a build used (the build's process, and each kind of child).
WHOLE = (BUILD_PROCESS, FIGURES_AHEAD, NOTEBOOKS_AHEAD)


def _note_in_child(part: str, used: float) -> None:
    with open(os.environ[CHILD_LOG], "a", encoding="utf-8") as log:
        log.write(json.dumps({"part": part, "cpu": used}) + "\n")


def _counting_cpu(totals: dict[str, float], label: str, work: Callable[..., Any]) -> Callable[..., Any]:
    def measured(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return work(*args, **kwargs)
        finally:
            totals[label] += time.process_time() - started

    return measured


def inside(source: Path, out: Path) -> None:
    """One build, measured: prints a JSON object of CPU seconds by part."""
    started = time.process_time()
    sys.path.insert(0, str(source))
    import importlib

    from sphinx.cmd.build import build_main

    from claims.figures import FIGURES
    from claims.sphinx import ahead

    totals: dict[str, float] = defaultdict(float)
    for label, module, owner, name in MAIN_PARTS:
        target = importlib.import_module(module)
        holder = getattr(target, owner) if owner else target
        setattr(holder, name, _counting_cpu(totals, label, getattr(holder, name)))

    run_ahead = ahead._run

    def run_ahead_measured(tasks: list[ahead.Task], finished: Any, parent: int) -> None:
        began = time.process_time()
        run_ahead(tasks, finished, parent)
        kind = FIGURES_AHEAD if any(name in FIGURES for name, _ in tasks) else NOTEBOOKS_AHEAD
        _note_in_child(kind, time.process_time() - began)

    ahead._run = run_ahead_measured
    build_main(["-q", "-W", "--keep-going", "-n", "-b", "html", "-c", str(source), str(source / "book"), str(out)])
    totals[BUILD_PROCESS] = time.process_time() - started
    print(json.dumps(totals))


def _measure(repo: Path, out: Path, log: Path) -> dict[str, float]:
    from bench.__main__ import BASE_ENV, _json_of

    log.write_text("", encoding="utf-8")
    command = [sys.executable, "-m", "bench.cpu_by_part", "--inside", str(repo), str(out)]
    parts = _json_of(command, repo, {**BASE_ENV, CHILD_LOG: str(log)})
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        parts[entry["part"]] = parts.get(entry["part"], 0.0) + entry["cpu"]
    return parts


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import EDITS, _edited, _scratch_copy

    parser = argparse.ArgumentParser(prog="python -m bench.cpu_by_part", description=__doc__.splitlines()[0])
    parser.add_argument("--edit", default="model field", choices=sorted(EDITS), help="the data edit to compare")
    parser.add_argument("--runs", type=int, default=3, help="rebuilds of each kind (default 3)")
    parser.add_argument("--inside", nargs=2, metavar=("SRC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        inside(Path(args.inside[0]), Path(args.inside[1]))
        return 0
    path, name, _ = EDITS[args.edit]
    with tempfile.TemporaryDirectory(prefix="cpu-by-part-") as scratch:
        repo, out, log = _scratch_copy(Path(scratch)), Path(scratch) / "html", Path(scratch) / "children.jsonl"
        page, edited = repo / "book" / "rooflines.md", repo / path
        original = edited.read_text(encoding="utf-8")
        _measure(repo, out, log)  # the clean build, and the first rebuild after it: not counted
        page.write_text(page.read_text(encoding="utf-8") + "\nA sentence.\n", encoding="utf-8")
        _measure(repo, out, log)
        prose: list[dict[str, float]] = []
        data: list[dict[str, float]] = []
        for i in range(args.runs):
            page.write_text(page.read_text(encoding="utf-8") + f"\nA sentence ({i}).\n", encoding="utf-8")
            prose.append(_measure(repo, out, log))
            edited.write_text(_edited(original, args.edit, name) if i % 2 == 0 else original, encoding="utf-8")
            data.append(_measure(repo, out, log))
    labels = list(dict.fromkeys(label for run in prose + data for label in run))
    print(f"CPU seconds by part, medians of {args.runs} rebuilds each: a prose edit, one {args.edit} edit ({path})")
    print(f"{'part':40s} {'prose':>8s} {args.edit:>12s} {'added':>8s}")
    added_in_all = 0.0
    for label in labels:
        a = statistics.median(run.get(label, 0.0) for run in prose)
        b = statistics.median(run.get(label, 0.0) for run in data)
        if label in WHOLE:
            added_in_all += b - a
        print(f"{label:40s} {a:8.2f} {b:12.2f} {b - a:+8.2f}")
    print(f"{'added in all processes':40s} {'':8s} {'':12s} {added_in_all:+8.2f}")
    print(f"on two cores the edit adds at least {added_in_all / 2:.2f} s of wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
