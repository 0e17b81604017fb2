"""Writing the archive to Xapian shards: the writer session (locks) and rebuild.

A rebuild writes every article as a new generation into every shard and switches only when all
of them committed it (docs/xapian.md, "Generations"):

- local shard: a new database directory SPEC/gen-NNNNNN; the switch rewrites the stub SPEC/XAPIANDB;
- remote shard: the documents go into the one served database with the term XV<new>, and the
  metadata `news_search:pending` names it; the switch sets `news_search:generation`; the documents
  of older generations are deleted only after every shard switched.

Every shard database also holds one filler document (xapian_doc.FILLER_TERM), so that XV<live> is
never in every document once the older generations are deleted (a Xapian 1.4 matcher failure).

A failure before the switch removes what the rebuild wrote (local: the directories; remote: the
documents of the new generation, or the next writer does it) and leaves every shard serving the
live generation. Articles are routed by shard_of(id, number of shards).
"""
from __future__ import annotations

import itertools
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import xapian

from indexer import analysis, ingest
from indexer import xapian_doc as xd
from indexer.build import BuildReport, ProgressFn, analysed_documents, enter_phase
from indexer.errors import BadShards, NothingIndexed, ShardUnavailable, ShrinkRefused, WriterBusy
from indexer.model import Problem
from indexer.progress import count_records
from indexer.store import WriterLock
from indexer.xapian_reprints import Entry, group_keys

LOCK_NAME = "writer.lock"


@dataclass
class Shard:
    index: int
    spec: str
    db: Any = None  # the writable live database (local: through the stub)
    lock: WriterLock | None = None
    target: Any = None  # where a rebuild writes (local: the new generation's database)

    @property
    def local(self) -> bool:
        return xd.is_local(self.spec)

    def meta(self, key: str) -> str:
        return self.db.get_metadata(key).decode("utf-8")

    @property
    def generation(self) -> str:
        return self.meta(xd.META_GENERATION)


@dataclass
class Session:
    """Every shard open for writing, each locked; `wait` seconds for a busy one."""

    specs: list[str]
    action: str = "write"
    wait: float = 0.0
    timeout_ms: int = xd.DEFAULT_TIMEOUT_MS
    shards: list[Shard] = field(default_factory=list)

    def open(self) -> Session:
        try:
            for i, spec in enumerate(self.specs):
                shard = Shard(i, spec)
                self.shards.append(shard)
                if shard.local:
                    shard.lock = WriterLock(Path(spec) / LOCK_NAME, wait=self.wait, action=self.action).acquire()
                shard.db = self._open_db(spec)
        except BaseException:
            self.close()
            raise
        return self

    def _open_db(self, spec: str) -> Any:
        deadline = time.monotonic() + self.wait
        while True:
            try:
                return xd.open_writable(spec, self.timeout_ms)
            except xapian.DatabaseLockError:
                if time.monotonic() >= deadline:
                    raise WriterBusy(
                        f"another writer holds shard {spec} (a rebuild, update or delete from another machine "
                        f"or process); waited {self.wait:g}s. Wait for it to finish or retry with a longer "
                        f"--wait") from None
                time.sleep(0.2)

    def ensure_held(self) -> None:
        for shard in self.shards:
            if shard.lock is not None:
                shard.lock.ensure_held()

    def close(self) -> None:
        for shard in self.shards:
            for db in (shard.target, shard.db):
                if db is not None:
                    try:
                        db.close()
                    except xapian.Error:
                        pass
            shard.target = shard.db = None
            if shard.lock is not None:
                shard.lock.release()
                shard.lock = None

    def live_generation(self) -> str:
        """The generation every shard serves; a clear error when they disagree or were built for
        another number of shards (the routing would then send ids to the wrong shard)."""
        gens = {s.spec: s.generation for s in self.shards}
        named = set(gens.values())
        if named == {""}:
            raise BadShards(f"the shards {', '.join(self.specs)} hold no generation yet: run `news-search rebuild`")
        if len(named) > 1:
            listed = ", ".join(f"{spec}: {g or 'none'}" for spec, g in gens.items())
            raise BadShards(f"the shards serve different generations ({listed}); an interrupted switch: "
                            f"run `news-search rebuild` to write one generation to all of them")
        self.check_layout()
        return named.pop()

    def check_layout(self) -> None:
        n = len(self.shards)
        for s in self.shards:
            built_for, index = s.meta(xd.META_SHARDS), s.meta(xd.META_SHARD)
            if built_for and (built_for != str(n) or index != str(s.index)):
                raise BadShards(
                    f"{xd.ENV_SHARDS}: shard {s.index + 1} {s.spec} was built as shard {int(index) + 1} of "
                    f"{built_for}, but {n} shard(s) are listed in this order; articles would go to the wrong "
                    f"shard. List the shards as they were built, or run `news-search rebuild`")


