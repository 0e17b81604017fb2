"""The Chinese analyzer: Whoosh's tokenizer contract, folding, mixed tokens, the user dictionary."""
from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.analysis import ChineseAnalyzer, ChineseTokenizer, fold, fold_text, load_userdict, sub_words, words
from indexer.demo_data import demo_userdict
from indexer.enrich import analyse_text

Tok = tuple[str, int, int, int]  # text, pos, startchar, endchar


def tokens(text: str, mode: str = "index", **kwargs) -> list[Tok]:
    return [(t.text, t.pos, t.startchar, t.endchar)
            for t in ChineseTokenizer()(text, positions=True, chars=True, mode=mode, **kwargs)]


def test_positions_and_offsets_of_a_plain_sentence() -> None:
    assert tokens("江城首批5G基站开通") == [
        ("江城", 0, 0, 2), ("首批", 1, 2, 4), ("5g", 2, 4, 6), ("基站", 3, 6, 8), ("开通", 4, 8, 10)]


def test_sub_words_share_the_parent_position_and_span() -> None:
    assert tokens("中华人民共和国成立") == [
        ("中华人民共和国", 0, 0, 7), ("中华", 0, 0, 7), ("华人", 0, 0, 7), ("人民", 0, 0, 7),
        ("共和", 0, 0, 7), ("共和国", 0, 0, 7), ("成立", 1, 7, 9)]


def test_query_mode_has_no_sub_words() -> None:
    assert tokens("中华人民共和国成立", mode="query") == [("中华人民共和国", 0, 0, 7), ("成立", 1, 7, 9)]
    assert tokens("房贷利率降至3.5%", mode="query") == [("房贷利率", 0, 0, 4), ("降至", 1, 4, 6), ("3.5%", 2, 6, 10)]
    # The same sentence in index mode adds 房贷 and 利率 at position 0 with the span of 房贷利率.
    assert tokens("房贷利率降至3.5%")[:3] == [("房贷利率", 0, 0, 4), ("房贷", 0, 0, 4), ("利率", 0, 0, 4)]


def test_offsets_point_into_the_original_text_after_an_ellipsis() -> None:
    # NFKC turns each "…" into "...", so the folded text is longer than the original.
    text = "他说……我们去北京大学"
    assert fold(text)[0] == "他说......我们去北京大学"
    assert tokens(text, mode="query") == [
        ("他", 0, 0, 1), ("说", 1, 1, 2), ("我们", 2, 4, 6), ("去", 3, 6, 7), ("北京大学", 4, 7, 11)]
    assert text[4:6] == "我们" and text[7:11] == "北京大学"


def test_offsets_point_into_the_original_full_width_text() -> None:
    text = "ＵＳＢ－Ｃ接口，ＡＩ大模型，１２３４５热线"
    toks = tokens(text, mode="query")
    assert [(w, text[s:e]) for w, _p, s, e in toks] == [
        ("usb", "ＵＳＢ"), ("c", "Ｃ"), ("接口", "接口"), ("ai", "ＡＩ"), ("大", "大"), ("模型", "模型"),
        ("12345", "１２３４５"), ("热线", "热线")]


def test_offsets_survive_a_composition_that_cancels_an_expansion() -> None:
    # Two combining accents (each NFKC-composes two characters into one) and one "…" (one
    # character into three): the folded text has the original length, but not a 1:1 mapping.
    text = "Cafe\u0301 cafe\u0301…北京大学"
    toks = tokens(text, mode="query")
    assert toks[-1] == ("北京大学", toks[-1][1], 12, 16)
    assert [text[s:e] for _w, _p, s, e in toks] == ["Cafe", "cafe", "北京大学"]


def test_start_pos_and_start_char_shift_every_token() -> None:
    assert tokens("支付宝小程序", mode="query", start_pos=10, start_char=100) == [
        ("支付宝", 10, 100, 103), ("小", 11, 103, 104), ("程序", 12, 104, 106)]


def test_tokenize_false_yields_the_folded_value_as_one_token() -> None:
    toks = list(ChineseTokenizer()("臺灣ＡＩ", tokenize=False, positions=True, chars=True))
    assert [(t.text, t.pos, t.startchar, t.endchar) for t in toks] == [("台湾ai", 0, 0, 4)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("江城首批5G基站开通", ["江城", "首批", "5g", "基站", "开通"]),
        ("澜舟星图登陆A股科创板", ["a股"]),
        ("95后UP主在B站教老人用手机", ["b站"]),
        ("iPhone15售价上涨", ["iphone15", "售价", "上涨"]),
        ("房贷利率降至3.5%", ["3.5%"]),
        ("Ａ股和ａ股和A股", ["a股", "和", "a股", "和", "a股"]),
        ("PM2.5超标", ["pm2.5", "超标"]),
    ],
)
def test_mixed_latin_digit_tokens_stay_whole(text: str, expected: list[str]) -> None:
    got = words(text)
    if len(expected) < len(got):  # only the mixed token is asserted: the rest is jieba's business
        assert all(w in got for w in expected)
    else:
        assert got == expected


