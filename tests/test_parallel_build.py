"""A rebuild with 2 processes writes one segment per worker (indexer/parallel_build.py): the same
documents in the same order, the same answers as the one-writer build; a worker that dies or
fails fails the rebuild and leaves the live generation alone."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from indexer import build, enrich
from indexer.build import rebuild
from indexer.demo_data import demo_sources, demo_userdict
from indexer.parallel_build import BuildWorkerFailed, InputSpool, share, spooled
from indexer.segment_build import BuildSegmentWriter
from indexer.store import IndexStore, open_index
from lifecycle_util import many_records, search_answers, write_jsonl
from search_service.index import SearchIndex

QUERIES = ["中国", "地铁", "经济 发展", "新", "\"中国\"", "科技 -地铁", "title:中国", "5g", "的"]
PARAMS = [{}, {"sort": ["newest"]}, {"channel": ["科技"]}, {"date_from": ["2021-01-01"], "date_to": ["2023-12-31"]}]


def extra_inputs(tmp_path: Path) -> Path:
    """Duplicates of demo ids and a bad line, so the main process's bookkeeping is exercised."""
    path = tmp_path / "extra.jsonl"
    rows = [json.dumps(r, ensure_ascii=False) for r in many_records(6, prefix="px")]
    rows.insert(3, "{not json")
    rows.append(rows[0])  # the same id again: a duplicate
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def built(tmp_path: Path, name: str, procs: int) -> tuple[Path, build.BuildReport]:
    sources = [*demo_sources(), str(extra_inputs(tmp_path))]
    report = rebuild(sources, tmp_path / name, userdict=str(demo_userdict()), procs=procs)
    return tmp_path / name, report


def answers(index: Path) -> list[str]:
    return search_answers(index, QUERIES, PARAMS)


def test_shares_are_contiguous_runs_covering_every_worker() -> None:
    assert [share(i, 10, 2) for i in range(10)] == [0] * 5 + [1] * 5
    assert [share(i, 3, 3) for i in range(3)] == [0, 1, 2]
    assert share(12, 10, 2) == 1  # more records than pre-counted: the last worker takes them


def test_two_processes_write_two_segments_with_the_same_content_and_answers(tmp_path: Path) -> None:
    one, r1 = built(tmp_path, "one", 1)
    two, r2 = built(tmp_path, "two", 2)
    assert (r2.indexed, r2.skipped, r2.duplicates) == (r1.indexed, r1.skipped, r1.duplicates)
    assert r1.duplicates == 1 and r1.skipped == 1
    assert [str(p) for p in r2.problems] == [str(p) for p in r1.problems]
    assert list(r2.phases.seconds) == list(r1.phases.seconds)
    ix1, ix2 = (open_index(IndexStore(p).current()) for p in (one, two))
    with ix1.reader() as a, ix2.reader() as b:
        assert len(list(a.leaf_readers())) == 1 and len(list(b.leaf_readers())) == 2
        assert a.doc_count_all() == b.doc_count_all() == r1.indexed
        # Same document numbers: stored fields in the same order.
        assert [a.stored_fields(d) for d in range(a.doc_count_all())] == \
               [b.stored_fields(d) for d in range(b.doc_count_all())]
        for field in ("title", "body", "keywords", "channel"):
            assert list(a.lexicon(field)) == list(b.lexicon(field))
            assert a.field_length(field) == b.field_length(field)
        assert list(a.column_reader("folded")) == list(b.column_reader("folded"))
    with_one = answers(one)
    assert any('"total": 0' not in x for x in with_one)
    assert answers(two) == with_one
    assert not list(two.glob("generations/*/rebuild-input-*"))  # the workers' input spools are gone


def test_a_spool_is_read_while_it_is_written_up_to_its_end_marker(tmp_path: Path) -> None:
    import multiprocessing
    import threading

    spool = InputSpool(str(tmp_path), multiprocessing.get_context("fork"))
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(spooled(spool.path, spool.readable)))
    reader.start()
    for i in range(100):
        spool.put({"n": i, "text": "中" * i})
        if i == 50:
            spool.flush()  # half of it published: the reader takes those and waits for more
    # Published: 32 (FLUSH_ITEMS), 51 (the flush above), 83 (32 more); the last 17 not yet.
    for _ in range(1000):
        if len(got) >= 83:
            break
        reader.join(timeout=0.01)
    reader.join(timeout=0.2)
    assert reader.is_alive() and len(got) == 83
    spool.close()
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert got == [{"n": i, "text": "中" * i} for i in range(100)]
    spool.remove()
    assert not list(tmp_path.iterdir())


@pytest.fixture()
def live_index(tmp_path: Path) -> Path:
    index_dir = tmp_path / "ix"
    rebuild([str(write_jsonl(tmp_path / "old.jsonl", many_records(2, prefix="old")))], index_dir, procs=1)
    return index_dir


def assert_untouched(index_dir: Path) -> None:
    assert (index_dir / "CURRENT").read_text().strip() == "gen-000001"
    assert sorted(p.name for p in (index_dir / "generations").glob("gen-*")) == ["gen-000001"]
    assert len(SearchIndex(index_dir).snapshot().live_docs) == 2


def test_a_worker_that_dies_fails_the_rebuild_and_keeps_the_live_index(
        tmp_path: Path, live_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    analyse = enrich.analyse_item

    def dies_on_the_last(item):
        if getattr(item, "id", "").endswith("0019"):
            os._exit(3)  # a kill in the middle of the second worker's share
        return analyse(item)

    monkeypatch.setattr(enrich, "analyse_item", dies_on_the_last)  # the forked workers inherit it
    new = write_jsonl(tmp_path / "new.jsonl", many_records(20, prefix="new"))
    assert json.loads(new.read_text(encoding="utf-8").splitlines()[-1])["id"].endswith("0019")
    with pytest.raises(BuildWorkerFailed, match="exited with code 3"):
        rebuild([str(new)], live_index, procs=2)
    assert_untouched(live_index)


def test_a_worker_that_raises_fails_the_rebuild_with_its_error(
        tmp_path: Path, live_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(self, **fields):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(BuildSegmentWriter, "add_document", full_disk)  # the workers' writer
    new = write_jsonl(tmp_path / "new.jsonl", many_records(6, prefix="new"))
    with pytest.raises(BuildWorkerFailed, match="No space left on device"):
        rebuild([str(new)], live_index, procs=2)
    assert_untouched(live_index)
