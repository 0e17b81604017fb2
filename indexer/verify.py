"""Verify that a generation can serve searches before anything switches to it (and for `check`).

Opening a Whoosh index only reads its TOC; corruption inside a segment shows up later, at the
first search that touches the damaged bytes. So "verified" here means what searching needs:

* the index opens and every segment's files open;
* every column decodes for every document (the folded text as UTF-8, as the service reads it);
* a sample of stored documents decode, and each is found by a term of its own id;
* with ``full``: every stored document decodes, every posting list decodes and every file is
  read end to end (catches damage anywhere, at the cost of reading the whole index: about 35 s
  for the 19,547-article corpus).

Every failure becomes one line naming what broke; nothing here raises on a damaged index.
"""
from __future__ import annotations

import os
from typing import Any

from whoosh import query as wq

from indexer.errors import IndexDamaged
from indexer.store import Generation, open_index

SAMPLE = 20           # stored documents decoded and looked up by id (quick verification)
_READ_CHUNK = 1 << 20  # bytes read at a time by the end-to-end file read


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{exc.__class__.__name__}{': ' + text if text else ''}"


def read_files_through(gen: Generation) -> list[str]:
    """Read every file of the generation to its end; one problem per unreadable file."""
    problems: list[str] = []
    for name in sorted(os.listdir(gen.path)):
        path = gen.path / name
        if not path.is_file():
            continue
        try:
            with open(path, "rb") as fh:
                while fh.read(_READ_CHUNK):
                    pass
        except OSError as exc:
            problems.append(f"{name} cannot be read to its end: {exc.strerror or exc}")
    return problems


def _check_columns(reader: Any, schema: Any) -> list[str]:
    problems: list[str] = []
    for name in schema.names():
        if not schema[name].column_type:
            continue
        for leaf, offset in reader.leaf_readers():
            try:
                values = leaf.column_reader(name)
                for docnum, value in enumerate(values):
                    if name == "folded" and value:
                        value.decode("utf-8")  # the service decodes it so; garbage must fail here
            except Exception as exc:  # noqa: BLE001 -- any decoding failure is the same damage
                problems.append(f"column {name!r} does not decode (segment at document {offset}): {_describe(exc)}")
                break
    return problems


def _check_stored(searcher: Any, full: bool, sample: int) -> list[str]:
    reader = searcher.reader()
    total = reader.doc_count_all()
    if full:
        docnums = range(total)
    else:
        step = max(1, total // max(1, sample))
        docnums = range(0, total, step)
    problems: list[str] = []
    looked_up = 0
    for docnum in docnums:
        if reader.is_deleted(docnum):
            continue
        try:
            fields = reader.stored_fields(docnum)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"stored fields of document #{docnum} do not decode: {_describe(exc)}")
            if len(problems) >= 10:
                break
            continue
        if looked_up < sample and fields.get("id"):
            looked_up += 1
            try:
                found = docnum in set(searcher.docs_for_query(wq.Term("id", fields["id"])))
            except Exception as exc:  # noqa: BLE001
                problems.append(f"searching id {fields['id']!r} fails: {_describe(exc)}")
                continue
            if not found:
                problems.append(f"document #{docnum} (id {fields['id']!r}) is not found by its own id")
    return problems


def _check_postings(reader: Any) -> list[str]:
    """Walk the term dictionary and every posting list (what a search for any word reads)."""
    problems: list[str] = []
    for leaf, offset in reader.leaf_readers():
        terms = leaf.all_terms()
        while len(problems) < 10:
            try:
                fieldname, text = next(terms)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 -- a garbled term index cannot be walked further
                problems.append(f"the term dictionary of the segment at document {offset} is damaged: "
                                f"{_describe(exc)}")
                break
            try:
                for _ in leaf.postings(fieldname, text).all_ids():
                    pass
            except Exception as exc:  # noqa: BLE001
                word = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
                problems.append(f"the postings of {fieldname}:{word[:20]} (segment at document {offset}) "
                                f"do not decode: {_describe(exc)}")
    return problems


def verify_generation(gen: Generation, *, full: bool = False, sample: int = SAMPLE) -> list[str]:
    """Problems that would break searching `gen` (empty list: safe to make live)."""
    problems = read_files_through(gen) if full else []
    try:
        ix = open_index(gen)
    except IndexDamaged as exc:
        return problems + [str(exc)]
    try:
        with ix.searcher() as searcher:
            problems += _check_columns(searcher.reader(), ix.schema)
            problems += _check_stored(searcher, full, sample)
            if full:
                problems += _check_postings(searcher.reader())
    except Exception as exc:  # noqa: BLE001 -- corruption can surface anywhere in Whoosh
        problems.append(f"reading {gen.name} fails: {_describe(exc)}")
    return problems
