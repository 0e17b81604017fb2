"""The Whoosh segment writer of a rebuild worker (indexer/parallel_build.py), with less Python per posting.

Whoosh's own SegmentWriter, per document, re-runs each field's analyzer (here: replays the tokens
indexer/enrich.py already made), groups the tokens into postings through Token objects, and puts
one 5-tuple per posting into a pool that is sorted as a whole at the flush; the flush then hands
every posting, one call at a time, through three layers of writer objects, each checking types
and updating block statistics. Measured on 3,000 real articles that was about 40% of a worker's
CPU time, more than jieba.

This writer produces the same segment with less work:
- title and body values that carry their analysed tokens (enrich.Pretokenized) are grouped into
  postings directly, encoded by the field's own format (the same bytes as Whoosh's path);
  short repeated values of other fields (author, source, channel, month...) reuse the postings of
  the last time the same value was indexed;
- postings go into a per-term buffer (doc numbers, weights, encoded values), already in doc
  order because documents arrive in doc order, so nothing is sorted but the term keys;
- the flush writes each term's postings a block at a time into Whoosh's own postings writer
  (its block encoding, term info and term table), reading field lengths from one list per field.

The files are Whoosh's: only who calls the block writer changed (private Whoosh API pinned by
tests/test_whoosh_private_api.py). When the buffer grows past its memory limit it is written to a
temporary run file a term at a time (sorted by term, each term's arrays as bytes), and the flush
merges the runs term by term into the same block writer: memory stays at about the buffer's limit
(the 200k-article build peaked at 4.2 GB in one worker when a spill turned every buffered posting
into a Python tuple for Whoosh's pool).
"""
from __future__ import annotations

import heapq
import marshal
import zlib
from array import array
from collections.abc import Iterator
from typing import Any

from whoosh import formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.compat import dumps
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.util.numlists import delta_encode
from whoosh.writing import SegmentWriter

from indexer.analysis import ChineseTokenizer

# Fields whose short values repeat across articles: their postings are computed once per value.
MEMO_FIELDS = frozenset({"author", "source", "channel", "month", "year", "tags"})
MEMO_MAX_CHARS = 200
MEMO_ENTRIES = 20_000
# Rough bytes of Python memory per buffered posting and per buffered term (measured with
# tracemalloc on real articles: arrays of doc numbers and weights, a list of value bytes).
POSTING_BYTES = 24
TERM_BYTES = 560


_TERMINFO = W3TermInfo._struct


class CachedLengths:
    """Field lengths of a finished per-document writer, one list per field: Whoosh's flush asks
    for the length of every posting's document (692k calls for 3,000 articles), each through a
    column reader lookup."""

    def __init__(self, pdr: Any) -> None:
        self.pdr = pdr
        self.count = pdr.doc_count_all()
        self.lists: dict[str, list[int]] = {}

    def field(self, fieldname: str) -> list[int]:
        lengths = self.lists.get(fieldname)
        if lengths is None:
            lengths = self.lists[fieldname] = [self.pdr.doc_field_length(d, fieldname, 0) or 0
                                               for d in range(self.count)]
        return lengths

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        lengths = self.field(fieldname)
        return lengths[docnum] if 0 <= docnum < self.count else default


def grouped_postings(tokens: list[tuple[str, int, int, int]], fmt: Any) -> list[tuple[bytes, int, float, bytes]]:
    """(term bytes, frequency, weight, encoded value) per distinct token text, as the Characters
    format's word_values gives for these tokens replayed by the analyzer (every token boost 1.0)."""
    spans: dict[str, list[tuple[int, int, int]]] = {}
    for text, pos, start, end in tokens:
        found = spans.get(text)
        if found is None:
            spans[text] = [(pos, start, end)]
        else:
            found.append((pos, start, end))
    boost = fmt.field_boost
    encode = fmt.encode
    return [(text.encode("utf-8"), len(group), float(len(group)) * boost, encode(group))
            for text, group in spans.items()]


class TermBuffer:
    """Postings grouped per (field name, term bytes), in the order documents were added: per term
    the doc numbers, the weights, and the encoded values as one byte string with end offsets
    (a bytes object per posting would cost 33 bytes of overhead each)."""

    def __init__(self, limit_bytes: int) -> None:
        self.terms: dict[tuple[str, bytes], tuple[array, array, array, bytearray]] = {}
        self.limit = limit_bytes
        self.size = 0

    def add(self, fieldname: str, docnum: int, items: list[tuple[bytes, int, float, bytes | None]],
            boost: float) -> None:
        terms = self.terms
        size = 0
        for tbytes, _freq, weight, vbytes in items:
            key = (fieldname, tbytes)
            entry = terms.get(key)
            if entry is None:
                entry = terms[key] = (array("I"), array("d"), array("I"), bytearray())
                size += TERM_BYTES + len(tbytes)
            entry[0].append(docnum)
            entry[1].append(weight * boost)
            blob = entry[3]
            if vbytes:
                blob += vbytes
                size += len(vbytes)
            entry[2].append(len(blob))
            size += POSTING_BYTES
        self.size += size

    def full(self) -> bool:
        return self.size > self.limit

    def drain(self) -> Iterator[tuple[tuple[str, bytes], array, array, array, bytearray]]:
        """(key, docs, weights, value ends, value blob) per term in key order, each term freed as
        it is handed out; the buffer is empty afterwards."""
        terms = self.terms
        self.size = 0
        for key in sorted(terms):
            yield (key, *terms.pop(key))


