"""The search core over the demo index: matching, ranking, highlights, facets (exact literals).

Expected id sets come from indexer/demo/MANIFEST.md; folding (traditional -> simplified, width,
case) widens some of them, e.g. "银" also finds demo-003's 銀行.
"""
from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from indexer.build import rebuild
from search_service import core
from search_service.index import SearchIndex
from search_service.params import parse_search_params

N = "https://news.example.com/"
P = "http://www.example-portal.cn/"
HOTLINE = N + "keji/20240312/5001.html"
XINGLAN_H1 = N + "caijing/20250828/5003.html"
LOANS = P + "cj/20200316/3102.html"
TRADE_IN = P + "qc/20260308/3105.html"
TEA_BIG5 = P + "sh/20231209/3108.html"
BANKS = {"demo-002", "demo-003", "demo-007", "demo-008", "demo-015", "demo-030", LOANS}
YIN = BANKS | {"demo-019"}


def run(index: SearchIndex, q: str, **params: Any) -> dict[str, Any]:
    args = {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in params.items()}
    args["q"] = [q]
    return core.search(index, parse_search_params(args))


def ids(index: SearchIndex, q: str, **params: Any) -> list[str]:
    """Every matching article, reprints not collapsed, in result order."""
    params.setdefault("collapse", "false")
    params.setdefault("per_page", 50)
    return [h["id"] for h in run(index, q, **params)["hits"]]


def hit(index: SearchIndex, q: str, article_id: str) -> dict[str, Any]:
    return next(h for h in run(index, q, collapse="false", per_page=50)["hits"] if h["id"] == article_id)


# -- matching ---------------------------------------------------------------------------------

def test_contiguous_phrase_ranks_above_scattered_words(search_index: SearchIndex) -> None:
    result = run(search_index, "支付宝小程序")
    assert [h["id"] for h in result["hits"]] == ["demo-001", "demo-002"]
    # demo-002 has 支付宝 and 小程序 272 characters apart: found, but far below (BM25F and the
    # proximity factor: x2 for the contiguous string, ~x1.03 for words 272 characters apart)
    assert result["hits"][0]["score"] > 3 * result["hits"][1]["score"]


@pytest.mark.parametrize(("q", "expected"), [
    # exact substrings, including inside longer words and single characters
    ('"小程序"', {"demo-001", "demo-002"}),
    ('"支付宝小程序"', {"demo-001"}),
    ('"微信小程序"', {"demo-001"}),
    ('"程序"', {"demo-001", "demo-002", "demo-028"}),
    ('"银"', YIN),
    ("银", YIN),
    ('"银杏"', {"demo-019"}),
    ('"银行"', BANKS),
    ("银行", BANKS),
    ('"臺灣"', {"demo-003", TEA_BIG5}),
    ('"&"', {"demo-009", XINGLAN_H1}),
    ("&", {"demo-009", XINGLAN_H1}),
    ('"<script>alert(1)</script>"', {"demo-009"}),
    ('"&amp;"', {"demo-009"}),
    ('"K&S"', {"demo-009"}),
    ('"iPhone 15"', {"demo-010"}),
    ('"5G"', {"demo-010", "demo-011", "demo-012"}),
    ('"3.5%"', {"demo-015"}),
    ("马拉松", {"demo-017", "demo-018"}),
    ("澜舟星图", {"demo-004", "demo-005", "demo-006"}),
    ("黎昕宇", {"demo-004", "demo-005"}),
    ("青禾智联", {"demo-001", P + "kj/20251021/3106.html"}),
    ("云栖湾", {"demo-027", P + "fc/20250419/3107.html"}),
])
def test_substrings_and_words(search_index: SearchIndex, q: str, expected: set[str]) -> None:
    assert set(ids(search_index, q)) == expected


