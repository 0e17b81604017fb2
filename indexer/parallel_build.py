"""A rebuild's writing done in parallel: one Whoosh segment per worker process.

Why: in the one-writer build the worker processes only analysed, and the main process did all of
Whoosh's writing (add_document, then sorting and writing the postings at commit) on one core
while the other idled; that was about half of a rebuild. Here each of ``procs`` forked workers
analyses its share of the articles *and* writes them into its own segment of the new
generation, then that segment's n-gram and column arrays; the main process reads the sources,
drops duplicate ids and, once every worker is done, writes the TOC that lists the segments.

The shares are contiguous runs of the input (by the pre-count of records), and the segments go
into the TOC in that order, so every article keeps the document number the one-writer build gives
it: the same documents, statistics and tie order, in ``procs`` segments instead of one.

Each worker's input goes through a spool file (``InputSpool``) that the main process appends to
and the worker reads as it grows: the shares are contiguous, so the main process reads the whole
first share before the second worker gets anything, and a queue would hold that backlog in memory
(467 MB in the main process at 200k synthetic articles, half the archive at any size).

Crash safety is the one-writer build's: the main process holds the writer lock, the workers
write segment files into the new generation only, nothing is visible before the TOC, and any
failure (a worker dying included) raises, so ``rebuild`` removes the half-built generation.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from indexer import columns, enrich, ngrams
from indexer.errors import NewsSearchError
from indexer.model import Article, Problem
from indexer.segment_build import BuildSegmentWriter, supported
from indexer.store import close_inherited_locks

# Each worker's posting buffer (indexer/segment_build.py; beyond it the postings go to Whoosh's
# sorted runs on disk, as Whoosh's pool did at 128 MB of its own estimate, ~165 MB of memory):
# a half of the real corpus (~2.1 M postings, ~100k terms) fits.
LIMIT_MB = 192
POLL_SECONDS = 0.2  # how often the main process looks at the workers (and reports progress)
FLUSH_ITEMS = 32    # a spool is made readable at least every this many articles
WAIT_SECONDS = 0.005  # a worker that has read all its spool holds looks again after this


class InputSpool:
    """One worker's input: pickled records appended by the main process to a file in the new
    generation's directory (removed with it if the build fails), read by the worker up to the
    byte count the main process publishes after each flush (only whole records lie below it)."""

    def __init__(self, directory: str, ctx: Any) -> None:
        fd, self.path = tempfile.mkstemp(prefix="rebuild-input-", suffix=".tmp", dir=directory)
        self.out = os.fdopen(fd, "wb")
        self.readable = ctx.Value("q", 0, lock=False)
        self.pending = 0

    def put(self, item: Any) -> None:
        pickle.dump(item, self.out, protocol=pickle.HIGHEST_PROTOCOL)
        self.pending += 1
        if self.pending >= FLUSH_ITEMS:
            self.flush()

    def flush(self) -> None:
        if self.out.closed:
            return
        self.out.flush()
        self.readable.value = self.out.tell()
        self.pending = 0

    def close(self) -> None:
        """The end marker, then no more input."""
        self.put(None)
        self.flush()
        self.out.close()

    def remove(self) -> None:
        if not self.out.closed:
            self.out.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def spooled(path: str, readable: Any) -> Iterator[Any]:
    """The records of a spool as the main process publishes them, up to its end marker."""
    with open(path, "rb") as handle:
        while True:
            while handle.tell() >= readable.value:
                time.sleep(WAIT_SECONDS)
            item = pickle.load(handle)
            if item is None:
                return
            yield item


class BuildWorkerFailed(NewsSearchError):
    """A worker process of a parallel rebuild died or raised."""


def share(record: int, total: int, procs: int) -> int:
    """The worker that gets input record number `record` of ~`total`: contiguous runs."""
    return min(record * procs // max(total, 1), procs - 1)


def _worker(k: int, path: str, inbox: tuple[str, Any], outbox: Any, indexed: Any, skipped: Any) -> None:
    close_inherited_locks()
    try:
        ix = whoosh_index.open_dir(path)
        writer = (BuildSegmentWriter if supported(ix.schema) else SegmentWriter)(ix, _lk=False, limitmb=LIMIT_MB)
        problems: list[Problem] = []
        for item in spooled(*inbox):
            doc = enrich.analyse_item(item)  # looked up here: tests replace it
            if isinstance(doc, Problem):
                problems.append(doc)
                skipped.value += doc.count
                continue
            doc.pop("__origin", None)
            writer.add_document(**doc)
            indexed.value += 1
            if indexed.value == 1:
                outbox.put(("analyse", k))  # wakes the parent: progress shows the first article at once
        outbox.put(("write", k))
        if not writer._added:
            writer._close_segment()
            outbox.put(("done", k, None, problems))
            return
        segment = writer._finalize_segment()  # not _finish(): it would remove the shared temp dir
        outbox.put(("columns", k))
        ngrams.write_missing(ix.storage, writer.schema, [segment])
        columns.write_missing(ix.storage, writer.schema, [segment])
        outbox.put(("done", k, segment, problems))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the build
        outbox.put(("failed", k, f"{type(exc).__name__}: {exc}"))
        raise


class SegmentWorkers:
    """``procs`` forked workers writing one segment each into the Whoosh index at `path`."""

    def __init__(self, path: str, procs: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.outbox = ctx.Queue()
        self.inboxes = [InputSpool(path, ctx) for _ in range(procs)]
        self.indexed = [ctx.Value("q", 0, lock=False) for _ in range(procs)]
        self.skipped = [ctx.Value("q", 0, lock=False) for _ in range(procs)]
        self.procs = [ctx.Process(target=_worker, daemon=True,
                                  args=(k, path, (self.inboxes[k].path, self.inboxes[k].readable), self.outbox, self.indexed[k], self.skipped[k]))
                      for k in range(procs)]
        self.state = ["analyse"] * procs
        self.segments: list[Any] = [None] * procs
        self.problems: list[Problem] = []
        for proc in self.procs:
            proc.start()

    def send(self, k: int, item: Article) -> None:
        self.inboxes[k].put(item)

    def flush_inputs(self) -> None:
        for inbox in self.inboxes:
            inbox.flush()

    def close_inputs(self) -> None:
        for inbox in self.inboxes:
            inbox.close()

    def counts(self) -> tuple[int, int]:
        """(articles indexed, records skipped) by the workers so far."""
        return sum(v.value for v in self.indexed), sum(v.value for v in self.skipped)

    def poll(self) -> None:
        """Take the workers' messages (waiting up to POLL_SECONDS); raise if one failed or died."""
        try:
            message = self.outbox.get(timeout=POLL_SECONDS)
        except queue.Empty:
            message = None
        while message is not None:
            kind, k = message[0], message[1]
            if kind == "failed":
                raise BuildWorkerFailed(f"rebuild worker {k + 1} failed: {message[2]}; the live index is unchanged")
            self.state[k] = kind
            if kind == "done":
                self.segments[k], problems = message[2], message[3]
                self.problems.extend(problems)
            try:
                message = self.outbox.get_nowait()
            except queue.Empty:
                message = None
        for k, proc in enumerate(self.procs):
            if self.state[k] != "done" and proc.exitcode is not None:
                raise BuildWorkerFailed(f"rebuild worker {k + 1} exited with code {proc.exitcode} before "
                                        f"finishing its segment; the live index is unchanged")

    def all_reached(self, states: tuple[str, ...]) -> bool:
        return all(s in states for s in self.state)

    def finish(self) -> list[Any]:
        for proc in self.procs:
            proc.join()
        for inbox in self.inboxes:
            inbox.remove()
        return [s for s in self.segments if s is not None]

    def stop(self) -> None:
        """Cancel: end the workers still running (by their process objects) and drop queued input."""
        for proc in self.procs:
            if proc.exitcode is None:
                proc.terminate()
        for proc in self.procs:
            proc.join(timeout=5)
        for inbox in self.inboxes:
            inbox.remove()


