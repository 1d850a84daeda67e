"""``python -m bench``: time the feedback loop and record it (``nox -s bench``).

Each figure is the median of several runs in fresh processes, with the spread
(fastest and slowest). Book builds run in a scratch copy of the repository, so
the edits the incremental builds need never touch the working tree. Ratios compare
two commands timed in alternation (a fresh verify against a bare import of its
libraries; a rebuild after each kind of data edit against one after a prose edit),
so a busy machine slows both sides alike. A data edit moves pinned numbers, so
those rebuilds fail on drift, as they should; they still write every page, and the
benchmark accepts that failure and no other. Results go to ``bench/results.json``
and tables in ``bench/RESULTS.md``; the README shows them between its
``bench:start`` and ``bench:end`` markers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from importlib import metadata
from pathlib import Path

from bench import speedups
from claims.mutate import _perturb
from claims.sphinx.speedups import DRAWS_EVERY_FIGURE
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


@dataclass(frozen=True)
class Ratio:
    """Two commands timed in alternation (interleaved runs): the ratio of their medians, and its target."""

    name: str
    what: str
    against: str
    runs: list[float]
    base: list[float]
    target: float | None = None
    pages: str = ""  # for a rebuild: how many pages it re-read (of them, notebooks run again)
    cpu: list[float] = dataclass_field(default_factory=list)  # CPU seconds of each run, its children included
    base_cpu: list[float] = dataclass_field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs) / statistics.median(self.base)

    @property
    def meets(self) -> bool | None:
        return None if self.target is None else self.median <= self.target


#: What a drift looks like on stderr: a data edit moves pinned numbers, and the build says so (and
#: still writes every page); any other failure stops the benchmark.
DRIFT_MARKS = ("drifted from the lock", "DRIFT ", "changed since release")


#: Timed commands run as Python runs by default, keeping compiled bytecode: a shell that sets
#: PYTHONDONTWRITEBYTECODE would otherwise charge every run for compiling the project's modules,
#: while the libraries it is compared with come precompiled.
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _timed(command: list[str], cwd: Path, env: dict[str, str] | None = None, drift_ok: bool = False) -> float:
    return _timed_with_cpu(command, cwd, env, drift_ok)[0]


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _timed_with_cpu(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, drift_ok: bool = False
) -> tuple[float, float]:
    """Wall seconds, and the CPU seconds the command used in all its processes (the forked children a
    build waits for included): on a machine with two cores, work done beside the build shows here."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=cwd,
        env=BASE_ENV if env is None else env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - start
    used = _children_cpu() - cpu
    if done.returncode != 0 and not (drift_ok and any(mark in done.stderr for mark in DRIFT_MARKS)):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return elapsed, used


