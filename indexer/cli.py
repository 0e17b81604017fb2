"""The indexer's commands of `news-search` (rebuild, stats; more in cli_admin).

They are collected on the ``admin`` group; the `news-search` console script is
search_service.cli.main, which adds them next to the search commands (the service sits above the
indexer, so the indexer never imports it). NewsSearchError becomes a one-line message there.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from indexer.progress import phase_rate
from indexer.source_options import db_source_options
from indexer.store import index_dir_option as index_dir_option  # noqa: PLC0414 (re-exported)


def fail(exc: Exception) -> click.ClickException:
    if isinstance(exc, OSError) and exc.strerror:
        # A full disk or read-only index: one line naming the file, not Python's "[Errno 28] ...".
        where = f": {exc.filename}" if exc.filename else ""
        return click.ClickException(f"{exc.strerror}{where}; nothing was committed or switched, the live "
                                    f"index is as it was before this command")
    return click.ClickException(str(exc))


class Progress:
    """Progress of a rebuild or update on stderr, phase by phase (read, analyse, merge, write,
    columns, switch; see indexer.progress).

    On a terminal: click's progress bar (total, percentage, ETA, rate) for the phases with a total.
    Elsewhere (logs, CI): a plain line every LINE_EVERY seconds with the same facts, and one line
    as each phase ends. The phase-end rate is the one the summary prints (same clock, same count).
    """

    LINE_EVERY = 5.0

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.phase = ""
        self.bar: Any = None
        self.shown = 0
        self.last_line = 0.0

    def line(self, report: Any) -> str:
        return f"indexed {report.indexed:,}  skipped {report.skipped:,}  duplicates {report.duplicates:,}"

    def __call__(self, report: Any) -> None:
        if not self.enabled:
            return
        log = report.phases
        if log.current != self.phase:
            self._end_phase(report)
            self._start_phase(report)
        self._show(report)

    def _start_phase(self, report: Any) -> None:
        log = report.phases
        self.phase, self.shown, self.last_line = log.current, 0, time.monotonic()
        if not self.phase:
            return
        if self.tty and log.total:
            self.bar = click.progressbar(length=log.total, label=f"{self.phase:<8}", file=sys.stderr,
                                         show_eta=False, show_percent=True, show_pos=True, width=30,
                                         item_show_func=lambda rate: rate)
            self.bar.__enter__()
        elif not self.tty:
            total = f" of ~{log.total:,}" if log.total else ""
            click.echo(f"[{self.phase}] started{total}", err=True)

    def _show(self, report: Any) -> None:
        log = report.phases
        if not self.phase or not log.total:
            return
        done = report.done
        rate = phase_rate(done, log.elapsed())
        total = max(log.total, done)  # the pre-count is an estimate
        # Our own ETA (click's averages its last few redraws and jumps wildly at the start).
        facts = (f"{rate:,.0f} articles/s  ETA {_clock((total - done) / rate if rate > 0 else 0.0)}  "
                 f"elapsed {_clock(log.elapsed())}  {self.line(report)}")
        if self.bar is not None:
            self.bar.length = total
            self.bar.update(done - self.shown, facts)
            self.shown = done
        elif not self.tty and time.monotonic() - self.last_line >= self.LINE_EVERY:
            self.last_line = time.monotonic()
            click.echo(f"[{self.phase}] {done:,}/{total:,} ({100.0 * done / total:.1f}%)  {facts}", err=True)

    def _end_phase(self, report: Any) -> None:
        if not self.phase:
            return
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None
        seconds = report.phases.seconds.get(self.phase, 0.0)
        click.echo(f"[{self.phase}] done in {seconds:.1f}s{_phase_rate_text(report, self.phase)}", err=True)
        self.phase = ""

    def done(self, report: Any = None) -> None:
        if self.enabled and report is not None:
            report.phases.close()
            self._end_phase(report)
        elif self.bar is not None:
            self.bar.render_finish()
            self.bar = None


def _clock(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _phase_rate_text(report: Any, phase: str) -> str:
    """` (19,547 articles, 215 articles/s)` for the analysis phase; empty for the others."""
    if phase != "analyse":
        return ""
    seconds = report.phases.seconds.get(phase, 0.0)
    return f" ({report.done:,} articles, {phase_rate(report.done, seconds):,.0f} articles/s)"


def phase_summary(report: Any) -> str:
    """`phases: read 0.0s, analyse 3.6s (300 articles, 83 articles/s), ...` (same text as progress)."""
    return "phases: " + ", ".join(f"{name} {sec:.1f}s{_phase_rate_text(report, name)}"
                                  for name, sec in report.phases.seconds.items())


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
    if report.phases.seconds:
        click.echo(phase_summary(report))


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
@click.option("--allow-shrink", is_flag=True,
              help="Switch even when the new index holds under half the live one's articles.")
@db_source_options
def rebuild(sources: tuple[str, ...], index_dir: Path, userdict: str | None, procs: int | None,
            wait: float, quiet: bool, allow_shrink: bool) -> None:
    """Build a new index generation from SOURCES (files or directories) and switch to it atomically.

    Formats: scraped page text (.txt), HTML article pages (.html), JSON Lines (.jsonl, .jsonl.gz).
    Bad files are skipped and reported; the live index is replaced only when the build completes.
    """
    from indexer.build import rebuild as do_rebuild
    from indexer.cli_xapian import shards

    specs = shards()
    progress = Progress(not quiet)
    try:
        if specs is not None:
            from indexer.xapian_store import rebuild as shard_rebuild

            report = shard_rebuild(list(sources), specs, userdict=userdict, procs=procs, wait=wait,
                                   progress=progress, allow_shrink=allow_shrink)
        else:
            report = do_rebuild(list(sources), index_dir, userdict=userdict, procs=procs, wait=wait,
                                progress=progress, allow_shrink=allow_shrink)
    except KeyboardInterrupt:
        progress.done()
        raise click.ClickException("interrupted: the new generation was discarded; the live index is unchanged") from None
    except BaseException:
        progress.done()
        raise
    progress.done(report)
    print_build_report(report)
    if specs is not None:
        click.echo(f"{len(specs)} shard(s): {', '.join(specs)}")


@admin.command()
@index_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(index_dir: Path, as_json: bool) -> None:
    """Documents, channels, date range, generation, size and build time of the live index."""
    from indexer.cli_xapian import run_stats, shards
    from indexer.stats import index_stats

    specs = shards()
    if specs is not None:
        run_stats(specs, as_json)
        return
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
        # The demo's dictionary goes where rebuilds look for one, so `stats` has nothing to warn about.
        target = Path(index_dir) / "userdict.txt"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(demo_userdict().read_bytes())
        print_build_report(do_rebuild(demo_sources(), index_dir, userdict=str(demo_userdict()), procs=1))
    click.get_current_context().invoke(stats, index_dir=index_dir, as_json=False)
