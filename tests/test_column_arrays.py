"""The per-segment column arrays (indexer/columns.py, search_service/column_arrays.py) hold exactly
what Whoosh's postings, field lengths and columns give, stay right through update and delete
commits, and an index without them (older, or arrays lost) answers the same through Whoosh."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer import columns
from indexer.build import rebuild
from indexer.demo_data import demo_sources, demo_userdict
from indexer.update import delete, update
from lifecycle_util import demo_record, many_records, search_answers, write_jsonl
from search_service import column_arrays, facets, scoring
from search_service.index import SearchIndex
from search_service.match import channel_docs, term_docs
from search_service.postings import _leaf_postings, postings

# Low enough that the 50 demo articles have frequent terms in every field.
MIN_DOCS = 3
QUERIES = ["中国", "地铁", "经济 发展", "新", "\"中国\"", "科技 -地铁", "title:中国", "5g", "的"]
PARAMS = [{}, {"sort": ["newest"]}, {"channel": ["科技"]}, {"date_from": ["2021-01-01"], "date_to": ["2023-12-31"]},
          {"channel": ["未分类"]}]


def generic_postings(leaf, fieldname: str, word: str) -> tuple[list[int], list[float]]:
    """Whoosh's public one-match-per-call protocol (deleted documents left out)."""
    m = leaf.postings(fieldname, word)
    ids, tfs = [], []
    while m.is_active():
        ids.append(m.id())
        tfs.append(m.weight())
        m.next()
    return ids, tfs


