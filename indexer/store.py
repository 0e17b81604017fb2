"""On-disk layout of an index directory: generations, the CURRENT pointer, metadata, the writer lock.

    index_dir/
      CURRENT                 name of the live generation (replaced atomically)
      PREVIOUS                the generation before it (for rollback)
      generations/gen-NNNNNN/ a complete Whoosh index plus meta.json
      writer.lock             held (flock) by the one process writing; JSON says who and since when
      generations/gen-NNNNNN/READERS  share-locked (flock) by each service process reading it

A rebuild writes a new generation beside the live one and only then replaces CURRENT, so a crash
or Ctrl-C mid-rebuild never touches what readers use. Half-built generations have no meta.json
and are removed by gc; so are generations that are neither CURRENT nor PREVIOUS, once no reader
holds their READERS lock.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from whoosh import index as whoosh_index

from indexer.errors import GenerationIncomplete, IndexDamaged, IndexMissing, NothingToRollBack, UnsafeState, WriterBusy

ENV_INDEX_DIR = "NEWS_SEARCH_INDEX_DIR"
DEFAULT_INDEX_DIR = "index_data"
_GEN_RE = re.compile(r"^gen-(\d{6})$")
TOC_RE = re.compile(r"^_MAIN_(\d+)\.toc$")
READERS_NAME = "READERS"


def index_dir_option(func: Any) -> Any:
    """The --index-dir option (or NEWS_SEARCH_INDEX_DIR) of every command that reads or writes an index."""
    return click.option(
        "--index-dir", type=click.Path(file_okay=False, path_type=Path), envvar=ENV_INDEX_DIR,
        default=DEFAULT_INDEX_DIR, show_default=True, show_envvar=True,
        help="Index directory (holds generations and dictionaries).",
    )(func)


# The admin's jieba user dictionary in INDEX_DIR; each generation keeps the copy it was built with.
USERDICT_NAME = "userdict.txt"


@dataclass
class Generation:
    name: str
    path: Path

    @property
    def number(self) -> int:
        m = _GEN_RE.match(self.name)
        return int(m.group(1)) if m else 0

    def meta(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def is_complete(self) -> bool:
        return (self.path / "meta.json").is_file() and whoosh_index.exists_in(str(self.path))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class IndexStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.gens_dir = self.root / "generations"

    # -- generations -------------------------------------------------------------------------
    def generations(self) -> list[Generation]:
        if not self.gens_dir.is_dir():
            return []
        gens = [Generation(p.name, p) for p in self.gens_dir.iterdir() if _GEN_RE.match(p.name)]
        return sorted(gens, key=lambda g: g.number)

    def _pointer(self, name: str) -> Generation | None:
        try:
            gen_name = (self.root / name).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if not _GEN_RE.match(gen_name):
            return None
        gen = Generation(gen_name, self.gens_dir / gen_name)
        return gen if gen.path.is_dir() else None

    def current(self) -> Generation | None:
        return self._pointer("CURRENT")

    def pointer_state(self, name: str) -> str:
        """'ok', 'missing' (no file) or 'unreadable' (garbled, or naming no generation directory).

        Destructive paths decide from this, not from ``current()``: None there means "no readable
        pointer", which must never be read as "nothing is live" while generations exist.
        """
        path = self.root / name
        if not path.exists():
            return "missing"
        return "ok" if self._pointer(name) is not None else "unreadable"

    def previous(self) -> Generation | None:
        return self._pointer("PREVIOUS")

    def require_current(self) -> Generation:
        gen = self.current()
        if gen is None:
            raise IndexMissing(
                f"no index in {self.root}: build one with `news-search rebuild SOURCE...` "
                f"(or `news-search demo`), or point --index-dir / {ENV_INDEX_DIR} at an existing index"
            )
        return gen

    def current_marker(self) -> str:
        """A cheap value that changes whenever readers should reopen (pointer switch or commit)."""
        gen = self.current()
        if gen is None:
            return ""
        toc = latest_toc(gen.path)
        return f"{gen.name}/{'' if toc is None else toc}"

    def new_generation(self) -> Generation:
        """A fresh, empty generation directory; the caller pins it (``pin_generation``) while
        building, so a concurrent gc (a writer whose lock file was replaced) never removes it."""
        self.gens_dir.mkdir(parents=True, exist_ok=True)
        numbers = [g.number for g in self.generations()]
        n = (max(numbers) if numbers else 0) + 1
        while True:
            gen = Generation(f"gen-{n:06d}", self.gens_dir / f"gen-{n:06d}")
            try:
                gen.path.mkdir()
                (gen.path / READERS_NAME).touch()
                return gen
            except FileExistsError:
                n += 1

    def finish_generation(self, gen: Generation, meta: dict[str, Any]) -> None:
        # "toc": the commit this metadata describes; a writer killed between its commit and this
        # write leaves an older number, so `check` can tell stale metadata from a damaged index.
        meta = dict(meta, generation=gen.name, toc=latest_toc(gen.path))
        (gen.path / READERS_NAME).touch()
        _write_atomic(gen.path / "meta.json", json.dumps(meta, ensure_ascii=False, indent=2))

    def switch_to(self, gen: Generation) -> None:
        """Make `gen` live. Readers see either the old or the new pointer, never a mix."""
        if not gen.is_complete():
            raise GenerationIncomplete(f"generation {gen.name} is incomplete and cannot be made live")
        old = self.current()
        if old is not None and old.name != gen.name:
            _write_atomic(self.root / "PREVIOUS", old.name + "\n")
        _write_atomic(self.root / "CURRENT", gen.name + "\n")

    def update_meta(self, gen: Generation, **changes: Any) -> None:
        meta = gen.meta()
        meta.update(changes)
        self.finish_generation(gen, meta)

    def gc(self, keep_previous: bool = True) -> list[str]:
        """Remove generations that are neither live nor kept for rollback (and half-built ones).

        Call it holding the writer lock: then a generation without meta.json is a dead writer's.
        """
        return self.collect(keep_previous)[0]

    def collect(self, keep_previous: bool = True) -> tuple[list[str], list[str]]:
        """Like gc; returns (removed, kept because a reader still has them open)."""
        state = self.pointer_state("CURRENT")
        if state != "ok" and self.generations():
            raise UnsafeState(
                f"refusing to collect garbage in {self.root}: CURRENT is {state}, so the live generation "
                f"cannot be told apart from old ones; nothing was removed. Write the live generation's name "
                f"(one of {', '.join(g.name for g in self.generations() if g.is_complete()) or 'none'}) into "
                f"{self.root / 'CURRENT'}, check it with `news-search check`, then run gc again")
        keep = {g.name for g in (self.current(), self.previous() if keep_previous else None) if g}
        garbled_previous = keep_previous and self.pointer_state("PREVIOUS") == "unreadable"
        removed, in_use = [], []
        for gen in self.generations():
            if gen.name in keep:
                continue
            if garbled_previous and gen.is_complete():
                continue  # a garbled PREVIOUS may have meant any complete generation: keep them all
            if generation_in_use(gen):
                in_use.append(gen.name)
                continue
            shutil.rmtree(gen.path, ignore_errors=True)
            removed.append(gen.name)
        return removed, in_use

    def rollback(self, before_switch: Any = None, verify: Any = None) -> tuple[Generation, Generation]:
        """Swap CURRENT and PREVIOUS; returns (now live, now previous). Hold the writer lock.
        `verify(generation)` lists what is wrong with the target (indexer.verify); any problem
        refuses the switch."""
        cur, prev = self.require_current(), self.previous()
        if prev is None or prev.name == cur.name or not prev.is_complete():
            raise NothingToRollBack(
                f"nothing to roll back to in {self.root}: there is no complete previous generation "
                f"(the live one is {cur.name}); a rollback target exists after the next rebuild"
            )
        problems = verify(prev) if verify is not None else []
        if problems:
            raise IndexDamaged(
                f"refusing to roll back to {prev.name}: it is damaged ({problems[0]}"
                f"{f'; and {len(problems) - 1} more problem(s)' if len(problems) > 1 else ''}); "
                f"{cur.name} stays live. `news-search rebuild` makes a new generation")
        if before_switch is not None:
            before_switch()  # e.g. the writer lock's re-validation
        # CURRENT first: readers only ever look at CURRENT, and it always names a complete generation.
        _write_atomic(self.root / "CURRENT", prev.name + "\n")
        _write_atomic(self.root / "PREVIOUS", cur.name + "\n")
        return prev, cur

    def size_bytes(self, gen: Generation) -> int:
        return sum(p.stat().st_size for p in gen.path.iterdir() if p.is_file())

    # -- the writer lock ---------------------------------------------------------------------
    def writer_lock(self, wait: float = 0.0, action: str = "write") -> WriterLock:
        return WriterLock(self.root / "writer.lock", wait=wait, action=action)


def serves_current(root: str | os.PathLike, served: str | None) -> bool:
    """True when `served` (the generation name a service has open) is the one CURRENT names.

    For readiness checks: a service that kept an old snapshot (CURRENT switched to a generation
    it could not open, or CURRENT removed) is alive but not serving what the admin made live.
    """
    current = IndexStore(root).current()
    return served is not None and current is not None and current.name == served


def open_index(gen: Generation, check: Callable[[Any], None] | None = None) -> Any:
    """Open `gen`'s Whoosh index and every segment's files; any failure is IndexDamaged.

    `check(ix)`, when given, replaces opening every segment: a service opening a later commit
    of a generation it already reads checks (opens) only the commit's new segments.

    Broad on purpose: whatever Whoosh raises on a missing or corrupt file (OSError, EOFError,
    struct.error, unpickling errors...) means the same to the admin: this generation is damaged.
    """
    try:
        ix = whoosh_index.open_dir(str(gen.path))
        if check is None:
            ix.reader().close()
        else:
            check(ix)
        return ix
    except Exception as exc:  # noqa: BLE001 -- see the docstring
        # No directory paths in the message: the API shows it to the public (503).
        name = getattr(exc, "filename", None)
        what = f"{exc.__class__.__name__} on {Path(name).name}" if name else exc.__class__.__name__
        raise IndexDamaged(
            f"the index generation {gen.name} cannot be read ({what}): `news-search check` names the problem; "
            f"`news-search rollback` returns to the previous generation, `news-search rebuild` makes a new one"
        ) from None


def latest_toc(path: Path) -> int | None:
    """Number of the newest Whoosh commit (TOC) in a generation directory."""
    try:
        names = os.listdir(path)
    except OSError:
        return None
    # Numeric, not lexical: _MAIN_10.toc is newer than _MAIN_9.toc (old TOCs may linger briefly).
    tocs = [int(m.group(1)) for m in map(TOC_RE.match, names) if m]
    return max(tocs) if tocs else None


def column_values(reader: Any, name: str) -> list[Any]:
    """Column `name` as a list indexed by global doc number.

    Not ``reader.column_reader(name)``: Whoosh's MultiReader leaves out segments without a column
    file (a segment whose documents all lack the field, e.g. an update of one article without a
    channel), which shifts every later document. Per segment, Whoosh fills a missing column with
    the field's default, as it does for a document without a value inside a segment.
    """
    out: list[Any] = []
    for leaf, _offset in reader.leaf_readers():
        out.extend(leaf.column_reader(name))
    return out


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).replace(tzinfo=None).isoformat()


def archive_stats(store: IndexStore, gen: Generation, reader: Any) -> dict[str, Any]:
    """What the archive in `gen` holds, safe to publish (/api/stats): no server paths; `stats`
    adds the admin's dictionary rows and notes."""
    live = [d for d in range(reader.doc_count_all()) if not reader.is_deleted(d)]
    channels = column_values(reader, "channel")  # not reader.column_reader: see column_values
    stamps = column_values(reader, "ts")
    counts = Counter(channels[d] or "" for d in live)
    known = [stamps[d] for d in live if stamps[d] >= 0]
    previous = store.previous()
    return {
        "documents": len(live),
        "channels": [{"value": v or None, "count": c}
                     for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
        "date_range": {"from": _iso(min(known)) if known else None, "to": _iso(max(known)) if known else None},
        "generation": gen.name,
        "size_bytes": store.size_bytes(gen),
        "built_at": gen.meta().get("built_at"),
        "segments": len(reader.leaf_readers()) if hasattr(reader, "leaf_readers") else 1,
        "previous_generation": previous.name if previous is not None else None,
    }


def pin_generation(gen: Generation) -> int | None:
    """Share-lock gen's READERS file for as long as the returned fd stays open (gc skips it)."""
    try:
        fd = os.open(gen.path / READERS_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # built before reader pins existed, or already removed
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def generation_in_use(gen: Generation) -> bool:
    try:
        fd = os.open(gen.path / READERS_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def close_inherited_locks() -> None:
    """Initializer of forked worker processes: close their copies of the writer locks' fds.

    flock belongs to the open file, which a fork shares: a worker keeping its copy would keep a
    kill -9'd writer's lock (writer.lock, Whoosh's MAIN_WRITELOCK) held until the orphan exits.
    """
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return  # no /proc: workers exit on their own once the parent's pipes close
    for entry in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{entry}")
        except OSError:
            continue
        if target.endswith(("/writer.lock", "_WRITELOCK")):
            try:
                os.close(int(entry))
            except OSError:
                pass


def _command_line() -> str:
    """How this process was started, for the busy-writer message (program name shortened)."""
    argv = list(sys.argv) or ["?"]
    argv[0] = os.path.basename(argv[0])
    return " ".join(argv)[:300]


class WriterLock:
    """One writer at a time across processes.

    flock is released by the kernel when its holder dies, so a killed writer never leaves a lock
    that blocks forever; the JSON left behind by a dead holder is reported as recovered.
    """

    def __init__(self, path: Path, wait: float = 0.0, action: str = "write") -> None:
        self.path = path
        self.wait = wait
        self.action = action
        self._fd: int | None = None
        self.recovered_from: dict[str, Any] | None = None

    def _holder(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def _busy_message(self) -> str:
        h = self._holder()
        for _ in range(10):  # the holder took the lock a moment ago: give it time to write who it is
            if h.get("pid") and not h.get("released"):
                break
            time.sleep(0.05)
            h = self._holder()
        if not h.get("pid") or h.get("released"):
            h = {}
        command = h.get("command") or h.get("action") or "unknown command"
        return (f"another writer holds the lock {self.path}: pid {h.get('pid', '?')} on {h.get('host', '?')} "
                f"running `{command}` since {h.get('since', '?')}; waited {self.wait:g}s. Wait for it to "
                f"finish or retry with a longer --wait")

    def acquire(self) -> WriterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(0.0, self.wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WriterBusy(self._busy_message()) from None
                time.sleep(0.05)
        previous = self._holder()
        if previous.get("pid") and not previous.get("released"):
            # Left by a holder that died without releasing (kill -9): the kernel freed the lock.
            self.recovered_from = previous
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "action": self.action,
            "command": _command_line(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def ensure_held(self) -> None:
        """Raise WriterBusy unless our lock file is still the one at `path` (same inode).

        A deleted or replaced writer.lock lets a second writer take a fresh lock beside ours; the
        commit or switch that would follow could silently undo that writer's work, so we stop.
        """
        if self._fd is None:
            raise WriterBusy(f"the writer lock {self.path} is not held")
        try:
            same = os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
        except OSError:
            same = False
        if not same:
            raise WriterBusy(
                f"the writer lock {self.path} was removed or replaced while this {self.action} held it, so "
                f"another writer may be running: nothing was committed or switched. Wait until no other "
                f"news-search writer runs, then retry")

    def release(self) -> None:
        if self._fd is None:
            return
        info = self._holder()
        info["released"] = True
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(info).encode(), 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


# -- per-segment n-gram arrays (written by indexer.ngrams, read by search_service.ngram_index) --
# Key of a bigram ab: ord(a) << 21 | ord(b); of a unigram a: ord(a) << 21 | NGRAM_UNIGRAM (no
# code point is that large). Files are named like the segment's own, so clean-ups remove them with it.
NGRAM_UNIGRAM = 0x1FFFFF
NGRAM_SUFFIXES = ("ngd", "ngs", "ngk")  # written in this order; the keys file last marks them complete


def ngram_paths(directory: str | os.PathLike, segment_id: str) -> dict[str, Path]:
    return {suffix: Path(directory) / f"{segment_id}.{suffix}.npy" for suffix in NGRAM_SUFFIXES}


def has_ngrams(directory: str | os.PathLike, segment_id: str) -> bool:
    return all(p.is_file() for p in ngram_paths(directory, segment_id).values())
