"""Articles straight from a CMS database: a SQLAlchemy URL plus a mapping of result columns to fields.

A mapping is a small TOML file (or the built-in DedeCMS preset). Rows are read with one query,
each live row becomes an Article through the same normalisation as files (bodies through the HTML
fragment path), and a bad row is a Problem naming its primary key. Passwords never leave this
module unmasked: every label and error message uses ``mask_url``.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from indexer.encoding import decode_bytes
from indexer.errors import DatabaseSourceError
from indexer.model import Article, Problem
from indexer.normalise import make_article
from indexer.parse_html import fragment_to_text

_URL_RE = re.compile(r"^(?:mysql|mariadb|postgresql|postgres|sqlite|mssql|oracle)(?:\+[\w-]+)?://", re.I)
_IDENT_RE = re.compile(r"^[A-Za-z0-9_]*$")
FIELDS = ("id", "title", "body", "channel", "published", "author", "source", "url", "tags")
LIVE_COLUMN = "ns_live"  # added by the wrapping query: 1 for rows that should be searchable
_TOP_KEYS = {"query", "table", "live", "modified", "encoding", "body_format", "url_template", "base_url",
             "id_prefix", "columns"}
_UTF8 = {"utf-8", "utf8", "utf8mb4"}


def is_db_url(source: str) -> bool:
    return bool(_URL_RE.match(source))


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, for every message a user or a log may see."""
    return re.sub(r"^([^:/]+://[^:@/]*):[^@/]*@", r"\1:***@", url)


@dataclass
class Mapping:
    """Which query to run and which of its columns hold which article field."""

    query: str
    columns: dict[str, str]
    live: str | None = None          # SQL condition over the query's columns
    modified: str | None = None      # column that grows when a row changes (sync watermark)
    encoding: str = "auto"           # auto: repair latin1-declared columns holding GBK/UTF-8 bytes
    body_format: str = "html"
    url_template: str | None = None  # "/{typedir}/{id}.html": result columns in braces
    base_url: str = ""
    id_prefix: str = ""
    prepare: Callable[[dict[str, Any]], None] | None = None  # preset-specific row clean-up
    name: str = "mapping"


def dedecms_preset(prefix: str = "dede_") -> Mapping:
    """DedeCMS 5.x: {prefix}archives joined to {prefix}addonarticle (body) and {prefix}arctype (channel).

    arcrank -1 is "awaiting review" and -2 the recycle bin: only arcrank >= 0 is live.
    """
    if not _IDENT_RE.match(prefix):
        raise DatabaseSourceError(f"--table-prefix {prefix!r}: only letters, digits and _ are allowed")
    query = (
        "SELECT a.id AS id, a.title AS title, a.writer AS writer, a.source AS source, a.pubdate AS pubdate,"
        " a.keywords AS keywords, a.arcrank AS arcrank, t.typename AS typename, t.typedir AS typedir,"
        f" b.body AS body FROM {prefix}archives a JOIN {prefix}addonarticle b ON b.aid = a.id"
        f" LEFT JOIN {prefix}arctype t ON t.id = a.typeid")
    return Mapping(
        query=query, live="arcrank >= 0", url_template="/{typedir}/{id}.html", prepare=_dedecms_row,
        columns={"id": "id", "title": "title", "body": "body", "channel": "typename", "published": "pubdate",
                 "author": "writer", "source": "source", "tags": "keywords"},
        name=f"preset dedecms ({prefix})")


def _dedecms_row(row: dict[str, Any]) -> None:
    # typedir is stored as "{cmspath}/hqxw": the placeholder is the site's install path, "" at the root.
    typedir = str(row.get("typedir") or "").replace("{cmspath}", "")
    row["typedir"] = typedir.strip("/")


