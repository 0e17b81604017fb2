"""Issue 19 row 14: CURRENT removed while serving, the query log on a failing disk, the busy-writer
message of a lock taken a moment ago."""
from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

import search_service.querylog as querylog
from indexer.errors import WriterBusy
from indexer.store import IndexStore
from search_service.app import create_app
from search_service.services import services
from tests.lifecycle_util import copy_index


def test_removing_current_while_serving_does_not_flap(demo_index: Path, tmp_path: Path) -> None:
    index = copy_index(demo_index, tmp_path)
    client = create_app({"TESTING": True, "INDEX_DIR": str(index), "QUERY_LOG": False,
                         "INDEX_CHECK_INTERVAL": 0}).test_client()
    assert client.get("/api/search?q=%E5%9C%B0%E9%93%81").status_code == 200
    (index / "CURRENT").unlink()
    statuses = {client.get("/api/search?q=%E5%9C%B0%E9%93%81").status_code for _ in range(20)}
    assert statuses == {200}
    assert client.get("/healthz").get_json()["generation"] == "gen-000001"


def test_a_fresh_index_without_current_is_still_a_503(tmp_path: Path) -> None:
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path), "QUERY_LOG": False}).test_client()
    assert client.get("/api/search?q=a").status_code == 503


def test_the_query_log_comes_back_after_a_write_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = querylog.QueryLog(tmp_path / "q.sqlite3")
    assert log.record("地铁", 3, visitor="192.0.2.1")
    real_connect = sqlite3.connect
    log.close()

    def full_disk(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite3, "connect", full_disk)
    assert not log.record("地铁", 3)
    assert not log.working
    monkeypatch.setattr(sqlite3, "connect", real_connect)
    assert not log.record("地铁", 3)  # still pausing: no retry per request
    monkeypatch.setattr(querylog, "RETRY_SECONDS", 0)
    assert log.record("地铁", 3, visitor="192.0.2.2")  # a second visitor: counted again
    assert log.working
    assert log.frequent()[0] == ("地铁", 2)


def test_hot_says_disabled_while_the_log_is_paused(demo_index: Path, tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": True,
                      "QUERY_LOG_PATH": str(tmp_path / "q.sqlite3")})
    client = app.test_client()
    assert client.get("/api/hot").get_json()["enabled"] is True
    services(app).query_log._fail(sqlite3.OperationalError("database or disk is full"))
    assert client.get("/api/hot").get_json()["enabled"] is False


def test_the_busy_message_names_a_holder_that_just_took_the_lock(tmp_path: Path) -> None:
    store = IndexStore(tmp_path)
    holder = store.writer_lock(action="rebuild").acquire()
    # The moment between the holder's flock and its details: the file says nothing yet.
    (tmp_path / "writer.lock").write_text("")
    threading.Timer(0.1, lambda: (tmp_path / "writer.lock").write_text(
        json.dumps({"pid": 4242, "host": "h1", "action": "rebuild", "command": "news-search rebuild x",
                    "since": "2026-01-01T00:00:00+00:00"}))).start()
    with pytest.raises(WriterBusy, match=r"pid 4242 on h1 running `news-search rebuild x`"):
        store.writer_lock(action="update").acquire()
    holder.release()


@pytest.fixture(scope="module")
def slash_ids(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from indexer.build import rebuild
    from tests.lifecycle_util import write_jsonl

    tmp = tmp_path_factory.mktemp("slash_ids")
    src = write_jsonl(tmp / "ids.jsonl", [
        {"id": "x", "title": "南屿港新航线开通", "body": "南屿港今天开通一条新的集装箱航线。", "published": "2024-01-02"},
        {"id": "x/related", "title": "南屿港航线再扩容", "body": "南屿港集装箱航线再次扩容。", "published": "2024-01-03"},
        {"id": "/lead", "title": "南屿港码头夜景", "body": "南屿港码头的夜景吸引游客。", "published": "2024-01-04"},
    ])
    rebuild([str(src)], tmp / "index", procs=1)
    return tmp / "index"


@pytest.mark.parametrize("path, expected", [
    ("/api/articles/x%2Frelated", "x/related"),
    ("/api/articles/%2Flead", "/lead"),
    ("/api/articles/x", "x"),
])
def test_ids_with_a_slash_are_reachable_encoded(slash_ids: Path, path: str, expected: str) -> None:
    client = create_app({"TESTING": True, "INDEX_DIR": str(slash_ids), "QUERY_LOG": False}).test_client()
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.get_json()["article"]["id"] == expected


def test_related_of_an_id_with_a_slash(slash_ids: Path) -> None:
    client = create_app({"TESTING": True, "INDEX_DIR": str(slash_ids), "QUERY_LOG": False}).test_client()
    assert client.get("/api/articles/x/related").status_code == 200  # x's related articles, as before
    resp = client.get("/api/articles/x%2Frelated/related")
    assert resp.status_code == 200 and resp.get_json()["ok"] is True


def test_atom_links_of_ids_with_a_slash_work(slash_ids: Path) -> None:
    import re

    client = create_app({"TESTING": True, "INDEX_DIR": str(slash_ids), "QUERY_LOG": False}).test_client()
    feed = client.get("/search.atom?q=%E5%8D%97%E5%B1%BF%E6%B8%AF").get_data(as_text=True)
    links = re.findall(r'href="http://localhost(/api/articles/[^"]+)"', feed)
    assert sorted(links) == ["/api/articles/%2Flead", "/api/articles/x", "/api/articles/x%2Frelated"]
    assert sorted(client.get(link).get_json()["article"]["id"] for link in links) == ["/lead", "x", "x/related"]
