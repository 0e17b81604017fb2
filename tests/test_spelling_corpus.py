"""Typo correction and regional vocabulary on the real corpus (../shared/corpus/news.jsonl).

Uses the session's rebuild of all 19,547 articles (conftest.real_index): skipped without
../shared or with NEWS_SEARCH_FULL_CORPUS=0, like the other whole-corpus tests.
"""
from __future__ import annotations

import pytest

from indexer.analysis import fold_text
from search_service import core
from search_service.index import SearchIndex
from search_service.params import parse_search_params


@pytest.fixture(scope="module")
def real(real_index) -> SearchIndex:
    return real_index


def search(ix: SearchIndex, q: str, **extra: str) -> dict:
    return core.search(ix, parse_search_params({"q": [q], "per_page": ["50"], **{k: [v] for k, v in extra.items()}}))


def test_shenzhou_18_typo_is_answered_with_shenzhou_18(real):
    data = search(real, "神州十八号")
    assert data["corrected"] == {"from": "神州十八号", "to": "神舟十八号", "original_total": 1}
    assert data["total"] == search(real, "神舟十八号")["total"] >= 30
    assert all("神舟" in h["title"] + h["snippet_html"] for h in data["hits"][:10])


@pytest.mark.parametrize("typed, fixed", [("一代一路", "一带一路"), ("新关疫情", "新冠疫情")])
def test_whole_run_typos_are_corrected(real, typed, fixed):
    data = search(real, typed)
    assert data["corrected"]["to"] == fixed
    assert data["corrected"]["original_total"] * 20 <= data["total"]


def test_taiwan_wording_finds_mainland_coverage(real):
    data = search(real, "網路安全")
    assert data["corrected"] is None
    ids = {h["id"] for h in data["hits"]}
    mainland = search(real, "网络安全")
    assert mainland["total"] >= 40
    # 網路安全 finds what 网络安全 finds (and the rare articles writing 网路安全).
    assert len(ids & {h["id"] for h in mainland["hits"]}) >= 40
    assert mainland["total"] <= data["total"] <= mainland["total"] + 5


def test_ai_in_taiwan_wording(real):
    data = search(real, "人工智慧")
    assert data["total"] == search(real, "人工智能")["total"] >= 100
    assert data["relaxed"] is None and data["corrected"] is None
    assert all("人工智能" in h["title"] + h["snippet_html"].replace("<mark>", "").replace("</mark>", "")
               for h in data["hits"][:10])


@pytest.mark.parametrize("q", [
    "神州",      # a real word the archive holds in quantity (神舟 is a homophone)
    "织造",      # a real rare word (2 articles): its homophone 制造 is in hundreds
    "智慧",      # TW 智慧 = 智能, but here both are common words of their own: no alternative
])
def test_real_words_are_kept(real, q):
    data = search(real, q)
    assert data["corrected"] is None
    assert all(fold_text(q) in fold_text(h["title"] + h["snippet_html"].replace("<mark>", "").replace("</mark>", ""))
               for h in data["hits"][:10])
