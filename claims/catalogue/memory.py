"""The memory wall and the memory hierarchy's drain times (lecture sections 5 and 7)."""

from __future__ import annotations

from ..engine import Claim, Detail, Input, Rows
from ..policy import Stated
from .common import one_step, positive
from .rack import MEMORY_WALL_CLAIMS

C, W = positive("C W")
T_short, T_long = positive("T_short T_long")  # the prompt cache's two lifetimes, from Anthropic's price sheet
INPUTS = (Input(C, "capacity", None, "capacity of one device"), Input(W, "bandwidth", None, "bandwidth of one device"))
SHORT = Input(T_short, "cache_short_duration", "claude-opus-4-5", "the prompt cache's default lifetime")
LONG = Input(T_long, "cache_long_duration", "claude-opus-4-5", "the prompt cache's extended lifetime")
DRAIN = C / W  # time to read the whole device once


def _drain(
    cid: str,
    title: str,
    family: str,
    reference: str,
    stated: Stated,
    text: str,
    lifetimes: tuple[Input, ...],
    details: tuple[Detail, ...],
    finding: str,
) -> Claim:
    return Claim(
        id=cid,
        title=title,
        statement=text,
        section="7. API prices leak the architecture",
        kind="derived",
        page="memory-wall",
        unit=stated.unit,
        stated=stated,
        build=one_step("T_drain", DRAIN, "Time to read the whole device once", details),
        inputs=(*INPUTS, *lifetimes),
        rows=Rows(
            "memory-tier",
            reference,
            "most",
            f"a typical {family} device",
            scope=(("family", family),),
            why_scope=f"only {family} rows count; the other tiers are shown for comparison",
        ),
        finding=finding,
    )


DRAM_DRAIN = _drain(
    "memory.dram-drain",
    "DRAM drains in 1–10 s",
    "LPDDR5X",
    "lpddr5x-grace",
    Stated(3, "s", "DDR: 1–10 s", low=1, high=10),
    "CPU-attached DRAM takes seconds to read end to end.",
    (SHORT,),
    (
        Detail(
            "share_of_short", "drain time as a share of the prompt cache's default lifetime", DRAIN / T_short, "percent"
        ),
    ),
    (
        "CPU-attached LPDDR5X is provisioned with about as many gigabytes of capacity as GB/s of bandwidth, so "
        "a full read takes about a second: one Grace CPU's {in:C} at {in:W} drains in {value}, just under the "
        "lecture's range, and Vera's larger memory lands inside it. The verdict rests on these rows being "
        "NVIDIA's soldered CPU memory; a conventional DDR5 server with more DIMMs per channel trades bandwidth for "
        "capacity and drains more slowly, further inside the range. For the cache tiers, DRAM reads itself end to "
        "end in {detail:share_of_short} of the default cache lifetime ({in:T_short}), far more bandwidth than such "
        "a tier needs: it is expensive capacity, suited to caches that turn over in seconds."
    ),
)
FLASH_DRAIN = _drain(
    "memory.flash-drain",
    "Flash drains in about a minute",
    "NVMe SSD",
    "nvme-gen6-ssd",
    Stated(1, "min", "flash: ~1 min (so the 5-minute cache tier lives on flash)"),
    "An NVMe SSD takes about a minute to read end to end, which matches a five-minute cache tier.",
    (SHORT, LONG),
    (
        Detail(
            "capacity_in_short", "capacity this device could drain within the default cache lifetime", W * T_short, "TB"
        ),
        Detail(
            "share_of_long", "drain time as a share of the prompt cache's extended lifetime", DRAIN / T_long, "percent"
        ),
    ),
    (
        "A data-centre NVMe drive puts many terabytes behind a narrow PCIe link, so reading it end to end takes "
        "many minutes, not one: the reference PCIe Gen6 drive, {in:C} at {in:W}, takes {value}, and older PCIe "
        "generations, with similar capacities at lower bandwidth, take longer still, so no row comes near the "
        "lecture's minute. At this bandwidth a drive could hold only {detail:capacity_in_short} to drain within the "
        "default cache lifetime ({in:T_short}), and striping drives does not help, since capacity and bandwidth "
        "add together. By the lecture's own rule of matching a tier's lifetime to its medium's drain time, flash, "
        "draining in {detail:share_of_long} of the extended lifetime ({in:T_long}), is the natural home of the "
        "one-hour tier rather than the five-minute one, which falls between DRAM and flash."
    ),
)
DISK_DRAIN = _drain(
    "memory.disk-drain",
    "A disk drains in about an hour",
    "HDD",
    "hdd-exos-x24",
    Stated(1, "h", "spinning disk: ~1 h (so the 1-hour cache tier lives on disk)"),
    "A hard disk takes about an hour to read end to end, which matches a one-hour cache tier.",
    (LONG,),
    (
        Detail(
            "capacity_in_long", "capacity this device could drain within the extended cache lifetime", W * T_long, "TB"
        ),
    ),
    (
        "A hard disk's capacity grows with areal density while its sequential rate grows only with linear "
        "density at a fixed spindle speed, so each generation takes longer to read end to end: the reference "
        "{in:C} drive at its best-case outer-track {in:W} takes {value}, and at that rate only a drive of "
        "{detail:capacity_in_long} would drain within the extended cache lifetime ({in:T_long}). Random reads of "
        "scattered cache blocks would be slower still. So the lecture's inference falls with its number: disk is "
        "a day-scale tier, the one-hour prompt cache matches flash's drain time instead (memory.flash-drain), and "
        "a cache hit read back from disk would be slow enough to defeat the latency it is meant to save."
    ),
)

CLAIMS = (*MEMORY_WALL_CLAIMS, DRAM_DRAIN, FLASH_DRAIN, DISK_DRAIN)
