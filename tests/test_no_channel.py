"""Articles without a channel are counted under 未分类 (JSON value null with a label) and can be
selected, so the channel counts always add up to the total."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from lxml import html

from indexer.build import rebuild
from search_service.app import create_app

ARTICLES = [
    {"id": "a1", "title": "江城马拉松开跑", "body": "江城马拉松今天开跑，两万名跑者参赛。", "channel": "体育",
     "published": "2024-03-01"},
    {"id": "a2", "title": "马拉松赛道公布", "body": "马拉松赛道经过江城老城区。", "channel": "体育", "published": "2024-02-01"},
    {"id": "a3", "title": "马拉松志愿者招募", "body": "马拉松组委会招募志愿者。", "published": "2023-12-01"},
    {"id": "a4", "title": "夜跑马拉松爱好者", "body": "城市夜跑的马拉松爱好者越来越多。", "channel": "",
     "published": "2024-05-01"},
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("nochannel")
    src = root / "articles.jsonl"
    src.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ARTICLES), encoding="utf-8")
    rebuild([str(src)], root / "index", procs=1)
    return create_app({"TESTING": True, "INDEX_DIR": str(root / "index"), "QUERY_LOG": False}).test_client()


def test_facet_counts_add_up_with_the_no_channel_value(client):
    data = client.get("/api/search", query_string={"q": "马拉松"}).get_json()
    assert data["total"] == 4
    assert data["facets"]["channel"] == [{"value": "体育", "count": 2, "selected": False},
                                         {"value": None, "count": 2, "selected": False, "label": "未分类"}]
    assert sum(f["count"] for f in data["facets"]["channel"]) == data["total_articles"]


def test_selecting_no_channel_filters_to_articles_without_one(client):
    data = client.get("/api/search", query_string={"q": "马拉松", "channel": "未分类"}).get_json()
    assert sorted(h["id"] for h in data["hits"]) == ["a3", "a4"]
    assert data["facets"]["channel"][-1] == {"value": None, "count": 2, "selected": True, "label": "未分类"}
    both = client.get("/api/search", query_string={"q": "马拉松", "channel": ["未分类", "体育"]}).get_json()
    assert both["total"] == 4


def test_no_channel_on_the_page(client):
    doc = html.fromstring(client.get("/search?q=" + quote("马拉松")).get_data(as_text=True))
    links = doc.xpath('//section[contains(@class,"facet-channel")]//a')
    assert [(a.xpath('string(.//span[@class="facet-value"])'), a.get("href")) for a in links] == [
        ("体育", "/search?q=" + quote("马拉松") + "&channel=" + quote("体育")),
        ("未分类", "/search?q=" + quote("马拉松") + "&channel=" + quote("未分类"))]
    doc = html.fromstring(client.get("/search?q=马拉松&channel=未分类").get_data(as_text=True))
    assert doc.xpath('string(//strong[@class="total"])') == "2"
    assert doc.xpath('//ul[@class="active-filters"]//a/text()')[0].strip() == "频道：未分类"


def test_month_facet_follows_the_selected_year(client):
    data = client.get("/api/search", query_string={"q": "马拉松", "from": "2024-01-01", "to": "2024-12-31"}).get_json()
    assert [f["value"] for f in data["facets"]["month"]] == ["2024-05", "2024-03", "2024-02"]
    assert [f["value"] for f in data["facets"]["year"]] == ["2024", "2023"]  # years stay switchable
    data = client.get("/api/search", query_string={"q": "马拉松"}).get_json()
    assert [f["value"] for f in data["facets"]["month"]] == ["2024-05", "2024-03", "2024-02", "2023-12"]


def test_help_examples_come_from_this_index(client):
    """Another archive, other examples: each linked one finds something in it."""
    page = client.get("/help").get_data(as_text=True)
    doc = html.fromstring(page)
    queries = [a.text_content() for a in doc.xpath('//article[@class="help"]//a/code')]
    assert {"江城 两万名", "title:江城", "channel:体育 江城", "(江城 OR 两万名) 今天"} <= set(queries)
    assert "江城 地铁 开通" not in page and "author:何嘉宁" not in page  # the demo's examples are gone
    for q in queries:
        assert client.get("/api/search", query_string={"q": q}).get_json()["total"] > 0, q