def test_mixed_token_parts_are_indexed_at_the_parent_position() -> None:
    assert tokens("iPhone15售价") == [
        ("iphone15", 0, 0, 8), ("iphone", 0, 0, 8), ("15", 0, 0, 8), ("售价", 1, 8, 10)]
    assert sub_words("5g") == [] and sub_words("a股") == []


def test_traditional_characters_fold_to_simplified_with_original_offsets() -> None:
    text = "臺灣新創雲杉軟體推出銀行客服"
    toks = tokens(text, mode="query")
    assert [(w, text[s:e]) for w, _p, s, e in toks] == [
        ("台湾", "臺灣"), ("新创", "新創"), ("云杉", "雲杉"), ("软体", "軟體"), ("推出", "推出"),
        ("银行", "銀行"), ("客服", "客服")]
    assert words("臺灣") == words("台湾") == ["台湾"]


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("臺灣", "台湾"), ("Ａ股", "a股"), ("ＡＢＣ１２３", "abc123"), ("iPhone", "iphone"), ("５Ｇ", "5g"),
     ("銀行", "银行"), ("…", "...")],
)
def test_fold_text(raw: str, folded: str) -> None:
    assert fold_text(raw) == folded


def test_punctuation_and_spaces_produce_no_tokens() -> None:
    assert tokens("，。！？ 、“”「」（）——", mode="query") == []
    # ... and do not use up positions: the words either side stay adjacent for phrases.
    assert tokens("支付宝，小程序", mode="query")[:2] == [("支付宝", 0, 0, 3), ("小", 1, 4, 5)]


def test_pretokenized_values_replay_the_same_tokens() -> None:
    text = "鲸帆科技押注支付宝小程序，中华人民共和国"
    value = analyse_text(text)
    assert [(t.text, t.pos, t.startchar, t.endchar)
            for t in ChineseTokenizer()(value, positions=True, chars=True, mode="index")] == tokens(text)


def test_analyzer_pickles_under_its_import_path() -> None:
    analyzer = ChineseAnalyzer()
    data = pickle.dumps(analyzer)
    assert b"indexer.analysis" in data and b"ChineseTokenizer" in data
    assert pickle.loads(data) == analyzer


# Pieces that stress the offset map: width changes, expansions, traditional characters, accents.
_PIECES = ["支付宝", "小程序", "臺灣", "銀行", "北京大学", "５Ｇ", "Ａ股", "iPhone", "15", "3.5%", "…", "①",
           "，", " ", "e\u0301", "Café", "ﬁ", "㈱", "İ", "中华人民共和国", "B站", "\u3000"]


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12))
def test_every_token_span_folds_to_the_token(pieces: list[str]) -> None:
    text = "".join(pieces)
    previous_end = 0
    for word, _pos, s, e in tokens(text, mode="query"):
        assert 0 <= s < e <= len(text)
        assert s >= previous_end  # whole words never overlap and come in text order
        previous_end = e
        # "in", not "==": one original character may fold to several (㈱ -> "(株)").
        assert word in fold_text(text[s:e]), (text, word, text[s:e])


# --- the user dictionary -------------------------------------------------------------------------

_SPLIT_THEN_LOAD = textwrap.dedent("""
    import sys
    from indexer.analysis import load_userdict, words
    print("|".join(words("澜舟星图登陆科创板")))
    load_userdict(sys.argv[1])
    print("|".join(words("澜舟星图登陆科创板")))
""")


def test_user_dictionary_keeps_a_new_name_whole() -> None:
    # jieba's dictionary is process-global and other tests load the demo dictionary, so the
    # "before" half runs in a fresh interpreter.
    out = subprocess.run([sys.executable, "-c", _SPLIT_THEN_LOAD, str(demo_userdict())],
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out == ["澜舟|星图|登陆|科创板", "澜舟星图|登陆|科创板"]


def test_load_userdict_is_idempotent_and_order_independent(tmp_path) -> None:
    assert load_userdict(demo_userdict()) is True
    assert load_userdict(demo_userdict()) is True
    assert words("鲸帆科技和青禾智联") == ["鲸帆科技", "和", "青禾智联"]
    assert load_userdict(tmp_path / "missing.txt") is False
