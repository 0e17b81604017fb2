"""The indexer's commands of `news-search` (rebuild, stats; more in cli_admin).

They are collected on the ``admin`` group; the `news-search` console script is
search_service.cli.main, which adds them next to the search commands (the service sits above the
indexer, so the indexer never imports it). NewsSearchError becomes a one-line message there.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from indexer.source_options import db_source_options
from indexer.store import index_dir_option as index_dir_option  # noqa: PLC0414 (re-exported)


def fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


class Progress:
    """One status line on stderr, redrawn in place: articles indexed, skipped, articles/s."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()

    def line(self, report: Any) -> str:
        return (f"indexed {report.indexed:,}  skipped {report.skipped:,}  "
                f"duplicates {report.duplicates:,}  {report.rate:,.0f} articles/s")

    def __call__(self, report: Any) -> None:
        if self.enabled:
            line = self.line(report)
            click.echo(("\r" + line) if self.tty else line, err=True, nl=not self.tty)

    def done(self) -> None:
        if self.enabled and self.tty:
            click.echo("", err=True)


def print_build_report(report: Any) -> None:
    for problem in report.problems:
        click.echo(f"skipped {problem}", err=True)
    for origin, doc_id in report.duplicate_of:
        click.echo(f"duplicate {origin}: id {doc_id} was already indexed from an earlier input", err=True)
    click.echo(
        f"Indexed {report.indexed:,} articles, skipped {report.skipped:,}, duplicates {report.duplicates:,} "
        f"in {report.seconds:.1f}s ({report.indexed / max(report.seconds, 1e-9):,.0f} articles/s); "
        f"live generation {report.generation}."
    )


@click.group()
def admin() -> None:
    """The indexer's commands (search_service.cli.main adds each of them to `news-search`)."""


@admin.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=str))
@index_dir_option
@click.option("--userdict", type=click.Path(dir_okay=False, exists=True),
              help="jieba user dictionary (default: INDEX_DIR/userdict.txt when present).")
@click.option("--procs", type=click.IntRange(1, 64), default=None, help="Analysis processes (default: all cores).")
@click.option("--wait", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Seconds to wait for another writer to finish.")
@click.option("--quiet", is_flag=True, help="No progress line.")
@db_source_options
def rebuild(sources: tuple[str, ...], index_dir: Path, userdict: str | None, procs: int | None,
            wait: float, quiet: bool) -> None:
    """Build a new index generation from SOURCES (files or directories) and switch to it atomically.

    Formats: scraped page text (.txt), HTML article pages (.html), JSON Lines (.jsonl, .jsonl.gz).
    Bad files are skipped and reported; the live index is replaced only when the build completes.
    """
    from indexer.build import rebuild as do_rebuild

    progress = Progress(not quiet)
    try:
        report = do_rebuild(list(sources), index_dir, userdict=userdict, procs=procs, wait=wait,
                            progress=progress)
    except KeyboardInterrupt:
        raise click.ClickException("interrupted: the new generation was discarded; the live index is unchanged") from None
    finally:
        progress.done()
    print_build_report(report)


@admin.command()
@index_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(index_dir: Path, as_json: bool) -> None:
    """Documents, channels, date range, generation, size and build time of the live index."""
    from indexer.stats import index_stats

    data = index_stats(index_dir)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"index        {index_dir}")
    click.echo(f"generation   {data['generation']}")
    click.echo(f"built at     {data['built_at']}")
    click.echo(f"documents    {data['documents']:,}")
    dr = data["date_range"]
    click.echo(f"date range   {dr['from']} .. {dr['to']}")
    click.echo(f"size         {data['size_bytes'] / 1e6:,.1f} MB")
    for row in data.get("dictionaries", []):  # which user dictionary each kept generation used
        sha = f" (sha1 {row['userdict_sha1'][:10]})" if row["userdict_sha1"] else ""
        click.echo(f"userdict     {row['generation']} ({row['role']}): {row['userdict'] or 'none'}{sha}")
    click.echo("channels")
    for row in data["channels"]:
        click.echo(f"  {row['value'] or '(none)':<12} {row['count']:>8,}")
    for note in data.get("notes", []):
        click.echo(f"note: {note}")


def build_demo(index_dir: Path, force: bool) -> None:
    """`demo` before serving: build the bundled demo articles into INDEX_DIR (if missing or
    `force`), then print the stats (search_service.cli's `demo` serves them next)."""
    from indexer.build import rebuild as do_rebuild
    from indexer.demo_data import demo_sources, demo_userdict
    from indexer.store import IndexStore

    if force or IndexStore(index_dir).current() is None:
        print_build_report(do_rebuild(demo_sources(), index_dir, userdict=str(demo_userdict()), procs=1))
    click.get_current_context().invoke(stats, index_dir=index_dir, as_json=False)
