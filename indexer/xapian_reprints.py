"""Reprint collapse keys for the Xapian engine, computed by the writer over the whole archive.

The rule is the one search_service/reprints.py applies per Whoosh snapshot (the indexer never
imports the service, so it is restated here, and tests/test_xapian_store.py checks that both give
the same groups): two articles are one story when their folded, whitespace-free bodies are
identical (any dates), or when they were published at most REPRINT_WINDOW_DAYS apart, their
SimHashes differ in at most MAX_HAMMING bits and their bodies' character 5-gram sets have a
Jaccard similarity >= MIN_JACCARD. Grouping is transitive; a group's key is the id of its
earliest article (undated ones last, then input order).

Texts are fetched only for the candidate pairs (`text_of`), so a rebuild keeps four numbers per
article in memory, not the archive's bodies.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

REPRINT_WINDOW_DAYS = 7
MIN_JACCARD = 0.8
MAX_HAMMING = 16
SHINGLE = 5


@dataclass(frozen=True)
class Entry:
    """One article as the grouping sees it (`digest`: body hash, "" for an empty body)."""

    id: str
    ts: int
    simhash: int
    digest: str


def popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    as_bytes = np.ascontiguousarray(values, dtype=np.uint64).view(np.uint8).reshape(-1, 8)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return table[as_bytes].sum(axis=1, dtype=np.uint8)


def shingles(text: str, k: int = SHINGLE) -> frozenset[str]:
    if len(text) <= k:
        return frozenset([text])
    return frozenset(text[i:i + k] for i in range(len(text) - k + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def similar(a: str, b: str) -> bool:
    return jaccard(shingles(a), shingles(b)) >= MIN_JACCARD


def near(ts_a: int, hash_a: int, ts_b: int, hash_b: int) -> bool:
    """The cheap pre-conditions of rule 2 (both dated, inside the window, close SimHashes)."""
    return (ts_a >= 0 and ts_b >= 0 and abs(ts_a - ts_b) <= REPRINT_WINDOW_DAYS * 86400
            and bin(hash_a ^ hash_b).count("1") <= MAX_HAMMING)


def edges(entries: Sequence[Entry], text_of: Callable[[int], str]) -> list[tuple[int, int]]:
    """Same-story pairs (indexes into `entries`)."""
    out: list[tuple[int, int]] = []
    first_with: dict[str, int] = {}
    for i, e in enumerate(entries):
        if e.digest:
            first = first_with.setdefault(e.digest, i)
            if first != i:
                out.append((first, i))
    dated = sorted((e.ts, i) for i, e in enumerate(entries) if e.ts >= 0 and e.digest)
    times = [t for t, _ in dated]
    order = [i for _, i in dated]
    hashes = np.array([entries[i].simhash for i in order], dtype=np.uint64)
    window = REPRINT_WINDOW_DAYS * 86400
    cache: dict[int, frozenset[str]] = {}

    def sh(i: int) -> frozenset[str]:
        if i not in cache:
            cache[i] = shingles(text_of(i))
        return cache[i]

    for k, a in enumerate(order):
        hi = bisect.bisect_right(times, times[k] + window, lo=k + 1)
        if hi <= k + 1:
            continue
        close = np.flatnonzero(popcount(hashes[k + 1:hi] ^ hashes[k]) <= MAX_HAMMING)
        for j in close.tolist():
            b = order[k + 1 + j]
            if jaccard(sh(a), sh(b)) >= MIN_JACCARD:
                out.append((a, b))
    return out


def group_keys(entries: Sequence[Entry], text_of: Callable[[int], str]) -> dict[int, str]:
    """index -> collapse key (the id of the group's earliest article), for articles with reprints."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges(entries, text_of):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in list(parent):
        clusters[find(i)].append(i)
    keys: dict[int, str] = {}
    for members in clusters.values():
        if len(members) > 1:
            first = min(members, key=lambda i: (entries[i].ts if entries[i].ts >= 0 else 2**62, i))
            for i in members:
                keys[i] = entries[first].id
    return keys
