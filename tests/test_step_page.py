"""The explore page's step model (step-explorer.js, run in Node) against the engine, on random deployments.

The page combines hwdb's numbers (claims/step_explorer.py) with the step model's formulas printed to
JavaScript; the engine (claims.step) and the command line (python -m claims step --json) read the
same records through claims/deployment.py. All three must give the same step, parts, bound and fit,
and refuse the same deployments.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import hwdb
from claims.__main__ import main
from claims.deployment import StepError, step
from claims.step_explorer import page_data

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "book/_static/step-explorer.js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the browser session covers the page)")

HARNESS = """
const step = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = input.scenarios.map((s) => {
  const r = step.evaluate(input.data, s);
  return JSON.parse(JSON.stringify(r, (k, v) => (typeof v === "number" && !isFinite(v) ? String(v) : v)));
});
process.stdout.write(JSON.stringify(out));
"""
COMPARED = (
    "step_s", "compute_s", "weights_s", "attention_s", "kv_s", "comm_s", "memory_bytes", "capacity_bytes",
    "critical_batch", "context_limit", "max_batch", "tokens_per_s", "tokens_per_s_per_chip",
)  # fmt: skip


@cache
def db() -> hwdb.Database:
    return hwdb.load([])


def scenarios(count: int, seed: int = 26) -> list[dict[str, Any]]:
    """Random deployments over every model, chip, system and format in hwdb, some of them impossible."""
    rng = random.Random(seed)
    data = page_data(db())
    models = [m["id"] for m in data["models"]]
    formats = [f["id"] for f in data["formats"]]
    out = []
    for _ in range(count):
        hw = rng.choice(data["hardware"])
        rates = sorted(hw["rates"]) or ["bf16"]
        size = hw["size"] or hw["domain"] or 1
        out.append(
            {
                "model": rng.choice(models),
                "hw": hw["id"],
                # mostly a count the hardware allows, sometimes one past it (refused, or over the NICs)
                "chips": rng.choice([None, 1, max(1, int(size) // 2), int(size), int(size) * 2]),
                "batch": rng.choice([1, 2, 7, 64, 300, 4096, 20000]),
                "context": float(rng.choice([0, 1, 512, 1000, 4989, 32768, 131072])),
                "weights": rng.choice(formats),
                "kv": rng.choice(formats),
                # mostly a format the chip computes in, sometimes a storage layout (refused)
                "math": rng.choice(rates) if rng.random() < 0.9 else "int4",
                "attention_math": rng.choice(rates),
                "layout": rng.choice(["", "tp", "ep"]),
                "overlap": rng.choice(["per-class", "whole-step", "additive", "comm-hidden"]),
            }
        )
    return out


def engine(s: dict[str, Any]) -> dict[str, Any] | None:
    try:
        r = step(
            s["model"], s["hw"], s["chips"], s["batch"], s["context"], weights=s["weights"], kv=s["kv"],
            math=s["math"], attention_math=s["attention_math"], layout=s["layout"] or None,
            overlap=s["overlap"], db=db(),
        )  # fmt: skip
    except StepError:
        return None
    return r.rows()[0]


def _close(a: Any, b: Any) -> bool:
    if b is None:  # the engine writes no finite value as None
        return a in ("Infinity", None) or (isinstance(a, float) and math.isnan(a))
    return isinstance(a, int | float) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)


@needs_node
def test_the_page_gives_the_engines_step_on_random_deployments() -> None:
    cases = scenarios(500)
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", HARNESS, str(SCRIPT)],
        input=json.dumps({"data": page_data(db()), "scenarios": cases}),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout)
    computed = 0
    for s, js in zip(cases, page, strict=True):
        ours = engine(s)
        if ours is None:
            assert "error" in js, f"the engine refuses {s}, the page computes {js}"
            continue
        assert "error" not in js, f"the page refuses {s}: {js['error']}"
        computed += 1
        for key in COMPARED:
            assert _close(js[key], ours[key]), f"{key}: page {js[key]}, engine {ours[key]} for {s}"
        assert js["bound"] == ours["bound"] and js["fits"] == ours["fits"], s
    assert computed >= 200, f"only {computed} of the random deployments could be stepped"


def test_the_command_line_prints_the_engines_step(capsys: pytest.CaptureFixture[str]) -> None:
    shown = 0
    for s in scenarios(60, seed=7):
        ours = engine(s)
        if ours is None:
            continue
        args = ["step", "--model", s["model"], "--hw", s["hw"], "--batch", str(s["batch"]), "--context"]
        args += [str(s["context"]), "--weights", s["weights"], "--kv", s["kv"], "--math", s["math"]]
        args += ["--attention-math", s["attention_math"], "--overlap", s["overlap"], "--json"]
        args += ["--chips", str(s["chips"])] if s["chips"] is not None else []
        args += ["--layout", s["layout"]] if s["layout"] else []
        assert main(args) == 0
        printed = json.loads(capsys.readouterr().out)
        for key in COMPARED:
            assert printed[key] == ours[key] or _close(printed[key], ours[key]), (key, s)
        shown += 1
    assert shown >= 10
