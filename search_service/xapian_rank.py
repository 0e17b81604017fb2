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

from indexer import xapian_doc as xd
from search_service import scoring
from search_service.match import Plan
from search_service.xapian_pool import XapianState
from search_service import xapian_query as xq

K1 = scoring.K1
FIELD_WEIGHT = scoring.FIELD_WEIGHT
FIELD_B = scoring.FIELD_B


def collection(st: XapianState) -> tuple[int, float]:
    """(documents, average document length) for BM25F's N and avgdl: Xapian's, less the shards'
    filler documents (indexer/xapian_doc.py, FILLER_TERM: one per shard, length 0)."""
    def make() -> tuple[int, float]:
        n = max(1, st.db.get_doccount() - st.db.get_termfreq(xd.FILLER_TERM))
        return n, (st.db.get_total_length() / n) or 1.0
    return st.cached("collection", make)


def bm25f_array(st: XapianState, terms: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """(score, held) per docid (index = docid): scoring.bm25f's formula over the terms' postings
    (xapian_query.postings) and document lengths (xapian_query.doc_lengths), the arithmetic
    of scoring.bm25f done over arrays in the same order; `held` marks the articles holding at
    least one of the terms."""
    terms = list(dict.fromkeys(terms))

    def make() -> tuple[np.ndarray, np.ndarray]:
        n_all = st.db.get_lastdocid() + 1
        out = np.zeros(n_all, dtype=np.float64)
        held = np.zeros(n_all, dtype=bool)
        if not terms:
            return out, held
        n_docs, avg = collection(st)
        lengths: np.ndarray | None = None
        for word, fields in scoring.group_terms(terms).items():
            tfn = np.zeros(n_all, dtype=np.float64)
            seen = np.zeros(n_all, dtype=bool)
            for fieldname in fields:
                term = xq.PREFIX[fieldname] + word
                if len(term.encode("utf-8")) > 245:
                    continue
                ids, wdf = xq.postings(st, term)
                if not len(ids):
                    continue
                weight, b = FIELD_WEIGHT.get(fieldname, 1.0), FIELD_B.get(fieldname, scoring.DEFAULT_B)
                if b:
                    lengths = xq.doc_lengths(st) if lengths is None else lengths
                    norm = 1.0 - b + b * lengths[ids] / avg
                    tfn[ids] += weight * wdf / norm
                else:
                    tfn[ids] += weight * wdf / 1.0
                seen[ids] = True
            df = int(np.count_nonzero(seen))
            if not df:
                continue
            w = scoring.idf(n_docs, df)
            t = tfn[seen]
            out[seen] += w * t * (K1 + 1.0) / (K1 + t)
            held |= seen
        return out, held
    return st.sets.get_or(("bm25f", tuple(terms)), make)


def bm25f_scores(st: XapianState, terms: list[tuple[str, str]]) -> dict[int, float]:
    """docid -> BM25F score (scoring.bm25f's formula) of every article holding one of the terms."""
    scores, held = bm25f_array(st, terms)
    ids = np.flatnonzero(held)
    return dict(zip(ids.tolist(), scores[ids].tolist()))


def freshness(st: XapianState, ts: np.ndarray) -> np.ndarray:
    newest = st.cached("newest_ts", lambda: int(xq.ts_array(st).max(initial=-1)))
    age_days = np.maximum(0.0, (newest - ts) / 86400.0)
    fresh = 1.0 + scoring.FRESHNESS_WEIGHT * np.power(0.5, age_days / scoring.FRESHNESS_HALF_LIFE_DAYS)
    return np.where(ts >= 0, fresh, 1.0)


def keyword_ranks(st: XapianState, docid: int) -> dict[str, int]:
    """An article's stored keywords -> position (scoring.keyword_ranks), kept per state."""
    return st.keyword_ranks.get_or(
        docid, lambda: {w: i for i, w in enumerate((xq.stored(st, docid).get("keywords") or "").split())})


def _proximity(st: XapianState, ids: list[int], words: list[str]) -> np.ndarray:
    out = np.ones(len(ids), dtype=np.float64)
    words = [w for w in dict.fromkeys(words) if w]
    if len(words) < 2:
        return out
    for k, d in enumerate(ids):
        found = scoring.smallest_gap(xq.folded_text(st, d), words)
        if found is not None:
            gap, n = found
            share = (n - 1) / (len(words) - 1)
            out[k] = 1.0 + scoring.PROXIMITY_WEIGHT * share / (1.0 + gap / scoring.PROXIMITY_SCALE)
    return out


def _aboutness(st: XapianState, ids: list[int], words: list[str]) -> np.ndarray:
    out = np.ones(len(ids), dtype=np.float64)
    ws = list(dict.fromkeys(words))
    for k, d in enumerate(ids):
        ranks = keyword_ranks(st, d)
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
    weights, _held = bm25f_array(st, p.terms)
    scores = weights[arr] if len(arr) else np.zeros(0, dtype=np.float64)
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
