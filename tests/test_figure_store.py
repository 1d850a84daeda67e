"""The figure store (claims.sphinx.figure_store): a drawing is served only while what it read is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from claims.sphinx import figure_store
from claims.sphinx.digests import Key

CODE = "c0de" * 16
READS: list[tuple[Key, str]] = [(("field", "h100-sxm", "hbm_bandwidth"), "d1"), (("claim", "batch.optimal-size"), "d2")]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "figures"


def _digests(**moved: str) -> dict[Key, str]:
    now = dict(READS)
    for key, digest in moved.items():
        now[next(k for k in now if k[-1] == key)] = digest
    return now


def test_a_drawing_is_served_while_every_read_is_unchanged(store: Path) -> None:
    figure_store.keep(CODE, "drain-time", READS, "<svg>one</svg>")
    found = figure_store.find(CODE, "drain-time", _digests().__getitem__)
    assert found == ("<svg>one</svg>", [k for k, _ in READS])


@pytest.mark.parametrize(
    ("code", "name", "moved"),
    [(CODE, "drain-time", {"hbm_bandwidth": "d9"}), (CODE, "roofline", {}), ("f00d" * 16, "drain-time", {})],
    ids=["a read moved", "another figure", "other code"],
)
def test_a_drawing_is_not_served_for_other_data_another_figure_or_other_code(
    store: Path, code: str, name: str, moved: dict[str, str]
) -> None:
    figure_store.keep(CODE, "drain-time", READS, "<svg>one</svg>")
    assert figure_store.find(code, name, _digests(**moved).__getitem__) is None


def test_each_state_of_the_data_keeps_its_own_drawing(store: Path) -> None:
    moved = [(k, "d9" if k[-1] == "hbm_bandwidth" else d) for k, d in READS]
    figure_store.keep(CODE, "drain-time", READS, "<svg>before</svg>")
    figure_store.keep(CODE, "drain-time", moved, "<svg>after</svg>")
    assert figure_store.find(CODE, "drain-time", _digests().__getitem__)[0] == "<svg>before</svg>"  # type: ignore[index]
    assert figure_store.find(CODE, "drain-time", dict(moved).__getitem__)[0] == "<svg>after</svg>"  # type: ignore[index]


def test_a_damaged_drawing_is_a_miss_not_an_error(store: Path) -> None:
    figure_store.keep(CODE, "drain-time", READS, "<svg>one</svg>")
    (drawn,) = store.rglob("*.svg.z")
    drawn.write_bytes(drawn.read_bytes()[:-3] + b"xyz")
    assert figure_store.find(CODE, "drain-time", _digests().__getitem__) is None


def test_an_unwritable_store_only_costs_the_drawing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cache").write_text("a file where the cache folder would be")
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))
    figure_store.keep(CODE, "drain-time", READS, "<svg>one</svg>")
    assert figure_store.find(CODE, "drain-time", _digests().__getitem__) is None


def test_the_store_is_off_with_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMS_CACHE_DIR", "off")
    figure_store.keep(CODE, "drain-time", READS, "<svg>one</svg>")
    assert figure_store.find(CODE, "drain-time", _digests().__getitem__) is None


def test_old_drawings_and_old_code_are_pruned(store: Path) -> None:
    for n in range(figure_store.KEEP_DRAWINGS + 3):
        figure_store.keep(CODE, "drain-time", [(k, f"{d}-{n}") for k, d in READS], f"<svg>{n}</svg>")
    assert len(list(store.rglob("*.svg.z"))) == figure_store.KEEP_DRAWINGS
    for n in range(figure_store.KEEP_CODES + 2):
        figure_store.keep(f"{n:02x}" + "0" * 62, "drain-time", READS, "<svg>one</svg>")
    assert len([p for p in store.iterdir() if p.is_dir()]) == figure_store.KEEP_CODES


def test_a_code_version_in_use_is_not_pruned(store: Path) -> None:
    figure_store.keep(CODE, "drain-time", READS, "<svg>in use</svg>")
    for n in range(figure_store.KEEP_CODES + 2):
        assert figure_store.find(CODE, "drain-time", _digests().__getitem__) is not None  # used again
        figure_store.keep(f"{n:02x}" + "0" * 62, "drain-time", READS, "<svg>other</svg>")
    assert figure_store.find(CODE, "drain-time", _digests().__getitem__) is not None
