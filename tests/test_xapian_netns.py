"""Shards on three stand-in machines (network namespaces, tests/netns_hosts.py): one host is cut
(its packets vanish, so calls to it hang). Writes: the writer fails cleanly within its time budget,
switches no shard, and a rebuild after the link returns holds every article. Reads under load: no
5xx, answers within the budget flagged partial with the other shards' exact counts, whole again
after the link returns, no article lost by the rebuild that failed during the cut."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

xapian = pytest.importorskip("xapian")

from indexer import xapian_doc as xd  # noqa: E402
from lifecycle_util import LoopThreads, many_records, write_jsonl  # noqa: E402
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
    # The rebuild that ran during the cut lost no article.
    assert live_ids(specs) == {f"ns-{i:05d}" for i in range(ARTICLES)}


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
    # The rebuild cut in the middle lost no article: the generation served is whole.
    assert live_ids(specs) == {f"ns-{i:05d}" for i in range(ARTICLES)}
    # The cut shard's server drops the dead writer's connection (and its uncommitted documents)
    # once the link is back; --wait covers that moment.
    result = run_cli(specs, "rebuild", str(src), "--quiet", "--wait", "60")
    assert result.returncode == 0, result.stderr
    assert live_ids(specs) == {f"ns-{i:05d}" for i in range(ARTICLES)}
    states = [shard_state(spec) for spec in specs]
    assert len({g for g, _p in states}) == 1
    assert all(set(per_gen) == {g} for g, per_gen in states)
    assert sum(per_gen[g] for g, per_gen in states) == ARTICLES


# -- the read side under load --------------------------------------------------------------------

READ_TIMEOUT_MS = 500
# An answer during the cut: the shard's timeout (the call that finds the host gone), then the
# searches queued meanwhile run one at a time on the new state's cold caches; a generous margin
# on a loaded machine.
BUDGET_S = READ_TIMEOUT_MS / 1000 * 4
# The articles are the demo ones repeated under new ids: reprints of each other, so the queries
# ask for every copy (collapse=false) and the totals count articles, not reprint groups. Enough
# different queries that the first pass over them, on each new state, goes to the shards.
QUERIES = [dict(q, collapse="false") for q in (
    *({"q": w} for w in ("江城", "银行", "地铁", "遥感", "高考", "冠军", "利率", "直播")),      # a word
    *({"q": f'"{s}"'} for s in ("地铁5号线", "新能源汽车", "江城马拉松", "中小学")),           # a quoted substring
    *({"q": w, "channel": c} for w, c in (("新能源", "汽车"), ("江城", "体育"), ("AI", "科技"),
                                          ("江城", "新闻"))),                                  # a channel filter
    *({"q": w, "sort": o} for w, o in (("银行", "newest"), ("江城", "oldest"), ("开通", "newest"),
                                       ("马拉松", "oldest"))),                                 # sorted by date
)]


def reader_app(specs: list[str], index_dir: Path):
    from search_service.app import create_app

    return create_app({"TESTING": True, "ENGINE": "xapian", "XAPIAN_SHARDS": ",".join(specs),
                       "XAPIAN_TIMEOUT_MS": READ_TIMEOUT_MS, "INDEX_DIR": str(index_dir), "QUERY_LOG": False})


def totals(client, label: str) -> list[int]:
    out = []
    for query in QUERIES:
        resp = client.get("/api/search", query_string=query)
        assert resp.status_code == 200, (label, query, resp.get_data(as_text=True))
        body = resp.get_json()
        assert body["partial"] is False and body["missing_shards"] == [], (label, query, body)
        out.append(body["total"])
    return out


class Load(LoopThreads):
    """Threads asking /api/search in a loop (QUERIES in turn), each answer recorded as
    (started, finished, query index, status, body)."""

    def __init__(self, app, threads: int = 4) -> None:
        self.app = app
        self.answers: list[tuple[float, float, int, int, dict]] = []
        self.errors: list[BaseException] = []
        super().__init__(threads)

    def _loop(self, k: int) -> None:
        client = self.app.test_client()
        i = k
        try:
            while not self._stop.is_set():
                n = i % len(QUERIES)
                started = time.monotonic()
                resp = client.get("/api/search", query_string=QUERIES[n])
                finished = time.monotonic()
                self.answers.append((started, finished, n, resp.status_code, resp.get_json(silent=True) or {}))
                i += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)

    def between(self, start: float, end: float) -> list[tuple[float, float, int, int, dict]]:
        return [a for a in list(self.answers) if a[0] >= start and a[1] <= end]


def test_reads_under_load_with_a_host_cut_are_partial_honest_in_time_then_full(healthy, tmp_path):
    hosts, specs, src = healthy
    full = totals(reader_app(specs, tmp_path).test_client(), "all three shards")
    # What the two other shards alone answer: the partial answers must say exactly that.
    remaining = totals(reader_app([specs[0], specs[2]], tmp_path).test_client(), "shards 0 and 2")
    assert all(0 < r < f for r, f in zip(remaining, full)), (remaining, full)
    app = reader_app(specs, tmp_path)
    with Load(app) as load:
        # Cut while the first answers are still being computed on the shards (the caches of a
        # fresh state are cold), so some searches are in flight on the host as it goes.
        time.sleep(0.3)
        hosts[1].cut()
        cut_at = time.monotonic()
        try:
            # A rebuild while the host is cut: it fails (connect timeout) and switches nothing.
            rebuilt = run_cli(specs, "rebuild", str(src), "--quiet")
            assert rebuilt.returncode == 1 and f"cannot open shard {specs[1]} for writing" in rebuilt.stderr, \
                rebuilt.stderr
            time.sleep(max(0.0, cut_at + 4.0 - time.monotonic()))
        finally:
            hosts[1].restore()
        restored_at = time.monotonic()
        time.sleep(5.0)
        ended_at = time.monotonic()
    assert not load.errors, load.errors
    answers = list(load.answers)
    assert len(answers) > 40
    bad = [(n, status, body) for _s, _f, n, status, body in answers if status != 200]
    assert not bad, bad[:3]  # no 5xx, nor anything else
    # Every answer in flight while the host was cut came within the budget (counted from the cut
    # for those begun before it), however it was served.
    slow = [(round(s - cut_at, 2), round(f - s, 2), n) for s, f, n, _st, _b in answers
            if f >= cut_at and s < restored_at and f - max(s, cut_at) > BUDGET_S]
    assert not slow, slow
    # Once the pool has seen the host go (one probe or one search, each at most the timeout),
    # every answer is partial, names the cut host's shard and counts what the other two hold.
    noticed = cut_at + READ_TIMEOUT_MS / 1000 * 2 + 0.5
    during = load.between(noticed, restored_at)
    assert len(during) >= 10
    for _s, _f, n, _st, body in during:
        assert body["partial"] is True and body["missing_shards"] == [specs[1]], (QUERIES[n], body)
        assert body["total"] == remaining[n], (QUERIES[n], body["total"], remaining[n])
    # The link is back: the pool retries the shard every second, so within a few seconds every
    # answer is whole again, with the totals from before the cut (the rebuild lost nothing).
    after = load.between(restored_at + 3.0, ended_at)
    assert len(after) >= 5
    for _s, _f, n, _st, body in after:
        assert body["partial"] is False and body["missing_shards"] == [], (QUERIES[n], body)
        assert body["total"] == full[n], (QUERIES[n], body["total"], full[n])
    assert live_ids(specs) == {f"ns-{i:05d}" for i in range(ARTICLES)}


def test_a_remote_error_names_the_shard_to_leave_out():
    from search_service.xapian_pool import ShardPool

    pool = ShardPool(["10.0.0.1:7001", "10.0.0.2:7001", "local/shard"], READ_TIMEOUT_MS)
    timeout = xapian.NetworkTimeoutError("Timeout expired while trying to read", "remote:tcp(10.0.0.2:7001)")
    assert pool.shard_named(timeout) == "10.0.0.2:7001"
    assert pool.shard_named(xapian.NetworkError("refused", "remote:tcp(10.0.0.9:7001)")) is None
    assert pool.shard_named(xapian.DatabaseModifiedError("modified")) is None