def _json_of(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, float]:
    done = subprocess.run(command, cwd=cwd, env=BASE_ENV if env is None else env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
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
            f"import the catalogue and get its {claims} SymPy derivations (from the derivation cache, warm)",
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


def step_figures(runs: int) -> list[Figure]:
    """The step model: a 1,000-configuration sweep (fresh process, formulas not yet compiled, and again) and
    one update of the explore page's step explorer (its script in Node, where Node is installed)."""
    probes = [_json_of([sys.executable, "-m", "bench.step_probe"], ROOT) for _ in range(runs)]
    figures = [
        Figure(
            "step_sweep_first",
            "a 1,000-configuration step sweep, first in a fresh process (formulas from the derivation cache)",
            [p["sweep_first"] for p in probes],
            1.0,
        ),
        Figure("step_sweep", "the same sweep again (compiled)", [p["sweep"] for p in probes], 1.0),
    ]
    if all("page_update" in p for p in probes):
        figures.append(
            Figure(
                "page_update",
                "one update of the explore page's step explorer (its script in Node, drawing left out)",
                [p["page_update"] for p in probes],
                0.050,
            )
        )
    return figures


BARE_IMPORT = "import sympy, numpy, pint, tomllib"
#: The same import, leaving as ``python -m claims`` leaves: with gc.freeze, so that the interpreter's last
#: collections do not walk what was imported. The ratio against it shows how much of the gap to the bare
#: import is verify's work rather than its way of exiting.
BARE_IMPORT_FROZEN_EXIT = BARE_IMPORT + ", gc; gc.freeze()"


def cli_figures(runs: int, scratch: Path) -> tuple[list[Figure], list[Ratio]]:
    """A fresh ``python -m claims verify`` beside a bare import of its libraries, interleaved.

    The verify runs find the derivation cache warm (one untimed run fills it, as any earlier run
    would); the cold figure gives each run an empty cache folder of its own.
    """
    verify_command = [sys.executable, "-m", "claims", "verify"]
    _timed(verify_command, ROOT, drift_ok=True)  # fill the derivation cache for this checkout; not counted
    verify: list[float] = []
    bare: list[float] = []
    bare_frozen: list[float] = []
    for _ in range(runs):
        bare.append(_timed([sys.executable, "-c", BARE_IMPORT], ROOT))
        verify.append(_timed(verify_command, ROOT, drift_ok=True))
        bare_frozen.append(_timed([sys.executable, "-c", BARE_IMPORT_FROZEN_EXIT], ROOT))
    cold = []
    for i in range(runs):
        env = {**BASE_ENV, "CLAIMS_CACHE_DIR": str(scratch / f"cold-cache-{i}")}
        cold.append(_timed(verify_command, ROOT, env, drift_ok=True))
    figures = [
        Figure("bare_import", f"python -c '{BARE_IMPORT}' (a fresh process)", bare),
        Figure("bare_import_frozen_exit", f"python -c '{BARE_IMPORT_FROZEN_EXIT}' (exits as verify does)", bare_frozen),
        Figure("claims_verify", "python -m claims verify (a fresh process, derivation cache warm)", verify, 2.0),
        Figure("claims_verify_cold", "python -m claims verify with an empty derivation cache", cold),
    ]
    ratios = [
        Ratio("verify_vs_import", "python -m claims verify", "the bare import", verify, bare, 1.5),
        Ratio(
            "verify_vs_import_frozen_exit",
            "python -m claims verify",
            "the bare import, exiting as verify does (gc.freeze)",
            verify,
            bare_frozen,
        ),
    ]
    return figures, ratios


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


#: One edit of each kind of data an author maintains: (file, field or source, target against a prose edit).
EDITS = {
    "accelerator field": ("hwdb/data/accelerators/h100-sxm.toml", "hbm_bandwidth", 2.0),
    "price sheet": ("hwdb/data/prices/claude-haiku-4-5.toml", "output_price", 1.3),
    "model field": ("hwdb/data/models/deepseek-v3.toml", "total_params", 1.3),
    "assumption": ("hwdb/data/assumptions/lecture-examples.toml", "step_time", None),
    "source title": ("hwdb/data/sources.toml", "anthropic-pricing", None),
}


def _edited(text: str, kind: str, name: str) -> str:
    """The file's text with the edit made: a field's value × 1.1, or a source's title changed."""
    if kind != "source title":
        return _perturb(text, name, 1.1)
    table = re.search(rf"^\[{re.escape(name)}\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    title = re.search(r'^title = "', table.group(1), re.M) if table else None
    if table is None or title is None:
        raise SystemExit(f"sources.toml: no title for source {name!r} to edit")
    at = table.start(1) + title.end()
    return text[:at] + "Retitled: " + text[at:]


def book_figures(runs: int, scratch: Path) -> tuple[list[Figure], list[Ratio]]:
    repo = _scratch_copy(scratch)
    out = scratch / "html"
    # Every build here draws its figures (the store off): a data edit in a real session is to a new value,
    # which the store has never drawn, and the clean build is the one a fresh machine makes.
    stored_build = [sys.executable, "-m", "sphinx", *BOOK_FLAGS, "-c", ".", "book", str(out)]
    build = [*stored_build, *DRAWS_EVERY_FIGURE]

    def clean(command: list[str]) -> float:
        shutil.rmtree(out, ignore_errors=True)
        return _timed(command, repo, drift_ok=True)

    clean_runs = _repeat(runs, lambda: clean(build))
    clean(stored_build)  # fills the store for this tree; not counted
    stored_runs = _repeat(runs, lambda: clean(stored_build))
    page = repo / "book" / "rooflines.md"
    counter = iter(range(1000))

    doctrees = out / ".doctrees"
    reread: dict[str, str] = {}

    def stamps() -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in doctrees.rglob("*.doctree")}

    def count_reread(kind: str, before: dict[Path, int]) -> None:
        docs = [p.relative_to(doctrees).with_suffix("") for p, t in stamps().items() if before.get(p) != t]
        notebooks = sum(1 for d in docs if (out / d).with_suffix(".ipynb").exists())
        plural = "" if notebooks == 1 else "s"
        reread[kind] = f"{len(docs)} of {len(before)}" + (f" ({notebooks} notebook{plural})" if notebooks else "")

    cpu: dict[str, list[float]] = {kind: [] for kind in ("prose", *EDITS)}

    def prose_edit() -> float:
        with page.open("a", encoding="utf-8") as handle:
            handle.write(f"\nA sentence added by the benchmark ({next(counter)}).\n")
        before = stamps()
        elapsed, used = _timed_with_cpu(build, repo, drift_ok=True)
        cpu["prose"].append(used)
        count_reread("prose", before)
        return elapsed

    originals = {kind: (repo / path).read_text(encoding="utf-8") for kind, (path, _, _) in EDITS.items()}

    def data_edit(kind: str, forward: bool) -> float:
        """Make the edit (or undo it: the way back is the same kind of edit) and rebuild."""
        path, name, _ = EDITS[kind]
        text = _edited(originals[kind], kind, name) if forward else originals[kind]
        (repo / path).write_text(text, encoding="utf-8")
        before = stamps()
        elapsed, used = _timed_with_cpu(build, repo, drift_ok=True)
        cpu[kind].append(used)
        count_reread(kind, before)
        return elapsed

    prose_edit()  # the first incremental build after the clean ones; not counted
    cpu["prose"].clear()
    prose_runs: list[float] = []
    edit_runs: dict[str, list[float]] = {kind: [] for kind in EDITS}
    for i in range(runs):  # interleaved: each round times a prose edit and one edit of each kind
        prose_runs.append(prose_edit())
        for kind in EDITS:
            edit_runs[kind].append(data_edit(kind, forward=i % 2 == 0))
    for kind, (path, _, _) in EDITS.items():
        (repo / path).write_text(originals[kind], encoding="utf-8")

    def in_process(served: bool) -> float:
        shutil.rmtree(out, ignore_errors=True)
        flags = ["--served"] if served else []
        return _json_of([sys.executable, "-m", "bench.served_build", str(repo), str(out), *flags], repo)["build"]

    computed = _repeat(runs, lambda: in_process(False))
    served = _repeat(runs, lambda: in_process(True))
    overhead = [a - b for a, b in zip(sorted(computed), sorted(served), strict=True)]
    figures = [
        Figure("book_clean", "clean book build (sphinx-build, fresh process, every figure drawn)", clean_runs, 60.0),
        Figure(
            "book_clean_stored",
            "clean book build, every figure served from the store (a second checkout, or after rm -rf _build)",
            stored_runs,
        ),
        Figure("book_prose_edit", "rebuild after a prose edit to one chapter", prose_runs, 5.0),
        *(
            Figure(f"book_edit_{kind.replace(' ', '_')}", f"rebuild after editing one {kind} ({EDITS[kind][0]})", r)
            for kind, r in edit_runs.items()
        ),
        Figure("book_clean_in_process", "clean build, timed inside the process, claims evaluated", computed),
        Figure("book_clean_served", "the same, claim evaluations served from memory", served),
        Figure("extension_overhead", "what evaluating the claims adds to a build (difference, sorted pairs)", overhead),
    ]
    ratios = [
        Ratio(
            f"rebuild_{kind.replace(' ', '_')}",
            f"rebuild after one {kind} edit",
            f"a prose edit's ({reread.get('prose', '?')} pages)",
            r,
            prose_runs,
            EDITS[kind][2],
            reread.get(kind, "?"),
            cpu[kind],
            cpu["prose"],
        )
        for kind, r in edit_runs.items()
    ]
    return figures, ratios


def speedup_savings(runs: int, scratch: Path) -> list[speedups.Saving]:
    """What each speed-up saves of a clean build and of a model-edit rebuild (:mod:`bench.speedups`)."""
    repo = _scratch_copy(scratch / "speedups")
    path, name, _ = EDITS["model field"]
    original = (repo / path).read_text(encoding="utf-8")
    values = iter(range(1, 10_000))

    def edit(forward: bool) -> None:
        """Each edit gives the field a value no build has drawn, as a real edit would (a rebuild that found
        its figures in the store would time the store, not the edit); undone, the original is back."""
        text = _perturb(original, name, 1 + next(values) / 100) if forward else original
        (repo / path).write_text(text, encoding="utf-8")

    return speedups.book_savings(runs, repo, scratch / "speedups-html", _timed_with_cpu, edit)


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
    if value < 1e-3:
        return f"{value * 1e6:.1f} µs"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def ratio_table(ratios: list[Ratio]) -> str:
    lines = [
        "Side by side (runs interleaved, so both sides see the same load): the ratio of the medians. For a rebuild,",
        "the CPU seconds of all its processes (the children that draw figures, run notebooks and render pages",
        "beside the build included; medians), against the prose edit's: what the two cores had to share.",
        "",
        "| what | against | ratio | medians | CPU, all processes | pages re-read | target |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in ratios:
        target = "" if r.target is None else f"≤ {r.target:g}× " + ("✓" if r.meets else "✗ missed")
        medians = f"{_seconds(statistics.median(r.runs))} / {_seconds(statistics.median(r.base))} (n={len(r.runs)})"
        cpu = f"{_seconds(statistics.median(r.cpu))} / {_seconds(statistics.median(r.base_cpu))}" if r.cpu else ""
        lines.append(f"| {r.what} | {r.against} | {r.median:.2f}× | {medians} | {cpu} | {r.pages} | {target} |")
    return "\n".join(lines) + "\n"


def load_note() -> str:
    """How busy the machine was: the benchmark shares it, and the figures say so."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return ""
    return f" Load average at the end: {one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min) on {os.cpu_count()} cores."


def table(figures: list[Figure], host: dict[str, str], runs: int) -> str:
    lines = [
        f"Measured {host['date']} on {host['cpu']}, {host['cores']} cores, {host['memory']}, "
        f"Python {host['python']}, {host['os']} (sympy {host['sympy']}, pint {host['pint']}, "
        f"Sphinx {host['sphinx']}). Median of {runs} runs (fewer where noted), fastest–slowest in brackets."
        f"{host.get('load', '')}",
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
    parser.add_argument("--speedups-only", action="store_true", help="only what each speed-up saves; print it")
    args = parser.parse_args(argv)
    if args.speedups_only:
        with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
            savings = speedup_savings(args.runs, Path(scratch))
        print(speedups.table(savings))
        return 0
    figures = engine_figures(args.runs) + step_figures(args.runs)
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        cli, ratios = cli_figures(args.runs, Path(scratch))
        figures += cli
        if not args.skip_nox:
            figures += nox_figures(max(3, args.runs - 2))
        book, rebuilds = book_figures(args.runs, Path(scratch))
        figures += book
        ratios += rebuilds
        savings = speedup_savings(max(3, args.runs - 2), Path(scratch))
    host = machine() | {"load": load_note()}
    text = table(figures, host, args.runs) + "\n" + ratio_table(ratios) + "\n" + speedups.table(savings)
    print(text)
    if not args.no_record:
        results = {
            "machine": host,
            "figures": [asdict(f) | {"median": f.median} for f in figures],
            "ratios": [asdict(r) | {"ratio": r.median} for r in ratios],
            "speedups": [asdict(s) | {"share": s.share} for s in savings],
        }
        write_atomic(RESULTS_JSON, json.dumps(results, indent=2) + "\n")
        write_atomic(RESULTS_MD, "# Benchmark results (`nox -s bench`)\n\n" + text)
        _update_readme(text)
    missed = [f.name for f in figures if f.meets is False] + [r.name for r in ratios if r.meets is False]
    missed += [f"speed-up {name} (under {speedups.WORTH:.0%} of both builds)" for name in speedups.below_worth(savings)]
    if missed:
        print("missed targets: " + ", ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
