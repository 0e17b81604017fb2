"""The relevance harness (bench/relevance*.py): metrics, duplicate groups, split and set generation."""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from relevance import write_block  # noqa: E402
from relevance_metrics import first_rank, summarise  # noqa: E402
from relevance_sets import SETS, Corpus, build_sets, duplicate_groups, salient_words, split_of  # noqa: E402

# Our own tiny archive. dev (by id hash): a2 a4 a5 a7 a10; test: a1 a3 a6 a8 a9 a11 a12.
# a5 and a9 are one story (same text, different spacing and width); a7 and a8 share a headline.
TEXTS = {
    "a1": ("港口吞吐量创新高", "沿海港口集装箱吞吐量持续增长，航运企业新增航线。"),
    "a2": ("山区学校建起图书馆", "志愿者为山区学校捐赠图书，孩子们在图书馆里读书。"),
    "a3": ("新能源汽车出口增长", "新能源汽车出口量增长，电池企业扩大产能，港口加开航线。"),
    "a4": ("高铁新线开通运营", "高铁新线今天开通，沿线城市居民乘坐高铁出行更方便。"),
    "a5": ("湿地候鸟数量增加", "保护区湿地迎来大批候鸟，观鸟爱好者记录到珍稀候鸟。"),
    "a6": ("城市书店夜间开放", "城市书店延长开放时间，读者夜间也能借阅图书。"),
    "a7": ("国内联播快讯", "多地推进高铁站点建设，城市轨道交通客流回升。"),
    "a8": ("国内联播快讯", "多地湿地公园开放，志愿者清理河道垃圾。"),
    "a9": ("湿地候鸟数量增加", "保护区湿地迎来大批候鸟， 观鸟爱好者记录到珍稀候鸟。"),
    "a10": ("乡村医生守护健康", "乡村医生走访山区农户，为老人测量血压并讲解防病知识。"),
    "a11": ("电池回收体系建立", "电池企业建立回收网点，新能源汽车电池得到循环利用。"),
    "a12": ("医院开设夜间门诊", "医院开设夜间门诊，方便上班族就医，医生轮流值班。"),
}
ARTICLES = [{"id": k, "title": t, "body": b} for k, (t, b) in TEXTS.items()]
WORDS = {  # hand-written salient words, so set generation needs no segmenter here
    "a1": ["港口", "吞吐量", "航线"], "a2": ["山区", "图书馆", "志愿者"], "a3": ["新能源", "出口", "电池"],
    "a4": ["高铁", "开通", "沿线"], "a5": ["湿地", "候鸟", "观鸟"], "a6": ["书店", "夜间", "图书"],
    "a7": ["高铁", "轨道交通", "客流"], "a8": ["湿地", "志愿者", "河道"], "a9": ["湿地", "候鸟", "观鸟"],
    "a10": ["乡村医生", "山区", "血压"], "a11": ["电池", "回收", "新能源"], "a12": ["医院", "门诊", "夜间"],
}
# Characters the typo set may swap in (same toneless pinyin as a keyword's), frequent enough.
CHARS = Counter({c: 40 for c in "湿诗师施高糕膏铁贴帖山衫删乡香相医一衣夜业叶"})


def tiny() -> Corpus:
    return Corpus(ARTICLES, WORDS, char_freq=CHARS)


@pytest.mark.parametrize("hits, relevant, want", [
    ([["x"], ["t"]], ["t"], 2),
    ([["t"]], ["t", "u"], 1),
    ([["x", "u"], ["t"]], ["t", "u"], 1),  # the target's reprint folded into the first hit
    ([["x"]] * 9 + [["t"]], ["t"], 10),
    ([["x"]] * 10 + [["t"]], ["t"], None),  # rank 11 is outside @10
    ([], ["t"], None),
])
def test_first_rank(hits, relevant, want):
    assert first_rank(hits, relevant) == want


def test_summarise_exact():
    got = summarise([1, 2, None, 4], [False, False, True, False])
    assert got == {"n": 4, "mrr10": 0.4375, "s1": 0.25, "s10": 0.75, "zero": 0.25}
    assert summarise([None, None], [True, True]) == {"n": 2, "mrr10": 0.0, "s1": 0.0, "s10": 0.0, "zero": 1.0}
    assert summarise([], [])["n"] == 0


def test_split_is_a_stable_hash_of_the_id():
    assert [split_of(f"a{i}") for i in range(1, 7)] == ["test", "dev", "test", "dev", "dev", "test"]
    assert split_of("xwlb-20240305-01") == split_of("xwlb-20240305-01")


def test_duplicate_groups_ignore_spacing_and_width():
    copy = {"id": "w", "title": "港口吞吐量创新高", "body": "沿海港口 集装箱吞吐量持续增长,航运企业新增航线。"}
    groups = duplicate_groups(ARTICLES + [copy])
    assert groups["a5"] == groups["a9"] == frozenset({"a5", "a9"})
    assert groups["a1"] == groups["w"] == frozenset({"a1", "w"})  # NFKC: "，" is ","
    assert groups["a7"] == frozenset({"a7"})  # same headline, different story


