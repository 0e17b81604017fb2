"""`news-search search` and `news-search related`: the editors' command line over the search core.

Same validation and the same results as /api/search (search_service.params + core); output as a
readable table (default), JSON Lines or CSV for export. Bad parameters and a missing index exit
with status 1 and one clear message, never a traceback.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable
from html import unescape
from pathlib import Path
from typing import Any, TypeVar

import click

from indexer.store import index_dir_option
from search_service.errors import BadParameter, SearchError

FORMATS = ("table", "json", "csv")
CSV_COLUMNS = ("id", "title", "published", "channel", "author", "source", "url", "score", "duplicates",
               "duplicate_ids", "keywords", "snippet")
MAX_LIMIT = 1000          # --limit beyond the API's per_page maximum is fetched page by page
API_PAGE = 50             # search_service.params.MAX_PER_PAGE
TITLE_WIDTH = 44          # display columns (a Han character is two)
# CLI option names for the API parameter names that error messages carry.
OPTION_NAMES = {"q": "QUERY", "per_page": "--limit", "page": "--page", "from": "--from", "to": "--to",
                "channel": "--channel", "author": "--author", "source": "--source", "sort": "--sort",
                "limit": "--limit"}
_TAG_RE = re.compile(r"</?mark>")
T = TypeVar("T")


# -- plain text helpers -----------------------------------------------------------------------

def strip_html(html: str | None) -> str:
    """Snippet/title HTML from the core (escaped text + <mark> tags) back to plain text."""
    return unescape(_TAG_RE.sub("", html or ""))


def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def fit(text: str, width: int, pad: bool = True) -> str:
    """Cut `text` to `width` display columns (ending in "…" when cut), padded with spaces."""
    text = " ".join(text.split())
    if text_width(text) > width:
        out, used = [], 0
        for ch in text:
            w = char_width(ch)
            if used + w > width - 1:
                break
            out.append(ch)
            used += w
        text = "".join(out) + "…"
    return text + " " * (width - text_width(text)) if pad else text


# -- running the core -------------------------------------------------------------------------

def run(action: Callable[[], T]) -> T:
    """Call the search core; its errors become click errors naming the CLI's option (exit status 1,
    no traceback). The indexer's NewsSearchError (no index...) is mapped by search_service.cli."""
    try:
        return action()
    except BadParameter as exc:
        option = OPTION_NAMES.get(exc.param, exc.param)
        raise click.ClickException(f"invalid {option}: {exc.message}") from None
    except SearchError as exc:
        raise click.ClickException(exc.message) from None


