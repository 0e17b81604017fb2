"""BM25F ranking over posting arrays, vectorised with numpy.

Whoosh's collector scores matches one Python call at a time (~25 us per match measured on the
real corpus, 100-500 ms for frequent words). Here each term's postings are read once per snapshot
block by block into arrays (doc numbers, term frequencies) and scored for all documents at once.
Matching stays exact (search_service.match); this module only orders the matched set.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from indexer.schema import TITLE_BOOST
from search_service import deadline
from search_service.index import Snapshot

K1 = 1.2
B = 0.75
FIELD_BOOST = {"title": TITLE_BOOST, "body": 1.0}
# Articles holding a multi-word query as one contiguous string: score x CONTIGUOUS_BONUS.
CONTIGUOUS_BONUS = 2.0
# Freshness: x (1 + FRESHNESS_WEIGHT * 0.5 ** (age / half-life)), age from the newest article.
FRESHNESS_WEIGHT = 0.15
FRESHNESS_HALF_LIFE_DAYS = 365.0

_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_TF = np.zeros(0, dtype=np.float32)


def _leaf_postings(leaf: Any, fieldname: str, word: str) -> tuple[list[int], list[float]]:
    ids: list[int] = []
    tfs: list[float] = []
    if (fieldname, word) not in leaf:
        return ids, tfs
    m = leaf.postings(fieldname, word)
    # Unwrap a deletion filter: deleted documents are removed by intersecting with live docs.
    m = getattr(m, "child", m)
    if hasattr(m, "_read_ids") and hasattr(m, "_next_block"):
        while m.is_active():
            m._read_ids()
            m._read_weights()
            ids.extend(m._ids[m._i:])
            tfs.extend(m._weights[m._i:])
            m._next_block()
    else:  # any other matcher: the generic (slower) protocol
        while m.is_active():
            ids.append(m.id())
            tfs.append(m.weight())
            m.next()
    return ids, tfs


def postings(snap: Snapshot, fieldname: str, word: str) -> tuple[np.ndarray, np.ndarray]:
    """(global doc numbers, term frequencies) of one term, cached per snapshot."""
    def make() -> tuple[np.ndarray, np.ndarray]:
        reader = snap.searcher().reader()
        leaves = reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]
        all_ids: list[np.ndarray] = []
        all_tfs: list[np.ndarray] = []
        for leaf, offset in leaves:
            ids, tfs = _leaf_postings(leaf, fieldname, word)
            if ids:
                all_ids.append(np.asarray(ids, dtype=np.int64) + offset)
                all_tfs.append(np.asarray(tfs, dtype=np.float32))
        if not all_ids:
            return _EMPTY_IDS, _EMPTY_TF
        return np.concatenate(all_ids), np.concatenate(all_tfs)
    return snap.term_docs.get_or(("postings", fieldname, word), make)


def field_lengths(snap: Snapshot, fieldname: str) -> np.ndarray:
    def make() -> np.ndarray:
        return np.asarray(snap.doc_lengths(fieldname), dtype=np.float32)  # per segment, see index.py
    return snap.cached(("lengths", fieldname), make)


def freshness(snap: Snapshot) -> np.ndarray:
    def make() -> np.ndarray:
        ts = ts_array(snap)
        age_days = np.maximum(0.0, (snap.newest_ts - ts) / 86400.0)
        fresh = 1.0 + FRESHNESS_WEIGHT * np.power(0.5, age_days / FRESHNESS_HALF_LIFE_DAYS)
        return np.where(ts >= 0, fresh, 1.0)
    return snap.cached("freshness", make)


def ts_array(snap: Snapshot) -> np.ndarray:
    return snap.cached("ts_array", lambda: np.asarray(snap.ts, dtype=np.int64))


def bm25(snap: Snapshot, terms: list[tuple[str, str]]) -> np.ndarray:
    """Dense score array over all doc numbers: the sum over terms and fields of boosted BM25."""
    n_all = len(snap.ts)
    scores = np.zeros(n_all, dtype=np.float64)
    n_docs = max(1, len(snap.live_docs))
    for fieldname, word in dict.fromkeys(terms):
        ids, tfs = postings(snap, fieldname, word)
        if not len(ids):
            continue
        df = len(ids)
        idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        lengths = field_lengths(snap, fieldname)
        avg = float(lengths.mean()) or 1.0
        norm = K1 * (1.0 - B + B * lengths[ids] / avg)
        scores[ids] += FIELD_BOOST.get(fieldname, 1.0) * idf * (tfs * (K1 + 1.0)) / (tfs + norm)
    return scores


def substring_scores(snap: Snapshot, arr: np.ndarray, terms: list[tuple[str, str]]) -> np.ndarray:
    """BM25 for query strings the index holds no postings for (a single character such as 银, a
    string inside longer words): occurrences counted in the folded title / body of `arr` only, so
    such queries still rank title matches and repeated mentions first instead of all scoring 0."""
    from search_service.match import folded_titles, substring_docs

    texts = snap.folded
    titles = folded_titles(snap)
    n_docs = max(1, len(snap.live_docs))
    docs = arr.tolist()
    out = np.zeros(len(arr), dtype=np.float64)
    for fieldname, word in terms:
        if fieldname not in ("title", "body") or not word:
            continue
        title_only = fieldname == "title"
        df = max(1, len(substring_docs(snap, word, title_only)))
        idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        # folded = title "\n" body, and a needle never holds "\n": body count = whole - title count
        # (partition() copied every body, as costly as the count itself).
        if title_only:
            counts = (titles[d].count(word) for d in docs)
        else:
            counts = (texts[d].count(word) - titles[d].count(word) for d in docs)
        tfs = np.fromiter(counts, dtype=np.float64, count=len(docs))
        lengths = field_lengths(snap, fieldname)
        avg = float(lengths.mean()) or 1.0
        norm = K1 * (1.0 - B + B * lengths[arr] / avg)
        out += FIELD_BOOST.get(fieldname, 1.0) * idf * (tfs * (K1 + 1.0)) / (tfs + norm)
    return out


def order(snap: Snapshot, docs: frozenset[int], sort: str, terms: list[tuple[str, str]],
          contiguous: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """Doc numbers of `docs` in result order, and their scores (None for date sorts)."""
    arr = np.fromiter(docs, dtype=np.int64, count=len(docs))
    ts = ts_array(snap)[arr]
    if sort in ("newest", "oldest"):
        # Undated articles (ts -1) go last in both directions: they are not "the oldest".
        keys = (arr, -ts) if sort == "newest" else (arr, np.where(ts < 0, np.iinfo(np.int64).max, ts))
        return arr[np.lexsort(keys)], None
    scores = bm25(snap, terms)[arr] if terms else np.zeros(len(arr))
    unindexed = [(f, w) for f, w in dict.fromkeys(terms) if not len(postings(snap, f, w)[0])]
    if unindexed and len(arr):
        scores = scores + substring_scores(snap, arr, unindexed)
    if contiguous and len(arr):
        texts = snap.folded
        # Under a time limit (deadline.py) documents past the deadline get no bonus: the ranking
        # is then approximate, and the search says so ("timed_out").
        hits, _complete = deadline.scan(arr.tolist(), lambda d: any(n in texts[d] for n in contiguous))
        bonus = np.ones(len(arr), dtype=np.float64)
        if hits:
            bonus[np.isin(arr, np.asarray(hits, dtype=np.int64))] = CONTIGUOUS_BONUS
        scores = scores * bonus
    scores = scores * freshness(snap)[arr]
    idx = np.lexsort((arr, -ts, -scores))
    return arr[idx], scores[idx]
