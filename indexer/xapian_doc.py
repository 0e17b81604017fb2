"""The Xapian document of one article and the shard specs (format: docs/xapian.md).

Pure functions plus the two openers; the write side (indexer/xapian_store.py) and the query side
(search_service/xapian_*.py) both build on them, so the terms written here are the terms queried.

A local shard spec is a directory holding one Xapian database per generation (``gen-NNNNNN/``)
and a stub file ``XAPIANDB`` naming the live one, so ``xapian.Database(spec)`` opens the live
generation and a switch is one atomic rename. A remote spec (``host:port``) is one database on an
``xapian-tcpsrv``; its generations are told apart by the ``XV<generation>`` term of every document.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import xapian

from indexer.analysis import fold, fold_text
from indexer.enrich import to_document
from indexer.errors import BadShards, ShardUnavailable
from indexer.model import Article
from indexer.schema import build_schema

ENV_ENGINE = "NEWS_SEARCH_ENGINE"
ENV_SHARDS = "NEWS_SEARCH_XAPIAN_SHARDS"
ENV_TIMEOUT = "NEWS_SEARCH_XAPIAN_TIMEOUT_MS"
ENV_PARTIAL = "NEWS_SEARCH_XAPIAN_PARTIAL"
ENV_WRITE_TIMEOUT = "NEWS_SEARCH_XAPIAN_WRITE_TIMEOUT_MS"
DEFAULT_TIMEOUT_MS = 1000
# A writer's idle timeout on a remote shard (NEWS_SEARCH_XAPIAN_WRITE_TIMEOUT_MS): a commit of a
# large batch takes seconds, far more than a query's budget.
WRITE_TIMEOUT_MS = 60_000

# Value slots.
SLOT_TS = 0
SLOT_CHANNEL = 1
SLOT_MONTH = 2
SLOT_COLLAPSE = 3
SLOT_SIMHASH = 4
SLOT_YEAR = 5
SLOT_SPANS = 6  # word spans of the stored title and body (encode_spans): highlights without jieba
SLOT_DOCLEN = 7  # Xapian's document length (decimal): ranking reads it without a call per posting
SLOT_FOLDED = 8  # zlib of the folded title + "\n" + body (Whoosh's `folded` column): no folding per request

# Database metadata keys.
META_GENERATION = "news_search:generation"
META_SHARDS = "news_search:shards"
META_SHARD = "news_search:shard"
META_BUILT = "news_search:built"
META_PENDING = "news_search:pending"  # remote: the generation a rebuild is writing (not yet live)
META_USERDICT = "news_search:userdict"  # the jieba user dictionary (text) the generation was built with

STUB_NAME = "XAPIANDB"  # Xapian opens a directory through this stub file when it holds one
GEN_RE = re.compile(r"^gen-(\d{6})$")

# Every shard database holds one filler document: only this term, no data, no XV<generation>, so
# no term is in every document of a shard. Xapian 1.4 (seen with 1.4.22 and 1.4.26, glass) matches
# an unweighted term held by every document of a database (termfreq == doccount: the generation
# term XV<gen> once older generations are gone) through a shortcut that, after documents were
# deleted from that database, fails with "DatabaseCorruptError: Unexpected end of posting list"
# (nothing is corrupt: xapian-check passes, a compacted copy matches). Issue 15, docs/xapian.md.
FILLER_TERM = "XZfiller"


def ensure_filler(db: Any) -> bool:
    """Add the filler document to a writable database lacking it (committed with the writer's
    next commit). Returns whether it was added."""
    if db.get_termfreq(FILLER_TERM):
        return False
    doc = xapian.Document()
    doc.add_boolean_term(FILLER_TERM)
    db.add_document(doc)
    return True

# Xapian refuses terms over 245 bytes; a longer word (a run of Latin letters) is left out of
# the word terms, where it could only ever match itself.
MAX_TERM_BYTES = 245

_STORED = tuple(name for name in build_schema().stored_names())
_SPEC_HOST_PORT = re.compile(r"^(?P<host>[^\s/:]+|\[[0-9a-fA-F:]+\]):(?P<port>[^:]*)$")


# ---------------------------------------------------------------------------------------------
# Shard specs

def is_local(spec: str) -> bool:
    """A spec containing `/` is a local directory; anything else is host:port."""
    return "/" in spec


def parse_shards(text: str | None) -> list[str]:
    """The shard specs of NEWS_SEARCH_XAPIAN_SHARDS (comma-separated), in order.

    The order is part of the layout: article ids are routed by their position (shard_of)."""
    if text is None or not text.strip():
        raise BadShards(f"{ENV_SHARDS} is empty: give one or more shards as host:port or a directory "
                        f"path, separated by commas (e.g. 10.0.0.1:7001,10.0.0.2:7001)")
    specs: list[str] = []
    for i, raw in enumerate(text.split(","), 1):
        spec = raw.strip()
        if not spec:
            raise BadShards(f"{ENV_SHARDS}: shard {i} is empty in {text!r} (a doubled or trailing comma?)")
        if not is_local(spec):
            m = _SPEC_HOST_PORT.match(spec)
            if not m:
                raise BadShards(f"{ENV_SHARDS}: shard {i} {spec!r} is neither host:port nor a directory path "
                                f"(a path must contain '/', e.g. ./shards/0)")
            port = m.group("port")
            if not port.isdigit() or not 1 <= int(port) <= 65535:
                raise BadShards(f"{ENV_SHARDS}: shard {i} {spec!r} has a bad port {port!r} (1-65535)")
        key = os.path.normpath(spec) if is_local(spec) else spec.lower()
        if key in {os.path.normpath(s) if is_local(s) else s.lower() for s in specs}:
            raise BadShards(f"{ENV_SHARDS}: shard {i} {spec!r} is listed twice")
        specs.append(spec)
    return specs


def shard_of(article_id: str, n: int) -> int:
    """The shard index of an article id among `n` shards (crc32: stable across runs and machines)."""
    if n < 1:
        raise ValueError("shard_of needs at least one shard")
    return zlib.crc32(article_id.encode("utf-8")) % n


def host_port(spec: str) -> tuple[str, int]:
    host, _, port = spec.rpartition(":")
    return host.strip("[]"), int(port)


def generation_number(name: str) -> int:
    m = GEN_RE.match(name)
    return int(m.group(1)) if m else 0


def generation_name(number: int) -> str:
    return f"gen-{number:06d}"


def live_generation_dir(spec: str) -> Path | None:
    """The directory of a local shard's live generation (from its stub), None when it has none."""
    try:
        text = (Path(spec) / STUB_NAME).read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0] == "auto":
            return Path(spec) / parts[1].strip()
    return None