def load_mapping(path: str | Path) -> Mapping:
    """Read a mapping file; every mistake names the file and the key."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DatabaseSourceError(f"cannot read mapping file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DatabaseSourceError(f"mapping file {path}: invalid TOML ({exc})") from None

    def bad(msg: str) -> DatabaseSourceError:
        return DatabaseSourceError(f"mapping file {path}: {msg}")

    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (expected {', '.join(sorted(_TOP_KEYS))})")
    if ("query" in data) == ("table" in data):
        raise bad("give exactly one of 'query' (SQL) or 'table' (a table name)")
    if "table" in data and not re.match(r"^[A-Za-z_][\w.]*$", str(data["table"])):
        raise bad(f"'table' {data['table']!r} is not a plain table name")
    columns = data.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise bad("[columns] must map field names to column names (strings)")
    wrong = sorted(set(columns) - set(FIELDS))
    if wrong:
        raise bad(f"[columns] has unknown field {wrong[0]!r} (fields: {', '.join(FIELDS)})")
    if "id" not in columns or not ({"title", "body"} & set(columns)):
        raise bad("[columns] needs 'id' and at least one of 'title' or 'body'")
    if data.get("body_format", "html") not in ("html", "text"):
        raise bad("'body_format' must be \"html\" or \"text\"")
    for key in ("live", "modified", "encoding", "url_template", "base_url", "id_prefix"):
        if key in data and not isinstance(data[key], str):
            raise bad(f"'{key}' must be a string")
    if "encoding" in data and data["encoding"] != "auto":
        try:
            "".encode(data["encoding"])
        except LookupError:
            raise bad(f"'encoding' {data['encoding']!r} is not a known encoding") from None
    query = data.get("query") or f"SELECT * FROM {data['table']}"
    return Mapping(query=str(query), columns=dict(columns), live=data.get("live"), modified=data.get("modified"),
                   encoding=data.get("encoding", "auto"), body_format=data.get("body_format", "html"),
                   url_template=data.get("url_template"), base_url=data.get("base_url", ""),
                   id_prefix=data.get("id_prefix", ""), name=str(path))


# ------------------------------------------------------------------------------------ text repair

def _as_bytes(text: str) -> bytes | None:
    """Undo MySQL's latin1 -> utf8 conversion (MySQL's latin1 is cp1252); None for real Unicode text."""
    out = bytearray()
    for ch in text:
        if ord(ch) < 256:
            out.append(ord(ch))
        else:
            try:
                out += ch.encode("cp1252")
            except UnicodeEncodeError:
                return None
    return bytes(out)


def column_text(value: Any, encoding: str = "auto") -> str | None:
    """A column value as text. Old GBK sites store GBK bytes in latin1-declared tables: the driver
    hands those over as Latin-1 mojibake, which is turned back into bytes and decoded properly."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return decode_bytes(data) if encoding == "auto" else data.decode(encoding)
    if not isinstance(value, str):
        return str(value)
    if encoding.lower() in _UTF8 or value.isascii():
        return value
    raw = _as_bytes(value)
    if raw is None:
        return value  # characters beyond Latin-1: already real Unicode
    if encoding != "auto":
        return raw.decode(encoding)
    try:
        return decode_bytes(raw)
    except ValueError:
        return value  # genuine Western text such as "café"


# ------------------------------------------------------------------------------------------ source

