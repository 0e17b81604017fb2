"""`stats` and `check` over Xapian shards: what the live generation holds, shard by shard."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import xapian

from indexer import xapian_doc as xd
from indexer.errors import ShardUnavailable


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).replace(tzinfo=None).isoformat()


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _open_all(specs: list[str], timeout_ms: int) -> tuple[list[Any | None], list[str]]:
    dbs: list[Any | None] = []
    problems: list[str] = []
    for spec in specs:
        try:
            dbs.append(xd.open_readable(spec, timeout_ms))
        except ShardUnavailable as exc:
            dbs.append(None)
            problems.append(str(exc))
    return dbs, problems


def _meta(db: Any, key: str) -> str:
    return db.get_metadata(key).decode("utf-8")


def _generation_query(gen: str) -> Any:
    return xapian.Query("XV" + gen)


def shard_stats(specs: list[str], timeout_ms: int | None = None) -> dict[str, Any]:
    """The same keys as `stats` on Whoosh (documents, channels, date_range, generation, ...) plus
    one row per shard; an unreachable shard is a row with reachable=false and a note."""
    timeout = timeout_ms or xd.env_ms()
    dbs, notes = _open_all(specs, timeout)
    gens = [_meta(db, xd.META_GENERATION) if db is not None else "" for db in dbs]
    gen = xd.serving_generation(gens) or ""
    channels: Counter[str] = Counter()
    lo: float | None = None
    hi: float | None = None
    rows = []
    total = 0
    for spec, db, shard_gen in zip(specs, dbs, gens):
        if db is None:
            rows.append({"spec": spec, "reachable": False, "documents": None, "generation": None})
            continue
        if xd.is_local(spec) and shard_gen != gen and gen:
            db = xd.open_readable(spec, timeout, generation=gen)
        enquire = xapian.Enquire(db)
        enquire.set_query(_generation_query(gen))
        enquire.set_weighting_scheme(xapian.BoolWeight())
        spy = xapian.ValueCountMatchSpy(xd.SLOT_CHANNEL)
        enquire.add_matchspy(spy)
        mset = enquire.get_mset(0, 0, db.get_doccount())
        docs = db.get_termfreq("XV" + gen) if gen else 0
        counted = 0
        for item in spy.values():
            channels[item.term.decode("utf-8")] += item.termfreq
            counted += item.termfreq
        channels[""] += docs - counted
        for ascending in (True, False):
            enquire.set_query(xapian.Query(xapian.Query.OP_FILTER, xapian.Query(
                xapian.Query.OP_VALUE_GE, xd.SLOT_TS, xapian.sortable_serialise(0)), _generation_query(gen)))
            enquire.set_sort_by_value(xd.SLOT_TS, not ascending)
            for m in enquire.get_mset(0, 1):
                ts = xapian.sortable_unserialise(m.document.get_value(xd.SLOT_TS))
                lo = ts if ascending and (lo is None or ts < lo) else lo
                hi = ts if not ascending and (hi is None or ts > hi) else hi
        del mset
        total += docs
        rows.append({"spec": spec, "reachable": True, "documents": docs, "generation": shard_gen,
                     "built_at": _meta(db, xd.META_BUILT) or None,
                     "size_bytes": _dir_bytes(xd.live_generation_dir(spec) or Path(spec)) if xd.is_local(spec) else None})
    if channels[""] == 0:
        del channels[""]
    reachable = [r for r in rows if r["reachable"]]
    return {
        "documents": total,
        "channels": [{"value": v or None, "count": c} for v, c in sorted(channels.items(), key=lambda kv: (-kv[1], kv[0]))],
        "date_range": {"from": _iso(lo) if lo is not None else None, "to": _iso(hi) if hi is not None else None},
        "generation": gen or None,
        "size_bytes": sum(r["size_bytes"] or 0 for r in reachable),
        "built_at": max((r["built_at"] for r in reachable if r["built_at"]), default=None),
        "segments": len(specs),
        "previous_generation": None,
        "engine": "xapian",
        "shards": rows,
        "partial": len(reachable) < len(rows),
        "notes": notes,
        "dictionaries": [],
    }


def _check_full_match(spec: str, db: Any, gen: str, problems: list[str], warnings: list[str]) -> None:
    """The unweighted match of the whole generation every search makes (issue 15), and the filler
    document that keeps Xapian from failing it after deletions (indexer/xapian_doc.FILLER_TERM)."""
    enquire = xapian.Enquire(db)
    enquire.set_query(_generation_query(gen))
    enquire.set_weighting_scheme(xapian.BoolWeight())
    try:
        enquire.get_mset(0, 1, db.get_doccount())
    except xapian.Error as exc:
        problems.append(f"{spec}: matching the generation {gen} fails ({type(exc).__name__}: {exc.get_msg()}); "
                        f"any `news-search update` or `delete` adds the shard's filler document that avoids it "
                        f"(issue 15), or run `news-search rebuild`")
        return
    if not db.get_termfreq(xd.FILLER_TERM):
        warnings.append(f"{spec} has no filler document (written before issue 15's fix): once articles are "
                        f"deleted, searches can fail with 'Unexpected end of posting list'; the next update, "
                        f"delete or rebuild adds it")


def check_shards(specs: list[str], sample: int = 50, timeout_ms: int | None = None) -> dict[str, Any]:
    """Every shard reachable, one generation, the layout it was built for, and `sample` documents per
    shard that decode, carry their id term and belong on this shard."""
    timeout = timeout_ms or xd.env_ms()
    dbs, problems = _open_all(specs, timeout)
    warnings: list[str] = []
    gens = {spec: _meta(db, xd.META_GENERATION) for spec, db in zip(specs, dbs) if db is not None}
    named = set(gens.values())
    if len(named) > 1:
        problems.append("the shards serve different generations: " + ", ".join(f"{s}: {g or 'none'}" for s, g in gens.items()))
    gen = xd.serving_generation(gens.values()) or ""
    if not gen and gens:
        problems.append("no shard holds a generation: run `news-search rebuild`")
    n = len(specs)
    documents = sampled = found = 0
    for i, (spec, db) in enumerate(zip(specs, dbs)):
        if db is None or not gen:
            continue
        if gens[spec] != gen and xd.is_local(spec):
            db = xd.open_readable(spec, timeout, generation=gen)
        built_for, index = _meta(db, xd.META_SHARDS), _meta(db, xd.META_SHARD)
        if built_for != str(n) or index != str(i):
            problems.append(f"{spec} was built as shard {index or '?'} of {built_for or '?'} (0-based), but is listed "
                            f"as shard {i} of {n} in {xd.ENV_SHARDS}")
        pending = _meta(db, xd.META_PENDING)
        if pending:
            warnings.append(f"{spec}: a rebuild is writing (or left) {pending}; the next writer removes it")
        others = [t.term.decode("utf-8")[2:] for t in db.allterms("XV") if t.term.decode("utf-8")[2:] != gen]
        if others and not pending:
            warnings.append(f"{spec} still holds documents of {', '.join(others)}; the next writer removes them")
        documents += db.get_termfreq("XV" + gen)
        _check_full_match(spec, db, gen, problems, warnings)
        for k, item in enumerate(db.postlist("XV" + gen)):
            if k >= sample:
                break
            sampled += 1
            try:
                doc = db.get_document(item.docid)
                stored = xd.stored_of(doc)
                terms = {t.term for t in doc.termlist() if t.term.startswith(b"Q")}
            except (xapian.Error, ValueError) as exc:
                problems.append(f"{spec}: document {item.docid} cannot be read: {exc}")
                continue
            if ("Q" + stored.get("id", "")).encode("utf-8") not in terms:
                problems.append(f"{spec}: document {item.docid} has no id term for {stored.get('id')!r}")
            elif xd.shard_of(stored["id"], n) != i:
                problems.append(f"{spec}: article {stored['id']!r} belongs on shard {xd.shard_of(stored['id'], n)}")
            else:
                found += 1
    return {"generation": gen or None, "documents": documents, "sampled": sampled, "sample_found": found,
            "shards": len(specs), "problems": problems, "warnings": warnings, "ok": not problems, "engine": "xapian"}
