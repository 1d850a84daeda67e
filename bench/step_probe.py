"""One fresh-process measurement of the step model: ``python -m bench.step_probe`` prints JSON.

``sweep_first`` is a 1,000-configuration sweep (batch 1 to 1,000), the first in a process that has imported
the package: its formulas come from the derivation cache where it holds them (``CLAIMS_CACHE_DIR=off`` times
deriving and compiling them too); ``sweep`` is a sweep once they are compiled.
``page_update`` is one update of the explore page's step explorer: its script (step-explorer.js) run in
Node on the page's own data, the median of many updates after the first (the formulas compiled once, as
in the page), without the page's drawing.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

NODE_TIMER = """
const step = require(process.argv[1]);
const data = JSON.parse(require("fs").readFileSync(0, "utf8"));
const s = Object.assign({}, data.defaults);
step.evaluate(data, s);
const times = [];
for (let i = 0; i < 200; i++) {
  s.batch = 1 + (i % 64) * 64;
  const t0 = process.hrtime.bigint();
  step.evaluate(data, s);
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
times.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ page_update: times[times.length >> 1] }));
"""


def main() -> None:
    import numpy as np

    import hwdb
    from claims.deployment import step
    from claims.step_explorer import page_data

    db = hwdb.load([])
    batches = np.arange(1, 1001)
    t0 = time.perf_counter()
    step("deepseek-v3", "gb200-nvl72", 72, batches, 4989, weights="fp8", math="fp8", attention_math="bf16", db=db)
    first = time.perf_counter() - t0
    again = []
    for _ in range(5):
        t0 = time.perf_counter()
        step("llama-3.1-70b", "hgx-h100", 8, batches, 8192, db=db)
        again.append(time.perf_counter() - t0)
    out = {"sweep_first": first, "sweep": statistics.median(again)}
    node = shutil.which("node")
    if node is not None:
        script = Path(__file__).resolve().parents[1] / "book/_static/step-explorer.js"
        done = subprocess.run(
            [node, "-e", NODE_TIMER, str(script)], input=json.dumps(page_data(db)), capture_output=True, text=True
        )
        if done.returncode == 0:
            out |= json.loads(done.stdout)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
