"""attention.sparse-sqrt-gain: DeepSeek's sparse attention (DSA) against dense, and the square-root scheme.

The hand counts below read DeepSeek-V3.2-Exp's record and the FP8 layout's record directly and
redo the arithmetic in plain Python, so a slip in the claim's SymPy shows as a disagreement.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import sympy as sp

import hwdb
from claims.catalogue import attention
from claims.engine import Evaluation, evaluate
from claims.policy import Verdict
from hwdb import derived

CLAIM = attention.SPARSE_SQRT


@pytest.fixture(scope="module")
def db() -> hwdb.Database:
    return hwdb.load()


@pytest.fixture(scope="module")
def ev(db: hwdb.Database) -> Evaluation:
    return evaluate(CLAIM, db)


def count(record: hwdb.Record, name: str, unit: str = "") -> float:
    return float(record[name].quantity.to(unit).magnitude)


class HandCount:
    """DSA's and dense attention's cost per query, from the records, without SymPy."""

    def __init__(self, db: hwdb.Database) -> None:
        v32, fmt = db["deepseek-v3.2-exp"], db["fp8-flashmla"]
        self.layers = count(v32, "layers")
        self.topk = count(v32, "index_topk")
        fp8 = count(fmt, "storage_per_parameter", "B/param") + count(fmt, "scale_bytes", "B") / count(
            fmt, "scale_block"
        )
        self.index_key = count(v32, "index_head_dim") * fp8
        self.latent = count(v32, "kv_lora_rank") * fp8 + count(v32, "qk_rope_head_dim") * count(
            fmt, "rotary_storage_per_value", "B/param"
        )
        # The indexer: one multiply-add per head and key width, one per head for the weighted sum.
        self.index_flop = 2 * count(v32, "index_heads") * (count(v32, "index_head_dim") + 1)
        # Attention per cached token, the project's convention (MLA absorbed) on DeepSeek-V3's heads.
        per_layer = derived.attention_flop_per_layer(db["deepseek-v3"])
        assert per_layer is not None
        self.attention = per_layer * self.layers

    def dsa_bytes(self, context: float) -> float:
        return self.layers * (context * self.index_key + min(context, self.topk) * self.latent)

    def dense_bytes(self, context: float) -> float:
        return self.layers * context * self.latent

    def dsa_flop(self, context: float) -> float:
        return self.layers * context * self.index_flop + min(context, self.topk) * self.attention

    def dense_flop(self, context: float) -> float:
        return context * self.attention


@pytest.fixture(scope="module")
def hand(db: hwdb.Database) -> HandCount:
    return HandCount(db)


@pytest.fixture(scope="module")
def exponent(ev: Evaluation) -> Callable[[float], float]:
    """The claim's judged formula as a function of the context, every other input at its record's value."""
    values: dict[sp.Symbol, float] = {c.symbol: c.si for c in CLAIM.constants}
    values.update({sp.Symbol(i.symbol, positive=True): i.field.si for i in ev.reference.inputs})
    formula = ev.derivation.result.subs({s: v for s, v in values.items() if s != attention.L})
    assert formula.free_symbols == {attention.L}
    function: Callable[[float], float] = sp.lambdify(attention.L, formula)
    return function


def test_the_cache_per_token_agrees_with_hwdb_derived(db: hwdb.Database, hand: HandCount, ev: Evaluation) -> None:
    """The claim's indexer key and latent are the bytes hwdb.derived's KV layout gives V3.2 in FlashMLA's layout."""
    layout = derived.kv_layout(db["deepseek-v3.2-exp"])
    assert layout is not None
    assert hand.index_key == pytest.approx(layout.extra_bytes)
    assert hand.index_key + hand.latent == pytest.approx(derived.layer_token_bytes(layout, db["fp8-flashmla"]))
    assert ev.reference.details["index_key_bytes"] == pytest.approx(hand.index_key)
    assert ev.reference.details["latent_bytes"] == pytest.approx(hand.latent)


