"""Quoted queries over the real corpus return exactly what a plain substring scan finds.

A deterministic sample (the first SAMPLE articles of ../shared/corpus/news.jsonl) is indexed once
per module; for each quoted string the search's article set must equal the set of articles whose
folded title or folded body (indexer.analysis.fold: case, width, traditional -> simplified)
contains the folded string. Skipped where the shared data is absent.
"""
from __future__ import annotations


import pytest

from indexer.analysis import fold
from indexer.build import rebuild
from search_service import core
from search_service.index import SearchIndex
from search_service.match import evaluate
from search_service.params import parse_search_params
from search_service.query import parse_query
from shared_data import shared_file

SAMPLE = 1500
CORPUS = shared_file("corpus", "news.jsonl")

pytestmark = pytest.mark.skipif(CORPUS is None, reason="../shared/corpus/news.jsonl is not available")

NEEDLES = [
    # single characters (common, rare, inside many words)
    "银", "龙", "疫", "鼎", "墩", "奥", "雪", "的",
    # strings inside longer words (not tokens of their own)
    "经济带", "书记", "近平", "程序", "小程序", "十四号", "舟十", "振兴",
    # mixed Latin / digits, case and width
    "5G", "5g", "GDP", "ＧＤＰ", "C919", "cpi", "3.5%", "1.5", "2022年",
    # traditional forms
    "經濟", "臺灣", "冬奧", "神舟十四號",
    # punctuation
    "“一带一路”", "《", "·",
]


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    assert CORPUS is not None
    root = tmp_path_factory.mktemp("corpus_substring")
    sample = root / "sample.jsonl"
    with CORPUS.open(encoding="utf-8") as src, sample.open("w", encoding="utf-8") as out:
        for n, line in enumerate(src):
            if n >= SAMPLE:
                break
            out.write(line)
    rebuild([str(sample)], root / "index", procs=1)
    return SearchIndex(root / "index")


@pytest.fixture(scope="module")
def folded_articles(corpus_index: SearchIndex) -> dict[str, tuple[str, str]]:
    """id -> (folded title, folded body), from the stored fields (not the index's own column)."""
    snap = corpus_index.snapshot()
    out = {}
    for docnum in snap.live_docs:
        fields = snap.stored(docnum)
        out[fields["id"]] = (fold(fields.get("title") or "")[0], fold(fields.get("body") or "")[0])
    return out


def scan(folded_articles: dict[str, tuple[str, str]], needle: str) -> set[str]:
    want = " ".join(fold(needle)[0].split())
    return {i for i, (title, body) in folded_articles.items() if want in title or want in body}


def test_sample_is_indexed(corpus_index: SearchIndex, folded_articles: dict[str, tuple[str, str]]) -> None:
    assert len(folded_articles) == SAMPLE


@pytest.mark.parametrize("needle", NEEDLES)
def test_quoted_query_equals_substring_scan(corpus_index: SearchIndex, folded_articles: dict[str, tuple[str, str]],
                                            needle: str) -> None:
    expected = scan(folded_articles, needle)
    assert expected, f"{needle!r} should occur in the sample for the comparison to mean something"
    snap = corpus_index.snapshot()
    found = {snap.stored(d)["id"] for d in evaluate(snap, parse_query(f'"{needle}"'))}
    assert found == expected, (sorted(found - expected)[:5], sorted(expected - found)[:5])
    # the full search reports the same number of articles, and pages through exactly them
    result = core.search(corpus_index, parse_search_params({"q": [f'"{needle}"'], "collapse": ["false"],
                                                            "per_page": ["50"]}))
    assert result["total_articles"] == len(expected)
    if len(expected) <= 150:
        ids = [h["id"] for h in result["hits"]]
        for page in range(2, result["pages"] + 1):
            more = core.search(corpus_index, parse_search_params({
                "q": [f'"{needle}"'], "collapse": ["false"], "per_page": ["50"], "page": [str(page)]}))
            ids += [h["id"] for h in more["hits"]]
        assert len(ids) == len(set(ids)) and set(ids) == expected


@pytest.mark.parametrize(("variant", "plain"), [("臺灣", "台湾"), ("ＧＤＰ", "gdp"), ("冬奧", "冬奥"), ("經濟", "经济")])
def test_folded_variants_find_the_same(corpus_index: SearchIndex, variant: str, plain: str) -> None:
    snap = corpus_index.snapshot()
    assert evaluate(snap, parse_query(f'"{variant}"')) == evaluate(snap, parse_query(f'"{plain}"'))
