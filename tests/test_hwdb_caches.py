"""hwdb's two disk caches, the parsed TOML and pint's definitions: served by content, never stale, and a
damaged one costs time and a note, not a number."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hwdb import parsed


def _save() -> None:
    parsed._table().save()
    parsed._table.cache_clear()  # the next parse reads the file back, as a new process would


def test_a_file_seen_before_is_served_and_an_edit_is_parsed_afresh(toml_table: Path) -> None:
    first = b'[a]\nvalue = 1\nunit = "TB/s"\n'
    assert parsed.parse(first) == tomllib.loads(first.decode())
    _save()
    (stored,) = toml_table.rglob("*.pickle")
    assert parsed.parse(first) == {"a": {"value": 1, "unit": "TB/s"}}
    assert not parsed._table().grew  # served, not parsed
    edited = first.replace(b"1", b"2")
    assert parsed.parse(edited)["a"]["value"] == 2
    copy = parsed.parse(first)
    copy["a"]["value"] = 99  # each call gets its own object
    assert parsed.parse(first)["a"]["value"] == 1
    assert stored.is_file()


def test_a_malformed_file_fails_every_time(toml_table: Path) -> None:
    for _ in range(2):
        with pytest.raises(tomllib.TOMLDecodeError):
            parsed.parse(b"[a\nvalue = 1\n")
        _save()
    with pytest.raises(UnicodeDecodeError):
        parsed.parse(b'a = "\xff"\n')


def test_a_damaged_table_is_ignored_with_a_note(toml_table: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = b"x = 1\n"
    parsed.parse(text)
    _save()
    (stored,) = toml_table.rglob("*.pickle")
    stored.write_bytes(stored.read_bytes()[:-3] + b"xyz")
    assert parsed.parse(text) == {"x": 1}
    assert "note: parsed-TOML cache: ignoring" in capsys.readouterr().err
    _save()
    assert parsed.parse(text) == {"x": 1} and not capsys.readouterr().err  # rewritten whole


def test_off_parses_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parsed.ENV_VAR, "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    parsed._table.cache_clear()
    try:
        assert parsed.parse(b"x = 1\n") == {"x": 1}
        parsed._table().save()
        assert not list(tmp_path.rglob("*.pickle"))
    finally:
        parsed._table.cache_clear()


UNITS_PROBE = "from hwdb.units import ureg; print(ureg.Quantity(1, 'TB/s').to('GB/s').magnitude)"


def test_a_damaged_pint_cache_is_ignored_with_a_note(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", parsed.ENV_VAR: str(tmp_path)}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", UNITS_PROBE], env=env, capture_output=True, text=True)

    first = run()
    assert first.returncode == 0 and float(first.stdout) == pytest.approx(1000), first.stderr
    stored = list((tmp_path / "pint").glob("*.pickle"))
    assert stored, "pint keeps its parse in the cache folder"
    for path in stored:
        path.write_bytes(b"not a pickle")
    damaged = run()
    assert damaged.returncode == 0 and damaged.stdout == first.stdout
    assert "note: pint's cache" in damaged.stderr
