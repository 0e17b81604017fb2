"""The features beyond search on both engines: readiness, suggestions, did-you-mean, related, /help.

    python bench/xapian_features.py [--corpus FILE] [--shards 3] [--procs 1] [--work DIR]

FILE (default: the shared corpus, corpus/news.jsonl, found as tests/shared_data.py finds it) is
built into a Whoosh index and into SHARDS local Xapian shards in a temporary directory; then one
app per engine (in this process, test client, no HTTP) answers, in this order: /readyz, the
first /api/suggest (which builds the suggestion data), 20 more suggestions, 10 searches for
typos (did-you-mean / autocorrect), related coverage of 10 articles, the first /help. Wall time
and process CPU time per step and engine, printed as JSON lines. With --work, the index and
shards are kept in DIR and reused by the next run with the same DIR (built when missing).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.build import rebuild  # noqa: E402
from indexer import xapian_store  # noqa: E402
from search_service.app import create_app  # noqa: E402
from tests.shared_data import shared_file  # noqa: E402

PREFIXES = ["经济", "北京", "新能", "人工", "zfb", "bj", "疫情 防", "5", "篮", "航天", "gaotie", "中国 经",
            "乌克", "一带", "教育", "足球", "股市", "房地", "气候", "科技"]
TYPOS = ["新关疫情", "一代一路", "人工智障", "篮秋", "北京冬奥会开幕试", "航天员 神州十八号", "经技", "新能源气车",
         "足秋比赛", "股是"]


def step(client: Any, urls: list[str]) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    codes = [client.get(u).status_code for u in urls]
    return {"n": len(urls), "ms": round((time.perf_counter() - t0) * 1000, 1),
            "cpu_ms": round((time.process_time() - c0) * 1000, 1), "status": sorted(set(codes))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=shared_file("corpus", "news.jsonl"))
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--work", type=Path, help="keep (and reuse) the index and shards here")
    args = ap.parse_args()
    if args.corpus is None or not args.corpus.is_file():
        sys.exit("no corpus: pass --corpus FILE (or set NEWS_SEARCH_SHARED)")
    work = args.work or Path(tempfile.mkdtemp(prefix="xapian-features-"))
    specs = [str(work / f"shard{i}") for i in range(args.shards)]
    if not (work / "built").is_file():
        t0 = time.perf_counter()
        rebuild([str(args.corpus)], work / "index", procs=args.procs)
        whoosh_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        xapian_store.rebuild([str(args.corpus)], specs, procs=args.procs)
        xapian_s = time.perf_counter() - t0
        (work / "built").write_text("ok\n", encoding="utf-8")
        print(json.dumps({"build_s": {"whoosh": round(whoosh_s, 1), "xapian": round(xapian_s, 1)}}), flush=True)
    base = {"TESTING": True, "INDEX_DIR": str(work / "index"), "QUERY_LOG": False}
    clients = {"whoosh": create_app(base).test_client(),
               "xapian": create_app({**base, "ENGINE": "xapian", "XAPIAN_SHARDS": ",".join(specs)}).test_client()}
    ids = [h["id"] for h in clients["whoosh"].get("/api/search?q=经济&per_page=10").get_json()["hits"]]
    for name, client in clients.items():
        client.get("/api/search?q=中国")  # open the index / shards and warm the search path
        steps = {
            "readyz": step(client, ["/readyz"]),
            "suggest_first": step(client, [f"/api/suggest?q={PREFIXES[0]}"]),
            "suggest_20": step(client, [f"/api/suggest?q={p}" for p in PREFIXES]),
            "typos_10": step(client, [f"/api/search?q={t}" for t in TYPOS]),
            "related_10": step(client, [f"/api/articles/{i}/related" for i in ids]),
            "help_first": step(client, ["/help"]),
        }
        print(json.dumps({"engine": name, **steps}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
