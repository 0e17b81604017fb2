"""indexer/jieba_blocks.py: jieba's words with the block cache, on our texts and after the
dictionary changes."""
from __future__ import annotations

import itertools
import json
import os

import jieba
import pytest

from indexer import analysis, jieba_blocks
from lifecycle_util import demo_records
from shared_data import shared_file

MIXED = "新华社北京3月5日电（记者 王小明）会议指出，5G基站 iPhone15Pro…\n\n会议指出：「长江经济带」 a_b-c 100%"


def test_the_same_tokens_as_jieba_on_the_demo_articles_twice() -> None:
    analysis.ensure_initialised()
    texts = [analysis.fold_text(r.get("title", "") + "\n" + r.get("body", "")) for r in demo_records()] + [MIXED]
    for _ in range(2):  # the second round reads the cache
        for text in texts:
            assert list(jieba_blocks.tokenize(text)) == list(jieba.tokenize(text, HMM=True))


def test_a_word_added_to_the_dictionary_empties_the_cache() -> None:
    analysis.ensure_initialised()
    text = "蓝鲸折叠屏手机今天发布"
    before = list(jieba_blocks.tokenize(text))
    assert text in jieba_blocks._cache
    jieba.add_word("蓝鲸折叠屏", freq=100000)
    try:
        after = list(jieba_blocks.tokenize(text))
        assert after == list(jieba.tokenize(text, HMM=True))
        assert after[0][0] == "蓝鲸折叠屏" and after != before
    finally:
        jieba.del_word("蓝鲸折叠屏")
        jieba_blocks.forget()
    assert list(jieba_blocks.tokenize(text)) == before


def real_articles(n: int) -> list[dict]:
    path = shared_file("corpus", "news.jsonl")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("../shared/corpus/news.jsonl is missing (CI=true: the shared corpus must be present)")
        pytest.skip("../shared/corpus/news.jsonl not available")
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in itertools.islice(fh, n) if line.strip()]


def han_blocks(texts: list[str]) -> list[str]:
    return [b for t in texts for b in jieba.re_han_default.split(t) if b and jieba.re_han_default.match(b)]


def test_block_segmentation_equals_jiebas_on_real_articles() -> None:
    """cut_block is jieba's __cut_DAG rewritten: every Han block of 400 real articles (and
    blocks built to tie, repeat and run past the dictionary) gives the same words."""
    analysis.ensure_initialised()
    texts = [analysis.fold_text(a.get("title", "") + "\n" + a.get("body", "")) for a in real_articles(400)]
    texts += ["的的的的的", "长长长江江江", "中华人民共和国国务院总理", "研究生命起源", "结婚的和尚未结婚的",
              "乒乓球拍卖完了", "㐀㐁㐂𠀋字", "一", ""]
    dt = jieba.dt
    jieba_blocks.forget()
    for block in han_blocks(texts):
        assert list(jieba_blocks.cut_block(dt, block)) == list(dt._Tokenizer__cut_DAG(block)), block


def test_equal_scores_go_to_the_longer_word_as_in_jieba(tmp_path) -> None:
    """With every word at frequency 1, 甲|乙丙 and 甲乙|丙 score exactly the same: jieba's max()
    over (score, end) takes the later end, and so must cut_block."""
    words = tmp_path / "dict.txt"
    words.write_text("甲 1\n甲乙 1\n乙丙 1\n丙 1\n", encoding="utf-8")
    dt = jieba.Tokenizer(dictionary=str(words))
    dt.initialize()
    try:
        want = list(dt._Tokenizer__cut_DAG("甲乙丙"))
        assert want == ["甲乙", "丙"]
        assert list(jieba_blocks.cut_block(dt, "甲乙丙")) == want
    finally:
        jieba_blocks.forget()
