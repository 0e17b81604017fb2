"""Highlight spans read only from the posting blocks holding a hit (search_service/hit_spans.py)
equal Whoosh's skip_to walk (highlight.page_spans) for every document: terms of one block and of
several, a second segment from an update, deleted documents, and words a document lacks."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from indexer.build import rebuild
from indexer.update import delete, update
from lifecycle_util import write_jsonl
from search_service import hit_spans
from search_service.highlight import page_spans as walked
from search_service.index import SearchIndex, Snapshot

WORDS = "经济 发展 北京 上海 市场 改革 科技 创新 人民 政府 公司 银行 学生 学校 医院 城市".split()


def articles(n: int, seed: int, prefix: str) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        body = "。".join("".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))) for _ in range(rng.randint(3, 9)))
        out.append({"id": f"{prefix}-{i}", "title": rng.choice(WORDS) + rng.choice(WORDS) + "新闻",
                    "body": body + "。", "published": f"2024-0{1 + i % 9}-1{i % 10}", "channel": "财经"})
    return out


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("hit_spans")
    rebuild([str(write_jsonl(base / "a.jsonl", articles(700, 1, "a")))], base / "idx", procs=1)
    update([str(write_jsonl(base / "b.jsonl", articles(300, 2, "b")))], base / "idx")
    delete(["a-3", "a-200", "b-5"], base / "idx")
    return base / "idx"


def test_block_reads_equal_the_skip_to_walk(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    search = SearchIndex(index)
    snap = Snapshot(search.store.require_current(), "test", search.store.root)
    assert len(snap.leaves()) == 2 and len(snap.live_docs) == 997
    fallbacks = []
    monkeypatch.setattr(hit_spans, "walked_spans", lambda *a: fallbacks.append(a) or walked(*a))
    searcher = snap.searcher()
    docs = sorted(snap.live_docs)
    rng = random.Random(3)
    several_blocks = 0
    for terms in ({"经济"}, {"北京", "科技"}, {"新闻", "银行", "医院"}, {"没有的词"}, set(WORDS)):
        for field in ("title", "body"):
            first = snap.leaves()[0][0]
            several_blocks += any(first.doc_frequency(field, t) > 128 for t in terms)
            for page in (docs[:10], rng.sample(docs, 10), rng.sample(docs, 30), docs[-7:]):
                page = sorted(page)
                assert hit_spans.page_spans(snap, field, page, terms) == walked(searcher, field, page, terms)
    assert several_blocks  # terms of several posting blocks were read by block position
    assert not fallbacks   # and every block was where the posting arrays said
