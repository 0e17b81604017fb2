"""Streaming limits on input files, applied before anything is parsed, so no input exhausts memory.

* a JSON Lines record (one line) longer than MAX_LINE_BYTES is skipped while it is read: its bytes
  are counted and dropped, never joined into one string;
* a gzip member that expands past MAX_GZIP_BYTES, or more than MAX_GZIP_RATIO times its
  compressed size (once past GZIP_RATIO_FLOOR), stops the file with one problem;
* a .json file (parsed whole) larger than MAX_JSON_BYTES is refused up front;
* after MAX_PROBLEMS_PER_FILE problems, a file's further problems are counted, not kept;
* a file whose first MAX_BAD_BEFORE_FIRST records are all bad is not read further (it is not an
  article export; reading millions of `{}` lines would only cost time).

Lines end in LF, CRLF or (old Mac exports) CR alone: a file whose first block has CRs but no LF
is split on CR.
"""
from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

# 1,000,000 characters (normalise.MAX_ARTICLE_CHARS), even as \uXXXX escapes, fit in 8 MiB.
MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_GZIP_BYTES = 16 * 1024 ** 3
MAX_GZIP_RATIO = 200        # news JSON compresses 4-8x; 200x is a bomb or a file of nothing
GZIP_RATIO_FLOOR = 16 * 1024 * 1024
MAX_PROBLEMS_PER_FILE = 100
MAX_BAD_BEFORE_FIRST = 10_000  # bad records in a row with no article yet: not an article export
_CHUNK = 1024 * 1024


@dataclass
class TooLong:
    """Stands for a line that was dropped while read because it exceeds MAX_LINE_BYTES."""

    size: int

    def reason(self) -> str:
        return (f"record of {self.size:,} bytes is longer than the limit of {MAX_LINE_BYTES:,} bytes per "
                f"line: skipped unread (one article per line; split the export)")


class InputTooLarge(Exception):
    """A stream limit was reached; the message says which (the file is stopped there)."""


class _CountingReader(io.RawIOBase):
    """Counts the compressed bytes gzip pulls from the file (for the expansion ratio)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        self.count += len(data)
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


class GuardedGzip:
    """A gzip file read in blocks, refusing to expand past the size and ratio caps."""

    def __init__(self, path: str) -> None:
        self._counter = _CountingReader(open(path, "rb"))
        self._gzip = gzip.GzipFile(fileobj=io.BufferedReader(self._counter), mode="rb")
        self.expanded = 0

    def read(self, size: int) -> bytes:
        # read1: what one decompression step gives, so a truncated file's last good lines still
        # arrive before the EOFError (read(size) would drop the whole partial block).
        data = self._gzip.read1(size)
        self.expanded += len(data)
        if self.expanded > MAX_GZIP_BYTES:
            raise InputTooLarge(f"gzip data expands past {MAX_GZIP_BYTES:,} bytes: stopped there")
        if self.expanded > GZIP_RATIO_FLOOR and self.expanded > MAX_GZIP_RATIO * max(1, self._counter.count):
            raise InputTooLarge(
                f"gzip data expands more than {MAX_GZIP_RATIO}x ({self._counter.count:,} compressed bytes gave "
                f"{self.expanded:,}): a compression bomb or a file of empty records; stopped there")
        return data

    def __enter__(self) -> GuardedGzip:
        return self

    def __exit__(self, *exc: object) -> None:
        self._gzip.close()
        self._counter.close()


def byte_lines(handle: BinaryIO, max_line: int | None = None) -> Iterator[bytes | TooLong]:
    """Lines of a binary stream without their ends; over-long ones become TooLong, unread."""
    max_line = MAX_LINE_BYTES if max_line is None else max_line
    first = handle.read(_CHUNK)
    sep = b"\r" if b"\r" in first and b"\n" not in first else b"\n"
    pending: list[bytes] = []
    pending_len = 0
    skipping = 0  # > 0: bytes of an over-long line dropped so far
    chunk = first
    while chunk:
        start = 0
        while True:
            end = chunk.find(sep, start)
            if end < 0:
                break
            piece = chunk[start:end]
            if skipping:
                yield TooLong(skipping + len(piece))
                skipping = 0
            elif pending_len + len(piece) > max_line:
                yield TooLong(pending_len + len(piece))
            else:
                yield b"".join(pending) + piece if pending else piece
            pending, pending_len, start = [], 0, end + 1
        rest = chunk[start:]
        if skipping:
            skipping += len(rest)
        elif pending_len + len(rest) > max_line:
            skipping = pending_len + len(rest)
            pending, pending_len = [], 0
        elif rest:
            pending.append(rest)
            pending_len += len(rest)
        chunk = handle.read(_CHUNK)
    if skipping:
        yield TooLong(skipping)
    elif pending:
        yield b"".join(pending)


def text_lines(handle: io.TextIOBase, max_line: int | None = None) -> Iterator[str | TooLong]:
    """Lines of a decoded (UTF-16) stream, read at most max_line // 2 characters at a time."""
    limit = (MAX_LINE_BYTES if max_line is None else max_line) // 2
    while True:
        line = handle.readline(limit)
        if not line:
            return
        if len(line) < limit or line.endswith(("\n", "\r")):
            yield line
            continue
        size = len(line)
        while line and not line.endswith(("\n", "\r")):
            line = handle.readline(limit)
            size += len(line)
        yield TooLong(size * 2)
