"""The sync state of a database source: INDEX_DIR/sync/<key>.json, replaced atomically.

Kept apart from indexer.sync so that a rebuild can record its starting point without importing
the update path (indexer.update imports indexer.build).
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from indexer.source_db import DbSource
from indexer.store import Generation

STATE_DIR = "sync"


def state_path(index_dir: str | os.PathLike, source: DbSource) -> Path:
    return Path(index_dir) / STATE_DIR / f"{source.key()}.json"


def load_state(index_dir: str | os.PathLike, source: DbSource) -> dict[str, Any]:
    try:
        return json.loads(state_path(index_dir, source).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {"damaged": True}  # unreadable: the round resynchronises everything


def save_state(index_dir: str | os.PathLike, source: DbSource, gen: Generation, rows: dict[str, str],
               watermark: Any, round_no: int) -> None:
    path = state_path(index_dir, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"source": source.label, "mapping": source.mapping.name, "generation": gen.name,
            "round": round_no, "watermark": watermark, "modified_column": source.mapping.modified,
            "synced_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rows": rows}
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def record_rebuild(index_dir: str | os.PathLike, gen: Generation, source: DbSource) -> None:
    """After a rebuild from `source`: what it read is the starting point of the next sync."""
    save_state(index_dir, source, gen, dict(source.seen), source.watermark, 0)