@contextmanager
def on_shard(sh: Shard, doing: str) -> Iterator[None]:
    """A Xapian failure (a shard gone or timing out) inside as a ShardUnavailable naming the shard."""
    try:
        yield
    except xapian.DatabaseLockError:
        raise
    except xapian.Error as exc:
        raise xd.shard_error(exc, sh.spec, doing) from None


@contextmanager
def session(specs: list[str], action: str, wait: float = 0.0, timeout_ms: int | None = None) -> Iterator[Session]:
    s = Session(specs, action, wait, timeout_ms or xd.env_ms()).open()
    try:
        yield s
    finally:
        s.close()


PURGE_BATCH = 1000  # documents deleted per commit when removing an older generation


def purge_stale(shard: Shard, keep: set[str], idle: list[Shard] | None = None) -> int:
    """Delete the documents of generations other than `keep` from a remote shard (left by a
    rebuild that failed or an old generation not yet removed). Returns how many.

    In batches of PURGE_BATCH, each committed: readers never match these documents (they filter
    on the live XV term), and no remote call lasts as long as one delete of a whole generation.
    Between batches the `idle` shards' connections are kept alive: a writable xapian-tcpsrv
    connection idle for NEWS_SEARCH_XAPIAN_WRITE_TIMEOUT_MS is closed by the server, and the next
    shard's purge failed that way after two long ones (the old generation stayed until the next
    writer)."""
    removed = 0
    for item in list(shard.db.allterms("XV")):
        gen = item.term.decode("utf-8")[2:]
        if gen in keep:
            continue
        while True:
            batch = list(itertools.islice((p.docid for p in shard.db.postlist(item.term)), PURGE_BATCH))
            if not batch:
                break
            for docid in batch:
                shard.db.delete_document(docid)
            shard.db.commit()
            removed += len(batch)
            for other in idle or ():
                if other.db is not None and not other.local:
                    other.db.keep_alive()
    return removed


def generation_docs(db: Any, generation: str) -> int:
    return db.get_termfreq("XV" + generation) if generation else 0


def _used_numbers(shard: Shard) -> list[int]:
    numbers = [xd.generation_number(shard.generation), xd.generation_number(shard.meta(xd.META_PENDING))]
    numbers += [xd.generation_number(i.term.decode("utf-8")[2:]) for i in shard.db.allterms("XV")]
    if shard.local:
        numbers += [xd.generation_number(p.name) for p in Path(shard.spec).iterdir()]
    return numbers


