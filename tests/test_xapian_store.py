"""The Xapian write side on local directory shards, through `news-search` with
NEWS_SEARCH_ENGINE=xapian: rebuild (routing, generations, switch, failure), update, delete,
stats, check, the writer lock and the reprint keys (same groups as the Whoosh service)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

xapian = pytest.importorskip("xapian")

from indexer import xapian_doc as xd  # noqa: E402
from indexer import xapian_store  # noqa: E402
from indexer.build import rebuild as whoosh_rebuild  # noqa: E402
from indexer.demo_data import DEMO_DIR, demo_userdict  # noqa: E402
from lifecycle_util import cli, demo_record, write_jsonl  # noqa: E402

N = 3


def env_for(specs: list[str]) -> dict[str, str]:
    return {"NEWS_SEARCH_ENGINE": "xapian", "NEWS_SEARCH_XAPIAN_SHARDS": ",".join(specs)}


def shard_specs(root: Path, n: int = N) -> list[str]:
    return [str(root / f"s{i}") for i in range(n)]


def all_docs(specs: list[str]) -> dict[str, tuple[int, dict, str]]:
    """id -> (shard index, stored data, collapse key) of the live generation, read as a reader does."""
    out = {}
    for i, spec in enumerate(specs):
        db = xd.open_readable(spec)
        gen = db.get_metadata(xd.META_GENERATION).decode()
        for item in db.postlist("XV" + gen):
            doc = db.get_document(item.docid)
            stored = xd.stored_of(doc)
            assert stored["id"] not in out
            out[stored["id"]] = (i, stored, doc.get_value(xd.SLOT_COLLAPSE).decode())
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    specs = shard_specs(tmp_path_factory.mktemp("xshards"))
    result = cli("rebuild", DEMO_DIR, "--procs", "1", "--quiet", "--userdict", demo_userdict(), env=env_for(specs))
    assert result.exit_code == 0, result.output
    assert "Indexed 50 articles, skipped 0, duplicates 0" in result.output
    return specs


@pytest.fixture()
def shards(built: list[str], tmp_path: Path) -> list[str]:
    """A private copy of the built shards (tests that write)."""
    specs = shard_specs(tmp_path)
    for src, dst in zip(built, specs):
        shutil.copytree(src, dst)
    return specs


def test_rebuild_routes_every_article_to_its_shard(built):
    docs = all_docs(built)
    assert len(docs) == 50
    for doc_id, (shard, stored, _key) in docs.items():
        assert shard == xd.shard_of(doc_id, N)
        assert stored["id"] == doc_id
    assert {s for s, _d, _k in docs.values()} == {0, 1, 2}
    for i, spec in enumerate(built):
        db = xd.open_readable(spec)
        assert db.get_metadata(xd.META_GENERATION) == b"gen-000002"
        assert db.get_metadata(xd.META_SHARDS) == b"3"
        assert db.get_metadata(xd.META_SHARD) == str(i).encode()
        assert db.get_metadata(xd.META_USERDICT).decode() == demo_userdict().read_text(encoding="utf-8-sig")
        assert sorted(p.name for p in Path(spec).iterdir() if xd.GEN_RE.match(p.name)) == ["gen-000002"]


@pytest.fixture(scope="module")
def whoosh_twin(built: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same demo build on Whoosh, made right after `built`: jieba's dictionary is process-global
    and other tests of the session add words to it, so the session's demo index may segment otherwise."""
    index_dir = tmp_path_factory.mktemp("whoosh_twin")
    whoosh_rebuild([DEMO_DIR], index_dir, userdict=str(demo_userdict()), procs=1)
    return index_dir


def test_stored_data_equals_the_whoosh_index(built, whoosh_twin):
    from search_service.index import SearchIndex

    snap = SearchIndex(whoosh_twin).snapshot()
    searcher = snap.searcher()
    whoosh = {searcher.stored_fields(d)["id"]: searcher.stored_fields(d) for d in snap.live_docs}
    assert {i: s for i, (_sh, s, _k) in all_docs(built).items()} == whoosh


def test_stats_agree_with_whoosh_stats(built, demo_index):
    x = json.loads(cli("stats", "--json", env=env_for(built)).output)
    w = json.loads(cli("stats", "--json", "--index-dir", demo_index).output)
    for key in ("documents", "channels", "date_range"):
        assert x[key] == w[key], key
    assert x["generation"] == "gen-000002" and x["engine"] == "xapian" and x["partial"] is False
    assert [r["documents"] for r in x["shards"]] == [sum(1 for d in all_docs(built).values() if d[0] == i)
                                                    for i in range(N)]


def test_check_ok_and_names_a_misplaced_article(shards):
    result = cli("check", env=env_for(shards))
    assert result.exit_code == 0
    assert result.output.strip().endswith("ok: gen-000002, 50 documents on 3 shard(s), 50/50 sampled articles on their shard.")
    # An article written to the wrong shard: check names it and exits 1.
    wrong = next(i for i in ("x1", "x2", "x3", "x4") if xd.shard_of(i, N) != 0)
    db = xd.open_writable(shards[0])
    db.replace_document("Q" + wrong, xd.document(xd.Article(id=wrong, title="错", body="错"), "gen-000002"))
    db.commit()
    db.close()
    result = cli("check", env=env_for(shards))
    assert result.exit_code == 1
    assert f"problem: {shards[0]}: article '{wrong}' belongs on shard {xd.shard_of(wrong, N)}" in result.output


