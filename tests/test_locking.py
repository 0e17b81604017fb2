"""One writer at a time: a second writer waits up to --wait, then fails naming the holder; a lock
left by a killed writer is recovered. Holders are real processes (the lock is a per-process flock)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from indexer import update as upd
from indexer.errors import WriterBusy
from indexer.store import IndexStore, WriterLock
from lifecycle_util import cli, copy_index, live_ids, many_records, spawn, write_jsonl

HOLDER = textwrap.dedent("""
    import sys, time
    from indexer.store import IndexStore
    lock = IndexStore(sys.argv[1]).writer_lock(action="rebuild").acquire()
    print("locked", flush=True)
    hold = float(sys.argv[2])
    if hold < 0:
        sys.stdin.read()      # hold until the test closes our stdin (or kills us)
    else:
        time.sleep(hold)
    lock.release()
""")


@pytest.fixture()
def index(demo_index: Path, tmp_path: Path) -> Path:
    return copy_index(demo_index, tmp_path)


def hold_lock(index_dir: Path, tmp_path: Path, seconds: float = -1) -> subprocess.Popen:
    script = tmp_path / "hold_writer_lock.py"
    script.write_text(HOLDER, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(index_dir), str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def holder_info(index_dir: Path) -> dict:
    return json.loads((index_dir / "writer.lock").read_text(encoding="utf-8"))


def test_holder_info_names_process_command_and_time(index: Path, tmp_path: Path) -> None:
    proc = hold_lock(index, tmp_path)
    try:
        info = holder_info(index)
        assert info["pid"] == proc.pid
        assert info["action"] == "rebuild"
        assert info["command"].startswith("hold_writer_lock.py ")
        assert str(index) in info["command"]
        assert "released" not in info
    finally:
        proc.stdin.close()
        proc.wait(10)
    assert holder_info(index)["released"] is True


@pytest.mark.parametrize("argv", [
    ["update", "{src}"],
    ["delete", "demo-001"],
    ["gc"],
    ["rollback"],
    ["optimize"],
    ["rebuild", "{src}"],
])
def test_second_writer_times_out_naming_the_holder(index: Path, tmp_path: Path, argv: list[str]) -> None:
    src = write_jsonl(tmp_path / "one.jsonl", [{"id": "x-1", "title": "标题", "body": "正文内容"}])
    proc = hold_lock(index, tmp_path)
    try:
        since = holder_info(index)["since"]
        started = time.monotonic()
        quiet = ["--quiet"] if argv[0] in ("update", "rebuild") else []
        result = cli(*[a.format(src=src) for a in argv], "--index-dir", index, "--wait", "0.4", *quiet)
        waited = time.monotonic() - started
    finally:
        proc.stdin.close()
        proc.wait(10)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: another writer holds the lock {index / 'writer.lock'}: pid {proc.pid} on {os.uname().nodename} "
        f"running `hold_writer_lock.py {index} -1` since {since}; waited 0.4s. Wait for it to finish or "
        f"retry with a longer --wait\n")
    assert waited >= 0.4  # it did wait
    assert "x-1" not in live_ids(index) and "demo-001" in live_ids(index)


def test_second_writer_gets_the_lock_when_the_first_finishes(index: Path, tmp_path: Path) -> None:
    proc = hold_lock(index, tmp_path, seconds=0.5)
    result = cli("delete", "demo-001", "--index-dir", index, "--wait", "30")
    proc.wait(10)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "deleted 1, not found 0; gen-000001 now holds 49 articles."
    assert "recovered" not in result.stderr  # released properly: nothing stale


def test_stale_lock_of_a_killed_holder_is_recovered(index: Path, tmp_path: Path) -> None:
    proc = hold_lock(index, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdin.close()
    assert holder_info(index)["pid"] == proc.pid  # the dead holder's details are still on disk
    result = cli("delete", "demo-003", "--index-dir", index)
    assert result.exit_code == 0, result.output
    assert f"note: recovered a stale writer lock: pid {proc.pid} on {os.uname().nodename} (rebuild, since " in result.stderr
    assert result.stdout.strip() == "deleted 1, not found 0; gen-000001 now holds 49 articles."
    # Recovered once: the next writer finds a properly released lock.
    assert "recovered" not in cli("gc", "--index-dir", index).stderr


def test_killed_rebuild_with_workers_releases_the_lock(index: Path, tmp_path: Path) -> None:
    """A real `news-search rebuild --procs 2` killed with SIGKILL: its forked workers must not keep
    the lock alive, and the next writer proceeds at once, naming the dead rebuild."""
    src = write_jsonl(tmp_path / "bulk.jsonl", many_records(1500))
    proc = spawn("rebuild", src, "--index-dir", index, "--procs", "2", "--quiet")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if holder_info(index).get("pid") == proc.pid:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        else:
            pytest.fail("the rebuild never took the writer lock")
        info = holder_info(index)
        assert info["command"].startswith(("news-search rebuild ", "-c rebuild "))
        busy = cli("update", src, "--index-dir", index, "--quiet")
        assert busy.exit_code == 1
        assert f"pid {proc.pid} on " in busy.stderr and "rebuild " in busy.stderr
        assert "Traceback" not in busy.output
        time.sleep(0.5)  # let the workers get going
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    result = cli("gc", "--index-dir", index)  # --wait 0: must not find the lock held by orphans
    assert result.exit_code == 0, result.output
    assert f"recovered a stale writer lock: pid {proc.pid}" in result.stderr
    assert "gen-000002" in result.stdout  # the half-built generation was removed
    assert [g.name for g in IndexStore(index).generations()] == ["gen-000001"]
    assert len(live_ids(index)) == 50


def test_library_raises_writer_busy_not_lockerror(index: Path) -> None:
    """Within one process, too (two WriterLock objects are two open files)."""
    with WriterLock(index / "writer.lock", action="rebuild"):
        with pytest.raises(WriterBusy, match=r"another writer holds the lock .*writer\.lock: pid \d+"):
            upd.delete(["demo-001"], index, wait=0.1)


def test_foreign_whoosh_writer_is_reported_not_a_traceback(index: Path) -> None:
    """A process writing the Whoosh index directly (bypassing our lock) holds Whoosh's own lock."""
    from whoosh import index as whoosh_index

    gen = IndexStore(index).require_current()
    foreign = whoosh_index.open_dir(str(gen.path)).writer()
    try:
        result = cli("delete", "demo-001", "--index-dir", index)
    finally:
        foreign.cancel()
    assert result.exit_code == 1
    assert "the Whoosh write lock of" in result.stderr and "Traceback" not in result.output
    assert "demo-001" in live_ids(index)