@pytest.fixture()
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo articles with arrays for every term in >= MIN_DOCS articles, then an update of 4
    articles (3 new, 1 changed) and a delete: three commits, two segments, one deletion set."""
    monkeypatch.setattr(columns, "FREQUENT_DOCS", MIN_DOCS)
    target = tmp_path / "index"
    rebuild(demo_sources(), target, userdict=str(demo_userdict()), procs=1)
    first_id = SearchIndex(target).snapshot().stored(0)["id"]
    changed = dict(demo_record(first_id))
    changed["body"] += "中国地铁的更正段落。"
    records = many_records(MIN_DOCS, prefix="col") + [changed]
    for r in records[:MIN_DOCS]:
        r["channel"] = ""  # the update's segment holds articles without a channel
    update([str(write_jsonl(tmp_path / "u.jsonl", records))], target)
    delete(["col-00001"], target)
    return target


def without_arrays(index: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "plain"
    shutil.copytree(index, copy)
    removed = [p for s in columns.SUFFIXES for p in copy.glob(f"generations/*/*.{s}.npy")]
    assert removed
    for p in removed:
        p.unlink()
    return copy


def test_every_segment_has_arrays_after_update_and_delete(index: Path) -> None:
    snap = SearchIndex(index).snapshot()
    segs = column_arrays.segments(snap)
    assert len(segs) >= 2
    assert column_arrays.complete(snap)
    assert snap.searcher().reader().has_deletions()


def test_stored_postings_equal_whoosh_postings(index: Path) -> None:
    snap = SearchIndex(index).snapshot()
    checked = 0
    for leaf, _offset, cols in column_arrays.segments(snap):
        expected_keys = sorted(columns.term_key(f, t.decode("utf-8")) for f in columns.TERM_FIELDS
                               for t, info in leaf.iter_field(f) if info.doc_frequency() >= MIN_DOCS)
        assert cols.keys.tolist() == expected_keys
        deleted = set(leaf.segment().deleted_docs()) if leaf.has_deletions() else set()
        for key in expected_keys:
            fieldname, word = key.split(columns.KEY_SEP)
            ids, tfs = cols.postings(fieldname, word)
            live = np.array([d not in deleted for d in ids.tolist()], dtype=bool)
            ids, tfs = ids[live], tfs[live]  # written before the delete: the reader filters
            want_ids, want_tfs = generic_postings(leaf, fieldname, word)
            assert ids.tolist() == want_ids, key
            assert tfs.tolist() == np.asarray(want_tfs, dtype=np.float32).tolist(), key
            checked += 1
    assert checked > 100
    assert cols.postings("body", "不在索引里的词") is None


def test_per_document_arrays_equal_whoosh_columns(index: Path) -> None:
    snap = SearchIndex(index).snapshot()
    for fieldname in columns.LENGTH_FIELDS:
        assert column_arrays.field_lengths(snap, fieldname).tolist() == [n or 0 for n in snap.doc_lengths(fieldname)]
    assert column_arrays.ts(snap).tolist() == snap.ts
    assert column_arrays.year(snap).tolist() == snap.year
    for column in ("channel", "year", "month"):
        codes, labels = column_arrays.codes(snap, column)
        assert [labels[c] for c in codes.tolist()] == [v or None for v in getattr(snap, column)], column
    assert set(np.flatnonzero(column_arrays.live_mask(snap)).tolist()) == snap.live_docs
    assert None in [labels[c] for c in column_arrays.codes(snap, "channel")[0].tolist()]


def test_global_postings_and_doc_sets_equal_the_whoosh_path(index: Path, tmp_path: Path) -> None:
    fast = SearchIndex(index).snapshot()
    slow = SearchIndex(without_arrays(index, tmp_path)).snapshot()
    assert not column_arrays.complete(slow)
    words = {k.split(columns.KEY_SEP)[1] for _, _, c in column_arrays.segments(fast) for k in c.keys.tolist()}
    assert len(words) > 50
    for word in sorted(words) + ["独一无二"]:
        for fieldname in columns.TERM_FIELDS:
            a, b = postings(fast, fieldname, word), postings(slow, fieldname, word)
            assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist(), (fieldname, word)
        assert term_docs(fast, ("title", "body"), word) == term_docs(slow, ("title", "body"), word)
    for fieldname in columns.LENGTH_FIELDS:
        assert scoring.field_lengths(fast, fieldname).tolist() == scoring.field_lengths(slow, fieldname).tolist()
    assert scoring.freshness(fast).tolist() == scoring.freshness(slow).tolist()
    assert scoring.year_array(fast).tolist() == scoring.year_array(slow).tolist()
    for value in ("科技", "财经", "没有这个频道"):
        assert channel_docs(fast, value) == channel_docs(slow, value)
    assert facets.no_channel_docs(fast) == facets.no_channel_docs(slow) != frozenset()


def answers(index: Path) -> list[str]:
    return search_answers(index, QUERIES, PARAMS)


def test_an_index_without_arrays_answers_the_same(index: Path, tmp_path: Path) -> None:
    with_arrays = answers(index)
    assert any('"total": 0' not in a for a in with_arrays)
    assert answers(without_arrays(index, tmp_path)) == with_arrays


def test_an_older_index_updated_gets_arrays_for_its_new_segment_only(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns, "FREQUENT_DOCS", MIN_DOCS)
    old = tmp_path / "old"
    rebuild(demo_sources(), old, userdict=str(demo_userdict()), procs=1)
    for p in [p for s in columns.SUFFIXES for p in old.glob(f"generations/*/*.{s}.npy")]:
        p.unlink()
    update([str(write_jsonl(tmp_path / "u.jsonl", many_records(MIN_DOCS, prefix="mix")))], old)
    snap = SearchIndex(old).snapshot()
    assert [cols is not None for _, _, cols in column_arrays.segments(snap)] == [False, True]
    assert not column_arrays.complete(snap) and column_arrays.ts(snap) is None
    for column in ("channel", "year", "month"):  # codes mix both kinds of segment
        codes, labels = column_arrays.codes(snap, column)
        assert [labels[c] for c in codes.tolist()] == [v or None for v in getattr(snap, column)], column
    leaf, offset, cols = column_arrays.segments(snap)[1]
    key = cols.keys.tolist()[0]
    fieldname, word = key.split(columns.KEY_SEP)
    ids, _ = postings(snap, fieldname, word)
    assert ids[ids >= offset].tolist() == [offset + d for d in _leaf_postings(leaf, fieldname, word)[0]]