@pytest.mark.parametrize(("q", "expected"), [
    ("5G", {"demo-010", "demo-011", "demo-012"}),   # demo-012 spells it full-width in the source
    ("A股", {"demo-004", "demo-016"}),
    ("iPhone 15", {"demo-010"}),
    ("B站", {"demo-013"}),
    ("95后", {"demo-013"}),
    ("3.5%", {"demo-015"}),
    ("GDP", {"demo-014"}),
    ("U15", {"demo-024"}),
    ("AI", {"demo-003", "demo-004", "demo-005", "demo-022", HOTLINE}),
])
def test_mixed_latin_and_digits(search_index: SearchIndex, q: str, expected: set[str]) -> None:
    assert set(ids(search_index, q)) == expected


@pytest.mark.parametrize(("variant", "plain"), [
    ("５Ｇ", "5G"),
    ("Ａ股", "A股"),
    ("a股", "A股"),
    ("ai", "AI"),
    ("ＩＰＨＯＮＥ　１５", "iPhone 15"),
    ("臺灣", "台湾"),
    ("軟體", "软体"),
    ('"銀行"', '"银行"'),
    ("銀", "银"),
    ("發展", "发展"),
    ("title:馬拉松", "title:马拉松"),
])
def test_traditional_and_full_width_find_the_same(search_index: SearchIndex, variant: str, plain: str) -> None:
    found = ids(search_index, plain)
    assert found  # the comparison means something
    assert ids(search_index, variant) == found


@pytest.mark.parametrize(("q", "expected"), [
    ("银行 -银行卡", {"demo-002", "demo-003", "demo-015", "demo-030", LOANS}),
    ('"银行" -"银行卡"', {"demo-002", "demo-003", "demo-015", "demo-030", LOANS}),
    ("支付宝 -小程序", set()),
    ("新能源汽车 -title:新能源汽车", {"demo-014", "demo-032", "demo-033", XINGLAN_H1, TRADE_IN}),
    ("新能源汽车 -(财经 OR 电池)", {"demo-031", "demo-032", TRADE_IN}),
    ("马拉松 OR 高考", {"demo-017", "demo-018", "demo-021"}),
    ("马拉松 | 高考", {"demo-017", "demo-018", "demo-021"}),
    ("(马拉松 OR 高考) -title:高考", {"demo-017", "demo-018"}),
    ('"5G" OR "A股"', {"demo-004", "demo-010", "demo-011", "demo-012", "demo-016"}),
    ("title:马拉松", {"demo-017", "demo-018"}),
    ('title:"新能源汽车"', {"demo-016", "demo-031"}),
    ("title:银", {"demo-003", "demo-015", "demo-019", LOANS}),
    ("author:沈清和", {"demo-001", "demo-005", "demo-009"}),
    ("author:何嘉宁 银行", {"demo-002", "demo-007", "demo-008"}),
    ("author:陈怡安", {"demo-003", TEA_BIG5}),   # stored as 陳怡安
    ("source:东海财经网 A股", {"demo-004", "demo-016"}),
    ("channel:科技 AI", {"demo-003", "demo-005", HOTLINE}),
    ("channel:财经 OR channel:汽车", {"demo-004", "demo-014", "demo-016", "demo-030", XINGLAN_H1, LOANS,
                                     P + "cj/20220506/3103.html", "demo-026", "demo-031", "demo-032", "demo-033",
                                     N + "qiche/20210620/5005.html", TRADE_IN}),
    # syntax errors fall back to plain words instead of failing
    ("(马拉松", {"demo-017", "demo-018"}),
    ('"马拉松', {"demo-017", "demo-018"}),
    ("支付宝 - 小程序", {"demo-001", "demo-002"}),
    ("没有这样的词语", set()),
])
def test_operators_and_fields(search_index: SearchIndex, q: str, expected: set[str]) -> None:
    assert set(ids(search_index, q)) == expected


def test_only_exclusions_match_everything_else(search_index: SearchIndex) -> None:
    found = ids(search_index, "-AI")
    assert len(found) == 45
    assert not set(found) & {"demo-003", "demo-004", "demo-005", "demo-022", HOTLINE}


NEV = "新能源汽车"   # demo-014 财经 2024, -016 财经 2021, -031 汽车 2019, -032 汽车 2023, -033 汽车 2025,
#                   5003 财经 2025 as a phrase; TRADE_IN (汽车 2026) has 新能源 and 汽车 apart