Entry = tuple[tuple[str, bytes], array, array, list[bytes]]


def write_run(handle: Any, buffer: TermBuffer) -> None:
    """The buffer as one run: a marshal record per term, in key order."""
    dump = marshal.dump
    for (fieldname, tbytes), docs, weights, ends, blob in buffer.drain():
        dump((fieldname, tbytes, docs.tobytes(), weights.tobytes(), ends.tobytes(), bytes(blob)), handle, 2)
    handle.close()


def read_run(handle: Any, order: int) -> Iterator[tuple[tuple[str, bytes], int, array, array, list[bytes]]]:
    """The records of a run, with the run's number (runs hold increasing document numbers)."""
    try:
        while True:
            try:
                fieldname, tbytes, docs_b, weights_b, ends_b, blob = marshal.load(handle)
            except EOFError:
                return
            docs, weights, ends = array("I"), array("d"), array("I")
            docs.frombytes(docs_b)
            weights.frombytes(weights_b)
            ends.frombytes(ends_b)
            yield (fieldname, tbytes), order, docs, weights, values(ends, blob)
    finally:
        handle.close()


def merged(runs: list[Iterator[Any]]) -> Iterator[Entry]:
    """One entry per term over every run, postings in document order (runs are merged by
    (term, run number); a term's parts are concatenated in run order)."""
    current = None
    docs = weights = None
    vals: list[bytes] = []
    for key, _order, d, w, v in heapq.merge(*runs, key=lambda rec: (rec[0], rec[1])):
        if key != current:
            if current is not None:
                yield current, docs, weights, vals
            current, docs, weights, vals = key, d, w, v
        else:
            docs.extend(d)
            weights.extend(w)
            vals.extend(v)
    if current is not None:
        yield current, docs, weights, vals


def values(ends: array, blob: bytearray) -> list[bytes]:
    """The encoded values of a term's postings (b"" for none) from their end offsets in `blob`."""
    out = []
    start = 0
    for end in ends:
        out.append(bytes(blob[start:end]))
        start = end
    return out


def supported(schema: Any) -> bool:
    """This writer covers schemas without term vectors and separate spelling fields (ours)."""
    return not any(field.vector or field.separate_spelling() for _name, field in schema.items())


