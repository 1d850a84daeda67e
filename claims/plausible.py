"""What a typed value may be: the physical rules a calculator holds a what-if to.

hwdb checks each figure as it is loaded (finite, of the right sign and dimension). A reader typing
into a calculator can do what no data file does: claim more active parameters than a model has, or
a bandwidth no part could reach. Three rules, each declared once here and carried to the page in
the calculator's spec (:mod:`claims.calculator`, :mod:`claims.explore`), refuse that:

- a count (a schema field made by ``_count``: layers, experts, chips) is a whole number, at least 1
  (at least 0 where the schema allows zero);
- a value lies within :data:`PLAUSIBLE`, per physical dimension: bounds far outside any real part,
  so a slip of the unit (``1e30`` TB/s, ``671e9`` in a field of billions) is refused, not computed
  (a test holds every hwdb figure at least :data:`MARGIN` times inside them);
- :data:`ORDERED` pairs of fields of one record keep their order (active ≤ total parameters).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from hwdb import Quantity
from hwdb.derived import field_spec
from hwdb.schema import FIELDS
from hwdb.units import parse_unit

from . import formatting

#: Within one record, the first field may not exceed the second (hwdb field names).
ORDERED: tuple[tuple[str, str], ...] = (
    ("active_params", "total_params"),
    ("experts_per_token", "routed_experts"),
    ("dense_layers", "layers"),
    ("local_layers", "layers"),
    ("kv_layers", "layers"),
    ("kv_heads", "attention_heads"),
    ("data_parallel", "gpus"),
    ("tensor_parallel", "gpus"),
    ("expert_parallel", "gpus"),
)

#: The range a value of each dimension may take, written in a unit of that dimension: wide enough for
#: any real part or model by orders of magnitude, narrow enough to catch a unit typed a billion times off.
#: Dimensionless fields split three ways: counts, percentages (at most all of it) and other ratios.
PLAUSIBLE: tuple[tuple[str, str, str], ...] = (
    ("B/s", "1 kB/s", "1 PB/s"),  # a disk's 285 MB/s to a rack-scale HBM's 32 TB/s
    ("FLOP/s", "1 GFLOP/s", "1 EFLOP/s"),
    ("B", "0.1 B", "1 PB"),  # a block scale's 4 B to a 30 TB drive
    ("B/param", "0.01 B/param", "100 B/param"),
    ("B/token", "0.01 B/token", "1 GB/token"),
    ("param", "1 param", "1e15 param"),  # today's largest models hold a few trillion
    ("token", "1 token", "1e18 token"),
    ("token/s", "0.001 token/s", "10 Ttoken/s"),
    ("s", "1 ns", "1000 year"),  # a 2.8 µs hop to a model's two months of service
    ("W", "1 W", "1 GW"),
    ("USD/token", "0.0001 USD/Mtoken", "1e6 USD/Mtoken"),
    ("USD/h", "0.001 USD/h", "10000 USD/h"),
    ("FLOP/token**2", "1 FLOP/token**2", "1 TFLOP/token**2"),
    ("FLOP/(param*token)", "0.1 FLOP/(param*token)", "1000 FLOP/(param*token)"),
)
COUNT_RANGE = (1.0, 1e8)  # layers, experts, chips, widths: a vocabulary of 262k is the largest in hwdb
RATIO_RANGE = (1e-4, 1e6)  # fit coefficients, speed-ups, efficiencies
PERCENT_MAX = 1.0  # a share is at most all of it (100 %, in SI)
#: Every hwdb figure lies at least this factor inside its bounds (tests/test_calculator.py).
MARGIN = 10.0


@dataclass(frozen=True)
class Limits:
    """The values a field may take, in SI base units, and how the page says so."""

    low: float
    high: float
    count: bool
    zero: bool  # zero allowed (a count of dense layers), else the value must be positive
    text: str  # "from 1 kB/s to 1 PB/s"

    def json(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "count": self.count, "zero": self.zero, "range": self.text}


def _si(text: str) -> float:
    return float(Quantity(text).to_base_units().magnitude)


def _shown(text: str) -> str:
    q: Any = Quantity(text)
    return formatting.quantity(float(q.magnitude), str(q.units))


def _written(low_text: str, high_text: str) -> str:
    """The range as the page writes it: "from 1 kB/s to 1 PB/s", "from 1 to 1,000T parameters"."""
    low_shown, high_shown = _shown(low_text), _shown(high_text)
    low_number, _, low_unit = low_shown.partition(" ")
    _, _, high_unit = high_shown.partition(" ")
    return f"from {low_number if low_unit == high_unit else low_shown} to {high_shown}"


@cache
def limits(field: str) -> Limits:
    """The bounds of a schema or derived field, from its unit's dimension and whether it counts things."""
    unit_text, _ = field_spec(field)
    spec = FIELDS.get(field)
    zero = bool(spec and spec.allow_zero)
    count = bool(spec and spec.count)
    unit = parse_unit(unit_text)
    if count:
        low, high = COUNT_RANGE
        return Limits(low, high, True, zero, f"a whole number from {'0' if zero else '1'} to {formatting.number(high)}")
    if unit.dimensionless:
        if unit == parse_unit("percent"):
            return Limits(0.0, PERCENT_MAX, False, zero, "from 0 to 100 %")
        low, high = RATIO_RANGE
        return Limits(low, high, False, zero, f"from {formatting.number(low)} to {formatting.number(high)}")
    for example, low_text, high_text in PLAUSIBLE:
        if parse_unit(example).dimensionality == unit.dimensionality:
            return Limits(_si(low_text), _si(high_text), False, zero, _written(low_text, high_text))
    raise KeyError(f"claims/plausible.py: no plausible range for {field} ({unit_text}); add its dimension")


def ordered(fields: Iterable[tuple[str, str]]) -> list[tuple[int, int]]:
    """Pairs (smaller, larger) of positions in ``fields`` (record, field name) that :data:`ORDERED` binds."""
    where = {key: i for i, key in enumerate(fields)}
    return [
        (where[(record, small)], where[(record, large)])
        for (record, small) in where
        for lesser, large in ORDERED
        if lesser == small and (record, large) in where
    ]
