"""Parse JSON Lines feeds (one article object per line) and plain JSON files.

Lines are consumed one at a time so that a multi-gigabyte export never sits in memory. Every bad line
becomes a Problem carrying its 1-based line number; the rest of the file is still used.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from indexer.encoding import decode_bytes
from indexer.limits import TooLong
from indexer.model import Article, Problem
from indexer.normalise import make_article

# Record keys we read; anything else in a record is ignored.
_FIELDS = ("id", "title", "body", "channel", "published", "author", "source", "url")
_TOO_DEEP = "invalid JSON: nested too deeply to be an article"


def parse_jsonl(lines: Iterable[str | bytes | TooLong], path: str) -> Iterator[Article | Problem]:
    """Yield one Article or Problem per non-blank line.

    ``lines`` may be text, or raw bytes straight from a (gzip) file: bytes are decoded per line as
    UTF-8, with the legacy-encoding fallback of ``decode_bytes`` for feeds exported as GBK/Big5.
    """
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, TooLong):  # dropped unread by indexer.limits
            yield Problem(path=path, reason=raw.reason(), line=number)
            continue
        if isinstance(raw, bytes):
            try:
                line = _decode_line(raw)
            except ValueError as exc:
                yield Problem(path=path, reason=str(exc), line=number)
                continue
        else:
            line = raw
        text = line.lstrip("\ufeff").strip() if number == 1 else line.strip()
        if not text:
            continue
        yield record_to_article(text, path, number)


def record_to_article(text: str, path: str, line: int | None) -> Article | Problem:
    """Parse one JSON text that must hold a single article object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return Problem(path=path, reason=f"invalid JSON at column {exc.colno}: {_message(exc)}", line=line)
    except RecursionError:  # e.g. "[[[[..." thousands deep: hostile or corrupt, never an article
        return Problem(path=path, reason=_TOO_DEEP, line=line)
    return object_to_article(value, path, line)


def object_to_article(value: Any, path: str, line: int | None, label: str = "") -> Article | Problem:
    """Map a decoded JSON value to an Article; ``label`` prefixes reasons (e.g. "item 3: ")."""
    if not isinstance(value, dict):
        return Problem(path=path, reason=f"{label}expected a JSON object, got {_json_type(value)}", line=line)
    fields = {name: value.get(name) for name in _FIELDS}
    # "keywords" is the usual CMS name for tags; "tags" wins when both are present.
    fields["tags"] = value.get("tags") if value.get("tags") is not None else value.get("keywords")
    result = make_article(fields, path, line=line)
    if isinstance(result, Problem) and label:
        result.reason = label + result.reason
    return result


def parse_json_document(text: str, path: str) -> Iterator[Article | Problem]:
    """A .json file: one article object, or a list of them."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            # Mislabelled JSON Lines (several objects, one per line): read it as such.
            yield from parse_jsonl(text.splitlines(), path)
            return
        yield Problem(path=path, reason=f"invalid JSON at line {exc.lineno} column {exc.colno}: {_message(exc)}")
        return
    except RecursionError:
        yield Problem(path=path, reason=_TOO_DEEP)
        return
    if isinstance(value, list):
        if not value:
            yield Problem(path=path, reason="empty JSON list: no articles")
        for index, item in enumerate(value, start=1):
            result = object_to_article(item, path, None, label=f"item {index}: ")
            if isinstance(result, Article):
                result.origin = f"{path}[{index}]"
            yield result
    else:
        yield object_to_article(value, path, None)


def _decode_line(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return decode_bytes(raw)


def _message(exc: json.JSONDecodeError) -> str:
    # Some messages end in a dangling "at" because the position normally follows.
    return exc.msg.removesuffix(" at")


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__
