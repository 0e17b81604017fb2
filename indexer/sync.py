"""Keep an index in step with a CMS database: each round applies the rows changed since the last one.

State per source lives in INDEX_DIR/sync/<key>.json: the generation it describes, the fingerprint of
every live row already applied and, when the mapping names a `modified` column, its highest value (the
watermark). A round reads the rows (all of them, or with a watermark only the modified ones plus an
id-only scan for removals), compares fingerprints before parsing anything, and goes through the same
writer lock and single commit as `update`. The state is replaced (atomic rename) after the commit,
still under the lock: a round killed before its commit changed nothing, one killed after it is
repeated by the next round, whose upserts then find the content unchanged. Nothing is lost either way.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from indexer.model import Article, Problem
from indexer.source_db import LIVE_COLUMN, DbSource, fingerprint, max_modified
from indexer.store import Generation
from indexer.sync_state import load_state, save_state
from indexer.update import GRACE_SECONDS, ProgressFn, UpdateReport, apply_changes


@dataclass
class SyncReport:
    rows: int = 0          # rows the round looked at
    new: int = 0
    changed: int = 0
    unpublished: int = 0
    deleted: int = 0
    notes: list[str] = field(default_factory=list)
    update: UpdateReport | None = None
    round: int = 0


def sync_round(source: DbSource, index_dir: str | os.PathLike, *, wait: float = 0.0, procs: int = 1,
               progress: ProgressFn | None = None, grace: float = GRACE_SECONDS) -> SyncReport:
    """One round: read what changed, upsert and delete it in one commit, then record the new state."""
    out = SyncReport()
    pending: dict[str, Any] = {}

    def plan(gen: Generation) -> tuple[list[Article | Problem], list[str], int]:
        state = load_state(index_dir, source)
        known: dict[str, str] = {}
        if state.get("generation") == gen.name and isinstance(state.get("rows"), dict):
            known = state["rows"]
        elif state:
            out.notes.append(f"the sync state does not describe the live generation {gen.name} (it was rebuilt "
                             "or rolled back): every live row is compared again; rows deleted meanwhile stay")
        out.round = int(state.get("round", 0)) + 1 if known else 1
        mapping = source.mapping
        since = state.get("watermark") if known and mapping.modified else None
        fetched = source.rows(since=since)
        present = ({source.row_id(r): r[LIVE_COLUMN] for r in source.rows(ids_only=True)} if since is not None
                   else {source.row_id(r): r[LIVE_COLUMN] for r in fetched})
        out.rows = len(present)
        rows = dict(known)
        items: list[Article | Problem] = []
        removed: list[str] = []
        for row in fetched:
            rid, digest = source.row_id(row), fingerprint(row)
            if not row[LIVE_COLUMN]:
                continue  # handled below with the id scan
            if known.get(rid) == digest:
                continue
            if rid in known:
                out.changed += 1
            else:
                out.new += 1
            rows[rid] = digest  # bad rows too: reported once, retried when the row changes
            items.append(source.to_article(row))
        for rid in known:
            if rid not in present:
                out.deleted += 1
            elif not present[rid]:
                out.unpublished += 1
            else:
                continue
            rows.pop(rid, None)
            removed.append(rid)
        pending.update(rows=rows, watermark=max_modified(fetched, mapping.modified, since))
        return items, removed, len(items)

    def after_commit(gen: Generation, _report: UpdateReport) -> None:
        save_state(index_dir, source, gen, pending["rows"], pending["watermark"], out.round)

    source.check()
    out.update = apply_changes(index_dir, plan, wait=wait, procs=procs, progress=progress, grace=grace,
                               action="sync", after_commit=after_commit)
    return out


def sleep_until(deadline: float) -> None:
    """Sleep in short steps so Ctrl-C between rounds is handled at once."""
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))
