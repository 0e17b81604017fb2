"""CMS database sources against a real MariaDB (see .ci/services/mariadb.sh): DedeCMS-shaped tables
(the article bodies in a latin1-declared table holding GBK bytes), rebuild from them, sync rounds,
SIGKILL during a round and the errors a wrong password or a dead server give."""
from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cms_db import PASSWORD_VAR, SEED_ID, corpus_sample, database, db_args, demo_rows, dedecms, seed_record
from lifecycle_util import cli, live_ids, many_records, write_jsonl
from indexer.demo_data import demo_userdict
from search_service.app import create_app
from search_service.index import SearchIndex

SAMPLE = 200  # real-corpus articles in the comparison (when ../shared exists)
QUERIES = ["支付宝小程序", "长江", "经济 发展", "\"高质量发展\"", "新能源汽车", "教育"]


def stored_docs(index_dir: Path) -> dict[str, dict[str, Any]]:
    snap = SearchIndex(index_dir).snapshot()
    return {snap.stored(d)["id"]: dict(snap.stored(d)) for d in snap.live_docs}


def hits(index_dir: Path, query: str) -> list[tuple[str, str]]:
    client = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "QUERY_LOG": False}).test_client()
    resp = client.get("/api/search", query_string={"q": query, "collapse": "false", "per_page": 50})
    assert resp.status_code == 200, resp.get_json()
    return [(h["id"], h["title"]) for h in resp.get_json()["hits"]]


@pytest.fixture(scope="module")
def compare_rows() -> list[tuple[int, dict[str, Any]]]:
    rows = demo_rows(start=1)
    seed = seed_record()
    if seed is not None:
        rows.append((SEED_ID, seed))
    rows += list(enumerate(corpus_sample(SAMPLE), start=200_001))
    return rows


def test_rebuild_from_mariadb_equals_rebuild_from_jsonl(compare_rows: list, tmp_path: Path) -> None:
    with database(compare_rows) as db:
        from_db = tmp_path / "from_db"
        result = cli("rebuild", *db_args(db), "--index-dir", from_db, "--procs", "1", "--quiet", env=db["env"])
        assert result.exit_code == 0, result.output
        assert f"Indexed {len(compare_rows):,} articles, skipped 0" in result.output
    jsonl = write_jsonl(tmp_path / "same.jsonl", [dedecms.jsonl_record(aid, rec) for aid, rec in compare_rows])
    from_file = tmp_path / "from_file"
    assert cli("rebuild", jsonl, "--index-dir", from_file, "--procs", "1", "--quiet").exit_code == 0

    db_docs, file_docs = stored_docs(from_db), stored_docs(from_file)
    assert sorted(db_docs) == sorted(str(aid) for aid, _ in compare_rows)
    for doc_id, doc in file_docs.items():
        assert db_docs[doc_id] == doc, doc_id  # every stored field, body text included
    for query in QUERIES:
        assert hits(from_db, query) == hits(from_file, query), query
    assert hits(from_db, "鲸帆科技")[0][0] == "1"  # demo-001, the first row
    if seed_record() is not None:  # the seed page: its body came out of the GBK table intact
        seed = db_docs[str(SEED_ID)]
        assert seed["url"] == f"/hqxw/{SEED_ID}.html" and seed["channel"] == "新闻"
        assert "支付宝小程序" in seed["body"] and seed["published"] == "2020-09-07T00:40:03"
        assert str(SEED_ID) in [h[0] for h in hits(from_db, "蛰伏 微博 支付宝")]


def test_latin1_table_really_holds_gbk_bytes(compare_rows: list) -> None:
    with database(compare_rows[:3]) as db:
        with db["engine"].connect() as conn:
            charset = conn.execute(text(
                "SELECT CCSA.character_set_name FROM information_schema.`TABLES` T JOIN"
                " information_schema.COLLATION_CHARACTER_SET_APPLICABILITY CCSA ON CCSA.collation_name ="
                " T.table_collation WHERE T.table_schema = DATABASE() AND T.table_name = 'dede_addonarticle'")).scalar()
            raw = conn.execute(text("SELECT CAST(body AS BINARY) FROM dede_addonarticle WHERE aid = 1")).scalar()
    assert charset == "latin1"
    first = dict(compare_rows)[1]["body"].split("\n")[0]
    assert raw.startswith(f"<p>{first}".encode("gb18030"))


