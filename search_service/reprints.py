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
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from search_service import deadline
from search_service.index import Snapshot

REPRINT_WINDOW_DAYS = 7
MIN_JACCARD = 0.8
MAX_HAMMING = 16
SHINGLE = 5


_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount(values: np.ndarray) -> np.ndarray:
    """Set bits per uint64 (np.bitwise_count needs numpy 2; setup.cfg allows 1.26)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    as_bytes = np.ascontiguousarray(values, dtype=np.uint64).view(np.uint8).reshape(-1, 8)
    return _BYTE_BITS[as_bytes].sum(axis=1, dtype=np.uint8)


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


def find_edges(docs: Iterable[int], hashes: Sequence[int | None], ts: Sequence[int],
               texts: Sequence[str], identical: bool = True) -> list[tuple[int, int]]:
    """Pairs of articles that are the same story (the rule of this module's docstring).

    The rule is pairwise, so the pairs of unchanged articles stay right across commits: a new
    snapshot keeps them and only pairs the new articles (see compute_groups)."""
    edges: list[tuple[int, int]] = []
    docs = [d for d in docs if texts[d]]
    # 1. Identical bodies, any dates. Bucketed by the text itself, not by SimHash: bodies that
    #    differ only in spacing ("iPhone 15" / "iPhone15") are equal here but tokenize differently.
    first_with: dict[str, int] = {}
    for d in docs if identical else ():
        first = first_with.setdefault(texts[d], d)
        if first != d:
            edges.append((first, d))
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

    ordered_hashes = np.array([hashes[d] for d in order], dtype=np.uint64)
    for i, a in enumerate(order):
        if i % 512 == 0 and deadline.expired():  # a request's budget (none in the warm-up)
            deadline.mark_timed_out()
            raise deadline.Partial(edges)
        hi = bisect.bisect_right(times, times[i] + window, lo=i + 1)
        if hi <= i + 1:
            continue
        # Popcounts of the whole window at once (a Python loop here was 60% of a regrouping).
        near = np.flatnonzero(popcount(ordered_hashes[i + 1:hi] ^ ordered_hashes[i]) <= MAX_HAMMING)
        for j in near.tolist():
            b = order[i + 1 + j]
            if jaccard(sh(a), sh(b)) >= MIN_JACCARD:
                edges.append((a, b))
    return edges


def groups_of(edges: Iterable[tuple[int, int]], ts: Sequence[int]) -> dict[int, int]:
    """docnum -> group id (the group's earliest article) from same-story pairs (transitive)."""
    uf = _UnionFind()
    for a, b in edges:
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


def find_groups(docs: Iterable[int], hashes: Sequence[int | None], ts: Sequence[int],
                texts: Sequence[str]) -> dict[int, int]:
    """docnum -> group id (the group's earliest article) for articles that have reprints.

    Plain data in (per-docnum SimHash, timestamp (-1 = unknown), whitespace-free folded body),
    so the rule can be measured outside an index.
    """
    return groups_of(find_edges(docs, hashes, ts, texts), ts)


SegKey = tuple[str, int]  # (segment id, local docnum): names an article across commits
Buckets = dict[int, list[int]]  # hash of the whitespace-free folded body -> local docnums


def _window_edges_of_new(new: list[int], live: frozenset[int], hashes: Sequence[int | None], ts: Sequence[int],
                         text: Callable[[int], str]) -> list[tuple[int, int]]:
    """Date-window pairs (rule 2) that involve at least one of the `new` articles."""
    ts_arr = np.asarray(ts, dtype=np.int64)
    hash_arr = np.array([h if h is not None else 0 for h in hashes], dtype=np.uint64)
    window = REPRINT_WINDOW_DAYS * 86400
    new_set = set(new)
    edges: list[tuple[int, int]] = []
    for a in new:
        if not text(a) or ts[a] < 0 or hashes[a] is None:
            continue
        near = np.flatnonzero((np.abs(ts_arr - ts[a]) <= window) & (ts_arr >= 0)
                              & (popcount(hash_arr ^ hash_arr[a]) <= MAX_HAMMING))
        for b in near.tolist():
            # A pair of two new articles is found from its smaller docnum only.
            if b == a or b not in live or hashes[b] is None or (b in new_set and b < a) or not text(b):
                continue
            if jaccard(shingles(text(a)), shingles(text(b))) >= MIN_JACCARD:
                edges.append((a, b))
    return edges


def _held_twice(h: int, buckets: dict[str, Buckets]) -> bool:
    n = 0
    for b in buckets.values():
        n += len(b.get(h, ()))
        if n > 1:
            return True
    return False


def _patch_buckets(old: dict[str, Buckets], old_multi: frozenset[int], segments: frozenset[str],
                   added: dict[str, Buckets]) -> tuple[dict[str, Buckets], frozenset[int]]:
    """The previous snapshot's body-hash buckets with its dropped segments (merged away) removed
    and the new segments' added, and the hashes held by two or more articles: the cost is the
    changed segments', never the archive's (a commit must not regroup 10^6 bodies)."""
    buckets = {seg: b for seg, b in old.items() if seg in segments}
    buckets.update(added)
    dropped = {h for seg, b in old.items() if seg not in segments for h in b.keys() & old_multi}
    multi = set(old_multi - dropped)  # a dropped hash is re-added below when still held twice
    for h in [*dropped, *(h for b in added.values() for h in b)]:
        if h not in multi and _held_twice(h, buckets):
            multi.add(h)
    return buckets, frozenset(multi)


def compute_groups(snap: Snapshot) -> dict[int, int]:
    """docnum -> group id (the group's earliest article) for docs that have reprints.

    After a commit of the same generation the previous snapshot's state is carried over: the
    date-window pairs of articles in segments it also had (deleted ones drop out) and the body
    hash buckets of its segments; only the articles of new segments are compared, instead of
    regrouping the whole archive. Identical bodies are grouped from the buckets held twice
    (a bucket's members are compared, so a hash collision cannot join two stories)."""
    hashes = snap._column("simhash")
    folded = snap.folded
    live = snap.live_docs
    layout = [(leaf.segment().segment_id(), offset, leaf.doc_count_all()) for leaf, offset in snap.leaves()]
    segments = frozenset(seg for seg, _o, _c in layout)
    offsets = {seg: offset for seg, offset, _c in layout}
    texts: dict[int, str] = {}

    def text(d: int) -> str:
        if d not in texts:
            texts[d] = body_text(folded[d]) if folded[d] else ""
        return texts[d]

    def doc(key: SegKey) -> int | None:
        offset = offsets.get(key[0])
        return None if offset is None else offset + key[1]

    def key(d: int) -> SegKey:
        seg, offset, _count = max((row for row in layout if row[1] <= d), key=lambda row: row[1])
        return seg, d - offset

    prev = snap.carried("reprint_state")
    old_buckets: dict[str, Buckets] = {}
    old_multi: frozenset[int] = frozenset()
    if prev is None:
        all_texts = [body_text(t) if t else "" for t in folded]
        texts.update(enumerate(all_texts))
        try:
            window_edges = find_edges(live, hashes, snap.ts, all_texts, identical=False)
        except deadline.Partial as partial:  # out of time: these groups for this request only
            raise deadline.Partial(groups_of(partial.value, snap.ts)) from None
    else:
        old_edges, old_buckets, old_multi = prev
        window_edges = [(a, b) for a, b in ((doc(x), doc(y)) for x, y in old_edges)
                        if a is not None and b is not None and a in live and b in live]
        new = sorted(d for seg, offset, count in layout if seg not in old_buckets
                     for d in range(offset, offset + count) if d in live)
        window_edges += _window_edges_of_new(new, live, hashes, snap.ts, text)
    added: dict[str, Buckets] = {}
    for seg, offset, count in layout:
        if seg not in old_buckets:
            b: Buckets = defaultdict(list)
            for d in range(offset, offset + count):
                if d in live and text(d):
                    b[hash(text(d))].append(d - offset)
            added[seg] = dict(b)
    buckets, multi = _patch_buckets(old_buckets, old_multi, segments, added)
    # Rule 1, identical bodies, from the buckets held by two or more articles.
    edges = list(window_edges)
    for h in multi:
        members = [offsets[seg] + local for seg, b in buckets.items() for local in b.get(h, ())]
        first_with: dict[str, int] = {}
        for d in members:
            if d in live:
                first = first_with.setdefault(text(d), d)
                if first != d:
                    edges.append((first, d))
    snap.extra["reprint_state"] = ([(key(a), key(b)) for a, b in window_edges], buckets, multi)
    return groups_of(edges, snap.ts)


def groups(snap: Snapshot) -> dict[int, int]:
    try:
        return snap.cached("reprint_groups", lambda: compute_groups(snap))
    except deadline.Partial as partial:  # fewer reprints folded, the answer flagged timed_out
        return partial.value


def reprints_of(snap: Snapshot, docnum: int) -> list[int]:
    g = groups(snap)
    if docnum not in g:
        return []
    return sorted(d for d, grp in g.items() if grp == g[docnum] and d != docnum)
