"""`news-search report`: what readers searched over a period, for editors, from the query log.

Sections: ``zero`` (queries whose last search found nothing), ``top`` (most searched), ``slow``
(slowest answer at least ``--slow-ms``), ``relaxed`` and ``corrected`` (answers the search widened
or corrected). Each row: the query, searches, hits of its last search, slowest and mean time,
and how many searches were relaxed, corrected or timed out. As a table, CSV (UTF-8 BOM by
default) or JSON.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click

from indexer.store import index_dir_option
from search_service.cli_search import fit, write_bytes
from search_service.querylog import FILE_NAME, QueryLog

SECTIONS = ("zero", "top", "slow", "relaxed", "corrected")
TITLES = {"zero": "Zero-result queries", "top": "Top queries", "slow": "Slow queries",
          "relaxed": "Relaxed queries", "corrected": "Corrected queries"}
COLUMNS = ("q", "searches", "hits", "max_ms", "mean_ms", "relaxed", "corrected", "timed_out")


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-day rows -> one row per query over the period (hits: of the latest day's last search)."""
    out: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["day"]):
        agg = out.setdefault(row["q"], {"q": row["q"], "searches": 0, "hits": 0, "max_ms": 0.0, "ms_sum": 0.0,
                                        "relaxed": 0, "corrected": 0, "timed_out": 0})
        agg["searches"] += row["n"]
        agg["hits"] = row["hits"]
        agg["max_ms"] = max(agg["max_ms"], row["ms_max"] or 0.0)
        agg["ms_sum"] += row["ms_sum"] or 0.0
        agg["relaxed"] += row["relaxed"]
        agg["corrected"] += row["corrected"]
        agg["timed_out"] += row["timeouts"]
    for agg in out.values():
        agg["mean_ms"] = round(agg.pop("ms_sum") / agg["searches"], 1) if agg["searches"] else 0.0
        agg["max_ms"] = round(agg["max_ms"], 1)
    return list(out.values())


def sections(queries: list[dict[str, Any]], wanted: tuple[str, ...], limit: int, slow_ms: float,
             min_count: int) -> dict[str, list[dict[str, Any]]]:
    often = [q for q in queries if q["searches"] >= min_count]
    by_count = sorted(often, key=lambda q: (-q["searches"], q["q"]))
    pick = {
        "zero": [q for q in by_count if q["hits"] == 0],
        "top": by_count,
        "slow": sorted((q for q in often if q["max_ms"] >= slow_ms or q["timed_out"]),
                       key=lambda q: (-q["max_ms"], q["q"])),
        "relaxed": [q for q in by_count if q["relaxed"]],
        "corrected": [q for q in by_count if q["corrected"]],
    }
    return {name: pick[name][:limit] for name in wanted}


def period(days: int, date_from: str | None, date_to: str | None) -> tuple[date, date]:
    def day(value: str, option: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(f"must be YYYY-MM-DD, got {value!r}", param_hint=option) from None

    today = datetime.now(timezone.utc).date()
    until = day(date_to, "--to") if date_to else today
    since = day(date_from, "--from") if date_from else until - timedelta(days=days - 1)
    if since > until:
        raise click.BadParameter(f"{since} is after --to {until}", param_hint="--from")
    return since, until


def write_table(result: dict[str, Any]) -> None:
    click.echo(f"Query log {result['from']} .. {result['to']}: {result['queries']:,} distinct queries, "
               f"{result['searches']:,} searches.")
    for name, rows in result["sections"].items():
        click.echo(f"\n{TITLES[name]} ({len(rows)})")
        if not rows:
            click.echo("  (none)")
            continue
        click.echo(f"  {fit('query', 30)}  {'searches':>8}  {'hits':>6}  {'max ms':>8}  {'mean ms':>8}  "
                   f"{'relaxed':>7}  {'corrected':>9}  {'timeouts':>8}")
        for r in rows:
            click.echo(f"  {fit(r['q'], 30)}  {r['searches']:>8,}  {r['hits']:>6,}  {r['max_ms']:>8.1f}  "
                       f"{r['mean_ms']:>8.1f}  {r['relaxed']:>7}  {r['corrected']:>9}  {r['timed_out']:>8}")


def write_csv(result: dict[str, Any], bom: bool, output: Path | None) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", *COLUMNS))
    for name, rows in result["sections"].items():
        for r in rows:
            writer.writerow((name, *(r[c] for c in COLUMNS)))
    write_bytes(buffer.getvalue().encode("utf-8-sig" if bom else "utf-8"), output)


@click.command()
@index_dir_option
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), envvar="NEWS_SEARCH_QUERY_LOG_PATH",
              help=f"Query log file (default: INDEX_DIR/{FILE_NAME}).")
@click.option("--days", type=click.IntRange(1, 3660), default=7, show_default=True,
              help="Period: the last N days (UTC), up to --to.")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="First day of the period (instead of --days).")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Last day of the period (default: today).")
@click.option("--section", "wanted", type=click.Choice(SECTIONS), multiple=True,
              help="Sections to show (repeatable; default: all).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="Rows per section.")
@click.option("--slow-ms", type=click.FloatRange(0), default=500.0, show_default=True,
              help="A query is slow when its slowest search took at least this long (or timed out).")
@click.option("--min-count", type=click.IntRange(1), default=1, show_default=True,
              help="Leave out queries searched fewer times in the period.")
@click.option("--format", "fmt", type=click.Choice(("table", "csv", "json")), default="table", show_default=True)
@click.option("--bom/--no-bom", default=True, show_default=True, help="CSV: start with a UTF-8 BOM (for Excel).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="CSV: write to this file.")
def report(index_dir: Path, log_path: Path | None, days: int, date_from: str | None, date_to: str | None,
           wanted: tuple[str, ...], limit: int, slow_ms: float, min_count: int, fmt: str, bom: bool,
           output: Path | None) -> None:
    """What readers searched: zero-result, top, slow, relaxed and corrected queries over a period.

    \b
    Examples:
      news-search report --days 30
      news-search report --from 2026-01-01 --to 2026-01-31 --section zero --format csv > zero.csv
    """
    path = log_path or index_dir / FILE_NAME
    if not path.is_file():
        raise click.ClickException(f"no query log at {path}: the service writes one while QUERY_LOG is on "
                                   "(the default); give --log FILE if it is elsewhere")
    since, until = period(days, date_from, date_to)
    qlog = QueryLog(path)
    try:
        queries = aggregate(qlog.rows_between(since, until))
    finally:
        qlog.close()
    result = {"from": since.isoformat(), "to": until.isoformat(), "queries": len(queries),
              "searches": sum(q["searches"] for q in queries),
              "sections": sections(queries, wanted or SECTIONS, limit, slow_ms, min_count)}
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        write_csv(result, bom, output)
    else:
        write_table(result)
