"""A running service keeps answering while the index changes under it, and picks changes up within
a second or two: a rebuild (new generation), an update and a delete (new commits), a rollback.

The writers are real `news-search` processes; the readers are the Flask test client (two threads)
and, in the last test, a served `news-search serve` subprocess over HTTP.
"""
from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from indexer import update as upd
from indexer.demo_data import demo_sources
from lifecycle_util import LoopThreads, copy_index, many_records, spawn, write_jsonl
from search_service.app import create_app

PICKUP_SECONDS = 2.0  # the promise: changes are served within a second or two
QUERIES = ["江城", "澜舟星图", '"小程序"', "新能源汽车 销量", "银"]


class Hammer(LoopThreads):
    """Threads issuing requests until stopped; records every status and the generations seen."""

    def __init__(self, get: Callable[[str], tuple[int, dict[str, Any]]], threads: int = 2) -> None:
        self.get = get
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.generations: list[str] = []
        super().__init__(threads)

    def _loop(self, offset: int) -> None:
        n = offset
        while not self._stop.is_set():
            q = QUERIES[n % len(QUERIES)]
            n += 1
            try:
                status, body = self.get("/api/search?" + urllib.parse.urlencode({"q": q, "per_page": 5}))
                self.statuses[status] += 1
                if status != 200 or not body.get("ok") or body["total"] < 1:
                    self.failures.append(f"{q}: {status} {str(body)[:200]}")
                status, body = self.get("/healthz")
                self.statuses[status] += 1
                if status == 200:
                    if not self.generations or self.generations[-1] != body["generation"]:
                        self.generations.append(body["generation"])
                else:
                    self.failures.append(f"/healthz: {status} {str(body)[:200]}")
            except Exception as exc:  # a request that raised is a failed request
                self.failures.append(f"{q}: {exc!r}")
            time.sleep(0.02)  # steady traffic, not a CPU race with the writer being tested


def test_client(index_dir: Path) -> Callable[[str], tuple[int, dict[str, Any]]]:
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "QUERY_LOG": False})

    def get(url: str) -> tuple[int, dict[str, Any]]:
        resp = app.test_client().get(url)
        return resp.status_code, resp.get_json()
    return get


test_client.__test__ = False  # a helper, not a test


def wait_until(cond: Callable[[], bool], seconds: float = PICKUP_SECONDS) -> float:
    """Seconds until cond() held; fails after `seconds`."""
    started = time.monotonic()
    while not cond():
        if time.monotonic() - started > seconds:
            pytest.fail(f"not picked up within {seconds}s")
        time.sleep(0.05)
    return time.monotonic() - started


def finish(proc) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    return out


@pytest.fixture()
def index(demo_index: Path, tmp_path: Path) -> Path:
    return copy_index(demo_index, tmp_path)


def hits(get: Callable, q: str) -> list[str]:
    # relax=false: which articles hold every word is what these tests follow
    status, body = get("/api/search?" + urllib.parse.urlencode({"q": q, "collapse": "false", "per_page": 50,
                                                               "relax": "false"}))
    assert status == 200, body
    return sorted(h["id"] for h in body["hits"])


def test_answers_throughout_a_rebuild_then_serves_the_new_generation(index: Path, tmp_path: Path) -> None:
    get = test_client(index)
    assert get("/healthz")[1]["generation"] == "gen-000001"
    src = write_jsonl(tmp_path / "bulk.jsonl", many_records(200, prefix="rb"))
    with Hammer(get) as hammer:
        time.sleep(0.3)
        finish(spawn("rebuild", *demo_sources(), src, "--index-dir", index, "--procs", "1", "--quiet"))
        wait_until(lambda: get("/healthz")[1]["generation"] == "gen-000002")
        time.sleep(0.3)  # keep answering from the new generation for a moment
    assert hammer.failures == []
    assert set(hammer.statuses) == {200} and sum(hammer.statuses.values()) > 20
    assert hammer.generations == ["gen-000001", "gen-000002"]
    assert get("/healthz")[1]["documents"] == 250
    assert hits(get, '"第17号稿件"') == ["rb-00017"]


