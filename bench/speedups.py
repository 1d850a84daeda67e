"""What each of the build's speed-ups saves: builds with it and without it, in alternation.

For each speed-up (:data:`claims.sphinx.speedups.SPEEDUPS`), a clean build and a rebuild after a model
edit are timed with every speed-up on and with all but that one, round by round, so both sides see the
same load. Every model edit gives the field a value no build has drawn, so only a clean build (of the
original tree) can find its figures in the store. A speed-up's share is the part of the build without it
that it removes, 1 − (with all) / (without it), from the medians. A share under :data:`WORTH` of both
builds means it does not pay for its code.
"""

from __future__ import annotations

import shutil
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from claims.sphinx.speedups import SPEEDUPS, option

#: The least share of a clean build or of a model-edit rebuild a speed-up must save to keep its place.
WORTH = 0.10


@dataclass(frozen=True)
class Saving:
    """One speed-up, one kind of build: wall and CPU seconds with every speed-up, and without this one."""

    speedup: str
    build: str
    with_all: list[float]
    without: list[float]
    cpu_with_all: list[float]
    cpu_without: list[float]

    @property
    def share(self) -> float:
        return 1 - statistics.median(self.with_all) / statistics.median(self.without)


def settings() -> dict[str, str]:
    """Each side's ``claims_speedups`` value: every speed-up, and each one left out."""
    return {"all": "all", **{name: f"-{name}" for name in SPEEDUPS}, "none": "none"}


def measure(
    runs: int,
    build: Callable[[str], tuple[float, float]],
    clean: Callable[[], None],
    edit: Callable[[bool], None],
) -> list[Saving]:
    """``build(setting)`` times one build (wall, CPU); ``clean()`` removes the output; ``edit(True)`` makes
    a model edit and ``edit(False)`` puts the original back. Each round: a clean build of each side (of
    the original tree), then a rebuild of each side after an edit."""
    sides = settings()
    wall: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}

    def timed(kind: str, side: str) -> None:
        took, used = build(sides[side])
        wall.setdefault((kind, side), []).append(took)
        cpu.setdefault((kind, side), []).append(used)

    for _ in range(runs):
        for side in sides:
            clean()
            timed("clean", side)
            build(sides[side])  # settle: a rebuild with nothing changed, so the edit's rebuild starts alike
            edit(True)
            timed("model edit", side)
            edit(False)
    return [
        Saving(side, kind, wall[(kind, "all")], wall[(kind, side)], cpu[(kind, "all")], cpu[(kind, side)])
        for kind in ("clean", "model edit")
        for side in sides
        if side != "all"
    ]


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def table(savings: list[Saving]) -> str:
    """The savings as a Markdown table, with the verdict on each speed-up."""
    lines = [
        "What each speed-up saves (`claims_speedups`; builds with every speed-up and with all but one, in",
        "alternation): the share of the build without it that it removes, from the medians of wall time. A",
        f"speed-up saving under {WORTH:.0%} of both builds would not pay for its code. CPU: all processes.",
        "",
        "| speed-up | build | with all | without it | share saved | CPU with all / without |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in savings:
        what = "every speed-up" if s.speedup == "none" else s.speedup
        medians = [statistics.median(v) for v in (s.with_all, s.without, s.cpu_with_all, s.cpu_without)]
        lines.append(
            f"| {what} | {s.build} | {_seconds(medians[0])} | {_seconds(medians[1])} (n={len(s.without)}) "
            f"| {s.share:.0%} | {_seconds(medians[2])} / {_seconds(medians[3])} |"
        )
    return "\n".join(lines) + "\n"


def below_worth(savings: list[Saving]) -> list[str]:
    """Speed-ups that save under :data:`WORTH` of both kinds of build."""
    return sorted(name for name in SPEEDUPS if all(s.share < WORTH for s in savings if s.speedup == name))


def book_savings(
    runs: int, repo: Path, out: Path, timed: Callable[..., tuple[float, float]], edit_model: Callable[[bool], None]
) -> list[Saving]:
    """:func:`measure` on a scratch copy of the book (``timed`` is the benchmark's own timer)."""
    flags = ["-q", "-W", "--keep-going", "-n", "-b", "html"]

    def build(setting: str) -> tuple[float, float]:
        command = [
            sys.executable,
            "-m",
            "sphinx",
            *flags,
            *option(setting),
            "-c",
            ".",
            "book",
            str(out),
        ]
        return timed(command, repo, drift_ok=True)

    return measure(runs, build, lambda: shutil.rmtree(out, ignore_errors=True), edit_model)
