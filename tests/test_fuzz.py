"""Arbitrary input never breaks a search: a result or a 400 naming the parameter, never a crash/5xx."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings, strategies as st

from search_service import core
from search_service.errors import BadParameter
from search_service.index import SearchIndex
from search_service.params import parse_search_params

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of the query language and of the demo's hard cases, so generated queries reach the parser's
# and matcher's corners (operators, prefixes, quotes, folding) and not only random text.
ATOMS = ['"', "(", ")", "-", " ", " OR ", " AND ", " NOT ", "|", "&", "title:", "author:", "source:", "channel:",
         "银", "银行", "小程序", "支付宝", "臺灣", "５Ｇ", "5G", "A股", "iPhone 15", "<script>", "K&S", "的", "…",
         "\u3000", "\t", "\x00", "\ud7ff", "👍", "e\u0301", "①", "ﬁ", "İ", "ß"]
query_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(ATOMS), max_size=12).map("".join),
    st.lists(st.one_of(st.sampled_from(ATOMS), st.text(max_size=3)), max_size=10).map("".join),
    st.text(min_size=195, max_size=205),
)
param_value = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "0", "1", "-1", "2.0", "2.5", "50", "51", "10000", "1e3", "inf", "nan", "true",
                     "no", "relevance", "newest", "oldest", "day", "month", "year", "2020-01-01", "2020-02-30",
                     "2019-12-31", "0000-01-01", "9999-12-31", "20200101", "科技", "財經", "江城日报"]),
)
values = st.lists(param_value, min_size=1, max_size=3)
args_strategy = st.fixed_dictionaries(
    {"q": st.lists(query_text, min_size=0, max_size=2)},
    optional={name: values for name in ("channel", "from", "to", "author", "source", "sort", "page", "per_page",
                                        "collapse", "facet_interval")},
)

KNOWN = {"q", "channel", "from", "to", "author", "source", "sort", "page", "per_page", "collapse", "facet_interval"}


def _check_result(result: dict[str, Any], per_page: int) -> None:
    assert result["ok"] is True
    assert 0 <= len(result["hits"]) <= per_page
    assert result["total"] <= result["total_articles"]
    assert set(result["facets"]) >= {"channel", "year", "month"}
    for hit in result["hits"]:
        for name in ("title_html", "snippet_html"):
            assert set(re.findall(r"<[^>]*>", hit[name])) <= {"<mark>", "</mark>"}


@FUZZ
@given(args=args_strategy)
def test_core_answers_or_names_the_bad_parameter(search_index: SearchIndex, args: dict[str, list[str]]) -> None:
    try:
        params = parse_search_params(args)
    except BadParameter as exc:
        assert exc.param in KNOWN
        assert f"`{exc.param}`" in exc.message
        return
    _check_result(core.search(search_index, params), params.per_page)


@FUZZ
@given(q=query_text)
def test_any_query_text_searches(search_index: SearchIndex, q: str) -> None:
    try:
        params = parse_search_params({"q": [q]})
    except BadParameter as exc:
        assert exc.param == "q"
        return
    _check_result(core.search(search_index, params), 10)


@FUZZ
@given(args=args_strategy)
def test_api_answers_200_or_a_400_envelope(app, args: dict[str, list[str]]) -> None:
    client = app.test_client()
    resp = client.get("/api/search?" + urlencode(args, doseq=True))
    assert resp.status_code in (200, 400), resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    if resp.status_code == 400:
        assert body["ok"] is False
        assert body["error"]["status"] == 400
        assert body["error"]["parameter"] in KNOWN
        assert f"`{body['error']['parameter']}`" in body["error"]["message"]
    else:
        _check_result(body, body["per_page"])


SNIPPET_ALPHABET = st.sampled_from(list("银行小程序的。！？；…，、：\n <>&\"'abcＡ５①ﬁ臺灣") + ["e\u0301"])
snippet_text = st.lists(SNIPPET_ALPHABET, max_size=600).map("".join)


@FUZZ
@given(text=snippet_text, needles=st.sets(st.lists(SNIPPET_ALPHABET, min_size=1, max_size=3).map("".join), max_size=3))
def test_highlights_are_escaped_text_with_whole_marks(text: str, needles: set[str]) -> None:
    """Any text (markup, expanding and composing characters) and any needles: marks stay inside the
    text, the title is the text exactly, the snippet is one bounded piece of it."""
    from html import unescape

    from indexer.analysis import fold_text
    from search_service.highlight import highlight_title, snippet, substring_spans

    spans = substring_spans(text, {fold_text(n) for n in needles if fold_text(n).strip()})
    assert all(0 <= s < e <= len(text) for s, e in spans)
    title = highlight_title(text, spans)
    assert unescape(re.sub(r"</?mark>", "", title)) == text
    html = snippet(text, spans)
    assert set(re.findall(r"<[^>]*>", html)) <= {"<mark>", "</mark>"}
    piece = unescape(re.sub(r"</?mark>", "", html)).strip("…")
    assert piece.strip() == "" or piece.strip() in text
    assert len(piece) <= 200