def rebuild(sources: list[Any], specs: list[str], *, userdict: str | None = None, procs: int | None = None,
            wait: float = 0.0, progress: ProgressFn | None = None, allow_shrink: bool = False,
            keep_previous: bool = True, timeout_ms: int | None = None) -> BuildReport:
    ingest.check_sources(sources)
    if userdict:
        analysis.read_userdict(userdict)
        analysis.load_userdict(userdict)
    procs = procs or os.cpu_count() or 1
    report = BuildReport()
    with session(specs, "rebuild", wait, timeout_ms) as s:
        live = {sh.generation for sh in s.shards} - {""}
        for sh in s.shards:
            if not sh.local:
                purge_stale(sh, live, s.shards)
        live_docs = sum(generation_docs(sh.db, sh.generation) for sh in s.shards)
        new = xd.generation_name(max(n for sh in s.shards for n in _used_numbers(sh)) + 1)
        try:
            for sh in s.shards:
                with on_shard(sh, f"starting {new}"):
                    sh.target = (xapian.WritableDatabase(str(Path(sh.spec) / new), xapian.DB_CREATE)
                                 if sh.local else sh.db)
                    if not sh.local:
                        sh.target.set_metadata(xd.META_PENDING, new)
                    xd.ensure_filler(sh.target)  # no term in every document (xapian_doc.FILLER_TERM)
            _write_all(s, new, sources, procs, report, progress)
            if report.indexed * 2 < live_docs and not allow_shrink:
                raise ShrinkRefused(
                    f"the new generation holds {report.indexed:,} articles, under half of the {live_docs:,} the "
                    f"shards serve now: refusing to switch (a missing or truncated source?). The new generation "
                    f"was removed and every shard still serves {', '.join(sorted(live))}. Check the sources, or "
                    f"rerun with --allow-shrink")
            built = datetime.now(timezone.utc).isoformat(timespec="seconds")
            for sh in s.shards:
                with on_shard(sh, f"committing {new} (no shard was switched)"):
                    for key, value in ((xd.META_SHARDS, str(len(s.shards))), (xd.META_SHARD, str(sh.index)),
                                       (xd.META_BUILT, built), (xd.META_USERDICT, _userdict_text(userdict))):
                        sh.target.set_metadata(key, value)
                    if sh.local:
                        sh.target.set_metadata(xd.META_GENERATION, new)
                    sh.target.commit()
            s.ensure_held()
        except BaseException:
            _discard(s, new)
            raise
        enter_phase(report, progress, "switch")
        _switch(s, new)
        _cleanup(s, new, keep_previous)
    report.phases.close()
    report.generation = new
    report.seconds = time.monotonic() - report.started
    return report


def _userdict_text(userdict: str | None) -> str:
    return Path(userdict).read_text(encoding="utf-8-sig") if userdict else ""


def _write_all(s: Session, new: str, sources: list[Any], procs: int, report: BuildReport,
               progress: ProgressFn | None) -> None:
    enter_phase(report, progress, "read")
    total = count_records(sources)
    enter_phase(report, progress, "analyse", total)
    n = len(s.shards)
    entries: list[Entry] = []
    where: list[tuple[int, int]] = []
    seen: set[str] = set()
    last = 0.0
    for doc in analysed_documents(ingest.iter_inputs(sources), procs):
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
                try:
                    xdoc = xd.document_from_fields(doc, new)
                except ValueError as exc:  # an id Xapian cannot hold: skipped and reported like a bad file
                    report.problems.append(Problem(origin or doc["id"], str(exc)))
                    report.skipped += 1
                    continue
                shard = xd.shard_of(doc["id"], n)
                with on_shard(s.shards[shard], f"writing {new} (no shard was switched)"):
                    where.append((shard, s.shards[shard].target.add_document(xdoc)))
                squeezed = xd.squeeze(doc["folded"].decode("utf-8").partition("\n")[2])
                entries.append(Entry(doc["id"], doc["ts"], doc["simhash"], xd.body_hash(squeezed) if squeezed else ""))
                report.indexed += 1
        if progress and time.monotonic() - last > 0.2:
            progress(report)
            last = time.monotonic()
    if progress:
        progress(report)
    if report.indexed == 0:
        shown = [f"\n  skipped {p}" for p in report.problems[:10]]
        if len(report.problems) > 10:
            shown.append(f"\n  ... and {len(report.problems) - 10} more")
        why = (f"{report.skipped} input(s) skipped:{''.join(shown)}" if report.problems
               else f"no supported input files found (expected {ingest.SUPPORTED})")
        raise NothingIndexed(f"nothing was indexed from {', '.join(map(str, sources))}; every shard is "
                             f"unchanged. {why}")
    enter_phase(report, progress, "write")
    set_collapse_keys(s, entries, where)