def write_in_parts(path: str, items: Any, total: int, procs: int, report: Any,
                   progress: Any, enter_phase: Any) -> list[Any]:
    """Feed `items` (articles and problems, in input order) to `procs` segment workers; return
    their segments, in input order, for `writer` (a PhasedWriter holding the index's lock) to
    commit with ``commit_segments``."""
    workers = SegmentWorkers(path, procs)
    try:
        seen: set[str] = set()
        last = 0.0

        def tell() -> None:
            report.indexed, worker_skipped = workers.counts()
            report.skipped = sum(p.count for p in report.problems) + worker_skipped
            if progress:
                progress(report)

        for record, item in enumerate(items):
            if isinstance(item, Problem):
                report.problems.append(item)
            elif item.id in seen:
                report.duplicates += 1
                report.duplicate_of.append((item.origin, item.id))
            else:
                seen.add(item.id)
                workers.send(share(record, total, procs), item)
            now = time.monotonic()
            if now - last > POLL_SECONDS:
                workers.flush_inputs()
                tell()
                last = now
        workers.close_inputs()
        phase = "analyse"
        while not workers.all_reached(("done",)):
            workers.poll()
            tell()
            if phase == "analyse" and workers.all_reached(("write", "columns", "done")):
                enter_phase(report, progress, "merge")
                enter_phase(report, progress, phase := "write")
            if phase == "write" and workers.all_reached(("columns", "done")):
                enter_phase(report, progress, phase := "columns")
        segments = workers.finish()
    except BaseException:
        workers.stop()
        raise
    report.problems.extend(workers.problems)
    report.indexed = workers.counts()[0]
    report.skipped = sum(p.count for p in report.problems)
    if progress:
        progress(report)
    if phase == "analyse":
        enter_phase(report, progress, "merge")
        enter_phase(report, progress, "write")
    if phase != "columns":
        enter_phase(report, progress, "columns")
    return segments
