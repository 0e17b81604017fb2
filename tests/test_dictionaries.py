"""Dictionaries under INDEX_DIR: synonyms.txt and stopwords.txt apply at query time (the service
picks an added or edited file up with no reindex and no restart); userdict.txt applies at the next
rebuild, and `stats` / `update` say so; `check-dict` shows segmentation before and after."""
from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer import update as upd
from indexer.demo_data import demo_sources, demo_userdict
from search_service.synonyms import load_query_dictionaries, parse_synonyms, synonym_units
from indexer.store import IndexStore
from lifecycle_util import cli, copy_index, write_jsonl
from search_service.app import create_app

SYN_ARTICLES = [
    {"id": "syn-a", "title": "央行下调存款准备金率", "body": "央行今天宣布下调存款准备金率0.5个百分点，释放长期资金。",
     "channel": "财经", "published": "2026-03-02 10:00:00"},
    {"id": "syn-b", "title": "中国人民银行发布季度货币政策报告", "body": "中国人民银行发布报告，称将保持流动性合理充裕。",
     "channel": "财经", "published": "2026-03-03 10:00:00"},
]


@pytest.fixture()
def index(demo_index: Path, tmp_path: Path) -> Path:
    target = copy_index(demo_index, tmp_path)
    upd.update([str(write_jsonl(tmp_path / "syn.jsonl", SYN_ARTICLES))], target)
    return target


@pytest.fixture()
def search(index: Path) -> Callable[[str], list[str]]:
    # The default check interval: the service's own promise (a second or two) is what is tested.
    client = create_app({"TESTING": True, "INDEX_DIR": str(index), "QUERY_LOG": False}).test_client()

    def ids(q: str) -> list[str]:
        # relax=false: these tests are about which words are required (relaxation: test_relax.py)
        body = client.get("/api/search", query_string={"q": q, "collapse": "false", "relax": "false"}).get_json()
        assert body["ok"] is True, body
        return sorted(h["id"] for h in body["hits"])
    return ids