def test_second_rebuild_keeps_the_previous_generation_only(shards):
    for expected in ("gen-000003", "gen-000004"):
        result = cli("rebuild", DEMO_DIR, "--procs", "1", "--quiet", env=env_for(shards))
        assert result.exit_code == 0, result.output
        assert f"live generation {expected}." in result.output
    for spec in shards:
        assert sorted(p.name for p in Path(spec).iterdir() if xd.GEN_RE.match(p.name)) == ["gen-000003", "gen-000004"]
        assert (Path(spec) / xd.STUB_NAME).read_text() == "auto gen-000004\n"
    assert len(all_docs(shards)) == 50


def test_bad_inputs_are_skipped_and_reported_as_for_whoosh(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_jsonl(src / "a.jsonl", [demo_record("demo-001"), demo_record("demo-002")])
    with open(src / "a.jsonl", "a", encoding="utf-8") as fh:
        fh.write("{not json\n")
        fh.write(json.dumps(demo_record("demo-001"), ensure_ascii=False) + "\n")
    (src / "b.jsonl").write_bytes(b"\xff\xfe\x00\x00garbage")
    specs = shard_specs(tmp_path / "x")
    x = cli("rebuild", src, "--procs", "1", "--quiet", env=env_for(specs))
    w = cli("rebuild", src, "--procs", "1", "--quiet", "--index-dir", tmp_path / "w")
    assert x.exit_code == w.exit_code == 0
    assert x.stderr == w.stderr
    assert "skipped " in x.stderr and "duplicate " in x.stderr
    assert x.stdout.splitlines()[0].split(" in ")[0] == w.stdout.splitlines()[0].split(" in ")[0] == \
        "Indexed 2 articles, skipped 2, duplicates 1"
    assert set(all_docs(specs)) == {"demo-001", "demo-002"}


def test_nothing_indexed_leaves_the_shards_alone(shards, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "bad.jsonl").write_text("{oops\n", encoding="utf-8")
    result = cli("rebuild", empty, "--procs", "1", "--quiet", env=env_for(shards))
    assert result.exit_code == 1
    assert "nothing was indexed" in result.output and "every shard is unchanged" in result.output
    for spec in shards:
        assert sorted(p.name for p in Path(spec).iterdir() if xd.GEN_RE.match(p.name)) == ["gen-000002"]
    assert len(all_docs(shards)) == 50


def test_shrink_is_refused_without_allow_shrink(shards, tmp_path):
    src = write_jsonl(tmp_path / "one.jsonl", [demo_record("demo-001")])
    result = cli("rebuild", src, "--procs", "1", "--quiet", env=env_for(shards))
    assert result.exit_code == 1
    assert "under half of the 50 the shards serve now" in result.output
    assert len(all_docs(shards)) == 50
    result = cli("rebuild", src, "--procs", "1", "--quiet", "--allow-shrink", env=env_for(shards))
    assert result.exit_code == 0
    assert set(all_docs(shards)) == {"demo-001"}


def test_failure_mid_rebuild_switches_no_shard(shards, monkeypatch):
    calls = {"n": 0}
    real = xapian_store.set_collapse_keys

    def boom(*args):
        calls["n"] += 1
        real(*args)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xapian_store, "set_collapse_keys", boom)
    with pytest.raises(OSError):
        xapian_store.rebuild([DEMO_DIR], shards, procs=1)
    assert calls["n"] == 1
    for spec in shards:
        assert sorted(p.name for p in Path(spec).iterdir() if xd.GEN_RE.match(p.name)) == ["gen-000002"]
        assert xd.open_readable(spec).get_metadata(xd.META_GENERATION) == b"gen-000002"
    assert len(all_docs(shards)) == 50


def test_a_second_writer_gets_a_clear_error(shards):
    with xapian_store.session(shards, "rebuild"):
        result = cli("update", DEMO_DIR / "articles.jsonl", "--quiet", env=env_for(shards))
    assert result.exit_code == 1
    assert f"another writer holds the lock {shards[0]}/writer.lock" in result.output
    assert "running `" in result.output and "retry with a longer --wait" in result.output
    assert cli("delete", "demo-001", env=env_for(shards)).exit_code == 0


