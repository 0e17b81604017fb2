"""`news-search search` / `news-search related` over the demo index: every output format, errors."""
from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

from search_service.cli import main
from search_service import cli_search
from search_service.cli_search import CSV_COLUMNS, fit, strip_html, text_width
from search_service.core import get_article, search
from search_service.params import parse_search_params

ENV = {"COLUMNS": "100"}


def run(demo_index: Path | str, *args: str):
    return CliRunner().invoke(main, [*args, "--index-dir", str(demo_index)], env=ENV)


def body_text(search_index, article_id: str) -> str:
    return " ".join(get_article(search_index, article_id)["body"].split())


# -- table --------------------------------------------------------------------------------------

def test_table_lists_title_date_channel_id_and_a_plain_snippet(demo_index, search_index):
    result = run(demo_index, "search", "马拉松", "--sort", "newest")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2 results for '马拉松', sorted by newest; showing 1-2."
    assert lines[1] == "#  date        channel   title                                         id"
    assert lines[2] == "1  2024-11-10  体育      2024江城马拉松鸣枪开跑 三万名跑者穿越两江四…  demo-017"
    assert lines[4] == "2  2024-11-09  新闻      江城马拉松明日开跑 部分路段实施交通管制       demo-018"
    assert len(lines) == 6
    for snippet_line, article_id in ((lines[3], "demo-017"), (lines[5], "demo-018")):
        assert snippet_line.startswith("   ") and "<mark>" not in snippet_line
        assert "马拉松" in snippet_line
        text = snippet_line.strip().strip("…")
        assert text and text in body_text(search_index, article_id)
        assert text_width(snippet_line) <= 100


def test_table_shows_a_story_with_its_reprint(demo_index):
    result = run(demo_index, "search", "地铁", "--sort", "oldest")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "4 results in 5 articles for '地铁', sorted by oldest; showing 1-4."
    rows = [line for line in lines[2:] if re.match(r"\d ", line)]
    assert [row.split()[-1] for row in rows] == [
        "demo-027", "demo-007", "demo-018", "https://news.example.com/shenghuo/20260224/5008.html"]
    assert lines[lines.index(rows[1]) + 2] == "   +1 reprint(s): demo-008"


def test_table_without_results_says_so(demo_index):
    result = run(demo_index, "search", "量子纠缠")
    assert result.exit_code == 0
    assert result.output == "No results for '量子纠缠'.\n"


# -- JSON Lines and CSV -------------------------------------------------------------------------

def test_json_lines_one_hit_per_line_with_plain_snippets(demo_index, search_index):
    result = run(demo_index, "search", "地铁", "--sort", "oldest", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in rows] == [
        "demo-027", "demo-007", "demo-018", "https://news.example.com/shenghuo/20260224/5008.html"]
    api = search(search_index, parse_search_params({"q": ["地铁"], "sort": ["oldest"]}))
    for row, hit in zip(rows, api["hits"], strict=True):
        assert set(row) == set(hit) - {"title_html", "snippet_html"} | {"snippet"}
        assert row["snippet"] == unescape(re.sub(r"</?mark>", "", hit["snippet_html"]))
        assert {k: row[k] for k in row if k != "snippet"} == {k: hit[k] for k in row if k != "snippet"}
    assert rows[1]["duplicates"] == 1 and rows[1]["duplicate_ids"] == ["demo-008"]
    assert rows[1]["published"] == "2022-09-28T07:30:00" and rows[1]["channel"] == "新闻"


def test_json_snippet_is_unescaped_text_not_markup(demo_index, search_index):
    # demo-009 holds the literal text <script>alert(1)</script> and &amp;: exports carry the text.
    result = run(demo_index, "search", '"alert(1)"', "--format", "json")
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in rows] == ["demo-009"]
    assert "<script>alert(1)</script>" in rows[0]["snippet"]
    assert "&lt;" not in rows[0]["snippet"] and "<mark>" not in rows[0]["snippet"]
    assert rows[0]["snippet"].strip("…") in get_article(search_index, "demo-009")["body"]


def test_json_no_collapse_lists_the_reprint_separately(demo_index):
    result = run(demo_index, "search", "地铁", "--sort", "oldest", "--format", "json", "--no-collapse")
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["id"] for r in rows] == ["demo-027", "demo-007", "demo-008", "demo-018",
                                       "https://news.example.com/shenghuo/20260224/5008.html"]
    assert all(r["duplicates"] == 0 and r["duplicate_ids"] == [] for r in rows)


def test_csv_header_and_rows(demo_index):
    result = run(demo_index, "search", "地铁", "--sort", "oldest", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["id"] for r in rows] == [
        "demo-027", "demo-007", "demo-018", "https://news.example.com/shenghuo/20260224/5008.html"]
    story = rows[1]
    assert story["title"] == "地铁5号线南延段今日开通运营 沿线新增六座车站"
    assert (story["published"], story["channel"], story["author"], story["source"]) == (
        "2022-09-28T07:30:00", "新闻", "何嘉宁", "江城日报")
    assert story["url"] == "https://news.example.com/xinwen/20220928/1007.html"
    assert (story["duplicates"], story["duplicate_ids"]) == ("1", "demo-008")
    assert "地铁" in story["snippet"] and "<" not in story["snippet"]
    assert story["score"] == ""  # date sort: no relevance score (null in JSON)