def eventually(cond: Callable[[], bool], seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "not picked up within 2 s"
        time.sleep(0.05)


def test_synonyms_file_changes_results_without_reindex(index: Path, search: Callable) -> None:
    store = IndexStore(index)
    marker = store.current_marker()
    assert search("央行") == ["syn-a"]
    assert search("中国人民银行") == ["syn-b"]

    # Written in traditional characters: entries are folded like queries.
    (index / "synonyms.txt").write_text("# 央行的全称\n央行 中國人民銀行\n", encoding="utf-8")
    eventually(lambda: search("央行") == ["syn-a", "syn-b"])
    assert search("中国人民银行") == ["syn-a", "syn-b"]
    assert search("央行 准备金率") == ["syn-a"]  # still AND with the other words
    assert search("中国人民银行 流动性") == ["syn-b"]
    assert search('"央行"') == ["syn-a"]  # a quoted string stays exact
    assert store.current_marker() == marker  # nothing was reindexed or committed

    # Edited: the pairing is gone again.
    time.sleep(0.01)  # a different mtime even on coarse-timestamp filesystems
    (index / "synonyms.txt").write_text("# 暂停\n", encoding="utf-8")
    eventually(lambda: search("央行") == ["syn-a"])
    # Removed: same.
    (index / "synonyms.txt").write_text("央行 中国人民银行\n", encoding="utf-8")
    eventually(lambda: search("央行") == ["syn-a", "syn-b"])
    (index / "synonyms.txt").unlink()
    eventually(lambda: search("央行") == ["syn-a"])


def test_stopwords_file_drops_words_from_multiword_queries(index: Path, search: Callable) -> None:
    assert search("中国人民银行宣布") == []  # no article has both
    (index / "stopwords.txt").write_text("宣布 称\n", encoding="utf-8")
    eventually(lambda: search("中国人民银行宣布") == ["syn-b"])
    assert search("宣布") == ["syn-a"]  # a query of only a stop word still searches for it
    # Typed as separate terms, a stop word is dropped the same way; quoted it stays exact.
    assert search("中国人民银行 宣布") == ["syn-b"]
    assert search("中国人民银行 宣布 -流动性") == []
    assert search('中国人民银行 "宣布"') == []
    assert search("中国人民银行 (宣布 OR 发布)") == ["syn-b"]


def test_builtin_stop_words_typed_as_separate_terms(search: Callable) -> None:
    assert search("央行 的") == search("央行") == ["syn-a"]
    assert search("中国人民银行 在 发布") == ["syn-b"]
    assert len(search("的")) == 10  # alone, it is searched for: a full first page


def test_unreadable_synonyms_file_is_ignored_and_reported(index: Path, search: Callable) -> None:
    (index / "synonyms.txt").write_bytes("央行 中国人民银行\n".encode("gbk"))
    eventually(lambda: search("江城马拉松") != [])  # the service keeps answering
    assert search("央行") == ["syn-a"]
    result = cli("check-dict", "央行", "--index-dir", index)
    assert result.exit_code == 0
    assert f"warning: {index / 'synonyms.txt'}: cannot read (" in result.stderr
    assert "save it as UTF-8" in result.stderr


def test_synonym_groups_merge_and_problems_name_the_line() -> None:
    syn = parse_synonyms("央行 人民银行\n\n单独   # only one word\n人民银行，中国人民银行、央妈\n", "syn.txt")
    assert syn.table["央行"] == ("央行", "人民银行", "中国人民银行", "央妈")
    assert syn.table["央妈"] == ("央妈", "央行", "人民银行", "中国人民银行")
    assert syn.problems == ["syn.txt:3: a synonym group needs at least two words, got '单独'"]
    # A multi-word entry is found across the query's words.
    multi = parse_synonyms("美联储 美国联邦储备委员会\n")
    assert synonym_units(["美国", "联邦", "储备", "委员会", "加息"], multi) == [
        [("美国", "联邦", "储备", "委员会"), ("美联储",)], [("加息",)]]


def test_dictionary_files_live_under_index_dir(tmp_path: Path) -> None:
    (tmp_path / "synonyms.txt").write_text("ＡＩ 人工智能\n", encoding="utf-8")
    (tmp_path / "stopwords.txt").write_text("的 了\n# comment 不是\n", encoding="utf-8")
    d = load_query_dictionaries(tmp_path)
    assert d.synonyms.table["ai"] == ("ai", "人工智能")  # full-width and case folded
    assert d.stop_words == frozenset({"的", "了"})
    assert d.problems == []


def test_check_dict_before_and_after(tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    index_dir.mkdir()
    text = "澜舟星图完成B轮融资，央行宣布降准"
    plain = cli("check-dict", text, "--index-dir", index_dir)
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.splitlines()[:2] == [
        "without user dictionary: 澜舟 / 星图 / 完成 / b轮 / 融资 / 央行 / 宣布 / 降准",
        "with (no user dictionary): 澜舟 / 星图 / 完成 / b轮 / 融资 / 央行 / 宣布 / 降准   (same)",
    ]
    shutil.copyfile(demo_userdict(), index_dir / "userdict.txt")
    (index_dir / "synonyms.txt").write_text("央行 中国人民银行\n", encoding="utf-8")
    (index_dir / "stopwords.txt").write_text("宣布\n", encoding="utf-8")
    tuned = cli("check-dict", text, "--index-dir", index_dir)
    lines = tuned.stdout.splitlines()
    assert lines[0] == "without user dictionary: 澜舟 / 星图 / 完成 / b轮 / 融资 / 央行 / 宣布 / 降准"
    assert lines[1] == f"with {index_dir / 'userdict.txt'}: 澜舟星图 / 完成 / b轮 / 融资 / 央行 / 宣布 / 降准"
    assert lines[2].split()[:3] == ["index", "terms:", "澜舟星图"]  # with its sub-words after it
    assert lines[3:] == ["synonyms:     央行 = 中国人民银行", "stop words:   宣布 (dropped from multi-word queries)"]


def test_check_dict_rejects_a_non_utf8_userdict(tmp_path: Path) -> None:
    bad = tmp_path / "gbk_dict.txt"
    bad.write_bytes("新词 10 n\n".encode("gbk"))
    result = cli("check-dict", "新词", "--index-dir", tmp_path, "--userdict", bad)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {bad}:1: the user dictionary is not UTF-8 text; save it as UTF-8 "
                             "(one `word [freq] [tag]` per line)\n")


def test_rebuild_with_a_bad_userdict_fails_cleanly(demo_index: Path, tmp_path: Path) -> None:
    index_dir = copy_index(demo_index, tmp_path)
    (index_dir / "userdict.txt").write_bytes(b"\xff\xfe\x00bad\n")
    result = cli("rebuild", *demo_sources(), "--index-dir", index_dir, "--quiet")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {index_dir / 'userdict.txt'}:1: the user dictionary is not UTF-8")
    assert IndexStore(index_dir).require_current().name == "gen-000001"


def sha(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_stats_says_which_generation_used_which_dictionary(demo_index: Path, tmp_path: Path) -> None:
    index_dir = copy_index(demo_index, tmp_path)
    demo_sha = sha(demo_userdict())
    own = index_dir / "userdict.txt"

    # Built with --userdict, and INDEX_DIR/userdict.txt is absent.
    out = cli("stats", "--index-dir", index_dir).stdout
    assert f"userdict     gen-000001 (current): {demo_userdict().resolve()} (sha1 {demo_sha[:10]})" in out
    assert (f"note: gen-000001 was built with {demo_userdict().resolve()} (sha1 {demo_sha[:10]}) but "
            f"{own} does not exist: a rebuild without --userdict would drop it") in out

    # The admin adds a word in INDEX_DIR/userdict.txt: stats and update say a rebuild is needed.
    own.write_text(demo_userdict().read_text(encoding="utf-8") + "江城雄鹰 20 nt\n", encoding="utf-8")
    new_sha = sha(own)
    out = cli("stats", "--index-dir", index_dir).stdout
    assert (f"note: {own} (sha1 {new_sha[:10]}) is not the dictionary gen-000001 was built with "
            f"(sha1 {demo_sha[:10]}): run `news-search rebuild` so indexing and queries segment the same way") in out
    updated = cli("update", *demo_sources(), "--index-dir", index_dir, "--quiet")
    assert (f"note: {own} changed since gen-000001 was built; updated articles were segmented with the "
            "dictionary of gen-000001: run `news-search rebuild` to apply the new one") in updated.stderr

    # After the rebuild: no rebuild note; both generations' dictionaries are listed.
    assert cli("rebuild", *demo_sources(), "--index-dir", index_dir, "--quiet", "--procs", "1").exit_code == 0
    out = cli("stats", "--index-dir", index_dir).stdout
    assert f"userdict     gen-000002 (current): {own.resolve()} (sha1 {new_sha[:10]})" in out
    assert f"userdict     gen-000001 (previous): {demo_userdict().resolve()} (sha1 {demo_sha[:10]})" in out
    assert "run `news-search rebuild`" not in out
    assert f"note: the previous generation gen-000001 used sha1 {demo_sha[:10]}" in out
    gen = IndexStore(index_dir).require_current()
    assert sha(gen.path / "userdict.txt") == new_sha  # queries segment with the generation's copy
    data = cli("stats", "--index-dir", index_dir, "--json").stdout
    assert f'"userdict_sha1": "{new_sha}"' in data and f'"userdict_sha1": "{demo_sha}"' in data
    checked = cli("check-dict", "江城雄鹰主场逆转夺冠", "--index-dir", index_dir)
    assert checked.stdout.splitlines()[1].startswith(f"with {own}: 江城雄鹰 / ")
