"""Elasticities, verdict flips and the what-if command line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO
from forked_cli import run_module

import hwdb
from claims import evaluate, get_claim
from claims.engine import Evaluation
from claims.policy import Verdict
from claims.sensitivity import analyse


def test_elasticities_of_a_ratio_are_plus_and_minus_one() -> None:
    e = evaluate(get_claim("serving.train-interval"), hwdb.load([]))
    by_key = {a.input.key: a for a in analyse(e)}
    assert by_key["h100-sxm.hbm_capacity"].elasticity == pytest.approx(1)
    assert by_key["h100-sxm.hbm_bandwidth"].elasticity == pytest.approx(-1)


def test_flip_factor_lands_on_the_band_edge() -> None:
    """worst-case wait: the reference holds within ×1.25 of 40 ms, so capacity must grow by 50 ms / value."""
    db = hwdb.load([])
    e = evaluate(get_claim("serving.worst-case-wait"), db)
    capacity = next(a for a in analyse(e) if a.input.key == "gb200.hbm_capacity")
    assert capacity.flips_to is Verdict.ROUGHLY
    assert capacity.flip_factor == pytest.approx(50 / e.value, rel=1e-6)
    moved = db.with_value(
        "gb200", "hbm_capacity", db["gb200"]["hbm_capacity"].quantity * capacity.flip_factor * 1.001, "test"
    )
    assert evaluate(get_claim("serving.worst-case-wait"), moved).verdict is Verdict.ROUGHLY


def test_a_population_verdict_names_no_flip_on_one_row() -> None:
    """The reference row of a population claim does not decide its verdict, so no flip factor is offered."""
    e = evaluate(get_claim("serving.train-interval"), hwdb.load([]))
    assert e.population is not None
    assert all(a.flip_factor is None and a.flips_to is None for a in analyse(e))


def test_nonlinear_elasticity_comes_from_the_closed_form() -> None:
    e = evaluate(get_claim("reversible.activation-saving"), hwdb.load([]))
    (layers,) = analyse(e)
    n = layers.input.field.quantity.magnitude
    assert layers.elasticity == pytest.approx(1 / (n - 1))  # d ln(1 - 1/n) / d ln n


def _show(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("claims", ["show", *args], cwd=REPO, env=dict(os.environ), timeout=300)


def test_what_if_set_rederives_with_numbers_substituted() -> None:
    run = _show("serving.train-interval", "--set", "h100-sxm.hbm_bandwidth=4 TB/s")
    assert run.returncode == 0, run.stderr
    assert "(4 TB/s)" in run.stdout
    assert "Value:    20 ms (reference row)" in run.stdout


def test_what_if_hw_changes_the_reference_row() -> None:
    run = _show("batch.optimal-size", "--hw", "tpu-v7")
    assert run.returncode == 0, run.stderr
    assert "tpu-v7 is the reference" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("batch.optimal-size", "--set", "h100-sxm.hbm_bandwidth=4 TB"), "the field has [information] / [time]"),
        (("batch.optimal-size", "--set", "h100-sxm.warp=1"), "hwdb has no field h100-sxm.warp"),
        (("batch.optimal-size", "--set", "nonsense"), "write RECORD.FIELD=VALUE"),
        (("training.overtraining", "--hw", "h100-sxm"), "is not evaluated per hardware"),
        (("batch.optimal-size", "--hw", "h900"), "reference record 'h900' is not among its rows"),
    ],
)
def test_what_if_errors_are_precise(args: tuple[str, ...], message: str) -> None:
    run = _show(*args)
    assert run.returncode == 2
    assert message in run.stderr


def test_a_kept_result_is_the_scan_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk table gives back, for every catalogue claim, exactly what the scan computes; another
    claim with the same ID (a scenario's, a test's) is always scanned."""
    from claims import derivation_cache, sensitivity
    from claims.registry import evaluate_all
    from claims.scenario import scenario

    monkeypatch.setenv(derivation_cache.ENV_VAR, str(tmp_path))
    table = derivation_cache.Table("sensitivity-test.pickle", "sensitivity scans")
    monkeypatch.setattr(sensitivity, "_TABLE", table)
    evaluations = evaluate_all(hwdb.load())
    scan = sensitivity._analyse
    scans: list[str] = []

    def counted(e: Evaluation) -> list[sensitivity.Elasticity]:
        scans.append(e.claim.id)
        return scan(e)

    monkeypatch.setattr(sensitivity, "_analyse", counted)
    for e in evaluations.values():
        scanned = scan(e)
        assert sensitivity._kept(e, ("args",)) == scanned  # computed and stored
        assert sensitivity._kept(e, ("args",)) == scanned, e.claim.id  # served from the table
    assert scans == list(evaluations)  # one scan per claim: every second answer came from the table
    assert table.grew
    table.save()
    assert (tmp_path / "derivations" / derivation_cache.key() / "sensitivity-test.pickle").is_file()
    other = scenario("batch.optimal-size", hw="h200").evaluation  # the same ID, another claim object
    stored = len(table.entries)
    sensitivity._kept(other, ("args",))
    assert len(table.entries) == stored