def test_csv_filters_are_the_api_filters(demo_index):
    result = run(demo_index, "search", "江城", "--channel", "体育", "--channel", "教育", "--from", "2023-01-01",
                 "--to", "2024-12-31", "--sort", "oldest", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    # brute force over the demo: only these two 体育/教育 articles of 2023-2024 contain 江城
    assert [(r["id"], r["channel"], r["published"][:10]) for r in rows] == [
        ("https://news.example.com/tiyu/20231008/5004.html", "体育", "2023-10-08"),
        ("demo-017", "体育", "2024-11-10"),
    ]


def test_author_and_source_options(demo_index):
    result = run(demo_index, "search", "江城", "--author", "何嘉宁", "--no-collapse", "--sort", "oldest",
                 "--format", "json")
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == ["demo-002", "demo-007", "demo-008"]
    result = run(demo_index, "search", "地铁", "--source", "南屿晨报", "--format", "json")
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == ["demo-008"]


def test_limit_and_page_match_the_api_pages(demo_index, search_index):
    args = {"q": ["江城"], "sort": ["oldest"], "per_page": ["7"], "page": ["2"]}
    api = search(search_index, parse_search_params(args))
    result = run(demo_index, "search", "江城", "--sort", "oldest", "--limit", "7", "--page", "2", "--format", "json")
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == [h["id"] for h in api["hits"]]


def test_limits_above_the_api_page_size_are_fetched_page_by_page(demo_index, search_index, monkeypatch):
    every = search(search_index, parse_search_params({"q": ["江城"], "sort": ["oldest"], "per_page": ["50"]}))
    ids = [h["id"] for h in every["hits"]]
    assert len(ids) == 34
    monkeypatch.setattr(cli_search, "API_PAGE", 5)  # the demo is small: pretend the API pages by 5
    result = run(demo_index, "search", "江城", "--sort", "oldest", "--limit", "12", "--page", "2", "--format", "json")
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == ids[12:24]
    result = run(demo_index, "search", "江城", "--sort", "oldest", "--limit", "12", "--page", "3", "--format", "json")
    assert [json.loads(line)["id"] for line in result.output.splitlines()] == ids[24:34]


# -- errors: exit status 1 and one message -------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["search", "地铁", "--sort", "bogus"],
     "Error: invalid --sort: `sort` must be one of relevance, newest, oldest, got 'bogus'"),
    (["search", "地铁", "--from", "2020-02-30"],
     "Error: invalid --from: `from` must be a date as YYYY-MM-DD, got '2020-02-30'"),
    (["search", "地铁", "--from", "2024-01-02", "--to", "2024-01-01"],
     "Error: invalid --from: `from` (2024-01-02) must not be after `to` (2024-01-01)"),
    (["search", "   "], "Error: invalid QUERY: `q` is required: 1 to 200 characters of search text"),
    (["search", "长" * 201], "Error: invalid QUERY: `q` must be at most 200 characters after trimming, got 201"),
    (["search", "地铁", "--limit", "0"], "Error: invalid --limit: must be in 1..1000, got 0"),
    (["search", "地铁", "--page", "0"], "Error: invalid --page: must be >= 1, got 0"),
    (["search", "地铁", "--limit", "1000", "--page", "11"],
     "Error: invalid --page: `page` * `per_page` must be at most 10,000: narrow the query or the date range "
     "instead of paging this deep"),
    (["related", "demo-005", "--limit", "51"], "Error: invalid --limit: `limit` must be in 1..50, got 51"),
    (["related", "no-such-article"],
     "Error: no article with id 'no-such-article': search for it with /api/search?q=..."),
])
def test_bad_parameters_exit_1_with_a_message(demo_index, args, message):
    result = run(demo_index, *args)
    assert result.exit_code == 1
    assert result.output.strip() == message
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["search", "地铁"], ["related", "demo-005"]])
def test_missing_index_exits_1_with_a_message(tmp_path, command):
    missing = tmp_path / "no-index-here"
    result = run(missing, *command)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: no index in {missing}: build one with `news-search rebuild SOURCE...`")
    assert "Traceback" not in result.output
    assert not missing.exists()


# -- related ------------------------------------------------------------------------------------

def test_related_command_in_each_format(demo_index):
    result = run(demo_index, "related", "demo-005")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("2 related to demo-005 (遥感数据公司澜舟星图完成B轮融资 将扩建AI解译团队), keywords: ")
    assert lines[2].startswith("1  2023-07-20  财经      澜舟星图登陆A股科创板 首日收涨逾八成")
    assert lines[2].endswith("demo-004")
    assert lines[4].endswith("demo-006")
    rows = [json.loads(line) for line in run(demo_index, "related", "demo-005", "--format", "json").output.splitlines()]
    assert [r["id"] for r in rows] == ["demo-004", "demo-006"]
    assert all("澜舟星图" in r["matched_keywords"] and r["keywords"] for r in rows)
    csv_rows = list(csv.DictReader(io.StringIO(run(demo_index, "related", "demo-005", "--limit", "1",
                                                   "--format", "csv").output)))
    assert [r["id"] for r in csv_rows] == ["demo-004"]


# -- text helpers -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "width", "expected"), [
    ("江城马拉松", 10, "江城马拉松"),
    ("江城马拉松", 12, "江城马拉松  "),
    ("江城马拉松明日开跑", 10, "江城马拉… "),
    ("iPhone 15开售", 10, "iPhone 15…"),
    ("abc", 5, "abc  "),
    ("a\n b", 5, "a b  "),
])
def test_fit_counts_han_characters_as_two_columns(text, width, expected):
    assert fit(text, width) == expected
    assert text_width(fit(text, width)) == width


def test_strip_html_inverts_the_core_markup():
    assert strip_html("…<mark>K&amp;S</mark>实验室 &lt;script&gt;…") == "…K&S实验室 <script>…"
    assert strip_html(None) == ""
