"""Entry point of the ingest stage: turn input paths into a stream of Articles and Problems.

The writer calls ``check_sources`` before touching the index (a typo in a path must not trigger a
rebuild from nothing) and then consumes ``iter_inputs``. A bad file never stops the stream: it becomes
a Problem that says where and why.
"""
from __future__ import annotations

import codecs
import gzip
import io
import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from indexer.encoding import decode_bytes
from indexer import limits
from indexer.errors import SourceNotFound
from indexer.limits import (MAX_JSON_BYTES, MAX_PROBLEMS_PER_FILE, GuardedGzip, InputTooLarge, TooLong,
                            byte_lines, text_lines)
from indexer.model import Article, Problem
from indexer.parse_html import looks_like_html, parse_html
from indexer.parse_jsonl import parse_json_document, parse_jsonl
from indexer.parse_text import parse_text
from indexer.source_db import DbSource

Result = Article | Problem
StrPath = str | os.PathLike[str]
Source = StrPath | DbSource  # a file or directory, or a CMS database (indexer.source_db)

_JSONL_GZ = (".jsonl.gz", ".ndjson.gz")
_JSONL = (".jsonl", ".ndjson")
_JSON = (".json",)
_HTML = (".html", ".htm", ".shtml", ".xhtml")
_TEXT = (".txt", ".text")
SUPPORTED = ", ".join(_JSONL + _JSONL_GZ + _JSON + _HTML + _TEXT) + " or no extension"
# Single pages bigger than this are not articles (dumps, logs); refusing them keeps memory bounded.
MAX_PAGE_BYTES = 32 * 1024 * 1024


def check_sources(paths: Iterable[Source]) -> None:
    """Raise SourceNotFound naming the first input path that does not exist (a database source
    that cannot be queried raises DatabaseSourceError)."""
    for path in paths:
        if isinstance(path, DbSource):
            path.check()
            continue
        if not os.path.exists(path):
            hint = " (it is a broken symbolic link)" if os.path.islink(path) else ""
            raise SourceNotFound(
                f"input path not found: {os.fspath(path)}{hint}. Check the spelling (relative paths are "
                f"resolved from {os.getcwd()}) and pass existing files or directories."
            )


def iter_inputs(paths: Iterable[Source]) -> Iterator[Result]:
    """Articles and Problems from files and directory trees, in a stable (sorted) order, and from
    database sources (their live rows, in the query's order).

    Raises SourceNotFound immediately (not on first iteration) when a path is missing.
    """
    path_list = [p if isinstance(p, DbSource) else os.fspath(p) for p in paths]
    check_sources(path_list)
    return _iter_checked(path_list)


def _iter_checked(paths: list[str | DbSource]) -> Iterator[Result]:
    for item in iter_paths(paths):
        if isinstance(item, DbSource):
            yield from item.iter_articles()
        elif isinstance(item, Problem):
            yield item
        else:
            yield from iter_file(*item)


def iter_paths(paths: Iterable[Source]) -> Iterator[tuple[str, bool] | Problem | DbSource]:
    """(file path, named explicitly) for every input file in reading order, and a Problem for each
    directory that could not be read; database sources pass through in their place. Shared by the
    reader and the progress pre-count."""
    visited: set[str] = set()  # real paths of directories already walked: survives symlink loops
    for source in paths:
        if isinstance(source, DbSource):
            yield source
            continue
        path = os.fspath(source)
        if os.path.isdir(path):
            yield from _walk(path, visited)
        else:
            yield path, True


# Dictionary files kept beside the articles (the demo's userdict.txt, an index dir's synonyms) are
# not articles; named explicitly on the command line they are still read.
DICTIONARY_FILES = frozenset({"userdict.txt", "synonyms.txt", "stopwords.txt"})


