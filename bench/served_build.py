"""A clean book build timed inside one process, optionally with the claims served from memory.

``python -m bench.served_build SRC OUT [--served]`` imports the extension, and with
``--served`` evaluates every claim before the clock starts and hands the build those
evaluations instead of computing them. The difference between the two timings is what
evaluating the claims costs a build (the extension's own rendering is in both).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    src, out = Path(argv[0]), Path(argv[1])
    served = "--served" in argv
    sys.path.insert(0, str(src))
    from sphinx.cmd.build import build_main

    import hwdb
    from claims.registry import all_claims
    from claims.sphinx import dependencies
    from claims.sphinx.speedups import DRAWS_EVERY_FIGURE

    if served:
        tracked = dependencies.track(hwdb.load_from(hwdb.DATA_DIR), dependencies.Recorder(None))
        evaluated = dependencies.evaluate_traced(tracked)
        assert all(claim.derivation for claim in all_claims())  # built before the clock starts
        setattr(dependencies, "evaluate_traced", lambda db: evaluated)  # noqa: B010 (patching a module)
    start = time.perf_counter()
    flags = ["-q", "-W", "--keep-going", "-n", "-b", "html", *DRAWS_EVERY_FIGURE]
    status = build_main([*flags, "-c", str(src), str(src / "book"), str(out)])
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"book build failed with status {status}")
    print(json.dumps({"build": elapsed}))


if __name__ == "__main__":
    main(sys.argv[1:])
