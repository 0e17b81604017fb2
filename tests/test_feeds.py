"""Atom feed per query (/search.atom) and the OpenSearch description (/opensearch.xml)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest

from search_service import feeds

A = "{http://www.w3.org/2005/Atom}"
OS = "{http://a9.com/-/spec/opensearch/1.1/}"


def feed(client, query: str) -> tuple[ET.Element, bytes]:
    resp = client.get("/search.atom?" + query)
    assert resp.status_code == 200
    assert resp.content_type == "application/atom+xml; charset=utf-8"
    return ET.fromstring(resp.data), resp.data


def test_feed_is_newest_first(client):
    root, _ = feed(client, "q=" + quote("江城"))
    entries = root.findall(A + "entry")
    api = client.get("/api/search", query_string={"q": "江城", "sort": "newest", "per_page": "20"}).get_json()
    assert len(entries) == 20 == len(api["hits"])
    assert [e.findtext(A + "title") for e in entries] == [h["title"] for h in api["hits"]]
    published = [e.findtext(A + "published") for e in entries]
    assert published == sorted(published, reverse=True)
    assert published[0] == "2026-03-08T11:20:45+08:00"  # the newest 江城 article (scraped s05)
    assert root.findtext(A + "updated") == published[0]
    assert root.findtext(A + "title") == "新闻搜索：江城"
    assert root.findtext(A + "subtitle") == f"包含“江城”的最新报道，共 {api['total']} 条"
    first = entries[0]
    assert first.find(A + "link").get("href") == "http://www.example-portal.cn/qc/20260308/3105.html"
    assert first.findtext(A + "author/" + A + "name") == "青岚汽车周刊 · 温景行"
    assert first.find(A + "category").get("term") == "汽车"
    links = {link.get("rel"): link.get("href") for link in root.findall(A + "link")}
    assert links["alternate"] == "http://localhost/search?q=%E6%B1%9F%E5%9F%8E&sort=newest"
    assert links["self"] == "http://localhost/search.atom?q=%E6%B1%9F%E5%9F%8E"


def test_feed_filters_and_size(client):
    root, _ = feed(client, "q=" + quote("江城") + "&channel=" + quote("体育") + "&per_page=2&sort=oldest&page=3")
    entries = root.findall(A + "entry")
    # sort and page are ignored: a feed is always the first page, newest first.
    assert [e.findtext(A + "published") for e in entries] == ["2024-11-10T11:30:00+08:00", "2023-10-08T18:45:00+08:00"]
    assert {e.find(A + "category").get("term") for e in entries} == {"体育"}


def test_feed_escapes_markup(client):
    """demo-009's title holds `K&S`, its body `<script>alert(1)</script>` as text."""
    root, raw = feed(client, "q=script")
    (entry,) = root.findall(A + "entry")
    assert entry.findtext(A + "title") == "K&S安全实验室披露点评平台XSS漏洞 用户昵称可被植入恶意脚本"
    summary = entry.find(A + "summary")
    assert summary.get("type") == "html"
    # The summary is HTML carried as text: highlights are markup, the article's own markup is text.
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in summary.text
    assert b"<script>" not in raw and b"<mark>" not in raw
    root, raw = feed(client, "q=" + quote("<script>alert(1)</script>"))
    assert root.findtext(A + "title") == "新闻搜索：<script>alert(1)</script>"
    assert b"<script>" not in raw


def test_feed_of_nothing_is_valid(client):
    root, _ = feed(client, "q=" + quote("量子引力"))
    assert root.findall(A + "entry") == []
    assert root.findtext(A + "subtitle") == "包含“量子引力”的最新报道，共 0 条"


@pytest.mark.parametrize("query, status", [("", 400), ("q=a&per_page=99", 400), ("q=a&from=yesterday", 400)])
def test_feed_bad_parameters(client, query, status):
    resp = client.get("/search.atom?" + query)
    assert resp.status_code == status
    assert "请求的参数有误，请检查后重试。" in resp.data.decode()


def test_opensearch_description(client):
    resp = client.get("/opensearch.xml")
    assert resp.content_type == "application/opensearchdescription+xml; charset=utf-8"
    root = ET.fromstring(resp.data)
    assert root.tag == OS + "OpenSearchDescription"
    assert root.findtext(OS + "ShortName") == "新闻搜索"
    assert root.findtext(OS + "InputEncoding") == "UTF-8"
    urls = {u.get("type"): u.get("template") for u in root.findall(OS + "Url")}
    assert urls == {
        "text/html": "http://localhost/search?q={searchTerms}",
        "application/atom+xml": "http://localhost/search.atom?q={searchTerms}",
        "application/x-suggestions+json": "http://localhost/api/suggest?format=opensearch&q={searchTerms}",
        "application/opensearchdescription+xml": "http://localhost/opensearch.xml",
    }


def test_atom_feed_builder_escapes_every_field():
    result = {"query": {"q": "a&b"}, "total": 1, "hits": [{
        "id": "x/1?&", "title": "<b>标题</b> & more", "url": None, "published": "2024-05-01T08:00:00",
        "source": "<i>源</i>", "author": None, "channel": "科&技", "snippet_html": "a &lt;b&gt; <mark>c</mark>",
    }]}
    root = ET.fromstring(feeds.atom_feed(result, "https://s.example/", "https://s.example/search.atom?q=a%26b",
                                         "https://s.example/search?q=a%26b"))
    entry = root.find(A + "entry")
    assert root.findtext(A + "title") == "新闻搜索：a&b"
    assert entry.findtext(A + "title") == "<b>标题</b> & more"
    assert entry.findtext(A + "id") == "https://s.example/api/articles/x%2F1%3F%26"  # no url: the article API
    assert entry.findtext(A + "published") == "2024-05-01T08:00:00+08:00"
    assert entry.findtext(A + "author/" + A + "name") == "<i>源</i>"
    assert entry.find(A + "category").get("term") == "科&技"
    assert entry.findtext(A + "summary") == "a &lt;b&gt; <mark>c</mark>"


@pytest.mark.parametrize("published, stamp", [
    ("2024-05-01T08:00:00", "2024-05-01T08:00:00+08:00"),
    ("2024-05-01T08:00:00.123", "2024-05-01T08:00:00+08:00"),
    ("2024-05-01T08:00:00+00:00", "2024-05-01T08:00:00+00:00"),
    ("not a date", None), (None, None),
])
def test_timestamps(published, stamp):
    assert feeds._ts(published) == stamp


def test_self_link_is_percent_encoded_even_for_a_raw_utf8_query(client):
    # Test clients (and some scripts) send the query string as raw UTF-8 bytes, not %-escapes.
    resp = client.get("/search.atom", environ_overrides={"QUERY_STRING": "q=江城".encode().decode("latin-1")})
    assert resp.status_code == 200
    links = {link.get("rel"): link.get("href") for link in ET.fromstring(resp.data).findall(A + "link")}
    assert links["self"] == "http://localhost/search.atom?q=%E6%B1%9F%E5%9F%8E"
