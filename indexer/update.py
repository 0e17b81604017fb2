"""Incremental changes to the live generation: upsert by id, delete by id, merge segments.

Every run takes the writer lock, writes into the live generation and ends in one Whoosh commit
(a new TOC file, renamed into place), so readers see all of a run's changes or none of them, and
a kill -9 before the commit leaves the previous commit intact. Files a commit supersedes are kept
for GRACE_SECONDS (service processes may still be reading the previous commit) and removed by a
later writer or `news-search gc`.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, LockError

from indexer import analysis, ingest
from indexer.build import analysed_documents, enter_phase, file_sha1, find_userdict
from indexer.enrich import content_hash
from indexer.errors import IndexDamaged, SchemaMismatch, WriterBusy
from indexer.model import Article, Problem
from indexer.phased_writer import PhasedWriter
from indexer.progress import PhaseLog, count_records
from indexer.schema import SCHEMA_VERSION
from indexer.verify import verify_generation
from indexer.store import TOC_RE, USERDICT_NAME, Generation, IndexStore, WriterLock, latest_toc, open_index

GRACE_SECONDS = 60.0
INDEX_NAME = "MAIN"
_SEGMENT_RE = re.compile(r"^(MAIN_[0-9a-z]+)\.")


@dataclass
class UpdateReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    deleted: int = 0
    not_found: int = 0
    duplicates: int = 0
    problems: list[Problem] = field(default_factory=list)
    duplicate_of: list[tuple[str, str]] = field(default_factory=list)  # (origin, id)
    not_found_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recovered_from: dict[str, Any] | None = None
    generation: str = ""
    documents: int = 0
    seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)
    phases: PhaseLog = field(default_factory=PhaseLog)

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.deleted

    @property
    def done(self) -> int:
        """Inputs handled so far (progress)."""
        return self.added + self.updated + self.unchanged + self.skipped + self.duplicates

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("added", "updated", "unchanged", "skipped", "deleted", "not_found", "duplicates")}


ProgressFn = Callable[[UpdateReport], None]


class GentleWriter(PhasedWriter):
    """A SegmentWriter whose commit leaves superseded files in place (see clean_superseded)."""

    def _write_toc(self, segments: list[Any]) -> None:
        TOC(self.schema, segments, self.generation).write(self.storage, self.indexname)


def open_writer(gen: Generation, wait: float, limitmb: int = 128,
                on_phase: Callable[[str], None] | None = None) -> tuple[Any, GentleWriter]:
    """Our writer lock is held already; Whoosh's own lock guards against writers that bypass it."""
    ix = open_index(gen)
    try:
        return ix, GentleWriter(ix, timeout=wait, limitmb=limitmb, on_phase=on_phase)
    except LockError:
        raise WriterBusy(
            f"the Whoosh write lock of {gen.path} is held by another process (one not using "
            f"news-search's writer lock); retry later or with a longer --wait"
        ) from None


def clean_superseded(path: Path, grace: float = GRACE_SECONDS) -> int:
    """Remove TOCs and segment files no commit of the last `grace` seconds uses, and leftovers of
    killed writers (temporary TOCs and pool directories). Call holding the writer lock. Returns bytes freed."""
    storage = FileStorage(str(path))
    names = os.listdir(path)
    now = time.time()
    latest = TOC._latest_generation(storage, INDEX_NAME)
    keep_tocs = {latest}
    for name in names:
        m = TOC_RE.match(name)
        if m and now - os.stat(path / name).st_mtime < grace:
            keep_tocs.add(int(m.group(1)))
    referenced: set[str] = set()
    for gen in keep_tocs:
        try:
            referenced |= {s.segment_id() for s in TOC.read(storage, INDEX_NAME, gen=gen).segments}
        except (OSError, ValueError):
            continue
    freed = 0
    for name in names:
        target = path / name
        toc = TOC_RE.match(name)
        seg = _SEGMENT_RE.match(name)
        stale = ((toc is not None and int(toc.group(1)) not in keep_tocs)
                 or (toc is None and name.startswith(f"_{INDEX_NAME}_") and ".toc." in name)  # temp TOC
                 or (seg is not None and seg.group(1) not in referenced)
                 or name.endswith(".tmp"))
        if not stale:
            continue
        try:
            if target.is_dir():
                freed += sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
                shutil.rmtree(target, ignore_errors=True)
            else:
                freed += target.stat().st_size
                target.unlink()
        except OSError:
            continue
    return freed


def live_files(path: Path) -> tuple[int, int]:
    """(segments, bytes) of the latest commit: its TOC and the files of its segments."""
    storage = FileStorage(str(path))
    toc = TOC.read(storage, INDEX_NAME)
    ids = {s.segment_id() for s in toc.segments}
    size = 0
    for name in os.listdir(path):
        seg = _SEGMENT_RE.match(name)
        if (seg and seg.group(1) in ids) or name == f"_{INDEX_NAME}_{toc.generation}.toc":
            size += (path / name).stat().st_size
    return len(toc.segments), size


