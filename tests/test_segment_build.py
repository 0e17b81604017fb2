"""The rebuild workers' segment writer (indexer/segment_build.py) writes the very files Whoosh's
own SegmentWriter writes for the same documents: postings, term table, stored fields, lengths and
columns, byte for byte; also when its buffer overflows into run files merged at the flush."""
from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from indexer import analysis, enrich, segment_build
from indexer.model import Article
from indexer.schema import build_schema
from indexer.segment_build import BuildSegmentWriter, grouped_postings, supported
from lifecycle_util import many_records


def articles(n: int) -> list[Article]:
    out = []
    for i, rec in enumerate(many_records(n, prefix="seg")):
        rec = dict(rec)
        if i % 7 == 3:
            rec.pop("channel", None)  # a field missing in some documents
        if i % 5 == 1:
            rec["author"] = "新华社记者 王小明"  # repeated short values (the memo path)
        out.append(Article(id=rec["id"], title=rec.get("title", ""), body=rec.get("body", ""),
                           channel=rec.get("channel"), published=rec.get("published"), author=rec.get("author"),
                           source=rec.get("source"), url=rec.get("url"), tags=list(rec.get("tags") or [])))
    return out


def segment_files(tmp_path: Path, name: str, writer_class: type, docs: list[dict]) -> dict[str, bytes]:
    """The files of the one segment `writer_class` writes for `docs`, by extension."""
    path = tmp_path / name
    path.mkdir()
    ix = whoosh_index.create_in(str(path), build_schema())
    writer = writer_class(ix, compound=False)
    for doc in docs:
        writer.add_document(**dict(doc))
    writer.commit()
    segment_id = ix._read_toc().segments[0].segment_id()
    return {p.name[len(segment_id):]: p.read_bytes() for p in path.iterdir() if p.name.startswith(segment_id)}


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    analysis.ensure_initialised()
    out = []
    for article in articles(130):  # > 128 documents: terms with postings in two blocks
        doc = enrich.to_document(article)
        doc.pop("__origin", None)
        out.append(doc)
    return out


def test_same_segment_files_as_whooshs_writer(tmp_path: Path, docs: list[dict]) -> None:
    assert supported(build_schema())
    theirs = segment_files(tmp_path, "whoosh", SegmentWriter, docs)
    ours = segment_files(tmp_path, "ours", BuildSegmentWriter, docs)
    assert {".pst", ".trm"} <= set(theirs)  # postings and term table are compared
    assert sorted(ours) == sorted(theirs)
    for ext in theirs:
        assert ours[ext] == theirs[ext], f"segment file {ext} differs"


def test_an_overflowing_buffer_spills_to_run_files_and_writes_the_same_files(
        tmp_path: Path, docs: list[dict], monkeypatch: pytest.MonkeyPatch) -> None:
    spills = []

    class SmallBuffer(BuildSegmentWriter):
        def __init__(self, ix, **kwargs):
            super().__init__(ix, **kwargs)
            self.buffer.limit = 20_000  # a few documents' postings

        def _spill(self):
            spills.append(self.docnum)
            super()._spill()

    theirs = segment_files(tmp_path, "whoosh", SegmentWriter, docs)
    ours = segment_files(tmp_path, "ours", SmallBuffer, docs)
    assert len(spills) > 3
    for ext in theirs:
        assert ours[ext] == theirs[ext], f"segment file {ext} differs"


def test_grouped_postings_equal_the_formats_word_values(docs: list[dict]) -> None:
    field = build_schema()["title"]
    for doc in docs[:20]:
        for name in ("title", "body"):
            value = doc[name]
            want = [(w.encode("utf-8"), f, wt, v) for w, f, wt, v in
                    build_schema()[name].format.word_values(value, field.analyzer, mode="index")]
            assert grouped_postings(value.tokens, build_schema()[name].format) == want


def test_the_memo_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segment_build, "MEMO_ENTRIES", 3)
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = BuildSegmentWriter(ix)
    for i in range(10):
        writer.add_document(id=f"m{i}", author=f"作者{i}")
        assert len(writer.memo) <= 3
    writer.cancel()
