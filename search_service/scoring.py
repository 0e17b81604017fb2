"""BM25F ranking over posting arrays, vectorised with numpy.

Whoosh's collector scores matches one Python call at a time (~25 us per match measured on the
real corpus, 100-500 ms for frequent words). Here each term's postings are read once per snapshot
block by block into arrays (doc numbers, term frequencies) and scored for all documents at once.
Matching stays exact (search_service.match); this module only orders the matched set.
"""
from __future__ import annotations

import math

import numpy as np

from indexer.columns import LENGTH_FIELDS
from search_service import column_arrays, deadline
from search_service.docset import as_array
from search_service.index import LRU, Snapshot
from search_service.match import folded_titles, substring_docs
from search_service.postings import postings
from search_service.ranking import Ranking, top

# One formula (docs/relevance.md):
#   score(d) = coverage rank first (relaxed queries only), then
#              BM25F(d) x proximity(d) x aboutness(d) x freshness(d)
#   BM25F:     sum over query words w of idf(w) * tf'(w,d) * (K1 + 1) / (K1 + tf'(w,d)),
#              tf'(w,d) = sum over fields f of W_f * tf_f(w,d) / (1 - B_f + B_f * len_f(d) / avglen_f)
#              (field-weighted term frequency before saturation: a word in the title and the body
#              saturates once, unlike a per-field BM25 sum), idf over the documents holding w in any
#              field; fields title, body and keywords (the article's TF-IDF words, tf 0 or 1).
#   proximity: 1 + PROXIMITY_WEIGHT * share / (1 + gap / PROXIMITY_SCALE), where gap is the number
#              of characters between the query's words in the smallest window of the folded text
#              holding one occurrence of each (0 for the query as one contiguous string) and share
#              the fraction of the query's words inside it; computed for the PROXIMITY_TOP best.
#   aboutness: 1 + ABOUT_WEIGHT * mean over query words of (1 - position / count) among the
#              article's own TF-IDF keywords (0 when not among them), for the ABOUT_TOP best:
#              an article about the words beats one that mentions them as often.
#   year:      x YEAR_WEIGHT for articles published in a year the query names (2024年政府工作报告).
#   freshness: 1 + FRESHNESS_WEIGHT * 0.5 ** (age / FRESHNESS_HALF_LIFE_DAYS), age from the newest.
K1 = 5.0
FIELD_WEIGHT = {"title": 1.5, "body": 1.0, "keywords": 4.0}
FIELD_B = {"title": 0.5, "body": 0.75, "keywords": 0.0}
DEFAULT_B = 0.75
PROXIMITY_WEIGHT = 1.0
PROXIMITY_SCALE = 8.0
PROXIMITY_TOP = 200
PROXIMITY_OCCURRENCES = 48   # occurrences per word looked at: enough for the nearest pair
ABOUT_WEIGHT = 2.0
ABOUT_TOP = 50
KEYWORD_RANKS_CACHED = 20_000
FRESHNESS_WEIGHT = 0.1
FRESHNESS_HALF_LIFE_DAYS = 365.0
YEAR_WEIGHT = 2.0

def field_lengths(snap: Snapshot, fieldname: str) -> np.ndarray:
    def make() -> np.ndarray:
        got = column_arrays.field_lengths(snap, fieldname) if fieldname in LENGTH_FIELDS else None
        if got is not None:
            return got
        # Per segment, see index.py; Whoosh gives None for an empty field: length 0, not NaN.
        return np.asarray([n or 0 for n in snap.doc_lengths(fieldname)], dtype=np.float32)
    return snap.cached(("lengths", fieldname), make)


def freshness(snap: Snapshot) -> np.ndarray:
    def make() -> np.ndarray:
        ts = ts_array(snap)
        known = ts[column_arrays.live_mask(snap) & (ts >= 0)]  # as Snapshot.newest_ts, without its list
        newest = int(known.max()) if len(known) else 0
        age_days = np.maximum(0.0, (newest - ts) / 86400.0)
        fresh = 1.0 + FRESHNESS_WEIGHT * np.power(0.5, age_days / FRESHNESS_HALF_LIFE_DAYS)
        return np.where(ts >= 0, fresh, 1.0)
    return snap.cached("freshness", make)


def year_array(snap: Snapshot) -> np.ndarray:
    def make() -> np.ndarray:
        got = column_arrays.year(snap)
        return got if got is not None else np.asarray(snap.year, dtype=np.int64)
    return snap.cached("year_array", make)


def ts_array(snap: Snapshot) -> np.ndarray:
    def make() -> np.ndarray:
        got = column_arrays.ts(snap)
        return got if got is not None else np.asarray(snap.ts, dtype=np.int64)
    return snap.cached("ts_array", make)


def avg_length(snap: Snapshot, fieldname: str) -> float:
    return snap.cached(("avglen", fieldname), lambda: float(field_lengths(snap, fieldname).mean() or 1.0))


