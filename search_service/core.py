"""The search core: plain parameters in, plain data out. No Flask here; the JSON API, the HTML
page and the CLI all call these functions.

params -> parse query -> match (doc sets) -> filters -> rank -> facets + highlights -> dict
"""
from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlsplit

from search_service import deadline, give_way
from search_service import facets as facet_mod
from search_service.engine import Engine, WhooshEngine, engine_for
from search_service.errors import NotFound
from search_service.highlight import glue_spans, highlight_title, posting_spans, snippet, substring_spans
from search_service.index import SearchIndex, Snapshot
from search_service.match import Plan
from search_service.params import SearchParams
from search_service.query import parse_query
from search_service.scoring import field_lengths, freshness, order
from search_service.reprints import groups
from search_service.spelling import Correction, autocorrect, did_you_mean, with_correct
from search_service.suggest import SUGGEST_BELOW, build as build_suggest_data


def web_url(url: str | None) -> str | None:
    """An article's link only when it is an absolute http(s) URL: archives carry anything in
    that field, and `javascript:` or `data:` links must never reach a page or a feed."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def warm(snap: Snapshot) -> None:
    """Precompute what every search needs: live docs, columns, field lengths, fresh scores
    (SearchIndex runs this in a background thread for each new snapshot)."""
    try:
        snap.live_docs, snap.channel, snap.year, snap.month, snap.folded  # noqa: B018
        field_lengths(snap, "title")
        field_lengths(snap, "body")
        freshness(snap)
        groups(snap)  # patched from the previous snapshot's when there is one (reprints.py)
        # Last, as it is the slowest (seconds on 20k articles): the first did-you-mean or
        # suggestion after a new generation or commit should not pay for it (meanwhile a
        # snapshot of the same generation serves the previous one's, see index.CARRY_STALE).
        if snap.stale or snap.carried("suggest") is not None:
            give_way.wait_quiet()  # requests are served the stale copy meanwhile
        snap.cached("suggest", lambda: build_suggest_data(snap, pause=give_way.pause), fresh=True)
        snap.stale.clear()  # its own are built: the carried stale copies can go
    except Exception:  # a snapshot replaced mid-warm-up; requests compute lazily anyway
        pass
    finally:
        snap.previous = None  # everything worth carrying over has been carried


def render_hit(snap: Snapshot | None, p: Plan, docnum: int, score: float | None,
               spans: dict[str, list[tuple[int, int]]] | None = None,
               fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """One hit as plain data; `spans` and `fields` are the page's, fetched in one batch by
    render_hits (the engine's highlight_spans and stored)."""
    if fields is None:
        assert snap is not None, "an engine without a snapshot passes the page's fields and spans"
        fields = snap.stored(docnum)
    title = fields.get("title", "")
    body = fields.get("body", "")
    if spans is None:
        searcher = snap.searcher()
        spans = {f: posting_spans(searcher, f, docnum, p.words) for f in ("title", "body")}
        spans.update({f + "_glue": posting_spans(searcher, f, docnum, p.glue) for f in ("title", "body")})
    title_spans = glue_spans(spans["title"] + substring_spans(title, p.strings), spans.get("title_glue", []))
    body_spans = glue_spans(spans["body"] + substring_spans(body, p.strings), spans.get("body_glue", []))
    return {
        "id": fields.get("id"),
        "title": title,
        "title_html": highlight_title(title, title_spans),
        "snippet_html": snippet(body, body_spans),
        "url": web_url(fields.get("url")),
        "channel": fields.get("channel"),
        "published": fields.get("published") or None,
        "author": fields.get("author"),
        "source": fields.get("source"),
        "keywords": (fields.get("keywords") or "").split(),
        "score": round(score, 4) if score is not None else None,
    }


def render_hits(engine: Engine, snap: Snapshot | None, p: Plan, entries: list[tuple[int, float | None]]) -> list[dict[str, Any]]:
    """Render a page of hits: one batch of stored fields and one of highlight spans for the page."""
    docnums = [d for d, _ in entries]
    by_field = engine.highlight_spans(p, docnums)
    fields = engine.stored(docnums)
    return [render_hit(snap, p, d, score, {f: by_field[f][d] for f in by_field}, stored)
            for (d, score), stored in zip(entries, fields)]


def collapse_reprints(snap: Snapshot, ranked: list[tuple[int, float | None]]) -> list[tuple[int, float | None, list[int]]]:
    """Every entry of a ranking with reprints folded (see collapse_page)."""
    return collapse_page(snap, ranked, frozenset(d for d, _ in ranked), len(ranked))[0]


def collapse_page(snap: Snapshot, ranked: list[tuple[int, float | None]], docs: frozenset[int],
                  stop: int) -> tuple[list[tuple[int, float | None, list[int]]], int]:
    """One entry per story: later reprints fold into the first-ranked article of their group.

    Returns the first `stop` entries (only that prefix of the ranking is walked) and the total
    number of stories among `docs`.
    """

    return collapse_by(groups(snap), ranked, docs, stop)


def collapse_by(group_of: dict[int, Any], ranked: list[tuple[int, float | None]], docs: frozenset[int],
                stop: int) -> tuple[list[tuple[int, float | None, list[int]]], int]:
    """collapse_page with the reprint groups of any engine (doc number -> group key)."""
    # One walk over the articles that have reprints (not over the matches: a single character
    # matches most of the archive); each group's members in the map's order.
    members: dict[int, list[int]] = {}
    for d, g in group_of.items():
        if d in docs:
            members.setdefault(g, []).append(d)
    total = len(docs) - sum(len(m) for m in members.values()) + len(members)
    out: list[tuple[int, float | None, list[int]]] = []
    seen: set[int] = set()
    for docnum, score in ranked:
        if len(out) >= stop:
            break
        g = group_of.get(docnum)
        if g is None:
            out.append((docnum, score, []))
        elif g not in seen:
            seen.add(g)
            rank_of = {d: i for i, d in enumerate(members[g])}
            others = sorted((d for d in members[g] if d != docnum), key=rank_of.get)
            out.append((docnum, score, others))
    return out, total


def search(index: SearchIndex, params: SearchParams, time_limit_ms: float | None = None) -> dict[str, Any]:
    """Search; with `time_limit_ms`, a query that runs out of time returns the results found so
    far with "timed_out": true (a subset of the full results, possibly ranked approximately)."""
    if getattr(index, "engine_name", "whoosh") != "whoosh":  # the Xapian shards (xapian_engine.py)
        return index.search(params, time_limit_ms)
    started = time.perf_counter()
    key = params.cache_key()

    with deadline.budget(time_limit_ms) as b, give_way.request():
        snap = index.snapshot()  # inside the budget: opening a new commit is part of the request

        def run() -> dict[str, Any]:
            result = _search(WhooshEngine(snap, index.store), snap, params)
            if deadline.timed_out():  # partial: answer it, but never serve it from the cache later
                raise deadline.Partial(result)
            return result

        try:
            result = snap.results.get_or(key, run)
        except deadline.Partial as partial:
            result = partial.value
    out = dict(result)
    # The cached result is shared by every caller: hand out copies of what callers may edit.
    out["hits"] = [dict(h) for h in result["hits"]]
    out["query"] = dict(result["query"])
    out["timed_out"] = b.timed_out
    out["partial"] = False  # one embedded index: never a shard missing
    out["missing_shards"] = []
    out["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return out


def _search(engine: Engine, snap: Snapshot | None, params: SearchParams) -> dict[str, Any]:
    """One search through the Engine seam (engine.py); `snap` is still used for what the Engine
    does not cover: did-you-mean and spelling corrections (see docs/architecture.md). Without a
    Whoosh snapshot (None) they come from the engine's own `autocorrect` / `did_you_mean`
    (the Xapian shards: xapian_suggest.py, docs/xapian.md)."""
    # A clear typo whose correction finds plenty: answer the correction and say so (spelling.py).
    if snap is not None:
        fixed = autocorrect(snap, params, lambda q: count_results(snap, q, params))
    else:  # an engine without a Whoosh snapshot corrects on its own data (the Xapian shards)
        fixed = engine.autocorrect(params) if hasattr(engine, "autocorrect") else None
    if fixed is not None:
        return fixed.apply(_search(engine, snap, with_correct(params, fixed.to)), params)
    node = parse_query(params.q)
    suggestion: list[dict[str, Any] | None] = []

    def suggest(strict_total: int) -> dict[str, Any] | None:
        """Did-you-mean for a query finding little (not when out of time), computed once."""
        if not suggestion:
            found = None
            if strict_total < SUGGEST_BELOW and not deadline.timed_out():
                if snap is not None:
                    found = did_you_mean(snap, params.q, strict_total, lambda q: count_results(snap, q, params))
                elif hasattr(engine, "did_you_mean"):  # the Xapian shards
                    found = engine.did_you_mean(params.q, strict_total, params)
            suggestion.append(found)
        return suggestion[0]

    # When nothing matches every word, a spelling correction that finds results is offered
    # rather than results missing some of the words typed.
    p = engine.match(node, params, may_drop_words=lambda: suggest(0) is None)
    docs, sets = engine.filter(p.docs, params)
    ranked = engine.rank(p, docs, params.sort)
    start = (params.page - 1) * params.per_page
    stop = start + params.per_page
    if params.collapse:
        entries, total = collapse_by(engine.reprint_groups(), ranked, docs, stop)
    else:
        entries, total = [(d, s, []) for d, s in ranked[:stop]], len(docs)
    page_entries = entries[start:stop]
    hits = render_hits(engine, snap, p, [(d, score) for d, score, _ in page_entries])
    # The reprints' ids of the whole page in one batch, not one engine call per hit.
    reprint_ids = iter([f.get("id") for f in engine.stored([d for _, _, others in page_entries for d in others])])
    for hit, (_docnum, _score, others) in zip(hits, page_entries):
        hit["duplicates"] = len(others)
        hit["duplicate_ids"] = [next(reprint_ids) for _ in others]
        if p.relaxed is not None:
            hit["missing"] = p.relaxed.missing(_docnum)
    result: dict[str, Any] = {
        "ok": True,
        "query": params.as_dict(),
        "total": total,
        "total_articles": len(docs),
        "page": params.page,
        "per_page": params.per_page,
        "pages": max(1, math.ceil(total / params.per_page)),
        "hits": hits,
        "facets": engine.facet_counts(p, sets, params),
        "suggestion": None,
        "corrected": None,
        "relaxed": p.relaxed.as_dict() if p.relaxed is not None else None,
        "generation": engine.generation(),
    }
    if params.facet_interval:
        result["histogram"] = engine.histogram(docs, params.facet_interval)
    # (When words were dropped, suggest(0) already ran and found no correction.)
    result["suggestion"] = suggest(total)
    offered = result["suggestion"]
    if total == 0 and offered and offered["total"] and params.correct and not deadline.timed_out():
        # Nothing as typed, nothing for part of it, and a did-you-mean that finds results: a blank
        # page helps nobody, so answer the correction and offer the query as typed (correct=false).
        fix = Correction(params.q, offered["q"], 0, offered["total"])
        return fix.apply(_search(engine, snap, with_correct(params, offered["q"])), params)
    return result


def count_results(snap: Snapshot, q: str, params: SearchParams) -> int:
    """What `total` would be for query `q` with the filters and collapsing of `params`."""
    from search_service.match import evaluate, without_stop_terms

    node = without_stop_terms(snap, parse_query(q))
    docs = facet_mod.apply(evaluate(snap, node), facet_mod.filter_sets(snap, params))
    return collapse_page(snap, [], docs, 0)[1] if params.collapse else len(docs)


def find_docnum(snap: Snapshot, article_id: str) -> int | None:
    return snap.searcher().document_number(id=article_id)


def get_article(index: SearchIndex, article_id: str) -> dict[str, Any]:
    if getattr(index, "engine_name", "whoosh") != "whoosh":
        return article_of(index.article(article_id))
    snap = index.snapshot()
    docnum = find_docnum(snap, article_id)
    if docnum is None:
        raise NotFound(f"no article with id {article_id[:100]!r}: search for it with /api/search?q=...")
    return article_of(snap.stored(docnum))


def article_of(fields: dict[str, Any]) -> dict[str, Any]:
    """/api/articles/<id>'s article from its stored fields."""
    return {
        "id": fields.get("id"),
        "title": fields.get("title"),
        "body": fields.get("body"),
        "url": web_url(fields.get("url")),
        "channel": fields.get("channel"),
        "published": fields.get("published") or None,
        "author": fields.get("author"),
        "source": fields.get("source"),
        "tags": [t for t in (fields.get("tags") or "").split(",") if t],
        "keywords": (fields.get("keywords") or "").split(),
    }


def public_stats(index: SearchIndex) -> dict[str, Any]:
    """What the archive holds, from the open snapshot (Engine.stats, cached per snapshot)."""
    if getattr(index, "engine_name", "whoosh") != "whoosh":
        return index.stats()
    return engine_for(index).stats()


def index_info(index: SearchIndex) -> dict[str, Any]:
    if getattr(index, "engine_name", "whoosh") != "whoosh":
        stats = index.stats()
        return {"generation": stats["generation"], "documents": stats["documents"], "built_at": stats["built_at"],
                "partial": stats["partial"], "missing_shards": stats["missing_shards"]}
    snap = index.snapshot()
    return {"generation": snap.gen.name, "documents": len(snap.live_docs), "built_at": snap.meta.get("built_at")}
