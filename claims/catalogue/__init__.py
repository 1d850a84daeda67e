"""The lecture's claims, one module per chapter; ``CLAIMS`` lists them all in book order."""

from __future__ import annotations

from ..engine import Claim
from . import attention, batch, kv, network, pricing, reversible, serving, training

MODULES = (batch, serving, network, training, kv, pricing, attention, reversible)
CLAIMS: tuple[Claim, ...] = tuple(c for m in MODULES for c in m.CLAIMS)