@pytest.mark.parametrize(("params", "expected"), [
    ({"channel": "财经"}, {"demo-014", "demo-016", XINGLAN_H1}),
    ({"channel": ["财经", "汽车"]}, {"demo-014", "demo-016", "demo-031", "demo-032", "demo-033", XINGLAN_H1, TRADE_IN}),
    ({"channel": "財經"}, {"demo-014", "demo-016", XINGLAN_H1}),
    ({"channel": "体育"}, set()),
    ({"from": "2024-01-01"}, {"demo-014", "demo-033", XINGLAN_H1, TRADE_IN}),
    ({"to": "2021-10-18"}, {"demo-016", "demo-031"}),            # inclusive: 2021-10-18 15:20
    ({"to": "2021-10-17"}, {"demo-031"}),
    ({"from": "2024-01-26", "to": "2024-01-26"}, {"demo-014"}),  # one day, both ends inclusive
    ({"from": "2025-01-01", "to": "2025-12-31"}, {"demo-033", XINGLAN_H1}),
    ({"author": "邹远航"}, {"demo-031", "demo-032"}),
    ({"author": "梁静姝"}, {"demo-016", XINGLAN_H1}),
    ({"source": "青岚汽车周刊"}, {"demo-031", "demo-032", "demo-033", TRADE_IN}),
    ({"source": "东海财经网", "channel": "财经", "from": "2022-01-01"}, {"demo-014"}),
])
def test_filters(search_index: SearchIndex, params: dict[str, Any], expected: set[str]) -> None:
    assert set(ids(search_index, NEV, **params)) == expected


def test_sort_by_date(search_index: SearchIndex) -> None:
    newest = ["TRADE_IN", "XINGLAN_H1", "demo-033", "demo-014", "demo-032", "demo-016", "demo-031"]
    newest = [globals().get(x, x) for x in newest]
    assert ids(search_index, NEV, sort="newest") == newest
    assert ids(search_index, NEV, sort="oldest") == newest[::-1]
    # date sorts report no score
    assert {h["score"] for h in run(search_index, NEV, sort="newest")["hits"]} == {None}


def test_single_character_ranks_title_matches_first(search_index: SearchIndex) -> None:
    found = ids(search_index, "银")
    assert set(found[:4]) == {"demo-003", "demo-015", "demo-019", LOANS}   # 银 / 銀 in the title
    assert all(h["score"] > 0 for h in run(search_index, "银")["hits"])


def test_paging(search_index: SearchIndex) -> None:
    full = run(search_index, "银", per_page=50)
    assert (full["total"], full["total_articles"]) == (7, 8)   # demo-007/demo-008 are one story
    pages = [run(search_index, "银", per_page=3, page=n) for n in (1, 2, 3)]
    assert [len(p["hits"]) for p in pages] == [3, 3, 1]
    assert [h["id"] for p in pages for h in p["hits"]] == [h["id"] for h in full["hits"]]
    assert {p["pages"] for p in pages} == {3}
    past = run(search_index, "银", per_page=3, page=4)
    assert (past["hits"], past["total"], past["page"], past["pages"]) == ([], 7, 4, 3)
    assert past["facets"] == full["facets"]


