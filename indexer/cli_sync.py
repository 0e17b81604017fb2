"""`news-search sync SOURCE`: apply a CMS database's changes to the live index, once or every N seconds.

search_service.cli adds the command to the `news-search` group.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from indexer.cli import fail, index_dir_option
from indexer.cli_admin import UpdateProgress, _echo_recovered, _print_update, wait_option
from indexer.errors import NewsSearchError
from indexer.source_options import db_source_options


def summary(out: Any) -> str:
    up = out.update
    return (f"round {out.round} at {datetime.now(timezone.utc).strftime('%H:%M:%SZ')}: {out.rows:,} rows, "
            f"{out.new:,} new, {out.changed:,} changed, {out.unpublished:,} unpublished, {out.deleted:,} deleted; "
            f"index added {up.added:,}, updated {up.updated:,}, deleted {up.deleted:,}, unchanged {up.unchanged:,}, "
            f"skipped {up.skipped:,} in {up.seconds:.1f}s; {up.generation} holds {up.documents:,} articles.")


@click.command()
@click.argument("source")
@db_source_options
@index_dir_option
@click.option("--every", type=click.FloatRange(min=0.1), default=None, metavar="SECONDS",
              help="Run a round every SECONDS until interrupted (default: one round).")
@click.option("--rounds", type=click.IntRange(1), default=None, help="With --every: stop after this many rounds.")
@click.option("--procs", type=click.IntRange(1, 64), default=1, show_default=True, help="Analysis processes.")
@wait_option
@click.option("--quiet", is_flag=True, help="No progress line (the per-round summary is still printed).")
def sync(source: Any, index_dir: Path, every: float | None, rounds: int | None, procs: int, wait: float,
         quiet: bool) -> None:
    """Apply what changed in the database SOURCE since the last sync: new, edited, unpublished and
    deleted rows, in one commit per round through the writer lock (safe to kill at any point).

    SOURCE is a SQLAlchemy URL (mysql+pymysql://user@host/db) with --preset dedecms or --mapping FILE.
    """
    from indexer.source_db import DbSource
    from indexer.sync import sleep_until, sync_round

    if not isinstance(source, DbSource):
        raise click.UsageError(f"SOURCE must be a database URL such as mysql+pymysql://user@host/db, got {source!r}")
    done = 0
    while True:
        started = time.monotonic()
        progress = UpdateProgress(not quiet)
        try:
            out = sync_round(source, index_dir, wait=wait, procs=procs, progress=progress)
        except NewsSearchError as exc:
            progress.done()
            if every is None:
                raise fail(exc) from None
            click.echo(f"error: {exc}; retrying in {every:g}s", err=True)  # a database restart is no reason to stop
        except KeyboardInterrupt:
            progress.done()
            raise click.ClickException("interrupted before the commit: this round changed nothing") from None
        else:
            progress.done()
            _echo_recovered(out.update.recovered_from)
            _print_update(out.update)
            for note in out.notes:
                click.echo(f"note: {note}", err=True)
            click.echo(summary(out))
        done += 1
        if every is None or (rounds is not None and done >= rounds):
            return
        try:
            sleep_until(started + every)
        except KeyboardInterrupt:
            return
