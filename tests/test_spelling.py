"""Typo correction answered with the correction (spelling.py) and regional vocabulary (regional.py).

A small index of our own articles is built per module (the shared demo index has too few
repeated phrases for the evidence thresholds): 神舟十八号 in 8 articles, 一带一路 in 6, 新冠疫情 in 6,
南海局势 in 6, the name 李小明 in 6 and the rare real name 李晓明 once; one article each holds
神州 / 一代 / 一路 / 新关 scattered, so the typos below find one or two off-topic articles as typed.
Regional: 网络安全 in 6 articles, one Taiwan-style article (網路安全, 軟體), 软件, 人工智能, 激光,
智能手机 in mainland wording.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.build import rebuild
from search_service import core, regional, spelling
from search_service.app import create_app
from search_service.index import SearchIndex
from search_service.params import parse_search_params


def _articles() -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def add(title: str, body: str, channel: str = "科技") -> None:
        n = len(out) + 1
        out.append({"id": f"sp-{n:03d}", "title": title, "body": body, "channel": channel,
                    "published": f"2025-{(n % 12) + 1:02d}-{(n % 27) + 1:02d}"})

    for i in range(8):
        add(f"神舟十八号任务第{i + 1}次报道", f"神舟十八号载人飞船的航天员今天完成第{i + 1}项工作。")
    for i in range(6):
        add(f"共建一带一路合作第{i + 1}篇", f"一带一路倡议提出以来，合作项目第{i + 1}批落地。", "国际")
    for i in range(6):
        add(f"新冠疫情防控第{i + 1}期", f"各地继续做好新冠疫情防控，第{i + 1}轮检测结束。", "生活")
    for i in range(6):
        add(f"南海局势观察之{i + 1}", f"专家分析南海局势，第{i + 1}次会谈举行。", "国际")
    for i in range(6):
        add(f"李小明获奖第{i + 1}回", f"运动员李小明在比赛中获得第{i + 1}名。", "体育")
    add("青年作家李晓明出版新书", "作家李晓明的新书讲述家乡故事。", "文化")
    add("神州大地春意浓", "神州大地处处春光。十八号展厅今天开放，一代新人一路前行。新关口岸通关顺畅。", "生活")
    for i in range(6):
        add(f"网络安全宣传周第{i + 1}天", f"网络安全宣传周举行第{i + 1}场活动。")
    add("台湾业者谈網路安全與軟體", "業者表示網路安全需要更好的軟體。")
    add("软件业收入增长", "今年软件业务收入增长。")
    add("人工智能大会开幕", "人工智能大会展示激光雷达和智能手机新品。")
    return out


@pytest.fixture(scope="module")
def spell_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spelling")
    src = root / "articles.jsonl"
    src.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in _articles()), encoding="utf-8")
    rebuild([str(src)], root / "index", procs=1)
    return root / "index"


@pytest.fixture(scope="module")
def spell_index(spell_dir: Path) -> SearchIndex:
    return SearchIndex(spell_dir)


@pytest.fixture(scope="module")
def spell_client(spell_dir: Path):
    return create_app({"TESTING": True, "INDEX_DIR": str(spell_dir), "QUERY_LOG": False}).test_client()


def search(index: SearchIndex, q: str, **extra: str) -> dict:
    return core.search(index, parse_search_params({"q": [q], **{k: [v] for k, v in extra.items()}}))


# -- typos ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, fixed, original, total", [
    ("神州十八号", "神舟十八号", 1, 8),     # 神州 is a word, but 神州十八号 is written nowhere
    ("神州十八號", "神舟十八号", 1, 8),     # traditional input is folded first
    ("神邹十八号", "神舟十八号", 0, 8),     # fuzzy z/zh
    ("一代一路", "一带一路", 1, 6),         # two known words, together a typo
    ("新关疫情", "新冠疫情", 0, 6),         # 新关 next to a word the archive knows well
    ("新关 疫情", "新冠 疫情", 0, 6),       # the same with a space: one word corrected
    ("新冠疫琴", "新冠疫情", 0, 6),         # fuzzy in/ing
    ("蓝海局势", "南海局势", 0, 6),         # fuzzy n/l
])
def test_clear_typos_are_answered_with_the_correction(spell_index, typed, fixed, original, total):
    data = search(spell_index, typed)
    assert data["corrected"] == {"from": typed, "to": fixed, "original_total": original}
    assert data["total"] == total and data["suggestion"] is None
    assert data["query"]["q"] == typed  # the echo is what was typed
    assert data["total"] == search(spell_index, fixed)["total"]
    assert all("<mark>" in h["title_html"] + h["snippet_html"] for h in data["hits"])


@pytest.mark.parametrize("q", [
    '"神州十八号"',                 # quoted strings are exact
    "title:神州十八号",             # field clauses are exact
    "神州",                         # a word the archive holds (172 times in the real corpus)
    "李晓明",                       # a rare real name: written once, its homophone 李小明 only 6 times
    "神舟十八号",                   # nothing to correct
])
def test_never_corrected(spell_index, q):
    assert search(spell_index, q)["corrected"] is None


def test_exclusions_are_not_corrected(spell_index):
    data = search(spell_index, "航天员 -神州十八号")
    assert data["corrected"] is None and data["total"] == 8


def test_correct_false_searches_as_typed_and_suggests(spell_index):
    data = search(spell_index, "神州十八号", correct="false")
    assert data["corrected"] is None and data["query"]["correct"] is False
    assert [h["id"] for h in data["hits"]] == ["sp-034"]
    assert data["suggestion"] == {"q": "神舟十八号", "total": 8}


def test_filters_decide_with_the_correction(spell_index):
    # In 生活 the correction finds nothing more than the typed query: no correction, no suggestion.
    data = search(spell_index, "神州十八号", channel="生活")
    assert (data["corrected"], data["total"], data["suggestion"]) == (None, 1, None)
    assert search(spell_index, "神州十八号", channel="科技")["corrected"]["to"] == "神舟十八号"


def test_api_reports_correction_and_validates_correct(spell_client):
    body = spell_client.get("/api/search", query_string={"q": "一代一路"}).get_json()
    assert body["corrected"] == {"from": "一代一路", "to": "一带一路", "original_total": 1}
    assert body["total"] == 6
    body = spell_client.get("/api/search", query_string={"q": "一代一路", "correct": "0"}).get_json()
    assert body["corrected"] is None and body["total"] == 1
    resp = spell_client.get("/api/search", query_string={"q": "一代一路", "correct": "maybe"})
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert (error["parameter"], error["code"]) == ("correct", "invalid_parameter")


def test_page_says_what_it_showed_and_links_the_original(spell_client):
    html = spell_client.get("/search", query_string={"q": "神州十八号"}).get_data(as_text=True)
    assert "已显示“<strong class=\"corrected-to\">神舟十八号</strong>”的结果 · 仍然搜索“" in html
    link = '<a href="/search?q=%E7%A5%9E%E5%B7%9E%E5%8D%81%E5%85%AB%E5%8F%B7&amp;correct=false" ' \
           'class="corrected-original">神州十八号</a>'
    assert link in html
    original = spell_client.get("/search?q=%E7%A5%9E%E5%B7%9E%E5%8D%81%E5%85%AB%E5%8F%B7&correct=false")
    text = original.get_data(as_text=True)
    assert "已显示" not in text and "春意浓" in text and "你是不是要找" in text
    # Links on that page (sorting, facets) keep searching the original.
    assert "correct=false&amp;sort=newest" in text or "sort=newest&amp;correct=false" in text
    assert spell_client.get("/search", query_string={"q": "神州", "correct": "x"}).status_code == 400


def test_toned_and_fuzzy_tiers(spell_index):
    assert spelling.toned("神舟") == ("shen2", "zhou1") == spelling.toned("神州")
    data = spelling.suggest_data(spell_index.snapshot())
    tiers = dict(spelling._sound_alikes(data, "神州", ("shen", "zhou"), ("shen2", "zhou1")))
    assert tiers["神舟"] == 1.0
    tiers = dict(spelling._sound_alikes(data, "蓝海", ("lan", "hai"), ("lan2", "hai3")))
    assert tiers == {"南海": 0.25}


def test_attested_counts_text_as_written(spell_index):
    snap = spell_index.snapshot()
    assert spelling.attested(snap, "神舟十八号") == 8
    assert spelling.attested(snap, "神州十八号") == 0   # 神州 and 十八号 occur, never together
    assert spelling.attested(snap, "李晓明") == 1


# -- regional vocabulary --------------------------------------------------------------------------
@pytest.mark.parametrize("q, ids", [
    ("網路安全", {f"sp-{n:03d}" for n in range(35, 42)}),   # TW wording finds the 6 mainland ones too
    ("网络安全", {f"sp-{n:03d}" for n in range(35, 42)}),   # and back
    ("軟體", {"sp-041", "sp-042"}),
    ("人工智慧", {"sp-043"}),
    ("鐳射", {"sp-043"}),                                   # HK 鐳射 = 激光 (EXTRA_PAIRS)
    ("智慧型手機", {"sp-043"}),
])
def test_regional_wording_finds_both(spell_index, q, ids):
    data = search(spell_index, q, per_page="20")
    assert {h["id"] for h in data["hits"]} == ids and data["corrected"] is None


def test_regional_alternatives_are_highlighted(spell_index):
    titles = [h["title_html"] for h in search(spell_index, "網路安全")["hits"]]
    assert "<mark>網路安全</mark>" in titles[0] or "<mark>網路安全</mark>" in titles[-1]
    assert sum("<mark>网络安全</mark>" in t for t in titles) == 6


def test_quoted_strings_get_no_regional_alternatives(spell_index):
    assert {h["id"] for h in search(spell_index, '"網路安全"')["hits"]} == {"sp-041"}
    assert {h["id"] for h in search(spell_index, '"人工智慧"')["hits"]} == set()


def test_alternatives_from_opencc():
    assert regional.alternatives("网路") == ("网络",)
    assert "人工智能" in regional.alternatives("人工智慧")
    assert "网路" in regional.alternatives("网络")
    assert regional.alternatives("北京") == ()


def test_alternatives_are_dropped_where_both_forms_are_common():
    counts = {"智慧": 800, "智能": 2000, "人工智慧": 0, "人工智能": 900, "网路": 3, "网络": 985}
    assert regional.regional_table(["智慧"], lambda t: counts.get(t, 0)) == {}
    assert regional.regional_table(["人工智慧"], lambda t: counts.get(t, 0)) == {"人工智慧": ("人工智慧", "人工智能")}
    assert regional.regional_table(["网路", "安全"], lambda t: counts.get(t, 0)) == {
        "网路": ("网路", "网络"), "网路安全": ("网路安全", "网络安全")}


def test_phrase_runs_make_one_unit():
    table = regional.regional_table(["智慧型", "手机"], lambda t: 0)
    assert "智能手机" in table["智慧型手机"]


# -- the same on the Xapian shards (NEWS_SEARCH_ENGINE=xapian) ------------------------------------
@pytest.fixture(scope="module")
def spell_xapian_client(spell_dir: Path):
    pytest.importorskip("xapian")
    from indexer import xapian_store

    src = spell_dir.parent / "articles.jsonl"
    specs = [str(spell_dir.parent / f"xapian-{i}") for i in range(2)]
    xapian_store.rebuild([str(src)], specs, procs=1)
    return create_app({"TESTING": True, "INDEX_DIR": str(spell_dir), "QUERY_LOG": False, "ENGINE": "xapian",
                       "XAPIAN_SHARDS": ",".join(specs)}).test_client()


@pytest.mark.parametrize("q, extra", [
    ("神州十八号", ""), ("神州十八號", ""), ("神邹十八号", ""), ("一代一路", ""), ("新关疫情", ""), ("新关 疫情", ""),
    ("新冠疫琴", ""), ("蓝海局势", ""), ('"神州十八号"', ""), ("title:神州十八号", ""), ("神州", ""), ("李晓明", ""),
    ("神舟十八号", ""), ("航天员 -神州十八号", ""), ("神州十八号", "&correct=false"), ("神州十八号", "&channel=生活"),
    ("神州十八号", "&channel=科技"), ("一代一路", "&correct=0"),
])
def test_xapian_corrects_as_whoosh(spell_client, spell_xapian_client, q: str, extra: str) -> None:
    want = spell_client.get(f"/api/search?q={q}{extra}").get_json()
    got = spell_xapian_client.get(f"/api/search?q={q}{extra}").get_json()
    assert (got["corrected"], got["suggestion"], got["total"]) == (want["corrected"], want["suggestion"], want["total"])
    assert sorted(h["id"] for h in got["hits"]) == sorted(h["id"] for h in want["hits"])
