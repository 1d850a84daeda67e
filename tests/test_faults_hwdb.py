"""Hostile input to hwdb: unit text, values, what-ifs and files that once hung, crashed or were misreported.

One table per surface (units, the what-if API, overlays and data files, the command lines), each row
naming the case, what it must end with (an exit status, or the exception a Python caller gets) and
words its message must hold. Nothing here may hang: every case that could block (a FIFO, a device, a
unit pint would evaluate for minutes) runs in a child process with a timeout, and the in-process
tables are evaluated in one child, so a regression fails its rows instead of stalling the run.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

from hwdb import parsed
from hwdb.files import framed, unframed
from hwdb.units import ureg

TIMEOUT = 60  # seconds for any one child process; a case that hangs fails at this, never stalls the run

MINE = '[sources.mine]\ntitle = "My notes"\npublisher = "me"\nurl = "https://example.com"\nretrieved = 2026-01-01\n'


def _override(record: str, name: str, body: str) -> str:
    """An overlay overriding one field of a packaged record, credited to the overlay's own source."""
    return f'{MINE}\n[[override]]\nid = "{record}"\n[override.fields.{name}]\nsource = "mine"\n{body}'


def _bandwidth(value: str, unit: str = '"TB/s"', extra: str = "") -> str:
    return _override("h100-sxm", "hbm_bandwidth", f"value = {value}\nunit = {unit}\n{extra}")


# ------------------------------------------------------------------ the child that evaluates the in-process tables

PROBE = r"""
import contextlib, json, os, sys, time, traceback
from pathlib import Path

from hwdb.units import parse_unit  # imported before the clock starts: a case's time is its own

cases = json.load(sys.stdin)
results = {}
for case in cases:
    kind, arg = case["kind"], case["arg"]
    start = time.perf_counter()
    try:
        if kind == "unit":
            out = str(parse_unit(arg))
        elif kind == "set":
            import claims
            out = claims.evaluate("batch.optimal-size", set=arg).text
        elif kind == "scale":
            import claims
            out = claims.evaluate("batch.optimal-size", scale=arg).text
        elif kind in ("overlay", "overlay-pipe", "data"):
            from hwdb.loader import DATA_DIR, load
            from hwdb.overlay import absolute_path
            if kind == "data":
                db = load(Path(arg))
            elif kind == "overlay":
                db = load(DATA_DIR, [absolute_path(arg)])
            else:  # the overlay's text through a pipe, as <(...) gives it
                read, write = os.pipe()
                os.write(write, arg.encode())
                os.close(write)
                db = load(DATA_DIR, [absolute_path(f"/dev/fd/{read}")])
            out = f"{len(db.records)} records"
        else:
            raise SystemExit(f"unknown probe kind {kind}")
        results[case["id"]] = {"ok": out, "ms": (time.perf_counter() - start) * 1000}
    except Exception as exc:
        results[case["id"]] = {
            "type": type(exc).__name__,
            "error": str(exc),
            "ms": (time.perf_counter() - start) * 1000,
            "traceback": "".join(traceback.format_exception(exc)) if not isinstance(exc, ValueError) else "",
        }
json.dump(results, sys.stdout)
"""