@pytest.mark.parametrize("tag", ["32k", "128k", "ref"])
def test_dsa_and_dense_costs_match_a_hand_count(tag: str, db: hwdb.Database, hand: HandCount, ev: Evaluation) -> None:
    constants = {"32k": attention.CONTEXT_32K.value, "128k": attention.CONTEXT_128K.value}
    context = constants.get(tag) or count(db["gemini-3.1-pro"], "long_context_threshold", "token")
    got = ev.reference.details
    assert got[f"dsa_bytes_{tag}"] * 1e9 == pytest.approx(hand.dsa_bytes(context), rel=1e-12)
    assert got[f"dense_bytes_{tag}"] * 1e9 == pytest.approx(hand.dense_bytes(context), rel=1e-12)
    assert got[f"dsa_flop_{tag}"] * 1e9 == pytest.approx(hand.dsa_flop(context), rel=1e-12)
    assert got[f"dense_flop_{tag}"] * 1e9 == pytest.approx(hand.dense_flop(context), rel=1e-12)
    assert got[f"bytes_gain_{tag}"] == pytest.approx(hand.dense_bytes(context) / hand.dsa_bytes(context))
    assert got[f"flop_gain_{tag}"] == pytest.approx(hand.dense_flop(context) / hand.dsa_flop(context))


def test_the_judged_exponent_is_the_log_log_slope_of_the_hand_count(
    db: hwdb.Database, hand: HandCount, ev: Evaluation
) -> None:
    context = count(db["gemini-3.1-pro"], "long_context_threshold", "token")
    step = 1e-6
    slope = math.log(hand.dsa_bytes(context * (1 + step)) / hand.dsa_bytes(context)) / math.log(1 + step)
    assert ev.value == pytest.approx(slope, rel=1e-5)


def test_the_exponent_tends_to_one_and_is_lower_at_shorter_contexts(
    exponent: Callable[[float], float], hand: HandCount
) -> None:
    contexts = [hand.topk * 1.01, 4 * hand.topk, 32_768, 131_072, 200_000, 1e7, 1e10]
    values = [exponent(c) for c in contexts]
    assert values == sorted(values), "the exponent should rise with the context"
    assert all(v < 1 for v in values)
    assert values[0] < 0.5 < values[-2]  # just past the top-k the selected latents dominate; later the indexer
    assert values[-1] == pytest.approx(1, abs=1e-5)


def test_the_gain_at_the_reference_is_a_constant_factor(ev: Evaluation, hand: HandCount) -> None:
    got = ev.reference.details
    assert 4 < got["bytes_gain_ref"] < 5
    assert got["bytes_gain_32k"] < got["bytes_gain_128k"] < got["bytes_gain_ref"] < got["gain_ceiling"]
    assert got["gain_ceiling"] == pytest.approx(hand.latent / hand.index_key)
    # Far beyond the reference the gain has nowhere to go: a hundredfold longer context gains under 6 %.
    far = 100 * 200_000
    assert (hand.dense_bytes(far) / hand.dsa_bytes(far)) / got["bytes_gain_ref"] < 1.06
    # The square-root scheme's gain at the same context is of another order.
    assert got["gain_at_threshold"] > 10 * got["gain_ceiling"]


def test_the_verdict_says_the_square_root_does_not_hold_for_dsa(ev: Evaluation) -> None:
    assert CLAIM.kind == "derived" and CLAIM.evidence == "independent"
    assert CLAIM.stated.value == 0.5 and CLAIM.stated.wording == "exact" and CLAIM.stated.why
    assert ev.verdict is Verdict.FAILS
    assert 0.9 < ev.value < 1


def test_the_square_root_proof_still_holds(ev: Evaluation, db: hwdb.Database) -> None:
    steps = {str(s.math.lhs): s.math.rhs for s in ev.derivation.steps if isinstance(s.math, sp.Eq)}
    assert steps["p_block"] == sp.Rational(1, 2)
    optimum = steps["C^*"]
    assert sp.simplify(optimum - 2 * sp.sqrt(attention.m * attention.u * attention.L)) == 0
    (slope,) = [v for name, v in ev.derivation.checks if "brute-force" in name]
    assert slope == pytest.approx(0.5, abs=attention.SLOPE_TOLERANCE)
    context = count(db["gemini-3.1-pro"], "long_context_threshold", "token")
    assert ev.reference.details["gain_at_threshold"] == pytest.approx(math.sqrt(context) / 2)
    assert ev.reference.details["gain_16_blocks"] == pytest.approx(ev.reference.details["gain_at_threshold"] / 4)
    # Brute force over integer block sizes reads no fewer tokens than the continuous optimum.
    assert attention.best_integer_cost(int(context), 1) >= 2 * math.sqrt(context) * (1 - 1e-12)
