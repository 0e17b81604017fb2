"""Editors' exports: CSV with a UTF-8 BOM for Excel (``--no-bom`` drops it), every cell on one line,
and ``--xlsx FILE`` holding the same rows."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from search_service.cli import main
from search_service.cli_search import CSV_COLUMNS, one_line
from search_service.core import search
from search_service.params import parse_search_params

QUERY = ("马拉松", "--sort", "newest")


def run(demo_index: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--index-dir", str(demo_index)])


def test_csv_starts_with_a_bom_by_default_and_not_with_no_bom(demo_index) -> None:
    with_bom = run(demo_index, "search", *QUERY, "--format", "csv")
    without = run(demo_index, "search", *QUERY, "--format", "csv", "--no-bom")
    assert with_bom.exit_code == 0 and without.exit_code == 0
    assert with_bom.stdout_bytes.startswith(b"\xef\xbb\xbfid,title,")
    assert without.stdout_bytes.startswith(b"id,title,")
    assert with_bom.stdout_bytes[3:] == without.stdout_bytes
    # Excel's reading: decode as utf-8-sig, first header is "id"
    rows = list(csv.DictReader(io.StringIO(with_bom.stdout_bytes.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == ["demo-017", "demo-018"]


def test_csv_snippets_are_one_line(demo_index, search_index) -> None:
    raw = search(search_index, parse_search_params({"q": ["马拉松"], "sort": ["newest"]}))["hits"]
    assert all("\n" in h["snippet_html"] for h in raw)  # the article text has line breaks
    out = run(demo_index, "search", *QUERY, "--format", "csv", "--no-bom").stdout_bytes.decode("utf-8")
    lines = out.splitlines()
    assert len(lines) == 3  # header + one physical line per hit
    rows = list(csv.DictReader(io.StringIO(out)))
    assert all("\n" not in r["snippet"] and "\r" not in r["snippet"] for r in rows)
    assert "马拉松" in rows[0]["snippet"]


@pytest.mark.parametrize(("text", "flat"), [("a\nb", "a b"), ("a\r\n\r\nb", "a b"), ("a\u2028b\tc", "a b c"),
                                            ("  江城  ", "江城"), (None, None), (3.5, 3.5)])
def test_one_line(text, flat) -> None:
    assert one_line(text) == flat


def test_xlsx_holds_the_csv_rows(demo_index, tmp_path: Path) -> None:
    target = tmp_path / "hits.xlsx"
    result = run(demo_index, "search", "地铁", "--sort", "oldest", "--xlsx", str(target))
    assert result.exit_code == 0, result.output
    sheet = load_workbook(target, read_only=True)["results"]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert tuple(cells[0]) == CSV_COLUMNS
    csv_rows = list(csv.reader(io.StringIO(run(demo_index, "search", "地铁", "--sort", "oldest", "--format", "csv",
                                               "--no-bom").stdout_bytes.decode("utf-8"))))
    assert [["" if v is None else str(v) for v in row] for row in cells[1:]] == csv_rows[1:]
    assert [r[0] for r in cells[1:]] == ["demo-027", "demo-007", "demo-018",
                                        "https://news.example.com/shenghuo/20260224/5008.html"]


def test_csv_output_file_and_bad_output(demo_index, tmp_path: Path) -> None:
    target = tmp_path / "hits.csv"
    assert run(demo_index, "search", *QUERY, "--format", "csv", "-o", str(target)).exit_code == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbfid,")
    bad = run(demo_index, "search", *QUERY, "--format", "csv", "-o", str(tmp_path / "no" / "such" / "x.csv"))
    assert bad.exit_code == 1 and "cannot write --output" in bad.output
