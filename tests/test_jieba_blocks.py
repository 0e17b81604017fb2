"""indexer/jieba_blocks.py: jieba's words with the block cache, on our texts and after the
dictionary changes."""
from __future__ import annotations

import jieba

from indexer import analysis, jieba_blocks
from lifecycle_util import demo_records

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
