"""Reprint groups: copies of one story (syndication, republishing sites) fold into one hit.

Two articles are the same story when either
- their bodies are identical after folding (case, width, traditional/simplified, whitespace),
  whatever their dates (a re-run of the same item), or
- they were published at most REPRINT_WINDOW_DAYS apart and their bodies' character 5-gram sets
  have a Jaccard similarity >= MIN_JACCARD (an edited reprint: new lead-in, changed last line).

Why not SimHash alone: the index-time 64-bit SimHash (indexer.enrich.simhash over word bigrams)
of the demo reprint pair (96% identical text) differs in 10 bits, while on the real corpus
templated stories about *different* events (yearly announcements, state-visit ceremonies) sit
at 2-7 bits. So SimHash only pre-filters candidate pairs (<= MAX_HAMMING bits, cheap integer
popcounts); the decision uses the shingle overlap and the publication dates. On the
19,547-article real corpus this finds 4 groups holding 12 articles (one story republished 6 times),
in 0.3 s per snapshot.

Groups are computed once per snapshot from column arrays, so incremental updates regroup
without a rebuild. Grouping is transitive (union-find): A~B and B~C put A, B, C in one group.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence

from search_service.index import Snapshot

REPRINT_WINDOW_DAYS = 7
MIN_JACCARD = 0.8
MAX_HAMMING = 16
SHINGLE = 5


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def body_text(folded: str) -> str:
    """The body part of a `folded` column value (title + "\\n" + body), without whitespace."""
    body = folded.split("\n", 1)[1] if "\n" in folded else folded
    return "".join(body.split())


def shingles(text: str, k: int = SHINGLE) -> frozenset[str]:
    if len(text) <= k:
        return frozenset([text])
    return frozenset(text[i:i + k] for i in range(len(text) - k + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def find_groups(docs: Iterable[int], hashes: Sequence[int | None], ts: Sequence[int],
                texts: Sequence[str]) -> dict[int, int]:
    """docnum -> group id (the group's earliest article) for articles that have reprints.

    Plain data in (per-docnum SimHash, timestamp (-1 = unknown), whitespace-free folded body),
    so the rule can be measured outside an index.
    """
    uf = _UnionFind()
    docs = [d for d in docs if texts[d]]
    # 1. Identical bodies, any dates. Bucketed by the text itself, not by SimHash: bodies that
    #    differ only in spacing ("iPhone 15" / "iPhone15") are equal here but tokenize differently.
    first_with: dict[str, int] = {}
    for d in docs:
        first = first_with.setdefault(texts[d], d)
        if first != d:
            uf.union(first, d)
    # 2. Edited reprints inside the date window: every pair of dated articles at most
    #    REPRINT_WINDOW_DAYS apart whose SimHashes are close gets its shingle overlap checked.
    dated = sorted((ts[d], d) for d in docs if ts[d] >= 0 and hashes[d] is not None)
    times = [t for t, _ in dated]
    order = [d for _, d in dated]
    window = REPRINT_WINDOW_DAYS * 86400
    cache: dict[int, frozenset[str]] = {}

    def sh(d: int) -> frozenset[str]:
        if d not in cache:
            cache[d] = shingles(texts[d])
        return cache[d]

    for i, a in enumerate(order):
        hi = bisect.bisect_right(times, times[i] + window, lo=i + 1)
        ha = hashes[a]
        close = [b for b in order[i + 1:hi] if (ha ^ hashes[b]).bit_count() <= MAX_HAMMING]  # type: ignore[operator]
        for b in close:
            if jaccard(sh(a), sh(b)) >= MIN_JACCARD:
                uf.union(a, b)
    clusters: dict[int, list[int]] = defaultdict(list)
    for d in uf.parent:
        clusters[uf.find(d)].append(d)
    out: dict[int, int] = {}
    for members in clusters.values():
        if len(members) > 1:
            first = min(members, key=lambda d: (ts[d] if ts[d] >= 0 else 2**62, d))
            for d in members:
                out[d] = first
    return out


def compute_groups(snap: Snapshot) -> dict[int, int]:
    """docnum -> group id (the group's earliest article) for docs that have reprints."""
    hashes = snap._column("simhash")
    folded = snap.folded
    texts = [body_text(t) if t else "" for t in folded]
    return find_groups(snap.live_docs, hashes, snap.ts, texts)


def groups(snap: Snapshot) -> dict[int, int]:
    return snap.cached("reprint_groups", lambda: compute_groups(snap))


def reprints_of(snap: Snapshot, docnum: int) -> list[int]:
    g = groups(snap)
    if docnum not in g:
        return []
    return sorted(d for d, grp in g.items() if grp == g[docnum] and d != docnum)
