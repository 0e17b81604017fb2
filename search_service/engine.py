"""The Engine seam: what the search core (core.py) needs from an index, as one narrow interface.

core.search talks to the index only through an ``Engine``: it parses the query itself, then asks
the engine to match it to a doc set, restrict it by the filters, rank it, count facets, and fetch
one page's stored fields and highlight spans. Every call takes or returns whole sets or whole pages
(never one call per document), so an engine that lives across the network (a later issue) costs
a handful of round trips per search.

Doc numbers are the engine's own handles for one generation: they are only ever handed back to the
same engine object, never shown to readers (hits carry the stored ``id``).

``WhooshEngine`` is today's implementation over one ``Snapshot``: it wraps match.py (doc sets),
facets.py (filters and counts), scoring.py (the numpy BM25F ranker), highlight.page_spans (spans
from the postings) and the snapshot's stored fields.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from indexer.store import IndexStore, archive_stats
from search_service import facets as facet_mod
from search_service import hit_spans
from search_service.highlight import Span
from search_service.index import SearchIndex, Snapshot
from search_service.match import Plan, plan
from search_service.params import SearchParams
from search_service.reprints import groups
from search_service.query import Node
from search_service.scoring import order

FilterSets = dict[str, frozenset[int] | None]
# Per field ("title", "body", and "title_glue"/"body_glue" for single-character words marked next
# to a mark), per doc number: (start, end) character spans into the stored text.
PageSpans = dict[str, dict[int, list[Span]]]


@runtime_checkable
class Engine(Protocol):
    def generation(self) -> str:
        """Name of the index state answering (e.g. gen-000003): part of every result."""

    def stats(self) -> dict[str, Any]:
        """What the archive holds: documents, channels, date range, generation, size, build time."""

    def match(self, node: Node, params: SearchParams, may_drop_words: Callable[[], bool] = lambda: True) -> Plan:
        """The exact doc set of a parsed query, and what ranks and highlights its hits; unless
        `params.relax` is false, relaxed as relax.py says, counting matches within the filters of
        `params`, and dropping content words only when `may_drop_words()` allows it."""

    def filter(self, docs: frozenset[int], params: SearchParams) -> tuple[frozenset[int], FilterSets]:
        """`docs` restricted by the filters of `params` (channel, dates, author, source), and the
        set of each filter (None when not given), which the facet counts need."""

    def rank(self, p: Plan, docs: frozenset[int], sort: str) -> Sequence[tuple[int, float | None]]:
        """Every doc of `docs` in result order with its score (None for date sorts)."""

    def facet_counts(self, p: Plan, sets: FilterSets, params: SearchParams) -> dict[str, list[dict[str, Any]]]:
        """Multi-select facet counts of the matched set (each facet ignores its own filter)."""

    def histogram(self, docs: frozenset[int], interval: str) -> list[dict[str, Any]]:
        """Counts of `docs` per day, month or year."""

    def stored(self, docnums: Sequence[int]) -> list[dict[str, Any]]:
        """Stored fields of each doc number, in the same order."""

    def highlight_spans(self, p: Plan, docnums: Sequence[int]) -> PageSpans:
        """Spans of the plan's words in the title and body of a page of docs."""

    def reprint_groups(self) -> dict[int, Any]:
        """Doc number -> reprint group key, for the docs that have reprints (collapse)."""


class WhooshEngine:
    """The Engine over one Whoosh snapshot (search_service.index); cheap to create per search."""

    def __init__(self, snap: Snapshot, store: IndexStore) -> None:
        self.snap = snap
        self.store = store  # the size on disk and the previous generation are the store's

    def generation(self) -> str:
        return self.snap.gen.name

    def stats(self) -> dict[str, Any]:
        # Once per snapshot: /api/stats no longer reopens the index on every request.
        snap = self.snap
        return snap.cached("public_stats", lambda: archive_stats(self.store, snap.gen, snap.searcher().reader()))

    def match(self, node: Node, params: SearchParams, may_drop_words: Callable[[], bool] = lambda: True) -> Plan:
        sets = facet_mod.filter_sets(self.snap, params)
        return plan(self.snap, node, allow_relax=params.relax, restrict=lambda found: facet_mod.apply(found, sets),
                    may_drop_words=may_drop_words)

    def filter(self, docs: frozenset[int], params: SearchParams) -> tuple[frozenset[int], FilterSets]:
        sets = facet_mod.filter_sets(self.snap, params)
        return facet_mod.apply(docs, sets), sets

    def rank(self, p: Plan, docs: frozenset[int], sort: str) -> Sequence[tuple[int, float | None]]:
        # Coverage (relaxed queries), then BM25F x proximity x aboutness x year x freshness (scoring.py).
        units = [u.docs for u in p.relaxed.units] if p.relaxed is not None else None
        # Sorted as far as it is read (ranking.py): a page and its reprints, not every match.
        return order(self.snap, docs, sort, p.terms, p.near, units, p.years)

    def facet_counts(self, p: Plan, sets: FilterSets, params: SearchParams) -> dict[str, list[dict[str, Any]]]:
        return facet_mod.facet_counts(self.snap, p.docs, sets, params)

    def histogram(self, docs: frozenset[int], interval: str) -> list[dict[str, Any]]:
        return facet_mod.histogram(self.snap, docs, interval)

    def stored(self, docnums: Sequence[int]) -> list[dict[str, Any]]:
        return [self.snap.stored(d) for d in docnums]

    def highlight_spans(self, p: Plan, docnums: Sequence[int]) -> PageSpans:
        docs = list(docnums)
        # Only the posting blocks holding a hit are read (hit_spans.py).
        out = {f: hit_spans.page_spans(self.snap, f, docs, p.words) for f in ("title", "body")}
        out.update({f + "_glue": hit_spans.page_spans(self.snap, f, docs, p.glue) for f in ("title", "body")})
        return out

    def reprint_groups(self) -> dict[int, Any]:
        return groups(self.snap)



def engine_for(index: SearchIndex) -> WhooshEngine:
    """The engine answering for the index's current snapshot (one per search: a search in flight
    keeps its snapshot while the next one sees a new generation)."""
    return WhooshEngine(index.snapshot(), index.store)
