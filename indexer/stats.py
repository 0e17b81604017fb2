"""`stats`: what the live index holds, read from its columns and metadata."""
from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from whoosh import index as whoosh_index

from indexer.build import USERDICT_NAME, file_sha1, find_userdict
from indexer.store import IndexStore


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).replace(tzinfo=None).isoformat()


def index_stats(index_dir: str | os.PathLike) -> dict[str, Any]:
    store = IndexStore(index_dir)
    gen = store.require_current()
    meta = gen.meta()
    ix = whoosh_index.open_dir(str(gen.path))
    with ix.searcher() as searcher:
        reader = searcher.reader()
        live = [d for d in range(reader.doc_count_all()) if not reader.is_deleted(d)]
        channels = reader.column_reader("channel")
        stamps = reader.column_reader("ts")
        counts = Counter(channels[d] or "" for d in live)
        known = [stamps[d] for d in live if stamps[d] >= 0]
        documents = searcher.doc_count()
        segments = len(reader.leaf_readers()) if hasattr(reader, "leaf_readers") else 1
    notes = []
    current_sha = file_sha1(find_userdict(store.root, None))
    if current_sha != meta.get("userdict_sha1"):
        notes.append(
            f"{store.root / USERDICT_NAME} differs from the dictionary generation {gen.name} was built with: "
            "run `news-search rebuild` so indexing and queries segment the same way"
        )
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
        "previous_generation": store.previous().name if store.previous() else None,
        "notes": notes,
    }
