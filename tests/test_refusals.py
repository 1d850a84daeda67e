"""Bad input is refused in a line or two, never with a traceback, and never leaves a file half written.

Each case is one row: the command, the exit status it must end with, and words its message
must contain. Filesystem faults (a full disk, an interrupted write) are simulated around the
one helper every writer uses.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from forked_cli import run_module

import hwdb
from claims import citation, evaluate_all, lock
from hwdb.files import write_atomic

SHOW = ("show", "serving.worst-case-wait")


def _cli(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HWDB_OVERLAY": ""}
    return run_module(module, args, cwd=REPO, env=environment, timeout=120)


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files that are wrong in one way each: a folder, a symlink loop, binary bytes, a foreign lock."""
    root = tmp_path_factory.mktemp("faults")
    (root / "folder.toml").mkdir()
    (root / "loop-a.toml").symlink_to(root / "loop-b.toml")
    (root / "loop-b.toml").symlink_to(root / "loop-a.toml")
    (root / "binary.toml").write_bytes(b"\x00\x01\xff binary")
    (root / "not-a-lock.json").write_text("{}\n")
    (root / "broken-lock.json").write_text('{"version": 1, "claims": ')
    mine = '[sources.mine]\ntitle = "My notes"\npublisher = "me"\nurl = "https://example.com"\nretrieved = 2026-01-01\n'
    override = (
        '[[override]]\nid = "gb200"\n\n[override.fields.hbm_bandwidth]\nvalue = {v}\nunit = "TB/s"\nsource = "mine"\n'
    )
    (root / "faster.toml").write_text(mine + override.format(v=9))
    (root / "fastest.toml").write_text(mine + override.format(v=10))
    (root / "numeric-title.toml").write_text(mine.replace('"My notes"', "2026"))
    (root / "cascade.toml").write_text(
        mine + '[[record]]\nid = "x9"\nkind = "accelerator"\nname = "X9"\nsource = "mine"\n'
        '[record.fields.hbm_capacity]\nvalue = 80\nunit = "GB"\n\n'
        '[[record]]\nid = "x9-rack"\nkind = "system"\nname = "X9 rack"\nsource = "mine"\n'
        '[record.meta]\naccelerator = "x9"\n[record.fields.chips]\nvalue = 8\nunit = "1"\n'
    )
    (root / "bigint.toml").write_text(mine + override.format(v="1" + "0" * 400))
    (root / "per-chip.toml").write_text(
        mine + override.format(v="576").replace('unit = "TB/s"', 'unit = "TB/s"\nper_chips = 72')
    )
    (root / "damaged-entry.json").write_text('{"version": 1, "claims": {"batch.optimal-size": 5}}')
    (root / "huge.toml").write_text(
        '[[override]]\nid = "gb200"\n\n[override.fields.hbm_bandwidth]\n'
        'value = 1e300\nunit = "TB/s"\nsource = "nvidia-gb200-nvl72"\n'
    )
    return root


CLI_CASES: list[tuple[str, tuple[str, ...], int, str]] = [
    ("set a negative bandwidth", (*SHOW, "--set", "gb200.hbm_bandwidth=-3 TB/s"), 2, "must be positive, got -3"),
    ("set a zero bandwidth", (*SHOW, "--set", "gb200.hbm_bandwidth=0 TB/s"), 2, "must be positive, got 0"),
    ("set an infinite bandwidth", (*SHOW, "--set", "gb200.hbm_bandwidth=inf TB/s"), 2, "must be finite, got inf"),
    ("set NaN", (*SHOW, "--set", "gb200.hbm_bandwidth=nan TB/s"), 2, "must be finite, got nan"),
    ("set an absurd bandwidth", (*SHOW, "--set", "gb200.hbm_bandwidth=1e300 TB/s"), 2, "beyond any plausible figure"),
    ("set a capacity as a bandwidth", (*SHOW, "--set", "gb200.hbm_bandwidth=3 GB"), 2, "gb200.hbm_bandwidth"),
    ("set a word as a value", (*SHOW, "--set", "gb200.hbm_bandwidth=fast"), 2, "cannot read 'fast'"),
    (
        "set an expression pint would run forever",
        (*SHOW, "--set", "gb200.hbm_bandwidth=9**9**9 TB/s"),
        2,
        "unknown unit",
    ),
    ("set an unknown unit", (*SHOW, "--set", "gb200.hbm_bandwidth=3 parsecs"), 2, "gb200.hbm_bandwidth"),
    (
        "set FLOP/s without dense or sparse",
        (*SHOW, "--set", "gb200.bf16_flops=5 PFLOP/s"),
        2,
        "how the figure was printed",
    ),
    ("set a link without its direction", (*SHOW, "--set", "gb200.scaleup_bandwidth=1.8 TB/s"), 2, "per-direction"),
    ("set without '='", (*SHOW, "--set", "gb200.hbm_bandwidth"), 2, "write RECORD.FIELD=VALUE"),
    ("set an unknown field", (*SHOW, "--set", "gb200.warp_speed=3"), 2, "hwdb has no field gb200.warp_speed"),
    ("set an unknown record", (*SHOW, "--set", "gb999.hbm_bandwidth=3 TB/s"), 2, "hwdb has no field gb999"),
    ("set a derived figure", (*SHOW, "--set", "deepseek-v3.kv_bytes_per_token_bf16=1 kB/token"), 2, "no field"),
    ("show an unknown claim", ("show", "batch.nope"), 2, "unknown claim ID 'batch.nope'"),
    ("cite an unknown claim", ("cite", "batch.nope"), 2, "unknown claim ID 'batch.nope'"),
    ("an unknown reference row", ("show", "batch.optimal-size", "--hw", "gb999"), 2, "'gb999' is not among its rows"),
    ("--hw on a claim without rows", ("show", "kv.sanity-check", "--hw", "gb200"), 2, "not evaluated per hardware"),
    ("a lock in a missing folder", ("--lock", "/nonexistent/folder/lock.json", "verify"), 2, "lock file not found"),
]