def _rebuilt(db: dict[str, Any], index: Path) -> None:
    # The demo articles with their dictionary: in-process runs after the session's demo build share
    # jieba's state, and `check` searches with the generation's own dictionary.
    result = cli("rebuild", *db_args(db), "--index-dir", index, "--procs", "1", "--quiet",
                 "--userdict", str(demo_userdict()), env=db["env"])
    assert result.exit_code == 0, result.output


def test_sync_applies_insert_update_unpublish_delete_in_one_round(tmp_path: Path) -> None:
    rows = demo_rows()
    with database(rows) as db:
        index = tmp_path / "index"
        _rebuilt(db, index)
        nothing = cli("sync", *db_args(db), "--index-dir", index, "--quiet", env=db["env"])
        assert nothing.exit_code == 0, nothing.output
        assert f"{len(rows)} rows, 0 new, 0 changed, 0 unpublished, 0 deleted" in nothing.output
        new = {"title": "青梧市开通首条跨江索道", "body": "青梧市首条跨江索道今天开通运营。\n单程票价二十元。",
               "channel": "生活", "published": "2026-11-30 09:00:00", "author": "林知远"}
        with db["engine"].begin() as conn:
            archive, addon = dedecms.article_rows(900, new)
            conn.execute(text("INSERT INTO dede_archives (id, typeid, arcrank, title, writer, source, keywords, pubdate,"
                              " senddate) VALUES (:id, :typeid, :arcrank, :title, :writer, :source, :keywords,"
                              " :pubdate, :senddate)"), archive)
            conn.execute(text("INSERT INTO dede_addonarticle (aid, typeid, body) VALUES (:aid, :typeid, :body)"), addon)
            conn.execute(text("UPDATE dede_archives SET title = '鲸帆科技改名鲸帆数智' WHERE id = 1"))
            conn.execute(text("UPDATE dede_archives SET arcrank = -1 WHERE id = 2"))  # back to "awaiting review"
            conn.execute(text("DELETE FROM dede_archives WHERE id = 3"))
            conn.execute(text("DELETE FROM dede_addonarticle WHERE aid = 3"))
        result = cli("sync", *db_args(db), "--index-dir", index, "--quiet", env=db["env"])
        assert result.exit_code == 0, result.output
        assert ("round 2 at" in result.output and f": {len(rows)} rows, 1 new, 1 changed, 1 unpublished, 1 deleted; "
                "index added 1, updated 1, deleted 2, unchanged 0, skipped 0") in result.output, result.output
        docs = stored_docs(index)
        assert set(docs) == {str(aid) for aid, _ in rows if aid not in (2, 3)} | {"900"}
        assert docs["1"]["title"] == "鲸帆科技改名鲸帆数智"
        assert docs["900"]["url"] == "/shenghuo/900.html" and docs["900"]["body"] == new["body"]
        assert [h[0] for h in hits(index, "跨江索道")] == ["900"]
        # Republished: the row comes back in the next round.
        with db["engine"].begin() as conn:
            conn.execute(text("UPDATE dede_archives SET arcrank = 0 WHERE id = 2"))
        again = cli("sync", *db_args(db), "--index-dir", index, "--quiet", env=db["env"])
        assert "1 new, 0 changed, 0 unpublished, 0 deleted; index added 1" in again.output, again.output
        assert "2" in live_ids(index)


def test_sync_every_runs_rounds_and_bad_row_is_reported_once(tmp_path: Path) -> None:
    rows = demo_rows()[:5]
    with database(rows) as db:
        index = tmp_path / "index"
        _rebuilt(db, index)
        with db["engine"].begin() as conn:
            conn.execute(text("UPDATE dede_archives SET title = '' WHERE id = 4"))
            conn.execute(text("UPDATE dede_addonarticle SET body = '' WHERE aid = 4"))
        result = cli("sync", *db_args(db), "--index-dir", index, "--every", "0.1", "--rounds", "2", "--quiet",
                     env=db["env"])
        assert result.exit_code == 0, result.output
        assert result.output.count("round ") == 2
        assert "round 1 at" in result.output and "round 2 at" in result.output
        problem = f"skipped {db['source']} row id=4: no title and no body"
        assert result.stderr.count(problem) == 1, result.stderr  # reported once, not every round
        assert "4" in live_ids(index)  # the last good version stays until the row is fixed


