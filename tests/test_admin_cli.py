"""Admin commands: `check` (ok on a good index, names each problem of a damaged one), `optimize`
(segments and sizes before/after), `gc` (old, half-built and superseded files; keeps PREVIOUS and
generations a service still reads), `rollback` (the service then serves the previous generation)."""
from __future__ import annotations

import gc as python_gc
import json
import re
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from indexer import update as upd
from indexer.demo_data import demo_sources
from indexer.store import IndexStore
from lifecycle_util import cli, copy_index, live_ids, write_jsonl
from search_service.app import create_app
from search_service.index import SearchIndex

OK_LINE = "ok: gen-000001, 50 documents, 50/50 sampled articles found by their title."


@pytest.fixture()
def index(demo_index: Path, tmp_path: Path) -> Path:
    return copy_index(demo_index, tmp_path)


def gen_dir(index_dir: Path) -> Path:
    return IndexStore(index_dir).require_current().path


def set_meta(index_dir: Path, **changes) -> None:
    path = gen_dir(index_dir) / "meta.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(changes)
    path.write_text(json.dumps(meta), encoding="utf-8")


# -- check ---------------------------------------------------------------------------------------

def test_check_ok(index: Path) -> None:
    result = cli("check", "--index-dir", index)
    assert result.exit_code == 0
    assert result.stdout == OK_LINE + "\n"
    data = json.loads(cli("check", "--index-dir", index, "--json", "--sample", "5").stdout)
    assert data == {"generation": "gen-000001", "documents": 50, "sampled": 5, "sample_found": 5,
                    "problems": [], "warnings": [], "ok": True}


def raw_writer(index_dir: Path):
    """Write the Whoosh index directly, bypassing news-search (how an index gets damaged)."""
    return whoosh_index.open_dir(str(gen_dir(index_dir))).writer()


@pytest.mark.parametrize("damage, expected", [
    ("count", "problem: meta.json says 49 documents, the index holds 50"),
    ("no-meta", "gen-000001/meta.json is missing or unreadable"),
    ("duplicate", "problem: 1 id(s) stored more than once: demo-001"),
    ("no-id", "problem: 1 document(s) without an id: #50"),
    ("postings", "problem: 1 of 51 sampled article(s) not found by their own title: ghost-1 (江城地铁十号线全线贯通); "
                 "rebuild the index"),
    ("segment", "problem: the index generation gen-000001 cannot be read (FileNotFoundError on MAIN_"),
], ids=lambda v: v if v in ("count", "no-meta", "duplicate", "no-id", "postings", "segment") else "")
def test_check_names_each_problem(index: Path, damage: str, expected: str) -> None:
    if damage == "count":
        set_meta(index, documents=49)
    elif damage == "no-meta":
        (gen_dir(index) / "meta.json").unlink()
    elif damage in ("duplicate", "no-id", "postings"):
        w = raw_writer(index)
        if damage == "duplicate":
            w.add_document(id="demo-001", title="重复的稿件", body="重复", folded=b"x")
        elif damage == "no-id":
            w.add_document(title="没有编号的稿件", body="正文", folded=b"x")
        else:  # stored title differs from what was indexed
            w.add_document(id="ghost-1", title="完全无关的文字", _stored_title="江城地铁十号线全线贯通",
                           body="正文", folded=b"x")
        w.commit()
        set_meta(index, documents=51, toc=None)
    elif damage == "segment":
        for seg in gen_dir(index).glob("*.seg"):
            seg.unlink()
    result = cli("check", "--index-dir", index, "--sample", "100")
    assert result.exit_code == 1, result.output
    assert expected in result.stdout
    assert "Traceback" not in result.output
    assert re.search(r"^\d problem\(s\): gen-000001, ", result.stdout, re.M)


