"""The /help examples (help_examples.py) chosen from the Xapian shards being served.

help_examples.build picks the examples from a few facts about the archive; here they come from
the shards: stored keywords with their document counts (the ``K`` terms' frequencies), the
newest articles' stored fields (the date column), the channel and year columns. The candidate
queries are then searched through the app's index like any search, so each example finds
something on this engine. Built once per state (a new generation or commit gets new examples).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from indexer import xapian_doc as xd
from search_service import xapian_query as xq
from search_service.xapian_pool import XapianState


class XapianFacts:
    """help_examples.WhooshFacts over one XapianState (`sample` newest articles), read eagerly (under the state's lock)."""

    def __init__(self, st: XapianState, sample: int) -> None:
        self.keywords = {item.term.decode("utf-8", "replace")[1:]: item.termfreq for item in st.db.allterms("K")}
        live = xq.all_docs(st)
        self.newest = [fields for _d, fields in xq.newest_stored(st, sample)]
        channels = xq.text_column(st, xd.SLOT_CHANNEL)
        self.channels = Counter(channels[d] for d in live if channels.get(d))
        years = xq.text_column(st, xd.SLOT_YEAR)
        self.years = Counter(int(years[d]) for d in live if years.get(d) and int(years[d]) > 0)

    def keyword_counts(self) -> dict[str, int]:
        return self.keywords

    def newest_values(self, fieldname: str, n: int) -> list[str]:
        return [f.get(fieldname) or "" for f in self.newest[:n]]

    def channel_counts(self) -> Counter:
        return self.channels

    def year_counts(self) -> Counter:
        return self.years


def facts(index: Any, sample: int) -> tuple[XapianFacts, Any]:
    """The facts of the current state (read under its lock) and the state, which caches the
    examples built from them (help_examples.examples runs the searches outside the lock)."""
    return index.run(lambda engine: XapianFacts(engine.st, sample))
