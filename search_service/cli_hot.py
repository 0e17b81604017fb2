"""`news-search hot`: editors' control of the public lists from the command line.

    news-search hot list [--all] [--days N] [--json]   what readers see (--all: every logged query, why hidden)
    news-search hot block WORD [--pattern] [--remove]  add to / remove from hot_block.txt
    news-search hot pin QUERY [--allow] [--remove]     add to / remove from hot_pinned.txt

The files live in the index directory and the running service picks changes up on its next request.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import click

from indexer.store import index_dir_option
from search_service import publiclists
from search_service.queryfilter import clean
from search_service.querylog import FILE_NAME, QueryLog

ENV_LOG_PATH = "NEWS_SEARCH_QUERY_LOG_PATH"
ENV_MIN_COUNT = "NEWS_SEARCH_HOT_MIN_COUNT"


def _log_path(index_dir: Path) -> Path:
    return Path(os.environ.get(ENV_LOG_PATH) or index_dir / FILE_NAME)


def _index(index_dir: Path) -> Any:
    """The live index for corrections, or None when there is none (corrections are skipped)."""
    from indexer.store import IndexStore
    from search_service.index import SearchIndex

    return SearchIndex(str(index_dir)) if IndexStore(index_dir).current() is not None else None


def _edit(path: Path, line: str, remove: bool) -> bool:
    """Append `line` (or remove every equal line); False when nothing had to change."""
    if not path.parent.is_dir():
        raise click.ClickException(f"no index directory {path.parent}: pass --index-dir")
    lines = path.read_text(encoding="utf-8-sig").splitlines() if path.exists() else []
    present = any(x.strip() == line for x in lines)
    if remove == (not present):
        return False
    lines = [x for x in lines if x.strip() != line] if remove else lines + [line]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    os.replace(tmp, path)  # the service never reads a half-written file
    return True


@click.group()
def hot() -> None:
    """Hot searches and log-fed suggestions: list them, block words, pin entries."""


@hot.command("list")
@index_dir_option
@click.option("--days", type=click.IntRange(1, 90), default=7, show_default=True)
@click.option("--limit", type=click.IntRange(1, 500), default=10, show_default=True)
@click.option("--all", "show_all", is_flag=True,
              help="Every logged query with its visitors and why it is hidden.")
@click.option("--json", "as_json", is_flag=True)
def hot_list(index_dir: Path, days: int, limit: int, show_all: bool, as_json: bool) -> None:
    """What the start page's 热门搜索 shows now (pinned first)."""
    path = _log_path(index_dir)
    if not path.exists():
        raise click.ClickException(
            f"no query log at {path}: it is written by `news-search serve` (QUERY_LOG on)")
    qlog = QueryLog(path)
    lists = publiclists.EditorFiles(index_dir).lists()
    need = publiclists.min_visitors(os.environ.get(ENV_MIN_COUNT))
    try:
        if show_all:
            shown = {e["q"] for e in publiclists.listed(qlog, lists, need, _index(index_dir), days, 500)}
            rows: list[dict[str, Any]] = []
            for q, c, peak, hits in qlog.visitors(days, limit):
                why = publiclists.hidden_reason(q, lists) or (
                    "no_results" if hits <= 0 else "few_visitors" if peak < need else
                    None if q in shown else "corrected")
                rows.append({"q": q, "count": c, "peak_visitors": peak, "hits": hits, "hidden": why})
        else:
            rows = publiclists.listed(qlog, lists, need, _index(index_dir), days, limit)
    finally:
        qlog.close()
    for problem in lists.problems:
        click.echo(f"warning: {problem}", err=True)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"nothing to list (a query needs {need} visitors on one day)")
    for n, row in enumerate(rows, 1):
        mark = " [pinned]" if row.get("pinned") else ""
        hidden = f"  hidden: {row['hidden']}" if row.get("hidden") else ""
        extra = f"  peak {row['peak_visitors']}/day  hits {row['hits']}" if show_all else ""
        click.echo(f"{n:>3}. {row['q']}  ({row['count']} visitor-days){extra}{mark}{hidden}")


def _entry(text: str, what: str) -> str:
    text = clean(text)
    if not text or "#" in text:
        raise click.BadParameter(f"must be a non-empty {what.lower()} without '#'", param_hint=what)
    return text


def _change(index_dir: Path, name: str, line: str, remove: bool) -> None:
    path = index_dir / name
    verb = "removed from" if remove else "added to"
    click.echo(f"{line} {verb} {path}" if _edit(path, line, remove) else f"{line}: nothing to change")


@hot.command("block")
@index_dir_option
@click.argument("word")
@click.option("--pattern", is_flag=True, help="WORD is a regular expression (searched in the folded query).")
@click.option("--remove", is_flag=True, help="Take the entry off the block list.")
def hot_block(index_dir: Path, word: str, pattern: bool, remove: bool) -> None:
    """Hide every query containing WORD from the public lists (hot_block.txt)."""
    word = _entry(word, "WORD")
    if pattern:
        try:
            re.compile(word)
        except re.error as exc:
            raise click.BadParameter(f"not a regular expression: {exc}", param_hint="WORD") from None
    _change(index_dir, publiclists.BLOCK_FILE, f"re:{word}" if pattern else word, remove)


@hot.command("pin")
@index_dir_option
@click.argument("query")
@click.option("--allow", is_flag=True, help="Do not pin; let QUERY through the block list and content rules.")
@click.option("--remove", is_flag=True, help="Take the entry off the list.")
def hot_pin(index_dir: Path, query: str, allow: bool, remove: bool) -> None:
    """Show QUERY first in hot searches (hot_pinned.txt)."""
    query = _entry(query, "QUERY")
    _change(index_dir, publiclists.PINNED_FILE, f"allow:{query}" if allow else query, remove)