def engine() -> str:
    """NEWS_SEARCH_ENGINE: whoosh (default) or xapian."""
    value = (os.environ.get(ENV_ENGINE) or "whoosh").strip().lower()
    if value not in ("whoosh", "xapian"):
        raise BadShards(f"{ENV_ENGINE}={value!r}: use whoosh (the default) or xapian")
    return value


def configured_shards() -> list[str] | None:
    """The shard specs when NEWS_SEARCH_ENGINE=xapian, None for Whoosh."""
    if engine() != "xapian":
        return None
    return parse_shards(os.environ.get(ENV_SHARDS))


def env_ms(env: str = ENV_TIMEOUT, default: int = DEFAULT_TIMEOUT_MS) -> int:
    """A duration in milliseconds from the environment (NEWS_SEARCH_XAPIAN_TIMEOUT_MS by default)."""
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise BadShards(f"{env}={raw!r}: give a whole number of milliseconds (e.g. {default})")
    return int(raw)


def ensure_local_layout(spec: str) -> None:
    """A local shard directory with its first generation and the stub naming it (when missing)."""
    root = Path(spec)
    if (root / STUB_NAME).is_file() or (root / "iamglass").is_file():
        return
    root.mkdir(parents=True, exist_ok=True)
    first = generation_name(1)
    xapian.WritableDatabase(str(root / first), xapian.DB_CREATE_OR_OPEN).close()
    write_stub(spec, first)