def test_check_flags_articles_without_folded_text(index: Path) -> None:
    w = raw_writer(index)
    w.add_document(id="nofold-1", title="江城地铁十号线全线贯通", body="正文")
    w.commit()
    set_meta(index, documents=51, toc=None)
    result = cli("check", "--index-dir", index)
    assert "problem: 1 article(s) without folded text (exact-substring search cannot find them): nofold-1" \
        in result.stdout


def test_check_warns_about_half_built_generations(index: Path) -> None:
    (index / "generations" / "gen-000007").mkdir()
    result = cli("check", "--index-dir", index)
    assert result.exit_code == 0
    assert result.stdout == ("warning: gen-000007 is half-built (no meta.json): `news-search gc` removes it\n"
                             + OK_LINE + "\n")


def test_check_and_stats_without_index(tmp_path: Path) -> None:
    for command in ("check", "stats", "optimize", "rollback", "gc"):
        result = cli(command, "--index-dir", tmp_path / "none")
        assert "Traceback" not in result.output
        if command != "gc":  # gc of an empty directory has nothing to do
            assert result.exit_code == 1 and f"no index in {tmp_path / 'none'}" in result.stderr


def test_damaged_live_generation_is_a_503_not_a_500(index: Path) -> None:
    for seg in gen_dir(index).glob("*.seg"):
        seg.unlink()
    client = create_app({"TESTING": True, "INDEX_DIR": str(index), "QUERY_LOG": False}).test_client()
    resp = client.get("/api/search", query_string={"q": "江城"})
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "index_unavailable"
    message = resp.get_json()["error"]["message"]
    assert message.startswith("the index generation gen-000001 cannot be read (FileNotFoundError on MAIN_")
    assert "`news-search rollback`" in message and str(index) not in message


# -- optimize -------------------------------------------------------------------------------------

def test_optimize_merges_segments(index: Path, tmp_path: Path) -> None:
    for i in range(3):
        rec = {"id": f"opt-{i}", "title": f"第{i}条优化测试稿件", "body": f"优化测试正文{i}。", "channel": "新闻"}
        upd.update([str(write_jsonl(tmp_path / f"o{i}.jsonl", [rec]))], index)
    before = json.loads(cli("stats", "--index-dir", index, "--json").stdout)["segments"]
    assert before > 1
    result = cli("optimize", "--index-dir", index)
    assert result.exit_code == 0, result.output
    m = re.fullmatch(r"gen-000001: (\d+) segment\(s\), ([\d.]+) MB -> 1 segment\(s\), ([\d.]+) MB in [\d.]+s\.\n",
                     result.stdout)
    assert m, result.stdout
    assert int(m.group(1)) == before
    assert float(m.group(3)) > 0
    assert json.loads(cli("stats", "--index-dir", index, "--json").stdout)["segments"] == 1
    assert len(live_ids(index)) == 53
    assert cli("check", "--index-dir", index).stdout.startswith("ok: gen-000001, 53 documents")


# -- gc ---------------------------------------------------------------------------------------------

def rebuild(index_dir: Path) -> None:
    result = cli("rebuild", *demo_sources(), "--index-dir", index_dir, "--quiet", "--procs", "1")
    assert result.exit_code == 0, result.output


def test_gc_keeps_previous_and_generations_in_use(index: Path) -> None:
    reader = SearchIndex(index)
    held = reader.snapshot()  # a service reading gen-000001
    rebuild(index)  # gen-000002; gen-000001 is previous
    rebuild(index)  # gen-000003; gen-000002 previous; gen-000001 still open in the "service"
    store = IndexStore(index)
    assert [g.name for g in store.generations()] == ["gen-000001", "gen-000002", "gen-000003"]
    result = cli("gc", "--index-dir", index)
    assert result.stdout == ("removed 0 generation(s); freed 0.00 MB of superseded files in the live generation.\n"
                             "kept gen-000001: still open in a running service; run gc again later.\n"
                             "live gen-000003, previous gen-000002.\n")
    # The service moves on to the new generation and lets go of the old one.
    reader.check_interval = 0
    assert reader.snapshot().gen.name == "gen-000003"
    del held
    python_gc.collect()
    (index / "generations" / "gen-000009").mkdir()  # half-built by a dead writer
    result = cli("gc", "--index-dir", index)
    assert result.stdout.splitlines()[0].startswith("removed 2 generation(s): gen-000001, gen-000009;")
    assert [g.name for g in store.generations()] == ["gen-000002", "gen-000003"]
    # --no-keep-previous: no rollback target left.
    result = cli("gc", "--index-dir", index, "--no-keep-previous")
    assert "removed 1 generation(s): gen-000002;" in result.stdout
    assert [g.name for g in store.generations()] == ["gen-000003"]
    assert "nothing to roll back to" in cli("rollback", "--index-dir", index).stderr