def test_update_and_delete_are_picked_up_without_restart(index: Path, tmp_path: Path) -> None:
    get = test_client(index)
    assert hits(get, "无人驾驶公交") == []
    new = {"id": "live-1", "title": "江城开通首条无人驾驶公交线路", "body": "首条无人驾驶公交线路今天开通，全程十二公里。",
           "channel": "汽车", "published": "2026-03-01 09:00:00"}
    with Hammer(get) as hammer:
        finish(spawn("update", write_jsonl(tmp_path / "n.jsonl", [new]), "--index-dir", index, "--quiet"))
        wait_until(lambda: hits(get, "无人驾驶公交") == ["live-1"])
        finish(spawn("delete", "live-1", "demo-004", "--index-dir", index))
        wait_until(lambda: hits(get, "无人驾驶公交") == [])
        assert "demo-004" not in hits(get, "澜舟星图")
    assert hammer.failures == [] and set(hammer.statuses) == {200}
    assert get("/api/articles/demo-004")[0] == 404
    assert get("/healthz")[1]["documents"] == 49


def test_in_process_update_is_seen_by_an_open_snapshot_holder(index: Path, tmp_path: Path) -> None:
    """Readers on the previous commit keep working (superseded files are kept for a grace period)."""
    from search_service.index import SearchIndex

    si = SearchIndex(index, check_interval=0)
    old = si.snapshot()
    records = many_records(30, prefix="inproc")
    upd.update([str(write_jsonl(tmp_path / "u.jsonl", records))], index)
    upd.delete(["demo-001"], index)
    new = si.snapshot()
    assert new is not old and len(new.live_docs) == 79
    # The old snapshot still reads its own commit (a request in flight when the update landed).
    assert len(old.live_docs) == 50
    assert {old.stored(d)["id"] for d in old.live_docs} >= {"demo-001"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_served_process_follows_rebuild_update_and_rollback(index: Path, tmp_path: Path) -> None:
    port = free_port()
    # The per-client CPU budget is off: this test's polling and hammering all come from one address, and
    # on a loaded machine they add up to more than a reader's budget (cost.py is tested on its own).
    server = spawn("serve", "--index-dir", index, "--port", str(port), "--threads", "4",
                   env={**os.environ, "NEWS_SEARCH_COST_LIMIT_CPU_SECONDS": "0"})
    base = f"http://127.0.0.1:{port}"

    def get(url: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(base + url, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get("/healthz")[0] == 200:
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start: {server.communicate()}")
                time.sleep(0.1)
        src = write_jsonl(tmp_path / "bulk.jsonl", many_records(100, prefix="srv"))
        with Hammer(get) as hammer:
            finish(spawn("rebuild", *demo_sources(), src, "--index-dir", index, "--procs", "1", "--quiet"))
            wait_until(lambda: get("/healthz")[1] == {**get("/healthz")[1], "generation": "gen-000002",
                                                      "documents": 150})
            extra = {"id": "srv-new", "title": "南屿港新航线开通", "body": "南屿港今天开通一条新的集装箱航线。"}
            finish(spawn("update", write_jsonl(tmp_path / "x.jsonl", [extra]), "--index-dir", index, "--quiet"))
            wait_until(lambda: hits(get, "集装箱航线") == ["srv-new"])
            out = finish(spawn("rollback", "--index-dir", index))
            assert out.startswith("live generation is now gen-000001 ")
            wait_until(lambda: get("/healthz")[1]["generation"] == "gen-000001")
            assert get("/healthz")[1]["documents"] == 50
            assert hits(get, "集装箱航线") == []
        assert hammer.failures == []
        assert set(hammer.statuses) == {200}
        assert hammer.generations == ["gen-000001", "gen-000002", "gen-000001"]
    finally:
        server.terminate()
        server.communicate(timeout=30)
