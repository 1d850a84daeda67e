"""DeepSeek-V3 is sized in the formats DeepSeek serves: FP8 weights and arithmetic, a BF16 KV cache.

The balanced batch is counted in BF16 (every chip prints a BF16 rate); the replica reads the FP8
rate. The two must agree on the reference chip, and the two ways of counting chips must agree.
"""

from __future__ import annotations

import math

import pytest

import claims


def test_fp8_on_fp8_balances_at_the_bf16_batch() -> None:
    batch = claims.evaluate("batch.optimal-size")
    replica = claims.evaluate("serving.replica-throughput")
    assert replica.evaluation.reference.details["balanced_batch"] == pytest.approx(batch.value, rel=1e-9)


def test_the_replica_holds_what_the_batch_claim_counts() -> None:
    batch = claims.evaluate("batch.optimal-size").evaluation.reference.details
    replica = claims.evaluate("serving.replica-throughput").evaluation.reference.details
    assert replica["chips"] == math.ceil(batch["gpus_to_hold"])


def test_the_replica_reads_fp8_weights_and_a_bf16_cache() -> None:
    used = {i.symbol: i.record.id for i in claims.evaluate("serving.replica-throughput").evaluation.reference.inputs}
    assert used["b"] == "fp8"
    assert used["b_KV"] == "bf16"


def test_counting_everything_in_bf16_needs_more_chips() -> None:
    served = claims.evaluate("serving.replica-throughput")
    bf16 = claims.evaluate("serving.replica-throughput", swap={"fp8": "bf16"}, fields={"fp8_flops": "bf16_flops"})
    assert bf16.evaluation.reference.details["balanced_batch"] == pytest.approx(
        served.evaluation.reference.details["balanced_batch"], rel=1e-9
    )
    assert bf16.evaluation.reference.details["chips"] > served.evaluation.reference.details["chips"]
