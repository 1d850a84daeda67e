"""Statistics of timing samples and the roofline fit of a batch sweep (NumPy only).

Timings of GPU kernels are skewed: most samples sit near the true time and a few are
slowed by clocks, other work or the first touch of memory. So a figure is the median
of its samples, and its spread is stated as quartiles and extremes, never a standard
deviation.

The decode sweep is fitted with the roofline itself,

    t(B) = max(t0, c·B),

a flat memory floor ``t0`` (the weights are read once whatever the batch) meeting a
compute line through the origin (``c`` seconds per row of the batch). The ridge
batch is where they meet, ``B* = t0 / c``. The max form, not the smooth
``t0 + c·B``, is used because a GPU overlaps the weight stream with the arithmetic:
time is set by whichever is slower, which is what the roofline says; the sum would
describe a machine that does one and then the other. The fit is least squares on
the log scale: the sweep spans four orders of magnitude in time, timing noise is
relative rather than absolute, and on log axes the compute line has slope exactly 1,
leaving two parameters (the floor and the ridge).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: A list of numbers or a NumPy array of them.
Numbers = Sequence[float] | NDArray[Any]


@dataclass(frozen=True)
class Spread:
    """Order statistics of a sample: enough to say how far a median can be trusted."""

    n: int
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float

    @property
    def relative_iqr(self) -> float:
        """Interquartile range over the median: 0.01 means the middle half lies within 1 %."""
        return (self.q3 - self.q1) / self.median if self.median else math.inf

    def rate(self, work: float) -> Spread:
        """The spread of ``work / time`` for a spread of times: the fastest time gives the highest rate."""
        if any(value <= 0 for value in (self.minimum, self.q1, self.median, self.q3, self.maximum)):
            raise ValueError("rates need positive times")
        return Spread(
            self.n,
            work / self.maximum,
            work / self.q3,
            work / self.median,
            work / self.q1,
            work / self.minimum,
        )

    def as_dict(self) -> dict[str, float]:
        """For the raw JSON record."""
        return {
            "n": self.n,
            "min": self.minimum,
            "q1": self.q1,
            "median": self.median,
            "q3": self.q3,
            "max": self.maximum,
        }


def _finite_array(samples: Numbers, what: str) -> NDArray[np.float64]:
    values = np.asarray(samples, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{what}: need a non-empty list of numbers")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what}: every value must be finite")
    return values


def summarize(samples: Numbers) -> Spread:
    """Median, quartiles and extremes (linear interpolation between order statistics)."""
    values = _finite_array(samples, "summarize")
    q = np.quantile(values, [0.0, 0.25, 0.5, 0.75, 1.0])
    return Spread(int(values.size), float(q[0]), float(q[1]), float(q[2]), float(q[3]), float(q[4]))


def median(samples: Numbers) -> float:
    """The median: robust to the few slow outliers that timing always has."""
    return summarize(samples).median


def log_sweep(largest: int) -> tuple[int, ...]:
    """Batches 1, 2, 3, 4, 6, 8, 12, ... up to ``largest``: powers of two and ¾ of each, evenly spread on log axes.

    Evenly spread points weigh the floor and the line alike in a log-scale fit, and two
    points an octave give the fit enough points near the ridge to place it.
    """
    if largest < 1:
        raise ValueError(f"log_sweep: largest batch must be at least 1, got {largest}")
    points = {1}
    power = 2
    while power <= largest:
        points.add(power)
        if power >= 4:
            points.add(power * 3 // 4)
        power *= 2
    return tuple(sorted(points))


class RidgeFitError(ValueError):
    """The sweep does not show both sides of the roofline, so it has no ridge to report."""


@dataclass(frozen=True)
class RidgeFit:
    """The fitted roofline ``t(B) = max(floor_time, time_per_row·B)`` of a batch sweep."""

    ridge_batch: float
    floor_time: float
    time_per_row: float
    rms_log_residual: float
    points_on_floor: int
    points_on_line: int
    flop_rate: float | None = None
    bandwidth: float | None = None

    def predict(self, batch: float) -> float:
        """Fitted time at a batch (the roofline, in seconds)."""
        return max(self.floor_time, self.time_per_row * batch)


def _best_break(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[float, float, float]:
    """Exact least squares of ``y = a + max(0, x - s)`` over the level ``a`` and break ``s``.

    For a break between two neighbouring distinct x, which points lie on the floor is
    fixed, so the loss is a quadratic in ``s``: solve it, clamp it to the interval, keep
    the best interval. A break clamped to the first or last x is the all-line or
    all-floor model, so those cases are covered too. Returns (loss, a, s).
    """
    levels = np.unique(x)
    best = (math.inf, 0.0, 0.0)
    for low, high in itertools.pairwise(levels):
        on_line = (x >= high).astype(np.float64)
        w = np.where(on_line > 0, y - x, y)  # residual is w + s·on_line - a
        dw = w - w.mean()
        dl = on_line - on_line.mean()
        s = float(np.clip(-(dw @ dl) / (dl @ dl), low, high))
        residual = dw + s * dl
        loss = float(residual @ residual)
        if loss < best[0]:
            best = (loss, float(np.mean(w + s * on_line)), s)
    return best


def fit_ridge(
    batches: Numbers,
    times: Numbers,
    *,
    flop_per_row: float | None = None,
    floor_bytes: float | None = None,
    min_points: int = 2,
    min_span: float = 2.0,
) -> RidgeFit:
    """Fit ``t(B) = max(t0, c·B)`` to a sweep (log-scale least squares) and return the ridge ``t0/c``.

    ``flop_per_row`` (FLOP per row of the batch, 2·d² for a d×d weight) and
    ``floor_bytes`` (bytes read on the floor, the weight) turn the fit into the flop rate
    and bandwidth it implies. The sweep must show both regimes: at least ``min_points``
    batches on each side of the ridge, and batches reaching ``min_span`` times beyond
    it both ways; otherwise RidgeFitError says which side is missing, since a ridge
    extrapolated off the end of a sweep is a guess, not a measurement.
    """
    b = _finite_array(batches, "fit_ridge batches")
    t = _finite_array(times, "fit_ridge times")
    if b.size != t.size:
        raise ValueError(f"fit_ridge: {b.size} batches but {t.size} times")
    if np.any(b <= 0) or np.any(t <= 0):
        raise ValueError("fit_ridge: batches and times must be positive")
    if np.unique(b).size < 2 * min_points:
        raise ValueError(f"fit_ridge: need at least {2 * min_points} distinct batches, got {np.unique(b).size}")
    x, y = np.log(b), np.log(t)
    loss, level, brk = _best_break(x, y)
    ridge = math.exp(brk)
    on_floor = int(np.sum(x < brk))
    on_line = int(np.sum(x > brk))
    lo, hi = float(b.min()), float(b.max())
    if on_line < min_points or hi < min_span * ridge:
        raise RidgeFitError(
            f"the sweep never leaves the memory floor: fitted ridge B≈{ridge:.4g} but the largest batch is {hi:g} "
            f"({on_line} point(s) above it); extend the sweep to batches beyond {min_span * ridge:.4g}"
        )
    if on_floor < min_points or lo > ridge / min_span:
        raise RidgeFitError(
            f"the sweep never sits on the memory floor: fitted ridge B≈{ridge:.4g} but the smallest batch is {lo:g} "
            f"({on_floor} point(s) below it); extend the sweep to batches below {ridge / min_span:.4g}"
        )
    floor_time = math.exp(level)
    per_row = floor_time / ridge
    return RidgeFit(
        ridge_batch=ridge,
        floor_time=floor_time,
        time_per_row=per_row,
        rms_log_residual=math.sqrt(loss / b.size),
        points_on_floor=on_floor,
        points_on_line=on_line,
        flop_rate=None if flop_per_row is None else flop_per_row / per_row,
        bandwidth=None if floor_bytes is None else floor_bytes / floor_time,
    )
