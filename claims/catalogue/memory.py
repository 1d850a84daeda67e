"""The memory wall and the memory hierarchy's drain times (lecture sections 5 and 7)."""

from __future__ import annotations

from ..engine import Claim, Input, Rows
from ..policy import Stated
from .common import one_step, positive
from .rack import MEMORY_WALL_CLAIMS

C, W = positive("C W")
INPUTS = (Input(C, "capacity", None, "capacity of one device"), Input(W, "bandwidth", None, "bandwidth of one device"))


def _drain(cid: str, title: str, family: str, reference: str, stated: Stated, text: str) -> Claim:
    return Claim(
        id=cid,
        title=title,
        statement=text,
        section="7. API prices leak the architecture",
        kind="derived",
        page="memory-wall",
        unit=stated.unit,
        stated=stated,
        build=one_step("T_drain", C / W, "Time to read the whole device once"),
        inputs=INPUTS,
        rows=Rows(
            "memory-tier",
            reference,
            "most",
            f"a typical {family} device",
            scope=(("family", family),),
            why_scope=f"only {family} rows count; the other tiers are shown for comparison",
        ),
        finding="The reference device drains in {value}.",
    )


DRAM_DRAIN = _drain(
    "memory.dram-drain",
    "DRAM drains in 1–10 s",
    "LPDDR5X",
    "lpddr5x-grace",
    Stated(3, "s", "range", "DDR: 1–10 s", low=1, high=10),
    "CPU-attached DRAM takes seconds to read end to end.",
)
FLASH_DRAIN = _drain(
    "memory.flash-drain",
    "Flash drains in about a minute",
    "NVMe SSD",
    "nvme-gen6-ssd",
    Stated(1, "min", "about", "flash: ~1 min (so the 5-minute cache tier lives on flash)"),
    "An NVMe SSD takes about a minute to read end to end, which matches a five-minute cache tier.",
)
DISK_DRAIN = _drain(
    "memory.disk-drain",
    "A disk drains in about an hour",
    "HDD",
    "hdd-exos-x24",
    Stated(1, "h", "about", "spinning disk: ~1 h (so the 1-hour cache tier lives on disk)"),
    "A hard disk takes about an hour to read end to end, which matches a one-hour cache tier.",
)

CLAIMS = (*MEMORY_WALL_CLAIMS, DRAM_DRAIN, FLASH_DRAIN, DISK_DRAIN)
