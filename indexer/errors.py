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


class UnsafeState(NewsSearchError):
    """A destructive command refused: the index state it would decide from cannot be trusted."""


class ShrinkRefused(NewsSearchError):
    """A rebuild produced far fewer articles than the live generation holds."""
