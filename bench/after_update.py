"""The first searches after an `update` commit of a few articles, in one warm service process.

    python bench/after_update.py --index INDEX_DIR [--articles 3] [--queries 12] [--profile]

INDEX_DIR is copied first (the copy is updated, the original never written). A SearchIndex is
opened and warmed as `news-search serve` does (snapshot, background warm-up finished, a few
searches); then ARTICLES articles of the index are re-ingested with one changed sentence (an
`update` commit, in-process like the CLI's), and the next QUERIES distinct full requests (3
facets, 10 highlighted hits, reprints collapsed, the service's 2 s time limit) are timed: wall
and thread CPU, and whether any answer was cut short. With --profile, cProfile of the first one.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.update import update  # noqa: E402
from search_service import core  # noqa: E402
from search_service.index import SearchIndex  # noqa: E402
from search_service.params import parse_search_params  # noqa: E402

QUERIES = ["经济", "北京 冬奥", "“一带一路”", "的", "疫情防控", "5G", "人工智能", "篮球", "新能源汽车",
           "银", "教育 改革", "航天"]
LIMIT_MS = 2000.0


def timed(index: SearchIndex, q: str) -> dict:
    t0, c0 = time.perf_counter(), time.thread_time()
    out = core.search(index, parse_search_params({"q": q}), time_limit_ms=LIMIT_MS)
    return {"q": q, "ms": round((time.perf_counter() - t0) * 1000, 1),
            "cpu_ms": round((time.thread_time() - c0) * 1000, 1), "timed_out": out["timed_out"],
            "total": out["total"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--articles", type=int, default=3)
    ap.add_argument("--queries", type=int, default=len(QUERIES))
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="after-update-"))
    try:
        index_dir = work / "index"
        shutil.copytree(args.index, index_dir, symlinks=True)
        index = SearchIndex(index_dir, check_interval=0.0)
        t0 = time.perf_counter()
        snap = index.snapshot()
        core.warm(snap)
        for q in QUERIES[:3]:
            timed(index, q + " 报道")  # warm the code paths, not these queries' own caches
        warm_s = time.perf_counter() - t0
        records = []
        for d in sorted(snap.live_docs)[: args.articles]:
            f = snap.stored(d)
            records.append({"id": f["id"], "title": f.get("title", ""), "body": (f.get("body") or "") + "\n更正：本文有一处数字已改。",
                            "channel": f.get("channel"), "published": f.get("published"), "url": f.get("url")})
        src = work / "changed.jsonl"
        src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        t1 = time.perf_counter()
        report = update([str(src)], index_dir)
        commit_s = time.perf_counter() - t1
        results = []
        prof = cProfile.Profile() if args.profile else None
        for i, q in enumerate(QUERIES[: args.queries]):
            if prof is not None and i == 0:
                prof.enable()
            results.append(timed(index, q))
            if prof is not None and i == 0:
                prof.disable()
        print(json.dumps({"documents": report.documents, "updated": report.updated, "warm_s": round(warm_s, 1),
                          "update_s": round(commit_s, 2), "after": results}, ensure_ascii=False, indent=1))
        if prof is not None:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