def write_stub(spec: str, generation: str) -> None:
    """Point a local shard at `generation`, atomically (readers opening the shard see one or the other)."""
    root = Path(spec)
    tmp = root / f".{STUB_NAME}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(f"auto {generation}\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / STUB_NAME)


def open_readable(spec: str, timeout_ms: int = DEFAULT_TIMEOUT_MS, generation: str | None = None) -> Any:
    """A read-only database of one shard.

    `generation` (local shards only) opens that generation's directory instead of the live one:
    a reader that serves the oldest generation while a switch is under way (docs/xapian.md).
    Remote shards hold every generation they serve in one database: filter on XV<generation>."""
    try:
        if is_local(spec):
            path = Path(spec) / generation if generation else Path(spec)
            return xapian.Database(str(path))
        host, port = host_port(spec)
        return xapian.remote_open(host, port, timeout_ms, timeout_ms)
    except (xapian.DatabaseOpeningError, xapian.NetworkError, xapian.DatabaseError) as exc:
        raise ShardUnavailable(spec, f"cannot open shard {spec} for reading: {exc.get_msg()}") from None


def open_writable(spec: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Any:
    """A writable database of one shard (a local one: its live generation, created when missing).

    `timeout_ms` is the connect timeout of a remote shard; its idle timeout is
    NEWS_SEARCH_XAPIAN_WRITE_TIMEOUT_MS (default WRITE_TIMEOUT_MS), since a commit takes longer
    than a query's budget.

    A second writer gets xapian.DatabaseLockError; callers turn that into WriterBusy."""
    try:
        if is_local(spec):
            ensure_local_layout(spec)
            return xapian.WritableDatabase(str(spec), xapian.DB_CREATE_OR_OPEN)
        host, port = host_port(spec)
        return xapian.remote_open_writable(host, port, env_ms(ENV_WRITE_TIMEOUT, WRITE_TIMEOUT_MS), timeout_ms)
    except xapian.DatabaseLockError:
        raise
    except (xapian.DatabaseOpeningError, xapian.NetworkError, xapian.DatabaseError) as exc:
        raise ShardUnavailable(spec, f"cannot open shard {spec} for writing: {exc.get_msg()}") from None


# ---------------------------------------------------------------------------------------------
# Documents

def stored_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """What the Whoosh index stores for an article (its stored_fields()), from to_document()."""
    out: dict[str, Any] = {}
    for name in _STORED:
        key = f"_stored_{name}"
        if key in fields:
            out[name] = str(fields[key])
        elif name in fields:
            value = fields[name]
            out[name] = str(value) if isinstance(value, str) else value
    return out


def _ok(term: str) -> bool:
    return len(term.encode("utf-8")) <= MAX_TERM_BYTES


def _add_chars(doc: Any, prefix: str, folded: str) -> None:
    """Per-character terms with positions 1..len; whitespace is skipped but keeps its position."""
    for pos, ch in enumerate(folded, 1):
        if not ch.isspace():
            doc.add_posting(prefix + ch, pos, 0)


def _add_words(doc: Any, prefix: str, tokens: Iterable[str]) -> int:
    """Add the word terms; returns the wdf added (what they add to the document length)."""
    added = 0
    for word, count in Counter(tokens).items():
        term = prefix + word
        if _ok(term):
            doc.add_term(term, count)
            added += count
    return added


def _add_boolean(doc: Any, term: str) -> None:
    if _ok(term):
        doc.add_boolean_term(term)


def _tokens(value: Any) -> list[str]:
    """The index-mode word tokens of a field value, as Whoosh's ChineseTokenizer yields them."""
    replay = getattr(value, "tokens", None)
    if replay is not None:
        return [t[0] for t in replay]
    from indexer.analysis import ChineseTokenizer

    return [t.text for t in ChineseTokenizer()(str(value), mode="index")]


def document_from_fields(fields: dict[str, Any], generation: str, collapse_key: str = "") -> Any:
    """The Xapian document of an article already analysed by indexer.enrich.to_document."""
    article_id = fields["id"]
    if not _ok("Q" + article_id):
        raise ValueError(f"article id {article_id[:40]!r}... is longer than {MAX_TERM_BYTES - 1} bytes")
    doc = xapian.Document()
    stored = stored_fields(fields)
    doc.set_data(json.dumps(stored, ensure_ascii=False))
    doc.add_boolean_term("Q" + article_id)
    doc.add_boolean_term("XV" + generation)

    channel = fields.get("channel")
    if channel:
        _add_boolean(doc, "XC" + channel)
        _add_boolean(doc, "XF" + fold_text(channel.strip()))
        doc.add_value(SLOT_CHANNEL, channel.encode("utf-8"))
    if "year" in fields:
        _add_boolean(doc, f"XY{fields['year']}")
        _add_boolean(doc, "XM" + fields["month"])
        doc.add_value(SLOT_MONTH, fields["month"].encode("utf-8"))
        doc.add_value(SLOT_YEAR, str(fields["year"]).encode("utf-8"))
    for name, prefix in (("author", "XA"), ("source", "XS")):
        if fields.get(name):
            _add_boolean(doc, prefix + fold_text(fields[name]))
    if fields.get("tags"):
        # Whoosh's KEYWORD(commas=True, lowercase=True): split on commas, strip, lower-case.
        for tag in {t.strip().lower() for t in fields["tags"].split(",")}:
            if tag:
                _add_boolean(doc, "XG" + tag)

    # Exact-substring terms, from the same folded text as Whoosh's `folded` column (title + "\n" + body).
    folded = fields["folded"].decode("utf-8") if isinstance(fields["folded"], bytes) else fields["folded"]
    doc.add_value(SLOT_FOLDED, zlib.compress(folded.encode("utf-8"), 6))
    title_f, _, body_f = folded.partition("\n")
    _add_chars(doc, "T#", title_f)
    _add_chars(doc, "B#", body_f)
    squeezed = squeeze(body_f)
    if squeezed:
        doc.add_boolean_term("XH" + body_hash(squeezed))  # identical bodies, for reprint keys on update

    # Word terms for ranking (wdf = term frequency, sub-words included).
    length = _add_words(doc, "T", _tokens(fields["title"]))
    length += _add_words(doc, "B", _tokens(fields["body"]))
    for name, prefix in (("author", "A"), ("source", "S")):
        if fields.get(name):
            length += _add_words(doc, prefix, _tokens(fields[name]))
    length += _add_words(doc, "K", fields.get("keywords", "").split())
    # Every other term has wdf 0, so this is Xapian's length of the document.
    doc.add_value(SLOT_DOCLEN, str(length).encode("ascii"))

    spans = encode_spans(folded_word_spans(fields["title"]), folded_word_spans(fields["body"]))
    doc.add_value(SLOT_SPANS, spans)
    doc.add_value(SLOT_TS, xapian.sortable_serialise(fields["ts"]))
    doc.add_value(SLOT_COLLAPSE, collapse_key.encode("utf-8"))
    doc.add_value(SLOT_SIMHASH, f"{fields['simhash']:016x}".encode("ascii"))
    return doc


def document(article: Article, generation: str = "gen-000001", collapse_key: str = "") -> Any:
    """The Xapian document of one article (analysis as indexer.enrich does it for Whoosh)."""
    return document_from_fields(to_document(article), generation, collapse_key)


# ---------------------------------------------------------------------------------------------
# Word spans (value SLOT_SPANS)
#
# The highlighter needs, for the stored title and body, where each index-mode word lies in the
# folded text (its sub-words share its span). Index time has them already (the analysed tokens):
# each word's (start, end) in the folded text is stored as the varints of (start - previous end,
# end - start), title then body, each preceded by its word count + 1 (0: not stored, readers
# segment the text again), the whole zlib-compressed. Offsets are in the folded text (what
# indexer.analysis.word_spans segments), so the reader maps them to the original text exactly as
# word_spans does.

def folded_word_spans(value: Any) -> list[tuple[int, int]] | None:
    """(start, end) in fold(value)'s text of each index-mode word (sub-words left out: they share
    their word's span); None when the tokens cannot be placed in the folded text."""
    text = str(value or "")
    replay = getattr(value, "tokens", None)
    if replay is None:
        from indexer.analysis import word_spans

        replay = list(word_spans(text, expand=False))
    folded, mapping = fold(text)
    out: list[tuple[int, int]] = []
    last_pos = None
    cursor = 0
    for term, pos, s, _e in replay:
        if pos == last_pos:
            continue  # a sub-word: its parent's span
        last_pos = pos
        start = s
        if mapping is not None:  # folding changed lengths: find the word where it maps to s
            start = folded.find(term, cursor)
            while start >= 0 and mapping[start] != s:
                start = folded.find(term, start + 1)
            if start < 0:
                return None
        elif folded[start:start + len(term)] != term:
            return None
        out.append((start, start + len(term)))
        cursor = start + len(term)
    return out


def _varints(values: Iterable[int]) -> bytearray:
    out = bytearray()
    for v in values:
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
    return out


def encode_spans(*fields: list[tuple[int, int]] | None) -> bytes:
    """The SLOT_SPANS value of the given fields' word spans (folded_word_spans)."""
    values: list[int] = []
    for spans in fields:
        if spans is None:
            values.append(0)
            continue
        values.append(len(spans) + 1)
        end = 0
        for s, e in spans:
            values += (s - end, e - s)
            end = e
    return zlib.compress(bytes(_varints(values)), 6)


def decode_spans(blob: bytes, n_fields: int = 2) -> list[tuple[Any, Any] | None]:
    """(starts, ends) as int64 numpy arrays per field of a SLOT_SPANS value (None: not stored)."""
    import numpy as np

    raw = np.frombuffer(zlib.decompress(blob), dtype=np.uint8)
    if (raw & 0x80).any():  # a value of 128 or more: decode the varints one by one
        values: list[int] = []
        v = shift = 0
        for byte in raw.tolist():
            v |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                values.append(v)
                v = shift = 0
        vals = np.asarray(values, dtype=np.int64)
    else:
        vals = raw.astype(np.int64)
    out: list[tuple[Any, Any] | None] = []
    i = 0
    for _ in range(n_fields):
        if i >= len(vals):
            out.append(None)
            continue
        n = int(vals[i]) - 1
        i += 1
        if n < 0:
            out.append(None)
            continue
        bounds = np.cumsum(vals[i:i + 2 * n])
        i += 2 * n
        out.append((bounds[0::2], bounds[1::2]))  # (gap, length) pairs summed: start, end, start...
    return out


def squeeze(folded_body: str) -> str:
    """The folded body without whitespace: what reprint detection compares."""
    return "".join(folded_body.split())


def body_hash(squeezed: str) -> str:
    return hashlib.blake2b(squeezed.encode("utf-8"), digest_size=8).hexdigest()


def stored_of(doc: Any) -> dict[str, Any]:
    """The stored fields of a Xapian document (its data)."""
    return json.loads(doc.get_data().decode("utf-8"))


def shard_error(exc: Any, spec: str, doing: str) -> ShardUnavailable:
    """A Xapian failure on one shard as a one-line error naming the shard."""
    context = exc.get_context() if hasattr(exc, "get_context") else ""
    where = f" ({context})" if context else ""
    return ShardUnavailable(spec, f"shard {spec} failed while {doing}: {exc.get_msg()}{where}")


def serving_generation(generations: Iterable[str]) -> str | None:
    """The generation readers serve: the oldest one the reachable shards name (docs/xapian.md)."""
    named = [g for g in generations if g]
    return min(named, key=generation_number) if named else None
