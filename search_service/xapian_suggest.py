"""Suggestions and did-you-mean (suggest.py, suggest_items.py) on the Xapian shards.

suggest.build needs the words of the titles and keywords weighted by document frequency, and the
titles newest first. On the shards these are the ``K`` (keywords, weight 2) and ``T`` (title,
weight 1) word terms with their term frequencies (``allterms`` with the prefix; the
per-character ``T#`` terms are not words), and the stored titles ordered by the date column.
``SuggestView`` is what suggest.py calls a snapshot: it answers ``cached`` (per XapianState) and
``suggest_inputs``; everything else (prefix index, pinyin, corrections) is suggest.py's own code.

Did-you-mean counts a correction as the search would: the Engine's match (relaxation off), the
filters and the reprint folding.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

from indexer.analysis import fold_text
from search_service import suggest as sg
from search_service import xapian_query as xq
from search_service.core import collapse_by
from search_service.params import SearchParams
from search_service.query import parse_query
from search_service.xapian_pool import XapianState

# The engine and index (xapian_engine.py) are typed Any here: xapian_engine calls this module.
WORD_PREFIXES = (("K", 2.0), ("T", 1.0))


class SuggestView:
    """The part of a snapshot suggest.py and suggest_items.py read, over one XapianState."""

    def __init__(self, st: XapianState) -> None:
        self.st = st

    def cached(self, key: Any, make: Any) -> Any:
        return self.st.cached(("suggest", key), make)

    def suggest_inputs(self) -> tuple[dict[str, float], list[tuple[str, str]]]:
        db = self.st.db
        weights: dict[str, float] = defaultdict(float)
        for prefix, factor in WORD_PREFIXES:
            for item in db.allterms(prefix):
                word = item.term.decode("utf-8", "replace")[len(prefix):]
                if word.startswith("#") or not sg._useful(word):
                    continue
                weights[word] += factor * item.termfreq
        ts = xq.ts_array(self.st)
        live = sorted(xq.all_docs(self.st), key=lambda d: (-int(ts[d]), d))[:sg.MAX_TITLES]
        titles = []
        for d in live:
            title = (xq.stored(self.st, d).get("title") or "").strip()
            titles.append((title, fold_text(title)))
        return dict(weights), titles


def view(index: Any) -> SuggestView:
    """The current state's view with its suggestion data built (under the state's lock), for
    callers that read it outside a search (publiclists.correction_of: /api/hot corrections)."""
    def one(engine: Any) -> SuggestView:
        found = SuggestView(engine.st)
        sg.suggest_data(found)
        return found
    return index.run(one)[0]


def items(index: Any, text: str, limit: int, frequent: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """suggest_items.items on the shards."""
    from search_service import suggest_items

    return index.run(lambda engine: suggest_items.items(SuggestView(engine.st), text, limit, frequent))[0]


def count(engine: Any, q: str, params: SearchParams) -> int:
    """What `total` would be for query `q` with the filters and collapsing of `params` (exact words)."""
    p = engine.match(parse_query(q), dataclasses.replace(params, relax=False))
    docs, _sets = engine.filter(p.docs, params)
    return collapse_by(engine.reprint_groups(), [], docs, 0)[1] if params.collapse else len(docs)


def did_you_mean(engine: Any, q: str, total: int, params: SearchParams) -> dict[str, Any] | None:
    """suggest.did_you_mean on the shards."""
    return sg.did_you_mean(SuggestView(engine.st), q, total, lambda cand: count(engine, cand, params))
