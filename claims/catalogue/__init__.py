"""The lecture's claims, one module per chapter; ``CLAIMS`` lists them all in book order."""

from __future__ import annotations

from ..engine import Claim
from . import (
    attention,
    batch,
    context,
    kv,
    memory,
    moe,
    network,
    pipeline,
    pricing,
    rack,
    reported,
    reversible,
    rooflines,
    serving,
    training,
)

#: Book order: each chapter's claims in the order its page shows them.
CLAIMS: tuple[Claim, ...] = (
    *rooflines.CLAIMS,
    *batch.CLAIMS,
    *reported.CLAIMS,
    *serving.CLAIMS,
    *moe.CLAIMS,
    *rack.CLAIMS,
    *network.CLAIMS,
    *pipeline.CLAIMS,
    *memory.CLAIMS,
    *reported.MEMORY_WALL_REPORTED,
    *training.CLAIMS,
    *kv.CLAIMS,
    *pricing.CLAIMS,
    *context.CLAIMS,
    *context.ATTENTION_CLAIMS,
    *context.LONG_CONTEXT_CLAIMS,
    *attention.CLAIMS,
    *reversible.CLAIMS,
)