def _probe(cases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Run the in-process cases in one child with a timeout; its results by case ID."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps(cases),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "HWDB_OVERLAY": ""},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results: dict[str, dict[str, Any]] = json.loads(run.stdout)
    return results


# ------------------------------------------------------------------ units

#: (case, unit text, the unit it reads as or None, words the refusal holds)
UNIT_CASES: list[tuple[str, str, str | None, str]] = [
    ("an exponent tower pint evaluated for minutes", "TB/s*9**9**9", None, "a number is not a unit"),
    ("a lone star", "*", None, "expected a unit name but found '*'"),
    ("a lone slash", "/", None, "expected a unit name but found '/'"),
    ("empty parentheses", "()", None, "expected a unit name but found ')'"),
    ("an unmatched parenthesis", "TB/s)", None, "an unmatched ')' at character 5"),
    ("an unclosed parenthesis", "(TB/s", None, "expected ')' but found the end"),
    ("a division by zero", "TB/s/0", None, "a number is not a unit ('0' at character 6)"),
    ("a 700-factor product", "*".join(["s"] * 700), None, "a unit is at most 200"),
    ("a 30,000-letter unit", "a" * 30_000, None, "30,000 characters long"),
    ("a 60-factor product within the length", "*".join(["s"] * 60), None, "more than 12 unit names"),
    ("a power past the bound", "s**7", None, "a power is a whole number from -6 to 6"),
    ("a power of zero", "s^0", None, "not 0"),
    ("a fractional power", "s**0.5", None, "power 0.5 at character 2: a power is a whole number"),
    ("a power of a power", "s**2**2", None, "unexpected '**2'"),
    ("parentheses four deep", "((((s))))", None, "more than 3 nested parentheses"),
    ("two names side by side", "kW h", None, "write '*' or '/' between units"),
    ("a prefix on a percent sign", "E%", None, "'E' (character 1) is not a unit name"),
    ("an unknown name", "furlong/s", None, "'furlong' (character 1) is not a unit name"),
    ("a control character", "TB\x00", None, "unexpected '\\x00' at character 3"),
    ("a Python expression", "__import__('os')", None, "unexpected"),
    ("nothing", "  ", None, "empty"),
    # what the data, the catalogue and the calculators write: read as pint reads it
    ("a quotient", "TB/s", "terabyte / second", ""),
    ("a grouped denominator", "flop/(param*token)", "flop / parameter / token", ""),
    ("a superscript power", "FLOP/tok²", "flop / token ** 2", ""),
    ("pint's own spelling", "US_dollar / hour", "US_dollar / hour", ""),
    ("a negative power", "s^-1", "1 / second", ""),
    ("a superscript negative power", "B·s⁻¹", "byte / second", ""),
    ("one over a unit", "1/s", "1 / second", ""),
    ("a percent sign", "%", "percent", ""),
    ("a plain number", "1", "dimensionless", ""),
]


@pytest.fixture(scope="module")
def unit_results() -> dict[str, dict[str, Any]]:
    return _probe([{"id": case, "kind": "unit", "arg": text} for case, text, _, _ in UNIT_CASES])


@pytest.mark.parametrize(
    ("case", "expected", "words"), [(c[0], c[2], c[3]) for c in UNIT_CASES], ids=[c[0] for c in UNIT_CASES]
)
def test_unit_text_is_read_by_our_grammar(
    unit_results: dict[str, dict[str, Any]], case: str, expected: str | None, words: str
) -> None:
    result = unit_results[case]
    assert result["ms"] < 50, f"{case} took {result['ms']:.1f} ms"  # linear and bounded: no case is slow
    if expected is not None:
        assert result.get("ok") == expected, result
        return
    assert result.get("type") == "UnitTextError", result  # a ValueError every caller already catches
    assert words in result["error"]
    assert len(result["error"]) < 200  # never echoes a long text


def test_the_30000_letter_unit_is_refused_in_under_10_ms() -> None:
    from hwdb.unit_text import UnitTextError, read_unit

    text = "a" * 30_000
    start = time.perf_counter()
    with pytest.raises(UnitTextError, match="30,000 characters long"):
        read_unit(ureg, text)
    assert time.perf_counter() - start < 0.010


def _data_units() -> set[str]:
    """Every unit text hwdb's records and the example overlay write."""
    import tomllib

    found: set[str] = set()
    for path in [*(REPO / "hwdb" / "data").rglob("*.toml"), *(REPO / "book" / "examples").glob("*.toml")]:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        tables = [document, *document.get("record", []), *document.get("override", [])]
        for table in tables:
            fields = table.get("fields", {}) if isinstance(table, dict) else {}
            found |= {f["unit"] for f in fields.values() if isinstance(f, dict) and isinstance(f.get("unit"), str)}
    return found


def test_the_grammar_reads_every_unit_the_data_and_the_schema_write_as_pint_does() -> None:
    from hwdb.schema import FIELDS
    from hwdb.units import parse_unit

    texts = _data_units() | {spec.unit for spec in FIELDS.values()}
    assert len(texts) > 30
    for text in sorted(texts):
        expected = ureg.dimensionless if text == "1" else ureg.Unit(text)
        assert parse_unit(text) == expected, text


# ------------------------------------------------------------------ the what-if API (set=, scale=)

#: (case, kind, argument, words the ValueError holds)
WHAT_IF_CASES: list[tuple[str, str, Any, str]] = [
    ("set= an exponent tower", "set", {"gb200.hbm_bandwidth": "3 TB/s*9**9**9"}, "unknown unit 'TB/s*9**9**9'"),
    ("set= a lone star", "set", {"gb200.hbm_bandwidth": "3 *"}, "unknown unit '*'"),
    ("set= an unmatched parenthesis", "set", {"gb200.hbm_bandwidth": "3 TB/s)"}, "an unmatched ')'"),
    ("set= a 30,000-letter unit", "set", {"gb200.hbm_bandwidth": "3 " + "a" * 30_000}, "30,000 characters long"),
    ("set= a subnormal bandwidth", "set", {"gb200.hbm_bandwidth": "1e-320 TB/s"}, "below any plausible figure"),
    ("set= an overflowing bandwidth", "set", {"gb200.hbm_bandwidth": "1e400 TB/s"}, "must be finite, got inf"),
    ("set= a fractional layer count", "set", {"deepseek-v3.layers": "61.5"}, "must be a whole number"),
    ("set= a layer count of 1e23", "set", {"deepseek-v3.layers": "1e23"}, "must be a whole number from 1 to 1e+09"),
    ("scale= a layer count by 1.5", "scale", {"deepseek-v3.layers": 1.5}, "must be a whole number"),
    ("scale= a bandwidth to below a subnormal", "scale", {"gb200.hbm_bandwidth": 1e-300}, "below any plausible"),
]


@pytest.fixture(scope="module")
def what_if_results() -> dict[str, dict[str, Any]]:
    return _probe([{"id": case, "kind": kind, "arg": arg} for case, kind, arg, _ in WHAT_IF_CASES])


@pytest.mark.parametrize(("case", "words"), [(c[0], c[3]) for c in WHAT_IF_CASES], ids=[c[0] for c in WHAT_IF_CASES])
def test_a_what_if_is_refused_with_a_value_error(
    what_if_results: dict[str, dict[str, Any]], case: str, words: str
) -> None:
    result = what_if_results[case]
    assert result.get("type") == "ValueError", result
    assert words in result["error"]
    assert len(result["error"]) < 400  # the start of a long assignment, not all of it


# ------------------------------------------------------------------ overlays and data files


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files that are wrong in one way each, and copies of hwdb's data with one file made wrong."""
    root = tmp_path_factory.mktemp("hostile")
    os.mkfifo(root / "fifo.toml")
    (root / "bom.toml").write_bytes(b"\xef\xbb\xbf" + _bandwidth("3.9").encode())
    (root / "utf16.toml").write_bytes(_bandwidth("3.9").encode("utf-16"))
    with open(root / "huge.toml", "wb") as out:  # sparse: 9 MiB on paper, nothing on disk
        out.truncate(9 * 1024 * 1024)
    overlays = {
        "subnormal.toml": _bandwidth("1e-320"),
        "per-chips-400-digits.toml": _bandwidth("3.9", extra="per_chips = 1" + "0" * 400 + "\n"),
        "per-chips-1e23.toml": _bandwidth("3.9", extra="per_chips = 100000000000000000000000\n"),
        "tower-unit.toml": _bandwidth("3.9", unit='"TB/s*9**9**9"'),
        "long-unit.toml": _bandwidth("3.9", unit='"' + "a" * 30_000 + '"'),
        "numeric-unit.toml": _bandwidth("3.9", unit="5"),
        "fractional-count.toml": _override("deepseek-v3", "layers", 'value = 61.5\nunit = "1"\n'),
        "good.toml": _bandwidth("3.9"),
    }
    for name, text in overlays.items():
        (root / name).write_text(text, encoding="utf-8")
    for name in ("data-fifo", "data-zero", "data-bom", "data-malformed"):
        shutil.copytree(REPO / "hwdb" / "data", root / name)
    os.mkfifo(root / "data-fifo" / "accelerators" / "zz-fifo.toml")
    (root / "data-zero" / "accelerators" / "zz-zero.toml").symlink_to("/dev/zero")
    registry = root / "data-bom" / "sources.toml"
    registry.write_bytes(b"\xef\xbb\xbf" + registry.read_bytes())
    (root / "data-malformed" / "accelerators" / "h100-sxm.toml").write_text("[[[\n")
    return root


#: (case, probe kind, file or text, words the HwdbError holds, how many problems it lists)
FILE_CASES: list[tuple[str, str, str, str, int]] = [
    ("overlay: a FIFO", "overlay", "fifo.toml", "fifo.toml: is a pipe or FIFO, not an overlay file", 1),
    ("overlay: /dev/zero", "overlay", "/dev/zero", "/dev/zero: is a device, not an overlay file", 1),
    ("overlay: a pipe as <(...) gives", "overlay-pipe", _bandwidth("3.9"), "is a pipe or FIFO", 1),
    ("overlay: a byte-order mark", "overlay", "bom.toml", "starts with a byte-order mark (BOM)", 1),
    ("overlay: UTF-16 text", "overlay", "utf16.toml", "it starts as UTF-16 text does", 1),
    ("overlay: 9 MiB", "overlay", "huge.toml", "is over 8 MiB", 1),
    ("overlay: a subnormal value", "overlay", "subnormal.toml", "below any plausible figure", 1),
    ("overlay: per_chips of 400 digits", "overlay", "per-chips-400-digits.toml", "about 401 digits", 1),
    ("overlay: per_chips of 1e23", "overlay", "per-chips-1e23.toml", "'per_chips' must be a positive integer up to", 1),
    ("overlay: an exponent-tower unit", "overlay", "tower-unit.toml", "unknown unit 'TB/s*9**9**9'", 1),
    ("overlay: a 30,000-letter unit", "overlay", "long-unit.toml", "(30,000 characters): 30,000 characters long", 1),
    ("overlay: a number as the unit", "overlay", "numeric-unit.toml", "unit must be text (quote it), got 5", 1),
    ("overlay: a fractional layer count", "overlay", "fractional-count.toml", "must be a whole number from 1", 1),
    ("data: a FIFO among the records", "data", "data-fifo", "zz-fifo.toml: is a pipe or FIFO, not a TOML file", 1),
    ("data: /dev/zero among the records", "data", "data-zero", "zz-zero.toml: is a device, not a TOML file", 1),
    ("data: a BOM on the source registry", "data", "data-bom", "sources.toml: starts with a byte-order mark", 1),
    ("data: one malformed record, no cascade", "data", "data-malformed", "h100-sxm.toml: malformed TOML", 1),
]


@pytest.fixture(scope="module")
def file_results(hostile: Path) -> dict[str, dict[str, Any]]:
    cases = []
    for case, kind, arg, _, _ in FILE_CASES:
        path = arg if kind == "overlay-pipe" or arg.startswith("/") else str(hostile / arg)
        cases.append({"id": case, "kind": kind, "arg": path})
    return _probe([*cases, {"id": "good", "kind": "overlay", "arg": str(hostile / "good.toml")}])


@pytest.mark.parametrize(
    ("case", "words", "count"), [(c[0], c[3], c[4]) for c in FILE_CASES], ids=[c[0] for c in FILE_CASES]
)
def test_a_hostile_file_is_refused_by_name_alone(
    file_results: dict[str, dict[str, Any]], case: str, words: str, count: int
) -> None:
    result = file_results[case]
    assert result.get("type") == "HwdbError", result
    assert words in result["error"], result["error"]
    assert f"hwdb: {count} problem(s)" in result["error"], result["error"]  # the bad file, not a cascade
    assert len(result["error"]) < 600


def test_the_same_overlay_written_well_loads(file_results: dict[str, dict[str, Any]]) -> None:
    assert file_results["good"].get("ok", "").endswith("records"), file_results["good"]


# ------------------------------------------------------------------ the command lines


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cache folders with something in the way: a folder for the table, a file for a folder, a FIFO for pint."""
    import platform

    root = tmp_path_factory.mktemp("caches")
    (root / "table-folder" / "toml" / f"python-{platform.python_version()}.pickle").mkdir(parents=True)
    (root / "pint-file").mkdir()
    (root / "pint-file" / "pint").write_text("")
    (root / "pint-fifo" / "pint").mkdir(parents=True)
    os.mkfifo(root / "pint-fifo" / "pint" / "0123.pickle")
    (root / "root-file").write_text("")
    return root


#: (case, command line, environment, exit status, words on stderr)
CLI_CASES: list[tuple[str, tuple[str, ...], dict[str, str], int, str]] = [
    ("hwdb: export to /dev/full", ("hwdb", "export"), {"stdout": "/dev/full"}, 2, "cannot write the output"),
    ("hwdb: list to /dev/full", ("hwdb", "list"), {"stdout": "/dev/full"}, 2, "No space left on device"),
    ("hwdb: a FIFO overlay", ("hwdb", "--hwdb-overlay", "{hostile}/fifo.toml", "check"), {}, 1, "is a pipe or FIFO"),
    ("hwdb: /dev/zero as overlay", ("hwdb", "--hwdb-overlay", "/dev/zero", "check"), {}, 1, "is a device"),
    ("hwdb: an overlay from <(...)", ("hwdb", "--hwdb-overlay", "{pipe}", "check"), {}, 1, "/dev/fd/"),
    ("hwdb: a BOM overlay", ("hwdb", "--hwdb-overlay", "{hostile}/bom.toml", "check"), {}, 1, "byte-order mark"),
    ("hwdb: a subnormal overlay", ("hwdb", "--hwdb-overlay", "{hostile}/subnormal.toml", "export"), {}, 1, "below"),
    ("hwdb: a tower unit", ("hwdb", "--hwdb-overlay", "{hostile}/tower-unit.toml", "check"), {}, 1, "unknown unit"),
    ("hwdb: the table is a folder", ("hwdb", "check"), {"cache": "table-folder"}, 0, "it is a folder"),
    ("hwdb: pint's folder is a file", ("hwdb", "check"), {"cache": "pint-file"}, 0, "is in the way"),
    ("hwdb: a FIFO in pint's folder", ("hwdb", "check"), {"cache": "pint-fifo"}, 0, "0123.pickle is a pipe or FIFO"),
    ("hwdb: the cache root is a file", ("hwdb", "check"), {"cache": "root-file"}, 0, "not using it"),
    (
        "claims: --set an exponent tower",
        ("claims", "show", "batch.optimal-size", "--set", "gb200.hbm_bandwidth=3 TB/s*9**9**9"),
        {},
        2,
        "unknown unit 'TB/s*9**9**9'",
    ),
    (
        "claims: --set a 30,000-letter unit",
        ("claims", "show", "batch.optimal-size", "--set", "gb200.hbm_bandwidth=3 " + "a" * 30_000),
        {},
        2,
        "30,000 characters long",
    ),
]


@pytest.mark.parametrize(
    ("args", "setup", "status", "words"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_the_command_lines_refuse_in_one_line(
    hostile: Path,
    caches: Path,
    run_fault: Callable[..., subprocess.CompletedProcess[str]],
    args: tuple[str, ...],
    setup: dict[str, str],
    status: int,
    words: str,
) -> None:
    env = {"HWDB_OVERLAY": "", **({parsed.ENV_VAR: str(caches / setup["cache"])} if "cache" in setup else {})}
    read, write = os.pipe()
    try:
        os.write(write, _bandwidth("3.9").encode())
        os.close(write)
        argv = [a.format(hostile=hostile, pipe=f"/dev/fd/{read}") for a in args]
        stdout_to = setup.get("stdout", os.devnull)  # stdout to a file: the message is on stderr alone
        run = run_fault(argv, status, words, cwd=REPO, timeout=TIMEOUT, env=env, stdout_to=stdout_to, pass_fds=(read,))
    finally:
        os.close(read)
    assert len(run.stderr) < 1000 and len(run.stderr.strip().splitlines()) <= 4


# ------------------------------------------------------------------ the parsed-TOML cache: pruned by age and size


def _stored(toml_table: Path) -> dict[bytes, tuple[int, bytes]]:
    (path,) = toml_table.rglob("*.pickle")
    entries: dict[bytes, tuple[int, bytes]] = pickle.loads(unframed(parsed.FORMAT, path.read_bytes()))
    return entries


def _save() -> None:
    parsed._table().save()
    parsed._table.cache_clear()


def test_an_entry_unused_for_a_month_is_dropped(toml_table: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed.parse(b"old = 1\n")
    _save()
    today = parsed._today()
    monkeypatch.setattr(parsed, "_today", lambda: today + parsed.MAX_AGE_DAYS)
    parsed.parse(b"new = 1\n")
    _save()
    assert len(_stored(toml_table)) == 1  # the old file's entry is gone; the new one is kept


def test_entries_past_the_size_budget_are_dropped_least_recent_first(
    toml_table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsed, "MAX_BYTES", 3000)
    for n in range(8):  # eight ~1 kB parses: more than the budget
        parsed.parse(f"x{n} = '{'y' * 900}'\n".encode())
    _save()
    assert len(_stored(toml_table)) == 8  # what this process used is kept, whatever the budget
    parsed.parse(b"x0 = 1\n")  # a later process uses one new file only
    _save()
    kept = _stored(toml_table)
    assert sum(len(v[1]) for v in kept.values()) <= 3000
    assert 1 < len(kept) < 9


def test_a_huge_parse_is_not_kept(toml_table: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsed, "MAX_ENTRY", 1000)
    parsed.parse(f"big = '{'z' * 5000}'\n".encode())
    parsed.parse(b"small = 1\n")
    _save()
    assert len(_stored(toml_table)) == 1


def test_an_older_tables_format_is_replaced_without_a_note(
    toml_table: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import platform

    path = toml_table / "toml" / f"python-{platform.python_version()}.pickle"
    path.parent.mkdir(parents=True)
    path.write_bytes(framed(b"hwdb-parsed-toml 1\n", pickle.dumps({b"x": b"y"})))
    assert parsed.parse(b"a = 1\n") == {"a": 1}
    _save()
    assert not capsys.readouterr().err
    assert len(_stored(toml_table)) == 1
