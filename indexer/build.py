"""Rebuild: sources -> parse -> normalise -> analyse (worker processes) -> write a new generation.

The new generation becomes live only after Whoosh committed it and its meta.json is written;
any failure or interruption removes the half-built generation and leaves the live one alone.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index

from indexer import analysis
from indexer import enrich
from indexer.enrich import analyse_item as _analyse
from indexer.errors import IndexDamaged, NothingIndexed, ShrinkRefused
from indexer import ingest
from indexer.model import Article, Problem
from indexer.parallel_build import write_in_parts
from indexer.phased_writer import PhasedWriter
from indexer.progress import PhaseLog, count_records
from indexer.schema import SCHEMA_VERSION, build_schema
from indexer.store import USERDICT_NAME, Generation, IndexStore, close_inherited_locks, open_index, pin_generation

ProgressFn = Callable[["BuildReport"], None]


@dataclass
class BuildReport:
    indexed: int = 0
    skipped: int = 0
    duplicates: int = 0
    problems: list[Problem] = field(default_factory=list)
    duplicate_of: list[tuple[str, str]] = field(default_factory=list)  # (origin, id)
    generation: str = ""
    seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)
    phases: PhaseLog = field(default_factory=PhaseLog)

    @property
    def done(self) -> int:
        """Input records handled so far (what progress counts against the pre-count)."""
        return self.indexed + self.skipped + self.duplicates

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.indexed / elapsed if elapsed > 0 else 0.0


def find_userdict(index_dir: Path, explicit: str | os.PathLike | None) -> Path | None:
    if explicit:
        return Path(explicit)
    candidate = Path(index_dir) / USERDICT_NAME
    return candidate if candidate.is_file() else None


def enter_phase(report: Any, progress: Callable[[Any], None] | None, name: str,
                total: int | None = None) -> None:
    """Start phase `name` of a build or update and tell the progress callback."""
    report.phases.enter(name, total)
    if progress:
        progress(report)


def file_sha1(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return hashlib.sha1(path.read_bytes()).hexdigest()


def analysed_documents(items: Iterable[Article | Problem], procs: int) -> Iterator[dict[str, Any] | Problem]:
    """Analyse in `procs` worker processes (forked after jieba loaded, so they share it)."""
    analysis.ensure_initialised()
    if procs <= 1:
        yield from map(_analyse, items)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(procs, initializer=close_inherited_locks) as pool:
        yield from pool.imap(_analyse, items, chunksize=8)


def write_documents(writer: Any, docs: Iterable[dict[str, Any] | Problem], report: BuildReport,
                    progress: ProgressFn | None, seen: set[str] | None = None) -> None:
    seen = set() if seen is None else seen
    last = 0.0
    for doc in docs:
        if isinstance(doc, Problem):
            report.problems.append(doc)
            report.skipped += doc.count
        else:
            origin = doc.pop("__origin", "")
            if doc["id"] in seen:
                report.duplicates += 1
                report.duplicate_of.append((origin, doc["id"]))
            else:
                seen.add(doc["id"])
                writer.add_document(**doc)
                report.indexed += 1
        now = time.monotonic()
        if progress and now - last > 0.2:
            progress(report)
            last = now
    if progress:
        progress(report)


def rebuild(sources: list[Any], index_dir: str | os.PathLike, *, userdict: str | None = None,
            procs: int | None = None, wait: float = 0.0, progress: ProgressFn | None = None,
            keep_previous: bool = True, allow_shrink: bool = False) -> BuildReport:
    ingest.check_sources(sources)
    store = IndexStore(index_dir)
    store.root.mkdir(parents=True, exist_ok=True)
    udict = find_userdict(store.root, userdict)
    if udict is not None:
        analysis.read_userdict(udict)  # not UTF-8 or unreadable: a clear error, not jieba's traceback
        analysis.load_userdict(udict)
    procs = procs or os.cpu_count() or 1
    report = BuildReport()
    with store.writer_lock(wait=wait, action="rebuild") as lock:
        gen = store.new_generation()
        pin = pin_generation(gen)  # a concurrent gc (lock file replaced) must not remove it
        try:
            _build_generation(store, gen, sources, udict, procs, report, progress)
            _check_before_switch(store, gen, report, allow_shrink)
            lock.ensure_held()
        except BaseException:
            shutil.rmtree(gen.path, ignore_errors=True)
            raise
        finally:
            if pin is not None:
                os.close(pin)
        enter_phase(report, progress, "switch")
        store.switch_to(gen)
        _record_database_sources(store, gen, sources)
        store.gc(keep_previous=keep_previous)
    report.phases.close()
    report.generation = gen.name
    report.seconds = time.monotonic() - report.started
    return report


def _check_before_switch(store: IndexStore, gen: Generation, report: BuildReport, allow_shrink: bool) -> None:
    """Refuse to make `gen` live when it does not verify, or holds under half the live articles."""
    from indexer.verify import verify_generation

    problems = verify_generation(gen)
    if problems:
        raise IndexDamaged(f"the new generation {gen.name} does not verify ({problems[0]}); it was removed "
                           f"and the live index is unchanged")
    live = store.current()
    if live is None or allow_shrink:
        return
    try:
        live_docs = open_index(live).doc_count()
    except IndexDamaged:
        return  # replacing a damaged live generation is what a rebuild is for
    if report.indexed * 2 < live_docs:
        raise ShrinkRefused(
            f"the new generation holds {report.indexed:,} articles, under half of the {live_docs:,} in the live "
            f"generation {live.name}: refusing to switch (a missing or truncated source?). The new generation "
            f"was removed and {live.name} stays live. Check the sources, or rerun with --allow-shrink to "
            f"make the smaller index live")


def _record_database_sources(store: IndexStore, gen: Generation, sources: list[Any]) -> None:
    """A rebuild from a database is the first sync round: `sync` then applies only later changes."""
    from indexer.source_db import DbSource

    db_sources = [s for s in sources if isinstance(s, DbSource)]
    if db_sources:
        from indexer.sync_state import record_rebuild

        for source in db_sources:
            record_rebuild(store.root, gen, source)


def _build_generation(store: IndexStore, gen: Generation, sources: list[Any], udict: Path | None,
                      procs: int, report: BuildReport, progress: ProgressFn | None) -> None:
    enter_phase(report, progress, "read")
    total = count_records(sources)
    ix = whoosh_index.create_in(str(gen.path), build_schema())
    writer = PhasedWriter(ix, limitmb=256, on_phase=lambda name: enter_phase(report, progress, name))
    segments = None
    try:
        enter_phase(report, progress, "analyse", total)
        if procs > 1 and total and total >= procs:
            # One segment per worker process, analysed and written in parallel.
            analysis.ensure_initialised()  # before the fork: the workers share jieba's dictionary
            enrich.keyword_idf()  # and the keyword IDF table (loading it: ~1.2 CPU-s per process)
            segments = write_in_parts(str(gen.path), ingest.iter_inputs(sources), total, procs, report,
                                      progress, enter_phase)
        else:
            write_documents(writer, analysed_documents(ingest.iter_inputs(sources), procs), report, progress)
    except BaseException:
        writer.cancel()
        raise
    if report.indexed == 0:
        writer.cancel()
        # The reasons go into the message itself: the caller never gets the report to print them.
        shown = [f"\n  skipped {p}" for p in report.problems[:10]]
        if len(report.problems) > 10:
            shown.append(f"\n  ... and {len(report.problems) - 10} more")
        why = (f"{report.skipped} input(s) skipped:{''.join(shown)}" if report.problems
               else f"no supported input files found (expected {ingest.SUPPORTED})")
        raise NothingIndexed(
            f"nothing was indexed from {', '.join(map(str, sources))}; the live index is unchanged. {why}"
        )
    if segments is None:
        writer.commit()
    else:
        writer.commit_segments(segments)
    if udict is not None:
        # Queries must be segmented with the dictionary the generation was built with.
        shutil.copyfile(udict, gen.path / USERDICT_NAME)
    store.finish_generation(gen, {
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(time.monotonic() - report.started, 2),  # for /metrics
        "schema_version": SCHEMA_VERSION,
        "documents": report.indexed,
        "skipped": report.skipped,
        "duplicates": report.duplicates,
        "sources": [getattr(s, "label", None) or str(Path(s).resolve()) for s in sources],
        "userdict_sha1": file_sha1(udict),
        "userdict": str(udict.resolve()) if udict is not None else None,
    })
