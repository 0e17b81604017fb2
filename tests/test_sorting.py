"""Date sorts: undated articles come after every dated one, newest-first and oldest-first alike."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.build import rebuild
from search_service.core import search
from search_service.index import SearchIndex
from search_service.params import parse_search_params

ARTICLES = [
    {"id": "mid", "title": "湖区观鸟季开幕", "body": "观鸟爱好者聚集湖区。", "published": "2022-03-01 08:00:00"},
    {"id": "undated", "title": "湖区观鸟指南", "body": "观鸟需要耐心。"},
    {"id": "old", "title": "湖区首次记录到白鹤", "body": "观鸟志愿者拍到白鹤。", "published": "2019-11-20"},
    {"id": "new", "title": "湖区观鸟步道开放", "body": "新步道方便观鸟。", "published": "2025-05-04"},
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    root = tmp_path_factory.mktemp("sorting")
    src = root / "articles.jsonl"
    src.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ARTICLES), encoding="utf-8")
    rebuild([str(src)], root / "index", procs=1)
    return SearchIndex(root / "index")


@pytest.mark.parametrize(("sort", "expected"), [
    ("newest", ["new", "mid", "old", "undated"]),
    ("oldest", ["old", "mid", "new", "undated"]),
])
def test_undated_articles_sort_last(index: SearchIndex, sort: str, expected: list[str]) -> None:
    result = search(index, parse_search_params({"q": ["观鸟"], "sort": [sort]}))
    assert [hit["id"] for hit in result["hits"]] == expected
