"""Query leaves as Xapian queries and exact doc sets over one XapianState.

The rules are match.py's, term for term (docs/xapian.md lists the mapping):

- a word of two or more characters matches the articles holding it as a word (``T<word>`` /
  ``B<word>``, sub-words included, as the Whoosh postings), plus, for a mixed token such as
  ``iphone15``, the articles writing it spaced (``iphone 15``); when that finds nothing, or for a
  single character, it matches where its characters appear as an exact substring;
- an exact substring without white space is a phrase of consecutive per-character terms
  (``T#``/``B#``, OP_PHRASE with window = its length; one character is the term itself); with
  white space inside, the phrases of its pieces give the candidates and the stored text confirms
  them, exactly as the Whoosh scan compares the folded text;
- author:/source: are the word terms (``A``/``S``), a phrase of several words confirmed on the
  stored field's token positions (Whoosh's Phrase query);
- channel and date filters read per-document columns built once per state from the value slots.

Doc numbers are the docids of the combined database of the state.
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import xapian

from indexer import xapian_doc as xd
from indexer.analysis import fold_text, word_spans, words
from search_service.xapian_pool import XapianState

PREFIX = {"title": "T", "body": "B", "keywords": "K", "author": "A", "source": "S"}
VERIFY_BATCH = 512


def all_docs(st: XapianState) -> frozenset[int]:
    """Every document of the generation served."""
    return st.cached("all_docs", lambda: docset(st, st.gen_query))


def docset(st: XapianState, query: xapian.Query) -> frozenset[int]:
    """The exact set of docids matching `query` in the served generation (cached per state)."""
    def make() -> frozenset[int]:
        enq = xapian.Enquire(st.db)
        enq.set_query(xapian.Query(xapian.Query.OP_FILTER, query, st.gen_query))
        enq.set_weighting_scheme(xapian.BoolWeight())
        enq.set_docid_order(xapian.Enquire.DONT_CARE)
        n = max(st.db.get_doccount(), 1)
        return frozenset(mset_docids(enq.get_mset(0, n, n)))
    return st.sets.get_or(str(query), make)


def mset_docids(mset: xapian.MSet) -> list[int]:
    """The docids of an MSet in its order. The bindings' MSetItem reads six fields per item (six
    calls into Xapian); only the docid is wanted here."""
    out: list[int] = []
    it, end = mset._begin(), mset._end()
    docid, at_end = it.get_docid, it.equals
    for _ in range(mset.size()):
        if at_end(end):
            break
        out.append(docid())
        next(it)
    return out


def postings(st: XapianState, term: str) -> tuple[np.ndarray, np.ndarray]:
    """(docids, wdf) of one term over every shard of the state (all generations a remote shard
    holds), cached per state with the doc sets.

    Read through Xapian's iterator directly: the bindings' PostingItem also asks each posting's
    document length, which on a remote shard is one round trip per posting (lengths come from
    doc_lengths instead)."""
    def make() -> tuple[np.ndarray, np.ndarray]:
        # (No get_termfreq first: on remote shards that is one more round trip per shard.)
        it, end = st.db._postlist_begin(term), st.db._postlist_end(term)
        docid, wdf, at_end = it.get_docid, it.get_wdf, it.equals
        got_ids: list[int] = []
        got_wdf: list[int] = []
        while not at_end(end):
            got_ids.append(docid())
            got_wdf.append(wdf())
            next(it)
        if not got_ids:
            return _NO_IDS, _NO_WDF
        return np.asarray(got_ids, dtype=np.int64), np.asarray(got_wdf, dtype=np.float64)
    return st.sets.get_or(("postings", term), make)


_NO_IDS = np.zeros(0, dtype=np.int64)
_NO_WDF = np.zeros(0, dtype=np.float64)


def live_mask(st: XapianState) -> np.ndarray:
    """True per docid of the generation served (index = docid)."""
    def make() -> np.ndarray:
        mask = np.zeros(st.db.get_lastdocid() + 1, dtype=bool)
        live = all_docs(st)
        if live:
            mask[np.fromiter(live, dtype=np.int64, count=len(live))] = True
        return mask
    return st.cached("live_mask", make)


def doc_lengths(st: XapianState) -> np.ndarray:
    """Xapian's document length per docid (index = docid): value SLOT_DOCLEN, loaded once per
    state as the other columns; documents written without it ask the database (one call each)."""
    def make() -> np.ndarray:
        arr = np.full(st.db.get_lastdocid() + 1, -1, dtype=np.int64)
        for d, v in column(st, xd.SLOT_DOCLEN).items():
            if v:
                arr[d] = int(v)
        missing = np.flatnonzero(arr < 0).tolist()
        live = live_mask(st)
        for d in missing:
            if d and (live[d] or st.gen_query is xapian.Query.MatchAll):
                try:
                    arr[d] = st.db.get_doclength(d)
                except xapian.DocNotFoundError:
                    arr[d] = 0
            else:
                arr[d] = 0
        return arr
    return st.cached("doclen", make)


def stored(st: XapianState, docid: int) -> dict[str, Any]:
    return st.docs.get_or(docid, lambda: _fetch(st, docid))


def _fetch(st: XapianState, docid: int) -> dict[str, Any]:
    """A document's stored fields; its word spans (value SLOT_SPANS, for highlights) are kept
    too, since the document is at hand (a remote shard sends the values with the data)."""
    doc = st.db.get_document(docid)
    st.spans[docid] = doc.get_value(xd.SLOT_SPANS)
    return json.loads(doc.get_data().decode("utf-8"))


def spans_value(st: XapianState, docid: int) -> bytes:
    """The SLOT_SPANS value of a document (b"" when it has none)."""
    found = st.spans.get(docid)
    if found is None:
        found = st.spans[docid] = st.db.get_document(docid).get_value(xd.SLOT_SPANS)
    return found


def stored_many(st: XapianState, docids: Iterable[int]) -> dict[int, dict[str, Any]]:
    return {d: stored(st, d) for d in docids}


def _chars_query(prefix: str, needle: str) -> xapian.Query:
    terms = [prefix + ch for ch in needle]
    if len(terms) == 1:
        return xapian.Query(terms[0])
    return xapian.Query(xapian.Query.OP_PHRASE, terms, len(terms))


def _or(queries: list[xapian.Query]) -> xapian.Query:
    return queries[0] if len(queries) == 1 else xapian.Query(xapian.Query.OP_OR, queries)


def _and(queries: list[xapian.Query]) -> xapian.Query:
    return queries[0] if len(queries) == 1 else xapian.Query(xapian.Query.OP_AND, queries)


def substring_docs(st: XapianState, needle: str, title_only: bool = False) -> frozenset[int]:
    """Articles whose folded title (+ body) contains `needle` (already folded, spaces single)."""
    if not needle:
        return all_docs(st)
    prefixes = ("T#",) if title_only else ("T#", "B#")
    pieces = needle.split(" ")
    if len(pieces) == 1:
        return docset(st, _or([_chars_query(p, needle) for p in prefixes]))
    key = ("verified", needle, title_only)
    found = st.sets.get(key)
    if found is not None:
        return found
    candidates = docset(st, _and([_or([_chars_query(p, piece) for p in prefixes]) for piece in pieces if piece]))

    def holds(d: int) -> bool:
        folded = folded_text(st, d)
        return needle in (folded.split("\n", 1)[0] if title_only else folded)
    found = frozenset(d for d in sorted(candidates) if holds(d))
    st.sets.get_or(key, lambda: found)
    return found


def folded_text(st: XapianState, docid: int) -> str:
    """The folded title + "\n" + body of an article (Whoosh's `folded` column), kept per state
    (bounded): what substring confirmation and proximity read."""
    def make() -> str:
        value = st.db.get_document(docid).get_value(xd.SLOT_FOLDED)  # folded at index time
        if value:
            return zlib.decompress(value).decode("utf-8")
        fields = stored(st, docid)  # a shard written before value 8
        return fold_text(fields.get("title", "") + "\n" + fields.get("body", ""))
    return st.folded.get_or(docid, make)


def _confirmed(st: XapianState, candidates: frozenset[int], holds: Callable[[dict[str, Any]], bool]) -> list[int]:
    return [d for d in sorted(candidates) if holds(stored(st, d))]


def word_docs(st: XapianState, word: str, title_only: bool) -> frozenset[int]:
    """Articles holding `word` as an indexed word (title, or title and body): the terms'
    postings (shared with the ranking) in the generation served."""
    prefixes = ("T",) if title_only else ("T", "B")
    terms = [p + word for p in prefixes if len((p + word).encode("utf-8")) <= xd.MAX_TERM_BYTES]
    if not terms:
        return frozenset()

    def make() -> frozenset[int]:
        found = [postings(st, t)[0] for t in terms]
        ids = found[0] if len(found) == 1 else np.concatenate(found)
        if st.gen_query is not xapian.Query.MatchAll:
            ids = ids[live_mask(st)[ids]]
        return frozenset(ids.tolist())
    return st.sets.get_or(("words", word, title_only), make)


def field_phrase_docs(st: XapianState, fieldname: str, text: str) -> frozenset[int]:
    """author:/source: as Whoosh's Term or Phrase on that field's index-mode tokens."""
    ws = words(text)
    if not ws:
        return frozenset()
    prefix = PREFIX[fieldname]
    candidates = docset(st, _and([xapian.Query(prefix + w) for w in ws]))
    if len(ws) == 1:
        return candidates
    key = ("phrase", fieldname, tuple(ws))
    found = st.sets.get(key)
    if found is not None:
        return found

    def holds(fields: dict[str, Any]) -> bool:
        at: dict[int, set[str]] = {}
        for term, pos, _s, _e in word_spans(str(fields.get(fieldname) or ""), expand=True):
            at.setdefault(pos, set()).add(term)
        return any(all(w in at.get(p + i, ()) for i, w in enumerate(ws)) for p in list(at))
    found = frozenset(_confirmed(st, candidates, holds))
    st.sets.get_or(key, lambda: found)
    return found


def doc_frequency(st: XapianState, text: str) -> int:
    """synonyms._doc_count on Xapian: the smallest document frequency of the words of `text`."""
    counts = [max(st.db.get_termfreq("T" + w), st.db.get_termfreq("B" + w)) for w in words(text) if len(w) > 1]
    return min(counts) if counts else 0


# -- columns (one pass per value slot and state) ---------------------------------------------------

def column(st: XapianState, slot: int) -> dict[int, bytes]:
    """docid -> value of `slot` for every document of the generation (absent: no value).

    One match over the whole generation sorted by the slot, and a ValueCountMatchSpy on it,
    give every docid in value order and how many documents hold each value; both work the same
    on local and remote shards (a value stream of a remote database reads one document per call)."""
    def make() -> dict[int, bytes]:
        enq = xapian.Enquire(st.db)
        enq.set_query(st.gen_query)
        enq.set_weighting_scheme(xapian.BoolWeight())
        enq.set_sort_by_value(slot, False)
        spy = xapian.ValueCountMatchSpy(slot)
        enq.add_matchspy(spy)
        n = max(st.db.get_doccount(), 1)
        ordered = [m.docid for m in enq.get_mset(0, n, n)]
        counts = sorted((item.term, item.termfreq) for item in spy.values())
        empty = len(ordered) - sum(c for _v, c in counts)
        out: dict[int, bytes] = {}
        i = empty  # documents without the value sort first
        for value, count in counts:
            for d in ordered[i:i + count]:
                out[d] = value
            i += count
        return out
    return st.cached(("column", slot), make)


def ts_column(st: XapianState) -> dict[int, int]:
    def make() -> dict[int, int]:
        return {d: int(round(xapian.sortable_unserialise(v))) for d, v in column(st, xd.SLOT_TS).items()}
    return st.cached("ts", make)


def text_column(st: XapianState, slot: int) -> dict[int, str]:
    return st.cached(("text", slot), lambda: {d: v.decode("utf-8") for d, v in column(st, slot).items() if v})


def coded_column(st: XapianState, slot: int, kind: type = str) -> tuple[np.ndarray, list[Any]]:
    """A text column as (code per docid, -1 without a value; the values by code), for counting
    over doc sets with numpy (facets)."""
    def make() -> tuple[np.ndarray, list[Any]]:
        col = text_column(st, slot)
        labels = sorted(set(col.values()))
        index = {v: i for i, v in enumerate(labels)}
        codes = np.full(st.db.get_lastdocid() + 1, -1, dtype=np.int64)
        if col:
            codes[np.fromiter(col.keys(), dtype=np.int64, count=len(col))] = \
                np.fromiter((index[v] for v in col.values()), dtype=np.int64, count=len(col))
        return codes, [kind(v) for v in labels]
    return st.cached(("coded", slot, kind), make)


def ts_array(st: XapianState) -> np.ndarray:
    """ts per docid (index = docid; -1 undated or no document)."""
    def make() -> np.ndarray:
        ts = ts_column(st)
        arr = np.full(st.db.get_lastdocid() + 1, -1, dtype=np.int64)
        if ts:
            arr[np.fromiter(ts.keys(), dtype=np.int64)] = np.fromiter(ts.values(), dtype=np.int64)
        return arr
    return st.cached("ts_array", make)


def newest_stored(st: XapianState, n: int) -> list[tuple[int, dict[str, Any]]]:
    """(docid, stored fields) of the `n` newest documents, newest first (undated last, ties by
    docid): one match sorted by the date slot, its documents fetched in one batch (MSet.fetch:
    one round trip per remote shard, not one per document)."""
    enq = xapian.Enquire(st.db)
    enq.set_query(st.gen_query)
    enq.set_weighting_scheme(xapian.BoolWeight())
    enq.set_sort_by_value(xd.SLOT_TS, True)
    mset = enq.get_mset(0, max(n, 1), max(n, 1))
    mset.fetch()
    out = []
    for m in mset:
        st.spans[m.docid] = m.document.get_value(xd.SLOT_SPANS)
        fields = st.docs.get_or(m.docid, lambda: json.loads(m.document.get_data().decode("utf-8")))
        out.append((m.docid, fields))
    return out
