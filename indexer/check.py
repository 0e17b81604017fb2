"""`check`: verify the live index against its own metadata and stored fields.

- meta.json's document count equals the index's;
- every stored id is present and unique;
- a deterministic sample of articles is found by searching their own title (the title's words
  AND-ed in the title field, segmented as queries are): catches postings that do not match the
  stored text or a dictionary mismatch;
- every article has its folded text column (what exact-substring queries scan).
"""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from typing import Any

from whoosh import query as wq

from indexer.analysis import IsolatedSegmenter
from indexer.errors import IndexDamaged
from indexer.store import USERDICT_NAME, IndexStore, column_values, latest_toc, open_index

SHOWN = 10  # problems of one kind listed individually; the rest are counted


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def check_index(index_dir: str | os.PathLike, sample: int = 50) -> dict[str, Any]:
    store = IndexStore(index_dir)
    gen = store.require_current()
    problems: list[str] = []
    warnings: list[str] = []
    meta = gen.meta()
    if not meta:
        problems.append(f"{gen.path / 'meta.json'} is missing or unreadable")
    previous = store.previous()
    if previous is not None and previous.name != gen.name and not previous.is_complete():
        warnings.append(f"the previous generation {previous.name} is incomplete: rollback to it is impossible")
    for other in store.generations():
        if other.name not in (gen.name, previous.name if previous else None) and not other.is_complete():
            warnings.append(f"{other.name} is half-built (no meta.json): `news-search gc` removes it")
    # Segment titles as this generation's queries do, with exactly its dictionary (this process's
    # jieba may hold words of other generations' dictionaries).
    segmenter = IsolatedSegmenter()
    if (gen.path / USERDICT_NAME).is_file():
        segmenter.add_userdict(gen.path / USERDICT_NAME)

    try:
        ix = open_index(gen)
    except IndexDamaged as exc:
        return {"generation": gen.name, "documents": 0, "sampled": 0, "sample_found": 0,
                "problems": problems + [str(exc)], "warnings": warnings, "ok": False}
    with ix.searcher() as searcher:
        reader = searcher.reader()
        documents = searcher.doc_count()
        if meta and meta.get("documents") != documents:
            if meta.get("toc") is not None and meta.get("toc") != latest_toc(gen.path):
                # A writer died between its (complete) commit and its meta.json update.
                warnings.append(f"meta.json says {meta.get('documents')} documents, the latest commit holds "
                                f"{documents}: it predates that commit; the next update or gc refreshes it")
            else:
                problems.append(f"meta.json says {meta.get('documents')} documents, the index holds {documents}")
        ids: Counter[str] = Counter()
        no_id: list[str] = []
        titles: dict[str, tuple[int, str]] = {}
        for docnum, fields in reader.iter_docs():
            doc_id = fields.get("id")
            if not doc_id:
                no_id.append(f"#{docnum}")
                continue
            ids[doc_id] += 1
            titles.setdefault(doc_id, (docnum, fields.get("title") or ""))
        if no_id:
            problems.append(f"{len(no_id)} document(s) without an id: {_listed(no_id)}")
        dupes = sorted(i for i, n in ids.items() if n > 1)
        if dupes:
            problems.append(f"{len(dupes)} id(s) stored more than once: {_listed(dupes)}")

        missing_folded: list[str] = []
        column = column_values(reader, "folded")
        for doc_id, (docnum, title) in titles.items():
            if not column[docnum]:
                missing_folded.append(doc_id)
        if missing_folded:
            problems.append(f"{len(missing_folded)} article(s) without folded text (exact-substring search "
                            f"cannot find them): {_listed(sorted(missing_folded))}")

        # Deterministic but spread over the whole index: the ids with the smallest hashes.
        chosen = sorted(titles, key=lambda i: hashlib.sha1(i.encode("utf-8")).digest())[:sample]
        not_found: list[str] = []
        for doc_id in chosen:
            docnum, title = titles[doc_id]
            words = segmenter.words(title)
            if not words:
                continue
            q = wq.And([wq.Term("title", w) for w in dict.fromkeys(words)])
            if docnum not in set(searcher.docs_for_query(q)):
                not_found.append(f"{doc_id} ({title[:30]})")
        if not_found:
            problems.append(f"{len(not_found)} of {len(chosen)} sampled article(s) not found by their own "
                            f"title: {_listed(not_found)}; rebuild the index")
    return {
        "generation": gen.name,
        "documents": documents,
        "sampled": len(chosen),
        "sample_found": len(chosen) - len(not_found),
        "problems": problems,
        "warnings": warnings,
        "ok": not problems,
    }