def _live_generation(store: IndexStore, report: UpdateReport | None = None) -> Generation:
    gen = store.require_current()
    meta = gen.meta()
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise SchemaMismatch(
            f"the live generation {gen.name} was built with schema version {meta.get('schema_version')}, "
            f"this version writes {SCHEMA_VERSION}: run `news-search rebuild` instead of updating it"
        )
    if report is not None:
        # Keep the generation's own dictionary: every article of a generation is segmented alike.
        analysis.load_userdict(gen.path / USERDICT_NAME)
        if file_sha1(find_userdict(store.root, None)) not in (None, meta.get("userdict_sha1")):
            report.notes.append(
                f"{store.root / USERDICT_NAME} changed since {gen.name} was built; updated articles were "
                f"segmented with the dictionary of {gen.name}: run `news-search rebuild` to apply the new one")
    return gen


def _finish(store: IndexStore, gen: Generation, report: UpdateReport, writer: GentleWriter,
            grace: float, lock: WriterLock) -> None:
    if report.changed:
        lock.ensure_held()  # raises inside cancelled_on_error: the writer is cancelled, nothing commits
        if store.current() is None or store.current().name != gen.name:  # type: ignore[union-attr]
            raise WriterBusy(f"the live generation changed from {gen.name} while this update ran (another "
                             f"writer switched it): nothing was committed; run the update again")
        writer.commit()
    else:
        writer.cancel()
    clean_superseded(gen.path, grace)
    report.documents = sync_meta(store, gen, report.counts() if report.changed else None)
    report.generation = gen.name
    report.seconds = time.monotonic() - report.started


def sync_meta(store: IndexStore, gen: Generation, last_update: dict[str, int] | None = None) -> int:
    """Bring meta.json up to the latest commit (also repairs one a killed writer left behind).
    Returns the document count. Call holding the writer lock."""
    documents = open_index(gen).doc_count()
    meta = gen.meta()
    if last_update is not None or meta.get("documents") != documents or meta.get("toc") != latest_toc(gen.path):
        changes: dict[str, Any] = {"documents": documents}
        if last_update is not None:
            changes.update(updated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           last_update=last_update)
        store.update_meta(gen, **changes)
    return documents


def _delete_ids(writer: GentleWriter, searcher: Any, ids: Iterable[str], report: UpdateReport) -> None:
    for doc_id in dict.fromkeys(i.strip() for i in ids):
        if not doc_id:
            continue
        if searcher.document_number(id=doc_id) is None:
            report.not_found += 1
            report.not_found_ids.append(doc_id)
        else:
            writer.delete_by_term("id", doc_id, searcher=searcher)
            report.deleted += 1


@contextmanager
def cancelled_on_error(writer: GentleWriter) -> Iterator[None]:
    """Any error (Ctrl-C included) before the commit cancels the writer: nothing half-written stays."""
    try:
        yield
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise


def update(sources: list[Any], index_dir: str | os.PathLike, *, wait: float = 0.0, procs: int = 1,
           progress: ProgressFn | None = None, delete_ids: Iterable[str] = (),
           grace: float = GRACE_SECONDS) -> UpdateReport:
    """Upsert the articles of `sources` into the live generation by id; unchanged ones (same
    content hash) are left alone. The first of several inputs with one id wins, as in rebuild."""
    ingest.check_sources(sources)
    return apply_changes(index_dir, lambda _gen: (ingest.iter_inputs(sources), delete_ids, count_records(sources)),
                         wait=wait, procs=procs, progress=progress, grace=grace)


# Called holding the writer lock, with the live generation: what to upsert, what to delete and how
# many records that is (None when not known beforehand; progress only).
PlanFn = Callable[[Generation], tuple[Iterable[Article | Problem], Iterable[str], int | None]]


def apply_changes(index_dir: str | os.PathLike, plan: PlanFn, *, wait: float = 0.0, procs: int = 1,
                  progress: ProgressFn | None = None, grace: float = GRACE_SECONDS, action: str = "update",
                  after_commit: Callable[[Generation, UpdateReport], None] | None = None) -> UpdateReport:
    """The update path shared by `update` and `sync`: one writer lock, one commit. `after_commit`
    runs after the commit, still holding the lock (sync records its state there)."""
    store = IndexStore(index_dir)
    report = UpdateReport()
    with store.writer_lock(wait=wait, action=action) as lock:
        report.recovered_from = lock.recovered_from
        gen = _live_generation(store, report)
        enter_phase(report, progress, "read")
        items, delete_ids, total = plan(gen)
        ix, writer = open_writer(gen, wait, on_phase=lambda name: enter_phase(report, progress, name))
        with cancelled_on_error(writer):
            with ix.searcher() as searcher:
                existing: set[str] = set()
                pending = _changed_articles(items, searcher, existing, report)
                enter_phase(report, progress, "analyse", total)
                last = 0.0
                for doc in analysed_documents(pending, procs):
                    if isinstance(doc, Problem):
                        report.problems.append(doc)
                        report.skipped += doc.count
                        continue
                    doc.pop("__origin", None)
                    if doc["id"] in existing:
                        writer.update_document(**doc)
                        report.updated += 1
                    else:
                        writer.add_document(**doc)
                        report.added += 1
                    if progress and time.monotonic() - last > 0.2:
                        progress(report)
                        last = time.monotonic()
                _delete_ids(writer, searcher, delete_ids, report)
            if progress:
                progress(report)
            _finish(store, gen, report, writer, grace, lock)
        if after_commit is not None:
            after_commit(gen, report)
    report.phases.close()
    return report


