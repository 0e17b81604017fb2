"""Admin commands on `news-search`: update, delete, gc, rollback, check, optimize.

Thin edges over indexer.update and indexer.check; every failure the admin can cause (busy
writer, missing index, bad file) becomes a one-line message, not a traceback: NewsSearchError
in search_service.cli's group, file errors here. (`check-dict` shows query-time rules too, so it
lives in the service: search_service/cli_dict.py.)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from indexer import cli_xapian
from indexer.cli import Progress, admin, fail, index_dir_option, phase_summary
from indexer.source_options import db_source_options

admin.add_command(cli_xapian.shard)  # `news-search shard serve`

wait_option = click.option(
    "--wait", type=click.FloatRange(0), default=0.0, show_default=True,
    help="Seconds to wait for another writer (rebuild, update...) to finish.")


def _echo_recovered(info: dict[str, Any] | None) -> None:
    if info:
        click.echo(
            f"note: recovered a stale writer lock: pid {info.get('pid', '?')} on {info.get('host', '?')} "
            f"({info.get('action', 'write')}, since {info.get('since', '?')}) died without releasing it; "
            "what it had committed is intact, anything uncommitted was discarded", err=True)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.2f} MB"


class UpdateProgress(Progress):
    def line(self, r: Any) -> str:
        return f"added {r.added:,}  updated {r.updated:,}  unchanged {r.unchanged:,}  skipped {r.skipped:,}"


def _print_update(report: Any) -> None:
    for problem in report.problems:
        click.echo(f"skipped {problem}", err=True)
    for origin, doc_id in report.duplicate_of:
        click.echo(f"duplicate {origin}: id {doc_id} appeared earlier in this update; the first one was used", err=True)
    for doc_id in report.not_found_ids:
        click.echo(f"not found: {doc_id}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)


@admin.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=str))
@index_dir_option
@click.option("--delete", "delete_ids", multiple=True, metavar="ID", help="Also delete this article (repeatable).")
@click.option("--delete-from", type=click.Path(dir_okay=False, exists=True),
              help="Also delete the ids listed in this file (one per line), in the same commit.")
@click.option("--procs", type=click.IntRange(1, 64), default=1, show_default=True, help="Analysis processes.")
@wait_option
@click.option("--quiet", is_flag=True, help="No progress line.")
@db_source_options
def update(sources: tuple[str, ...], index_dir: Path, delete_ids: tuple[str, ...], delete_from: str | None,
           procs: int, wait: float, quiet: bool) -> None:
    """Add or replace the articles of SOURCES in the live index, by id, in one commit.

    Articles whose content is unchanged are left alone; bad inputs are skipped and reported.
    The running service sees the commit within a second or two.
    """
    from indexer.cli_xapian import shards
    from indexer.update import read_id_file, update as do_update

    specs = shards()
    progress = UpdateProgress(not quiet)
    try:
        ids = list(delete_ids) + (read_id_file(delete_from) if delete_from else [])
        if specs is not None:
            from indexer.xapian_update import update as shard_update

            report = shard_update(list(sources), specs, wait=wait, procs=procs, progress=progress, delete_ids=ids)
        else:
            report = do_update(list(sources), index_dir, wait=wait, procs=procs, progress=progress, delete_ids=ids)
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        progress.done()
        raise click.ClickException("interrupted before the commit: the live index is unchanged") from None
    except BaseException:
        progress.done()
        raise
    progress.done(report)
    _echo_recovered(report.recovered_from)
    _print_update(report)
    click.echo(
        f"added {report.added:,}, updated {report.updated:,}, unchanged {report.unchanged:,}, "
        f"skipped {report.skipped:,}, deleted {report.deleted:,}"
        + (f", not found {report.not_found:,}" if report.not_found else "")
        + (f", duplicates {report.duplicates:,}" if report.duplicates else "")
        + f" in {report.seconds:.1f}s; {report.generation} now holds {report.documents:,} articles.")
    if report.phases.seconds:
        click.echo(phase_summary(report))


@admin.command()
@click.argument("ids", nargs=-1, metavar="ID...")
@index_dir_option
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False, exists=True),
              help="Read ids from this file, one per line (# comments allowed).")
@wait_option
def delete(ids: tuple[str, ...], index_dir: Path, from_file: str | None, wait: float) -> None:
    """Delete articles by id from the live index (one commit)."""
    from indexer.update import delete as do_delete, read_id_file

    try:
        all_ids = list(ids) + (read_id_file(from_file) if from_file else [])
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(exc) from None
    if not all_ids:
        raise click.UsageError("give article ids to delete, or --from-file FILE")
    from indexer.cli_xapian import shards

    specs = shards()
    if specs is not None:
        from indexer.xapian_update import delete as shard_delete

        report = shard_delete(all_ids, specs, wait=wait)
    else:
        report = do_delete(all_ids, index_dir, wait=wait)
    _echo_recovered(report.recovered_from)
    _print_update(report)
    click.echo(f"deleted {report.deleted:,}, not found {report.not_found:,}; "
               f"{report.generation} now holds {report.documents:,} articles.")


@admin.command()
@index_dir_option
@wait_option
@click.option("--no-keep-previous", is_flag=True, help="Also remove the previous generation (no rollback after).")
@click.option("--grace", type=click.FloatRange(0), default=None, metavar="SECONDS",
              help="Keep files superseded by an update for this long, for services still reading the "
                   "commit before it [default: 60]; 0 when no service is running.")
def gc(index_dir: Path, wait: float, no_keep_previous: bool, grace: float | None) -> None:
    """Remove old and half-built generations and files superseded by updates.

    Keeps the live generation, the previous one (for rollback) and any a service still reads.
    """
    from indexer.update import GRACE_SECONDS, collect_garbage

    out = collect_garbage(index_dir, wait=wait, keep_previous=not no_keep_previous,
                          grace=GRACE_SECONDS if grace is None else grace)
    _echo_recovered(out["recovered_from"])
    click.echo(f"removed {len(out['removed'])} generation(s){': ' + ', '.join(out['removed']) if out['removed'] else ''}; "
               f"freed {_mb(out['freed_bytes'])} of superseded files in the live generation.")
    if out["in_use"]:
        click.echo(f"kept {', '.join(out['in_use'])}: still open in a running service; run gc again later.")
    click.echo(f"live {out['current'] or '(none)'}, previous {out['previous'] or '(none)'}.")


@admin.command()
@index_dir_option
@wait_option
def rollback(index_dir: Path, wait: float) -> None:
    """Make the previous generation live again (and keep the current one as previous)."""
    from indexer.update import rollback as do_rollback

    out = do_rollback(index_dir, wait=wait)
    _echo_recovered(out["recovered_from"])
    click.echo(f"live generation is now {out['current']} (built {out['built_at'] or '?'}); "
               f"{out['previous']} is kept as previous: `news-search rollback` again switches back.")


@admin.command()
@index_dir_option
@click.option("--sample", type=click.IntRange(0), default=50, show_default=True,
              help="How many articles to look up by their own title.")
@click.option("--full", is_flag=True, help="Also read every stored document and every index file to its end.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check(index_dir: Path, sample: int, full: bool, as_json: bool) -> None:
    """Verify the live index: document count, unique ids, searchable titles, folded text.

    Exits with status 1 when a problem is found.
    """
    from indexer.check import check_index
    from indexer.cli_xapian import run_check, shards

    specs = shards()
    if specs is not None:
        run_check(specs, sample, as_json)
        return
    out = check_index(index_dir, sample=sample, full=full)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for warning in out["warnings"]:
            click.echo(f"warning: {warning}")
        for problem in out["problems"]:
            click.echo(f"problem: {problem}")
        status = "ok" if not out["problems"] else f"{len(out['problems'])} problem(s)"
        click.echo(f"{status}: {out['generation']}, {out['documents']:,} documents, "
                   f"{out['sample_found']}/{out['sampled']} sampled articles found by their title.")
    if out["problems"]:
        click.get_current_context().exit(1)


@admin.command()
@index_dir_option
@wait_option
def optimize(index_dir: Path, wait: float) -> None:
    """Merge the live index's segments into one (fewer segments, faster searches)."""
    from indexer.update import optimize as do_optimize

    out = do_optimize(index_dir, wait=wait)
    _echo_recovered(out["recovered_from"])
    click.echo(f"{out['generation']}: {out['segments_before']} segment(s), {_mb(out['bytes_before'])} -> "
               f"{out['segments_after']} segment(s), {_mb(out['bytes_after'])} in {out['seconds']:.1f}s.")
