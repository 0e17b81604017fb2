"""The search core: plain parameters in, plain data out. No Flask here; the JSON API, the HTML
page and the CLI all call these functions.

params -> parse query -> match (doc sets) -> filters -> rank -> facets + highlights -> dict
"""
from __future__ import annotations

import math
import time
from typing import Any

from search_service import facets as facet_mod
from search_service.errors import NotFound
from search_service.highlight import highlight_title, posting_spans, snippet, substring_spans
from search_service.index import SearchIndex, Snapshot
from search_service.match import Plan, plan
from search_service.params import SearchParams
from search_service.query import parse_query

# Freshness: score * (1 + FRESHNESS_WEIGHT * 0.5 ** (age / FRESHNESS_HALF_LIFE_DAYS)), age counted
# from the newest article in the index, so among equally relevant articles the newer comes first
# while a much better match still wins (the boost is at most 15%).
FRESHNESS_WEIGHT = 0.15
FRESHNESS_HALF_LIFE_DAYS = 365.0


def freshness(snap: Snapshot, docnum: int) -> float:
    ts = snap.ts[docnum]
    if ts < 0:
        return 1.0
    age_days = max(0.0, (snap.newest_ts - ts) / 86400.0)
    return 1.0 + FRESHNESS_WEIGHT * math.pow(0.5, age_days / FRESHNESS_HALF_LIFE_DAYS)


def rank(snap: Snapshot, p: Plan, docs: frozenset[int], sort: str) -> list[tuple[int, float | None]]:
    ts = snap.ts
    if sort in ("newest", "oldest"):
        ordered = sorted(docs, key=lambda d: (ts[d], d), reverse=(sort == "newest"))
        return [(d, None) for d in ordered]
    scored: dict[int, float] = {}
    if p.scoring is not None and docs:
        results = snap.searcher().search(p.scoring, filter=set(docs), limit=None)
        for score, docnum in results.top_n:
            scored[docnum] = score * freshness(snap, docnum)
    ranked: list[tuple[int, float | None]] = sorted(
        scored.items(), key=lambda kv: (-kv[1], -ts[kv[0]], kv[0]))
    # Matches no scoring term reaches (substring-only, channel-only, exclusion-only queries):
    # after the scored ones, newest first.
    rest = sorted((d for d in docs if d not in scored), key=lambda d: (-ts[d], d))
    ranked.extend((d, 0.0) for d in rest)
    return ranked


def render_hit(snap: Snapshot, p: Plan, docnum: int, score: float | None) -> dict[str, Any]:
    fields = snap.stored(docnum)
    searcher = snap.searcher()
    title = fields.get("title", "")
    body = fields.get("body", "")
    title_spans = posting_spans(searcher, "title", docnum, p.words) + substring_spans(title, p.strings)
    body_spans = posting_spans(searcher, "body", docnum, p.words) + substring_spans(body, p.strings)
    return {
        "id": fields.get("id"),
        "title": title,
        "title_html": highlight_title(title, title_spans),
        "snippet_html": snippet(body, body_spans),
        "url": fields.get("url") or None,
        "channel": fields.get("channel"),
        "published": fields.get("published") or None,
        "author": fields.get("author"),
        "source": fields.get("source"),
        "keywords": (fields.get("keywords") or "").split(),
        "score": round(score, 4) if score is not None else None,
    }


def collapse_reprints(snap: Snapshot, ranked: list[tuple[int, float | None]]) -> list[tuple[int, float | None, list[int]]]:
    """One entry per story: later reprints fold into the first-ranked article of their group."""
    from search_service.reprints import groups

    group_of = groups(snap)
    seen: dict[int, list[int]] = {}
    out: list[tuple[int, float | None, list[int]]] = []
    for docnum, score in ranked:
        g = group_of.get(docnum, docnum)
        if g in seen:
            seen[g].append(docnum)
            continue
        others: list[int] = []
        seen[g] = others
        out.append((docnum, score, others))
    return out


def search(index: SearchIndex, params: SearchParams) -> dict[str, Any]:
    started = time.perf_counter()
    snap = index.snapshot()
    key = params.cache_key()
    result = snap.results.get_or(key, lambda: _search(snap, params))
    out = dict(result)
    out["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return out


def _search(snap: Snapshot, params: SearchParams) -> dict[str, Any]:
    node = parse_query(params.q)
    p = plan(snap, node)
    sets = facet_mod.filter_sets(snap, params)
    docs = facet_mod.apply(p.docs, sets)
    ranked = rank(snap, p, docs, params.sort)
    if params.collapse:
        entries = collapse_reprints(snap, ranked)
    else:
        entries = [(d, s, []) for d, s in ranked]
    start = (params.page - 1) * params.per_page
    hits = []
    for docnum, score, others in entries[start:start + params.per_page]:
        hit = render_hit(snap, p, docnum, score)
        hit["duplicates"] = len(others)
        hit["duplicate_ids"] = [snap.stored(d).get("id") for d in others]
        hits.append(hit)
    result: dict[str, Any] = {
        "ok": True,
        "query": params.as_dict(),
        "total": len(entries),
        "total_articles": len(docs),
        "page": params.page,
        "per_page": params.per_page,
        "pages": max(1, math.ceil(len(entries) / params.per_page)),
        "hits": hits,
        "facets": facet_mod.facet_counts(snap, p.docs, sets, params),
        "suggestion": None,
        "generation": snap.gen.name,
    }
    if params.facet_interval:
        result["histogram"] = facet_mod.histogram(snap, docs, params.facet_interval)
    return result


def find_docnum(snap: Snapshot, article_id: str) -> int | None:
    return snap.searcher().document_number(id=article_id)


def get_article(index: SearchIndex, article_id: str) -> dict[str, Any]:
    snap = index.snapshot()
    docnum = find_docnum(snap, article_id)
    if docnum is None:
        raise NotFound(f"no article with id {article_id!r}: search for it with /api/search?q=...")
    fields = snap.stored(docnum)
    return {
        "id": fields.get("id"),
        "title": fields.get("title"),
        "body": fields.get("body"),
        "url": fields.get("url") or None,
        "channel": fields.get("channel"),
        "published": fields.get("published") or None,
        "author": fields.get("author"),
        "source": fields.get("source"),
        "tags": [t for t in (fields.get("tags") or "").split(",") if t],
        "keywords": (fields.get("keywords") or "").split(),
    }


def index_info(index: SearchIndex) -> dict[str, Any]:
    snap = index.snapshot()
    return {"generation": snap.gen.name, "documents": len(snap.live_docs), "built_at": snap.meta.get("built_at")}
