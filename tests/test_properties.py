"""Hypothesis properties of the derivations."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable

import numpy as np
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.catalogue import attention, batch, reversible

positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)


@functools.cache
def _closed_form() -> tuple[list[sp.Symbol], Callable[..., float]]:
    """Derive once: SymPy's solve is far slower than one hypothesis example should be."""
    result = batch.derive_optimal_batch().result
    symbols = sorted(result.free_symbols, key=str)
    return symbols, sp.lambdify(symbols, result)


def _optimal_batch(values: dict[str, float]) -> float:
    symbols, function = _closed_form()
    return float(function(*(values[str(s)] for s in symbols)))


@settings(deadline=None)  # the first example derives the closed form
@given(F=positive, W=positive, b=positive, n_act=positive, sparsity=st.floats(1, 1000), k=st.floats(1.01, 100))
def test_optimal_batch_is_linear_in_sparsity(
    F: float, W: float, b: float, n_act: float, sparsity: float, k: float
) -> None:
    base = {"F": F, "W": W, "b": b, "c": 2.0, "N_active": n_act, "N_total": n_act * sparsity}
    scaled = {**base, "N_total": n_act * sparsity * k}
    assert np.isclose(_optimal_batch(scaled), k * _optimal_batch(base), rtol=1e-9)


@settings(deadline=None)
@given(F=positive, W=positive, n_act=positive, scale=st.floats(0.01, 100))
def test_optimal_batch_is_independent_of_model_scale(F: float, W: float, n_act: float, scale: float) -> None:
    base = {"F": F, "W": W, "b": 2.0, "c": 2.0, "N_active": n_act, "N_total": 8 * n_act}
    bigger = {**base, "N_active": n_act * scale, "N_total": 8 * n_act * scale}
    assert np.isclose(_optimal_batch(bigger), _optimal_batch(base), rtol=1e-9)


@given(
    compute_per_token=positive,
    fetch=positive,
    batches=st.lists(st.floats(1, 1e6), min_size=2, max_size=20),
)
def test_cost_per_token_never_rises_with_batch(compute_per_token: float, fetch: float, batches: list[float]) -> None:
    """Per-token cost max(B*t, T)/B is non-increasing in B."""
    ordered = sorted(batches)
    costs = [max(b * compute_per_token, fetch) / b for b in ordered]
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in itertools.pairwise(costs))


@settings(max_examples=50)
@given(
    tables=st.lists(st.lists(st.integers(0, 255), min_size=256, max_size=256), min_size=1, max_size=6),
    blocks=st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), min_size=1, max_size=50),
)
def test_integer_feistel_is_exactly_invertible(tables: list[list[int]], blocks: list[tuple[int, int]]) -> None:
    rounds = [reversible.table_round(np.array(t)) for t in tables]
    left = np.array([b[0] for b in blocks])
    right = np.array([b[1] for b in blocks])
    back = reversible.feistel_inverse(*reversible.feistel_forward(left, right, rounds), rounds)
    assert np.array_equal(back[0], left)
    assert np.array_equal(back[1], right)


finite = st.floats(-10, 10, allow_nan=False)


@settings(max_examples=50)
@given(
    depth=st.integers(1, 32),
    seed=st.integers(0, 2**32 - 1),
    a=st.lists(finite, min_size=4, max_size=4),
    c=st.lists(finite, min_size=4, max_size=4),
)
def test_additive_coupling_inverts_within_tolerance(depth: int, seed: int, a: list[float], c: list[float]) -> None:
    rng = np.random.default_rng(seed)
    blocks = [
        (
            reversible.dense_round(rng.normal(0, 0.5, (4, 4)), rng.normal(0, 1, 4)),
            reversible.dense_round(rng.normal(0, 0.5, (4, 4)), rng.normal(0, 1, 4)),
        )
        for _ in range(depth)
    ]
    x1, x2 = np.array(a), np.array(c)
    back = reversible.coupling_inverse(*reversible.coupling_forward(x1, x2, blocks), blocks)
    assert np.max(np.abs(back[0] - x1)) <= reversible.COUPLING_TOLERANCE
    assert np.max(np.abs(back[1] - x2)) <= reversible.COUPLING_TOLERANCE


def test_sparse_attention_exponent_is_one_half_for_any_block_count() -> None:
    d = attention.derive_sqrt_gain()
    assert d.result == sp.Rational(1, 2)


@given(context=st.integers(100, 20_000), blocks=st.integers(1, 16))
def test_brute_force_optimum_never_beats_the_symbolic_bound(context: int, blocks: int) -> None:
    """2*sqrt(m*L) is the continuous minimum, so no integer block size does better."""
    assert attention.best_integer_cost(context, blocks) >= 2 * np.sqrt(blocks * context) * (1 - 1e-12)
