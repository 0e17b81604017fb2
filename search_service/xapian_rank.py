"""Relevance and date order on Xapian shards.

    score(d) = coverage rank first (relaxed queries only), then
               BM25F(d) x proximity(d) x aboutness(d) x year(d) x freshness(d)

BM25F is scoring.bm25f's formula (K1, field weights and b of scoring.py) computed from the
postings of the combined shards (term statistics merged, so the score of an article does not
depend on which shard holds it): per query word, tf' = sum over its fields (``T``/``B``/``K``/
``A``/``S`` + word) of W_f * wdf / (1 - b_f + b_f * doclen / avglen), saturated once, times the
idf over the articles holding the word in any field. Xapian keeps one length per document (the
sum of the word terms' wdf over all fields; per-character terms carry wdf 0), so every field is
normalised by that length instead of its own (measured on the dev split: docs/relevance.md).
Proximity, aboutness, year and freshness are scoring.py's factors, computed from the stored
text and keywords of the best PROXIMITY_TOP / ABOUT_TOP articles. Ties: newer first, then docid.
Date sorts: undated articles last in both directions (as scoring.order).
"""
from __future__ import annotations

import numpy as np

from indexer.analysis import fold_text
from search_service import scoring
from search_service.match import Plan
from search_service.xapian_pool import XapianState
from search_service import xapian_query as xq

K1 = scoring.K1
FIELD_WEIGHT = scoring.FIELD_WEIGHT
FIELD_B = scoring.FIELD_B


def bm25f_scores(st: XapianState, terms: list[tuple[str, str]]) -> dict[int, float]:
    """docid -> BM25F score (scoring.bm25f's formula) of every article holding one of the terms."""
    terms = list(dict.fromkeys(terms))
    if not terms:
        return {}

    def make() -> dict[int, float]:
        n_docs = max(1, st.db.get_doccount())
        avg = st.db.get_avlength() or 1.0
        out: dict[int, float] = {}
        for word, fields in scoring.group_terms(terms).items():
            tfn: dict[int, float] = {}
            for fieldname in fields:
                term = xq.PREFIX[fieldname] + word
                if len(term.encode("utf-8")) > 245:
                    continue
                weight, b = FIELD_WEIGHT.get(fieldname, 1.0), FIELD_B.get(fieldname, scoring.DEFAULT_B)
                for item in st.db.postlist(term):
                    norm = 1.0 - b + b * item.doclength / avg if b else 1.0
                    tfn[item.docid] = tfn.get(item.docid, 0.0) + weight * item.wdf / norm
            if not tfn:
                continue
            w = scoring.idf(n_docs, len(tfn))
            for d, t in tfn.items():
                out[d] = out.get(d, 0.0) + w * t * (K1 + 1.0) / (K1 + t)
        return out
    return st.sets.get_or(("bm25f", tuple(terms)), make)


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
    weights = bm25f_scores(st, p.terms)
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
