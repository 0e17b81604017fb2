"""Narrow exception classes of the indexer package; the CLI turns them into click errors."""


class NewsSearchError(Exception):
    """Base class: every message says what went wrong and what to do next."""


class SourceNotFound(NewsSearchError):
    pass


class NothingIndexed(NewsSearchError):
    pass


class IndexUnavailable(NewsSearchError):
    """No live index can be read; the service answers 503 with this code."""

    status = 503
    code = "index_unavailable"


class IndexMissing(IndexUnavailable):
    """INDEX_DIR has no live generation (nothing built yet)."""


class GenerationIncomplete(NewsSearchError):
    """A generation without its metadata (a build that did not finish) cannot be made live."""


class NothingToRollBack(NewsSearchError):
    """No complete previous generation to make live again."""


class SchemaMismatch(NewsSearchError):
    """The live generation was written with another schema version: rebuild, do not update."""


class WriterBusy(NewsSearchError):
    pass


class IndexDamaged(IndexUnavailable):
    """The live generation exists but cannot be read (a file missing or corrupt)."""


class BadDictionary(NewsSearchError):
    """A user dictionary that cannot be read as UTF-8 text (names the file and line)."""


class UnsafeState(NewsSearchError):
    """A destructive command refused: the index state it would decide from cannot be trusted."""


class ShrinkRefused(NewsSearchError):
    """A rebuild produced far fewer articles than the live generation holds."""


class DatabaseSourceError(NewsSearchError):
    """A database source cannot be reached or read (the URL in the message has its password masked)."""


class BadShards(NewsSearchError):
    """NEWS_SEARCH_XAPIAN_SHARDS (or a shard layout) that cannot be used; names the shard."""


class ShardUnavailable(NewsSearchError):
    """A Xapian shard cannot be opened or answered; `spec` names it (host:port or directory)."""

    status = 503
    code = "shards_unavailable"

    def __init__(self, spec: str, message: str) -> None:
        super().__init__(message)
        self.spec = spec
