"""Reprint groups: articles whose SimHash fingerprints differ in a few bits are one story.

Fingerprints are computed at index time (indexer.enrich.simhash); the grouping is computed once
per snapshot from the `simhash` column, so incremental updates regroup without a rebuild.
Candidate pairs come from 4 bands of 16 bits (pigeonhole: within 3 bits, one band is equal).
"""
from __future__ import annotations

from collections import defaultdict

from search_service.index import Snapshot

MAX_DISTANCE = 3
_BANDS = 4


def _find(parent: dict[int, int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def compute_groups(snap: Snapshot) -> dict[int, int]:
    """docnum -> group id (the group's earliest article) for docs that have reprints."""
    hashes = snap._column("simhash")
    live = [d for d in snap.live_docs if hashes[d]]
    parent = {d: d for d in live}
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for d in live:
        h = hashes[d]
        for band in range(_BANDS):
            buckets[(band, (h >> (16 * band)) & 0xFFFF)].append(d)
    for members in buckets.values():
        if len(members) < 2 or len(members) > 200:  # huge buckets are template noise, not reprints
            continue
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if bin(hashes[a] ^ hashes[b]).count("1") <= MAX_DISTANCE:
                    ra, rb = _find(parent, a), _find(parent, b)
                    if ra != rb:
                        parent[rb] = ra
    clusters: dict[int, list[int]] = defaultdict(list)
    for d in live:
        clusters[_find(parent, d)].append(d)
    ts = snap.ts
    out: dict[int, int] = {}
    for members in clusters.values():
        if len(members) > 1:
            first = min(members, key=lambda d: (ts[d] if ts[d] >= 0 else 2**62, d))
            for d in members:
                out[d] = first
    return out


def groups(snap: Snapshot) -> dict[int, int]:
    return snap.cached("reprint_groups", lambda: compute_groups(snap))


def reprints_of(snap: Snapshot, docnum: int) -> list[int]:
    g = groups(snap)
    if docnum not in g:
        return []
    return sorted(d for d, grp in g.items() if grp == g[docnum] and d != docnum)
