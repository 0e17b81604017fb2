"""The query language: the tree each search-box text parses to, and the plain-terms fallback."""
from __future__ import annotations

import pytest

from search_service.query import And, Not, Or, Quoted, Words, has_positive, parse_query, positive_leaves


@pytest.mark.parametrize(("text", "tree"), [
    # words: one unspaced run stays one leaf (segmented at search time); spaces AND leaves
    ("支付宝小程序", Words("支付宝小程序")),
    ("支付宝 小程序", And([Words("支付宝"), Words("小程序")])),
    ("  银  ", Words("银")),
    ("iPhone 15", And([Words("iPhone"), Words("15")])),
    # quotes
    ('"小程序"', Quoted("小程序")),
    ('"iPhone 15"', Quoted("iPhone 15")),
    ('"a"b', And([Quoted("a"), Words("b")])),
    # exclusion
    ("-广告", Not(Words("广告"))),
    ('-"软文" 新闻', And([Not(Quoted("软文")), Words("新闻")])),
    ("银行 -银行卡", And([Words("银行"), Not(Words("银行卡"))])),
    ("NOT 广告", Not(Words("广告"))),
    ("--a", Not(Words("a"))),
    ("NOT NOT a", Not(Not(Words("a")))),
    ("-(a b) c", And([Not(And([Words("a"), Words("b")])), Words("c")])),
    ("a -(b OR c)", And([Words("a"), Not(Or([Words("b"), Words("c")]))])),
    # a lone dash or other punctuation between words is ignored
    ("支付宝 - 小程序", And([Words("支付宝"), Words("小程序")])),
    ("(a - )", Words("a")),
    # OR (upper case, or |), AND is implicit, AND / & are accepted and ignored
    ("微博 OR 微信", Or([Words("微博"), Words("微信")])),
    ("微博 | 微信", Or([Words("微博"), Words("微信")])),
    ("a OR b OR c", Or([Words("a"), Words("b"), Words("c")])),
    ("a AND b", And([Words("a"), Words("b")])),
    ("a & b", And([Words("a"), Words("b")])),
    ("a b OR c", Or([And([Words("a"), Words("b")]), Words("c")])),
    # lower-case "or" is an ordinary word
    ("微博 or 微信", And([Words("微博"), Words("or"), Words("微信")])),
    # parentheses
    ("(微博 OR 微信) 支付宝", And([Or([Words("微博"), Words("微信")]), Words("支付宝")])),
    ("(a OR (b c)) -d", And([Or([Words("a"), And([Words("b"), Words("c")])]), Not(Words("d"))])),
    # field prefixes (case-insensitive), with words or quotes, negated either side of the prefix
    ("title:马拉松", Words("马拉松", "title")),
    ("TITLE:马拉松", Words("马拉松", "title")),
    ("author:沈清和", Words("沈清和", "author")),
    ('source:"江城日报"', Quoted("江城日报", "source")),
    ("channel:科技 AI", And([Words("科技", "channel"), Words("AI")])),
    ('title:"新能源汽车"', Quoted("新能源汽车", "title")),
    ("-title:广告", Not(Words("广告", "title"))),
    ("title:-广告", Not(Words("广告", "title"))),
    ('-title:"软文"', Not(Quoted("软文", "title"))),
    # unknown prefixes are plain text
    ("url:foo", Words("url:foo")),
    ("a-b", Words("a-b")),
    ("title:", Words("title:")),
])
def test_parse_tree(text: str, tree: object) -> None:
    assert parse_query(text) == tree


@pytest.mark.parametrize(("text", "tree"), [
    # syntax errors never raise: the text's plain words, operators and stray marks dropped
    ("(微博", Words("微博")),
    ("微博)", Words("微博")),
    ('"小程序', Words("小程序")),
    ('支付宝 "小程序', And([Words("支付宝"), Words("小程序")])),
    ("OR 微博", Words("微博")),
    ("微博 OR", Words("微博")),
    ("(a OR b", And([Words("a"), Words("b")])),
    ("a ) b", And([Words("a"), Words("b")])),
    ("-(a", Words("a")),
    # nothing usable left: the raw text, searched as a word (finds nothing, never fails)
    ("()", Words("()")),
    ('""', Words('""')),
    ('"  "', Words('"  "')),
    ("-", Words("-")),
    ("-(", Words("-")),
    ("&", Words("&")),
    ("a NOT", Words("a")),
    ("a OR NOT", Words("a")),
    ("NOT", Words("NOT")),
    ("OR", Words("OR")),
])
def test_syntax_errors_fall_back_to_plain_terms(text: str, tree: object) -> None:
    assert parse_query(text) == tree


def test_positive_leaves_skip_exclusions() -> None:
    tree = parse_query('(微博 OR "微信") -广告 title:支付宝 -(a b)')
    assert positive_leaves(tree) == [Words("微博"), Quoted("微信"), Words("支付宝", "title")]
    # a double negation counts again
    assert positive_leaves(Not(Not(Words("x")))) == [Words("x")]


@pytest.mark.parametrize(("text", "expected"), [
    ("-广告", False),
    ("-a -b", False),
    ("a -b", True),
    ("a OR -b", False),
    ("(a OR b) -c", True),
    ('"x"', True),
])
def test_has_positive(text: str, expected: bool) -> None:
    assert has_positive(parse_query(text)) is expected
