"""`news-search update` / `delete`: upsert by id with exact added/updated/unchanged counts, deletes.

Every test works on its own copy of the session demo index (tmp_path).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer import update as upd
from indexer.demo_data import demo_sources
from indexer.store import IndexStore
from lifecycle_util import cli, copy_index, demo_record, live_ids, write_jsonl
from search_service.app import create_app

UPDATE_LINE = re.compile(
    r"^added (?P<added>[\d,]+), updated (?P<updated>[\d,]+), unchanged (?P<unchanged>[\d,]+), "
    r"skipped (?P<skipped>[\d,]+), deleted (?P<deleted>[\d,]+)(?:, not found (?P<not_found>[\d,]+))?"
    r"(?:, duplicates (?P<duplicates>[\d,]+))? in [\d.]+s; (?P<generation>gen-\d{6}) now holds "
    r"(?P<documents>[\d,]+) articles\.$", re.M)


def counts(output: str) -> dict[str, str | None]:
    m = UPDATE_LINE.search(output)
    assert m, output
    return m.groupdict()


@pytest.fixture()
def index(demo_index: Path, tmp_path: Path) -> Path:
    return copy_index(demo_index, tmp_path)


def search_ids(index_dir: Path, q: str) -> list[str]:
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "QUERY_LOG": False})
    resp = app.test_client().get("/api/search", query_string={"q": q, "collapse": "false", "per_page": 50})
    assert resp.status_code == 200, resp.get_json()
    return sorted(h["id"] for h in resp.get_json()["hits"])


def test_reingesting_the_demo_changes_nothing(index: Path) -> None:
    toc_before = IndexStore(index).current_marker()
    result = cli("update", *demo_sources(), "--index-dir", index, "--quiet")
    assert result.exit_code == 0, result.output
    assert counts(result.stdout) == {"added": "0", "updated": "0", "unchanged": "50", "skipped": "0",
                                     "deleted": "0", "not_found": None, "duplicates": None,
                                     "generation": "gen-000001", "documents": "50"}
    # Nothing changed, so nothing was committed: readers keep their caches.
    assert IndexStore(index).current_marker() == toc_before


def test_one_edited_body_is_one_update(index: Path, tmp_path: Path) -> None:
    rec = demo_record("demo-019")
    rec["body"] = rec["body"] + "\n今年园林部门新增了夜间灯光秀，灯光秀每晚七点开始。"
    src = write_jsonl(tmp_path / "edited.jsonl", [rec])
    assert search_ids(index, "灯光秀") != ["demo-019"]

    result = cli("update", src, "--index-dir", index, "--quiet")
    assert result.exit_code == 0, result.output
    c = counts(result.stdout)
    assert (c["added"], c["updated"], c["unchanged"], c["documents"]) == ("0", "1", "0", "50")
    assert "demo-019" in search_ids(index, "灯光秀")
    assert len(live_ids(index)) == 50  # replaced, not duplicated

    # The same file again: now unchanged.
    again = cli("update", src, "--index-dir", index, "--quiet")
    assert counts(again.stdout)["unchanged"] == "1" and counts(again.stdout)["updated"] == "0"


def test_metadata_change_counts_as_update(index: Path, tmp_path: Path) -> None:
    rec = demo_record("demo-020")
    rec["channel"] = "新闻"
    report = upd.update([str(write_jsonl(tmp_path / "m.jsonl", [rec]))], index)
    assert report.counts() == {"added": 0, "updated": 1, "unchanged": 0, "skipped": 0, "deleted": 0,
                               "not_found": 0, "duplicates": 0}


def test_new_article_is_added(index: Path, tmp_path: Path) -> None:
    new = {"id": "lc-new-1", "title": "江城开通首条无人驾驶公交线路", "body": "江城首条无人驾驶公交线路今天开通，全程十二公里。",
           "channel": "汽车", "published": "2026-03-01 09:00:00"}
    result = cli("update", write_jsonl(tmp_path / "new.jsonl", [new]), "--index-dir", index, "--quiet")
    c = counts(result.stdout)
    assert (c["added"], c["updated"], c["unchanged"], c["documents"]) == ("1", "0", "0", "51")
    assert search_ids(index, "无人驾驶公交") == ["lc-new-1"]
    meta = IndexStore(index).require_current().meta()
    assert meta["documents"] == 51
    assert meta["last_update"]["added"] == 1


def test_mixed_batch_counts_each_kind(index: Path, tmp_path: Path) -> None:
    changed = demo_record("demo-021")
    changed["title"] = changed["title"] + "（更新）"
    records = [demo_record("demo-001"), changed, {"id": "lc-new-2", "title": "新稿", "body": "一篇全新的稿件正文。"},
               demo_record("demo-001"),  # repeated in the same input: first one wins, counted
               ]
    src = write_jsonl(tmp_path / "mixed.jsonl", records)
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"id": "x", "title": \n', encoding="utf-8")
    result = cli("update", src, bad, "--index-dir", index, "--quiet")
    assert result.exit_code == 0, result.output
    c = counts(result.stdout)
    assert (c["added"], c["updated"], c["unchanged"], c["skipped"], c["duplicates"]) == ("1", "1", "1", "1", "1")
    assert "broken.jsonl" in result.stderr and "duplicate" in result.stderr


def test_update_with_delete_in_one_commit(index: Path, tmp_path: Path) -> None:
    new = {"id": "lc-new-3", "title": "新稿三", "body": "第三篇新的稿件正文。"}
    result = cli("update", write_jsonl(tmp_path / "n.jsonl", [new]), "--index-dir", index, "--quiet",
                 "--delete", "demo-002", "--delete", "no-such-id")
    c = counts(result.stdout)
    assert (c["added"], c["deleted"], c["not_found"], c["documents"]) == ("1", "1", "1", "50")
    assert "not found: no-such-id" in result.stderr
    ids = live_ids(index)
    assert "lc-new-3" in ids and "demo-002" not in ids


def test_delete_ids_and_unknown_ids(index: Path) -> None:
    result = cli("delete", "demo-001", "demo-002", "nope-1", "demo-001", "--index-dir", index)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "deleted 2, not found 1; gen-000001 now holds 48 articles."
    assert result.stderr.strip() == "not found: nope-1"
    ids = live_ids(index)
    assert len(ids) == 48 and not {"demo-001", "demo-002"} & ids
    assert search_ids(index, "鲸帆科技") == []


def test_delete_from_file(index: Path, tmp_path: Path) -> None:
    listing = tmp_path / "gone.txt"
    listing.write_text("# articles withdrawn by the legal team\ndemo-010\n\n  demo-011  \nmissing-9\n", encoding="utf-8")
    result = cli("delete", "--from-file", listing, "demo-012", "--index-dir", index)
    assert result.stdout.strip() == "deleted 3, not found 1; gen-000001 now holds 47 articles."
    assert "not found: missing-9" in result.stderr
    assert IndexStore(index).require_current().meta()["documents"] == 47


def test_delete_nothing_known_commits_nothing(index: Path) -> None:
    before = IndexStore(index).current_marker()
    result = cli("delete", "ghost-1", "--index-dir", index)
    assert result.stdout.strip() == "deleted 0, not found 1; gen-000001 now holds 50 articles."
    assert IndexStore(index).current_marker() == before


@pytest.mark.parametrize("args, message", [
    (["delete"], "give article ids to delete, or --from-file FILE"),
    (["delete", "--from-file", "/nonexistent/ids.txt"], "does not exist"),
    (["update", "/nonexistent/src.jsonl"], "/nonexistent/src.jsonl"),
])
def test_bad_invocations_are_one_line_errors(index: Path, args: list[str], message: str) -> None:
    result = cli(*args, "--index-dir", index)
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert "Traceback" not in result.output


def test_update_without_index_says_how_to_build_one(tmp_path: Path) -> None:
    new = write_jsonl(tmp_path / "n.jsonl", [{"id": "a", "title": "标题", "body": "正文内容"}])
    result = cli("update", new, "--index-dir", tmp_path / "empty")
    assert result.exit_code == 1
    assert "news-search rebuild" in result.output and "Traceback" not in result.output


def test_updated_article_is_searchable_in_every_field(index: Path, tmp_path: Path) -> None:
    """The replacement is a full document: stored fields, postings and folded column all updated."""
    rec = demo_record("demo-030")
    rec["title"] = "多家城商行上调存款利率 三年期定存重回百分之三"
    upd.update([str(write_jsonl(tmp_path / "t.jsonl", [rec]))], index)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index), "QUERY_LOG": False})
    client = app.test_client()
    assert client.get("/api/articles/demo-030").get_json()["article"]["title"] == rec["title"]
    assert search_ids(index, '"重回百分之三"') == ["demo-030"]
    assert search_ids(index, "上调存款利率") == ["demo-030"]


def test_update_of_articles_without_optional_fields_keeps_columns_aligned(index: Path, tmp_path: Path) -> None:
    """A segment whose articles all lack channel/date has no column file for them; Whoosh's
    MultiReader then skipped it and shifted doc numbers (facet counting crashed with a 500)."""
    bare = {"id": "bare-1", "title": "南屿港新航线开通", "body": "南屿港今天开通一条新的集装箱航线。"}
    upd.update([str(write_jsonl(tmp_path / "bare.jsonl", [bare]))], index)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index), "QUERY_LOG": False})
    client = app.test_client()
    body = client.get("/api/search", query_string={"q": "集装箱航线"}).get_json()
    assert body["ok"] is True and [h["id"] for h in body["hits"]] == ["bare-1"]
    # No channel: counted under 未分类 (issue 18); no date: no year "2147483647".
    assert body["facets"] == {"channel": [{"value": None, "count": 1, "selected": False, "label": "未分类"}],
                              "year": [], "month": []}
    wide = client.get("/api/search", query_string={"q": "江城", "channel": "体育"}).get_json()
    assert wide["ok"] is True
    assert {f["value"]: f["count"] for f in wide["facets"]["channel"]}["体育"] == wide["total_articles"]
    stats = cli("stats", "--index-dir", index, "--json")
    assert stats.exit_code == 0, stats.output
    assert '"documents": 51' in stats.stdout and '"value": "科技",\n      "count": 8' in stats.stdout
    checked = cli("check", "--index-dir", index)
    assert checked.exit_code == 0, checked.output


def test_replaced_article_no_longer_matches_its_old_text(index: Path, tmp_path: Path) -> None:
    rec = demo_record("demo-019")
    rec.update(title="梧桐大道迎来最佳观赏期", body=rec["body"].replace("银杏", "梧桐"), channel="新闻")
    assert search_ids(index, "银杏大道") == ["demo-019"]
    upd.update([str(write_jsonl(tmp_path / "w.jsonl", [rec]))], index)
    client = create_app({"TESTING": True, "INDEX_DIR": str(index), "QUERY_LOG": False}).test_client()
    for q in ("银杏大道", '"银杏大道"', "银杏"):  # relax=false: 大道 alone still matches, by design
        assert client.get("/api/search", query_string={"q": q, "relax": "false"}).get_json()["total"] == 0, q
    body = client.get("/api/search", query_string={"q": "梧桐大道"}).get_json()
    assert [h["id"] for h in body["hits"]] == ["demo-019"]
    assert body["facets"]["channel"] == [{"value": "新闻", "count": 1, "selected": False}]
