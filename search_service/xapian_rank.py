"""Relevance and date order on Xapian shards.

    score(d) = coverage rank first (relaxed queries only), then
               BM25(d) x proximity(d) x aboutness(d) x year(d) x freshness(d)

BM25 is Xapian's BM25Weight over the combined shards (term statistics merged, so the score of
an article does not depend on which shard holds it) with K1, B and MIN_NORMLEN below; every
(field, word) of the plan is one term, ``T``/``B``/``K``/``A``/``S`` + word, its weight scaled by
FIELD_SCALE (the title counts as Whoosh's BM25F field weight says). Xapian's document length is
the sum of the word terms' wdf over all fields (per-character terms carry wdf 0), not per field.
Proximity, aboutness, year and freshness are scoring.py's factors, computed from the stored
text and keywords of the best PROXIMITY_TOP / ABOUT_TOP articles. Ties: newer first, then docid.
Date sorts: undated articles last in both directions (as scoring.order).
"""
from __future__ import annotations

import numpy as np
import xapian

from indexer.analysis import fold_text
from search_service import scoring
from search_service.match import Plan
from search_service.xapian_pool import XapianState
from search_service import xapian_query as xq

K1 = 1.2
B = 0.75
MIN_NORMLEN = 0.5
FIELD_SCALE = {"title": 3.0, "body": 1.0, "keywords": 4.0, "author": 1.0, "source": 1.0}


def ranking_query(terms: list[tuple[str, str]]) -> xapian.Query | None:
    parts = []
    for fieldname, word in dict.fromkeys(terms):
        term = xq.PREFIX[fieldname] + word
        if len(term.encode("utf-8")) > 245:
            continue
        parts.append(xapian.Query(xapian.Query.OP_SCALE_WEIGHT, xapian.Query(term), FIELD_SCALE[fieldname]))
    return xapian.Query(xapian.Query.OP_OR, parts) if parts else None


def bm25_scores(st: XapianState, terms: list[tuple[str, str]]) -> dict[int, float]:
    """docid -> BM25 score of every article holding at least one of the terms."""
    q = ranking_query(terms)
    if q is None:
        return {}
    key = ("bm25", str(q))

    def make() -> dict[int, float]:
        enq = xapian.Enquire(st.db)
        enq.set_query(xapian.Query(xapian.Query.OP_FILTER, q, st.gen_query))
        enq.set_weighting_scheme(xapian.BM25Weight(K1, 0, 1, B, MIN_NORMLEN))
        n = max(st.db.get_doccount(), 1)
        return {m.docid: m.weight for m in enq.get_mset(0, n, n)}
    return st.sets.get_or(key, make)


def freshness(st: XapianState, ts: np.ndarray) -> np.ndarray:
    newest = st.cached("newest_ts", lambda: int(xq.ts_array(st).max(initial=-1)))
    age_days = np.maximum(0.0, (newest - ts) / 86400.0)
    fresh = 1.0 + scoring.FRESHNESS_WEIGHT * np.power(0.5, age_days / scoring.FRESHNESS_HALF_LIFE_DAYS)
    return np.where(ts >= 0, fresh, 1.0)


def _proximity(st: XapianState, ids: list[int], words: list[str]) -> np.ndarray:
    out = np.ones(len(ids), dtype=np.float64)
    words = [w for w in dict.fromkeys(words) if w]
    if len(words) < 2:
        return out
    for k, d in enumerate(ids):
        fields = xq.stored(st, d)
        found = scoring.smallest_gap(fold_text(fields.get("title", "") + "\n" + fields.get("body", "")), words)
        if found is not None:
            gap, n = found
            share = (n - 1) / (len(words) - 1)
            out[k] = 1.0 + scoring.PROXIMITY_WEIGHT * share / (1.0 + gap / scoring.PROXIMITY_SCALE)
    return out


def _aboutness(st: XapianState, ids: list[int], words: list[str]) -> np.ndarray:
    out = np.ones(len(ids), dtype=np.float64)
    ws = list(dict.fromkeys(words))
    for k, d in enumerate(ids):
        ranks = {w: i for i, w in enumerate((xq.stored(st, d).get("keywords") or "").split())}
        if ranks:
            got = sum(1.0 - ranks[w] / len(ranks) for w in ws if w in ranks)
            out[k] = 1.0 + scoring.ABOUT_WEIGHT * got / len(ws)
    return out


def order(st: XapianState, p: Plan, docs: frozenset[int], sort: str) -> list[tuple[int, float | None]]:
    arr = np.fromiter(docs, dtype=np.int64, count=len(docs))
    ts = xq.ts_array(st)[arr] if len(arr) else np.zeros(0, dtype=np.int64)
    if sort in ("newest", "oldest"):
        keys = (arr, -ts) if sort == "newest" else (arr, np.where(ts < 0, np.iinfo(np.int64).max, ts))
        return [(d, None) for d in arr[np.lexsort(keys)].tolist()]
    weights = bm25_scores(st, p.terms)
    scores = np.fromiter((weights.get(d, 0.0) for d in arr.tolist()), dtype=np.float64, count=len(arr))
    scores = scores * freshness(st, ts)
    if p.years and len(arr):
        years = np.fromiter((int(xq.text_column(st, 5).get(d, "0")) for d in arr.tolist()), dtype=np.int64,
                            count=len(arr))
        scores = scores * np.where(np.isin(years, list(p.years)), scoring.YEAR_WEIGHT, 1.0)
    cover = np.zeros(len(arr), dtype=np.int64)
    if p.relaxed is not None:
        cover = scoring.coverage(arr, [u.docs for u in p.relaxed.units])
    if len(p.near) > 1 and len(arr):
        top = np.lexsort((arr, -scores, -cover))[:scoring.PROXIMITY_TOP]
        scores[top] = scores[top] * _proximity(st, arr[top].tolist(), p.near)
    if scoring.ABOUT_WEIGHT and p.near and len(arr):
        top = np.lexsort((arr, -scores, -cover))[:scoring.ABOUT_TOP]
        scores[top] = scores[top] * _aboutness(st, arr[top].tolist(), p.near)
    idx = np.lexsort((arr, -ts, -scores, -cover))
    return list(zip(arr[idx].tolist(), scores[idx].tolist()))
