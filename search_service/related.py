"""Related coverage: articles about the same subject as a given article.

The article's keywords (TF-IDF over its own words, computed and stored at index time by
indexer.enrich.keywords, best first) become a weighted OR query over title and body: the top
keyword weighs RELATED_TOP_BOOST, the last one 1.0. Keywords found in more than COMMON_SHARE of
the archive (中国, 发展 on the real corpus; the city name 江城 in the demo) say nothing about the
subject and are left out. A candidate must contain at least MIN_SHARED_KEYWORDS of the rest (one
shared word is not a subject), the article itself and its reprints are left out, and the rest are
ranked by BM25F and rendered like search hits (highlighting the keywords), with reprints folded as
in search results.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from whoosh import query as wq

from search_service.core import collapse_reprints, find_docnum, render_hit
from search_service.errors import BadParameter, NotFound
from search_service.index import SearchIndex, Snapshot
from search_service.match import TEXT_FIELDS, Plan, term_docs
from search_service.related_rules import (COMMON_MIN_DOCS, COMMON_SHARE, DEFAULT_LIMIT,  # noqa: F401 - API
                                          MAX_LIMIT, MIN_SHARED_KEYWORDS, RELATED_TOP_BOOST, keyword_boosts,
                                          envelope, parse_limit)
from search_service.reprints import reprints_of


def keyword_query(keywords: Sequence[str]) -> wq.Query:
    boosts = keyword_boosts(keywords)
    return wq.Or([wq.Term(f, kw, boost=boosts[kw]) for kw in keywords for f in TEXT_FIELDS])


def distinctive(snap: Snapshot, keywords: Sequence[str]) -> list[str]:
    """The keywords rare enough in this archive to say what an article is about, best first."""
    limit = max(COMMON_SHARE * len(snap.live_docs), COMMON_MIN_DOCS)
    return [kw for kw in keywords if len(term_docs(snap, TEXT_FIELDS, kw)) <= limit]


def candidates(snap: Snapshot, keywords: Sequence[str], exclude: set[int]) -> dict[int, list[str]]:
    """docnum -> the keywords it contains, for docs sharing enough of them."""
    shared: dict[int, list[str]] = {}
    for kw in keywords:
        for d in term_docs(snap, TEXT_FIELDS, kw):
            if d not in exclude:
                shared.setdefault(d, []).append(kw)
    need = min(MIN_SHARED_KEYWORDS, len(keywords))
    return {d: kws for d, kws in shared.items() if len(kws) >= need}


def _related(snap: Snapshot, docnum: int, limit: int) -> dict[str, Any]:
    fields = snap.stored(docnum)
    all_keywords = (fields.get("keywords") or "").split()
    keywords = distinctive(snap, all_keywords)
    exclude = {docnum, *reprints_of(snap, docnum)}
    found = candidates(snap, keywords, exclude) if keywords else {}
    ranked: list[tuple[int, float | None]] = []
    q = keyword_query(keywords) if keywords else None
    if found and q is not None:
        results = snap.searcher().search(q, filter=set(found), limit=None)
        ts = snap.ts
        scored = {docnum_: score for score, docnum_ in results.top_n}
        ranked = sorted(((d, scored.get(d, 0.0)) for d in found), key=lambda kv: (-kv[1], -ts[kv[0]], kv[0]))
    entries = collapse_reprints(snap, ranked)
    p = Plan(docs=frozenset(found), words=set(keywords))
    hits = []
    for d, score, others in entries[:limit]:
        hit = render_hit(snap, p, d, score)
        hit["matched_keywords"] = found[d]
        hit["duplicates"] = len(others)
        hit["duplicate_ids"] = [snap.stored(o).get("id") for o in others]
        hits.append(hit)
    excluded = [snap.stored(d).get("id") for d in sorted(exclude - {docnum})]
    out = envelope(fields, all_keywords, keywords, excluded, len(entries), limit, hits, snap.gen.name)
    # one embedded index (the Xapian shards may leave some out)
    return dict(out, partial=False, missing_shards=[])


def related(index: SearchIndex, article_id: str, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """Related articles of `article_id` as a search-like envelope; NotFound for an unknown id."""
    limit = parse_limit(limit)
    if getattr(index, "engine_name", "whoosh") != "whoosh":
        from search_service import xapian_related

        return xapian_related.related(index, article_id, limit)  # type: ignore[arg-type]
    snap = index.snapshot()
    docnum = find_docnum(snap, article_id)
    if docnum is None:
        raise NotFound(f"no article with id {article_id[:100]!r}: search for it with /api/search?q=...")
    return snap.results.get_or(("related", article_id, limit), lambda: _related(snap, docnum, limit))


def related_from_args(index: SearchIndex, article_id: str, args: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The HTTP edge's parameters (name -> list of values): only `limit`, given at most once."""
    values = args.get("limit") or []
    if len(values) > 1:
        raise BadParameter("limit", "`limit` may be given only once")
    return related(index, article_id, parse_limit(values[0] if values else None))
