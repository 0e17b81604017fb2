"""Reprint groups: the detection rule on plain data, and collapsing in /api/search over the demo.

The demo holds one reprint pair (indexer/demo/MANIFEST.md): demo-007 (江城日报, 2022-09-28 07:30) and
demo-008 (南屿晨报, one day later, title prefixed with 【江城】, first clause and last sentence changed).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from opencc import OpenCC

from indexer.demo_data import DEMO_DIR
from indexer.enrich import to_document
from indexer.model import Article
from search_service.reprints import MIN_JACCARD, REPRINT_WINDOW_DAYS, body_text, find_groups, jaccard, shingles

DEMO = {a["id"]: a for a in map(json.loads, (DEMO_DIR / "articles.jsonl").read_text("utf-8").splitlines())}
BODY7, BODY8 = DEMO["demo-007"]["body"], DEMO["demo-008"]["body"]
T0 = datetime(2022, 9, 28, 7, 30)
# A site footer long enough to matter: every article of some outlets ends with it.
BOILERPLATE = ("\n（本文来源：江城日报客户端。凡本网注明来源的作品，版权均属原作者所有，未经授权不得转载、摘编或利用"
               "其它方式使用。如需转载，请联系本报版权部，联系电话：0000-12345678。欢迎关注江城日报微信公众号，"
               "获取更多本地新闻资讯。）")


def group_of(*articles: tuple[str, datetime | None]) -> dict[int, int]:
    """find_groups over articles given as (body, published), analysed exactly as at index time."""
    docs = [to_document(Article(id=f"a{i}", title=f"标题{i}", body=body,
                                published=when.isoformat() if when else None))
            for i, (body, when) in enumerate(articles)]
    return find_groups(range(len(docs)), [d["simhash"] for d in docs], [d["ts"] for d in docs],
                       [body_text(d["folded"].decode("utf-8")) for d in docs])


# -- the rule -----------------------------------------------------------------------------------

def test_the_demo_reprint_pair_is_one_group_led_by_the_earlier_article():
    assert group_of((BODY8, T0 + timedelta(days=1, hours=1)), (BODY7, T0)) == {0: 1, 1: 1}


@pytest.mark.parametrize("days_apart", [0, 3650])
def test_identical_bodies_are_one_story_whatever_the_dates(days_apart):
    assert group_of((BODY7, T0), (BODY7, T0 + timedelta(days=days_apart))) == {0: 0, 1: 0}


def test_identical_bodies_without_dates_are_one_story():
    assert group_of((BODY7, None), (BODY7, None)) == {0: 0, 1: 0}


@pytest.mark.parametrize(("article", "variant"), [
    pytest.param("demo-007", lambda b: b.replace("，", "， ").replace("。", "。\n\n"), id="whitespace"),
    pytest.param("demo-007", lambda b: OpenCC("s2t").convert(b), id="traditional"),
    pytest.param("demo-007", lambda b: b.replace("5", "５").replace("App", "ＡＰＰ"), id="full-width"),
    # "iPhone 15" is two tokens, "iPhone15" one (plus its parts): a different SimHash.
    pytest.param("demo-010", lambda b: b.replace("iPhone 15", "iPhone15"), id="space-inside-a-token"),
])
def test_bodies_equal_after_folding_are_identical_across_years(article, variant):
    """Spacing, script and width differences do not make a re-run a different story, even when
    they change the segmentation (and so the SimHash) of the copy."""
    body = DEMO[article]["body"]
    other = variant(body)
    assert other != body
    assert group_of((body, T0), (other, T0 + timedelta(days=800))) == {0: 0, 1: 0}


@pytest.mark.parametrize("edit", [
    pytest.param(lambda b: "本报讯 " + b, id="new-lead-in"),
    pytest.param(lambda b: b.replace("今天上午10时", "28日上午10时"), id="changed-date-words"),
    pytest.param(lambda b: b.rsplit("。", 2)[0] + "。", id="last-sentence-cut"),
    pytest.param(lambda b: b.replace("江城", "本市"), id="city-name-replaced"),
])
def test_near_identical_bodies_with_small_edits_merge_within_the_window(edit):
    other = edit(BODY7)
    assert other != BODY7
    assert jaccard(shingles(body_text(BODY7)), shingles(body_text(other))) >= MIN_JACCARD
    assert group_of((BODY7, T0), (other, T0 + timedelta(days=2))) == {0: 0, 1: 0}


@pytest.mark.parametrize(("a", "b"), [("demo-015", "demo-030"), ("demo-004", "demo-005"), ("demo-017", "demo-018")])
def test_different_stories_sharing_boilerplate_stay_apart(a, b):
    """Same footer, same day, even the same subject (澜舟星图; 江城马拉松): different stories."""
    body_a, body_b = DEMO[a]["body"] + BOILERPLATE, DEMO[b]["body"] + BOILERPLATE
    assert jaccard(shingles(body_text(body_a)), shingles(body_text(body_b))) < MIN_JACCARD
    assert group_of((body_a, T0), (body_b, T0 + timedelta(hours=1))) == {}


@pytest.mark.parametrize(("gap", "grouped"), [
    (timedelta(days=REPRINT_WINDOW_DAYS), True),
    (timedelta(days=REPRINT_WINDOW_DAYS, seconds=1), False),
    (timedelta(days=30), False),
])
def test_edited_reprints_more_than_seven_days_apart_are_not_merged(gap, grouped):
    assert group_of((BODY7, T0), (BODY8, T0 + gap)) == ({0: 0, 1: 0} if grouped else {})


def test_an_undated_edited_copy_is_not_merged():
    assert group_of((BODY7, T0), (BODY8, None)) == {}


def test_groups_are_transitive():
    """A~B and B~C put A, B and C in one group, even when A and C alone would not be."""
    a = BODY7
    b = BODY7.replace("江城", "本市")
    c = b.replace("今天上午10时", "28日上午10时").rsplit("。", 2)[0] + "。"
    assert group_of((c, T0 + timedelta(days=10)), (b, T0 + timedelta(days=5)), (a, T0)) == {0: 2, 1: 2, 2: 2}


# -- collapsing in search results ---------------------------------------------------------------

def hits(client, **params) -> tuple[dict, list[tuple[str, int, list[str]]]]:
    resp = client.get("/api/search", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    return data, [(h["id"], h["duplicates"], h["duplicate_ids"]) for h in data["hits"]]


def test_a_reprinted_story_is_one_hit_with_its_reprint_ids(client):
    data, got = hits(client, q="5号线")
    # Relevance ties on the shared text; the newer copy ranks first (freshness) and represents.
    assert got == [("demo-008", 1, ["demo-007"]), ("demo-018", 0, []), ("demo-027", 0, [])]
    assert (data["total"], data["total_articles"], data["pages"]) == (3, 4, 1)


def test_the_representative_is_the_first_ranked_copy(client):
    _, got = hits(client, q="5号线", sort="oldest")
    assert got == [("demo-027", 0, []), ("demo-007", 1, ["demo-008"]), ("demo-018", 0, [])]


@pytest.mark.parametrize("value", ["false", "0", "no", "off"])
def test_collapse_false_lists_every_copy(client, value):
    data, got = hits(client, q="5号线", collapse=value)
    assert got == [("demo-008", 0, []), ("demo-007", 0, []), ("demo-018", 0, []), ("demo-027", 0, [])]
    assert (data["total"], data["total_articles"]) == (4, 4)


def test_facets_and_histogram_count_articles_either_way(client):
    collapsed, _ = hits(client, q="5号线", facet_interval="year")
    separate, _ = hits(client, q="5号线", facet_interval="year", collapse="false")
    assert collapsed["facets"] == separate["facets"]
    assert collapsed["facets"]["channel"] == [{"value": "新闻", "count": 3, "selected": False},
                                              {"value": "房产", "count": 1, "selected": False}]
    assert collapsed["histogram"] == separate["histogram"] == [
        {"value": "2020", "count": 1}, {"value": "2022", "count": 2}, {"value": "2024", "count": 1}]


def test_only_matching_copies_are_counted_as_duplicates(client):
    """A filter that keeps one copy shows it alone: the hidden copy is not a result of this search."""
    _, got = hits(client, q="地铁", source="南屿晨报")
    assert got == [("demo-008", 0, [])]


def test_paging_counts_stories(client):
    first, got1 = hits(client, q="5号线", per_page=2)
    second, got2 = hits(client, q="5号线", per_page=2, page=2)
    assert [g[0] for g in got1 + got2] == ["demo-008", "demo-018", "demo-027"]
    assert (first["pages"], second["pages"]) == (2, 2)
