"""kill -9 a real `news-search rebuild` / `update` at several points: the index must still open and
answer, hold every previously committed article (and an update's articles all or none), and the
next writer must recover the dead one's lock.

Kill points are either times or moments recognised by watching the generation directory (the
writer's first files, the column files of its commit, the new TOC, meta.json).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer.demo_data import demo_sources
from indexer.store import IndexStore
from lifecycle_util import cli, copy_index, live_ids, many_records, spawn, write_jsonl
from search_service.app import create_app

BULK = 300  # articles per run: the writer is still busy well after its start-up (about 2-4 s)
Trigger = Callable[[Path, set[str], float], bool]  # (generation dir, files there before, started)


def after(seconds: float) -> Trigger:
    return lambda _gen, _before, started: time.monotonic() - started >= seconds


def lock_taken(index_dir: Path, pid: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return f'"pid": {pid},' in (index_dir / "writer.lock").read_text(encoding="utf-8")
        except OSError:
            return False
    return check


def new_file(pred: Callable[[str], bool]) -> Trigger:
    def check(gen: Path, before: set[str], _started: float) -> bool:
        try:
            return any(pred(n) for n in set(os.listdir(gen)) - before)
        except OSError:
            return False
    return check


FIRST_FILES = new_file(lambda n: n.endswith((".pst", ".trm")))
COLUMNS = new_file(lambda n: n.endswith(".col"))
NEW_TOC = new_file(lambda n: n.startswith("_MAIN_") and n.endswith(".toc") and n != "_MAIN_0.toc")
META = new_file(lambda n: n == "meta.json")


@pytest.fixture(scope="module")
def bulk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bulk")


def run_and_kill(args: list[str | os.PathLike], gen_dir: Path, trigger: Trigger | str,
                 index_dir: Path, may_finish: bool) -> subprocess.Popen:
    """Start `news-search ARGS`, SIGKILL it when `trigger` fires; returns the (dead) process.

    `may_finish`: the kill point is a short window inside the commit (column files, the new TOC,
    meta.json) that a fast machine can pass between two looks; the checks hold either way. On the
    2-core development machine every point was hit (the process died of SIGKILL)."""
    before = set(os.listdir(gen_dir)) if gen_dir.is_dir() else set()
    proc = spawn(*args)
    started = time.monotonic()
    deadline = started + 60
    while proc.poll() is None and time.monotonic() < deadline:
        fired = lock_taken(index_dir, proc.pid)() if trigger == "lock" else trigger(gen_dir, before, started)
        if fired:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    out, err = proc.communicate(timeout=60)
    if not (may_finish and proc.returncode == 0):
        assert proc.returncode == -signal.SIGKILL, f"finished before the kill point ({proc.returncode}): {out}{err}"
    return proc


def assert_answers(index_dir: Path, committed: set[str]) -> set[str]:
    """Opens, answers a search and an article lookup, and keeps every committed article."""
    ids = live_ids(index_dir)
    assert committed <= ids, sorted(committed - ids)[:5]
    client = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "QUERY_LOG": False}).test_client()
    resp = client.get("/api/search", query_string={"q": "澜舟星图", "collapse": "false", "per_page": 50})
    assert resp.status_code == 200 and "demo-004" in {h["id"] for h in resp.get_json()["hits"]}
    assert client.get("/api/articles/demo-001").status_code == 200
    checked = cli("check", "--index-dir", index_dir)
    assert checked.exit_code == 0, checked.output
    return ids


def assert_recovered(index_dir: Path, proc: subprocess.Popen, lock_held: bool | None) -> None:
    """`lock_held` None: a timed kill point, where the lock file tells whether it was taken yet."""
    if lock_held is None:
        lock_held = lock_taken(index_dir, proc.pid)()
    result = cli("gc", "--index-dir", index_dir)
    assert result.exit_code == 0, result.output
    killed_holding = lock_held and proc.returncode == -signal.SIGKILL
    assert (f"recovered a stale writer lock: pid {proc.pid}" in result.stderr) == killed_holding, result.stderr
    store = IndexStore(index_dir)
    assert all(g.is_complete() for g in store.generations()), [g.name for g in store.generations()]
    leftovers = [n for n in os.listdir(store.require_current().path) if n.endswith(".tmp")]
    assert leftovers == []


REBUILD_POINTS = [  # (trigger, writer lock held then, may finish first)
    pytest.param(after(0.2), None, False, id="0.2s-starting"),
    pytest.param("lock", True, False, id="lock-taken"),
    pytest.param(FIRST_FILES, True, False, id="writer-open"),
    pytest.param(COLUMNS, True, True, id="commit-columns"),
    pytest.param(NEW_TOC, True, True, id="commit-toc"),
    pytest.param(META, True, True, id="meta-written"),
]


@pytest.mark.parametrize("trigger, lock_held, may_finish", REBUILD_POINTS)
def test_kill_rebuild(demo_index: Path, tmp_path: Path, bulk_dir: Path, trigger: Trigger | str,
                      lock_held: bool | None, may_finish: bool) -> None:
    index = copy_index(demo_index, tmp_path)
    committed = live_ids(index)
    src = bulk_dir / "rebuild.jsonl"
    if not src.exists():
        write_jsonl(src, many_records(BULK, prefix="rb"))
    proc = run_and_kill(["rebuild", *demo_sources(), src, "--index-dir", index, "--procs", "1", "--quiet"],
                        index / "generations" / "gen-000002", trigger, index, may_finish)
    ids = assert_answers(index, committed)
    new = {i for i in ids if i.startswith("rb-")}
    assert len(new) in (0, BULK)  # the old generation, or the whole new one
    assert_recovered(index, proc, lock_held)
    assert_answers(index, committed)


UPDATE_POINTS = [  # (trigger, writer lock held then, may finish first, run it again after)
    pytest.param(after(0.5), None, False, False, id="0.5s-starting"),
    pytest.param("lock", True, False, False, id="lock-taken"),
    pytest.param(COLUMNS, True, True, True, id="commit-columns"),
    pytest.param(NEW_TOC, True, True, False, id="commit-toc"),
]


@pytest.mark.parametrize("trigger, lock_held, may_finish, rerun", UPDATE_POINTS)
def test_kill_update(demo_index: Path, tmp_path: Path, bulk_dir: Path, trigger: Trigger | str,
                     lock_held: bool | None, may_finish: bool, rerun: bool) -> None:
    index = copy_index(demo_index, tmp_path)
    # A first, completed update: its articles are "previously committed" too.
    first = write_jsonl(tmp_path / "first.jsonl", many_records(20, prefix="first"))
    assert cli("update", first, "--index-dir", index, "--quiet").exit_code == 0
    committed = live_ids(index)
    assert len(committed) == 70
    src = bulk_dir / "update.jsonl"
    if not src.exists():
        write_jsonl(src, many_records(BULK, prefix="up"))
    gen_dir = IndexStore(index).require_current().path
    proc = run_and_kill(["update", src, "--index-dir", index, "--quiet"], gen_dir, trigger, index, may_finish)
    ids = assert_answers(index, committed)
    new = {i for i in ids if i.startswith("up-")}
    assert len(new) in (0, BULK)  # one commit: all of the update or none of it
    assert_recovered(index, proc, lock_held)
    assert_answers(index, committed)
    if not rerun:
        return
    # The interrupted update, run again, completes.
    again = cli("update", src, "--index-dir", index, "--quiet")
    assert again.exit_code == 0, again.output
    assert len(live_ids(index)) == 70 + BULK