class BuildSegmentWriter(SegmentWriter):
    """A SegmentWriter for one process writing a new segment from start to end (no deletions,
    no updates of earlier documents): see the module docstring."""

    def __init__(self, ix: Any, *, limitmb: int = 128, **kwargs: Any) -> None:
        super().__init__(ix, limitmb=limitmb, **kwargs)
        self.buffer = TermBuffer(limitmb * 1024 * 1024)
        self.memo: dict[tuple[str, str], list[tuple[bytes, int, float, bytes | None]]] = {}
        self.runs: list[str] = []  # spilled runs, in the writer's temporary storage

    def _items(self, fieldname: str, field: Any, value: Any) -> list[tuple[bytes, int, float, bytes | None]]:
        tokens = getattr(value, "tokens", None)
        if tokens is not None and type(field.format) is formats.Characters and isinstance(field.analyzer, ChineseTokenizer):
            return grouped_postings(tokens, field.format)
        if fieldname in MEMO_FIELDS and isinstance(value, (str, int)) and len(str(value)) <= MEMO_MAX_CHARS:
            key = (fieldname, value)
            items = self.memo.get(key)
            if items is None:
                if len(self.memo) >= MEMO_ENTRIES:
                    self.memo.clear()
                items = self.memo[key] = list(field.index(value))
            return items  # their value bytes are copied into the buffer
        return list(field.index(value))

    def add_document(self, **fields: Any) -> None:
        self._check_state()
        schema = self.schema
        perdoc = self.perdocwriter
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, names)
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    items = self._items(name, field, value)
                    if field.scorable:
                        length = sum(item[1] for item in items)
                    self.buffer.add(name, docnum, items, self._field_boost(fields, name, docboost))
                stored = fields.get("_stored_" + name, value)
                perdoc.add_field(name, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    perdoc.add_column_value(name, field.column_type, field.to_column_value(stored))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1
        if self.buffer.full():
            self._spill()

    def _spill(self) -> None:
        """Write the buffer to a run file in the writer's temporary storage (removed with it)."""
        path, handle = self.pool._new_run()
        self.runs.append(path)
        write_run(handle, self.buffer)

    def _entries(self) -> Iterator[Entry]:
        if not self.runs:
            return ((key, docs, weights, values(ends, blob)) for key, docs, weights, ends, blob in self.buffer.drain())
        last = ((key, len(self.runs), docs, weights, values(ends, blob))
                for key, docs, weights, ends, blob in self.buffer.drain())
        return merged([read_run(self.pool._open_run(path), i) for i, path in enumerate(self.runs)] + [last])

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        lengths = CachedLengths(pdr) if pdr else None
        try:
            write_terms(self.fieldwriter, self.schema, self._entries(), lengths)
            self.fieldwriter.close()
        finally:
            if pdr:
                pdr.close()
            for path in self.runs:
                self.pool._remove_run(path)
            self.runs = []


def write_terms(fieldwriter: Any, schema: Any, entries: Iterator[Entry], lengths: CachedLengths | None) -> None:
    """Write the postings of `entries` (in term order) through Whoosh's field writer, a block of
    postings at a time: what FieldWriter.add_postings does one posting at a time, to the same
    bytes. A term whose postings fit in one block (nearly all of them) is encoded here in one go."""
    current = None
    field_lengths: list[int] = []
    for (fieldname, tbytes), docs, weights, vals in entries:
        if fieldname != current:
            if current is not None:
                fieldwriter.finish_field()
            current = fieldname
            fieldwriter.start_field(fieldname, schema[fieldname])
            field_lengths = lengths.field(fieldname) if lengths else []
            one_block = BlockWriter(fieldwriter)
        if len(docs) <= one_block.limit:
            one_block.term(tbytes, docs, weights, vals, field_lengths)
            continue
        fieldwriter.start_term(tbytes)
        postwriter = fieldwriter._postwriter
        blocklimit = postwriter._blocklimit
        n = len(docs)
        for start in range(0, n, blocklimit):
            if start:
                postwriter._write_block()
            end = min(start + blocklimit, n)
            block_weights = weights[start:end]
            postwriter._ids = docs[start:end]
            postwriter._weights = array("f", block_weights)
            postwriter._values = [v for v in vals[start:end] if v]
            postwriter._maxweight = max(0, max(block_weights))
            if field_lengths:
                found = [field_lengths[d] for d in postwriter._ids]
                nonzero = [x for x in found if x]
                postwriter._minlength = min(nonzero) if nonzero else None
                postwriter._maxlength = max(found)
        fieldwriter.finish_term()
    if current is not None:
        fieldwriter.finish_field()


class BlockWriter:
    """One field's terms whose postings fit in one block, written as Whoosh's W3PostingsWriter,
    W3TermInfo and W3FieldWriter.finish_term write them (whoosh/codec/whoosh3.py: the block
    header and its pickled, zlib-compressed (ids, weights, values); the term info row), without
    their per-term objects and calls. tests/test_segment_build.py compares the bytes."""

    def __init__(self, fieldwriter: Any) -> None:
        postwriter = fieldwriter._postwriter
        self.limit = postwriter._blocklimit
        self.compression = postwriter._compression
        self.fixedsize = fieldwriter._format.fixed_value_size()
        self.postfile = postwriter._postfile
        self.tindex = fieldwriter._tindex
        self.prefix = pack_ushort(fieldwriter._fieldid)

    def term(self, tbytes: bytes, docs: array, weights: array, values: list,
             field_lengths: list[int]) -> None:
        n = len(docs)
        w32 = array("f", weights)
        first = w32[0]
        if first == 1.0 and w32.count(1.0) == n:
            mini_weights = None
        elif w32.count(first) == n:
            mini_weights = first
        else:
            mini_weights = tuple(w32)
        fixed = self.fixedsize
        kept = [v for v in values if v]
        if fixed is None or fixed < 0:
            mini_values: Any = tuple(kept)
        elif fixed == 0:
            mini_values = None
        else:
            mini_values = b"".join(kept)
        data = dumps((tuple(delta_encode(docs)), mini_weights, mini_values), 2)
        if self.compression:
            data = zlib.compress(data, self.compression)
        maxweight = max(0, max(weights))
        if field_lengths:
            found = [field_lengths[d] for d in docs]
            nonzero = [x for x in found if x]
            minlength = min(nonzero) if nonzero else None
            maxlength = max(found)
        else:
            minlength, maxlength = None, 0
        info = dumps((n, docs[-1], maxweight, self.compression, length_to_byte(minlength),
                      length_to_byte(maxlength)), 2)
        postfile = self.postfile
        offset = postfile.tell()
        postfile.write(WHOOSH3_HEADER_MAGIC)
        postfile.write_int(-(len(info) + len(data)))  # negative: the last block of the term
        postfile.write(info)
        postfile.write(data)
        extent = len(WHOOSH3_HEADER_MAGIC) + 4 + len(info) + len(data)
        row = _TERMINFO.pack(False, sum(w32), n, 0 if minlength is None else length_to_byte(minlength),
                             length_to_byte(maxlength), maxweight, docs[0], docs[-1])
        self.tindex.add(self.prefix + tbytes, row + pack_long(offset) + pack_int(extent))
