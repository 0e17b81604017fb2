"""Relevance: relaxation (search_service/relax.py) and the ranking signals (scoring.py), on the
demo index with exact literals, and on the real corpus for what readers really type."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from lxml import html

from search_service import core
from search_service.index import SearchIndex
from search_service.params import parse_search_params
from search_service.relax import Unit, relax
from search_service.scoring import coverage, smallest_gap


def run(index: SearchIndex, q: str, **params: str) -> dict[str, Any]:
    args = {k: [v] for k, v in params.items()}
    args["q"] = [q]
    return core.search(index, parse_search_params(args))


# -- relax() as a pure function ---------------------------------------------------------------

def units(**docs: set[int]) -> list[Unit]:
    return [Unit(label, frozenset(found), [label], label in ("什么", "原因")) for label, found in docs.items()]


def test_fillers_are_not_required_when_other_words_remain() -> None:
    got = relax(units(江城={1, 2, 3}, 地铁={2, 3}, 原因={3}, 什么={3, 4}), frozenset(range(10)), frozenset({3}),
                lambda w: frozenset())
    assert got is not None
    assert (sorted(got.docs), got.required, got.dropped) == ([2, 3], ["江城", "地铁"], ["原因", "什么"])


def test_a_query_of_only_fillers_keeps_them() -> None:
    assert relax(units(原因={1}, 什么={1, 2}), frozenset(range(5)), frozenset({1}), lambda w: frozenset()) is None


def test_words_found_nowhere_go_first_then_the_most_frequent() -> None:
    # 江城 ∧ 马拉松 ∧ 量子 finds nothing; 量子 (found nowhere) goes, and that is enough.
    got = relax(units(江城={1, 2, 5}, 马拉松={1, 2, 7}, 量子=set()), frozenset(range(10)), frozenset(),
                lambda w: frozenset())
    assert got is not None and (sorted(got.docs), got.dropped, got.required) == ([1, 2], ["量子"], ["江城", "马拉松"])
    assert got.missing(1) == ["量子"]
    # All found somewhere, never together: the most frequent goes first (江城, in 4 documents).
    got = relax(units(江城={1, 2, 3, 4}, 马拉松={1, 2, 6}, 地铁={3, 6}), frozenset(range(10)), frozenset(),
                lambda w: frozenset())
    assert got is not None and (sorted(got.docs), got.dropped) == ([6], ["江城"])


def test_never_fewer_than_half_of_the_words() -> None:
    # Four words, no two of them together: dropping two would leave half; nothing qualifies.
    four = units(a={1}, b={2}, c={3}, d={4})
    assert relax(four, frozenset(range(10)), frozenset(), lambda w: frozenset()) is None


def test_exclusions_and_filters_hold_through_base() -> None:
    got = relax(units(江城={1, 2, 3}, 量子=set()), frozenset({2, 9}), frozenset(), lambda w: frozenset())
    assert got is not None and sorted(got.docs) == [2]


def test_no_spelling_correction_is_overridden() -> None:
    assert relax(units(江城={1}, 量子=set()), frozenset(range(5)), frozenset(), lambda w: frozenset(),
                 may_drop_words=lambda: False) is None


def test_an_unknown_run_backs_off_to_its_dictionary_parts() -> None:
    # jieba's dictionary splits 江城地铁线 into 江城 / 地铁线.
    parts = {"江城": frozenset({4, 5}), "地铁线": frozenset({5})}
    got = relax([Unit("江城地铁线", frozenset(), ["江城地铁线"]), Unit("开通", frozenset({5, 6}), ["开通"])],
                frozenset(range(10)), frozenset(), lambda w: parts.get(w, frozenset()))
    assert got is not None
    assert (sorted(got.docs), got.backed_off, got.dropped) == ([5], {"江城地铁线": ["江城", "地铁线"]}, [])


# -- ranking signals --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "words", "expected"), [
    ("中国经济回升向好", ["中国", "经济", "回升"], (0, 3)),
    ("中国人……经济很好 又见中国经济", ["中国", "经济"], (0, 2)),
    ("甲乙丙丁 中国 abc 经济", ["中国", "经济", "不在"], (5, 2)),
    ("只有中国", ["中国", "经济"], None),
])
def test_smallest_gap(text: str, words: list[str], expected: tuple[int, int] | None) -> None:
    assert smallest_gap(text, words) == expected


def test_coverage_counts_the_units_each_document_matches() -> None:
    arr = np.asarray([3, 1, 2], dtype=np.int64)
    assert coverage(arr, [frozenset({1, 2}), frozenset({2}), frozenset()]).tolist() == [0, 1, 2]


# -- through the search core on the demo index -------------------------------------------------

def test_question_words_are_not_required(search_index: SearchIndex) -> None:
    result = run(search_index, "江城地铁开通最新进展")
    assert [h["id"] for h in result["hits"]][:1] == ["demo-008"]
    assert result["relaxed"] == {"required": ["江城", "地铁", "开通"], "dropped": ["最新进展"], "split": {},
                                 "strict_total": 0}
    assert run(search_index, "江城地铁开通最新进展", relax="false")["total"] == 0


def test_relaxed_hits_say_what_they_miss(search_index: SearchIndex) -> None:
    result = run(search_index, "江城马拉松量子", collapse="false")
    assert [h["id"] for h in result["hits"]] == ["demo-018", "demo-017"]
    assert [h["missing"] for h in result["hits"]] == [["量子"], ["量子"]]
    assert result["relaxed"]["dropped"] == ["量子"]
    strict = run(search_index, "江城马拉松量子", relax="false")
    assert (strict["total"], strict["relaxed"]) == (0, None)


@pytest.mark.parametrize("q", ['"江城马拉松量子"', "title:量子 马拉松", "江城马拉松量子 -马拉松", "量子纠缠"])
def test_quotes_fields_exclusions_and_half_words_are_never_relaxed(search_index: SearchIndex, q: str) -> None:
    result = run(search_index, q)
    assert (result["total"], result["relaxed"]) == (0, None)


def test_exclusion_still_applies_to_relaxed_results(search_index: SearchIndex) -> None:
    # demo-018 mentions 交通管制 (README: `马拉松 -交通管制` finds demo-017 only).
    assert [h["id"] for h in run(search_index, "江城马拉松量子 -交通管制", collapse="false")["hits"]] == ["demo-017"]


def test_filters_bound_relaxation(search_index: SearchIndex) -> None:
    assert run(search_index, "江城马拉松量子", channel="财经")["total"] == 0


def test_page_says_what_was_not_required(client) -> None:
    doc = html.fromstring(client.get("/search?q=江城马拉松量子").data)
    assert [p.text_content() for p in doc.xpath('//p[@class="relaxed"]')] == \
        ["以下结果未包含全部词语：未要求“量子” · 只看包含全部词语的结果"]
    assert doc.xpath('//a[@class="strict-link"]/@href') == ["/search?q=%E6%B1%9F%E5%9F%8E%E9%A9%AC%E6%8B%89%E6%9D%BE"
                                                            "%E9%87%8F%E5%AD%90&relax=false"]
    assert [p.text_content() for p in doc.xpath('//p[@class="hit-missing"]')] == ["缺少：量子", "缺少：量子"]
    doc = html.fromstring(client.get("/search?q=江城地铁开通最新进展").data)
    assert [p.text_content() for p in doc.xpath('//p[@class="relaxed"]')] == \
        ["已忽略提问用词“最新进展”，以下是与其余词语相关的报道"]


def test_relax_parameter_is_validated(client) -> None:
    response = client.get("/api/search?q=江城&relax=maybe")
    assert response.status_code == 400
    assert response.get_json()["error"]["parameter"] == "relax"


# -- the real corpus (skipped without ../shared or with NEWS_SEARCH_FULL_CORPUS=0) ----------------

def test_real_question_finds_the_coverage_and_reports_dropped_words(real_index: SearchIndex) -> None:
    result = run(real_index, "中国经济回升向好的原因是什么")
    assert result["relaxed"]["dropped"] == ["原因", "什么"]
    assert result["total"] >= 100
    snap = real_index.snapshot()
    texts = [snap.folded[core.find_docnum(snap, h["id"])] for h in result["hits"][:10]]
    assert sum("回升向好" in text for text in texts) >= 8


def test_real_headline_with_a_year_ranks_that_years_coverage(real_index: SearchIndex) -> None:
    ids = [h["id"] for h in run(real_index, "2024年政府工作报告")["hits"][:3]]
    assert "xwlb-20240305-01" in ids  # the opening of the 2024 NPC session, where it was delivered