def test_reprints_collapse_into_one_hit(search_index: SearchIndex) -> None:
    result = run(search_index, "地铁5号线南延段")
    first = result["hits"][0]
    assert (first["id"], first["duplicates"], first["duplicate_ids"]) == ("demo-008", 1, ["demo-007"])
    assert (result["total"], result["total_articles"]) == (1, 2)
    assert ids(search_index, "地铁5号线南延段") == ["demo-008", "demo-007"]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_freshness_breaks_ties_newer_first(tmp_path: Path) -> None:
    """Equally relevant articles: the newer one first under relevance; date sorts ignore scores."""
    body = "江城今天发布了新的公交线路调整方案，涉及十二条线路。市民可以通过官方渠道查询具体的调整内容和时间安排。"
    rows = [{"id": f"t-{y}", "title": "公交线路调整方案发布", "body": body + f"（{y}年）", "channel": "新闻",
             "published": f"{y}-05-01 10:00:00", "source": "测试", "author": "测试"} for y in (2019, 2024, 2021)]
    src = tmp_path / "src"
    src.mkdir()
    _write_jsonl(src / "a.jsonl", rows)
    rebuild([src], tmp_path / "idx", procs=1)
    index = SearchIndex(tmp_path / "idx")
    result = run(index, "公交线路", collapse="false")
    assert [h["id"] for h in result["hits"]] == ["t-2024", "t-2021", "t-2019"]
    scores = [h["score"] for h in result["hits"]]
    assert scores[0] > scores[1] > scores[2]
    assert scores[0] < scores[2] * 1.2   # gentle: at most FRESHNESS_WEIGHT (15%) apart
    assert [h["id"] for h in run(index, "公交线路", collapse="false", sort="oldest")["hits"]] == \
        ["t-2019", "t-2021", "t-2024"]


# -- highlights -------------------------------------------------------------------------------

def test_phrase_highlight_literals(search_index: SearchIndex) -> None:
    h = hit(search_index, "支付宝小程序", "demo-001")
    assert h["title_html"] == "鲸帆科技押注<mark>支付宝小程序</mark> 中小商户开始“双端经营”"
    assert h["snippet_html"] == (
        "江城一家成立不到三年的开发服务商鲸帆科技，最近把团队一半的人手调到了<mark>支付宝小程序</mark>项目上。"
        "公司创始人柯文博告诉记者，今年以来找上门的餐饮、洗衣、社区便利店客户明显增多，“很多老板已经有了微信"
        "<mark>小程序</mark>，现在想在<mark>支付宝小程序</mark>上再开一个门店入口”。…")
    scattered = hit(search_index, "支付宝小程序", "demo-002")
    assert scattered["title_html"] == "老街菜市场的“数字化”一年：摊主学会了线上接单"
    assert "<mark>支付宝</mark>" in scattered["snippet_html"]


def test_quoted_substring_marked_exactly(search_index: SearchIndex) -> None:
    h = hit(search_index, '"小程序"', "demo-001")
    assert h["title_html"] == "鲸帆科技押注支付宝<mark>小程序</mark> 中小商户开始“双端经营”"
    h = hit(search_index, '"银"', "demo-019")
    assert h["title_html"] == "<mark>银</mark>杏大道迎来最佳观赏期 周末市民扎堆拍照"
    h = hit(search_index, '"银"', "demo-003")   # folded match, original characters marked
    assert h["title_html"] == "臺灣新創雲杉軟體推出<mark>銀</mark>行客服AI 助中小型<mark>銀</mark>行加速數位發展"


def test_words_are_marked_whole(search_index: SearchIndex) -> None:
    # 银杏 is a sub-word of the token 银杏树: the whole token is marked, never half of it
    h = hit(search_index, "银杏", "demo-019")
    assert h["title_html"] == "<mark>银杏</mark>大道迎来最佳观赏期 周末市民扎堆拍照"
    assert h["snippet_html"].startswith("连日来，江城东湖路两侧的<mark>银杏树</mark>叶由绿转黄，")
    # 小程序 segments as 小 + 程序: the single character is marked only next to the other word
    h = hit(search_index, "小程序 微信", "demo-001")
    assert "已经有了<mark>微信小程序</mark>，" in h["snippet_html"]
    assert "中<mark>小</mark>" not in h["title_html"]
    h = hit(search_index, "K&S", "demo-009")
    assert h["title_html"] == "<mark>K&amp;S</mark>安全实验室披露点评平台XSS漏洞 用户昵称可被植入恶意脚本"
    h = hit(search_index, "5G", "demo-011")
    assert h["title_html"] == "江城首批<mark>5G</mark>基站开通 重点商圈和高铁站率先覆盖"


