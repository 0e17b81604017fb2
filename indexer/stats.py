"""`stats`: what the live index holds, read from its columns and metadata."""
from __future__ import annotations

import os
from typing import Any

from indexer.build import file_sha1, find_userdict
from indexer.store import USERDICT_NAME, Generation, IndexStore, archive_stats, open_index


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
        public = archive_stats(store, gen, searcher.reader())
    notes, dictionaries = userdict_notes(store, gen)
    return {
        **public,
        "userdict_sha1": meta.get("userdict_sha1"),
        "dictionaries": dictionaries,
        "notes": notes,
    }