def search_pages(index: Any, args: dict[str, list[str]], limit: int, page: int) -> dict[str, Any]:
    """Hits [(page-1)*limit, page*limit) of the search; API pages of 50 when limit > 50."""
    from search_service.core import search
    from search_service.params import parse_search_params

    if limit <= API_PAGE:
        return search(index, parse_search_params({**args, "per_page": [str(limit)], "page": [str(page)]}))
    start = (page - 1) * limit
    hits: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    api_page = start // API_PAGE + 1
    skip = start % API_PAGE
    while len(hits) < limit:
        result = search(index, parse_search_params({**args, "per_page": [str(API_PAGE)], "page": [str(api_page)]}))
        hits.extend(result["hits"][skip:])
        skip = 0
        if api_page >= result["pages"]:
            break
        api_page += 1
    return {**result, "hits": hits[:limit], "page": page, "per_page": limit,
            "pages": max(1, -(-result["total"] // limit))}


# -- output -----------------------------------------------------------------------------------

def export_row(hit: dict[str, Any]) -> dict[str, Any]:
    """A hit for JSON Lines / CSV: plain-text snippet instead of the HTML fields."""
    row = {k: v for k, v in hit.items() if k not in ("title_html", "snippet_html")}
    row["snippet"] = strip_html(hit.get("snippet_html"))
    return row


def write_jsonl(hits: Iterable[dict[str, Any]]) -> None:
    for hit in hits:
        click.echo(json.dumps(export_row(hit), ensure_ascii=False))


def write_csv(hits: Iterable[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for hit in hits:
        row = export_row(hit)
        row["duplicate_ids"] = " ".join(row.get("duplicate_ids") or [])
        row["keywords"] = " ".join(row.get("keywords") or [])
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
    click.echo(buffer.getvalue(), nl=False)


def write_table(hits: list[dict[str, Any]], first_number: int) -> None:
    """One line per hit (number, date, channel, title, id), then its snippet, indented."""
    width = max(60, min(200, shutil.get_terminal_size((100, 24)).columns))
    num_w = len(str(first_number + len(hits) - 1))
    indent = " " * (num_w + 2)
    click.echo(f"{'#':>{num_w}}  {fit('date', 10)}  {fit('channel', 8)}  {fit('title', TITLE_WIDTH)}  id")
    for i, hit in enumerate(hits, start=first_number):
        date = (hit.get("published") or "")[:10]
        line = (f"{i:>{num_w}}  {fit(date, 10)}  {fit(hit.get('channel') or '-', 8)}  "
                f"{fit(hit.get('title') or '', TITLE_WIDTH)}  {hit.get('id')}")
        click.echo(line.rstrip())
        snippet = strip_html(hit.get("snippet_html"))
        if snippet:
            click.echo(indent + fit(snippet, width - len(indent), pad=False))
        if hit.get("duplicates"):
            ids = ", ".join(hit.get("duplicate_ids") or [])
            click.echo(indent + fit(f"+{hit['duplicates']} reprint(s): {ids}", width - len(indent), pad=False))


def emit(fmt: str, hits: list[dict[str, Any]], summary: str, first_number: int) -> None:
    if fmt == "json":
        write_jsonl(hits)
    elif fmt == "csv":
        write_csv(hits)
    else:
        click.echo(summary)
        if hits:
            write_table(hits, first_number)


def open_index(index_dir: Path) -> Any:
    from search_service.index import SearchIndex

    return SearchIndex(index_dir, check_interval=3600)


# -- commands ---------------------------------------------------------------------------------

format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                             help="table: readable; json: JSON Lines, one hit per line; csv: header + rows.")


@click.command()
@click.argument("query")
@click.option("--channel", multiple=True, help="Only these channels (repeatable: any of them).")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="Published on or after this day.")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Published on or before this day.")
@click.option("--author", help="Only articles by this author.")
@click.option("--source", help="Only articles from this source (outlet).")
@click.option("--sort", default="relevance", show_default=True, metavar="relevance|newest|oldest",
              help="Order of the hits.")
@click.option("--limit", type=int, default=10, show_default=True, help=f"Hits to show (1..{MAX_LIMIT}).")
@click.option("--page", type=int, default=1, show_default=True, help="Page of --limit hits.")
@format_option
@click.option("--no-collapse", is_flag=True, help="Show reprints of one story as separate hits.")
@click.option("--no-relax", is_flag=True,
              help="Require every word, even question words and when that finds nothing.")
@index_dir_option
def search(query: str, channel: tuple[str, ...], date_from: str | None, date_to: str | None,
           author: str | None, source: str | None, sort: str, limit: int, page: int, fmt: str,
           no_collapse: bool, no_relax: bool, index_dir: Path) -> None:
    """Search the archive for QUERY (same syntax and ranking as the web search; see README).

    \b
    Examples:
      news-search search '新能源汽车' --sort newest --from 2023-01-01
      news-search search '"小程序" -广告' --channel 科技 --format csv --limit 500 > hits.csv
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise click.ClickException(f"invalid --limit: must be in 1..{MAX_LIMIT}, got {limit}")
    if page < 1:
        raise click.ClickException(f"invalid --page: must be >= 1, got {page}")
    args: dict[str, list[str]] = {"q": [query], "channel": list(channel), "sort": [sort],
                                  "collapse": ["false" if no_collapse else "true"],
                                  "relax": ["false" if no_relax else "true"]}
    for name, value in (("from", date_from), ("to", date_to), ("author", author), ("source", source)):
        if value is not None:
            args[name] = [value]
    result = run(lambda: search_pages(open_index(index_dir), args, limit, page))
    hits = result["hits"]
    first = (page - 1) * limit + 1
    if result["total"] == 0:
        summary = f"No results for {query!r}."
    elif not hits:
        summary = f"{result['total']:,} results for {query!r}; page {page} is past the last page ({result['pages']})."
    else:
        articles = result.get("total_articles", result["total"])
        extra = f" in {articles:,} articles" if articles != result["total"] else ""
        summary = (f"{result['total']:,} results{extra} for {query!r}, sorted by {result['query']['sort']}; "
                   f"showing {first:,}-{first + len(hits) - 1:,}.")
    if result.get("relaxed") and result["relaxed"]["dropped"]:
        summary += f" Not required: {' '.join(result['relaxed']['dropped'])} (--no-relax requires every word)."
    emit(fmt, hits, summary, first)


@click.command()
@click.argument("article_id")
@click.option("--limit", type=int, default=10, show_default=True, help="Related articles to show (1..50).")
@format_option
@index_dir_option
def related(article_id: str, limit: int, fmt: str, index_dir: Path) -> None:
    """Articles about the same subject as ARTICLE_ID (from its stored keywords), best first.

    The article itself and its reprints are left out.
    """
    from search_service.related import related as find_related

    result = run(lambda: find_related(open_index(index_dir), article_id, limit))
    hits = result["hits"]
    keywords = " ".join(result["keywords"]) or "(none)"
    if result.get("common_keywords"):  # in too many articles to mark a subject (related.py)
        keywords += f" (too common to count: {' '.join(result['common_keywords'])})"
    if hits:
        summary = (f"{result['total']:,} related to {article_id} ({result['title']}), keywords: {keywords}; "
                   f"showing 1-{len(hits)}.")
    else:
        summary = f"Nothing related to {article_id} ({result['title']}) shares its keywords: {keywords}."
    emit(fmt, hits, summary, 1)