@dataclass
class DbSource:
    """A database to read articles from. ``url`` may lack the password; ``password`` supplies it."""

    url: str
    mapping: Mapping
    password: str | None = None
    _engine: Any = field(default=None, repr=False)
    # What the last iter_articles read: live row id -> fingerprint, and the highest `modified` value.
    seen: dict[str, str] = field(default_factory=dict, repr=False)
    watermark: Any = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return mask_url(self.url)

    def __str__(self) -> str:
        return self.label

    def key(self) -> str:
        """Identifies source + mapping in the sync state (no secrets in it)."""
        where = self.label.replace(":***@", "@")  # the same with an inline password or --password-env
        return hashlib.sha1(f"{where}\n{self.mapping.query}\n{self.mapping.columns}".encode()).hexdigest()[:16]

    def engine(self) -> Any:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> Any:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError
        from sqlalchemy.pool import NullPool

        try:
            url = make_url(self.url)
            if self.password is not None:
                url = url.set(password=self.password)
            args: dict[str, Any] = {}
            if url.get_backend_name() in ("mysql", "mariadb"):
                args = {"connect_timeout": 10, "charset": "utf8mb4"}
            return create_engine(url, poolclass=NullPool, connect_args=args)
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise DatabaseSourceError(f"{self.label}: not a usable database URL ({self._scrub(str(exc))})") from None
        except ModuleNotFoundError as exc:
            raise DatabaseSourceError(f"{self.label}: the database driver {exc.name!r} is not installed "
                                      f"(pip install it)") from None

    def _scrub(self, text: str) -> str:
        for secret in filter(None, (self.password, _url_password(self.url))):
            text = text.replace(secret, "***")
        return text

    def error(self, exc: Exception) -> DatabaseSourceError:
        """One line for a failed connection or query, with what to do about it."""
        orig = getattr(exc, "orig", None) or exc
        args = getattr(orig, "args", ())
        code = args[0] if args and isinstance(args[0], int) else None
        detail = str(args[1]) if code is not None and len(args) > 1 else str(orig).split("\n")[0]
        hints = {1045: "wrong user name or password (give it with --password-env VAR or --password-file FILE)",
                 2003: "server unreachable: check the host and port, and that the server is running",
                 1049: "unknown database", 1146: "table not found (check --table-prefix or the mapping)",
                 1064: "SQL syntax error in the mapping's query"}
        hint = hints.get(code or 0)
        msg = f"{hint}: {detail}" if hint else detail
        return DatabaseSourceError(f"database {self.label}: {self._scrub(msg)}")

    def wrapped_query(self, since: bool = False, ids_only: bool = False) -> str:
        m = self.mapping
        live = f"CASE WHEN ({m.live}) THEN 1 ELSE 0 END" if m.live else "1"
        cols = f"src.{m.columns['id']}" if ids_only else "src.*"
        where = f" WHERE src.{m.modified} >= :since" if since and m.modified else ""
        return f"SELECT {cols}, {live} AS {LIVE_COLUMN} FROM ({m.query}) src{where}"

    def rows(self, since: Any = None, ids_only: bool = False) -> list[dict[str, Any]]:
        """All rows (or those modified since `since`), each with its ns_live flag."""
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        sql = self.wrapped_query(since=since is not None, ids_only=ids_only)
        try:
            with self.engine().connect() as conn:
                result = conn.execute(text(sql), {"since": since} if since is not None else {})
                return [dict(r._mapping) for r in result]
        except SQLAlchemyError as exc:
            raise self.error(exc) from None

    def check(self) -> None:
        """Connect and run the query once (no rows fetched): a clear error before touching the index."""
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine().connect() as conn:
                conn.execute(text(self.wrapped_query() + " WHERE 1 = 0")).fetchall()
        except SQLAlchemyError as exc:
            raise self.error(exc) from None

    def row_id(self, row: dict[str, Any]) -> str:
        value = row.get(self.mapping.columns["id"])
        return "" if value is None else f"{self.mapping.id_prefix}{value}"

    def to_article(self, row: dict[str, Any]) -> Article | Problem:
        """One row -> Article, or a Problem naming the row's primary key."""
        m = self.mapping
        pk = self.row_id(row)
        where = f"{self.label} row {m.columns['id']}={row.get(m.columns['id'])}"
        if not pk:
            return Problem(path=where, reason="empty id")
        try:
            row = {k: column_text(v, m.encoding) if isinstance(v, (str, bytes, bytearray, memoryview)) else v
                   for k, v in row.items()}
            if m.prepare is not None:
                m.prepare(row)
            fields: dict[str, Any] = {"id": pk}
            for name, column in m.columns.items():
                if name != "id":
                    fields[name] = row.get(column)
            body = fields.get("body")
            if isinstance(body, str) and m.body_format == "html":
                fields["body"] = fragment_to_text(body)
            fields["published"] = _published(fields.get("published"))
            if m.url_template:
                # An empty column must not leave "//" in the path ("/{typedir}/{id}.html", no typedir).
                fields["url"] = m.base_url + re.sub(r"(?<!:)/{2,}", "/", m.url_template.format_map(_Blank(row)))
            elif fields.get("url") and m.base_url and str(fields["url"]).startswith("/"):
                fields["url"] = m.base_url + str(fields["url"])
            for name in ("title", "channel", "author", "source", "url", "tags"):
                if fields.get(name) is not None and not isinstance(fields[name], str):
                    fields[name] = str(fields[name])
        except (ValueError, UnicodeDecodeError, LookupError) as exc:
            return Problem(path=where, reason=f"undecodable text ({exc})")
        except (KeyError, AttributeError, IndexError) as exc:
            return Problem(path=where, reason=f"url_template {m.url_template!r}: {exc}")
        result = make_article(fields, where)
        if isinstance(result, Article):
            result.origin = where
        return result

    def iter_articles(self) -> Iterator[Article | Problem]:
        """Every live row as an Article (rebuild, update); records `seen` and `watermark`."""
        self.seen, self.watermark = {}, None
        rows = self.rows()
        self.watermark = max_modified(rows, self.mapping.modified)
        for row in rows:
            if row.get(LIVE_COLUMN):
                self.seen[self.row_id(row)] = fingerprint(row)
                yield self.to_article(row)


def max_modified(rows: list[dict[str, Any]], column: str | None, start: Any = None) -> Any:
    """The sync watermark: the highest modification value seen, as JSON-friendly text or number."""
    best = start
    for row in rows if column else ():
        value = row.get(column)
        if isinstance(value, (datetime, date)):
            value = str(value)
        elif value is not None and not isinstance(value, (int, float, str)):
            value = str(value)
        if value is not None and (best is None or value > best):
            best = value
    return best


class _Blank(dict):  # type: ignore[type-arg]
    """format_map source: None columns render as empty strings."""

    def __missing__(self, key: str) -> Any:
        raise KeyError(f"no column {key!r} in the query result")

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return "" if value is None else value


def fingerprint(row: dict[str, Any]) -> str:
    """A digest of the raw row (live flag included): changes are found before any parsing."""
    return hashlib.sha1(repr(sorted(row.items())).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _published(value: Any) -> Any:
    """Datetimes and dates to ISO text; Unix times stay numbers (0 is DedeCMS's "no date")."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if value > 0 else None
    return value if value is None or isinstance(value, str) else str(value)


def _url_password(url: str) -> str | None:
    match = re.match(r"^[^:/]+://[^:@/]*:([^@/]*)@", url)
    return match.group(1) if match and match.group(1) else None
