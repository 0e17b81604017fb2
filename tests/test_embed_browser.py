"""The embeddable search box (/static/embed.js) in headless Chromium, on host pages served from
other loopback origins: suggestions through CORS from an allowed origin, Enter going to the site's
URL template or to our /search page, and a page on an origin not configured refused by the browser.

Uses test_browser.py's Chromium fixture (skipped the same way where Chromium is missing).
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from test_browser import browser, query_of, total, wait  # noqa: F401 - the Chromium fixture
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

HOST_PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>门户首页</title>
<body><h1>江城门户</h1>
<div id="box" data-news-search {attrs}></div>
<script src="{service}/static/embed.js" async></script>
</body></html>"""


def serve_wsgi(app) -> tuple[str, object, threading.Thread]:
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{srv.server_port}", srv, thread


def host_site(service: str):
    """A CMS stand-in: / embeds the box with a results URL template of its own, /plain without."""
    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/results":
            q = parse_qs(environ.get("QUERY_STRING", "")).get("q", [""])[0]
            body = f"<!doctype html><meta charset=utf-8><title>结果</title><p id=got>{q}</p>"
        else:
            attrs = "" if path == "/plain" else 'data-results-url="/results?q={q}" data-placeholder="站内搜索"'
            body = HOST_PAGE.format(attrs=attrs, service=service)
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode("utf-8")]
    return app


@pytest.fixture(scope="module")
def sites(demo_index: Path) -> Iterator[dict[str, str]]:
    from search_service.app import create_app

    servers = []
    # The host pages need the service's address, the service needs the allowed host's origin:
    # start the hosts on a placeholder app first, then point them at the service.
    holders: dict[str, object] = {}

    def late(name: str):
        return lambda environ, start_response: holders[name](environ, start_response)

    allowed, srv_a, t_a = serve_wsgi(late("allowed"))
    refused, srv_b, t_b = serve_wsgi(late("refused"))
    app = create_app({"INDEX_DIR": str(demo_index), "QUERY_LOG": False, "CORS_ORIGINS": allowed})
    service, srv_s, t_s = serve_wsgi(app)
    holders["allowed"] = holders["refused"] = host_site(service)
    servers = [(srv_a, t_a), (srv_b, t_b), (srv_s, t_s)]
    yield {"allowed": allowed, "refused": refused, "service": service}
    for srv, thread in servers:
        srv.shutdown()
        thread.join(5)


def box_state(d) -> str | None:
    return d.find_element(By.ID, "box").get_attribute("data-news-search-state")


def test_allowed_origin_gets_suggestions_and_enter_uses_the_template(browser, sites) -> None:  # noqa: F811
    d = browser
    d.get(sites["allowed"] + "/")
    box = wait(d).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#box input.nsb-input")))
    assert box.get_attribute("placeholder") == "站内搜索"
    box.send_keys("zfb")
    item = wait(d).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#box li.nsb-item")))
    assert item.text == "支付宝" and box_state(d) == "ready"
    assert box.get_attribute("aria-expanded") == "true"
    box.send_keys(Keys.ARROW_DOWN)
    assert box.get_attribute("aria-activedescendant") == item.get_attribute("id")
    box.send_keys(Keys.ENTER)
    wait(d).until(EC.url_contains("/results?"))
    assert urlsplit(d.current_url).netloc == urlsplit(sites["allowed"]).netloc
    assert query_of(d.current_url) == {"q": ["支付宝"]}
    assert d.find_element(By.ID, "got").text == "支付宝"


def test_without_a_template_enter_goes_to_our_results_page(browser, sites) -> None:  # noqa: F811
    d = browser
    d.get(sites["allowed"] + "/plain")
    box = wait(d).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#box input.nsb-input")))
    box.send_keys("马拉松")
    box.send_keys(Keys.ENTER)
    wait(d).until(EC.url_contains("/search?"))
    assert d.current_url.startswith(sites["service"] + "/search?")
    assert query_of(d.current_url) == {"q": ["马拉松"]}
    assert total(d) == 2


def test_origin_not_configured_is_refused_by_cors(browser, sites) -> None:  # noqa: F811
    d = browser
    d.get_log("browser")  # drop earlier messages
    d.get(sites["refused"] + "/")
    box = wait(d).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#box input.nsb-input")))
    box.send_keys("zfb")
    wait(d).until(lambda drv: box_state(drv) == "unavailable")
    assert d.find_elements(By.CSS_SELECTOR, "#box li.nsb-item") == []
    messages = [e["message"] for e in d.get_log("browser")]
    assert any("CORS policy" in m and "Access-Control-Allow-Origin" in m for m in messages), messages
    # Searching still works: Enter goes to the page's own template.
    box.send_keys(Keys.ENTER)
    wait(d).until(EC.url_contains("/results?"))
    assert query_of(d.current_url) == {"q": ["zfb"]}