def idf(n_docs: int, df: int) -> float:
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def _norm(snap: Snapshot, fieldname: str, ids: np.ndarray) -> np.ndarray:
    """Per-document length normalisation of one field: 1 - b + b * len / avglen."""
    b = FIELD_B.get(fieldname, DEFAULT_B)
    if not b:
        return np.ones(len(ids), dtype=np.float64)
    return 1.0 - b + b * field_lengths(snap, fieldname)[ids] / avg_length(snap, fieldname)


def _saturate(weight: float, tfn: np.ndarray) -> np.ndarray:
    return weight * tfn * (K1 + 1.0) / (K1 + tfn)


def group_terms(terms: list[tuple[str, str]]) -> dict[str, list[str]]:
    """(field, word) terms -> word -> its fields, in query order."""
    fields_of: dict[str, list[str]] = {}
    for fieldname, word in dict.fromkeys(terms):
        fields_of.setdefault(word, []).append(fieldname)
    return fields_of


def bm25f(snap: Snapshot, terms: list[tuple[str, str]]) -> np.ndarray:
    """Dense BM25F score array over all doc numbers for the words the index holds postings of."""
    n_all = len(ts_array(snap))
    scores = np.zeros(n_all, dtype=np.float64)
    n_docs = max(1, len(snap.live_docs))
    for word, fields in group_terms(terms).items():
        tfn = np.zeros(n_all, dtype=np.float64)
        found = []
        for fieldname in fields:
            ids, tfs = postings(snap, fieldname, word)
            if len(ids):
                tfn[ids] += FIELD_WEIGHT.get(fieldname, 1.0) * tfs / _norm(snap, fieldname, ids)
                found.append(ids)
        if not found:
            continue
        if len(found) == 1:
            ids = found[0]
        else:  # the docs holding the word in any field, sorted: a mask, cheaper than np.unique
            seen = np.zeros(n_all, dtype=bool)
            for part in found:
                seen[part] = True
            ids = np.flatnonzero(seen)
        scores[ids] += _saturate(idf(n_docs, len(ids)), tfn[ids])
    return scores


def substring_scores(snap: Snapshot, arr: np.ndarray, terms: list[tuple[str, str]]) -> np.ndarray:
    """BM25F for query strings the index holds no postings for (a single character such as 银, a
    string inside longer words): occurrences counted in the folded title / body of `arr` only, so
    such queries still rank title matches and repeated mentions first instead of all scoring 0."""
    texts = snap.folded
    titles = folded_titles(snap)
    n_docs = max(1, len(snap.live_docs))
    out = np.zeros(len(arr), dtype=np.float64)
    for word, fields in group_terms(terms).items():
        fields = [f for f in fields if f in ("title", "body")]
        if not fields or not word:
            continue
        title_only = fields == ["title"]
        holders = substring_docs(snap, word, title_only)
        df = max(1, len(holders))
        # Only the docs holding the string count more than 0 (5G in the titles of 12k matches of
        # 5G: a few hundred): count there, from the exact set df is taken from anyway.
        at = _holding(arr, holders)
        docs = arr[at].tolist()
        in_title = np.zeros(len(arr), dtype=np.float64)
        in_title[at] = np.fromiter((titles[d].count(word) for d in docs), dtype=np.float64, count=len(docs))
        tfn = FIELD_WEIGHT["title"] * in_title / _norm(snap, "title", arr)
        if not title_only:
            # folded = title "\n" body, and a needle never holds "\n": body count = whole - title count
            whole = np.zeros(len(arr), dtype=np.float64)
            whole[at] = np.fromiter((texts[d].count(word) for d in docs), dtype=np.float64, count=len(docs))
            tfn = tfn + FIELD_WEIGHT["body"] * (whole - in_title) / _norm(snap, "body", arr)
        out += _saturate(idf(n_docs, df), tfn)
    return out


def _holding(arr: np.ndarray, holders: frozenset[int]) -> np.ndarray:
    """Positions in `arr` of the doc numbers in `holders`."""
    if not holders:
        return np.zeros(0, dtype=np.int64)
    if len(holders) >= len(arr):
        return np.flatnonzero(np.fromiter((d in holders for d in arr.tolist()), dtype=bool, count=len(arr)))
    return np.flatnonzero(np.isin(arr, np.fromiter(holders, dtype=np.int64, count=len(holders))))


def smallest_gap(text: str, words: list[str]) -> tuple[int, int] | None:
    """(characters between the words, how many of them) in the smallest window of `text` holding
    one occurrence of each word present; None when fewer than two are present."""
    occ: list[tuple[int, int, int]] = []
    for i, w in enumerate(words):
        start = 0
        for _ in range(PROXIMITY_OCCURRENCES):
            pos = text.find(w, start)
            if pos < 0:
                break
            occ.append((pos, i, len(w)))
            start = pos + 1
    present = {i for _, i, _ in occ}
    if len(present) < 2:
        return None
    occ.sort()
    need = len(present)
    width = sum(len(words[i]) for i in present)
    counts: dict[int, int] = {}
    best = len(text)
    left = 0
    for pos, i, n in occ:
        counts[i] = counts.get(i, 0) + 1
        while len(counts) == need:
            # Window from the leftmost occurrence to the end of this one (words that overlap,
            # as sub-words do, count as adjacent).
            lpos, li, _ = occ[left]
            best = min(best, max(0, pos + n - lpos - width))
            counts[li] -= 1
            if not counts[li]:
                del counts[li]
            left += 1
    return best, need


