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

from collections import defaultdict
from typing import Any

from indexer.analysis import fold_text, words
from search_service import spelling
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

    def __init__(self, st: XapianState, matcher: Any = None) -> None:
        self.st = st
        self.matcher = matcher  # xapian_match.Matcher: spelling.py's evidence (not needed to suggest)

    @property
    def live_docs(self) -> frozenset[int]:
        return xq.all_docs(self.st)

    def leaf_docs(self, leaf: Any) -> frozenset[int]:
        return self.matcher.leaf_docs(leaf)

    def attested_docs(self, text: str) -> frozenset[int]:
        """spelling._attested: the articles holding every word of folded `text` (two characters
        or more) as a word, and, for several words, `text` itself as an exact substring."""
        ws = words(text)
        long_words = [w for w in ws if len(w) > 1]
        if not long_words:
            return xq.substring_docs(self.st, text)
        docs: frozenset[int] | None = None
        for w in sorted(long_words, key=len, reverse=True):
            found = xq.word_docs(self.st, w, False)
            docs = found if docs is None else docs & found
            if not docs:
                return frozenset()
        assert docs is not None
        return docs if len(ws) == 1 else docs & xq.substring_docs(self.st, text)

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
        titles = []
        for _d, fields in xq.newest_stored(self.st, sg.MAX_TITLES):
            title = (fields.get("title") or "").strip()
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
    """core.count_results on the shards: what `total` would be for query `q` with the filters and
    collapsing of `params` (every word required, stop words left out)."""
    docs, _sets = engine.filter(engine.m.evaluate(engine.m.without_stop_terms(parse_query(q))), params)
    return collapse_by(engine.reprint_groups(), [], docs, 0)[1] if params.collapse else len(docs)


def did_you_mean(engine: Any, q: str, total: int, params: SearchParams) -> dict[str, Any] | None:
    """spelling.did_you_mean on the shards."""
    return spelling.did_you_mean(SuggestView(engine.st, engine.m), q, total, lambda cand: count(engine, cand, params))


def autocorrect(engine: Any, params: SearchParams) -> Any:
    """spelling.autocorrect on the shards: the Correction to search instead, or None."""
    return spelling.autocorrect(SuggestView(engine.st, engine.m), params, lambda cand: count(engine, cand, params))
