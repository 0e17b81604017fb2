"""Run one system over a list of queries and write its top-10 ids per query (a relevance.py worker).

    python bench/relevance_systems.py SYSTEM QUERIES.json OUT.json [--index-dir DIR] [--work DIR] [--http URL]
        [--xapian-shards SPEC,SPEC,...]

SYSTEM is one of SYSTEMS. Each runs in its own process: news-search adds its dictionaries to
jieba's global segmenter, so the peers (plain jieba, as their builds used) must not share it.
Output: {"system", "wall_s", "cpu_s", "hits": [[[id, folded ids...], ...] per query],
"suggestions": [...], "followed": hits after clicking the suggestion (else the same hits),
"errors": n}; the times cover the query loop only (index opened and warmed).
"""
from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
warnings.filterwarnings("ignore")

SYSTEMS = ("ours", "ours-http", "xapian", "fts-and", "fts-or", "naive")
K = 10
Result = tuple[list[list[str]], str | None]


def peer_paths(work: Path) -> dict[str, Path]:
    return {"fts": work / "fts5.sqlite", "naive": work / "naive-whoosh"}


def ours(index_dir: str) -> Callable[[str], Result]:
    from search_service import core
    from search_service.index import SearchIndex
    from search_service.params import parse_search_params

    index = SearchIndex(Path(index_dir), check_interval=3600)

    def run(q: str) -> Result:
        # The query as typed, default relevance sort, 10 per page; a correction the service
        # applies itself is already in `hits`.
        res = core.search(index, parse_search_params({"q": [q]}))
        return [[h["id"], *(h.get("duplicate_ids") or [])] for h in res["hits"][:K]], res.get("suggestion")
    return run


def xapian_shards(specs: str, index_dir: str | None) -> Callable[[str], Result]:
    """news-search on Xapian shards (NEWS_SEARCH_ENGINE=xapian): XapianIndex.search, the same
    parameters as `ours`; index_dir is only read for synonyms.txt / stopwords.txt, as the app does."""
    from indexer.xapian_doc import parse_shards
    from search_service.params import parse_search_params
    from search_service.xapian_engine import XapianIndex

    index = XapianIndex(parse_shards(specs), partial=False, index_dir=index_dir)

    def run(q: str) -> Result:
        res = index.search(parse_search_params({"q": [q]}))
        return [[h["id"], *(h.get("duplicate_ids") or [])] for h in res["hits"][:K]], res.get("suggestion")
    return run


def ours_http(url: str) -> Callable[[str], Result]:
    from urllib.error import HTTPError
    from urllib.parse import urlencode
    from urllib.request import urlopen

    base = url.rstrip("/") + "/api/search?"

    def run(q: str) -> Result:
        try:
            with urlopen(base + urlencode({"q": q}), timeout=30) as resp:
                res = json.loads(resp.read())
        except HTTPError as exc:  # a 400 for a query the API rejects counts as no results
            if exc.code >= 500:
                raise
            return [], None
        return [[h["id"], *(h.get("duplicate_ids") or [])] for h in res["hits"][:K]], res.get("suggestion")
    return run


def peer(name: str, work: Path) -> Callable[[str], Result]:
    from peers import Fts5, NaiveWhoosh

    paths = peer_paths(work)
    if name == "naive":
        engine = NaiveWhoosh(str(paths["naive"]))
        return lambda q: ([[i] for i in engine.top_ids(q, K)], None)
    fts = Fts5(str(paths["fts"]))
    mode = "or" if name == "fts-or" else "and"
    return lambda q: ([[i] for i in fts.top_ids(q, K, mode)], None)


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("system", choices=SYSTEMS)
    ap.add_argument("queries")
    ap.add_argument("out")
    ap.add_argument("--index-dir")
    ap.add_argument("--work", default=".")
    ap.add_argument("--http")
    ap.add_argument("--xapian-shards")
    args = ap.parse_args(argv)
    if args.system == "ours":
        run = ours(args.index_dir)
    elif args.system == "xapian":
        run = xapian_shards(args.xapian_shards, args.index_dir)
    elif args.system == "ours-http":
        run = ours_http(args.http)
    else:
        run = peer(args.system, Path(args.work))
    queries: list[str] = json.loads(Path(args.queries).read_text(encoding="utf-8"))
    for q in ("中国", "经济 发展"):  # warm up: dictionaries, column arrays, first searcher
        run(q)
    hits: list[Any] = []
    suggestions: list[Any] = []
    errors = 0

    def safe(q: str) -> Result:
        nonlocal errors
        try:
            return run(q)
        except Exception as exc:  # one broken query must not lose the run; it scores as no results
            print(f"# {args.system}: {q!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
            errors += 1
            return [], None

    t, c = time.perf_counter(), time.process_time()
    for q in queries:
        h, s = safe(q)
        hits.append(h)
        suggestions.append(s)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    # What a reader gets by clicking the did-you-mean link (a diagnostic, timed apart).
    followed = [safe(s["q"])[0] if isinstance(s, dict) and s.get("q") else h for h, s in zip(hits, suggestions)]
    out = {"system": args.system, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "hits": hits,
           "suggestions": suggestions, "followed": followed, "errors": errors}
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
