"""Each stage of the analysis chain alone (indexer.analysis):
fold (offset map) -> segment -> sub-words -> mixed-token parts -> stop words (query side),
and their composition, which is what ChineseTokenizer yields."""
from __future__ import annotations

import pytest

from indexer.analysis import (
    ChineseTokenizer, drop_stop_words, fold, han_sub_words, mixed_parts, segment, sub_words, word_spans)


@pytest.mark.parametrize(("text", "folded", "mapping"), [
    ("江城发展", "江城发展", None),                         # unchanged: no map needed
    ("發展ＡＩ", "发展ai", None),                           # 1:1 folds keep offsets equal
    ("…①發展", "...1发展", [0, 0, 0, 1, 2, 3]),            # expansions: each folded char -> its source
])
def test_fold_returns_the_folded_text_and_an_offset_map(text: str, folded: str, mapping: list[int] | None) -> None:
    assert fold(text) == (folded, mapping)


def test_segment_yields_words_with_offsets_and_skips_punctuation() -> None:
    assert list(segment("支付宝，上线了")) == [("支付宝", 0, 3), ("上线", 4, 6), ("了", 6, 7)]


@pytest.mark.parametrize(("word", "expected"), [
    ("中国人民银行", ["中国", "国人", "人民", "银行"]),
    ("银行", []),                 # two characters: nothing shorter to add
    ("iphone15pro", []),          # not Han: the mixed-token stage's business
])
def test_han_sub_words(word: str, expected: list[str]) -> None:
    assert han_sub_words(word) == expected


@pytest.mark.parametrize(("word", "expected"), [
    ("iphone15pro", ["iphone", "15", "pro"]),
    ("pm2.5", ["pm", "2.5"]),
    ("5g", []),                   # too short to split
    ("a股", []),                  # one Latin/digit run only
    ("中国人民银行", []),
])
def test_mixed_parts(word: str, expected: list[str]) -> None:
    assert mixed_parts(word) == expected


def test_sub_words_is_either_stage() -> None:
    assert sub_words("中国人民银行") == han_sub_words("中国人民银行")
    assert sub_words("iphone15pro") == mixed_parts("iphone15pro")


@pytest.mark.parametrize(("ws", "extra", "expected"), [
    (["我", "的", "书"], frozenset(), ["我", "书"]),
    (["的", "了"], frozenset(), ["的", "了"]),              # only stop words: kept whole
    (["的"], frozenset(), ["的"]),                          # a lone word is searched as typed
    (["央行", "宣布"], frozenset({"宣布"}), ["央行"]),       # INDEX_DIR/stopwords.txt words
])
def test_drop_stop_words(ws: list[str], extra: frozenset[str], expected: list[str]) -> None:
    assert drop_stop_words(ws, extra) == expected


def test_word_spans_compose_the_stages_with_original_offsets() -> None:
    assert list(word_spans("發展…中国人民银行", expand=True)) == [
        ("发展", 0, 0, 2), ("中国人民银行", 1, 3, 9), ("中国", 1, 3, 9), ("国人", 1, 3, 9), ("人民", 1, 3, 9),
        ("银行", 1, 3, 9)]
    assert list(word_spans("發展…中国人民银行", expand=False)) == [("发展", 0, 0, 2), ("中国人民银行", 1, 3, 9)]


def test_the_tokenizer_yields_exactly_the_composed_stages() -> None:
    text = "江城首批iPhone15Pro手机…中华人民共和国"
    got = [(t.text, t.pos, t.startchar, t.endchar)
           for t in ChineseTokenizer()(text, positions=True, chars=True, mode="index")]
    assert got == list(word_spans(text, expand=True))
    query = [t.text for t in ChineseTokenizer()(text, mode="query")]
    assert query == [w for w, _, _, _ in word_spans(text, expand=False)]
