"""The first searches after an `update` commit of a few articles, in one warm service process.

    python bench/after_update.py --index INDEX_DIR [--articles 3] [--updates 5] [--queries 12] [--profile]
                                 [--back-to-back]

INDEX_DIR is copied first (the copy is updated, the original never written). A SearchIndex is
opened and warmed as `news-search serve` does (snapshot, background warm-up finished, a few
searches); then, UPDATES times, ARTICLES articles of the index are re-ingested with one changed
sentence (an `update` commit, in-process like the CLI's) and the next QUERIES distinct full
requests (3 facets, 10 highlighted hits, reprints collapsed, the service's 2 s time limit) are
timed: wall and thread CPU, and whether any answer was cut short. The new snapshot's background
warm-up (core.warm, as `serve` starts it) runs meanwhile, as on the live site. The summary gives
p50 and max of the first search after each commit. With --profile, cProfile of the first search
after the first commit. With --back-to-back the next commit does not wait for the warm-up of the
previous one (a sync writing every few seconds): the case where a commit's first did-you-mean
once built the whole suggestion table in the request (17.9 s on the real corpus).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import statistics
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


def changed(snap, docnums: list[int], n: int) -> list[dict]:
    records = []
    for d in docnums:
        f = snap.stored(d)
        records.append({"id": f["id"], "title": f.get("title", ""),
                        "body": (f.get("body") or "") + f"\n更正：本文有一处数字已改（第{n}次）。",
                        "channel": f.get("channel"), "published": f.get("published"), "url": f.get("url")})
    return records


def wait_warm(index: SearchIndex) -> None:
    """Until the current snapshot's background warm-up has finished (it drops `previous`)."""
    snap = index.snapshot()
    for _ in range(600):
        if snap.previous is None and "suggest" in snap.extra:
            return
        time.sleep(0.1)


def summary(values: list[float]) -> dict:
    return {"p50": round(statistics.median(values), 1), "max": round(max(values), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--articles", type=int, default=3)
    ap.add_argument("--updates", type=int, default=5)
    ap.add_argument("--queries", type=int, default=len(QUERIES))
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--back-to-back", action="store_true", help="commit again without waiting for the warm-up")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="after-update-"))
    try:
        index_dir = work / "index"
        shutil.copytree(args.index, index_dir, symlinks=True)
        index = SearchIndex(index_dir, check_interval=0.0, warm=core.warm)
        t0 = time.perf_counter()
        snap = index.snapshot()
        wait_warm(index)
        for q in QUERIES[:3]:
            timed(index, q + " 报道")  # warm the code paths, not these queries' own caches
        warm_s = time.perf_counter() - t0
        prof = cProfile.Profile() if args.profile else None
        rounds = []
        for n in range(args.updates):
            snap = index.snapshot()
            picked = sorted(snap.live_docs)[n * args.articles: (n + 1) * args.articles]
            src = work / f"changed-{n}.jsonl"
            src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in changed(snap, picked, n)),
                           encoding="utf-8")
            t1 = time.perf_counter()
            report = update([str(src)], index_dir)
            commit_s = time.perf_counter() - t1
            results = []
            # Distinct queries per round: the first one after a commit is never a cached answer.
            queries = QUERIES[n % len(QUERIES):] + QUERIES[: n % len(QUERIES)]
            for i, q in enumerate(queries[: args.queries]):
                if prof is not None and n == 0 and i == 0:
                    prof.enable()
                results.append(timed(index, q))
                if prof is not None and n == 0 and i == 0:
                    prof.disable()
            rounds.append({"updated": report.updated, "update_s": round(commit_s, 2), "first": results[0],
                           "others_max_ms": max((x["ms"] for x in results[1:]), default=None),
                           "after": results})
            if not args.back_to_back:
                wait_warm(index)  # the next commit finds a warm service, as commits minutes apart do
        firsts = [r["after"][0] for r in rounds]
        rest = [x for r in rounds for x in r["after"][1:]]
        shown = [{k: v for k, v in r.items() if k != "after"} for r in rounds]
        print(json.dumps({"documents": report.documents, "warm_s": round(warm_s, 1),
                          "back_to_back": args.back_to_back, "rounds": shown,
                          "first_after_commit": {"wall_ms": summary([x["ms"] for x in firsts]),
                                                 "cpu_ms": summary([x["cpu_ms"] for x in firsts])},
                          "others": {"wall_ms": summary([x["ms"] for x in rest]) if rest else None,
                                     "cpu_ms": summary([x["cpu_ms"] for x in rest]) if rest else None},
                          "over_budget": sum(x["ms"] > LIMIT_MS * 1.1 for x in firsts + rest),
                          "timed_out": sum(bool(x["timed_out"]) for x in firsts + rest)},
                         ensure_ascii=False, indent=1))
        if prof is not None:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
