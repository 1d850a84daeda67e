"""Reversible networks: the BF16 rounding helper, the error of a BF16 rebuild, and the invertibility verdict."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import numpy as np
import pytest

import claims
import hwdb
from claims import derivation_cache, get_claim
from claims.catalogue import reversible
from claims.engine import evaluate
from claims.policy import Verdict

ULP = 2.0**-7  # BF16's step between 1 and 2: seven stored fraction bits

ROUNDING = [
    ("one is exact", 1.0, 1.0),
    ("a BF16 value is kept", 1 + ULP, 1 + ULP),
    ("a tie goes down to the even neighbour", 1 + ULP / 2, 1.0),
    ("a tie goes up to the even neighbour", 1 + 3 * ULP / 2, 1 + 2 * ULP),
    ("past the tie rounds up", 1 + 3 * ULP / 4, 1 + ULP),
    ("short of the tie rounds down", 1 + ULP / 4, 1.0),
    ("the sign is kept", -(1 + 3 * ULP / 4), -(1 + ULP)),
    ("zero", 0.0, 0.0),
    ("a carry into the exponent", 2 - ULP / 4, 2.0),
    ("float32's largest overflows", float(np.finfo(np.float32).max), np.inf),
    ("infinity stays", -np.inf, -np.inf),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in ROUNDING], ids=[c[0] for c in ROUNDING])
def test_bf16_rounds_to_nearest_even(value: float, expected: float) -> None:
    assert reversible.to_bf16(np.float32(value)) == np.float32(expected)


def test_bf16_keeps_a_nan_whose_carry_would_make_it_infinite() -> None:
    nans = np.array([0x7F800001, 0x7FFFFFFF, 0xFFFFFFFF], dtype=np.uint32).view(np.float32)
    assert np.isnan(reversible.to_bf16(nans)).all()


def test_bf16_is_the_nearest_value_with_the_low_half_clear() -> None:
    values = np.random.default_rng(0).normal(0, 100, 10_000).astype(np.float32)
    rounded = reversible.to_bf16(values)
    assert not np.any(rounded.view(np.uint32) & 0xFFFF)
    assert np.array_equal(reversible.to_bf16(rounded), rounded)
    assert np.all(np.abs(rounded - values) <= np.abs(values) * ULP / 2)  # at most half a step


def _one_stack(depth: int) -> reversible.RoundTrip:
    """The measurement done plainly, one stack at a time, to hold the batched sweep to."""
    rng = np.random.default_rng(reversible.SEED)
    half = reversible.COUPLING_WIDTH // 2
    a, c = (reversible.to_bf16(rng.normal(0, 1, (reversible.BF16_SAMPLES, half))) for _ in range(2))
    blocks = [
        (reversible._bf16_random_round(rng, half), reversible._bf16_random_round(rng, half)) for _ in range(depth)
    ]
    forward = reversible.coupling_forward(a, c, blocks, reversible.to_bf16)
    back = reversible.coupling_inverse(*forward, blocks, reversible.to_bf16)
    inputs = np.concatenate([a, c]).astype(np.float64)
    error = np.concatenate(back).astype(np.float64) - inputs
    scale = np.sqrt(np.mean(inputs**2))
    return reversible.RoundTrip(float(np.max(np.abs(error)) / scale), float(np.sqrt(np.mean(error**2)) / scale))


@pytest.mark.parametrize("depth", [1, 2, 5, 16])
def test_the_sweep_over_depths_measures_each_stack_as_one_at_a_time_would(depth: int) -> None:
    assert reversible.bf16_round_trips(16)[depth - 1] == _one_stack(depth)


def test_the_bf16_rebuild_error_grows_with_depth() -> None:
    trips = reversible.bf16_round_trips(reversible.BF16_MAX_DEPTH)
    shown = [trips[d - 1] for d in reversible.BF16_DEPTHS]
    assert all(a.rms < b.rms for a, b in itertools.pairwise(shown))
    assert shown[0].largest < shown[2].largest < shown[-1].largest
    assert shown[0].rms < ULP  # one layer: of the order of one rounding
    assert shown[-1].rms > 1  # the deepest: larger than the inputs themselves


def test_the_bf16_details_follow_the_rows_depth() -> None:
    """Read at the layer count the row takes from hwdb (or a what-if sets), not at a typed depth."""
    trips = reversible.bf16_round_trips(reversible.BF16_MAX_DEPTH)
    ds = claims.evaluate("reversible.activation-saving")
    layers = int(ds.evaluation.reference.inputs[0].field.quantity.magnitude)
    assert ds.details["bf16_rms_error"] == pytest.approx(100 * trips[layers - 1].rms, rel=1e-9)
    assert ds.details["bf16_largest_error"] == pytest.approx(100 * trips[layers - 1].largest, rel=1e-9)
    shallow = claims.evaluate("reversible.activation-saving", set={"deepseek-v3.layers": "16 1"})
    assert shallow.details["bf16_rms_error"] == pytest.approx(100 * trips[15].rms, rel=1e-9)
    with pytest.raises(ValueError, match="layers must be a whole number"):  # a stack has whole layers
        claims.evaluate("reversible.activation-saving", set={"deepseek-v3.layers": "15.5 1"})


def test_a_depth_past_the_measured_shows_the_deepest_measurement_and_keeps_the_saving() -> None:
    """Deeper than measured, the error is the deepest measurement (a floor, as labelled), not a guess or an error."""
    deepest = claims.evaluate(
        "reversible.activation-saving", set={"deepseek-v3.layers": f"{reversible.BF16_MAX_DEPTH} 1"}
    )
    deeper = claims.evaluate("reversible.activation-saving", set={"deepseek-v3.layers": "610 1"})
    assert deeper.details["bf16_rms_error"] == pytest.approx(deepest.details["bf16_rms_error"], rel=1e-12)
    assert deeper.value > deepest.value  # the saving itself follows the depth
    assert f"{reversible.BF16_MAX_DEPTH} layers measured" in next(
        d.label for d in reversible.derive_activation_saving().details if d.name == "bf16_rms_error"
    )


def test_the_measured_table_survives_the_derivation_cache() -> None:
    """Built once at build time and kept on disk like every derivation: it must come back node for node."""
    built = reversible.derive_activation_saving()
    assert derivation_cache._identical(derivation_cache.loads(derivation_cache.dumps(built)), built)


def _undo_in_forward_order(
    left: np.ndarray, right: np.ndarray, rounds: Sequence[reversible.RoundFunction]
) -> tuple[np.ndarray, np.ndarray]:
    """A wrong inverse: the rounds undone first to last instead of last to first."""
    for f in rounds:
        left, right = right ^ f(left), left
    return left, right


def test_the_invertibility_verdict_is_the_tests() -> None:
    db = hwdb.load([])
    claim = get_claim("reversible.feistel-invertible")
    right = evaluate(claim, db)
    assert (right.value, right.verdict) == (100, Verdict.HOLDS)
    broken = dataclasses.replace(claim, build=lambda: reversible.derive_invertibility(_undo_in_forward_order))
    wrong = evaluate(broken, db)
    assert wrong.value < 100
    assert wrong.verdict is Verdict.FAILS


def test_invertibility_is_judged_exactly_and_the_saving_has_its_own_claim() -> None:
    invertible = get_claim("reversible.feistel-invertible")
    assert (invertible.kind, invertible.stated.wording) == ("structural", "exact")
    saving = get_claim("reversible.activation-saving")
    assert (saving.kind, saving.stated.wording) == ("derived", "at-least")
