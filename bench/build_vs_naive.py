"""Our rebuild against the naive Whoosh build (bench/peers.py), in the same run, alternating.

    python bench/build_vs_naive.py [--corpus ../shared/corpus/news.jsonl] [--limit N] [--rounds 1]
                                   [--procs N] [--out-dir DIR]

Each round builds ours (`news-search rebuild CORPUS --index-dir DIR --quiet`, this checkout's code)
then the naive peer, each in its own subprocess: wall time, CPU user+sys of the process and its
reaped workers, peak memory of the process tree, and the 1-minute load average before each build
(the machine is shared: read wall time next to CPU time and load). Prints one JSON line per build
and a summary line with naive wall / our wall (the ">= 2x the naive build" target of issue 14).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import measure  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "news.jsonl"


def limited(corpus: Path, limit: int | None, tmp: Path) -> Path:
    if not limit:
        return corpus
    out = tmp / f"first-{limit}.jsonl"
    with open(corpus, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for n, line in enumerate(src):
            if n >= limit:
                break
            dst.write(line)
    return out


def measured(name: str, cmd: list[str], env: dict[str, str]) -> dict:
    load = measure.loadavg()[0]
    res = measure.run_measured(cmd, env=env)
    if res["returncode"] != 0:
        raise SystemExit(f"{name} build failed ({res['returncode']}):\n{res['stderr_tail']}")
    row = {"build": name, "wall_s": res["wall_s"], "cpu_s": round(res["cpu_user_s"] + res["cpu_sys_s"], 1),
           "load_before": load, "load_after": measure.loadavg()[0],
           "peak_tree_rss_mb": res["peak_tree_rss_mb"], "peak_tree_pss_mb": res["peak_tree_pss_mb"]}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--limit", type=int, default=None, help="only the first N lines of the corpus")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--procs", type=int, default=None, help="our rebuild's --procs (default: its own)")
    ap.add_argument("--out-dir", type=Path, default=None, help="where the indexes go (default: a temp dir)")
    args = ap.parse_args()
    tmp = Path(args.out_dir or tempfile.mkdtemp(prefix="news-search-build-"))
    tmp.mkdir(parents=True, exist_ok=True)
    corpus = limited(args.corpus, args.limit, tmp)
    env = dict(os.environ, PYTHONWARNINGS="ignore",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    ours_cmd = [sys.executable, "-m", "search_service.cli", "rebuild", str(corpus), "--index-dir", str(tmp / "ours"),
                "--quiet"] + (["--procs", str(args.procs)] if args.procs else [])
    naive_cmd = [sys.executable, str(HERE / "peers.py"), "build", "naive", str(corpus), str(tmp / "naive")]
    rows = []
    for _ in range(args.rounds):
        for name, cmd, out in (("ours", ours_cmd, tmp / "ours"), ("naive", naive_cmd, tmp / "naive")):
            shutil.rmtree(out, ignore_errors=True)
            rows.append(measured(name, cmd, env))
    ours = [r["wall_s"] for r in rows if r["build"] == "ours"]
    naive = [r["wall_s"] for r in rows if r["build"] == "naive"]
    print(json.dumps({"corpus": str(corpus), "ours_wall_s": min(ours), "naive_wall_s": min(naive),
                      "naive_over_ours": round(min(naive) / min(ours), 2)}))


if __name__ == "__main__":
    main()
