"""Shards on three stand-in machines (network namespaces, tests/netns_hosts.py): one host's link is
cut, and the writer fails cleanly within its time budget, switches no shard, and a rebuild after
the link returns holds every article."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

xapian = pytest.importorskip("xapian")

from indexer import xapian_doc as xd  # noqa: E402
from lifecycle_util import many_records, write_jsonl  # noqa: E402
from netns_hosts import Hosts, require_netns, wait_until  # noqa: E402
from xapian_servers import child_env, cli_command, require_tool, serve_shard, stop, wait_ready  # noqa: E402

PORT = 7001
ARTICLES = 240
TIMEOUT_MS = 1000
WRITE_TIMEOUT_MS = 3000


def run_cli(specs: list[str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = child_env(NEWS_SEARCH_ENGINE="xapian", NEWS_SEARCH_XAPIAN_SHARDS=",".join(specs),
                    NEWS_SEARCH_XAPIAN_TIMEOUT_MS=str(TIMEOUT_MS),
                    NEWS_SEARCH_XAPIAN_WRITE_TIMEOUT_MS=str(WRITE_TIMEOUT_MS))
    return subprocess.run([*cli_command(), *args], env=env, capture_output=True, text=True, timeout=timeout)


def popen_cli(specs: list[str], *args: str) -> subprocess.Popen:
    env = child_env(NEWS_SEARCH_ENGINE="xapian", NEWS_SEARCH_XAPIAN_SHARDS=",".join(specs),
                    NEWS_SEARCH_XAPIAN_TIMEOUT_MS=str(TIMEOUT_MS),
                    NEWS_SEARCH_XAPIAN_WRITE_TIMEOUT_MS=str(WRITE_TIMEOUT_MS))
    return subprocess.Popen([*cli_command(), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def shard_state(spec: str) -> tuple[str, dict[str, int]]:
    """(generation, documents per XV generation) of a reachable shard."""
    db = xd.open_readable(spec, TIMEOUT_MS)
    return (db.get_metadata(xd.META_GENERATION).decode(),
            {t.term.decode()[2:]: t.termfreq for t in db.allterms("XV")})


def live_ids(specs: list[str]) -> set[str]:
    ids: set[str] = set()
    for spec in specs:
        db = xd.open_readable(spec, TIMEOUT_MS)
        gen = db.get_metadata(xd.META_GENERATION).decode()
        for item in db.postlist("XV" + gen):
            ids.add(xd.stored_of(db.get_document(item.docid))["id"])
    return ids


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    require_netns()
    require_tool("xapian-tcpsrv")
    root = tmp_path_factory.mktemp("netns")
    src = write_jsonl(root / "articles.jsonl", many_records(ARTICLES, prefix="ns"))
    with Hosts(3) as hosts:
        procs = []
        try:
            for i, host in enumerate(hosts):
                proc, spec = serve_shard(root / f"shard{i}", host=host.address, port=PORT, prefix=host.prefix())
                procs.append((proc, spec))
            for proc, spec in procs:
                wait_ready(spec, proc)
            specs = [spec for _p, spec in procs]
            built = run_cli(specs, "rebuild", str(src), "--quiet")
            assert built.returncode == 0, built.stderr
            yield hosts, specs, src
        finally:
            for h in hosts:
                try:
                    h.restore()
                except RuntimeError:
                    pass
            for proc, _spec in procs:
                stop(proc)


@pytest.fixture()
def healthy(cluster):
    hosts, specs, src = cluster
    for h in hosts:
        h.restore()
    assert all(wait_until(lambda h=h: h.reachable(PORT), 10) for h in hosts)
    return cluster


def test_the_hosts_serve_every_article(healthy):
    _hosts, specs, _src = healthy
    assert live_ids(specs) == {f"ns-{i:05d}" for i in range(ARTICLES)}
    gens = {shard_state(spec)[0] for spec in specs}
    assert len(gens) == 1


def test_rebuild_with_a_host_cut_fails_within_the_budget_and_switches_nothing(healthy):
    hosts, specs, src = healthy
    before = [shard_state(spec) for spec in specs]
    hosts[1].cut()
    try:
        started = time.monotonic()
        result = run_cli(specs, "rebuild", str(src), "--quiet")
        elapsed = time.monotonic() - started
        assert result.returncode == 1
        assert f"cannot open shard {specs[1]} for writing" in result.stderr
        # The connect timeout plus process start-up, not a hang.
        assert elapsed < TIMEOUT_MS / 1000 + 15
        assert [shard_state(specs[i]) for i in (0, 2)] == [before[0], before[2]]
        stats = json.loads(run_cli(specs, "stats", "--json").stdout)
        assert stats["partial"] is True
        assert [r["reachable"] for r in stats["shards"]] == [True, False, True]
    finally:
        hosts[1].restore()
    assert wait_until(lambda: hosts[1].reachable(PORT), 10)
    assert [shard_state(spec) for spec in specs] == before


def test_link_cut_in_the_middle_of_a_rebuild_then_a_rebuild_gives_every_article(healthy):
    hosts, specs, src = healthy
    before = [shard_state(spec) for spec in specs]
    live = before[0][0]
    proc = popen_cli(specs, "rebuild", str(src), "--procs", "1")
    try:
        # Cut once the rebuild is writing (its progress shows the analyse phase).
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if "[analyse] started" in line or not line:
                break
        time.sleep(1.0)
        hosts[1].cut()
        cut_at = time.monotonic()
        _out, err = proc.communicate(timeout=120)
        failed_after = time.monotonic() - cut_at
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert f"shard {specs[1]} failed while" in err and "no shard was switched" in err, err
    # Detected by the writer's idle timeout, plus the cleanup of the other shards.
    assert failed_after < WRITE_TIMEOUT_MS / 1000 * 3 + 10
    for i in (0, 2):
        gen, per_gen = shard_state(specs[i])
        assert gen == live and set(per_gen) == {live} and per_gen == before[i][1]
    hosts[1].restore()
    assert wait_until(lambda: hosts[1].reachable(PORT), 10)
    # The cut shard's server drops the dead writer's connection (and its uncommitted documents)
    # once the link is back; --wait covers that moment.
    result = run_cli(specs, "rebuild", str(src), "--quiet", "--wait", "60")
    assert result.returncode == 0, result.stderr
    assert live_ids(specs) == {f"ns-{i:05d}" for i in range(ARTICLES)}
    states = [shard_state(spec) for spec in specs]
    assert len({g for g, _p in states}) == 1
    assert all(set(per_gen) == {g} for g, per_gen in states)
    assert sum(per_gen[g] for g, per_gen in states) == ARTICLES