def proximity(snap: Snapshot, arr: np.ndarray, words: list[str]) -> np.ndarray:
    """Factor >= 1 per doc of `arr` (see the formula above); words closer together score higher."""
    out = np.ones(len(arr), dtype=np.float64)
    words = [w for w in dict.fromkeys(words) if w]
    if len(words) < 2:
        return out
    texts = snap.folded
    for k, d in enumerate(arr.tolist()):
        if deadline.expired():
            deadline.mark_timed_out()
            break
        found = smallest_gap(texts[d], words)
        if found is not None:
            gap, n = found
            share = (n - 1) / (len(words) - 1)
            out[k] = 1.0 + PROXIMITY_WEIGHT * share / (1.0 + gap / PROXIMITY_SCALE)
    return out


# Keyword ranks by (generation, segment, local docnum): an article's keywords never change within
# its segment, so the snapshots after an update commit reuse them. Bounded: a large archive must
# not keep every article's keywords in memory.
_KEYWORD_RANKS = LRU(KEYWORD_RANKS_CACHED)


def keyword_ranks(snap: Snapshot, docnum: int) -> dict[str, int]:
    """An article's stored keywords (TF-IDF order, indexer/enrich.py) -> position, cached per doc."""
    leaf, offset = snap.locate(docnum)

    def make() -> dict[str, int]:
        return {w: i for i, w in enumerate((snap.stored(docnum).get("keywords") or "").split())}
    return _KEYWORD_RANKS.get_or((str(snap.gen.path), leaf.segment().segment_id(), docnum - offset), make)


def aboutness(snap: Snapshot, arr: np.ndarray, words: list[str]) -> np.ndarray:
    """Factor >= 1 per doc of `arr`: 1 + ABOUT_WEIGHT x the mean over the query's words of
    (1 - position / count) among the article's keywords (0 for a word not among them)."""
    out = np.ones(len(arr), dtype=np.float64)
    ws = list(dict.fromkeys(words))
    for k, d in enumerate(arr.tolist()):  # bounded: at most ABOUT_TOP cached look-ups
        ranks = keyword_ranks(snap, d)
        if ranks:
            got = sum(1.0 - ranks[w] / len(ranks) for w in ws if w in ranks)
            out[k] = 1.0 + ABOUT_WEIGHT * got / len(ws)
    return out


def coverage(arr: np.ndarray, unit_docs: list[frozenset[int]]) -> np.ndarray:
    """How many of the query's units (words) each doc of `arr` matches: relaxed queries rank
    articles matching more of the query first."""
    out = np.zeros(len(arr), dtype=np.int64)
    for docs in unit_docs:
        if docs:
            out += np.isin(arr, np.fromiter(docs, dtype=np.int64, count=len(docs)))
    return out


def order(snap: Snapshot, docs: frozenset[int], sort: str, terms: list[tuple[str, str]],
          near: list[str], unit_docs: list[frozenset[int]] | None = None,
          years: set[int] | None = None) -> Ranking:
    """`docs` in result order with their scores (None for date sorts), sorted as far as it is
    read (ranking.py): the same order as a full sort of every match."""
    arr = as_array(docs)  # order does not matter: the doc number is the last tie-break
    ts = ts_array(snap)[arr]
    if sort in ("newest", "oldest"):
        # Undated articles (ts -1) go last in both directions: they are not "the oldest".
        keys = (arr, -ts) if sort == "newest" else (arr, np.where(ts < 0, np.iinfo(np.int64).max, ts))
        return Ranking(arr, keys, None)
    scores = bm25f(snap, terms)[arr] if terms else np.zeros(len(arr))
    unindexed = [(f, w) for f, w in dict.fromkeys(terms) if not len(postings(snap, f, w)[0])]
    if unindexed and len(arr):
        scores = scores + substring_scores(snap, arr, unindexed)
    scores = scores * freshness(snap)[arr]
    if years and len(arr):
        scores = scores * np.where(np.isin(year_array(snap)[arr], list(years)), YEAR_WEIGHT, 1.0)
    # Coverage first (relaxed queries); a key that is the same for every doc orders nothing.
    cover = (-coverage(arr, unit_docs),) if unit_docs else ()
    if len(near) > 1 and len(arr):
        # Proximity only reorders the best: it never lowers a score, so nothing below the cut
        # can overtake a reranked document.
        best = top((arr, -scores, *cover), PROXIMITY_TOP)
        scores[best] = scores[best] * proximity(snap, arr[best], near)
    if ABOUT_WEIGHT and near and len(arr):
        best = top((arr, -scores, *cover), ABOUT_TOP)
        scores[best] = scores[best] * aboutness(snap, arr[best], near)
    return Ranking(arr, (arr, -ts, -scores, *cover), scores)
