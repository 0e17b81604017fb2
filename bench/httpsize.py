"""Bytes on the wire and server time per encoding for the JSON API, the search page and the feed,
plus the cost of a 304 revalidation (in-process Flask test client: no network).

    python bench/httpsize.py --index-dir INDEX [--repeat 20] [--query 江城 ...]

For each URL: body bytes with identity / gzip / br, and the median wall and CPU time per request
of a cached search (the search result cache is warm after the first request, so the difference
between encodings is the compression itself) and of a revalidation that answers 304.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(client, url: str, headers: dict[str, str], repeat: int) -> tuple[float, float, int]:
    walls, cpus, size = [], [], 0
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        resp = client.get(url, headers=headers)
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - c) * 1000)
        size = len(resp.data)
    return statistics.median(walls), statistics.median(cpus), size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index-dir", required=True)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--query", action="append", default=None)
    args = ap.parse_args()
    from search_service.app import create_app

    app = create_app({"INDEX_DIR": args.index_dir, "QUERY_LOG": False})
    client = app.test_client()
    print(f"{'url':<40} {'encoding':<9} {'bytes':>8} {'wall ms':>8} {'cpu ms':>7}")
    for q in args.query or ["江城", "新能源汽车"]:
        for path in (f"/api/search?q={quote(q)}", f"/search?q={quote(q)}", f"/search.atom?q={quote(q)}"):
            client.get(path)  # warm the result cache
            for enc in ("identity", "gzip", "br"):
                wall, cpu, size = timed(client, path, {"Accept-Encoding": enc}, args.repeat)
                print(f"{path:<40} {enc:<9} {size:>8,} {wall:>8.2f} {cpu:>7.2f}")
            tag = client.get(path).headers.get("ETag", "")
            wall, cpu, size = timed(client, path, {"If-None-Match": tag}, args.repeat)
            print(f"{path:<40} {'304':<9} {size:>8,} {wall:>8.2f} {cpu:>7.2f}")


if __name__ == "__main__":
    main()
