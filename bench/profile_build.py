"""cProfile of one rebuild worker, in-process: what a worker of `news-search rebuild` spends its CPU on.

    python bench/profile_build.py [--corpus ../shared/corpus/news.jsonl] [--limit 3000] [--top 40]
                                  [--sort tottime|cumulative] [--no-profile]

Reads the first N articles, then runs indexer/parallel_build.py's worker code (analysis, Whoosh
add_document, the segment flush, n-gram and column arrays) in this process on all of them, as
one worker of a parallel rebuild does on its share. Prints the wall and CPU time, then the
profile's top functions. With --no-profile: only the times (cProfile roughly doubles them).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import queue
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from whoosh import index as whoosh_index  # noqa: E402

from indexer import analysis, ingest, parallel_build  # noqa: E402
from indexer.model import Article  # noqa: E402
from indexer.schema import build_schema  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "news.jsonl"


class Counter:
    value = 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--limit", type=int, default=3000)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args()
    analysis.ensure_initialised()
    items = []
    for item in ingest.iter_inputs([str(args.corpus)]):
        if isinstance(item, Article):
            items.append(item)
            if len(items) >= args.limit:
                break
    with tempfile.TemporaryDirectory(prefix="news-search-profile-") as tmp:
        whoosh_index.create_in(tmp, build_schema())
        inbox: queue.Queue = queue.Queue()
        for item in items:
            inbox.put(item)
        inbox.put(None)
        outbox: queue.Queue = queue.Queue()
        profiler = None if args.no_profile else cProfile.Profile(time.process_time)  # CPU, not wall: a shared machine
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        parallel_build._worker(0, tmp, inbox, outbox, Counter(), Counter())
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        messages = [outbox.get() for _ in range(outbox.qsize())]
        failed = [m for m in messages if m[0] == "failed"]
        if failed:
            raise SystemExit(f"worker failed: {failed[0][2]}")
    print(f"{len(items)} articles: {wall:.1f} s wall, {cpu:.1f} s CPU"
          f"{' (under cProfile)' if profiler else ''}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