def body_of(db: Any, docid: int) -> str:
    """The whitespace-free folded body of a stored document (what reprint detection compares)."""
    stored = xd.stored_of(db.get_document(docid))
    folded = analysis.fold_text(stored.get("title", "") + "\n" + stored.get("body", ""))
    return xd.squeeze(folded.partition("\n")[2])


def set_collapse_keys(s: Session, entries: list[Entry], where: list[tuple[int, int]]) -> int:
    """Reprint keys over the whole archive (indexer/xapian_reprints.py), set on the group members."""
    def text_of(i: int) -> str:
        shard, docid = where[i]
        with on_shard(s.shards[shard], "reading articles for the reprint keys (no shard was switched)"):
            return body_of(s.shards[shard].target, docid)

    keys = group_keys(entries, text_of)
    for i, key in keys.items():
        shard, docid = where[i]
        db = s.shards[shard].target
        with on_shard(s.shards[shard], "writing the reprint keys (no shard was switched)"):
            doc = db.get_document(docid)
            doc.add_value(xd.SLOT_COLLAPSE, key.encode("utf-8"))
            db.replace_document(docid, doc)
    return len(keys)


def _discard(s: Session, new: str) -> None:
    """Remove what a failed rebuild wrote; a shard that cannot be reached keeps it until the next
    writer's purge_stale (readers never serve a pending generation)."""
    for sh in s.shards:
        try:
            if sh.local:
                if sh.target is not None:
                    sh.target.close()
                    sh.target = None
                shutil.rmtree(Path(sh.spec) / new, ignore_errors=True)
            elif sh.db is not None:
                sh.db.delete_document("XV" + new)
                sh.db.set_metadata(xd.META_PENDING, "")
                sh.db.commit()
        except (xapian.Error, OSError):
            pass
        if not sh.local:
            sh.target = None  # the same handle as db


def _switch(s: Session, new: str) -> None:
    failed: list[str] = []
    for sh in s.shards:
        try:
            if sh.local:
                sh.target.close()
                sh.target = None
                xd.write_stub(sh.spec, new)
            else:
                sh.db.set_metadata(xd.META_GENERATION, new)
                sh.db.set_metadata(xd.META_PENDING, "")
                sh.db.commit()
        except (xapian.Error, OSError) as exc:
            failed.append(f"{sh.spec} ({exc.get_msg() if isinstance(exc, xapian.Error) else exc})")
    if failed:
        raise ShardUnavailable(failed[0].split(" ")[0],
                               f"the switch to {new} failed on {', '.join(failed)}: readers keep serving the "
                               f"older generation the other shards still hold; run `news-search rebuild` again "
                               f"when the shard is back")


def _has_generation(path: Path) -> bool:
    try:
        return bool(xapian.Database(str(path)).get_metadata(xd.META_GENERATION))
    except xapian.Error:
        return False


def _cleanup(s: Session, new: str, keep_previous: bool) -> None:
    """After every shard switched: older generations go (local: all but the previous directory)."""
    for sh in s.shards:
        if sh.local:
            sh.db.close()  # the old live generation, opened for the lock; the writer lock stays held
            sh.db = None
            gens = sorted((p for p in Path(sh.spec).iterdir() if xd.GEN_RE.match(p.name) and p.name != new),
                          key=lambda p: p.name)
            # The empty placeholder of a shard's first rebuild (ensure_local_layout) is no rollback target.
            kept = [g for g in gens if _has_generation(g)][-1:] if keep_previous else []
            for old in gens:
                if old not in kept:
                    shutil.rmtree(old, ignore_errors=True)
        else:
            sh.target = None
            try:
                purge_stale(sh, {new}, [o for o in s.shards if o is not sh])
            except xapian.Error:
                pass  # readers filter on XV<new>; the next writer removes the old documents
