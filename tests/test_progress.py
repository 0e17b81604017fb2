"""Progress of `rebuild` and `update` off a terminal (what CliRunner and logs see): every phase
named, a total from the pre-count, percentage, rate and ETA lines, and the analysis rate the
summary prints is the one the progress printed."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from indexer.cli import Progress
from indexer.progress import count_records
from lifecycle_util import cli, copy_index, many_records, write_jsonl

PERIODIC = re.compile(r"^\[analyse\] (?P<done>[\d,]+)/(?P<total>[\d,]+) \((?P<pct>[\d.]+)%\)  "
                      r"(?P<rate>[\d,]+) articles/s  ETA \d+:\d\d:\d\d  elapsed \d+:\d\d:\d\d  indexed ", re.M)
ANALYSE_DONE = re.compile(r"^\[analyse\] done in [\d.]+s (?P<facts>\([\d,]+ articles, [\d,]+ articles/s\))$", re.M)


def phases_in_order(stderr: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\[(\w+)\] done in ", stderr, re.M)]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "in.jsonl", many_records(24, prefix="pg"))


def test_rebuild_names_every_phase_with_the_precounted_total(tmp_path: Path, corpus: Path) -> None:
    result = cli("rebuild", corpus, "--index-dir", tmp_path / "ix", "--procs", "1")
    assert result.exit_code == 0, result.output
    assert phases_in_order(result.stderr) == ["read", "analyse", "merge", "write", "columns", "switch"]
    assert "[analyse] started of ~24\n" in result.stderr
    facts = ANALYSE_DONE.search(result.stderr)
    assert facts and facts.group("facts").startswith("(24 articles, ")
    # The summary repeats the progress's own analysis figures, not a second estimate.
    summary = next(line for line in result.stdout.splitlines() if line.startswith("phases: "))
    assert f"analyse {facts.group(0).split('done in ')[1]}" in summary


def test_off_a_terminal_periodic_lines_carry_total_percentage_rate_and_eta(
        tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Progress, "LINE_EVERY", 0.0)  # a line at every report instead of every 5 s
    result = cli("rebuild", corpus, "--index-dir", tmp_path / "ix", "--procs", "1")
    lines = list(PERIODIC.finditer(result.stderr))
    assert lines, result.stderr
    for m in lines:
        done, total = int(m.group("done").replace(",", "")), int(m.group("total"))
        assert total == 24 and 0 <= done <= 24
        assert m.group("pct") == f"{100.0 * done / total:.1f}"
    assert int(lines[-1].group("done")) == 24


def test_quiet_prints_no_progress(tmp_path: Path, corpus: Path) -> None:
    result = cli("rebuild", corpus, "--index-dir", tmp_path / "ix", "--procs", "1", "--quiet")
    assert result.exit_code == 0
    assert "[" not in result.stderr
    assert result.stdout.startswith("Indexed 24 articles")


def test_update_names_its_phases(demo_index: Path, tmp_path: Path) -> None:
    index = copy_index(demo_index, tmp_path)
    new = write_jsonl(tmp_path / "new.jsonl", many_records(3, prefix="up"))
    result = cli("update", new, "--index-dir", index)
    assert result.exit_code == 0, result.output
    assert phases_in_order(result.stderr) == ["read", "analyse", "merge", "write", "columns"]
    assert "[analyse] started of ~3\n" in result.stderr
    assert "(3 articles, " in next(line for line in result.stdout.splitlines() if line.startswith("phases: "))


def test_precount_counts_jsonl_lines_and_other_files(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", many_records(5))
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write('{"id": "1"}\n{"id": "2"}')  # no final newline: still two records
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.html").write_text("<html></html>", encoding="utf-8")
    (tmp_path / "sub" / "note.txt").write_text("标题\n正文", encoding="utf-8")
    (tmp_path / "sub" / "image.png").write_bytes(b"\x89PNG")  # not an input: not counted
    assert count_records([tmp_path]) == 5 + 2 + 2
    assert count_records([tmp_path / "a.jsonl"]) == 5
