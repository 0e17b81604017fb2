"""Mixed Latin/digit queries find an article however it spaces the token (demo-010: "iPhone 15")."""
from __future__ import annotations

import pytest

from search_service.core import search
from search_service.index import SearchIndex
from search_service.match import spaced_variant
from search_service.params import parse_search_params

ONE_MARK = "<mark>iPhone 15</mark>开售首周 南屿数码城以旧换新订单翻番"
TWO_WORDS = "<mark>iPhone</mark> <mark>15</mark>开售首周 南屿数码城以旧换新订单翻番"


@pytest.mark.parametrize(("q", "title_html"), [
    ("iphone15", ONE_MARK), ("iPhone15", ONE_MARK), ("ｉＰｈｏｎｅ１５", ONE_MARK), ('"iPhone 15"', ONE_MARK),
    ("iPhone 15", TWO_WORDS), ("IPHONE 15", TWO_WORDS),  # two query words: each marked whole
])
def test_every_spelling_finds_the_article(search_index: SearchIndex, q: str, title_html: str) -> None:
    result = search(search_index, parse_search_params({"q": [q]}))
    assert [hit["id"] for hit in result["hits"]] == ["demo-010"]
    assert result["hits"][0]["title_html"] == title_html


@pytest.mark.parametrize(("word", "expected"), [
    ("iphone15", "iphone 15"), ("5g", "5 g"), ("a股", None), ("iphone", None), ("15", None), ("b2b2c", "b 2 b 2 c"),
])
def test_spaced_variant(word: str, expected: str | None) -> None:
    assert spaced_variant(word) == expected


@pytest.mark.parametrize(("q", "words", "strings"), [
    # An indexed word is marked from its postings only: as a substring it could mark half a word.
    ("支付宝", {"支付宝"}, set()),
    ("iphone", {"iphone"}, set()),
    # Not a token anywhere: the word itself and its spaced form are marked as strings.
    ("iphone15", set(), {"iphone15", "iphone 15"}),
])
def test_plan_marks(search_index: SearchIndex, q: str, words: set[str], strings: set[str]) -> None:
    from search_service.match import plan
    from search_service.query import parse_query

    p = plan(search_index.snapshot(), parse_query(q))
    assert (p.words, p.strings) == (words, strings)
