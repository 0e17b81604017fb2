"""Highlight spans on the Xapian shards from the word spans stored at index time (value
SLOT_SPANS, indexer/xapian_doc.py), so a request never segments the hits' text with jieba again.

The answer is the one of segmenting the stored text (indexer.analysis.word_spans with sub-words):
the span of every word that is a query word, or that has the query word among its sub-words
(sub-words carry their parent's span, as Whoosh's character postings do). Instead of walking
every word, each query word is looked for in the folded text and only the words holding one of
its occurrences are checked. A document without stored spans (a shard written before them, or
a text whose tokens could not be placed) is segmented as before.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from indexer import analysis
from indexer import xapian_doc as xd

Span = tuple[int, int]


def _occurrences(folded: str, term: str) -> list[int]:
    out: list[int] = []
    i = folded.find(term)
    while i >= 0:
        out.append(i)
        i = folded.find(term, i + 1)
    return out


def stored_spans(text: str, bounds: tuple[np.ndarray, np.ndarray], terms: Iterable[str],
                 folding: tuple[str, list[int] | None] | None = None) -> list[Span]:
    """Spans (offsets into `text`) of the words, among the stored word `bounds` (folded offsets),
    that are one of `terms` or have one of them as a sub-word. `folding` is analysis.fold(text)
    when the caller has it already."""
    starts, ends = bounds
    terms = [t for t in terms if t]
    if not terms or not len(starts):
        return []
    folded, mapping = folding if folding is not None else analysis.fold(text)
    out: list[Span] = []
    for term in terms:
        occ = _occurrences(folded, term)
        if not occ:
            continue
        pos = np.asarray(occ, dtype=np.int64)
        k = np.searchsorted(starts, pos, side="right") - 1
        ok = k >= 0
        ok[ok] = pos[ok] + len(term) <= ends[k[ok]]
        for w in np.unique(k[ok]).tolist():
            s, e = int(starts[w]), int(ends[w])
            word = folded[s:e]
            if word == term or term in analysis.sub_words(word):
                out.append((s, e) if mapping is None else (mapping[s], mapping[e - 1] + 1))
    return out


def segmented_spans(text: str, terms: set[str]) -> list[Span]:
    """The same spans by segmenting `text` (documents without stored spans)."""
    return [(s, e) for term, _pos, s, e in analysis.word_spans(text, expand=True) if term in terms]


def page_spans(docs: list[tuple[int, dict[str, Any], bytes]], words: set[str], glue: set[str]) -> dict[str, dict[int, list[Span]]]:
    """title / body / title_glue / body_glue spans of each (docid, stored fields, SLOT_SPANS value)."""
    out: dict[str, dict[int, list[Span]]] = {f: {} for f in ("title", "body", "title_glue", "body_glue")}
    if words or glue:
        analysis.ensure_initialised()  # sub_words reads jieba's dictionary
    for d, fields, blob in docs:
        decoded = xd.decode_spans(blob) if blob and (words or glue) else [None, None]
        for f, bounds in zip(("title", "body"), decoded):
            text = str(fields.get(f) or "")
            if not (words or glue):
                out[f][d], out[f + "_glue"][d] = [], []
            elif bounds is not None:
                folding = analysis.fold(text)
                out[f][d] = stored_spans(text, bounds, words, folding)
                out[f + "_glue"][d] = stored_spans(text, bounds, glue, folding)
            else:
                out[f][d] = segmented_spans(text, words)
                out[f + "_glue"][d] = segmented_spans(text, glue)
    return out