def test_markup_in_articles_is_escaped(search_index: SearchIndex) -> None:
    h = hit(search_index, '"<script>alert(1)</script>"', "demo-009")
    assert h["title_html"] == "K&amp;S安全实验室披露点评平台XSS漏洞 用户昵称可被植入恶意脚本"
    assert h["snippet_html"] == (
        "…平台方已于报告发布前完成修复。\n报告显示，研究人员在昵称栏中填入测试字符串"
        "<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark>后，其他用户打开该评论页面时，浏览器会直接执行这段脚本"
        "并弹出对话框。研究员顾一帆解释说，弹窗本身无害，但同样的位置如果换成窃取登录凭证的代码，后果就会严重得多。…")
    h = hit(search_index, '"&amp;"', "demo-009")
    assert "写成&quot;<mark>&amp;amp;</mark>&quot;，" in h["snippet_html"]


HTML_QUERIES = ["脚本", '"<script>"', "&", "K&S XSS", '"<、>"', "支付宝小程序", '"银"', "AI", "新能源汽车",
                "author:沈清和", "马拉松 OR 高考"]


@pytest.mark.parametrize("q", HTML_QUERIES)
def test_html_fields_are_escaped_text_with_marks_only(search_index: SearchIndex, q: str) -> None:
    result = run(search_index, q, per_page=50, collapse="false")
    assert result["hits"]
    for h in result["hits"]:
        article = core.get_article(search_index, h["id"])
        for name in ("title_html", "snippet_html"):
            html = h[name]
            assert set(re.findall(r"<[^>]*>", html)) <= {"<mark>", "</mark>"}, (h["id"], name)
            assert "<mark></mark>" not in html and "</mark><mark>" not in html
        assert unescape(re.sub(r"</?mark>", "", h["title_html"])) == article["title"]
        text = unescape(re.sub(r"</?mark>", "", h["snippet_html"]))
        core_text = text.strip("…")
        assert core_text and core_text in article["body"]
        start = article["body"].index(core_text)
        end = start + len(core_text)
        # cut at sentence boundaries, "…" exactly where text was left out
        assert text.startswith("…") == (start > 0)
        assert text.endswith("…") == (end < len(article["body"].rstrip()))
        assert start == 0 or article["body"][start - 1] in "。！？；!?;…\n”"
        assert len(core_text) <= 170


def test_snippet_is_the_lead_when_the_body_has_no_match(search_index: SearchIndex) -> None:
    h = hit(search_index, "author:沈清和", "demo-009")
    assert h["snippet_html"] == (
        "国内安全团队K&amp;S安全实验室22日发布报告称，一家本地生活点评平台的评论区存在存储型跨站脚本（XSS）漏洞，"
        "攻击者可在昵称和评论内容中插入恶意代码。平台方已于报告发布前完成修复。…")
    assert "<mark>" not in h["title_html"]


# -- facets -----------------------------------------------------------------------------------

def _facets(result: dict[str, Any]) -> dict[str, list[tuple[str, int, bool]]]:
    return {k: [(f["value"], f["count"], f["selected"]) for f in v] for k, v in result["facets"].items()}


def test_facet_counts(search_index: SearchIndex) -> None:
    assert _facets(run(search_index, NEV)) == {
        "channel": [("汽车", 4, False), ("财经", 3, False)],
        "year": [("2026", 1, False), ("2025", 2, False), ("2024", 1, False), ("2023", 1, False),
                 ("2021", 1, False), ("2019", 1, False)],
        "month": [("2026-03", 1, False), ("2025-08", 1, False), ("2025-03", 1, False), ("2024-01", 1, False),
                  ("2023-04", 1, False), ("2021-10", 1, False), ("2019-07", 1, False)],
    }


def test_facets_count_articles_not_collapsed_hits(search_index: SearchIndex) -> None:
    result = run(search_index, "银")
    assert _facets(result)["channel"] == [("新闻", 2, False), ("生活", 2, False), ("财经", 2, False),
                                          ("房产", 1, False), ("科技", 1, False)]
    assert sum(c for _, c, _ in _facets(result)["year"]) == result["total_articles"] == 8


