"""Plain data passed between the indexing stages (sources -> parse -> normalise -> analyse -> write)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Article:
    """One normalised news article, ready to be analysed and written.

    ``published`` is an ISO 8601 string (``YYYY-MM-DDTHH:MM:SS``; date-only inputs get ``T00:00:00``)
    or None when the source gave no usable date. ``origin`` says where it came from (``path`` or
    ``path:line``) so that problems and duplicates can be reported precisely.
    """

    id: str
    title: str
    body: str
    channel: str | None = None
    published: str | None = None
    author: str | None = None
    source: str | None = None
    url: str | None = None
    tags: list[str] = field(default_factory=list)
    origin: str = ""


@dataclass
class Problem:
    """An input that could not be used: skipped and reported, never fatal to a rebuild."""

    path: str
    reason: str
    line: int | None = None
    count: int = 1  # inputs this problem stands for (a summary of a file's further bad lines)

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def __str__(self) -> str:
        return f"{self.where()}: {self.reason}"
