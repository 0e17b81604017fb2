"""`news-search rebuild` / `stats`: the demo build, bad sources, interruption, re-ingesting, the seed.

Every build here goes into its own tmp directory (the session's demo index stays read-only).
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer import build, ingest
from indexer.build import rebuild
from search_service.cli import main
from indexer.demo_data import demo_sources, demo_userdict
from indexer.model import Article
from indexer.store import IndexStore
from search_service import core
from search_service.index import SearchIndex
from shared_data import shared_dir, shared_file

SUMMARY = re.compile(
    r"^Indexed (?P<indexed>[\d,]+) articles, skipped (?P<skipped>[\d,]+), duplicates (?P<duplicates>[\d,]+) "
    r"in [\d.]+s \([\d,]+ articles/s\); live generation (?P<generation>gen-\d{6})\.$", re.M)

DEMO_CHANNELS = [
    {"value": "科技", "count": 8}, {"value": "新闻", "count": 7}, {"value": "财经", "count": 7},
    {"value": "体育", "count": 6}, {"value": "汽车", "count": 6}, {"value": "生活", "count": 6},
    {"value": "房产", "count": 5}, {"value": "教育", "count": 5},
]


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def summary(output: str) -> dict[str, str]:
    m = SUMMARY.search(output)
    assert m, output
    return m.groupdict()


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def article(n: int, **extra) -> dict:
    return {"id": f"t-{n:03d}", "title": f"测试新闻第{n}号 江城新闻", "body": f"这是第{n}篇测试正文，内容关于江城的交通和天气。",
            "channel": "新闻", "published": f"2021-05-{1 + n % 28:02d} 08:00:00", **extra}


def ids_of(index_dir: Path) -> list[str]:
    snap = SearchIndex(index_dir).snapshot()
    return sorted(snap.stored(d)["id"] for d in snap.live_docs)


def generation_dirs(index_dir: Path) -> list[str]:
    return sorted(p.name for p in (index_dir / "generations").iterdir())


# --- the demo through the CLI ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    index_dir = tmp_path_factory.mktemp("cli_demo")
    result = run("rebuild", *demo_sources(), "--index-dir", str(index_dir), "--userdict", str(demo_userdict()),
                 "--procs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    return index_dir, result.output


def test_rebuild_demo_summary(cli_demo: tuple[Path, str]) -> None:
    index_dir, output = cli_demo
    assert summary(output) == {"indexed": "50", "skipped": "0", "duplicates": "0", "generation": "gen-000001"}
    assert (index_dir / "CURRENT").read_text().strip() == "gen-000001"
    assert generation_dirs(index_dir) == ["gen-000001"]
    # Queries segment with the dictionary the generation was built with: it travels with it.
    copied = index_dir / "generations" / "gen-000001" / "userdict.txt"
    assert copied.read_bytes() == demo_userdict().read_bytes()


def test_stats_json_of_the_demo(cli_demo: tuple[Path, str]) -> None:
    index_dir, _ = cli_demo
    result = run("stats", "--json", "--index-dir", str(index_dir))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["documents"] == 50
    assert data["channels"] == DEMO_CHANNELS
    assert data["date_range"] == {"from": "2019-04-21T22:15:00", "to": "2026-03-08T11:20:45"}
    assert data["generation"] == "gen-000001"
    gen_dir = index_dir / "generations" / "gen-000001"
    assert data["size_bytes"] == sum(p.stat().st_size for p in gen_dir.iterdir() if p.is_file())
    built = datetime.fromisoformat(data["built_at"])
    assert built.tzinfo is not None and abs(datetime.now(timezone.utc) - built) < timedelta(hours=1)


def test_stats_reads_the_index_dir_from_the_environment(cli_demo: tuple[Path, str]) -> None:
    index_dir, _ = cli_demo
    result = run("stats", "--json", env={"NEWS_SEARCH_INDEX_DIR": str(index_dir)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["documents"] == 50
    text = run("stats", "--index-dir", str(index_dir)).output
    assert "generation   gen-000001" in text and "documents    50" in text


def test_stats_without_an_index_says_how_to_build_one(tmp_path: Path) -> None:
    result = run("stats", "--index-dir", str(tmp_path / "none"))
    assert result.exit_code != 0
    assert "news-search rebuild" in result.output and str(tmp_path / "none") in result.output


# --- bad sources ----------------------------------------------------------------------------------

def test_missing_source_path_fails_naming_it(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [article(1)])
    missing = tmp_path / "no-such-dir"
    index_dir = tmp_path / "ix"
    result = run("rebuild", str(good), str(missing), "--index-dir", str(index_dir), "--quiet")
    assert result.exit_code != 0
    assert f"input path not found: {missing}" in result.output
    assert IndexStore(index_dir).current() is None


@pytest.fixture()
def live_index(tmp_path: Path) -> Path:
    """A small index with a known live generation, to check that failures leave it alone."""
    index_dir = tmp_path / "ix"
    rebuild([str(write_jsonl(tmp_path / "old.jsonl", [article(1), article(2)]))], index_dir, procs=1)
    assert ids_of(index_dir) == ["t-001", "t-002"]
    return index_dir


def test_nothing_indexable_fails_and_keeps_the_live_index(tmp_path: Path, live_index: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "bad.jsonl").write_text("{not json\n", encoding="utf-8")
    result = run("rebuild", str(tmp_path / "empty.jsonl"), str(tmp_path / "bad.jsonl"),
                 "--index-dir", str(live_index), "--quiet")
    assert result.exit_code != 0
    assert "nothing was indexed" in result.output and "the live index is unchanged" in result.output
    # Each skipped input is named with its reason (and line for JSON Lines).
    assert f"{tmp_path / 'empty.jsonl'}: empty file" in result.output
    assert f"{tmp_path / 'bad.jsonl'}:1: invalid JSON" in result.output
    assert (live_index / "CURRENT").read_text().strip() == "gen-000001"
    assert generation_dirs(live_index) == ["gen-000001"]
    assert ids_of(live_index) == ["t-001", "t-002"]


def test_a_directory_without_supported_files_is_nothing_indexable(tmp_path: Path, live_index: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.md").write_text("# 说明\n", encoding="utf-8")
    result = run("rebuild", str(tmp_path / "docs"), "--index-dir", str(live_index), "--quiet")
    assert result.exit_code != 0
    assert "no supported input files found" in result.output
    assert generation_dirs(live_index) == ["gen-000001"]


# --- interruption ---------------------------------------------------------------------------------

def _assert_old_generation_live(index_dir: Path) -> None:
    assert (index_dir / "CURRENT").read_text().strip() == "gen-000001"
    assert generation_dirs(index_dir) == ["gen-000001"]  # no half generation left behind
    assert ids_of(index_dir) == ["t-001", "t-002"]


@pytest.mark.parametrize("procs", [1, 2])
def test_interrupt_from_progress_keeps_the_old_generation(tmp_path: Path, live_index: Path, procs: int) -> None:
    new = write_jsonl(tmp_path / "new.jsonl", [article(n) for n in range(10, 40)])
    seen: list[int] = []

    def ctrl_c(report: build.BuildReport) -> None:
        seen.append(report.indexed)
        if report.indexed >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild([str(new)], live_index, procs=procs, progress=ctrl_c)
    assert 1 <= seen[-1] < 30  # it really stopped mid-way
    _assert_old_generation_live(live_index)


def test_interrupt_from_the_input_stream_keeps_the_old_generation(tmp_path: Path, live_index: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def inputs(_sources):
        for n in range(10, 15):
            yield Article(**article(n), origin=f"gen:{n}")
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "iter_inputs", inputs)
    with pytest.raises(KeyboardInterrupt):
        rebuild([str(tmp_path)], live_index, procs=1)
    _assert_old_generation_live(live_index)


def test_interrupted_cli_rebuild_exits_non_zero_with_a_message(tmp_path: Path, live_index: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer import cli

    def ctrl_c(self, report) -> None:
        if report.indexed >= 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.Progress, "__call__", ctrl_c)
    new = write_jsonl(tmp_path / "new.jsonl", [article(n) for n in range(10, 40)])
    result = run("rebuild", str(new), "--index-dir", str(live_index), "--procs", "1")
    assert result.exit_code != 0
    assert "interrupted" in result.output and "live index is unchanged" in result.output
    _assert_old_generation_live(live_index)


def test_a_completed_rebuild_switches_and_keeps_the_previous_generation(tmp_path: Path, live_index: Path) -> None:
    report = rebuild([str(write_jsonl(tmp_path / "new.jsonl", [article(7)]))], live_index, procs=1)
    assert report.generation == "gen-000002"
    assert (live_index / "CURRENT").read_text().strip() == "gen-000002"
    assert (live_index / "PREVIOUS").read_text().strip() == "gen-000001"
    assert ids_of(live_index) == ["t-007"]


# --- ids: re-ingesting never duplicates -------------------------------------------------------------

def test_the_same_articles_twice_are_indexed_once(tmp_path: Path) -> None:
    jsonl = str(Path(demo_sources()[0]))
    copy = write_jsonl(tmp_path / "copy.jsonl",
                       [json.loads(line) for line in Path(jsonl).read_text(encoding="utf-8").splitlines()])
    index_dir = tmp_path / "ix"
    result = run("rebuild", jsonl, str(copy), jsonl, "--index-dir", str(index_dir), "--procs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    assert summary(result.output)["indexed"] == "34" and summary(result.output)["duplicates"] == "68"
    assert f"duplicate {copy}:1: id demo-001 was already indexed" in result.output
    assert ids_of(index_dir) == [f"demo-{n:03d}" for n in range(1, 35)]


def test_ids_are_stable_across_rebuilds_without_ids_or_urls(tmp_path: Path) -> None:
    """No id and no url: the id is a content hash, the same on every rebuild and for every copy."""
    records = [{"title": "无编号稿件 江城降雨", "body": "今天江城出现一次明显降雨过程，气温下降。"},
               {"title": "另一篇无编号稿件", "body": "市民出行请注意安全。", "channel": "生活"}]
    first = write_jsonl(tmp_path / "a.jsonl", records)
    again = write_jsonl(tmp_path / "b.jsonl", records)
    ix1, ix2 = tmp_path / "ix1", tmp_path / "ix2"
    report = rebuild([str(first), str(again)], ix1, procs=1)
    assert (report.indexed, report.duplicates) == (2, 2)
    rebuild([str(again)], ix2, procs=1)
    assert ids_of(ix1) == ids_of(ix2)
    assert len(set(ids_of(ix1))) == 2


# --- the third-party seed and the real corpus (../shared) --------------------------------------------

SEED_URL = "http://www.huangxiaobo.org/hqxw/132509.html"
SEED_TITLE = "“蛰伏”一年后与微博互通 支付宝小程序欲在阿里系内打通关"


def test_seed_page_fields_and_clean_body(tmp_path: Path) -> None:
    seeds = (shared_dir() / "seeds") if shared_dir() else None
    if seeds is None or not seeds.is_dir():
        pytest.skip("../shared/seeds not available")
    index_dir = tmp_path / "ix"
    result = run("rebuild", str(seeds), "--index-dir", str(index_dir), "--procs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    assert summary(result.output)["indexed"] == "1"
    art = core.get_article(SearchIndex(index_dir), SEED_URL)
    assert (art["id"], art["title"], art["channel"], art["published"], art["author"], art["url"]) == (
        SEED_ID_FIELDS)
    body = art["body"]
    lines = body.split("\n")
    assert lines[0] == "现在看来,支付宝小程序可能会成为连接阿里生态各种业务的有形脐带。"
    assert lines[-1].startswith("在瑞星的市场竞争中,业内人士认为")
    assert SEED_TITLE not in body  # the title repeated as image captions is gone
    for boilerplate in ("环球商业信息网是一个", "当前位置", "本篇文章", "读完约", "图片来源", "来源:", "作者:",
                        "更新时间", "阅读:", "标题:", "地址:", "免责声明", "返回顶部"):
        assert boilerplate not in body, boilerplate


SEED_ID_FIELDS = (SEED_URL, SEED_TITLE, "新闻", "2020-09-07T00:40:03", "贺子圆", SEED_URL)




def test_full_corpus_rebuild(real_corpus_build) -> None:
    # The session's real-corpus build (conftest.py): skipped without ../shared or with
    # NEWS_SEARCH_FULL_CORPUS=0; the relevance tests search the same index.
    index_dir, proc = real_corpus_build
    assert summary(proc.stdout + proc.stderr) == {"indexed": "19,547", "skipped": "0", "duplicates": "0",
                                      "generation": "gen-000001"}
    data = json.loads(run("stats", "--json", "--index-dir", str(index_dir)).output)
    assert data["documents"] == 19547
    assert data["channels"] == [{"value": "国内", "count": 14483}, {"value": "国际", "count": 4357},
                                {"value": None, "count": 707}]
    assert data["date_range"]["from"].startswith("2022-09-24") and data["date_range"]["to"].startswith("2026-08-22")
