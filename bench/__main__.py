"""``python -m bench``: time the feedback loop and record it (``nox -s bench``).

Each figure is the median of several runs in fresh processes, with the spread
(fastest and slowest). Book builds run in a scratch copy of the repository, so
the edits the incremental builds need never touch the working tree. Results go
to ``bench/results.json`` and a table in ``bench/RESULTS.md``; the README shows
that table between its ``bench:start`` and ``bench:end`` markers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from hwdb.files import write_atomic

ROOT = Path(__file__).resolve().parent.parent
RESULTS_JSON = ROOT / "bench" / "results.json"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
BOOK_FLAGS = ["-q", "-W", "--keep-going", "-n", "-b", "html"]


@dataclass(frozen=True)
class Figure:
    """One measured quantity: its runs, and the target it is held to (if any)."""

    name: str
    what: str
    runs: list[float]
    target: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def meets(self) -> bool | None:
        return None if self.target is None else self.median <= self.target


def _timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def _json_of(command: list[str], cwd: Path) -> dict[str, float]:
    done = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)
    parsed: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


def _repeat(times: int, run: Callable[[], float]) -> list[float]:
    return [run() for _ in range(times)]


def _scratch_copy(into: Path) -> Path:
    """The parts of the repository a build reads, copied so benchmarks may edit them."""
    copy = into / "repo"
    for name in ("claims", "hwdb", "book", "bench"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conf.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


def engine_figures(runs: int) -> list[Figure]:
    probes = [_json_of([sys.executable, "-m", "bench.probe"], ROOT) for _ in range(runs)]
    rows = int(probes[0]["rows"])
    claims = int(probes[0]["claims"])

    def series(key: str) -> list[float]:
        return [p[key] for p in probes]

    return [
        Figure("import", "import hwdb and claims (pint, SymPy, NumPy)", series("import")),
        Figure("load", "load and validate hwdb", series("load")),
        Figure(
            "derive",
            f"build the {claims} SymPy derivations (solve, simplify, proofs); once per process",
            series("derive"),
        ),
        Figure(
            "first_evaluation",
            f"first evaluation of {claims} claims and {rows} rows (compiles each formula, checks its units)",
            series("first_evaluation"),
        ),
        Figure(
            "evaluation", f"full evaluation after import: {claims} claims, {rows} rows", series("evaluation"), 0.050
        ),
    ]


def cli_figures(runs: int) -> list[Figure]:
    verify = _repeat(runs, lambda: _timed([sys.executable, "-m", "claims", "verify"], ROOT))
    return [Figure("claims_verify", "python -m claims verify (a fresh process)", verify, 2.0)]


def nox_figures(runs: int) -> list[Figure]:
    nox = shutil.which("nox")
    if nox is None:
        return []
    command = [nox, "-s", "verify"]
    _timed(command, ROOT)  # create or refresh the environment; not counted
    reused = _repeat(runs, lambda: _timed(command, ROOT))
    no_install = _repeat(runs, lambda: _timed([nox, "-R", "-s", "verify"], ROOT))
    return [
        Figure("nox_verify", "nox -s verify, environment reused (pip still checks the install)", reused),
        Figure("nox_verify_R", "nox -R -s verify (reuse, skip install)", no_install),
    ]


def book_figures(runs: int, scratch: Path) -> list[Figure]:
    repo = _scratch_copy(scratch)
    out = scratch / "html"
    build = [sys.executable, "-m", "sphinx", *BOOK_FLAGS, "-c", ".", "book", str(out)]

    def clean() -> float:
        shutil.rmtree(out, ignore_errors=True)
        return _timed(build, repo)

    clean_runs = _repeat(runs, clean)
    page = repo / "book" / "rooflines.md"
    record = repo / "hwdb" / "data" / "accelerators" / "h100-sxm.toml"
    edits = iter(range(1000))

    def prose_edit() -> float:
        with page.open("a", encoding="utf-8") as handle:
            handle.write(f"\nA sentence added by the benchmark ({next(edits)}).\n")
        return _timed(build, repo)

    def hwdb_edit() -> float:
        with record.open("a", encoding="utf-8") as handle:
            handle.write(f"\n# a comment added by the benchmark ({next(edits)})\n")
        return _timed(build, repo)

    prose_runs = _repeat(runs, prose_edit)
    hwdb_runs = _repeat(max(2, runs - 2), hwdb_edit)

    def in_process(served: bool) -> float:
        shutil.rmtree(out, ignore_errors=True)
        flags = ["--served"] if served else []
        return _json_of([sys.executable, "-m", "bench.served_build", str(repo), str(out), *flags], repo)["build"]

    computed = _repeat(runs, lambda: in_process(False))
    served = _repeat(runs, lambda: in_process(True))
    overhead = [a - b for a, b in zip(sorted(computed), sorted(served), strict=True)]
    return [
        Figure("book_clean", "clean book build (sphinx-build, fresh process)", clean_runs, 60.0),
        Figure("book_prose_edit", "rebuild after a prose edit to one chapter", prose_runs, 5.0),
        Figure("book_hwdb_edit", "rebuild after an hwdb edit (every page re-read, by design)", hwdb_runs),
        Figure("book_clean_in_process", "clean build, timed inside the process, claims evaluated", computed),
        Figure("book_clean_served", "the same, claim evaluations served from memory", served),
        Figure("extension_overhead", "what evaluating the claims adds to a build (difference, sorted pairs)", overhead),
    ]


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    versions = {name: metadata.version(name) for name in ("sympy", "pint", "numpy", "sphinx", "myst-nb")}
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        **versions,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def table(figures: list[Figure], host: dict[str, str], runs: int) -> str:
    lines = [
        f"Measured {host['date']} on {host['cpu']}, {host['cores']} cores, {host['memory']}, "
        f"Python {host['python']}, {host['os']} (sympy {host['sympy']}, pint {host['pint']}, "
        f"Sphinx {host['sphinx']}). Median of {runs} runs (fewer where noted), fastest–slowest in brackets.",
        "",
        "| what | median | spread | target |",
        "| --- | --- | --- | --- |",
    ]
    for f in figures:
        target = "" if f.target is None else f"≤ {_seconds(f.target)} " + ("✓" if f.meets else "✗ missed")
        spread = f"{_seconds(min(f.runs))}–{_seconds(max(f.runs))} (n={len(f.runs)})"
        lines.append(f"| {f.what} | {_seconds(f.median)} | {spread} | {target} |")
    return "\n".join(lines) + "\n"


def _update_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    if START not in readme or END not in readme:
        raise SystemExit(f"{README}: no {START} … {END} markers to put the results between")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    write_atomic(README, f"{head}{START}\n{text}{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--skip-nox", action="store_true", help="leave out the nox session timings")
    parser.add_argument("--no-record", action="store_true", help="print only; leave results and README alone")
    args = parser.parse_args(argv)
    figures = engine_figures(args.runs) + cli_figures(args.runs)
    if not args.skip_nox:
        figures += nox_figures(max(3, args.runs - 2))
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        figures += book_figures(args.runs, Path(scratch))
    host = machine()
    text = table(figures, host, args.runs)
    print(text)
    if not args.no_record:
        write_atomic(
            RESULTS_JSON,
            json.dumps({"machine": host, "figures": [asdict(f) | {"median": f.median} for f in figures]}, indent=2)
            + "\n",
        )
        write_atomic(RESULTS_MD, "# Benchmark results (`nox -s bench`)\n\n" + text)
        _update_readme(text)
    missed = [f.name for f in figures if f.meets is False]
    if missed:
        print("missed targets: " + ", ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