SYNC_BULK = 150


@pytest.mark.parametrize("point", ["lock", "commit-toc"])
def test_sigkill_during_sync_round_loses_nothing(tmp_path: Path, point: str) -> None:
    from test_crash_safety import NEW_TOC, run_and_kill
    from indexer.store import IndexStore

    rows = demo_rows()
    with database(rows) as db:
        index = tmp_path / "index"
        _rebuilt(db, index)
        bulk = [(1000 + i, {**rec, "title": f"{rec['title']}（第{i}号）"})
                for i, rec in enumerate(many_records(SYNC_BULK, prefix="sy"))]
        dedecms.insert_articles(db["engine"], db["name"], bulk)
        with db["engine"].begin() as conn:
            conn.execute(text("DELETE FROM dede_archives WHERE id = 5"))
        expected = {str(aid) for aid, _ in rows + bulk} - {"5"}
        gen_dir = IndexStore(index).require_current().path
        os.environ[PASSWORD_VAR] = db["env"][PASSWORD_VAR]  # the child inherits it
        try:
            proc = run_and_kill(["sync", *db_args(db), "--index-dir", index, "--quiet"], gen_dir,
                                "lock" if point == "lock" else NEW_TOC, index, may_finish=point != "lock")
        finally:
            del os.environ[PASSWORD_VAR]
        ids = live_ids(index)
        assert {str(aid) for aid, _ in rows} - {"5"} <= ids  # everything committed before is there
        assert len(ids & {str(a) for a, _ in bulk}) in (0, SYNC_BULK)  # the round: all or nothing
        result = cli("sync", *db_args(db), "--index-dir", index, "--quiet", env=db["env"])
        assert result.exit_code == 0, result.output
        if proc.returncode == -signal.SIGKILL:
            assert f"recovered a stale writer lock: pid {proc.pid}" in result.stderr
        assert live_ids(index) == expected
        checked = cli("check", "--index-dir", index)
        assert checked.exit_code == 0, checked.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wrong_password_and_unreachable_server_are_one_clear_line(tmp_path: Path) -> None:
    with database(demo_rows()[:2]) as db:
        index = tmp_path / "index"
        wrong = cli("rebuild", *db_args(db), "--index-dir", index, "--quiet", env={PASSWORD_VAR: "not-it"})
        assert wrong.exit_code == 1
        lines = wrong.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in wrong.output, wrong.output
        assert lines[0].startswith(f"Error: database {db['source']}: wrong user name or password")
        assert "not-it" not in wrong.output and not index.exists()  # refused before touching the index
        inline = db["server"].set(database=db["name"], password="s3cret-inline").render_as_string(hide_password=False)
        masked = cli("sync", inline, "--preset", "dedecms", "--index-dir", index)
        assert "s3cret-inline" not in masked.output and ":***@" in masked.output, masked.output
        dead = db["server"].set(port=_free_port(), database=db["name"]).render_as_string(hide_password=False)
        started = time.monotonic()
        down = cli("rebuild", dead, "--preset", "dedecms", "--index-dir", index, "--quiet")
        assert down.exit_code == 1 and time.monotonic() - started < 15
        lines = down.stderr.strip().splitlines()
        assert len(lines) == 1 and "server unreachable" in lines[0], down.output
        assert (db["password"] or "\0") not in down.output and ":***@" in lines[0]


def test_password_never_in_meta_stats_or_state(tmp_path: Path) -> None:
    with database(demo_rows()[:3]) as db:
        index = tmp_path / "index"
        pw_file = tmp_path / "pw.txt"
        pw_file.write_text(db["password"] + "\n", encoding="utf-8")
        result = cli("rebuild", db["source"], "--preset", "dedecms", "--password-file", pw_file,
                     "--index-dir", index, "--quiet")
        assert result.exit_code == 0, result.output
        synced = cli("sync", db["source"], "--preset", "dedecms", "--password-file", pw_file, "--index-dir", index)
        stats = cli("stats", "--index-dir", index, "--json")
        texts = [result.output, synced.output, stats.output] + [p.read_text(encoding="utf-8") for p in index.rglob("*.json")]
        assert all(db["password"] not in t for t in texts)
        meta = json.loads(next(index.glob("generations/*/meta.json")).read_text(encoding="utf-8"))
        assert meta["sources"] == [db["source"]]
