"""How often spelling correction (search_service/spelling.py) fires, rightly and wrongly.

Query sets are drawn from the index itself with a fixed seed (nothing is stored in the repo):

    headline   an article's title, as typed                        (no typo: any correction is false)
    keywords   2-3 of an article's keywords, space-separated        (no typo)
    rare       a title/keyword word found in only 1-2 articles      (no typo: real rare words)
    typo       a keywords query with one character of one keyword replaced by another character
               of the same toneless pinyin (a homophone typo); the article is the target

For each set: how often `corrected` is set; for typos also how often the correction restores the
query exactly, and the target article's MRR@10 / success@10 as searched (no click) and with
correction turned off (correct=false).

    python bench/spelling.py --index INDEX_DIR [--n 200] [--seed 13] [--ratio 20]

INDEX_DIR is an index of ../shared/corpus/news.jsonl (news-search index ...); the index is only read.
"""
from __future__ import annotations

import argparse
import random
import re
import time
from collections import defaultdict
from typing import Any

from indexer.analysis import fold_text, is_han
from search_service import core, spelling, suggest
from search_service.index import SearchIndex
from search_service.params import parse_search_params

_HAN = re.compile(r"^[\u4e00-\u9fff]+$")


def _search(ix: SearchIndex, q: str, **extra: str) -> dict[str, Any]:
    return core.search(ix, parse_search_params({"q": [q], **{k: [v] for k, v in extra.items()}}))


def _rank(result: dict[str, Any], target: str) -> int | None:
    for i, hit in enumerate(result["hits"], 1):
        if hit["id"] == target or target in hit.get("duplicate_ids", []):
            return i
    return None


def query_sets(ix: SearchIndex, n: int, seed: int) -> dict[str, list[tuple[str, str | None, str | None]]]:
    """{set: [(query, target article id, query without the typo)]}."""
    rng = random.Random(seed)
    snap = ix.snapshot()
    docs = sorted(snap.live_docs)
    rng.shuffle(docs)
    data = suggest.suggest_data(snap)
    by_sound: dict[str, list[str]] = defaultdict(list)   # toneless syllable -> common characters
    weight: dict[str, float] = defaultdict(float)
    for word, w in data.vocab.items():
        if _HAN.match(word):
            for ch in word:
                weight[ch] += w
    for ch, w in sorted(weight.items(), key=lambda cw: -cw[1])[:3000]:
        by_sound[suggest.syllables(ch)[0]].append(ch)
    sets: dict[str, list[tuple[str, str | None, str | None]]] = {"headline": [], "keywords": [], "typo": [], "rare": []}
    for d in docs:
        fields = snap.stored(d)
        title, kws = (fields.get("title") or "").strip(), (fields.get("keywords") or "").split()
        kws = [k for k in kws if _HAN.match(k) and len(k) >= 2][:3]
        if len(sets["headline"]) < n and title:
            sets["headline"].append((title[:200], fields["id"], None))
        if len(kws) >= 2 and len(sets["keywords"]) < n:
            sets["keywords"].append((" ".join(kws), fields["id"], None))
        if len(kws) >= 2 and len(sets["typo"]) < n:
            k = rng.randrange(len(kws))
            word = kws[k]
            pos = rng.randrange(len(word))
            sound = suggest.syllables(word[pos])[0]
            others = [c for c in by_sound.get(sound, []) if c != word[pos]]
            if others:
                typo = word[:pos] + rng.choice(others[:8]) + word[pos + 1:]
                kws2 = kws[:k] + [typo] + kws[k + 1:]
                sets["typo"].append((" ".join(kws2), fields["id"], " ".join(kws)))
        if all(len(v) >= n for k, v in sets.items() if k != "rare"):
            break
    rare = [w for w, wt in data.vocab.items() if _HAN.match(w) and len(w) >= 2 and wt <= 2
            and all(is_han(c) for c in w)]
    rng.shuffle(rare)
    for w in rare:
        if len(sets["rare"]) >= n:
            break
        if spelling.attested(snap, w) in (1, 2):
            sets["rare"].append((w, None, None))
    return sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--show", type=int, default=5, help="examples of corrections printed per set")
    ap.add_argument("--ratio", type=float, default=spelling.RATIO, help="try another spelling.RATIO")
    args = ap.parse_args()
    spelling.RATIO = args.ratio
    ix = SearchIndex(args.index)
    sets = query_sets(ix, args.n, args.seed)
    print(f"| set | queries | corrected | restored exactly | MRR@10 as searched | MRR@10 correct=false "
          f"| success@10 as searched | search ms (wall / CPU) | rewrite ms (wall / CPU) |")
    print("|---|---|---|---|---|---|---|---|---|")
    examples = []
    for name, queries in sets.items():
        corrected = restored = 0
        mrr = mrr_off = hit10 = 0.0
        wall = cpu = rw_wall = rw_cpu = 0.0
        snap = ix.snapshot()
        for q, target, original in queries:
            w0, c0 = time.perf_counter(), time.process_time()
            spelling._rewrite(snap, q)  # uncached: what deciding costs a new query
            rw_wall += time.perf_counter() - w0
            rw_cpu += time.process_time() - c0
            w0, c0 = time.perf_counter(), time.process_time()
            r = _search(ix, q)
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
            if r["corrected"]:
                corrected += 1
                if len(examples) < args.show * 4 and sum(e[0] == name for e in examples) < args.show:
                    examples.append((name, q, r["corrected"]["to"], r["corrected"]["original_total"], r["total"]))
                if original is not None and r["corrected"]["to"] == fold_text(original):
                    restored += 1
            if target is not None:
                rank = _rank(r, target)
                mrr += 1 / rank if rank else 0
                hit10 += 1 if rank else 0
                if original is not None:
                    off = _rank(_search(ix, q, correct="false"), target)
                    mrr_off += 1 / off if off else 0
        k = max(1, len(queries))
        typo = original is not None if queries else False
        print(f"| {name} | {len(queries)} | {corrected} ({100 * corrected / k:.1f}%) | "
              f"{restored if typo else '-'} | {mrr / k:.3f} | {f'{mrr_off / k:.3f}' if typo else '-'} | "
              f"{hit10 / k:.3f} | {1000 * wall / k:.1f} / {1000 * cpu / k:.1f} | {1000 * rw_wall / k:.1f} / {1000 * rw_cpu / k:.1f} |".replace("| 0.000 | - | 0.000 |",
                                                                                        "| - | - | - |"))
    for name, q, to, o, c in examples:
        print(f"  {name}: {q!r} -> {to!r} ({o} -> {c})")


if __name__ == "__main__":
    main()