def _changed_articles(items: Iterable[Article | Problem], searcher: Any, existing: set[str],
                      report: UpdateReport) -> list[Article | Problem]:
    """Compare before analysing: unchanged articles cost a lookup and a hash, not a segmentation."""
    seen: set[str] = set()
    out: list[Article | Problem] = []
    for item in items:
        if isinstance(item, Problem):
            out.append(item)
            continue
        if item.id in seen:
            report.duplicates += 1
            report.duplicate_of.append((item.origin, item.id))
            continue
        seen.add(item.id)
        docnum = searcher.document_number(id=item.id)
        if docnum is not None:
            if searcher.stored_fields(docnum).get("content_hash") == content_hash(item):
                report.unchanged += 1
                continue
            existing.add(item.id)
        out.append(item)
    return out


def delete(ids: Iterable[str], index_dir: str | os.PathLike, *, wait: float = 0.0,
           grace: float = GRACE_SECONDS) -> UpdateReport:
    store = IndexStore(index_dir)
    report = UpdateReport()
    with store.writer_lock(wait=wait, action="delete") as lock:
        report.recovered_from = lock.recovered_from
        gen = _live_generation(store)
        ix, writer = open_writer(gen, wait)
        with cancelled_on_error(writer):
            with ix.searcher() as searcher:
                _delete_ids(writer, searcher, ids, report)
            _finish(store, gen, report, writer, grace, lock)
    return report


def read_id_file(path: str | os.PathLike) -> list[str]:
    """One id per line; blank lines and lines starting with # are ignored."""
    text = Path(path).read_text(encoding="utf-8-sig")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def optimize(index_dir: str | os.PathLike, *, wait: float = 0.0, grace: float = GRACE_SECONDS) -> dict[str, Any]:
    """Merge the live generation's segments into one."""
    store = IndexStore(index_dir)
    with store.writer_lock(wait=wait, action="optimize") as lock:
        gen = _live_generation(store)
        segments_before, bytes_before = live_files(gen.path)
        started = time.monotonic()
        _ix, writer = open_writer(gen, wait, limitmb=256)
        with cancelled_on_error(writer):
            lock.ensure_held()
            writer.commit(optimize=True)
        segments_after, bytes_after = live_files(gen.path)
        clean_superseded(gen.path, grace)
        sync_meta(store, gen)
    return {
        "generation": gen.name,
        "segments_before": segments_before,
        "segments_after": segments_after,
        "bytes_before": bytes_before,
        "bytes_after": bytes_after,
        "seconds": round(time.monotonic() - started, 2),
        "recovered_from": lock.recovered_from,
    }


def collect_garbage(index_dir: str | os.PathLike, *, wait: float = 0.0, keep_previous: bool = True,
                    grace: float = GRACE_SECONDS) -> dict[str, Any]:
    """Remove unused generations (see IndexStore.collect) and superseded files of the live one."""
    store = IndexStore(index_dir)
    with store.writer_lock(wait=wait, action="gc") as lock:
        lock.ensure_held()
        removed, in_use = store.collect(keep_previous)
        live = store.current()
        freed = 0
        if live is not None and live.is_complete():
            freed = clean_superseded(live.path, grace)
            try:
                sync_meta(store, live)
            except IndexDamaged:
                pass  # gc still removes what it can; `check` names the damage
    previous = store.previous()
    return {"removed": removed, "in_use": in_use, "freed_bytes": freed, "recovered_from": lock.recovered_from,
            "current": live.name if live else None, "previous": previous.name if previous else None}


def rollback(index_dir: str | os.PathLike, *, wait: float = 0.0) -> dict[str, Any]:
    store = IndexStore(index_dir)
    with store.writer_lock(wait=wait, action="rollback") as lock:
        live, previous = store.rollback(before_switch=lock.ensure_held, verify=verify_generation)
    return {"current": live.name, "previous": previous.name, "built_at": live.meta().get("built_at"),
            "recovered_from": lock.recovered_from}
