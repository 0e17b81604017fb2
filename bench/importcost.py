"""What importing a module costs a fresh interpreter: wall and CPU time, and which heavy
libraries it pulls in. Usage: python bench/importcost.py [MODULE] [--runs N] [--tree DIR]

Each run is a new `python -c` (nothing cached in-process); CPU time is reported beside wall time
because the shared machine's load stretches wall time and not CPU time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

PROBE = """
import sys, time
w, c = time.perf_counter(), time.process_time()
import {module}
print({{"wall_ms": (time.perf_counter() - w) * 1000, "cpu_ms": (time.process_time() - c) * 1000,
       "heavy": sorted({{m.split(".")[0] for m in sys.modules}} & {{"trafilatura", "lxml", "charset_normalizer"}}),
       "modules": len(sys.modules)}})
"""


def measure(module: str, runs: int, tree: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": tree}
    rows = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True,
                             env=env, cwd=tree, check=True)  # cwd: `-c` puts it first on sys.path
        rows.append(eval(out.stdout))  # noqa: S307 (the probe's own printed dict)
    return {"module": module, "tree": tree, "runs": runs,
            "wall_ms_median": round(statistics.median(r["wall_ms"] for r in rows), 1),
            "cpu_ms_median": round(statistics.median(r["cpu_ms"] for r in rows), 1),
            "heavy": rows[0]["heavy"], "modules": rows[0]["modules"], "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("module", nargs="?", default="search_service.core")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--tree", default=".", help="source tree put first on PYTHONPATH")
    args = ap.parse_args()
    print(json.dumps(measure(args.module, args.runs, os.path.abspath(args.tree)), ensure_ascii=False))


if __name__ == "__main__":
    main()
