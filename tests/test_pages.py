"""The reader-facing search page: every page state, link targets, escaping, the query log.

Expectations come from the demo manifest (indexer/demo/MANIFEST.md) and, where the page must
show exactly what the API returns, from /api/search with the same parameters.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import lxml.html
import pytest

from search_service import pages_view
from search_service.app import create_app
from search_service.services import services

JIANGCHENG = quote("江城")


def page(client, url: str, status: int = 200):
    resp = client.get(url)
    assert resp.status_code == status, resp.data[:500]
    assert resp.content_type == "text/html; charset=utf-8"
    return lxml.html.fromstring(resp.data.decode("utf-8")), resp


def api(client, query: str) -> dict:
    resp = client.get("/api/search?" + query)
    assert resp.status_code == 200
    return resp.get_json()


def texts(doc, xpath: str) -> list[str]:
    return [el.text_content().strip() for el in doc.xpath(xpath)]


def hit_links(doc) -> list[str]:
    return doc.xpath('//ol[@class="hits"]/li/h2/a/@href')


def facet(doc, kind: str) -> list[tuple[str, int, bool, str]]:
    """(value, count, selected, href) of every value of one facet, hidden ones included."""
    out = []
    for a in doc.xpath(f'//section[contains(@class, "facet-{kind}")]//li/a'):
        value = a.xpath('string(.//span[@class="facet-value"])')
        count = int(a.xpath('string(.//span[@class="facet-count"])'))
        out.append((value, count, a.get("aria-current") == "true", a.get("href")))
    return out


def args_of(href: str) -> dict[str, list[str]]:
    parts = urlsplit(href)
    assert parts.path == "/search"
    return parse_qs(parts.query)


# -- start page -----------------------------------------------------------------------------
def test_start_page_has_labelled_search_box(client):
    doc, _ = page(client, "/")
    form = doc.xpath('//form[@role="search"]')[0]
    assert form.get("action") == "/search" and form.get("method") == "get"
    assert doc.xpath('//label[@for="q"]/text()') == ["搜索新闻报道"]
    box = doc.xpath('//input[@id="q"]')[0]
    assert (box.get("name"), box.get("type"), box.get("value")) == ("q", "search", "")
    assert doc.xpath('//html/@lang') == ["zh-CN"]
    assert doc.xpath('//link[@rel="search"]/@href') == ["/opensearch.xml"]
    assert doc.xpath('//link[@rel="stylesheet"]/@href') == ["/static/style.css"]
    assert doc.xpath('//section[@class="hot"]') == []  # the test app logs no queries


@pytest.mark.parametrize("url", ["/?q=江城&sort=newest", "/?q=江城&channel=体育&channel=新闻"])
def test_start_page_with_query_redirects_to_results(client, url):
    resp = client.get(url)
    assert resp.status_code == 302
    assert args_of(resp.headers["Location"]) == parse_qs(urlsplit(url).query)


def test_blank_search_goes_back_to_the_start_page(client):
    resp = client.get("/search?q=+++")
    assert (resp.status_code, resp.headers["Location"]) == (302, "/")


# -- results --------------------------------------------------------------------------------
def test_results_show_total_time_and_hits_like_the_api(client):
    doc, _ = page(client, "/search?q=支付宝")
    data = api(client, "q=支付宝")
    assert texts(doc, '//strong[@class="total"]') == ["2"]
    assert float(texts(doc, '//span[@class="took"]')[0]) >= 0
    assert hit_links(doc) == [h["url"] for h in data["hits"]]
    assert texts(doc, '//ol[@class="hits"]/li/h2') == [
        "鲸帆科技押注支付宝小程序 中小商户开始“双端经营”", "老街菜市场的“数字化”一年：摊主学会了线上接单"]
    first = doc.xpath('//ol[@class="hits"]/li')[0]
    assert first.xpath('string(.//span[@class="hit-channel"])') == "科技"
    assert first.xpath('.//time/@datetime') == ["2020-09-18T10:26:00"]
    assert first.xpath('string(.//time)') == "2020-09-18"
    assert first.xpath('string(.//span[@class="hit-source"])') == "星河科技评论"
    assert first.xpath('string(.//span[@class="hit-author"])') == "沈清和"
    assert first.xpath('.//h2//mark/text()') == ["支付宝"]
    assert set(first.xpath('.//p[@class="hit-snippet"]/mark/text()')) == {"支付宝"}
    assert doc.xpath('//input[@id="q"]/@value') == ["支付宝"]
    assert doc.xpath('//link[@rel="alternate"]/@href') == ["/search.atom?q=" + quote("支付宝")]


def test_sort_switch(client):
    doc, _ = page(client, "/search?q=江城&sort=newest")
    assert texts(doc, '//nav[@class="sort"]/*[@aria-current="true"]') == ["最新"]
    assert doc.xpath('//nav[@class="sort"]/a/@href') == [f"/search?q={JIANGCHENG}", f"/search?q={JIANGCHENG}&sort=oldest"]
    dates = doc.xpath('//ol[@class="hits"]//time/@datetime')
    assert dates == sorted(dates, reverse=True) and len(dates) == 10
    assert hit_links(doc) == [h["url"] for h in api(client, "q=江城&sort=newest")["hits"]]
    doc, _ = page(client, "/search?q=江城&sort=oldest")
    assert texts(doc, '//nav[@class="sort"]/*[@aria-current="true"]') == ["最早"]
    assert doc.xpath('//ol[@class="hits"]//time/@datetime')[0] == "2019-04-21T22:15:00"  # oldest 江城 article


def test_facet_links_add_and_remove_filters(client):
    doc, _ = page(client, "/search?q=江城")
    data = api(client, "q=江城")
    channels = facet(doc, "channel")
    assert [(v, n) for v, n, _, _ in channels] == [(f["value"], f["count"]) for f in data["facets"]["channel"]]
    assert ("体育", 5) in [(v, n) for v, n, _, _ in channels]  # MANIFEST: 体育 articles mentioning 江城
    href = {v: h for v, _, _, h in channels}["体育"]
    assert href == f"/search?q={JIANGCHENG}&channel={quote('体育')}"
    assert {v: h for v, _, _, h in facet(doc, "year")}["2024"] == f"/search?q={JIANGCHENG}&from=2024-01-01&to=2024-12-31"
    assert {v: h for v, _, _, h in facet(doc, "month")}["2022-09"] == \
        f"/search?q={JIANGCHENG}&from=2022-09-01&to=2022-09-30"

    # Following the channel link filters the results; the selected value links back.
    doc, _ = page(client, href)
    assert texts(doc, '//strong[@class="total"]') == ["5"]
    assert set(texts(doc, '//span[@class="hit-channel"]')) == {"体育"}
    selected = [(v, h) for v, _, sel, h in facet(doc, "channel") if sel]
    assert selected == [("体育", f"/search?q={JIANGCHENG}")]
    other = {v: h for v, _, _, h in facet(doc, "channel")}["新闻"]
    assert args_of(other) == {"q": ["江城"], "channel": ["体育", "新闻"]}
    assert [(v, n) for v, n, _, _ in facet(doc, "year")] == \
        [(f["value"], f["count"]) for f in api(client, "q=江城&channel=体育")["facets"]["year"]]
    assert doc.xpath('//ul[@class="active-filters"]//a/@href') == [f"/search?q={JIANGCHENG}"]
    assert texts(doc, '//ul[@class="active-filters"]//a')[0].startswith("频道：体育")


def test_year_filter_selected_and_removable(client):
    doc, _ = page(client, "/search?q=江城&from=2024-01-01&to=2024-12-31")
    assert [(v, sel) for v, _, sel, _ in facet(doc, "year") if sel] == [("2024", True)]
    assert {v: h for v, _, _, h in facet(doc, "year")}["2024"] == f"/search?q={JIANGCHENG}"
    assert set(d[:4] for d in doc.xpath('//ol[@class="hits"]//time/@datetime')) == {"2024"}
    assert texts(doc, '//ul[@class="active-filters"]//a')[0].startswith("日期：2024-01-01 至 2024-12-31")


def test_pagination(client):
    doc, _ = page(client, "/search?q=江城&page=2")
    data = api(client, "q=江城&page=2")
    assert data["pages"] == 4
    assert doc.xpath('//ol[@class="hits"]/@start') == ["11"]
    assert hit_links(doc) == [h["url"] for h in data["hits"]]
    nav = doc.xpath('//nav[@class="pagination"]')[0]
    assert nav.xpath('string(.//*[@aria-current="page"])') == "2"
    assert nav.xpath('.//a[@rel="prev"]/@href') == [f"/search?q={JIANGCHENG}"]
    assert nav.xpath('.//a[@rel="next"]/@href') == [f"/search?q={JIANGCHENG}&page=3"]
    assert nav.xpath('.//a[@class="page-number"]/text()') == ["1", "3", "4"]
    assert "第 2 / 4 页" in texts(doc, '//p[@class="summary"]')[0]
    # Changing a filter or the sort goes back to page 1.
    assert all("page=" not in h for h in doc.xpath('//nav[@class="sort"]/a/@href') + [h for *_, h in facet(doc, "channel")])


def test_page_past_the_end_links_back(client):
    doc, _ = page(client, "/search?q=江城&page=9")
    assert hit_links(doc) == []
    assert doc.xpath('//section[@class="empty"]//a/@href') == [f"/search?q={JIANGCHENG}"]


def test_single_page_has_no_pagination(client):
    doc, _ = page(client, "/search?q=支付宝")
    assert doc.xpath('//nav[@class="pagination"]') == []


def bars(doc) -> list[tuple[str, str]]:
    """(title, fill class) of every bar of the timeline."""
    return [(li.xpath("string(.//*[@title]/@title)"), li.xpath('string(.//span[contains(@class,"tl-fill")]/@class)'))
            for li in doc.xpath('//ol[contains(@class, "timeline-bars")]/li')]


def test_timeline_matches_histogram(client):
    """江城 spans 2019-2026: more than two years of months, so one bar per year."""
    doc, _ = page(client, "/search?q=江城")
    hist = api(client, "q=江城&facet_interval=year")["histogram"]
    top = max(h["count"] for h in hist)
    assert bars(doc) == [(f"{h['value']}：{h['count']} 篇", f"tl-fill h{round(20 * h['count'] / top)}") for h in hist]
    assert doc.xpath('//figure[@class="timeline"]/figcaption/text()') == \
        [f"报道时间分布（按年，共 {sum(h['count'] for h in hist)} 篇）"]
    links = doc.xpath('//ol[contains(@class, "timeline-bars")]//a/@href')
    assert links[0] == f"/search?q={JIANGCHENG}&from={hist[0]['value']}-01-01&to={hist[0]['value']}-12-31"


def test_timeline_by_month_within_two_years(client):
    doc, _ = page(client, "/search?q=江城&from=2024-01-01&to=2024-12-31")
    hist = {h["value"]: h["count"] for h in
            api(client, "q=江城&from=2024-01-01&to=2024-12-31&facet_interval=month")["histogram"]}
    first, last = min(hist), max(hist)
    months = [f"2024-{m:02d}" for m in range(int(first[5:]), int(last[5:]) + 1)]  # gaps included
    assert [t for t, _ in bars(doc)] == [f"{m}：{hist.get(m, 0)} 篇" for m in months]
    assert "按月" in texts(doc, '//figure[@class="timeline"]/figcaption')[0]
    assert doc.xpath('//ol[contains(@class, "timeline-bars")]//a/@href')[0] == \
        f"/search?q={JIANGCHENG}&from={first}-01&to={pages_view.month_last_day(first)}"


# -- empty results, did you mean -------------------------------------------------------------
@pytest.mark.parametrize("typed, fixed, total", [
    ("支付包", "支付宝", 2),     # homophone typo (zhi fu bao)
    ("雲棲彎", "云栖湾", 2),     # traditional script and a homophone (wan)
    ("瀾舟星途", "澜舟星图", 3),  # traditional + homophone (tu)
])
def test_empty_page_offers_the_correction(client, typed, fixed, total):
    # correct=false: the query as typed (without it, the correction's results are shown: below)
    doc, _ = page(client, "/search?correct=false&q=" + quote(typed))
    assert texts(doc, '//h2[@id="empty-title"]') == [f"没有找到与“{typed}”相关的报道"]
    link = doc.xpath('//a[@class="suggestion-link"]')[0]
    assert (link.text, link.get("href")) == (fixed, "/search?q=" + quote(fixed))
    assert texts(doc, '//p[@class="did-you-mean"]') == [f"你是不是要找：{fixed}（{total} 条结果）"]
    assert len(doc.xpath('//ul[@class="tips"]/li')) == 4
    assert doc.xpath('//nav[@class="sort"]') == [] and hit_links(doc) == []
    assert api(client, "correct=false&q=" + quote(typed))["suggestion"] == {"q": fixed, "total": total}


@pytest.mark.parametrize("typed, fixed, total", [("支付包", "支付宝", 2), ("瀾舟星途", "澜舟星图", 3)])
def test_nothing_found_shows_the_corrections_results(client, typed, fixed, total):
    body = api(client, "q=" + quote(typed))
    assert (body["total"], body["corrected"], body["suggestion"]) == \
        (total, {"from": typed, "to": fixed, "original_total": 0}, None)
    assert body["query"]["q"] == typed


def test_empty_page_without_correction(client):
    doc, _ = page(client, "/search?q=量子引力")
    assert texts(doc, '//h2[@id="empty-title"]') == ["没有找到与“量子引力”相关的报道"]
    assert doc.xpath('//p[@class="did-you-mean"]') == []
    assert doc.xpath('//figure[@class="timeline"]') == []


# -- bad parameters -------------------------------------------------------------------------
@pytest.mark.parametrize("query, label, param", [
    ("page=abc", "页码", "page"),
    ("per_page=500", "每页条数", "per_page"),
    ("from=2024-13-01", "开始日期", "from"),
    ("sort=random", "排序方式", "sort"),
    ("from=2025-01-01&to=2024-01-01", "开始日期", "from"),
    ("page=5000&per_page=50", "页码", "page"),
])
def test_bad_parameter_is_a_friendly_400(client, query, label, param):
    doc, _ = page(client, f"/search?q=江城&{query}", status=400)
    assert texts(doc, "//h1") == ["搜索条件有误"]
    assert texts(doc, '//p[@class="error-message"]') == [f"“{label}”（参数 {param}）的值无法使用，请修改后重新搜索。"]
    assert f"`{param}`" in texts(doc, '//p[@class="error-detail"]/code')[0]
    assert doc.xpath('//input[@id="q"]/@value') == ["江城"]  # the reader can fix the search in place


def test_unknown_page_is_a_chinese_404(client):
    doc, _ = page(client, "/no/such/page", status=404)
    assert texts(doc, "//h1") == ["页面不存在"]
    assert doc.xpath('//p[@class="error-detail"]') == []


# -- escaping and CSP -----------------------------------------------------------------------
def test_script_query_is_escaped(client):
    q = "<script>alert(1)</script>"
    resp = client.get("/search?q=" + quote(q))
    body = resp.data.decode()
    assert resp.status_code == 200
    assert q not in body and "<script>alert" not in body
    assert "“&lt;script&gt;alert(1)&lt;/script&gt;”的搜索结果" in body
    doc = lxml.html.fromstring(body)
    assert doc.xpath('//input[@id="q"]/@value') == [q]
    assert doc.xpath("//script/@src") == ["/static/suggest.js"]  # the only script on the page


def test_article_markup_is_escaped(client):
    """demo-009 holds `<script>alert(1)</script>`, `&` and `K&S` as literal text."""
    resp = client.get("/search?q=XSS")
    body = resp.data.decode()
    assert "K&amp;S安全实验室披露点评平台<mark>XSS</mark>漏洞" in body
    assert "<script>alert" not in body
    doc = lxml.html.fromstring(body)
    assert texts(doc, '//ol[@class="hits"]/li/h2') == ["K&S安全实验室披露点评平台XSS漏洞 用户昵称可被植入恶意脚本"]
    body = client.get("/search?q=script").data.decode()
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in body
    doc = lxml.html.fromstring(body)
    assert "<script>alert(1)</script>" in texts(doc, '//p[@class="hit-snippet"]')[0]  # shown as text
    assert doc.xpath('//p[@class="hit-snippet"]//script') == []


@pytest.mark.parametrize("url, status", [
    ("/", 200), ("/search?q=江城", 200), ("/search?q=支付包", 200), ("/search?q=江城&page=x", 400),
    ("/help", 200), ("/missing", 404),
])
def test_no_inline_script_or_style(client, url, status):
    """The CSP allows only same-origin files: inline code would be blocked in the browser."""
    doc, resp = page(client, url, status)
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert doc.xpath("//*[@style]") == [] and doc.xpath("//style") == []
    assert [(s.get("src"), (s.text or "").strip()) for s in doc.xpath("//script")] == [("/static/suggest.js", "")]
    assert [a for a in doc.xpath("//@href | //@src") if a.startswith(("http:", "https:", "//")) and
            "example" not in a] == []  # nothing from a CDN (article links point to the news sites)


def test_static_files_are_served(client):
    for name, kind in (("style.css", "text/css"), ("suggest.js", "text/javascript")):
        resp = client.get("/static/" + name)
        assert resp.status_code == 200 and resp.content_type.startswith(kind)
        resp.close()


# -- query log: hot and related searches ------------------------------------------------------
@pytest.fixture()
def logging_client(demo_index: Path, tmp_path: Path):
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": True,
                      "QUERY_LOG_PATH": str(tmp_path / "log.sqlite3")})
    yield app.test_client()
    services(app).query_log.close()


def test_page_searches_feed_hot_and_related(logging_client):
    c = logging_client
    # (query, distinct visitors); each visitor also searches twice and opens page 2 (one search).
    for q, n in (("江城 马拉松", 7), ("马拉松", 5), ("支付宝", 5), ("地铁", 4)):
        for v in range(n):
            for url in [f"/search?q={q}"] * 2 + [f"/search?q={q}&page=2"]:
                assert c.get(url, environ_base={"REMOTE_ADDR": f"10.1.0.{v}"}).status_code == 200
    hot = c.get("/api/hot").get_json()
    # 地铁 was searched by 4 visitors (below the privacy threshold of 5).
    assert hot["queries"] == [{"q": "江城 马拉松", "count": 7}, {"q": "支付宝", "count": 5}, {"q": "马拉松", "count": 5}]
    doc, _ = page(c, "/")
    assert texts(doc, '//section[@class="hot"]//li/a') == ["江城 马拉松", "支付宝", "马拉松"]
    assert doc.xpath('//section[@class="hot"]//li/a/@href')[0] == "/search?q=" + quote("江城 马拉松")
    doc, _ = page(c, "/search?q=马拉松")
    assert texts(doc, '//section[@class="related"]//li/a') == ["江城 马拉松"]
    for v in range(7, 8):  # with the page visit above, two more visitors for 马拉松: it overtakes 支付宝
        assert c.get("/search?q=马拉松", environ_base={"REMOTE_ADDR": f"10.1.0.{v}"}).status_code == 200
    doc, _ = page(c, "/search?q=量子引力")  # empty results suggest what others searched
    # 马拉松 now has 7 visitors too; ties are listed in text order.
    assert texts(doc, '//ul[@aria-labelledby="empty-hot"]/li/a') == ["江城 马拉松", "马拉松", "支付宝"]


def test_query_log_off_writes_nothing(demo_index: Path, tmp_path: Path):
    path = tmp_path / "log.sqlite3"
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False, "QUERY_LOG_PATH": str(path)})
    c = app.test_client()
    assert c.get("/search?q=江城").status_code == 200
    assert c.get("/api/hot").get_json() == {"ok": True, "days": 7, "enabled": False, "queries": []}
    assert not path.exists()


# -- view helpers ---------------------------------------------------------------------------
@pytest.mark.parametrize("page_no, pages, expected", [
    (1, 1, [1]),
    (1, 4, [1, 2, 3, 4]),
    (5, 20, [1, None, 3, 4, 5, 6, 7, None, 20]),
    (20, 20, [1, None, 18, 19, 20]),
])
def test_page_numbers(page_no, pages, expected):
    assert pages_view.page_numbers(page_no, pages, 10) == expected


def test_page_numbers_stop_at_the_result_window():
    assert pages_view.page_numbers(1, 5000, 10)[-1] == 1000


@pytest.mark.parametrize("month, last", [("2024-02", "2024-02-29"), ("2023-02", "2023-02-28"), ("2023-12", "2023-12-31")])
def test_month_last_day(month, last):
    assert pages_view.month_last_day(month) == last


def test_chart_data_rolls_up_long_spans():
    months = [{"value": "2019-01", "count": 2}, {"value": "2019-05", "count": 1}, {"value": "2021-01", "count": 4}]
    assert pages_view.chart_data(months, "month") == ("year", [{"value": "2019", "count": 3}, {"value": "2021", "count": 4}])
    assert pages_view.chart_data(months[:2], "month") == ("month", months[:2])
    days = [{"value": "2024-01-01", "count": 1}, {"value": "2024-03-05", "count": 2}]
    assert pages_view.chart_data(days, "day") == ("month", [{"value": "2024-01", "count": 1}, {"value": "2024-03", "count": 2}])
    assert pages_view.chart_data(days[:1], "day") == ("day", days[:1])


def test_timeline_fills_empty_months():
    chart = pages_view.timeline([{"value": "2024-11", "count": 2}, {"value": "2025-02", "count": 1}], "month",
                                {"q": "x", "channel": []})
    assert [(b["value"], b["count"], b["level"], b["label"]) for b in chart["bars"]] == [
        ("2024-11", 2, 20, "2024-11"), ("2024-12", 0, 0, "2024-12"), ("2025-01", 0, 0, "2025-01"),
        ("2025-02", 1, 10, "2025-02")]
    assert chart["bars"][0]["href"] == "/search?q=x&from=2024-11-01&to=2024-11-30"
    assert chart["bars"][1]["href"] is None
    # Many months: every second month is labelled (at most 6 labels fit a phone), the year on the
    # first label and on January.
    chart = pages_view.timeline([{"value": "2024-09", "count": 1}, {"value": "2025-04", "count": 3}], "month",
                                {"q": "x", "channel": []})
    assert [b["label"] for b in chart["bars"]] == ["2024年9月", "", "11月", "", "2025年1月", "", "3月", ""]
    # A year of months: every second month from January.
    chart = pages_view.timeline([{"value": "2024-01", "count": 1}, {"value": "2024-12", "count": 3}], "month",
                                {"q": "x", "channel": []})
    assert [b["label"] for b in chart["bars"]] == [
        "2024年1月", "", "3月", "", "5月", "", "7月", "", "9月", "", "11月", ""]
    # Two years starting in June: every fourth month aligned to January (Jan, May, Sep).
    chart = pages_view.timeline([{"value": "2023-06", "count": 1}, {"value": "2025-05", "count": 3}], "month",
                                {"q": "x", "channel": []})
    assert [b["label"] for b in chart["bars"] if b["label"]] == [
        "2023年9月", "2024年1月", "5月", "9月", "2025年1月", "5月"]


def test_page_does_not_change_cached_api_results(client):
    """The core caches results per snapshot: what the page adds must not leak into /api/search."""
    client.get("/search?q=马拉松&facet_interval=month")
    hit = api(client, "q=马拉松&facet_interval=month")["hits"][0]
    assert "href" not in hit and "date" not in hit and hit["title"].startswith("2024江城马拉松")


def test_a_search_cut_short_by_the_time_limit_says_so(demo_index: Path):
    # A budget of a nanosecond has run out before the substring scan starts (see test_limits).
    c = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False,
                    "SEARCH_TIME_LIMIT_MS": 1e-6}).test_client()
    doc, _ = page(c, "/search?q=" + quote('"支付宝"'))
    assert [p.text_content() for p in doc.xpath("//p[@class='timed-out']")] == [
        "搜索用时超过上限，以下只是部分结果。请尝试更具体的关键词或缩小时间范围。"]
    doc, _ = page(create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False}).test_client(),
                  "/search?q=" + quote('"支付宝"'))
    assert doc.xpath("//p[@class='timed-out']") == []
    assert doc.xpath("//strong[@class='total']/text()") == ["2"]
