"""A Whoosh SegmentWriter that names the phases of its commit and writes each new segment's
n-gram arrays (indexer/ngrams.py) and column arrays (indexer/columns.py) before the TOC that
makes the segment visible."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from whoosh.writing import SegmentWriter

from indexer import columns, ngrams


class PhasedWriter(SegmentWriter):
    """``on_phase(name)`` is called as the commit merges old segments ("merge"), writes the new
    one ("write") and builds the n-gram arrays ("columns")."""

    def __init__(self, ix: Any, *, on_phase: Callable[[str], None] | None = None, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        self.on_phase = on_phase
        # Segments of earlier commits keep what they have: an index written before n-grams
        # existed is not converted by a 3-article update (rebuild or optimize converts it).
        self._earlier = {s.segment_id() for s in self.segments}

    def _phase(self, name: str) -> None:
        if self.on_phase is not None:
            self.on_phase(name)

    def _merge_segments(self, mergetype: Any, optimize: Any, merge: Any) -> Any:
        self._phase("merge")
        return super()._merge_segments(mergetype, optimize, merge)

    def _finalize_segment(self) -> Any:
        self._phase("write")
        return super()._finalize_segment()

    def _commit_toc(self, segments: list[Any]) -> None:
        self._phase("columns")
        new = [s for s in segments if s.segment_id() not in self._earlier]
        ngrams.write_missing(self.storage, self.schema, new)
        columns.write_missing(self.storage, self.schema, new)  # lengths, dates, frequent postings
        self._write_toc(segments)

    def commit_segments(self, segments: list[Any]) -> None:
        """Commit segments other processes wrote into this index (indexer/parallel_build.py) with
        their arrays, after the existing ones; this writer added nothing itself."""
        self._check_state()
        final = list(self.segments)  # a new generation has none; nothing is merged
        self._close_segment()
        new = list(segments)
        ngrams.write_missing(self.storage, self.schema, new)  # written by the workers: no-ops
        columns.write_missing(self.storage, self.schema, new)
        self._write_toc(final + new)
        self._finish()

    def _write_toc(self, segments: list[Any]) -> None:
        super()._commit_toc(segments)