@pytest.mark.parametrize("split", ["dev", "test"])
def test_sets_are_deterministic_and_draw_only_from_the_split(split):
    rows = build_sets(tiny(), split, 3, seed=5)
    assert rows == build_sets(tiny(), split, 3, seed=5)
    assert rows and {r["set"] for r in rows} <= set(SETS)
    assert all(split_of(r["target"]) == split for r in rows)
    for r in rows:
        assert r["relevant"] == sorted(duplicate_groups(ARTICLES)[r["target"]])
        assert len([x for x in rows if x["set"] == r["set"]]) <= 3
    other = build_sets(tiny(), split, 3, seed=6)
    assert all(split_of(r["target"]) == split for r in other)


def test_each_set_has_its_shape():
    rows = build_sets(tiny(), "dev", 5, seed=1)
    by = {s: [r for r in rows if r["set"] == s] for s in SETS}
    for r in by["keywords"]:
        ws = r["q"].split(" ")
        assert 2 <= len(ws) <= 3 and all(w in WORDS[r["target"]] for w in ws)
    for r in by["unspaced"]:
        assert " " not in r["q"]
    # Shared headlines (国内联播快讯 of a7) name no single story: never a headline query.
    assert {r["q"] for r in by["headline"]} <= {TEXTS[a][0] for a in ("a2", "a4", "a5", "a10")}
    assert all(r["q"] != "国内联播快讯" for r in by["headline"])
    for r in by["clause"]:
        assert 8 <= len(r["q"]) <= 25 and r["q"] in TEXTS[r["target"]][1]
    from pypinyin import lazy_pinyin

    assert by["typo"]
    for r in by["typo"]:  # one word of the target's has exactly one character swapped for a homophone
        wrong = [w for w in r["q"].split(" ") if w not in WORDS[r["target"]]]
        assert len(wrong) == 1
        right = [w for w in WORDS[r["target"]] if len(w) == len(wrong[0])
                 and sum(a != b for a, b in zip(w, wrong[0])) == 1]
        assert right and lazy_pinyin(right[0]) == lazy_pinyin(wrong[0])
    assert by["traditional"]
    for r in by["traditional"]:
        assert any(ch in r["q"] for ch in "濕鳥鐵開運區圖書館醫門診夜間") and r["q"] not in TEXTS[r["target"]][1]


def test_salient_words_skip_one_offs_stop_words_and_numbers():
    arts = [{"id": "x1", "title": "高铁开通", "body": "高铁 开通 2024 我们 高铁"},
            {"id": "x2", "title": "高铁票价", "body": "高铁 票价 我们 开通"},
            {"id": "x3", "title": "候鸟", "body": "候鸟 湿地"}]
    words = salient_words(arts)
    assert words == {"x1": ["高铁", "开通"], "x2": ["高铁", "开通"], "x3": []}


def test_write_block_replaces_only_its_split(tmp_path):
    doc = tmp_path / "r.md"
    doc.write_text("# head\n\n<!-- relevance:dev -->\nold\n<!-- /relevance:dev -->\n\ntail\n", encoding="utf-8")
    write_block(doc, "dev", "new\n")
    write_block(doc, "test", "t1\n")
    assert doc.read_text(encoding="utf-8") == ("# head\n\n<!-- relevance:dev -->\nnew\n<!-- /relevance:dev -->\n\n"
                                               "tail\n\n<!-- relevance:test -->\nt1\n<!-- /relevance:test -->\n")


def test_table_scores_each_set_and_bolds_the_best():
    from relevance import table

    rows = [{"set": "keywords", "q": "a", "relevant": ["t1"]}, {"set": "keywords", "q": "b", "relevant": ["t2"]},
            {"set": "typo", "q": "c", "relevant": ["t3"]}]
    answers = {"ours": {"hits": [[["t1"]], [["x"], ["t2", "t9"]], []]},
               "fts-or": {"hits": [[["x"], ["t1"]], [], [["t3"]]]}}
    md, scores = table(rows, ["ours", "fts-or"], answers)
    assert md.splitlines()[2:] == [
        "| keywords | 2 | **0.750** · 0.50 · 1.00 · 0% | 0.250 · 0.00 · 0.50 · 50% |",
        "| typo | 1 | 0.000 · 0.00 · 0.00 · 100% | **1.000** · 1.00 · 1.00 · 0% |",
    ]
    assert scores["keywords"]["ours"]["mrr10"] == 0.75


def test_shown_command_names_no_machine_paths():
    from relevance import default_corpus, shown_command

    argv = ["--corpus", str(default_corpus()), "--index-dir", "/srv/ix", "--work", "rel-work", "--split", "test"]
    assert shown_command(argv, default_corpus()) == ("python bench/relevance.py --corpus ../shared/corpus/news.jsonl "
                                                     "--index-dir INDEX_DIR --work rel-work --split test")
