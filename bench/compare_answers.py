"""Do two indexes of the same corpus answer alike? (e.g. `main`'s rebuild against a branch's.)

    python bench/compare_answers.py INDEX_A INDEX_B [--corpus ../shared/corpus/news.jsonl]
                                    [--queries 200] [--seed 11]

Runs the bench query mix (bench/queries.py: frequent, mid and rare words, two and three words,
quoted strings, single characters, Latin/digits) through the search core on both index
directories, each query plain, newest first, and with a channel + date filter, and compares the
whole answers (hits in order, scores, totals, facets, highlights, reprint groups, suggestions)
as JSON without timings. Prints the number of identical answers and the first differences.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from queries import build_mix, filters_for  # noqa: E402

DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus" / "news.jsonl"


def answers(index: Path, requests: list[dict]) -> list[str]:
    from search_service import core
    from search_service.index import SearchIndex
    from search_service.params import parse_search_params

    si = SearchIndex(index)
    out = []
    for req in requests:
        res = core.search(si, parse_search_params(req))
        res.pop("took_ms", None)
        out.append(json.dumps(res, ensure_ascii=False, sort_keys=True, default=str))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index_a", type=Path)
    ap.add_argument("index_b", type=Path)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    mix = build_mix(args.corpus, args.queries, args.seed)
    filters = filters_for(args.corpus, len(mix), args.seed)
    requests = []
    for item, filt in zip(mix, filters):
        requests.append({"q": [item["q"]]})
        requests.append({"q": [item["q"]], "sort": ["newest"]})
        extra = {"channel": [filt["channel"]]} if filt.get("channel") else {}
        if filt.get("from"):
            extra.update(date_from=[filt["from"]], date_to=[filt["to"]])
        requests.append({"q": [item["q"]], **extra})
    a, b = answers(args.index_a, requests), answers(args.index_b, requests)
    same = sum(x == y for x, y in zip(a, b))
    with_hits = sum('"total": 0,' not in x for x in a)
    print(json.dumps({"requests": len(requests), "identical": same, "with_hits": with_hits}))
    for req, x, y in [(r, x, y) for r, x, y in zip(requests, a, b) if x != y][:5]:
        print("DIFFERENT", json.dumps(req, ensure_ascii=False), x[:300], "|", y[:300])
    sys.exit(0 if same == len(requests) else 1)


if __name__ == "__main__":
    main()
