"""Narrow exception classes of the indexer package; the CLI turns them into click errors."""


class NewsSearchError(Exception):
    """Base class: every message says what went wrong and what to do next."""


class SourceNotFound(NewsSearchError):
    pass


class NothingIndexed(NewsSearchError):
    pass


class IndexMissing(NewsSearchError):
    pass


class WriterBusy(NewsSearchError):
    pass


class IndexDamaged(IndexMissing):
    """The live generation exists but cannot be read (a file missing or corrupt)."""


class DatabaseSourceError(NewsSearchError):
    """A database source cannot be reached or read (the URL in the message has its password masked)."""
