"""Public lists (hot searches, 大家都在搜, related searches, suggestions) follow the editors' rules:
distinct visitors, results found, plain words only, block and pin files picked up live."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html

from search_service import publiclists, queryfilter
from search_service.app import create_app
from search_service.services import services
from search_service.querylog import QueryLog, visitor_identity

QUERY = "江城 马拉松"


@pytest.fixture()
def logged(demo_index: Path, tmp_path: Path):
    lists = tmp_path / "lists"
    lists.mkdir()
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": True,
                      "QUERY_LOG_PATH": str(tmp_path / "q.sqlite3"), "HOT_LISTS_DIR": str(lists)})
    yield app.test_client(), lists
    services(app).query_log.close()


def search(c, q: str, visitor: str, times: int = 1) -> None:
    for _ in range(times):
        assert c.get("/search", query_string={"q": q}, environ_base={"REMOTE_ADDR": visitor}).status_code == 200


def hot(c) -> list[str]:
    return [e["q"] for e in c.get("/api/hot").get_json()["queries"]]


def start_page(c) -> list[str]:
    doc = html.fromstring(c.get("/").get_data(as_text=True))
    return [a.text_content() for a in doc.xpath('//section[@class="hot"]//li/a')]


def suggested(c, text: str) -> list[str]:
    return c.get("/api/suggest", query_string={"q": text}).get_json()["suggestions"]


def everywhere(c, q: str) -> tuple[bool, bool, bool]:
    return q in hot(c), q in start_page(c), q in suggested(c, q[:2])


def test_one_visitor_or_four_never_reach_the_lists_five_do(logged):
    c, lists = logged
    search(c, QUERY, "192.0.2.1", times=50)
    assert everywhere(c, QUERY) == (False, False, False)
    for v in (2, 3, 4):
        search(c, QUERY, f"192.0.2.{v}", times=2)
    assert everywhere(c, QUERY) == (False, False, False)  # 4 distinct visitors
    search(c, QUERY, "192.0.2.5")
    assert everywhere(c, QUERY) == (True, True, True)
    assert c.get("/api/hot").get_json()["queries"] == [{"q": QUERY, "count": 5}]
    # The block list is picked up live: a word, then a pattern.
    (lists / "hot_block.txt").write_text("# editors\n马拉松\n", encoding="utf-8")
    assert everywhere(c, QUERY) == (False, False, False)
    (lists / "hot_block.txt").write_text("re:^江城\\s\n", encoding="utf-8")
    assert everywhere(c, QUERY) == (False, False, False)
    (lists / "hot_block.txt").write_text("", encoding="utf-8")
    assert everywhere(c, QUERY) == (True, True, True)
    # Pinned entries come first, in file order, even when nobody searched them.
    (lists / "hot_pinned.txt").write_text("支付宝\n春运\n", encoding="utf-8")
    assert c.get("/api/hot").get_json()["queries"] == [
        {"q": "支付宝", "count": 0, "pinned": True}, {"q": "春运", "count": 0, "pinned": True}, {"q": QUERY, "count": 5}]
    assert start_page(c) == ["支付宝", "春运", QUERY]


def test_four_fresh_visitors_twice_each_stay_private(logged):
    c, _ = logged
    for v in range(4):
        search(c, QUERY, f"198.51.100.{v}", times=2)
    assert everywhere(c, QUERY) == (False, False, False)


def test_ipv6_addresses_of_one_host_count_once(logged):
    c, _ = logged
    for v in range(5):
        search(c, QUERY, f"2001:db8::{v + 1}")
    assert QUERY not in hot(c)
    assert visitor_identity("2001:db8::1") == visitor_identity("2001:db8::ffff") == "2001:db8::"
    assert visitor_identity("::ffff:192.0.2.7") == "192.0.2.7"


@pytest.mark.parametrize("q, reason", [
    ("author:何嘉宁", "syntax"), ("马拉松 OR 中国", "syntax"), ('"马拉松"', "syntax"), ("马拉松 -交通", "syntax"),
    ("银", "single_character"), ("的", "single_character"), ("马拉松 的", "function_word"),
    ("江城 马拉松 地铁 支付宝 银行", "long"),
])
def test_what_is_never_public_however_many_visitors(logged, q, reason):
    c, _ = logged
    assert publiclists.hidden_reason(q, publiclists.EditorLists()) == reason
    for v in range(6):
        search(c, q, f"203.0.113.{v}")
    assert q not in hot(c)


def test_allow_lets_an_editor_list_a_single_character(logged):
    c, lists = logged
    for v in range(5):
        search(c, "银", f"203.0.113.{v}")
    assert hot(c) == []
    (lists / "hot_pinned.txt").write_text("allow:银\n", encoding="utf-8")
    assert hot(c) == ["银"]


def test_a_typo_is_listed_as_its_correction(logged):
    c, _ = logged
    for v in range(5):
        search(c, "支付包", f"192.0.2.{v}")   # homophone typo of 支付宝; it finds something
    for v in range(2):
        search(c, "支付宝", f"198.51.100.{v}")
    assert c.get("/api/hot").get_json()["queries"] == [{"q": "支付宝", "count": 7}]
    assert "支付包" not in suggested(c, "支付")


@pytest.mark.parametrize("q, why", [
    ("zhangsan＠qq.com", "email"), ("138.0013.8000", "number"), ("１３８００１３８０００", "number"),
    ("一一〇一〇五一九九〇〇三〇七一二三四", "number"), ("加微信 vx8888 买发票", "contact"), ("vx：abc123", "contact"),
    ("代开发票", "contact"), ("加V信领红包", "contact"),
])
def test_personal_data_after_nfkc_is_not_logged(tmp_path: Path, q, why):
    assert queryfilter.personal(q) == why
    assert logged_rows(tmp_path, q) == []


def logged_rows(tmp_path: Path, raw: str) -> list[tuple[str, int]]:
    """What a fresh log keeps after one search for `raw`."""
    qlog = QueryLog(tmp_path / "q.sqlite3")
    qlog.record(raw, 3, visitor="192.0.2.1")
    rows = qlog.frequent(7)
    qlog.close()
    return rows


@pytest.mark.parametrize("q", ["一带一路", "2024年 奥运", "5G 手机", "十四五 规划"])
def test_ordinary_queries_are_not_personal(q):
    assert queryfilter.personal(q) is None


@pytest.mark.parametrize("raw, kept", [
    ("\x1b[2J马拉松", "马拉松"), ("马拉\u202e松", "马拉松"), ("江城\t\n马拉松\x00", "江城 马拉松"),
    ("\x1b]0;title\x07支付宝", "支付宝"), ("\u200b银行\u2066", "银行"),
])
def test_control_bidi_and_escapes_are_stripped_before_storing(tmp_path: Path, raw, kept):
    assert queryfilter.clean(raw) == kept
    assert logged_rows(tmp_path, raw) == [(kept, 1)]


def test_no_address_is_stored_and_old_salts_go(tmp_path: Path):
    import sqlite3
    from datetime import date, timedelta

    qlog = QueryLog(tmp_path / "q.sqlite3")
    qlog.record("马拉松", 3, visitor="192.0.2.77")
    qlog.record("马拉松", 3, day=date.today() - timedelta(days=1), visitor="192.0.2.77")
    qlog.close()
    raw = (tmp_path / "q.sqlite3").read_bytes()
    assert b"192.0.2.77" not in raw
    db = sqlite3.connect(tmp_path / "q.sqlite3")
    assert {len(v) for (v,) in db.execute("SELECT visitor FROM searches")} == {12}
    qlog = QueryLog(tmp_path / "q.sqlite3")
    qlog.prune()
    assert [d for (d,) in db.execute("SELECT day FROM salts")] == [date.today().isoformat()]
    db.close()
    qlog.close()


def test_the_results_page_shows_the_query_without_bidi_or_escapes(logged):
    c, _ = logged
    page = c.get("/search", query_string={"q": "\u202e马拉松\x1b[2J"}).get_data(as_text=True)
    doc = html.fromstring(page)
    assert doc.xpath('string(//h1[@class="visually-hidden"])') == "“马拉松”的搜索结果"
    assert "\u202e" not in page and "\x1b" not in page


def test_a_real_word_typo_is_fixed_by_a_far_more_used_homophone():
    from types import SimpleNamespace

    from search_service.suggest import syllables

    data = SimpleNamespace(vocab={"神舟": 389.0, "神州": 21.0, "大地": 50.0},
                           homophones={syllables("神舟"): ["神舟", "神州"]})
    assert publiclists._homophone_fix(data, "神州十八号") == "神舟十八号"
    data.vocab["神州"] = 100.0  # not five times rarer: left alone
    assert publiclists._homophone_fix(data, "神州十八号") is None
