"""Query-time synonyms and extra stop words, read from INDEX_DIR/synonyms.txt and stopwords.txt.

Loaded once per Snapshot. ``SearchIndex`` folds the files' stamps into its change marker, so
editing either file starts a new snapshot within a check interval: no reindex and no restart,
and no cached result outlives the file it was computed from.
"""
from __future__ import annotations

from collections.abc import Sequence

from indexer.dictionaries import QueryDictionaries, load_query_dictionaries, synonym_units
from search_service.index import Snapshot


def query_dictionaries(snap: Snapshot) -> QueryDictionaries:
    root = snap.gen.path.parent.parent  # INDEX_DIR/generations/gen-NNNNNN -> INDEX_DIR
    return snap.cached("query_dictionaries", lambda: load_query_dictionaries(root))


def extra_stop_words(snap: Snapshot) -> frozenset[str]:
    return query_dictionaries(snap).stop_words


def units(snap: Snapshot, words: Sequence[str]) -> list[list[tuple[str, ...]]]:
    """Query words grouped into units, each with its alternatives (own words first); a word
    without synonyms is a unit with one alternative."""
    table = query_dictionaries(snap).synonyms
    if not table.table:
        return [[(w,)] for w in words]
    return synonym_units(words, table)
