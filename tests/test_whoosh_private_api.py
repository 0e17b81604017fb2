"""Whoosh private API the code relies on, pinned so that a Whoosh upgrade fails here first, with
the place to fix named, instead of silently slowing down or keeping stale files:

- search_service/postings.py reads block postings (_read_ids, _read_weights, _ids, _weights, _i,
  _next_block) and falls back to the slow one-call-per-match protocol when they are gone;
- search_service/index.py opens a pinned commit (FileIndex._read_toc, FileIndex._reader);
- search_service/segment_readers.py rebinds a kept SegmentReader to a later commit's segment
  object (SegmentReader._segment, _gen, _perdoc, _terms; W3PerDocReader._segment);
- indexer/update.py overrides SegmentWriter._commit_toc and calls TOC._latest_generation;
- indexer/segment_build.py writes its spilled runs through PostingPool._new_run, _open_run and
  _remove_run (files in the writer's temporary storage).
"""
from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import pytest
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.reading import TermNotFound
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC
from whoosh.writing import SegmentWriter

from indexer.store import IndexStore, open_index
from indexer.update import INDEX_NAME, GentleWriter, open_writer
from search_service.index import SearchIndex
from search_service.postings import _leaf_postings, postings


def generic_postings(reader, fieldname: str, word: str) -> tuple[list[int], list[float]]:
    m = reader.postings(fieldname, word)
    ids, tfs = [], []
    while m.is_active():
        ids.append(m.id())
        tfs.append(m.weight())
        m.next()
    return ids, tfs


def test_block_postings_private_fields_exist_and_agree_with_the_public_protocol(demo_index: Path) -> None:
    snap = SearchIndex(demo_index).snapshot()
    reader = snap.searcher().reader()
    leaf = reader.leaf_readers()[0][0] if hasattr(reader, "leaf_readers") else reader
    matcher = leaf.postings("body", "地铁")
    matcher = getattr(matcher, "child", matcher)
    assert isinstance(matcher, W3LeafMatcher)
    for name in ("_read_ids", "_read_weights", "_next_block", "_ids", "_weights", "_i"):
        assert hasattr(matcher, name), f"Whoosh's leaf matcher lost {name}: see search_service/postings.py"
    fast = _leaf_postings(leaf, "body", "地铁")
    assert len(fast[0]) > 3
    assert fast == generic_postings(leaf, "body", "地铁")
    ids, tfs = postings(snap, "body", "地铁")
    assert (ids.tolist(), tfs.tolist()) == generic_postings(reader, "body", "地铁")


def test_read_toc_and_reader_open_one_pinned_commit(demo_index: Path) -> None:
    ix = open_index(IndexStore(demo_index).require_current())
    toc = ix._read_toc()
    assert toc.generation == ix.latest_generation()
    reader = ix._reader(ix.storage, toc.schema, list(toc.segments), toc.generation)
    assert reader.doc_count() == ix.doc_count() == 50
    assert list(inspect.signature(ix._reader).parameters)[:4] == ["storage", "schema", "segments", "generation"]


def test_gentle_writer_commits_through_commit_toc_and_keeps_the_old_toc(demo_index: Path, tmp_path: Path) -> None:
    assert "_commit_toc" in inspect.getsource(SegmentWriter.commit)
    assert list(inspect.signature(SegmentWriter._commit_toc).parameters) == ["self", "segments"]
    index_dir = tmp_path / "ix"
    shutil.copytree(demo_index, index_dir)
    gen = IndexStore(index_dir).require_current()
    storage = FileStorage(str(gen.path))
    before = TOC._latest_generation(storage, INDEX_NAME)
    ix, writer = open_writer(gen, wait=0)
    assert isinstance(writer, GentleWriter)
    writer.delete_by_term("id", "demo-001")
    writer.commit()
    assert TOC._latest_generation(storage, INDEX_NAME) == before + 1
    # Whoosh's own _commit_toc deletes the superseded TOC; ours leaves it for readers still on it.
    assert (gen.path / f"_{INDEX_NAME}_{before}.toc").is_file()
    assert open_index(gen).doc_count() == 49


def test_a_rebound_segment_reader_sees_new_deletions_through_the_same_files(demo_index: Path,
                                                                            tmp_path: Path) -> None:
    from whoosh.reading import SegmentReader

    from search_service.segment_readers import rebind

    target = tmp_path / "index"
    shutil.copytree(demo_index, target)
    ix = open_index(IndexStore(target).require_current())
    toc = ix._read_toc()
    seg = toc.segments[0]
    base = SegmentReader(ix.storage, toc.schema, seg, generation=toc.generation)
    for name in ("_segment", "_gen", "_perdoc", "_terms"):
        assert hasattr(base, name), f"Whoosh's SegmentReader lost {name}: see search_service/segment_readers.py"
    assert base._perdoc._segment is seg
    later = ix._read_toc().segments[0]  # the same segment as another commit's TOC has it
    assert later is not seg and later.segment_id() == seg.segment_id()
    later.delete_document(0)
    assert not base.deleted_docs_set  # computed (and cached in the instance) before the rebind
    rebound = rebind(base, later, toc.schema, toc.generation + 1)
    assert rebound._terms is base._terms and rebound.segment() is later
    assert rebound.is_deleted(0) and not base.is_deleted(0)
    assert rebound.doc_count() == base.doc_count() - 1
    assert 0 in set(base.all_doc_ids()) and 0 not in set(rebound.all_doc_ids())
    doc_id = base.stored_fields(0)["id"]
    assert base.first_id("id", doc_id) == 0
    with pytest.raises(TermNotFound):  # deleted docs are filtered out of the new view's postings
        rebound.first_id("id", doc_id)
    assert rebound.stored_fields(1) == base.stored_fields(1)


def test_posting_pool_run_files_round_trip_in_the_writers_temporary_storage(tmp_path: Path) -> None:
    from whoosh import index as whoosh_index

    from indexer.schema import build_schema

    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = SegmentWriter(ix)
    try:
        path, handle = writer.pool._new_run()
        handle.write(b"run bytes")
        handle.close()
        reader = writer.pool._open_run(path)
        assert reader.read() == b"run bytes"
        reader.close()
        assert writer._tempstorage.file_exists(path)
        writer.pool._remove_run(path)
        assert not writer._tempstorage.file_exists(path)
    finally:
        writer.cancel()
