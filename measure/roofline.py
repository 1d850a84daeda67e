"""Measure a GPU's roofline and write it as an hwdb overlay.

    python3 -m measure.roofline --accelerator h100-sxm --out DIR [--quick] [--device cuda|cpu]

times (a) achieved HBM bandwidth with a read kernel (a sum) and a copy kernel,
(b) achieved dense BF16 and FP8 matmul throughput on large square matrices and
(c) a decode-shaped matmul, weight [d, d] against activations [B, d], over a sweep of
B, whose fitted ridge (measure/analysis.py) is the batch where decode turns from
memory-bound to compute-bound. It writes DIR/<accelerator>-measured.toml (an hwdb
overlay with one ``measurement`` record) and DIR/<accelerator>-measured.json (every
raw sample), and prints a summary.

Only PyTorch, NumPy and the standard library are needed: the measuring machine has
none of this project's other dependencies.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch  # type: ignore[import-not-found, unused-ignore]

from . import SCRIPT_VERSION
from .analysis import RidgeFit, RidgeFitError, Spread, fit_ridge, log_sweep, summarize
from .records import DEFAULT_SOURCE_URL, ID_PATTERN, FieldValue, Measurement, write

Op = Callable[[], object]
TERA = 1e12


@dataclass(frozen=True)
class Sizes:
    """What is timed, and how often; recorded in the output so a reader can rerun it."""

    read_elements: int  # float32 elements summed
    copy_elements: int  # float32 elements in each of source and destination
    matmul_n: int  # square matmul n×n×n
    decode_d: int  # decode weight d×d
    batches: tuple[int, ...]
    warmup: int  # untimed calls before each measurement
    repeats: int  # timed samples per bandwidth or matmul figure
    sweep_repeats: int  # timed samples per batch of the decode sweep
    sample_seconds: float  # each sample repeats the op until it lasts about this long
    spin_up_seconds: float  # matmuls run first, so the GPU leaves its idle clocks


FULL = Sizes(
    read_elements=2**30,  # 4.3 GB: far past any cache
    copy_elements=2**29,  # 2.1 GB each way
    matmul_n=8192,
    decode_d=8192,  # a 134 MB BF16 weight, larger than an H100's or H200's 50 MB L2
    batches=log_sweep(16384),
    warmup=5,
    repeats=30,
    sweep_repeats=20,
    sample_seconds=3e-3,
    spin_up_seconds=2.0,
)
QUICK = Sizes(
    read_elements=2**22,
    copy_elements=2**21,
    matmul_n=256,
    decode_d=256,
    batches=log_sweep(1024),
    warmup=2,
    repeats=7,
    sweep_repeats=5,
    sample_seconds=1e-3,
    spin_up_seconds=0.0,
)


@dataclass(frozen=True)
class Timed:
    """One timed operation: per-call seconds and the work one call does (bytes or FLOP)."""

    work: float
    work_unit: str
    calls_per_sample: int
    samples: tuple[float, ...]
    detail: str

    @property
    def seconds(self) -> Spread:
        return summarize(self.samples)

    @property
    def rate(self) -> Spread:
        return self.seconds.rate(self.work)

    def as_dict(self) -> dict[str, Any]:
        return {
            "work": self.work,
            "work_unit": self.work_unit,
            "detail": self.detail,
            "calls_per_sample": self.calls_per_sample,
            "seconds": self.seconds.as_dict(),
            "rate_per_second": self.rate.as_dict(),
            "samples_s": list(self.samples),
        }


# --- timing -------------------------------------------------------------------------------


def _synchronize(device: Any) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _cpu_samples(op: Op, calls: int, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            op()
        samples.append((time.perf_counter() - start) / calls)
    return samples


def _cuda_samples(op: Op, calls: int, repeats: int) -> list[float]:
    """CUDA events around each sample, all queued before one synchronize: no host gaps between samples."""
    new: Callable[..., Any] = torch.cuda.Event  # its __init__ is untyped in torch
    events = [(new(enable_timing=True), new(enable_timing=True)) for _ in range(repeats)]
    for start, end in events:
        start.record()
        for _ in range(calls):
            op()
        end.record()
    torch.cuda.synchronize()
    return [start.elapsed_time(end) / 1e3 / calls for start, end in events]


def _samples(op: Op, device: Any, calls: int, repeats: int) -> list[float]:
    if device.type == "cuda":
        return _cuda_samples(op, calls, repeats)
    return _cpu_samples(op, calls, repeats)


def time_op(op: Op, device: Any, sizes: Sizes, repeats: int, max_calls: int = 1000) -> tuple[int, list[float]]:
    """Warm up, pick how many calls make one sample last ``sample_seconds``, then time ``repeats`` samples.

    Grouping calls keeps a short kernel's time above the timer's resolution and the
    launch overhead; the median over samples discards the occasional slow one.
    """
    for _ in range(sizes.warmup):
        op()
    _synchronize(device)
    once = min(_samples(op, device, 1, 3))
    calls = max(1, min(max_calls, math.ceil(sizes.sample_seconds / max(once, 1e-9))))
    return calls, _samples(op, device, calls, repeats)


def _timed(op: Op, device: Any, sizes: Sizes, work: float, unit: str, detail: str, repeats: int) -> Timed:
    calls, samples = time_op(op, device, sizes, repeats)
    return Timed(work, unit, calls, tuple(samples), detail)


# --- the measurements ---------------------------------------------------------------------


def spin_up(device: Any, sizes: Sizes) -> None:
    """Run matmuls for a while so clocks and power have left idle before anything is timed."""
    if device.type != "cuda" or sizes.spin_up_seconds <= 0:
        return
    a = torch.randn(4096, 4096, device=device, dtype=torch.bfloat16)
    deadline = time.perf_counter() + sizes.spin_up_seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            a @ a
        torch.cuda.synchronize(device)


def read_bandwidth(device: Any, sizes: Sizes) -> Timed:
    """Bytes read per second by a sum over a large float32 tensor (the result is one number)."""
    x = torch.rand(sizes.read_elements, device=device, dtype=torch.float32)
    nbytes = x.numel() * x.element_size()
    detail = f"torch.sum over {nbytes / 1e9:.3g} GB float32"
    return _timed(functools.partial(torch.sum, x), device, sizes, nbytes, "byte", detail, sizes.repeats)


def copy_bandwidth(device: Any, sizes: Sizes) -> Timed:
    """Bytes read plus bytes written per second by a tensor copy."""
    src = torch.rand(sizes.copy_elements, device=device, dtype=torch.float32)
    dst = torch.empty_like(src)
    nbytes = 2 * src.numel() * src.element_size()
    detail = f"Tensor.copy_ of {nbytes / 2e9:.3g} GB float32 (bytes read plus written)"
    return _timed(functools.partial(dst.copy_, src), device, sizes, nbytes, "byte", detail, sizes.repeats)


def bf16_matmul(device: Any, sizes: Sizes) -> Timed:
    """Dense BF16 n×n×n matmul: 2n³ FLOP per call."""
    n = sizes.matmul_n
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    out = torch.empty(n, n, device=device, dtype=torch.bfloat16)
    detail = f"torch.mm BF16 {n}x{n}x{n}, random normal inputs"
    op = functools.partial(torch.mm, a, b, out=out)
    return _timed(op, device, sizes, 2.0 * n**3, "flop", detail, sizes.repeats)


def fp8_unsupported(device: Any) -> str | None:
    """Why FP8 matmul cannot be timed here, or None if it can be tried."""
    if device.type != "cuda":
        return f"FP8 matmul (torch._scaled_mm) needs a CUDA device with FP8 tensor cores; this run is on {device.type}"
    if not hasattr(torch, "float8_e4m3fn") or not hasattr(torch, "_scaled_mm"):
        return f"torch {torch.__version__} has no float8_e4m3fn or _scaled_mm"
    major, minor = torch.cuda.get_device_capability(device)
    if (major, minor) < (8, 9):
        return f"compute capability {major}.{minor} has no FP8 tensor cores (needs 8.9 or later)"
    return None


def fp8_matmul(device: Any, sizes: Sizes) -> dict[str, Timed]:
    """Dense FP8 (e4m3) n×n×n matmul through torch._scaled_mm, with and without fast accumulation.

    _scaled_mm wants the first operand row-major and the second column-major (a
    transposed row-major tensor), per-tensor float32 scales, and a wider output type.
    """
    n = sizes.matmul_n
    a = torch.randn(n, n, device=device).to(torch.float8_e4m3fn)
    b = torch.randn(n, n, device=device).to(torch.float8_e4m3fn).t()
    one = torch.ones((), device=device, dtype=torch.float32)
    results = {}
    for fast in (False, True):
        op = functools.partial(
            torch._scaled_mm, a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16, use_fast_accum=fast
        )
        detail = f"torch._scaled_mm float8_e4m3fn {n}x{n}x{n}, per-tensor scales, BF16 out, use_fast_accum={fast}"
        results[f"fast_accum={fast}"] = _timed(op, device, sizes, 2.0 * n**3, "flop", detail, sizes.repeats)
    return results


@dataclass(frozen=True)
class Sweep:
    """The decode-shaped matmul timed at each batch, and the roofline fitted to it."""

    d: int
    points: dict[int, Timed]
    fit: RidgeFit | None
    fit_error: str | None

    @property
    def weight_bytes(self) -> float:
        return 2.0 * self.d * self.d

    def as_dict(self) -> dict[str, Any]:
        return {
            "d": self.d,
            "dtype": "bfloat16",
            "op": "torch.nn.functional.linear(x[B, d], w[d, d])",
            "weight_bytes": self.weight_bytes,
            "points": [{"batch": b, **t.as_dict()} for b, t in self.points.items()],
            "fit_model": "t(B) = max(t0, c*B), least squares on log t",
            "fit": None if self.fit is None else dataclasses.asdict(self.fit),
            "fit_error": self.fit_error,
        }


def decode_sweep(device: Any, sizes: Sizes) -> Sweep:
    """Time y = x·wᵀ for x [B, d] over the batch sweep and fit where the weight stream stops being the bound."""
    d = sizes.decode_d
    w = torch.randn(d, d, device=device, dtype=torch.bfloat16)
    linear = torch.nn.functional.linear
    points: dict[int, Timed] = {}
    for batch in sizes.batches:
        x = torch.randn(batch, d, device=device, dtype=torch.bfloat16)
        detail = f"linear x[{batch}, {d}] by w[{d}, {d}] BF16"
        op = functools.partial(linear, x, w)
        points[batch] = _timed(op, device, sizes, 2.0 * batch * d * d, "flop", detail, sizes.sweep_repeats)
    batches = list(points)
    medians = [points[b].seconds.median for b in batches]
    try:
        fit = fit_ridge(batches, medians, flop_per_row=2.0 * d * d, floor_bytes=2.0 * d * d)
        return Sweep(d, points, fit, None)
    except RidgeFitError as exc:
        return Sweep(d, points, None, str(exc))


# --- the environment ----------------------------------------------------------------------


def _driver_version() -> str:
    """The NVIDIA driver, from nvidia-smi (torch does not report it)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "unknown (no nvidia-smi)"
    try:
        run = subprocess.run(
            [smi, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    lines = run.stdout.strip().splitlines()
    return lines[0].strip() if run.returncode == 0 and lines else "unknown"


def environment(device: Any) -> dict[str, str]:
    """What ran the measurement: device, driver, CUDA, torch, host."""
    env = {
        "torch": str(torch.__version__),
        "cuda": str(torch.version.cuda or "none"),
        "python": platform.python_version(),
        "host": platform.node() or "unknown",
        "platform": platform.platform(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env |= {
            "device": str(props.name),
            "driver": _driver_version(),
            "compute_capability": f"{props.major}.{props.minor}",
            "multiprocessors": str(props.multi_processor_count),
            "device_memory": f"{props.total_memory / 1e9:.1f} GB",
        }
    else:
        cpu = platform.processor() or platform.machine() or "CPU"
        env |= {"device": f"{cpu} CPU ({os.cpu_count()} logical cores)", "driver": "none"}
        env["torch_threads"] = str(torch.get_num_threads())
    return env


# --- output -------------------------------------------------------------------------------


def _sig(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


def _rate_field(timed: Timed, scale: float, unit: str) -> FieldValue:
    """Median rate, with the spread of rates over samples in the note."""
    r = timed.rate
    note = (
        f"median of {r.n} samples of {timed.calls_per_sample} call(s); "
        f"min to max {r.minimum / scale:.4g} to {r.maximum / scale:.4g} {unit}, "
        f"IQR {r.q1 / scale:.4g} to {r.q3 / scale:.4g} {unit}; {timed.detail}"
    )
    return FieldValue(_sig(r.median / scale), unit, note)


def _ridge_field(sweep: Sweep) -> FieldValue:
    fit = sweep.fit
    assert fit is not None and fit.flop_rate is not None and fit.bandwidth is not None
    batches = list(sweep.points)
    note = (
        f"fit of t(B) = max(t0, c*B) (least squares on log t) to the median times of "
        f"torch.nn.functional.linear, x[B, {sweep.d}] by a BF16 weight [{sweep.d}, {sweep.d}], "
        f"{len(batches)} batches {batches[0]} to {batches[-1]}; t0 = {fit.floor_time * 1e6:.4g} us "
        f"(weight read at {fit.bandwidth / TERA:.4g} TB/s), c implies {fit.flop_rate / TERA:.4g} TFLOP/s; "
        f"{fit.points_on_floor} points on the floor, {fit.points_on_line} on the line, "
        f"rms log residual {fit.rms_log_residual:.3g}"
    )
    return FieldValue(_sig(fit.ridge_batch), "token", note)


def fields_from(results: dict[str, Timed], fp8: dict[str, Timed], sweep: Sweep | None) -> dict[str, FieldValue]:
    """The hwdb fields of the measurement record; anything not measured is left out."""
    fields: dict[str, FieldValue] = {}
    if "read" in results:
        fields["hbm_read_bandwidth"] = _rate_field(results["read"], TERA, "TB/s")
    if "copy" in results:
        fields["hbm_copy_bandwidth"] = _rate_field(results["copy"], TERA, "TB/s")
    if "bf16" in results:
        fields["bf16_matmul_flops"] = _rate_field(results["bf16"], TERA, "TFLOP/s")
    if fp8:
        best = max(fp8.values(), key=lambda t: t.rate.median)
        fields["fp8_matmul_flops"] = _rate_field(best, TERA, "TFLOP/s")
    if sweep is not None and sweep.fit is not None:
        fields["decode_ridge_batch"] = _ridge_field(sweep)
    return fields


def _source_note(env: dict[str, str], sizes: Sizes, quick: bool) -> str:
    return (
        f"device {env['device']}, driver {env['driver']}, CUDA {env['cuda']}, torch {env['torch']}, "
        f"script version {SCRIPT_VERSION}{' (--quick)' if quick else ''}; sizes: read {sizes.read_elements} float32, "
        f"copy {sizes.copy_elements} float32, matmul {sizes.matmul_n}^3, decode d={sizes.decode_d} over "
        f"B={sizes.batches[0]}..{sizes.batches[-1]} ({len(sizes.batches)} points); repeats {sizes.repeats} "
        f"(sweep {sizes.sweep_repeats}) after {sizes.warmup} warm-ups, "
        f"each sample >= {sizes.sample_seconds * 1e3:g} ms; figures are medians"
    )


def summary(
    env: dict[str, str], results: dict[str, Timed], fp8: dict[str, Timed], sweep: Sweep | None, skipped: dict[str, str]
) -> str:
    """A human-readable account of the run."""
    lines = [f"device: {env['device']} (driver {env['driver']}, CUDA {env['cuda']}, torch {env['torch']})"]
    labels = {
        "read": ("HBM read bandwidth", "TB/s"),
        "copy": ("HBM copy bandwidth (r+w)", "TB/s"),
        "bf16": ("BF16 matmul", "TFLOP/s"),
    }
    rows = [(labels[k][0], labels[k][1], t) for k, t in results.items()]
    rows += [(f"FP8 matmul ({name})", "TFLOP/s", t) for name, t in fp8.items()]
    for label, unit, timed in rows:
        r = timed.rate
        lines.append(
            f"  {label:<34} {r.median / TERA:10.4g} {unit:<8} IQR {r.q1 / TERA:.4g}..{r.q3 / TERA:.4g}, "
            f"min..max {r.minimum / TERA:.4g}..{r.maximum / TERA:.4g} (n={r.n} x {timed.calls_per_sample})"
        )
    if sweep is not None:
        lines.append(f"  decode sweep, x[B, {sweep.d}] by BF16 w[{sweep.d}, {sweep.d}]:")
        lines.append(f"    {'B':>6} {'median us':>11} {'IQR/median':>10} {'TFLOP/s':>9} {'weight TB/s':>11}")
        for batch, timed in sweep.points.items():
            s = timed.seconds
            lines.append(
                f"    {batch:>6} {s.median * 1e6:>11.4g} {s.relative_iqr:>10.2%} {timed.work / s.median / TERA:>9.4g} "
                f"{sweep.weight_bytes / s.median / TERA:>11.4g}"
            )
        f = sweep.fit
        if f is not None and f.flop_rate is not None and f.bandwidth is not None:
            lines.append(
                f"  ridge batch {f.ridge_batch:.4g} tokens: floor {f.floor_time * 1e6:.4g} us "
                f"({f.bandwidth / TERA:.4g} TB/s weight read), line {f.flop_rate / TERA:.4g} TFLOP/s, "
                f"rms log residual {f.rms_log_residual:.3g}"
            )
        else:
            lines.append(f"  ridge batch: not fitted ({sweep.fit_error})")
    lines += [f"  skipped {name}: {reason}" for name, reason in skipped.items()]
    return "\n".join(lines)


# --- command line -------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m measure.roofline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accelerator", required=True, help="id of the datasheet record in hwdb, e.g. h100-sxm")
    parser.add_argument("--out", required=True, type=Path, help="folder for <accelerator>-measured.toml and .json")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: the whole run takes seconds on a CPU")
    parser.add_argument("--device", choices=["cuda", "cpu"], help="default: cuda if available, else cpu")
    parser.add_argument("--repeats", type=int, help="timed samples per figure (default: 30, or 7 with --quick)")
    parser.add_argument(
        "--cpu-threads",
        type=int,
        default=1,
        help="torch threads on --device cpu (default 1: on a busy machine, threads waiting on each other "
        "make timings swing a hundredfold)",
    )
    parser.add_argument("--source-url", default=DEFAULT_SOURCE_URL, help="url of the overlay's source entry")
    return parser.parse_args(argv)


def _attempt(name: str, skipped: dict[str, str], step: Callable[[], Any]) -> Any:
    """Run one measurement; a failure is recorded and the others still run (a GPU run is one-shot).

    The step's tensors die with its frame; the cache is emptied after each, so one step's
    memory never limits the next.
    """
    print(f"measuring {name} ...", flush=True)
    try:
        return step()
    except Exception as exc:  # any torch or CUDA error: keep what the other steps measure
        skipped[name] = f"{type(exc).__name__}: {exc}".strip()
        return None
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not ID_PATTERN.match(args.accelerator):
        print(f"error: --accelerator {args.accelerator!r} is not an hwdb id such as 'h100-sxm'", file=sys.stderr)
        return 2
    device_type = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device_type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device", file=sys.stderr)
        return 2
    device = torch.device(device_type)
    if device_type == "cpu":
        torch.set_num_threads(args.cpu_threads)
    sizes = QUICK if args.quick else FULL
    if args.repeats is not None:
        sizes = dataclasses.replace(sizes, repeats=args.repeats, sweep_repeats=args.repeats)
    torch.manual_seed(0)
    started = time.perf_counter()
    today = dt.datetime.now(dt.UTC).date()
    env = environment(device)
    mode = "quick" if args.quick else "full"
    print(f"measure.roofline v{SCRIPT_VERSION}: {env['device']}, torch {env['torch']}, {mode} sizes", flush=True)

    skipped: dict[str, str] = {}
    _attempt("spin-up", skipped, functools.partial(spin_up, device, sizes))
    results: dict[str, Timed] = {}
    for key, step in (("read", read_bandwidth), ("copy", copy_bandwidth), ("bf16", bf16_matmul)):
        timed = _attempt(key, skipped, functools.partial(step, device, sizes))
        if timed is not None:
            results[key] = timed
    fp8: dict[str, Timed] = {}
    reason = fp8_unsupported(device)
    if reason is None:
        fp8 = _attempt("fp8", skipped, functools.partial(fp8_matmul, device, sizes)) or {}
    else:
        skipped["fp8"] = reason
    sweep: Sweep | None = _attempt("decode sweep", skipped, functools.partial(decode_sweep, device, sizes))
    if sweep is not None and sweep.fit is None:
        skipped["decode_ridge_batch"] = sweep.fit_error or "no fit"

    fields = fields_from(results, fp8, sweep)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{args.accelerator}-measured"
    raw = {
        "script_version": SCRIPT_VERSION,
        "date": today.isoformat(),
        "accelerator": args.accelerator,
        "quick": args.quick,
        "environment": env,
        "sizes": dataclasses.asdict(sizes),
        "measurements": {k: t.as_dict() for k, t in results.items()},
        "fp8": {k: t.as_dict() for k, t in fp8.items()},
        "decode_sweep": None if sweep is None else sweep.as_dict(),
        "skipped": skipped,
        "fields": {k: dataclasses.asdict(v) for k, v in fields.items()},
        "seconds": time.perf_counter() - started,
    }
    stem.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
    print(summary(env, results, fp8, sweep, skipped))
    print(f"raw samples: {stem.with_suffix('.json')}")
    if "hbm_read_bandwidth" not in fields:
        print(
            "error: the read bandwidth (required by a measurement record) was not measured; no TOML written",
            file=sys.stderr,
        )
        return 1
    meta: dict[str, str | int] = {k: env[k] for k in ("device", "driver", "cuda", "torch", "host")}
    meta |= {"script_version": SCRIPT_VERSION, "date": today.isoformat(), "quick": str(args.quick).lower()}
    measurement = Measurement(
        accelerator=args.accelerator,
        device=env["device"],
        date=today,
        fields=fields,
        meta=meta,
        source_note=_source_note(env, sizes, args.quick),
        source_url=args.source_url,
    )
    write(measurement, stem.with_suffix(".toml"))
    print(f"hwdb overlay: {stem.with_suffix('.toml')}  ({time.perf_counter() - started:.1f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
