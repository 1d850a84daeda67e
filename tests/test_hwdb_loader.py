"""The hwdb loader: conventions, units, and a precise error for every kind of bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GOOD_RECORD

import hwdb
from hwdb import HwdbError, load_from


def test_packaged_database_loads_with_sources_for_every_number() -> None:
    db = hwdb.load()
    assert len(db.of_kind("accelerator")) >= 13
    for record in db:
        for field in record.fields.values():
            assert field.source.url.startswith("https://"), (record.id, field.name)


def test_conventions_are_normalised() -> None:
    db = hwdb.load()
    h100 = db["h100-sxm"]
    # printed "with sparsity" -> halved; bidirectional NVLink -> halved; DGX total -> per GPU
    assert h100["bf16_flops"].printed_value == 2 * h100["bf16_flops"].quantity.to("TFLOP/s").magnitude
    assert h100["scaleup_bandwidth"].quantity.to("GB/s").magnitude == pytest.approx(450)
    assert h100["hbm_capacity"].quantity.to("GB").magnitude == pytest.approx(80)
    assert db["tpu-v7"]["hbm_capacity"].si == 192 * 2**30  # GiB kept as GiB


def test_value_si_is_in_base_units(data_dir: Callable[..., Path]) -> None:
    db = load_from(data_dir())
    assert db["chip-a"]["hbm_bandwidth"].si == 2e12
    assert db["chip-a"]["hbm_capacity"].si == 80e9


def _error(data_dir: Callable[..., Path], record: str, name: str = "chip-a.toml", sources: str | None = None) -> str:
    kwargs = {} if sources is None else {"sources": sources}
    with pytest.raises(HwdbError) as info:
        load_from(data_dir({name: record}, **kwargs))
    return str(info.value)


BAD_FIELDS = {
    "missing unit": ("value = 2\n", "field 'hbm_bandwidth': missing unit"),
    "unknown unit": ('value = 2\nunit = "furlong/s"\n', "field 'hbm_bandwidth': unknown unit 'furlong/s'"),
    "wrong dimension": ('value = 2\nunit = "TB"\n', "field 'hbm_bandwidth': unit 'TB' has dimension [information]"),
    "negative": ('value = -2\nunit = "TB/s"\n', "field 'hbm_bandwidth': value must be positive, got -2"),
    "zero": ('value = 0\nunit = "TB/s"\n', "field 'hbm_bandwidth': value must be positive, got 0"),
    "nan": ('value = nan\nunit = "TB/s"\n', "field 'hbm_bandwidth': value must be finite"),
    "infinite": ('value = inf\nunit = "TB/s"\n', "field 'hbm_bandwidth': value must be finite"),
    "string value": ('value = "fast"\nunit = "TB/s"\n', "field 'hbm_bandwidth': value must be a number"),
    "dangling source": (
        'value = 2\nunit = "TB/s"\nsource = "nowhere"\n',
        "field 'hbm_bandwidth': source 'nowhere' is not in hwdb/data/sources.toml",
    ),
    "unknown key": ('value = 2\nunit = "TB/s"\ncolour = "red"\n', "field 'hbm_bandwidth': unknown key(s) ['colour']"),
    "direction on a capacity": (
        'value = 2\nunit = "TB/s"\ndirection = "bidirectional"\n',
        "field 'hbm_bandwidth': 'direction' does not apply",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FIELDS))
def test_bad_field_names_file_record_and_field(data_dir: Callable[..., Path], case: str) -> None:
    body, expected = BAD_FIELDS[case]
    record = GOOD_RECORD.replace(
        '[fields.hbm_bandwidth]\nvalue = 2\nunit = "TB/s"\n', "[fields.hbm_bandwidth]\n" + body
    )
    message = _error(data_dir, record)
    assert "chip-a.toml: record 'chip-a': " + expected in message


def test_missing_source_everywhere(data_dir: Callable[..., Path]) -> None:
    record = GOOD_RECORD.replace('source = "ds"\n', "")
    message = _error(data_dir, record)
    assert "record 'chip-a': field 'hbm_capacity': missing source" in message


def test_malformed_toml(data_dir: Callable[..., Path]) -> None:
    message = _error(data_dir, 'id = "chip-a"\nkind = [unclosed\n')
    assert "chip-a.toml: malformed TOML" in message


def test_unknown_field(data_dir: Callable[..., Path]) -> None:
    message = _error(data_dir, GOOD_RECORD + '\n[fields.warp_drive]\nvalue = 1\nunit = "1"\n')
    assert "record 'chip-a': field 'warp_drive': unknown field" in message


def test_field_of_another_kind(data_dir: Callable[..., Path]) -> None:
    message = _error(data_dir, GOOD_RECORD + '\n[fields.input_price]\nvalue = 1\nunit = "USD/Mtok"\n')
    assert "field 'input_price': not a field of a accelerator record" in message


def test_missing_required_field(data_dir: Callable[..., Path]) -> None:
    message = _error(data_dir, GOOD_RECORD.split("[fields.hbm_bandwidth]")[0])
    assert "field 'hbm_bandwidth': required for a accelerator record but missing" in message


def test_sparsity_must_be_stated(data_dir: Callable[..., Path]) -> None:
    message = _error(data_dir, GOOD_RECORD + '\n[fields.bf16_flops]\nvalue = 1000\nunit = "TFLOP/s"\n')
    assert "field 'bf16_flops': must state 'sparsity' as one of ['2:4-sparse', 'dense']" in message


def test_direction_must_be_stated(data_dir: Callable[..., Path]) -> None:
    message = _error(data_dir, GOOD_RECORD + '\n[fields.scaleup_bandwidth]\nvalue = 900\nunit = "GB/s"\n')
    assert "field 'scaleup_bandwidth': must state 'direction'" in message


def test_per_chips_must_be_a_positive_integer(data_dir: Callable[..., Path]) -> None:
    record = GOOD_RECORD.replace('value = 80\nunit = "GB"\n', 'value = 80\nunit = "GB"\nper_chips = 0\n')
    assert "field 'hbm_capacity': 'per_chips' must be a positive integer" in _error(data_dir, record)


def test_range_only_on_assumptions(data_dir: Callable[..., Path]) -> None:
    record = GOOD_RECORD.replace('value = 80\nunit = "GB"\n', 'value = 80\nunit = "GB"\nlow = 40\n')
    assert "field 'hbm_capacity': 'low' is only allowed in assumption records" in _error(data_dir, record)


def test_unknown_kind(data_dir: Callable[..., Path]) -> None:
    assert "record 'chip-a': unknown kind 'spaceship'" in _error(
        data_dir, GOOD_RECORD.replace("accelerator", "spaceship")
    )


def test_file_name_must_match_id(data_dir: Callable[..., Path]) -> None:
    assert "other.toml: record 'chip-a': file name must be 'chip-a.toml'" in _error(data_dir, GOOD_RECORD, "other.toml")


def test_bad_id(data_dir: Callable[..., Path]) -> None:
    assert "'id' must be a lowercase slug" in _error(data_dir, GOOD_RECORD.replace('"chip-a"', '"Chip A"'))


def test_duplicate_record_id(data_dir: Callable[..., Path], tmp_path: Path) -> None:
    root = data_dir({"chip-a.toml": GOOD_RECORD})
    sub = root / "more"
    sub.mkdir()
    (sub / "chip-a.toml").write_text(GOOD_RECORD)
    with pytest.raises(HwdbError, match="duplicate record id"):
        load_from(root)


def test_source_needs_retrieval_date(data_dir: Callable[..., Path]) -> None:
    sources = '[ds]\ntitle = "A"\npublisher = "B"\nurl = "https://x"\n'
    assert "sources.toml: record 'ds': missing retrieved" in _error(data_dir, GOOD_RECORD, sources=sources)


def test_unused_source_is_an_error(data_dir: Callable[..., Path]) -> None:
    sources = '[ds]\ntitle = "A"\npublisher = "B"\nurl = "https://x"\nretrieved = 2026-01-01\n' + (
        '[spare]\ntitle = "C"\npublisher = "D"\nurl = "https://y"\nretrieved = 2026-01-01\n'
    )
    assert "record 'spare': source is cited by no record" in _error(data_dir, GOOD_RECORD, sources=sources)


def test_every_problem_is_reported_at_once(data_dir: Callable[..., Path]) -> None:
    bad = GOOD_RECORD.replace('unit = "GB"\n', "").replace('unit = "TB/s"', 'unit = "TB"')
    message = _error(data_dir, bad)
    assert "2 problem(s)" in message
    assert "field 'hbm_capacity': missing unit" in message
    assert "field 'hbm_bandwidth': unit 'TB'" in message


def test_a_rental_price_must_say_how_it_was_sold(data_dir: Callable[..., Path]) -> None:
    rental = 'id = "rent"\nkind = "statistic"\nname = "Rent"\nsource = "ds"\n[meta]\naccelerator = "chip-a"\n{pricing}'
    rental += '[fields.rental_price]\nvalue = 2\nunit = "USD/h"\n'
    files = {"chip-a.toml": GOOD_RECORD}
    with pytest.raises(HwdbError, match=r"rent.toml: record 'rent': meta.pricing must be one of \['on-demand'"):
        load_from(data_dir({**files, "rent.toml": rental.format(pricing='pricing = "cheap"\n')}))
    with pytest.raises(HwdbError, match=r"meta.accelerator must name an accelerator record"):
        load_from(data_dir({**files, "rent.toml": rental.format(pricing='pricing = "spot"\n').replace("chip-a", "x")}))
    db = load_from(data_dir({**files, "rent.toml": rental.format(pricing='pricing = "spot"\n')}))
    assert db["rent"].meta["pricing"] == "spot"
