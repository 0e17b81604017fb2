"""`stats`: what the live index holds, read from its columns and metadata."""
from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timezone
from typing import Any


from indexer.build import USERDICT_NAME, file_sha1, find_userdict
from indexer.store import Generation, IndexStore, column_values, open_index


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).replace(tzinfo=None).isoformat()


def _short(sha: str | None) -> str:
    return f"sha1 {sha[:10]}" if sha else "no user dictionary"


def userdict_notes(store: IndexStore, gen: Generation) -> tuple[list[str], list[dict[str, Any]]]:
    """Which dictionary each kept generation was built with, and whether a rebuild is needed
    because INDEX_DIR/userdict.txt (what the next rebuild uses) is not the live one's."""
    rows = [{"generation": g.name, "role": role, "userdict_sha1": g.meta().get("userdict_sha1"),
             "userdict": g.meta().get("userdict")}
            for role, g in (("current", gen), ("previous", store.previous())) if g is not None]
    path = store.root / USERDICT_NAME
    on_disk = file_sha1(find_userdict(store.root, None))
    built = rows[0]["userdict_sha1"]
    notes = []
    if on_disk is not None and on_disk != built:
        notes.append(f"{path} ({_short(on_disk)}) is not the dictionary {gen.name} was built with "
                     f"({_short(built)}): run `news-search rebuild` so indexing and queries segment the same way")
    elif on_disk is None and built is not None:
        notes.append(f"{gen.name} was built with {rows[0]['userdict'] or 'a user dictionary'} ({_short(built)}) "
                     f"but {path} does not exist: a rebuild without --userdict would drop it")
    if len(rows) > 1 and rows[1]["userdict_sha1"] != built:
        notes.append(f"the previous generation {rows[1]['generation']} used {_short(rows[1]['userdict_sha1'])}")
    return notes, rows


def index_stats(index_dir: str | os.PathLike) -> dict[str, Any]:
    store = IndexStore(index_dir)
    gen = store.require_current()
    meta = gen.meta()
    ix = open_index(gen)  # damaged: a clear IndexDamaged, not a traceback
    with ix.searcher() as searcher:
        reader = searcher.reader()
        live = [d for d in range(reader.doc_count_all()) if not reader.is_deleted(d)]
        channels = column_values(reader, "channel")  # not reader.column_reader: see column_values
        stamps = column_values(reader, "ts")
        counts = Counter(channels[d] or "" for d in live)
        known = [stamps[d] for d in live if stamps[d] >= 0]
        documents = searcher.doc_count()
        segments = len(reader.leaf_readers()) if hasattr(reader, "leaf_readers") else 1
    notes, dictionaries = userdict_notes(store, gen)
    return {
        "documents": documents,
        "channels": [{"value": v or None, "count": c}
                     for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
        "date_range": {"from": _iso(min(known)) if known else None, "to": _iso(max(known)) if known else None},
        "generation": gen.name,
        "size_bytes": store.size_bytes(gen),
        "built_at": meta.get("built_at"),
        "segments": segments,
        "userdict_sha1": meta.get("userdict_sha1"),
        "dictionaries": dictionaries,
        "previous_generation": dictionaries[1]["generation"] if len(dictionaries) > 1 else None,
        "notes": notes,
    }