def _walk(top: str, visited: set[str]) -> Iterator[tuple[str, bool] | Problem]:
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(top, onerror=errors.append, followlinks=True):
        yield from (_os_problem(err) for err in errors)
        errors.clear()
        real = os.path.realpath(dirpath)
        if real in visited:
            dirnames[:] = []  # a link back into a tree we already read
            continue
        visited.add(real)
        # Hidden directories and index directories (`rebuild .` with the default ./index_data) are
        # not archive content: reading our own half-written index would only produce problems.
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and not _is_index_dir(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            if not name.startswith(".") and name not in DICTIONARY_FILES and file_format(name) is not None:
                yield os.path.join(dirpath, name), False
    yield from (_os_problem(err) for err in errors)


def _is_index_dir(path: str) -> bool:
    """A news-search index directory (see indexer.store): holds writer.lock or CURRENT + generations/."""
    return os.path.isfile(os.path.join(path, "writer.lock")) or (
        os.path.isfile(os.path.join(path, "CURRENT")) and os.path.isdir(os.path.join(path, "generations")))


def file_format(name: str) -> str | None:
    """'jsonl.gz', 'jsonl', 'json', 'html', 'text' by file name, or None when not supported."""
    lower = name.lower()
    for suffixes, kind in ((_JSONL_GZ, "jsonl.gz"), (_JSONL, "jsonl"), (_JSON, "json"),
                           (_HTML, "html"), (_TEXT, "text")):
        if lower.endswith(suffixes):
            return kind
    return "text" if "." not in lower.lstrip(".") else None


def iter_file(path: str, explicit: bool = True) -> Iterator[Result]:
    """Parse one file. ``explicit`` files (named by the user) report an unsupported type."""
    kind = file_format(os.path.basename(path))
    if kind is None:
        if explicit:
            yield Problem(path=path, reason=f"unsupported file type (expected {SUPPORTED})")
        return
    not_regular = _not_regular_file(path)
    if not_regular is not None:
        yield not_regular
        return
    if kind in ("jsonl", "jsonl.gz"):
        yield from _iter_jsonl(path, compressed=kind == "jsonl.gz")
        return
    try:
        size = os.path.getsize(path)
        if size > MAX_PAGE_BYTES and kind != "json":
            yield Problem(path=path, reason=f"file too large for one article ({size} bytes)")
            return
        if kind == "json" and size > MAX_JSON_BYTES:
            yield Problem(path=path, reason=f"JSON file of {size:,} bytes is over the limit of {MAX_JSON_BYTES:,} "
                                            f"(a .json file is parsed whole): export it as JSON Lines (.jsonl), "
                                            f"one article per line")
            return
        data = Path(path).read_bytes()
    except OSError as exc:
        yield _os_problem(exc, path)
        return
    try:
        text = decode_bytes(data)
    except ValueError as exc:
        yield Problem(path=path, reason=str(exc))
        return
    if not text.strip():
        yield Problem(path=path, reason="empty file")
    elif kind == "json":
        yield from parse_json_document(text, path)
    elif kind == "html" or looks_like_html(text):
        yield parse_html(text, path)
    else:
        yield parse_text(text, path)


def _not_regular_file(path: str) -> Problem | None:
    """FIFOs, sockets and devices are refused up front: opening a FIFO would block the rebuild."""
    try:
        mode = os.stat(path).st_mode  # follows symlinks: dangling links and loops fail here
    except OSError as exc:
        return _os_problem(exc, path)
    if stat.S_ISREG(mode):
        return None
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device or special file"
    return Problem(path=path, reason=f"not a regular file ({kind})")


def _open_jsonl(path: str, compressed: bool) -> Any:
    """A block-read byte stream (gzip guarded), or a text stream for UTF-16 exports (which cannot
    be split on b"\n"); lines are cut by limits.byte_lines / text_lines."""
    if compressed:
        return GuardedGzip(path)  # read errors surface in _guarded_lines
    handle = open(path, "rb")
    head = handle.peek(4)[:4]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return io.TextIOWrapper(handle, encoding="utf-16")
    return handle


def _jsonl_binary_reason(path: str) -> str | None:
    """One clear problem for a binary file named .jsonl (say, gzip data without .gz), not one per line."""
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "UTF-32 JSON Lines are not supported: convert the file to UTF-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if head.startswith(b"\x1f\x8b"):
        return "gzip-compressed data in a file not named .gz: rename it to .jsonl.gz"
    if b"\x00" in head:  # NUL never occurs in UTF-8/GBK/Big5 text; line-by-line it would be noise
        return "binary file (contains NUL bytes); UTF-16 text needs a byte-order mark"
    return None


def _iter_jsonl(path: str, compressed: bool) -> Iterator[Result]:
    stream_error: list[str] = []
    produced = 0
    try:
        binary = None if compressed else _jsonl_binary_reason(path)
        if binary is not None:
            yield Problem(path=path, reason=binary)
            return
        with _open_jsonl(path, compressed) as handle:
            lines = text_lines(handle) if isinstance(handle, io.TextIOBase) else byte_lines(handle)
            for result in summarised(parse_jsonl(_guarded_lines(lines, stream_error), path), path):
                produced += 1
                yield result
    except OSError as exc:  # opening failed; read errors are recorded by _guarded_lines instead
        yield _os_problem(exc, path)
        return
    if stream_error:
        yield Problem(path=path, reason=stream_error[0])
    elif produced == 0:
        yield Problem(path=path, reason="empty file" if _is_empty(path, compressed) else "no records (only blank lines)")


def summarised(results: Iterable[Result], path: str) -> Iterator[Result]:
    """The first MAX_PROBLEMS_PER_FILE problems of a file, then one Problem counting the rest:
    a file of a million bad lines must not keep a million Problems in the report."""
    shown = extra = good = 0
    first_extra: int | None = None
    stopped = ""
    for result in results:
        if isinstance(result, Problem):
            if good == 0 and shown + extra >= limits.MAX_BAD_BEFORE_FIRST:
                stopped = (f"; stopped reading: the first {limits.MAX_BAD_BEFORE_FIRST:,} records were all bad "
                           f"(not an article export?)")
                break
            if shown >= MAX_PROBLEMS_PER_FILE:
                extra += 1
                first_extra = result.line if first_extra is None else first_extra
                continue
            shown += 1
        else:
            good += 1
        yield result
    if extra:
        yield Problem(path=path, line=first_extra, count=extra,
                      reason=f"{extra:,} more bad record(s) from here on, not listed one by one (the first "
                             f"{MAX_PROBLEMS_PER_FILE} are){stopped}; fix the export and rerun")


def _guarded_lines(handle: Iterable[bytes | str | TooLong], errors: list[str]) -> Iterator[bytes | str | TooLong]:
    """Yield lines until a read error; record it instead of raising, so earlier lines still count."""
    count = 0
    try:
        for line in handle:
            count += 1
            yield line
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        errors.append(f"truncated or corrupt gzip after {count} lines: {exc}")
    except UnicodeDecodeError as exc:  # only UTF-16 files are decoded while reading
        errors.append(f"invalid {exc.encoding.upper()} text after {count} lines")
    except InputTooLarge as exc:
        errors.append(f"{exc} (after {count} lines)")
    except OSError as exc:
        errors.append(f"read error after {count} lines: {exc.strerror or exc}")


def _is_empty(path: str, compressed: bool) -> bool:
    if not compressed:
        return os.path.getsize(path) == 0
    with gzip.open(path, "rb") as handle:
        return not handle.read(1)


def _os_problem(exc: OSError, path: str | None = None) -> Problem:
    where = path or exc.filename or "?"
    return Problem(path=os.fspath(where), reason=f"cannot read: {exc.strerror or exc}")
