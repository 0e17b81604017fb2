"""Related coverage (related.py) on the Xapian shards (NEWS_SEARCH_ENGINE=xapian).

The rules are related.py's: the article's stored keywords, less those in more than COMMON_SHARE
of the archive, must be shared MIN_SHARED_KEYWORDS at a time (the title and body word terms
``T``/``B``, exactly the Whoosh postings); the article and its reprints (value slot 3) are left
out; the rest are ranked by BM25F on the shards (xapian_rank.bm25f_scores) summed over the
keywords, the best keyword weighing RELATED_TOP_BOOST, and rendered and folded as search hits.
The candidates, and so ``total`` and the set of hits, are the Whoosh ones; the order follows the
engine's BM25F (ties: newer first, then doc number).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xapian

from search_service import related_rules as rel
from search_service import xapian_query as xq
from search_service import xapian_rank
from search_service.core import collapse_by, render_hits
from search_service.errors import NotFound
from search_service.match import TEXT_FIELDS, Plan
from search_service.xapian_engine import XapianEngine, XapianIndex


def _scores(engine: Any, keywords: Sequence[str]) -> dict[int, float]:
    """docid -> the sum over the keywords of boost x BM25F of the keyword in title and body
    (xapian_rank.bm25f_scores: scoring.bm25f's formula on the shards' postings)."""
    boosts = rel.keyword_boosts(keywords)
    out: dict[int, float] = {}
    for kw in keywords:
        for d, score in xapian_rank.bm25f_scores(engine.st, [(f, kw) for f in TEXT_FIELDS]).items():
            out[d] = out.get(d, 0.0) + boosts[kw] * score
    return out


def _related(engine: XapianEngine, docid: int, limit: int) -> dict[str, Any]:
    st = engine.st
    fields = xq.stored(st, docid)
    all_keywords = (fields.get("keywords") or "").split()
    cap = max(rel.COMMON_SHARE * len(xq.all_docs(st)), rel.COMMON_MIN_DOCS)
    keywords = [kw for kw in all_keywords if len(xq.word_docs(st, kw, False)) <= cap]
    groups = engine.reprint_groups()
    exclude = {docid} | ({d for d, g in groups.items() if g == groups[docid]} if docid in groups else set())
    shared: dict[int, list[str]] = {}
    for kw in keywords:
        for d in xq.word_docs(st, kw, False):
            if d not in exclude:
                shared.setdefault(d, []).append(kw)
    need = min(rel.MIN_SHARED_KEYWORDS, len(keywords))
    found = {d: kws for d, kws in shared.items() if len(kws) >= need} if keywords else {}
    ranked: list[tuple[int, float | None]] = []
    if found:
        scored = _scores(engine, keywords)
        ts = xq.ts_array(st)
        ranked = sorted(((d, scored.get(d, 0.0)) for d in found), key=lambda kv: (-kv[1], -ts[kv[0]], kv[0]))
    entries, _total = collapse_by(groups, ranked, frozenset(found), len(ranked))
    p = Plan(docs=frozenset(found), words=set(keywords))
    shown = entries[:limit]
    hits = render_hits(engine, None, p, [(d, score) for d, score, _ in shown])
    for hit, (d, _score, others) in zip(hits, shown):
        hit["matched_keywords"] = found[d]
        hit["duplicates"] = len(others)
        hit["duplicate_ids"] = [f.get("id") for f in engine.stored(others)]
    excluded = [f.get("id") for f in engine.stored(sorted(exclude - {docid}))]
    return rel.envelope(fields, all_keywords, keywords, excluded, len(entries), limit, hits, st.generation)


def related(index: XapianIndex, article_id: str, limit: int) -> dict[str, Any]:
    """related.related on the shards; NotFound for an unknown id."""
    def one(engine: XapianEngine) -> dict[str, Any] | None:
        found = sorted(xq.docset(engine.st, xapian.Query("Q" + article_id)))
        if not found:
            return None
        return engine.st.results.get_or(("related", article_id, limit), lambda: _related(engine, found[0], limit))
    result, st = index.run(one)
    if result is None:
        raise NotFound(f"no article with id {article_id[:100]!r}: search for it with /api/search?q=...")
    return dict(result, partial=st.partial, missing_shards=list(st.missing))