@pytest.mark.parametrize(("args", "status", "words"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_the_claims_cli_refuses_bad_input_in_words(args: tuple[str, ...], status: int, words: str) -> None:
    run = _cli("claims", *args)
    assert run.returncode == status, run.stderr
    assert words in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 6


FILE_CASES: list[tuple[str, str, tuple[str, ...], str]] = [
    ("overlay is a folder", "folder.toml", ("list",), "is a folder, not an overlay file"),
    ("overlay is a symlink loop", "loop-a.toml", ("list",), "cannot read the overlay"),
    ("overlay is binary", "binary.toml", ("list",), "malformed TOML"),
    ("overlay overrides with 1e300", "huge.toml", ("list",), "beyond any plausible figure"),
    ("overlay overrides with a 400-digit integer", "bigint.toml", ("list",), "value must be finite"),
]


@pytest.mark.parametrize(("name", "args", "words"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
@pytest.mark.parametrize("module", ["claims", "hwdb"])
def test_a_bad_overlay_is_refused_by_name(
    faults: Path, module: str, name: str, args: tuple[str, ...], words: str
) -> None:
    run = _cli(module, "--hwdb-overlay", str(faults / name), *args)
    assert run.returncode in (1, 2), run.stderr
    assert words in run.stderr
    assert name in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("lock_name", "words"),
    [
        ("not-a-lock.json", "not a version-1 claims lock"),
        ("broken-lock.json", "broken-lock.json"),
        ("damaged-entry.json", "the entry for 'batch.optimal-size' is damaged"),
    ],
    ids=["a lock of the wrong shape", "a truncated lock", "a lock with a damaged entry"],
)
def test_a_damaged_lock_is_named_not_blamed_on_the_derivation(faults: Path, lock_name: str, words: str) -> None:
    run = _cli("claims", "--lock", str(faults / lock_name), "verify")
    assert run.returncode == 2, run.stderr
    assert words in run.stderr
    assert "Traceback" not in run.stderr
    assert "derivation" not in run.stderr


def test_a_what_if_is_not_credited_to_the_vendor_or_made_citable() -> None:
    run = _cli("claims", *SHOW, "--set", "gb200.hbm_bandwidth=9 TB/s")
    assert run.returncode == 0, run.stderr
    line = next(s for s in run.stdout.splitlines() if "gb200.hbm_bandwidth" in s and "TB/s" in s)
    assert "(what-if)" in line and "command line" in line and "nvidia" not in line.lower()
    assert "content version" not in run.stdout
    assert "not citable" in run.stdout


def test_exports_are_strict_json() -> None:
    """No NaN or Infinity tokens: both exports parse with a parser that refuses them."""

    def refuse(token: str) -> Any:
        raise ValueError(f"non-standard JSON token {token}")

    for module in ("claims", "hwdb"):
        run = _cli(module, "export", "--format", "json")
        assert run.returncode == 0, run.stderr
        json.loads(run.stdout, parse_constant=refuse)


# ------------------------------------------------------------------ writes that fail halfway


def _disk_full(*_: object, **__: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("stage", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_whole_and_no_litter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    target = tmp_path / "registry.toml"
    target.write_text("old contents\n")
    monkeypatch.setattr(os, stage, _disk_full)
    with pytest.raises(OSError) as caught:
        write_atomic(target, "new contents\n")
    assert caught.value.errno == errno.ENOSPC
    assert target.read_text() == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["registry.toml"]


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "claims.lock.json"
    target.write_text("{}\n")

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "half")
    assert target.read_text() == "{}\n"
    assert len(list(tmp_path.iterdir())) == 1


def test_a_write_keeps_the_files_permissions(tmp_path: Path) -> None:
    target = tmp_path / "ids.toml"
    target.write_text("x\n")
    target.chmod(0o640)
    write_atomic(target, "y\n")
    assert target.stat().st_mode & 0o777 == 0o640
    assert target.read_text() == "y\n"


def test_registering_ids_on_a_full_disk_keeps_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry once was rewritten in place: a full disk emptied it, and every `since` was lost."""
    registry = tmp_path / "ids.toml"
    original = citation.IDS_FILE.read_text(encoding="utf-8")
    head, _, tail = original.partition("# Renamed IDs")
    first = head.index('[ids."')
    second = head.index('[ids."', first + 1)
    registry.write_text(head[:first] + head[second:] + "# Renamed IDs" + tail, encoding="utf-8")  # one ID unregistered
    before = registry.read_text(encoding="utf-8")
    from claims import all_claims

    monkeypatch.setattr(os, "replace", _disk_full)
    with pytest.raises(OSError):
        citation.register_new(all_claims(), registry)
    assert registry.read_text(encoding="utf-8") == before


def test_pinning_on_a_full_disk_keeps_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "claims.lock.json"
    path.write_text(lock.LOCK_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    before = path.read_bytes()
    evaluations = evaluate_all(hwdb.load([]))
    monkeypatch.setattr(os, "fsync", _disk_full)
    with pytest.raises(OSError):
        lock.write(evaluations, path)
    assert path.read_bytes() == before


def test_output_piped_into_a_closed_reader_is_quiet() -> None:
    """`python -m claims list | head -1`: the reader leaves early; no traceback follows."""
    command = f"{sys.executable} -m claims list | head -n 1"
    run = subprocess.run(command, shell=True, cwd=REPO, capture_output=True, text=True)
    assert run.stdout.count("\n") == 1
    assert "Traceback" not in run.stderr


# ------------------------------------------------------------------ overlays: provenance and conflicts


def test_two_overrides_of_one_field_are_refused_naming_both(faults: Path) -> None:
    run = _cli(
        "claims", "--hwdb-overlay", str(faults / "faster.toml"), "--hwdb-overlay", str(faults / "fastest.toml"), "list"
    )
    assert run.returncode == 2
    assert "overridden twice" in run.stderr and "faster.toml" in run.stderr and "fastest.toml" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_source_title_must_be_text(faults: Path) -> None:
    run = _cli("hwdb", "--hwdb-overlay", str(faults / "numeric-title.toml"), "check")
    assert run.returncode == 1
    assert "title must be text" in run.stderr and "numeric-title.toml" in run.stderr


def test_a_bad_record_yields_one_error_not_one_per_user(faults: Path) -> None:
    run = _cli("hwdb", "--hwdb-overlay", str(faults / "cascade.toml"), "check")
    assert run.returncode == 1
    assert "record 'x9'" in run.stderr and "hbm_bandwidth" in run.stderr
    assert "x9-rack" not in run.stderr  # the rack that names it is not blamed as well


def test_a_drift_caused_by_an_overlay_names_the_overlay(faults: Path) -> None:
    db = hwdb.load([faults / "faster.toml"])
    drifts = lock.check(evaluate_all(db), lock.read(lock.LOCK_FILE))
    moved = [str(d) for d in drifts if "gb200.hbm_bandwidth moved" in str(d)]
    assert moved
    assert all("faster.toml" in d and "hwdb/data/accelerators/gb200.toml" not in d for d in moved)


def test_stacked_overlays_get_a_lock_of_their_own(faults: Path) -> None:
    one = lock.lock_path([faults / "faster.toml"])
    both = lock.lock_path([faults / "faster.toml", faults / "fastest.toml"])
    assert one == faults / "faster.lock.json"
    assert both == faults / "faster+fastest.lock.json"
    assert lock.lock_path([faults / "fastest.toml"]) != both


@pytest.mark.parametrize("command", [("export", "--format", "json"), ("cite", "batch.optimal-size")])
def test_private_numbers_are_never_quoted_as_the_books(faults: Path, command: tuple[str, ...]) -> None:
    run = _cli("claims", "--hwdb-overlay", str(faults / "faster.toml"), *command)
    assert run.returncode == 0, run.stderr
    assert "not the published book's numbers" in run.stderr
    if command[0] == "export":
        import jsonschema

        document = json.loads(run.stdout)
        assert any("faster.toml" in p for p in document["hwdb_overlays"])
        bandwidths = [
            i
            for c in document["claims"]
            for i in c["inputs"]
            if i["record"] == "gb200" and i["field"] == "hbm_bandwidth"
        ]
        assert bandwidths and all("faster.toml" in i["file"] and i["source"]["id"] == "mine" for i in bandwidths)
        jsonschema.validate(document, json.loads((REPO / "claims/claims.schema.json").read_text()))


def test_a_live_id_names_itself_even_if_an_alias_reuses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from claims import get_claim, registry
    from claims.citation import IdRegistry

    clash = IdRegistry(ids={}, aliases={"batch.optimal-size": "kv.bytes-per-token"}, withdrawn={})
    monkeypatch.setattr(registry, "read_registry", lambda *_: clash)
    assert get_claim("batch.optimal-size").id == "batch.optimal-size"


# ------------------------------------------------------------------ the error boundary


def test_pin_where_nothing_can_be_written_is_refused_in_words() -> None:
    run = _cli("claims", "--lock", "/proc/claims.lock.json", "pin")
    assert run.returncode == 2
    assert "cannot read or write" in run.stderr and "/proc" in run.stderr
    assert "Traceback" not in run.stderr


def test_debug_shows_the_traceback_that_is_otherwise_hidden() -> None:
    run = _cli("claims", "--debug", "show", "batch.nope")
    assert run.returncode != 0
    assert "Traceback" in run.stderr and "UnknownClaimError" in run.stderr


@pytest.mark.parametrize("module", ["claims", "hwdb"])
def test_an_ascii_only_terminal_gets_escapes_not_a_crash(module: str) -> None:
    args = ("show", "batch.optimal-size") if module == "claims" else ("show", "h100-sxm")
    environment = {**os.environ, "HWDB_OVERLAY": "", "PYTHONIOENCODING": "ascii"}
    run = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True, env=environment, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr


def test_a_sparse_what_if_is_stored_dense_like_a_data_file() -> None:
    run = _cli("claims", "show", "batch.optimal-size", "--set", "gb200.bf16_flops=5 PFLOP/s 2:4-sparse")
    assert run.returncode == 0, run.stderr
    line = next(s for s in run.stdout.splitlines() if "gb200.bf16_flops" in s and "(what-if)" in s)
    assert "2.5 PFLOP/s" in line


def test_a_per_chip_override_of_an_accelerator_is_accepted(faults: Path) -> None:
    """A rack figure over its 72 chips, as an accelerator's own file may give it, is valid in an override too."""
    db = hwdb.load([faults / "per-chip.toml"])
    assert db["gb200"]["hbm_bandwidth"].quantity.to("TB/s").magnitude == pytest.approx(8)


def test_two_pins_at_once_leave_one_whole_lock(tmp_path: Path) -> None:
    target = tmp_path / "concurrent.lock.json"
    command = [sys.executable, "-m", "claims", "--lock", str(target), "pin"]
    environment = {**os.environ, "HWDB_OVERLAY": ""}
    runs = [subprocess.Popen(command, cwd=REPO, env=environment, stderr=subprocess.PIPE) for _ in range(2)]
    assert [run.wait(timeout=120) for run in runs] == [0, 0]
    assert lock.read(target).keys() == lock.read(lock.LOCK_FILE).keys()
    assert [p.name for p in tmp_path.iterdir()] == ["concurrent.lock.json"]


def test_a_binary_data_file_is_refused_by_name(data_dir: Any) -> None:
    root = data_dir()
    (root / "garbage.toml").write_bytes(b"\xff\xfe\x00 not text")
    with pytest.raises(hwdb.HwdbError, match=r"garbage\.toml: malformed TOML: not UTF-8 text"):
        hwdb.load_from(root)


def test_pin_into_a_missing_folder_is_refused_in_words(tmp_path: Path) -> None:
    run = _cli("claims", "--lock", str(tmp_path / "no-such-folder" / "x.lock.json"), "pin")
    assert run.returncode == 2
    assert "cannot read or write" in run.stderr and "no-such-folder" in run.stderr
    assert "Traceback" not in run.stderr
