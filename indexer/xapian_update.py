"""Incremental changes on Xapian shards: upsert and delete by id (replace_document on Q<id>).

Each article goes to shard_of(id) of the live generation; every shard touched is committed at
the end (each shard's commit is atomic; a failure before the commits leaves all of them as they
were). Reprint keys of upserted articles are computed against the whole archive: identical
bodies through their XH<hash> term, edited reprints through the date window and SimHash value
(indexer/xapian_reprints.py has the rule). A group that an update or delete leaves with one
member loses its key; a full regrouping is what a rebuild does.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import jieba
import xapian

from indexer import analysis, ingest
from indexer import xapian_doc as xd
from indexer.build import analysed_documents, enter_phase
from indexer.enrich import content_hash, timestamp
from indexer.model import Article, Problem
from indexer.progress import count_records
from indexer.update import ProgressFn, UpdateReport
from indexer.xapian_reprints import REPRINT_WINDOW_DAYS, near, similar
from indexer.xapian_store import Session, body_of, on_shard, purge_stale, session


def _find(db: Any, article_id: str) -> int | None:
    for item in db.postlist("Q" + article_id):
        return item.docid
    return None


def update(sources: list[Any], specs: list[str], *, wait: float = 0.0, procs: int = 1,
           progress: ProgressFn | None = None, delete_ids: Iterable[str] = (),
           timeout_ms: int | None = None) -> UpdateReport:
    """Upsert the articles of `sources` by id; unchanged ones (same content hash) are left alone."""
    ingest.check_sources(sources)
    report = UpdateReport()
    with session(specs, "update", wait, timeout_ms) as s, _any_shard(s):
        gen = _prepare(s, report)
        enter_phase(report, progress, "read")
        total = count_records(sources)
        pending = _changed(s, ingest.iter_inputs(sources), report)
        enter_phase(report, progress, "analyse", total)
        touched: set[int] = set()
        last = 0.0
        for doc in analysed_documents(pending, procs):
            if isinstance(doc, Problem):
                report.problems.append(doc)
                report.skipped += doc.count
                continue
            origin = doc.pop("__origin", "")
            try:
                _upsert(s, gen, doc, report, touched)
            except ValueError as exc:
                report.problems.append(Problem(origin or doc["id"], str(exc)))
                report.skipped += 1
            if progress and time.monotonic() - last > 0.2:
                progress(report)
                last = time.monotonic()
        _delete(s, delete_ids, report, touched)
        if progress:
            progress(report)
        enter_phase(report, progress, "write")
        _commit(s, touched, report, gen)
    report.phases.close()
    return report


def delete(ids: Iterable[str], specs: list[str], *, wait: float = 0.0, timeout_ms: int | None = None) -> UpdateReport:
    report = UpdateReport()
    with session(specs, "delete", wait, timeout_ms) as s, _any_shard(s):
        gen = _prepare(s, report)
        touched: set[int] = set()
        _delete(s, ids, report, touched)
        _commit(s, touched, report, gen)
    return report


@contextmanager
def _any_shard(s: Session) -> Iterator[None]:
    """A Xapian failure while reading or writing before the commits: nothing was committed."""
    try:
        yield
    except xapian.DatabaseLockError:
        raise
    except xapian.Error as exc:
        raise xd.shard_error(exc, ",".join(s.specs), "updating (nothing was committed)") from None


def _prepare(s: Session, report: UpdateReport) -> str:
    gen = s.live_generation()
    for sh in s.shards:
        if not sh.local:
            purge_stale(sh, {gen}, s.shards)  # documents a failed rebuild left behind
        if xd.ensure_filler(sh.db):  # a shard written before the filler existed (xapian_doc.FILLER_TERM)
            sh.db.commit()
    text = s.shards[0].meta(xd.META_USERDICT)
    if text:
        # Segment like the generation was built (the dictionary travels in the shard metadata).
        analysis.ensure_initialised()
        for word, freq, tag in _userdict_entries(text):
            jieba.add_word(analysis.fold_text(word), freq=freq, tag=tag)
    return gen


def _userdict_entries(text: str) -> list[tuple[str, int | None, str | None]]:
    out = []
    for line in text.splitlines():
        parts = line.strip().split()
        if parts and not parts[0].startswith("#"):
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            tag = parts[2] if len(parts) > 2 else (parts[1] if len(parts) > 1 and not parts[1].isdigit() else None)
            out.append((parts[0], freq, tag))
    return out


def _changed(s: Session, items: Iterable[Article | Problem], report: UpdateReport) -> list[Article | Problem]:
    """Compare before analysing: an unchanged article costs a lookup and a hash."""
    seen: set[str] = set()
    out: list[Article | Problem] = []
    n = len(s.shards)
    for item in items:
        if isinstance(item, Problem):
            out.append(item)
            continue
        if item.id in seen:
            report.duplicates += 1
            report.duplicate_of.append((item.origin, item.id))
            continue
        seen.add(item.id)
        db = s.shards[xd.shard_of(item.id, n)].db
        docid = _find(db, item.id)
        if docid is not None and xd.stored_of(db.get_document(docid)).get("content_hash") == content_hash(item):
            report.unchanged += 1
            continue
        out.append(item)
    return out


def _upsert(s: Session, gen: str, fields: dict[str, Any], report: UpdateReport, touched: set[int]) -> None:
    n = len(s.shards)
    shard = xd.shard_of(fields["id"], n)
    db = s.shards[shard].db
    old = _find(db, fields["id"])
    old_key = db.get_document(old).get_value(xd.SLOT_COLLAPSE).decode("utf-8") if old is not None else ""
    doc = xd.document_from_fields(fields, gen)
    db.replace_document("Q" + fields["id"], doc)
    touched.add(shard)
    if old is not None:
        report.updated += 1
    else:
        report.added += 1
    if old_key:
        _shrink_group(s, gen, old_key, touched)
    _regroup(s, gen, fields, touched)


def _delete(s: Session, ids: Iterable[str], report: UpdateReport, touched: set[int]) -> None:
    n = len(s.shards)
    gen = s.shards[0].generation
    for doc_id in dict.fromkeys(i.strip() for i in ids):
        if not doc_id:
            continue
        shard = xd.shard_of(doc_id, n)
        db = s.shards[shard].db
        docid = _find(db, doc_id)
        if docid is None:
            report.not_found += 1
            report.not_found_ids.append(doc_id)
            continue
        key = db.get_document(docid).get_value(xd.SLOT_COLLAPSE).decode("utf-8")
        db.delete_document("Q" + doc_id)
        touched.add(shard)
        report.deleted += 1
        if key:
            _shrink_group(s, gen, key, touched)


def _matches(db: Any, query: Any) -> list[int]:
    enquire = xapian.Enquire(db)
    enquire.set_query(query)
    enquire.set_weighting_scheme(xapian.BoolWeight())
    return [m.docid for m in enquire.get_mset(0, db.get_doccount() or 1)]


def _with_key(s: Session, gen: str, key: str) -> list[tuple[int, int]]:
    q = xapian.Query(xapian.Query.OP_FILTER, xapian.Query(xapian.Query.OP_VALUE_RANGE, xd.SLOT_COLLAPSE, key, key),
                     xapian.Query("XV" + gen))
    return [(sh.index, d) for sh in s.shards for d in _matches(sh.db, q)]


def _set_key(s: Session, shard: int, docid: int, key: str, touched: set[int]) -> None:
    db = s.shards[shard].db
    doc = db.get_document(docid)
    if doc.get_value(xd.SLOT_COLLAPSE).decode("utf-8") != key:
        if key:
            doc.add_value(xd.SLOT_COLLAPSE, key.encode("utf-8"))
        else:
            doc.remove_value(xd.SLOT_COLLAPSE)
        db.replace_document(docid, doc)
        touched.add(shard)


def _shrink_group(s: Session, gen: str, key: str, touched: set[int]) -> None:
    members = _with_key(s, gen, key)
    if len(members) == 1:
        _set_key(s, *members[0], "", touched)


def _regroup(s: Session, gen: str, fields: dict[str, Any], touched: set[int]) -> None:
    """Join the upserted article to the reprints it has in the archive (the rebuild's rule)."""
    shard = xd.shard_of(fields["id"], len(s.shards))
    me = (shard, _find(s.shards[shard].db, fields["id"]))
    mine = body_of(s.shards[me[0]].db, me[1])
    if not mine:
        return
    found: set[tuple[int, int]] = set()
    ts, simhash = fields["ts"], fields["simhash"]
    same = xapian.Query(xapian.Query.OP_FILTER, xapian.Query("XH" + xd.body_hash(mine)), xapian.Query("XV" + gen))
    for sh in s.shards:
        found.update((sh.index, d) for d in _matches(sh.db, same) if body_of(sh.db, d) == mine)
    if ts >= 0:
        window = REPRINT_WINDOW_DAYS * 86400
        dated = xapian.Query(xapian.Query.OP_FILTER, xapian.Query(
            xapian.Query.OP_VALUE_RANGE, xd.SLOT_TS, xapian.sortable_serialise(max(0, ts - window)),
            xapian.sortable_serialise(ts + window)), xapian.Query("XV" + gen))
        for sh in s.shards:
            for d in _matches(sh.db, dated):
                doc = sh.db.get_document(d)
                other_ts = int(xapian.sortable_unserialise(doc.get_value(xd.SLOT_TS)))
                other_hash = int(doc.get_value(xd.SLOT_SIMHASH).decode("ascii") or "0", 16)
                if near(ts, simhash, other_ts, other_hash) and similar(mine, body_of(sh.db, d)):
                    found.add((sh.index, d))
    found.discard(me)
    if not found:
        return
    group = {me} | found
    for shard, d in list(found):
        key = s.shards[shard].db.get_document(d).get_value(xd.SLOT_COLLAPSE).decode("utf-8")
        if key:
            group.update(_with_key(s, gen, key))

    def order(member: tuple[int, int]) -> tuple[int, str]:
        stored = xd.stored_of(s.shards[member[0]].db.get_document(member[1]))
        t = timestamp(stored.get("published"))
        return (t if t >= 0 else 2**62, stored["id"])

    first = min(group, key=order)
    key = xd.stored_of(s.shards[first[0]].db.get_document(first[1]))["id"]
    for shard, d in group:
        _set_key(s, shard, d, key, touched)


def _commit(s: Session, touched: set[int], report: UpdateReport, gen: str) -> None:
    if touched:
        s.ensure_held()
        done: list[str] = []
        for shard in sorted(touched):
            sh = s.shards[shard]
            already = f" (already committed: {', '.join(done)})" if done else " (nothing was committed)"
            with on_shard(sh, "committing" + already):
                sh.db.commit()
            done.append(sh.spec)
    report.generation = gen
    report.documents = sum(sh.db.get_termfreq("XV" + gen) for sh in s.shards)
    report.seconds = time.monotonic() - report.started
