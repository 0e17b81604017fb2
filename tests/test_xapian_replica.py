"""Replicas of a shard with xapian-replicate: the replica answers the same document count after a
write, and a promoted replica (served by `news-search shard serve`) takes writes (README,
"Running on several machines")."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

xapian = pytest.importorskip("xapian")

from indexer import xapian_doc as xd  # noqa: E402
from indexer.demo_data import DEMO_DIR  # noqa: E402
from lifecycle_util import cli, demo_record, write_jsonl  # noqa: E402
from xapian_servers import free_port, require_tool, serve_shard, stop, wait_ready  # noqa: E402


def env_for(spec: str) -> dict[str, str]:
    return {"NEWS_SEARCH_ENGINE": "xapian", "NEWS_SEARCH_XAPIAN_SHARDS": spec, "NEWS_SEARCH_XAPIAN_TIMEOUT_MS": "2000"}


def replicate_once(port: int, master: str, replica: Path) -> None:
    proc = subprocess.run(["xapian-replicate", "-h", "127.0.0.1", "-p", str(port), "-m", master, "-o", "-q",
                           str(replica)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_replica_follows_the_master_and_can_be_promoted(tmp_path):
    require_tool("xapian-tcpsrv")
    require_tool("xapian-replicate")
    require_tool("xapian-replicate-server")
    masters = tmp_path / "masters"
    master, spec = serve_shard(masters / "shard0", changesets=10)
    rport = free_port()
    # Serves every database under `masters` to replicas (a session of its own, as serve_shard does).
    rserver = subprocess.Popen(["xapian-replicate-server", "-I", "127.0.0.1", "-p", str(rport), str(masters)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    promoted = None
    try:
        wait_ready(spec, master)
        assert cli("rebuild", DEMO_DIR, "--procs", "1", "--quiet", env=env_for(spec)).exit_code == 0
        replica = tmp_path / "replica" / "shard0"
        replica.parent.mkdir()
        replicate_once(rport, "shard0", replica)
        assert xapian.Database(str(replica)).get_termfreq("XVgen-000001") == 50
        assert xapian.Database(str(replica)).get_metadata(xd.META_GENERATION) == b"gen-000001"

        result = cli("delete", "demo-001", "demo-002", env=env_for(spec))
        assert "deleted 2, not found 0; gen-000001 now holds 48 articles." in result.output
        replicate_once(rport, "shard0", replica)
        db = xapian.Database(str(replica))
        assert db.get_termfreq("XVgen-000001") == 48 and db.get_termfreq("Qdemo-001") == 0

        # The master dies: serve the replica in its place and point the shard list at it.
        stop(master)
        promoted, new_spec = serve_shard(replica)
        wait_ready(new_spec, promoted)
        src = write_jsonl(tmp_path / "back.jsonl", [demo_record("demo-001")])
        result = cli("update", src, "--quiet", env=env_for(new_spec))
        assert "added 1" in result.output and "gen-000001 now holds 49 articles." in result.output
        assert cli("check", env=env_for(new_spec)).exit_code == 0
    finally:
        for proc in (master, rserver, promoted):
            if proc is not None:
                stop(proc)