def test_rebuild_collects_automatically_keeping_previous(index: Path) -> None:
    rebuild(index)
    rebuild(index)
    rebuild(index)
    store = IndexStore(index)
    assert [g.name for g in store.generations()] == ["gen-000003", "gen-000004"]
    assert (store.current().name, store.previous().name) == ("gen-000004", "gen-000003")


def test_gc_frees_files_superseded_by_updates(index: Path, tmp_path: Path) -> None:
    for i in range(2):
        upd.update([str(write_jsonl(tmp_path / f"g{i}.jsonl", [{"id": f"g-{i}", "title": "标题", "body": "正文内容"}]))],
                   index)
    upd.delete(["demo-001"], index)
    tocs = sorted(p.name for p in gen_dir(index).glob("_MAIN_*.toc"))
    assert len(tocs) > 1  # superseded commits are kept a while for services still reading them
    kept = cli("gc", "--index-dir", index)
    assert "freed 0.00 MB" in kept.stdout  # within the grace period
    result = cli("gc", "--index-dir", index, "--grace", "0")
    m = re.search(r"freed ([\d.]+) MB of superseded files", result.stdout)
    assert m and float(m.group(1)) > 0
    assert [p.name for p in gen_dir(index).glob("_MAIN_*.toc")] == [tocs[-1]]
    assert len(live_ids(index)) == 51
    assert cli("check", "--index-dir", index).exit_code == 0


# -- rollback ---------------------------------------------------------------------------------------

def test_rollback_makes_the_previous_generation_live(index: Path, tmp_path: Path) -> None:
    client = create_app({"TESTING": True, "INDEX_DIR": str(index), "QUERY_LOG": False,
                         "INDEX_CHECK_INTERVAL": 0}).test_client()
    extra = {"id": "rb-new", "title": "南屿港新航线开通", "body": "南屿港今天开通一条新的集装箱航线。"}
    rebuild_src = write_jsonl(tmp_path / "extra.jsonl", [extra])
    assert cli("rebuild", *demo_sources(), rebuild_src, "--index-dir", index, "--quiet", "--procs", "1").exit_code == 0
    assert client.get("/healthz").get_json()["generation"] == "gen-000002"
    assert client.get("/api/articles/rb-new").status_code == 200

    result = cli("rollback", "--index-dir", index)
    assert result.exit_code == 0
    built = IndexStore(index).require_current().meta()["built_at"]
    assert result.stdout == (f"live generation is now gen-000001 (built {built}); gen-000002 is kept as previous: "
                             "`news-search rollback` again switches back.\n")
    health = client.get("/healthz").get_json()
    assert (health["generation"], health["documents"]) == ("gen-000001", 50)
    assert client.get("/api/articles/rb-new").status_code == 404

    assert cli("rollback", "--index-dir", index).exit_code == 0  # and forward again
    assert client.get("/healthz").get_json()["generation"] == "gen-000002"
    assert client.get("/api/articles/rb-new").status_code == 200


def test_rollback_without_previous_is_a_clear_error(index: Path) -> None:
    result = cli("rollback", "--index-dir", index)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: nothing to roll back to in {index}: there is no complete previous generation "
                             "(the live one is gen-000001); a rollback target exists after the next rebuild\n")
