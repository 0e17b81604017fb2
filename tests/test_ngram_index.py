"""The n-gram postings behind exact substrings (indexer/ngrams.py, search_service/ngram_index.py):
their candidates always contain every matching document, the arrays follow update and delete
commits, and a segment without arrays is still searched exactly (scanned)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer import ngrams
from indexer.update import delete, update
from lifecycle_util import copy_index, demo_record, many_records, write_jsonl
from search_service import ngram_index
from search_service.index import SearchIndex
from search_service.match import substring_docs

TEXTS = ["中国经济 5G", "经济带\n济南", "", "𠀋字与中文", "aa aa", "经济"]
NEEDLES = ["经济", "经", "济南", "带\n济", "𠀋字", "a", "aa a", "5g", "经济带济", "国经济 5", "没有"]


@pytest.mark.parametrize("needle", NEEDLES)
def test_arrays_give_a_superset_and_single_characters_exactly(needle: str) -> None:
    keys, starts, docs = ngrams.build_arrays(TEXTS)
    grams = ngram_index.SegmentGrams(keys, starts, docs)
    lists = [set(grams.postings(k).tolist()) for k in ngram_index.needle_keys(needle)]
    found = set.intersection(*lists)
    truth = {d for d, t in enumerate(TEXTS) if needle in t}
    assert truth <= found
    if len(needle) == 1:
        assert found == truth


def test_a_bigram_never_spans_two_documents() -> None:
    keys, starts, docs = ngrams.build_arrays(["ab", "cd"])
    grams = ngram_index.SegmentGrams(keys, starts, docs)
    assert grams.postings(ngram_index.needle_keys("bc")[0]).tolist() == []
    assert grams.postings(ngram_index.needle_keys("cd")[0]).tolist() == [1]


def reference_arrays(texts: list[str]) -> tuple[list[int], list[int], list[int]]:
    """(keys, starts, docs) computed the slow way, from Python sets of each text's n-grams."""
    postings: dict[int, set[int]] = {}
    for doc, text in enumerate(texts):
        for i, ch in enumerate(text):
            postings.setdefault(ord(ch) << 21 | 0x1FFFFF, set()).add(doc)
            if i + 1 < len(text):
                postings.setdefault(ord(ch) << 21 | ord(text[i + 1]), set()).add(doc)
    keys = sorted(postings)
    docs = [d for k in keys for d in sorted(postings[k])]
    starts = [0]
    for k in keys:
        starts.append(starts[-1] + len(postings[k]))
    return keys, starts, docs


MANY_TEXTS = [("中国经济的发展" * 3)[i % 7:i % 7 + i % 13] + "aé𠀋\n1"[: i % 6] for i in range(200)]


@pytest.mark.parametrize("chunk", [1, 7, 64, 2000])
def test_arrays_built_in_chunks_equal_the_reference(chunk: int, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setattr(ngrams, "CHUNK_DOCS", chunk)
    want = reference_arrays(MANY_TEXTS)
    keys, starts, docs = ngrams.build_arrays(MANY_TEXTS)
    assert (keys.tolist(), starts.tolist(), docs.tolist()) == want
    # The file writer (spooled pairs, memory-mapped docs) writes the same arrays, and no temporary file.
    chunks = ((i, MANY_TEXTS[i:i + chunk]) for i in range(0, len(MANY_TEXTS), chunk))
    ngrams.write_segment(tmp_path, "SEG", chunks, len(MANY_TEXTS))
    files = ngrams.paths(tmp_path, "SEG")
    written = tuple(np.load(files[s]).tolist() for s in ("ngk", "ngs", "ngd"))
    assert written == want
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in files.values())


def scan(snap, needle: str, title_only: bool = False) -> frozenset[int]:
    texts = [t.split("\n", 1)[0] for t in snap.folded] if title_only else snap.folded
    return frozenset(d for d in snap.live_docs if needle in texts[d])


def segment_files(index: Path) -> tuple[set[str], set[str]]:
    gen = next((index / "generations").iterdir())
    segs = {p.name.split(".")[0] for p in gen.glob("MAIN_*.seg")}
    grams = {p.name.split(".")[0] for p in gen.glob("MAIN_*.ngk.npy")}
    return segs, grams


@pytest.fixture()
def index(demo_index: Path, tmp_path: Path) -> Path:
    return copy_index(demo_index, tmp_path)


DEMO_NEEDLES = ["新", "的", "中国", "第2号稿件", "号稿", "5g", "。", "不存在的字符串"]


def test_searches_through_updates_and_deletes_equal_a_scan(index: Path, tmp_path: Path) -> None:
    changed = dict(demo_record(SearchIndex(index).snapshot().stored(0)["id"]))
    changed["body"] += "独一无二的更正段落。"
    update([str(write_jsonl(tmp_path / "u.jsonl", many_records(3, prefix="ng") + [changed]))], index)
    delete(["ng-00001"], index)
    segs, grams = segment_files(index)
    assert len(segs) >= 2 and grams == segs  # the update's segment got its arrays before its TOC
    snap = SearchIndex(index).snapshot()
    for needle in DEMO_NEEDLES + ["独一无二的更正"]:
        for title_only in (False, True):
            assert substring_docs(snap, needle, title_only) == scan(snap, needle, title_only), needle
    assert substring_docs(snap, "第1号稿件") == frozenset()  # the deleted article
    assert len(substring_docs(snap, "独一无二的更正")) == 1


def test_the_postings_are_used(index: Path) -> None:
    snap = SearchIndex(index).snapshot()
    pool, sure = ngram_index.candidates(snap, "不存在的字符串")
    assert pool == [] and not sure
    pool, sure = ngram_index.candidates(snap, "新")
    assert sure and set(pool) == scan(snap, "新")


def test_a_segment_without_arrays_is_scanned(index: Path, tmp_path: Path) -> None:
    update([str(write_jsonl(tmp_path / "u.jsonl", many_records(2, prefix="nx")))], index)
    gen = next((index / "generations").iterdir())
    newest = max(gen.glob("MAIN_*.ngk.npy"), key=lambda p: p.stat().st_mtime)
    newest.unlink()  # as if an older version (or a killed writer) left the segment without them
    snap = SearchIndex(index).snapshot()
    assert any(grams is None for _o, _n, grams in ngram_index.segments(snap))
    for needle in DEMO_NEEDLES + ["第1号稿件"]:
        assert substring_docs(snap, needle) == scan(snap, needle), needle
    assert len(substring_docs(snap, "第1号稿件")) == 1


def test_an_update_writes_arrays_for_its_own_segments_only(index: Path, tmp_path: Path) -> None:
    gen = next((index / "generations").iterdir())
    for path in gen.glob("MAIN_*.ng?.npy"):
        path.unlink()  # an index built before the n-gram arrays existed
    update([str(write_jsonl(tmp_path / "u.jsonl", many_records(1, prefix="ny")))], index)
    segs, grams = segment_files(index)
    assert len(segs) == 2 and len(grams) == 1  # the new segment only: no conversion on a small update
    snap = SearchIndex(index).snapshot()
    assert substring_docs(snap, "第0号稿件") == scan(snap, "第0号稿件") != frozenset()
