"""`news-search shard serve` (xapian-tcpsrv underneath) and the write commands on remote shards:
a rebuild switches every shard and then removes the old generation, a second writer is refused,
a rebuild with a shard down fails cleanly and switches no shard."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

xapian = pytest.importorskip("xapian")

from indexer import xapian_doc as xd  # noqa: E402
from indexer.demo_data import DEMO_DIR  # noqa: E402
from indexer.model import Article  # noqa: E402
from lifecycle_util import cli, demo_record, write_jsonl  # noqa: E402
from xapian_servers import child_env, cli_command, require_tool, serve_shard, stop, wait_ready  # noqa: E402


@pytest.fixture()
def servers(tmp_path: Path):
    require_tool("xapian-tcpsrv")
    procs, specs = [], []
    for i in range(3):
        proc, spec = serve_shard(tmp_path / f"shard{i}")
        procs.append(proc)
        specs.append(spec)
    for proc, spec in zip(procs, specs):
        wait_ready(spec, proc)
    yield procs, specs
    for proc in procs:
        stop(proc)


def env_for(specs: list[str]) -> dict[str, str]:
    return {"NEWS_SEARCH_ENGINE": "xapian", "NEWS_SEARCH_XAPIAN_SHARDS": ",".join(specs),
            "NEWS_SEARCH_XAPIAN_TIMEOUT_MS": "2000"}


def counts(specs: list[str]) -> list[tuple[int, str, list[str]]]:
    """(articles, generation, generations present) per shard: every document but the filler
    (xapian_doc.FILLER_TERM, one per shard)."""
    out = []
    for spec in specs:
        db = xd.open_readable(spec, 2000)
        assert db.get_termfreq(xd.FILLER_TERM) == 1
        out.append((db.get_doccount() - 1, db.get_metadata(xd.META_GENERATION).decode(),
                    sorted(t.term.decode()[2:] for t in db.allterms("XV"))))
    return out


def test_serve_creates_the_database_and_serves_it_writable(tmp_path):
    require_tool("xapian-tcpsrv")
    directory = tmp_path / "new" / "shard"
    proc, spec = serve_shard(directory)
    try:
        wait_ready(spec, proc)
        assert (directory / "iamglass").is_file()
        host, port = xd.host_port(spec)
        db = xapian.remote_open_writable(host, port, 2000)
        db.replace_document("Qa1", xd.document(Article(id="a1", title="远程写入", body="正文"), "gen-000001"))
        db.commit()
        db.close()
        reader = xd.open_readable(spec, 2000)
        assert reader.get_doccount() == 1
        assert xd.stored_of(reader.get_document(next(iter(reader.postlist("Qa1"))).docid))["title"] == "远程写入"
        assert proc.poll() is None
    finally:
        stop(proc)


def test_serve_without_xapian_tools_names_the_package(tmp_path):
    result = cli("shard", "serve", "--dir", tmp_path / "d", "--port", "7001", env={"PATH": str(tmp_path)})
    assert result.exit_code == 1
    assert "xapian-tcpsrv not found on PATH: install the Debian/Ubuntu package xapian-tools" in result.output


def test_serve_with_a_bad_directory_is_a_clear_error(tmp_path):
    require_tool("xapian-tcpsrv")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = subprocess.run([*cli_command(), "shard", "serve", "--dir", str(blocker / "db"), "--port", "7001"],
                          env=child_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f"cannot create or open the shard database {blocker / 'db'}" in proc.stderr


def test_remote_rebuild_switches_then_drops_the_old_generation(servers):
    _procs, specs = servers
    for gen in ("gen-000001", "gen-000002"):
        result = cli("rebuild", DEMO_DIR, "--procs", "1", "--quiet", env=env_for(specs))
        assert result.exit_code == 0, result.output
        assert f"live generation {gen}." in result.output
    state = counts(specs)
    assert sum(c for c, _g, _p in state) == 50
    assert all(g == "gen-000002" and present == ["gen-000002"] for _c, g, present in state)
    for i, spec in enumerate(specs):
        db = xd.open_readable(spec, 2000)
        for item in db.postlist("XVgen-000002"):
            assert xd.shard_of(xd.stored_of(db.get_document(item.docid))["id"], 3) == i
    stats = json.loads(cli("stats", "--json", env=env_for(specs)).output)
    assert stats["documents"] == 50 and [r["reachable"] for r in stats["shards"]] == [True, True, True]
    assert cli("check", env=env_for(specs)).exit_code == 0
    result = cli("delete", "demo-001", env=env_for(specs))
    assert "deleted 1, not found 0; gen-000002 now holds 49 articles." in result.output


def test_remote_second_writer_is_refused(servers):
    _procs, specs = servers
    assert cli("rebuild", DEMO_DIR, "--procs", "1", "--quiet", env=env_for(specs)).exit_code == 0
    host, port = xd.host_port(specs[1])
    holder = xapian.remote_open_writable(host, port, 2000)
    try:
        result = cli("delete", "demo-001", env=env_for(specs))
    finally:
        holder.close()
    assert result.exit_code == 1
    assert f"another writer holds shard {specs[1]}" in result.output
    assert sum(c for c, _g, _p in counts(specs)) == 50


def test_rebuild_with_a_shard_down_switches_no_shard(servers, tmp_path):
    procs, specs = servers
    assert cli("rebuild", DEMO_DIR, "--procs", "1", "--quiet", env=env_for(specs)).exit_code == 0
    stop(procs[2])
    result = cli("rebuild", DEMO_DIR, "--procs", "1", "--quiet", env=env_for(specs))
    assert result.exit_code == 1
    assert f"cannot open shard {specs[2]} for writing" in result.output
    assert counts(specs[:2]) == [(c, "gen-000001", ["gen-000001"]) for c, _g, _p in counts(specs[:2])]
    stats = json.loads(cli("stats", "--json", env=env_for(specs)).output)
    assert stats["partial"] is True and stats["shards"][2]["reachable"] is False
    assert f"cannot open shard {specs[2]} for reading" in stats["notes"][0]


def test_failed_remote_rebuild_leaves_no_pending_documents(servers, tmp_path, monkeypatch):
    from indexer import xapian_store

    _procs, specs = servers
    assert cli("rebuild", DEMO_DIR, "--procs", "1", "--quiet", env=env_for(specs)).exit_code == 0

    def boom(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xapian_store, "set_collapse_keys", boom)
    with pytest.raises(OSError):
        xapian_store.rebuild([DEMO_DIR], specs, procs=1, timeout_ms=2000)
    state = counts(specs)
    assert sum(c for c, _g, _p in state) == 50
    assert all(g == "gen-000001" and p == ["gen-000001"] for _c, g, p in state)
    for spec in specs:
        assert xd.open_readable(spec, 2000).get_metadata(xd.META_PENDING) == b""
    monkeypatch.undo()
    src = write_jsonl(tmp_path / "u.jsonl", [dict(demo_record("demo-002"), title="新标题")])
    assert "updated 1" in cli("update", src, "--quiet", env=env_for(specs)).output


def short_articles(n: int, prefix: str) -> list[dict]:
    """`n` tiny articles (cheap to analyse): enough documents for Xapian's posting lists to span
    several chunks, which the failure of issue 15 needs (about 1,200 on one database)."""
    return [{"id": f"{prefix}-{i:05d}", "title": f"短讯{i}", "body": f"第{i}条消息，江城今天天气晴。",
             "published": "2024-01-01 08:00:00", "source": "测试社", "channel": "国内",
             "url": f"https://news.example.com/{prefix}/{i}.html"} for i in range(n)]


def test_searches_after_a_second_remote_rebuild_and_a_delete(tmp_path):
    """Issue 15: once a rebuild removed the older generation (or articles were deleted), Xapian 1.4
    failed every unweighted match of XV<gen> with 'Unexpected end of posting list' while that term
    was in every document of the shard; the filler document keeps it out of one."""
    require_tool("xapian-tcpsrv")
    proc, spec = serve_shard(tmp_path / "shard0")
    try:
        wait_ready(spec, proc)
        env = env_for([spec])
        src = write_jsonl(tmp_path / "short.jsonl", short_articles(1300, "short"))
        for _ in range(2):
            result = cli("rebuild", src, "--procs", "1", "--quiet", env=env)
            assert result.exit_code == 0, result.output
        db = xd.open_readable(spec, 2000)
        assert sorted(t.term.decode()[2:] for t in db.allterms("XV")) == ["gen-000002"]
        enquire = xapian.Enquire(db)
        enquire.set_query(xapian.Query("XVgen-000002"))
        enquire.set_weighting_scheme(xapian.BoolWeight())
        assert enquire.get_mset(0, 2000, 2000).size() == 1300
        assert cli("check", env=env).exit_code == 0

        from search_service.app import create_app

        client = create_app({"TESTING": True, "ENGINE": "xapian", "XAPIAN_SHARDS": spec, "XAPIAN_PARTIAL": False,
                             "XAPIAN_TIMEOUT_MS": 5000, "INDEX_DIR": str(tmp_path / "ix"),
                             "QUERY_LOG": False}).test_client()
        resp = client.get("/api/search", query_string={"q": "天气"})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.get_json()["total"] == 1300
        assert "deleted 1, not found 0" in cli("delete", "short-00007", env=env).output
        enquire = xapian.Enquire(xd.open_readable(spec, 2000))
        enquire.set_query(xapian.Query("XVgen-000002"))
        enquire.set_weighting_scheme(xapian.BoolWeight())
        assert enquire.get_mset(0, 2000, 2000).size() == 1299
    finally:
        stop(proc)


def test_check_names_a_shard_written_before_the_filler_and_a_delete_repairs_it(tmp_path):
    """A shard as written before issue 15's fix (no filler document) that then lost an article:
    `check` names the failing match, and the next writer adds the filler."""
    require_tool("xapian-tcpsrv")
    proc, spec = serve_shard(tmp_path / "shard0")
    try:
        wait_ready(spec, proc)
        host, port = xd.host_port(spec)
        db = xapian.remote_open_writable(host, port, 10000)
        for record in short_articles(1300, "old"):
            db.add_document(xd.document(Article(**dict(record, published="2024-01-01T08:00:00")), "gen-000001"))
        for key, value in ((xd.META_GENERATION, "gen-000001"), (xd.META_SHARDS, "1"), (xd.META_SHARD, "0")):
            db.set_metadata(key, value)
        db.commit()
        db.delete_document("Qold-00003")
        db.commit()
        db.close()
        env = env_for([spec])
        result = cli("check", env=env)
        assert result.exit_code == 1
        assert f"problem: {spec}: matching the generation gen-000001 fails (DatabaseCorruptError" in result.output
        assert "Unexpected end of posting list" in result.output
        assert "deleted 0, not found 1" in cli("delete", "not-held", env=env).output
        result = cli("check", env=env)
        assert result.exit_code == 0, result.output
        assert "problem" not in result.output and "filler" not in result.output
        assert "1,299 documents" in result.output
    finally:
        stop(proc)