def test_facets_are_multi_select(search_index: SearchIndex) -> None:
    # the channel filter narrows hits and dates but not the channel counts
    f = _facets(run(search_index, NEV, channel="财经"))
    assert f["channel"] == [("汽车", 4, False), ("财经", 3, True)]
    assert f["year"] == [("2025", 1, False), ("2024", 1, False), ("2021", 1, False)]
    # a year range narrows channels, not the year counts; the exact year is selected
    f = _facets(run(search_index, NEV, **{"from": "2025-01-01", "to": "2025-12-31"}))
    assert f["channel"] == [("汽车", 1, False), ("财经", 1, False)]
    assert f["year"][:3] == [("2026", 1, False), ("2025", 2, True), ("2024", 1, False)]
    # a whole month is selected; channel and month together
    f = _facets(run(search_index, NEV, channel="财经", **{"from": "2025-08-01", "to": "2025-08-31"}))
    assert f["channel"] == [("财经", 1, True)]
    assert f["month"] == [("2025-08", 1, True), ("2024-01", 1, False), ("2021-10", 1, False)]
    # several channels: both selected
    f = _facets(run(search_index, NEV, channel=["汽车", "财经"]))
    assert f["channel"] == [("汽车", 4, True), ("财经", 3, True)]
    # a range that is not a whole year or month selects nothing
    f = _facets(run(search_index, NEV, **{"from": "2025-01-01", "to": "2025-06-30"}))
    assert not any(sel for k in ("year", "month") for _, _, sel in f[k])


def test_selected_values_with_no_matches_stay_listed(search_index: SearchIndex) -> None:
    f = _facets(run(search_index, NEV, channel="体育"))
    assert f["channel"] == [("汽车", 4, False), ("财经", 3, False), ("体育", 0, True)]
    assert (f["year"], f["month"]) == ([], [])
    f = _facets(run(search_index, NEV, **{"from": "2020-02-01", "to": "2020-02-29"}))
    assert ("2020-02", 0, True) in f["month"]
    assert ("财经", 3, True) in _facets(run(search_index, NEV, channel="財經"))["channel"]


def test_facets_equal_a_brute_force_count(search_index: SearchIndex) -> None:
    for q in ("江城", "银", "AI OR 5G", "-马拉松"):
        result = run(search_index, q, per_page=50, collapse="false")
        articles = [core.get_article(search_index, h["id"]) for h in result["hits"]]
        from collections import Counter

        assert dict(Counter(a["channel"] for a in articles)) == {f["value"]: f["count"] for f in result["facets"]["channel"]}
        assert dict(Counter(a["published"][:4] for a in articles)) == {f["value"]: f["count"] for f in result["facets"]["year"]}
        assert dict(Counter(a["published"][:7] for a in articles)) == {f["value"]: f["count"] for f in result["facets"]["month"]}


def test_cached_results_are_not_shared_with_callers(search_index: SearchIndex) -> None:
    first = run(search_index, "马拉松")
    first["hits"][0]["title"] = "changed"
    first["hits"].clear()
    first["query"]["q"] = "changed"
    again = run(search_index, "马拉松")
    assert again["hits"][0]["title"] != "changed" and again["query"]["q"] == "马拉松"


def test_a_slow_cached_build_does_not_block_other_lookups(search_index: SearchIndex) -> None:
    """Per-snapshot structures build lazily; one slow build (e.g. suggestion data on a big corpus)
    must not make every other request wait for it."""
    import threading

    snap = search_index.snapshot()
    release = threading.Event()
    snap.cached(("test-ready",), lambda: "ready")
    slow = threading.Thread(target=snap.cached, args=(("test-slow",), lambda: release.wait(30) and "slow"))
    slow.start()
    try:
        got: list[str] = []
        other = threading.Thread(target=lambda: got.extend([snap.cached(("test-ready",), lambda: "again"),
                                                            snap.cached(("test-other",), lambda: "other")]))
        other.start()
        other.join(10)
        assert got == ["ready", "other"]
    finally:
        release.set()
        slow.join(30)
    assert snap.cached(("test-slow",), lambda: "never") == "slow"
