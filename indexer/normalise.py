"""Normalisation shared by every parser: stored text, dates, ids, and the final Article/Problem.

Stored text is what the result page shows, so it stays close to the source: Chinese punctuation is kept,
only full-width ASCII letters/digits and odd spaces are folded. Search-side folding (traditional ->
simplified, case, pinyin) belongs to the analysis stage, not here.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from indexer.model import Article, Problem

# Full-width digits and Latin letters -> ASCII; the odd spaces -> a plain space.
_WIDTH_TABLE: dict[int, int | str | None] = {
    code: code - 0xFEE0
    for block in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for code in range(block[0], block[1] + 1)
}
_WIDTH_TABLE.update({code: " " for code in (0x3000, 0x00A0, 0x1680, 0x202F, 0x205F, *range(0x2000, 0x200B))})
# Zero-width characters and a stray BOM carry nothing the reader could see.
_WIDTH_TABLE.update({code: None for code in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)})
_WIDTH_TABLE.update({0x2028: "\n", 0x2029: "\n", 0x0B: "\n", 0x0C: "\n", 0x85: "\n", 0x09: " "})

_SPACES = re.compile(r"[ \t]{2,}")


def normalise_text(s: str) -> str:
    """Clean text for storage: paragraphs separated by exactly one newline, no blank lines."""
    s = unicodedata.normalize("NFC", s.replace("\r\n", "\n").replace("\r", "\n"))
    s = s.translate(_WIDTH_TABLE)
    # Remaining control characters (C0 and C1) are dropped; newline is the only one we keep. Lone
    # surrogates (JSON "\ud800" escapes) go too: they cannot be encoded and would fail the article.
    s = "".join(ch for ch in s if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs"))
    lines = (_SPACES.sub(" ", line).strip() for line in s.split("\n"))
    return "\n".join(line for line in lines if line)


def normalise_line(s: str) -> str:
    """Like normalise_text, but for one-line fields (titles, channels, names)."""
    return normalise_text(s).replace("\n", " ")


# ----------------------------------------------------------------------------------------- dates

_DATE_TIME = re.compile(
    r"""
    (?:(?P<year>\d{4})\s*[-/.年]\s*)?            # year is optional: "9月7日" or "09-07" use context_year
    (?P<month>\d{1,2})\s*[-/.月]\s*
    (?P<day>\d{1,2})\s*[日号號]?
    (?:\s*(?:\(|（)?(?:星期|周|礼拜)[一二三四五六日天](?:\)|）)?)?
    (?:
        (?:\s*T\s*|\s+|(?<=[日号號]))                # separator; none needed after 日
        (?P<ampm>上午|下午|晚上|早上|凌晨|中午)?\s*
        (?P<hour>\d{1,2})\s*[:：时時點点]\s*
        (?P<minute>\d{1,2})\s*分?
        (?:\s*[:：]\s*(?P<second>\d{1,2})(?:\.\d+)?\s*秒?)?
    )?
    \s*(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT|CST|北京时间)?   # zone dropped: the wall-clock time is kept
    """,
    re.VERBOSE,
)
_COMPACT = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})")


def parse_date(s: str, context_year: int | None = None) -> str | None:
    """Parse the usual Chinese date forms into ``YYYY-MM-DDTHH:MM:SS``; None when not a valid date."""
    if not isinstance(s, str):
        return None
    text = normalise_line(s)
    match = _DATE_TIME.fullmatch(text) or _COMPACT.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    year = int(parts["year"]) if parts.get("year") else context_year
    if year is None or not 1900 <= year <= datetime.now().year + 1:
        return None
    hour = int(parts.get("hour") or 0)
    if parts.get("ampm") in ("下午", "晚上") and hour < 12:
        hour += 12
    try:
        value = datetime(
            year,
            int(parts["month"]),
            int(parts["day"]),
            hour,
            int(parts.get("minute") or 0),
            int(parts.get("second") or 0),
        )
    except ValueError:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S")


# Feeds in this corpus are Chinese: epoch numbers are shown in Beijing time, like the string dates.
_BEIJING = timezone(timedelta(hours=8))


def _parse_epoch(value: float) -> str | None:
    try:
        value = float(value)  # a JSON integer may be too big for a float: no date, not a crash
        seconds = value / 1000 if value > 1e11 else value  # milliseconds are common in JS-made feeds
        moment = datetime.fromtimestamp(seconds, tz=_BEIJING)
    except (OverflowError, OSError, ValueError):
        return None
    if not 1900 <= moment.year <= datetime.now().year + 1:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


# ------------------------------------------------------------------------------------------- ids

def canonical_url(url: str) -> str:
    """Canonical form used for ids: lower-case scheme/host, no fragment, no utm_*, no trailing slash."""
    url = url.strip()
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url.split("#", 1)[0].rstrip("/")
    # Filter the raw query pieces so that the remaining parameters keep their original escaping.
    query = "&".join(
        piece for piece in parts.query.split("&")
        if piece and not piece.split("=", 1)[0].lower().startswith("utm_")
    )
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), query, ""))


def stable_id(given_id: Any, url: str | None, title: str, body: str) -> str:
    """The id a document keeps across rebuilds: given id, else canonical URL, else a content hash."""
    if given_id is not None and not isinstance(given_id, bool):
        text = str(given_id).strip()
        if text:
            return text
    if url and url.strip():
        return canonical_url(url)
    digest = hashlib.sha1(f"{normalise_text(title)}\n{normalise_text(body)}".encode())
    return "sha1:" + digest.hexdigest()[:16]


# -------------------------------------------------------------------------------------- articles

_TEXT_FIELDS = ("title", "body", "channel", "author", "source", "url")
# Far above any real news article (the largest in our corpus has ~21,000 characters): a bigger
# "article" is a dump or a concatenation, and would cost seconds per search hit to highlight.
MAX_ARTICLE_CHARS = 1_000_000
_TAG_SPLIT = re.compile(r"[,，;；、|]+")


def make_article(
    fields: dict[str, Any],
    origin: str,
    context_year: int | None = None,
    *,
    line: int | None = None,
) -> Article | Problem:
    """Validate and normalise one raw record.

    ``origin`` is the file path; ``line`` (JSONL) is kept separately in a Problem and appended as
    ``path:line`` to the Article's origin.
    """

    def problem(reason: str) -> Problem:
        return Problem(path=origin, reason=reason, line=line)

    for name in _TEXT_FIELDS:
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            return problem(f"field '{name}' must be a string, got {_type_name(value)}")
    given_id = fields.get("id")
    if given_id is not None and (isinstance(given_id, bool) or not isinstance(given_id, (str, int))):
        return problem(f"field 'id' must be a string or an integer, got {_type_name(given_id)}")

    published_raw = fields.get("published")
    if published_raw is None or isinstance(published_raw, str):
        published = parse_date(published_raw, context_year) if published_raw else None
    elif isinstance(published_raw, (int, float)) and not isinstance(published_raw, bool):
        published = _parse_epoch(published_raw)
    else:
        return problem(f"field 'published' must be a string or a number, got {_type_name(published_raw)}")

    tags = _clean_tags(fields.get("tags"))
    if isinstance(tags, str):
        return problem(tags)

    title = normalise_line(fields.get("title") or "")
    body = normalise_text(fields.get("body") or "")
    if not title and not body:
        return problem("no title and no body")
    if len(title) + len(body) > MAX_ARTICLE_CHARS:
        return problem(f"article too large: {len(title) + len(body):,} characters of text "
                       f"(limit {MAX_ARTICLE_CHARS:,}); split the export into single articles")
    url = (fields.get("url") or "").strip() or None
    return Article(
        id=stable_id(given_id, url, title, body),
        title=title,
        body=body,
        channel=_optional_line(fields.get("channel")),
        published=published,
        author=_optional_line(fields.get("author")),
        source=_optional_line(fields.get("source")),
        url=url,
        tags=tags,
        origin=f"{origin}:{line}" if line is not None else origin,
    )


def _optional_line(value: str | None) -> str | None:
    return (normalise_line(value) or None) if value else None


def _clean_tags(value: Any) -> list[str] | str:
    """Tags as a de-duplicated list; a string is split on the usual separators. Error -> reason str."""
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = _TAG_SPLIT.split(value)
    elif isinstance(value, list):
        items = value
    else:
        return f"field 'tags' must be a list of strings or a string, got {_type_name(value)}"
    tags: list[str] = []
    for item in items:
        if not isinstance(item, str):
            return f"field 'tags' must contain only strings, found {_type_name(item)}"
        tag = normalise_line(item)
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)
