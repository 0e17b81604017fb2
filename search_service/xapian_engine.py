"""The Engine (engine.py) over Xapian shards, and ``XapianIndex``, what the app holds instead of a
SearchIndex when NEWS_SEARCH_ENGINE=xapian (docs/xapian.md, "The query side").

One search runs on one XapianState (the shards reachable at one revision) under its lock. A
shard failing mid-search (network error, timeout, database modified) leaves it out: the search
is retried once on a new state, and the result says ``partial: true`` with the shards left out
in ``missing_shards`` (or a 503 ``shards_unavailable`` when partial answers are off).
"""
from __future__ import annotations

import hashlib
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from indexer import analysis
from indexer import xapian_doc as xd
from search_service import facets as facet_mod
from search_service import xapian_highlight
from search_service import xapian_query as xq
from search_service import xapian_rank
from search_service.engine import FilterSets, PageSpans
from search_service.errors import NotFound, NotOnThisEngine, ShardsUnavailable
from search_service.match import Plan
from search_service.params import SearchParams
from search_service.query import Node
from search_service.xapian_match import Matcher
from search_service.xapian_pool import SHARD_ERRORS, ShardPool, XapianState

T = TypeVar("T")


class XapianEngine:
    """The Engine over one state; cheap to create per search."""

    def __init__(self, st: XapianState, index_dir: str | None) -> None:
        self.st = st
        self.m = Matcher(st, index_dir)

    def generation(self) -> str:
        return self.st.generation

    def stats(self) -> dict[str, Any]:
        st = self.st
        live = xq.all_docs(st)
        channels = xq.text_column(st, xd.SLOT_CHANNEL)
        counts: dict[str, int] = {}
        for d in live:
            counts[channels.get(d, "")] = counts.get(channels.get(d, ""), 0) + 1
        ts = xq.ts_array(st)
        known = [int(ts[d]) for d in live if ts[d] >= 0]
        from indexer.store import _iso

        return {
            "documents": len(live),
            "channels": [{"value": v or None, "count": c} for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
            "date_range": {"from": _iso(min(known)) if known else None, "to": _iso(max(known)) if known else None},
            "generation": st.generation,
            "size_bytes": _size(st.specs),
            "built_at": st.built or None,
            "segments": len(st.specs),
            "previous_generation": None,
            "partial": st.partial,
            "missing_shards": list(st.missing),
        }

    def filter_sets(self, params: SearchParams) -> FilterSets:
        sets: FilterSets = {"channel": None, "date": None, "author": None, "source": None}
        if params.channel:
            acc: frozenset[int] = frozenset()
            for value in params.channel:
                acc = acc | self.m.channel_docs(value)
                if analysis.fold_text(value) == facet_mod.NO_CHANNEL:
                    acc = acc | self.m.no_channel_docs()
            sets["channel"] = acc
        if params.date_from or params.date_to:
            lo = facet_mod._day_ts(params.date_from, False) if params.date_from else 0
            hi = facet_mod._day_ts(params.date_to, True) if params.date_to else None
            ts = xq.ts_array(self.st)
            keep = xq.live_mask(self.st) & (ts >= 0) & (ts >= lo)
            if hi is not None:
                keep &= ts <= hi
            sets["date"] = frozenset(np.flatnonzero(keep).tolist())
        if params.author:
            sets["author"] = xq.field_phrase_docs(self.st, "author", params.author)
        if params.source:
            sets["source"] = xq.field_phrase_docs(self.st, "source", params.source)
        return sets

    def match(self, node: Node, params: SearchParams, may_drop_words: Callable[[], bool] = lambda: True) -> Plan:
        sets = self.filter_sets(params)
        return self.m.plan(node, allow_relax=params.relax, restrict=lambda found: facet_mod.apply(found, sets),
                           may_drop_words=may_drop_words)

    def filter(self, docs: frozenset[int], params: SearchParams) -> tuple[frozenset[int], FilterSets]:
        sets = self.filter_sets(params)
        return facet_mod.apply(docs, sets), sets

    def rank(self, p: Plan, docs: frozenset[int], sort: str) -> list[tuple[int, float | None]]:
        return xapian_rank.order(self.st, p, docs, sort)

    def facet_counts(self, p: Plan, sets: FilterSets, params: SearchParams) -> dict[str, list[dict[str, Any]]]:
        st = self.st
        slots = {"channel": xd.SLOT_CHANNEL, "month": xd.SLOT_MONTH, "year": xd.SLOT_YEAR}

        def count(column: str, docs: frozenset[int], missing: bool = False) -> Counter:
            codes, labels = xq.coded_column(st, slots[column], int if column == "year" else str)
            if not docs:
                return Counter()
            got = codes[np.fromiter(docs, dtype=np.int64, count=len(docs))]
            known = got[got >= 0]
            n = np.bincount(known, minlength=len(labels)) if len(known) else np.zeros(len(labels), dtype=np.int64)
            found = Counter({labels[i]: int(n[i]) for i in np.flatnonzero(n).tolist()})
            if missing and len(known) < len(got):
                found[None] = len(got) - len(known)
            return found
        return facet_mod.facet_counts_by(count, p.docs, sets, params)

    def histogram(self, docs: frozenset[int], interval: str) -> list[dict[str, Any]]:
        return facet_mod.histogram_by(xq.ts_array(self.st), docs, interval)

    def stored(self, docnums: Sequence[int]) -> list[dict[str, Any]]:
        return [xq.stored(self.st, d) for d in docnums]

    def highlight_spans(self, p: Plan, docnums: Sequence[int]) -> PageSpans:
        """Spans of the plan's words in the stored text, as the index analysed it (sub-words carry
        their parent's span, as Whoosh's character postings do), from the word spans stored at
        index time (xapian_highlight.py)."""
        docs = [(d, xq.stored(self.st, d), xq.spans_value(self.st, d)) for d in docnums]
        return xapian_highlight.page_spans(docs, set(p.words), set(p.glue))

    def reprint_groups(self) -> dict[int, Any]:
        """docid -> reprint group key (value slot 3) of the articles that have reprints."""
        return xq.text_column(self.st, xd.SLOT_COLLAPSE)

    def did_you_mean(self, q: str, total: int, params: SearchParams) -> dict[str, Any] | None:
        """spelling.did_you_mean over the shards' words (xapian_suggest.py)."""
        from search_service import xapian_suggest

        return xapian_suggest.did_you_mean(self, q, total, params)

    def autocorrect(self, params: SearchParams) -> Any:
        """spelling.autocorrect over the shards (xapian_suggest.py): a Correction or None."""
        from search_service import xapian_suggest

        return xapian_suggest.autocorrect(self, params)


def _size(specs: list[str]) -> int | None:
    if not all(xd.is_local(s) for s in specs):
        return None
    return sum(f.stat().st_size for s in specs for f in Path(s).rglob("*") if f.is_file())


class XapianIndex:
    """The app's index when NEWS_SEARCH_ENGINE=xapian (Services.index)."""

    engine_name = "xapian"

    def __init__(self, specs: list[str], timeout_ms: int = xd.DEFAULT_TIMEOUT_MS, partial: bool = True,
                 index_dir: str | None = None) -> None:
        self.pool = ShardPool(specs, timeout_ms, partial)
        self.index_dir = index_dir
        self._userdicts: set[str] = set()

    def snapshot(self) -> Any:
        raise NotOnThisEngine("this feature needs the Whoosh index: it is not offered with "
                              "NEWS_SEARCH_ENGINE=xapian (see docs/xapian.md)")

    def run(self, fn: Callable[[XapianEngine], T]) -> tuple[T, XapianState]:
        """fn on the current state; a shard error leaves the shard out and retries once.

        A search that waited for the state's lock while another search on it failed does not
        run on it (it would wait for the dead shard again): it takes the next state."""
        last: BaseException | None = None
        errors = 0
        for _turn in range(6):
            st = self.pool.state()
            self._load_userdict(st)
            try:
                with st.lock:
                    if st.failed:
                        continue
                    return fn(XapianEngine(st, self.index_dir)), st
            except SHARD_ERRORS as exc:
                last = exc
                self.pool.failed(st, exc)
                errors += 1
                if errors == 2:
                    break
        raise ShardsUnavailable(f"the Xapian shards failed twice in a row: {last}")

    def _load_userdict(self, st: XapianState) -> None:
        """Queries segment with the user dictionary the generation was built with."""
        if not st.userdict:
            return
        digest = hashlib.blake2b(st.userdict.encode("utf-8"), digest_size=8).hexdigest()
        if digest in self._userdicts:
            return
        path = Path(tempfile.gettempdir()) / f"news-search-userdict-{digest}.txt"
        if not path.is_file():
            path.write_text(st.userdict, encoding="utf-8")
        analysis.load_userdict(path)
        self._userdicts.add(digest)

    def search(self, params: SearchParams, time_limit_ms: float | None = None) -> dict[str, Any]:
        from search_service.core import _search

        started = time.perf_counter()

        def one(engine: XapianEngine) -> dict[str, Any]:
            return engine.st.results.get_or(params.cache_key(), lambda: _search(engine, None, params))
        result, st = self.run(one)
        out = dict(result)
        out["hits"] = [dict(h) for h in result["hits"]]
        out["query"] = dict(result["query"])
        out["timed_out"] = False
        out["partial"] = st.partial
        out["missing_shards"] = list(st.missing)
        out["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return out

    def article(self, article_id: str) -> dict[str, Any]:
        import xapian

        def one(engine: XapianEngine) -> dict[str, Any] | None:
            found = sorted(xq.docset(engine.st, xapian.Query("Q" + article_id)))
            return xq.stored(engine.st, found[0]) if found else None
        fields, _st = self.run(one)
        if fields is None:
            raise NotFound(f"no article with id {article_id[:100]!r}: search for it with /api/search?q=...")
        return fields

    def stats(self) -> dict[str, Any]:
        return self.run(lambda engine: engine.st.cached("stats", engine.stats))[0]

    def marker(self) -> str:
        """Changes whenever the answers may change (ETags, httpcache.py): the state's marker
        (generation, shard revisions, shards left out) and INDEX_DIR's query files."""
        from search_service.synonyms import query_files_stamp

        st = self.pool.state()
        return st.marker + "|" + (query_files_stamp(self.index_dir) if self.index_dir else "-")

    def readiness(self) -> dict[str, Any]:
        """/readyz's body: the shards answer a term lookup and a stored document (raises otherwise)."""
        def one(engine: XapianEngine) -> dict[str, Any]:
            st = engine.st
            live = xq.all_docs(st)
            if live:
                st.db.get_termfreq("Q")  # a term lookup on every shard
                st.db.get_document(min(live)).get_data()
            return {"generation": st.generation, "documents": len(live), "partial": st.partial,
                    "missing_shards": list(st.missing)}
        return self.run(one)[0]

    def caches(self) -> dict[str, Any]:
        """The current state's caches by /metrics name (hits / misses)."""
        st = self.pool.state()
        return {"results": st.results, "term_docs": st.sets, "stored": st.docs}