def test_update_and_delete(shards, tmp_path):
    changed = dict(demo_record("demo-001"), title="改过的标题")
    fresh = dict(demo_record("demo-002"), id="fresh-1")
    src = write_jsonl(tmp_path / "u.jsonl", [changed, fresh, demo_record("demo-003")])
    result = cli("update", src, "--quiet", "--delete", "demo-004", "--delete", "missing-9", env=env_for(shards))
    assert result.exit_code == 0, result.output
    assert "added 1, updated 1, unchanged 1, skipped 0, deleted 1, not found 1" in result.output
    assert "gen-000002 now holds 50 articles." in result.output
    docs = all_docs(shards)
    assert docs["demo-001"][1]["title"] == "改过的标题" and docs["fresh-1"][0] == xd.shard_of("fresh-1", N)
    assert "demo-004" not in docs
    # Again: nothing changes.
    result = cli("update", src, "--quiet", env=env_for(shards))
    assert "added 0, updated 0, unchanged 3" in result.output
    result = cli("delete", "fresh-1", "nope", env=env_for(shards))
    assert "deleted 1, not found 1; gen-000002 now holds 49 articles." in result.output
    assert "not found: nope" in result.stderr


def test_reordered_shards_are_refused(shards):
    result = cli("update", DEMO_DIR / "articles.jsonl", "--quiet", env=env_for([shards[1], shards[0], shards[2]]))
    assert result.exit_code == 1
    assert f"shard 1 {shards[1]} was built as shard 2 of 3" in result.output


REPRINT_BODY = ("国家统计局今天发布数据显示，今年前三季度全国规模以上工业增加值同比增长百分之五点二，"
                "其中制造业增长百分之六点一，高技术制造业增长百分之九点三，装备制造业增长百分之七点八。"
                "统计局新闻发言人表示，工业生产总体平稳，新动能持续壮大，企业效益稳步恢复。")


def reprint_records() -> list[dict]:
    return [
        {"id": "r1", "title": "工业数据", "body": REPRINT_BODY, "published": "2024-10-18T09:00:00"},
        {"id": "r2", "title": "转载：工业数据", "body": REPRINT_BODY + "（来源：新华社）", "published": "2024-10-19T09:00:00"},
        {"id": "r3", "title": "旧闻重发", "body": REPRINT_BODY, "published": "2025-03-01T09:00:00"},
        {"id": "r0", "title": "更早", "body": REPRINT_BODY.replace("今天", "昨天"), "published": "2024-10-17T09:00:00"},
        {"id": "o1", "title": "另一件事", "body": "今天天气晴朗，气温二十度，适合出行。", "published": "2024-10-18T10:00:00"},
        {"id": "u1", "title": "无日期转载", "body": REPRINT_BODY.replace("。", "！"), "published": None},
        {"id": "far", "title": "很久以后", "body": REPRINT_BODY + "补充。", "published": "2024-12-30T09:00:00"},
    ]


def whoosh_groups(index_dir: Path) -> dict[str, str]:
    from search_service.index import SearchIndex
    from search_service.reprints import compute_groups

    snap = SearchIndex(index_dir).snapshot()
    searcher = snap.searcher()
    ids = {d: searcher.stored_fields(d)["id"] for d in snap.live_docs}
    return {ids[d]: ids[g] for d, g in compute_groups(snap).items()}


@pytest.mark.parametrize("source", ["demo", "reprints"])
def test_collapse_keys_group_like_the_whoosh_service(source, tmp_path, demo_index):
    if source == "demo":
        src, index_dir = DEMO_DIR, demo_index
    else:
        src = write_jsonl(tmp_path / "r.jsonl", reprint_records())
        index_dir = tmp_path / "w"
        whoosh_rebuild([src], index_dir, procs=1)
    specs = shard_specs(tmp_path / "x")
    assert cli("rebuild", src, "--procs", "1", "--quiet", env=env_for(specs)).exit_code == 0
    keys = {i: k for i, (_s, _d, k) in all_docs(specs).items() if k}
    assert keys == whoosh_groups(index_dir)
    if source == "reprints":
        assert keys == {"r0": "r0", "r1": "r0", "r2": "r0", "r3": "r0"}


def test_update_joins_and_leaves_reprint_groups(tmp_path):
    records = reprint_records()
    src = write_jsonl(tmp_path / "r.jsonl", [r for r in records if r["id"] in ("r1", "o1")])
    specs = shard_specs(tmp_path / "x")
    assert cli("rebuild", src, "--procs", "1", "--quiet", env=env_for(specs)).exit_code == 0
    assert {i: k for i, (_s, _d, k) in all_docs(specs).items() if k} == {}
    add = write_jsonl(tmp_path / "add.jsonl", [r for r in records if r["id"] in ("r2", "r3")])
    assert cli("update", add, "--quiet", env=env_for(specs)).exit_code == 0
    assert {i: k for i, (_s, _d, k) in all_docs(specs).items() if k} == {"r1": "r1", "r2": "r1", "r3": "r1"}
    earlier = write_jsonl(tmp_path / "early.jsonl", [r for r in records if r["id"] == "r0"])
    assert cli("update", earlier, "--quiet", env=env_for(specs)).exit_code == 0
    assert {i: k for i, (_s, _d, k) in all_docs(specs).items() if k} == {"r0": "r0", "r1": "r0", "r2": "r0", "r3": "r0"}
    assert cli("delete", "r1", "r2", "r3", env=env_for(specs)).exit_code == 0
    assert {i: k for i, (_s, _d, k) in all_docs(specs).items() if k} == {}
