"""One fresh-process measurement of the engine: ``python -m bench.probe`` prints JSON.

Run in a new interpreter each time, so import and first-evaluation costs are real,
not served from a previous run's caches.
"""

from __future__ import annotations

import json
import statistics
import time


def main() -> None:
    start = time.perf_counter()
    import claims  # noqa: F401 (the package itself is what a user imports)
    import hwdb
    from claims.registry import all_claims, evaluate_all

    imported = time.perf_counter()
    db = hwdb.load_from(hwdb.DATA_DIR)
    loaded = time.perf_counter()
    derivations = [claim.derivation for claim in all_claims()]  # the derivation cache, or solve and simplify
    derived = time.perf_counter()
    evaluations = evaluate_all(db)
    first = time.perf_counter()
    repeats = []
    for _ in range(20):
        t0 = time.perf_counter()
        evaluate_all(db)
        repeats.append(time.perf_counter() - t0)
    rows = sum(len(e.rows) for e in evaluations.values())
    print(
        json.dumps(
            {
                "import": imported - start,
                "load": loaded - imported,
                "derive": derived - loaded,
                "first_evaluation": first - derived,
                "evaluation": statistics.median(repeats),
                "claims": len(evaluations),
                "derivations": len(derivations),
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
