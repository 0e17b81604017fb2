"""What readers' searches may put on public lists (热门搜索, 大家都在搜, 相关搜索, suggestions).

A logged query is shown to other visitors only when
- at least ``min_visitors`` distinct visitors searched it on one day (querylog counts a visitor
  once a day, so nothing one visitor sends can qualify on its own, however often it is sent);
- it found results;
- it is plain words: no field query (``author:``), no operators, quotes or exclusions (which let
  a visitor attach any text to a query that finds something), at most MAX_WORDS words;
- it is not a single character, not a function word, not personal data or a contact lure;
- it passes the editors' block list.
Editors steer the lists with two files in the index directory, re-read when they change:

- ``hot_block.txt``: one entry a line, ``#`` starts a comment. A word blocks every query that
  contains it (compared folded: case, width, traditional/simplified); ``re:PATTERN`` is a regular
  expression searched in the folded query.
- ``hot_pinned.txt``: one query a line; pinned queries come first in hot searches, in file order.
  ``allow:QUERY`` lets a query through the block list and the content rules (it still needs the
  visitors and the results).

A query with a spelling correction (``correct(q)``, from the index's suggestion data) is listed
as its corrected form, its visitors added to the correction's, so a common typo never outranks
the word it misspells.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.analysis import fold_text
from search_service.match import STOP_WORDS
from search_service.queryfilter import clean, personal

log = logging.getLogger(__name__)

BLOCK_FILE = "hot_block.txt"
PINNED_FILE = "hot_pinned.txt"
DEFAULT_MIN_VISITORS = 5
LOWEST_MIN_VISITORS = 2   # one visitor must never be enough, whatever the configuration
MAX_WORDS = 4
MAX_PUBLIC_CHARS = 30
MAX_CANDIDATES = 500      # logged queries considered per list
_SYNTAX = re.compile(r"[\"“”()（）|&:：*?]|(?:^|\s)[-－]|(?:^|\s)(?:OR|AND|NOT)(?:\s|$)")


@dataclass
class EditorLists:
    words: list[str] = field(default_factory=list)            # folded block words
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)
    allowed: set[str] = field(default_factory=set)            # folded allowed queries
    problems: list[str] = field(default_factory=list)

    def blocked(self, q: str) -> bool:
        f = fold_text(q)
        return any(w in f for w in self.words) or any(p.search(f) for p in self.patterns)


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return []
    return ((n, line.split("#", 1)[0].strip()) for n, line in enumerate(text.splitlines(), 1))


def parse_files(root: Path) -> EditorLists:
    lists = EditorLists()
    for n, line in _lines(root / BLOCK_FILE):
        if not line:
            continue
        if line.startswith("re:"):
            try:
                lists.patterns.append(re.compile(line[3:].strip()))
            except re.error as exc:
                lists.problems.append(f"{root / BLOCK_FILE}:{n}: bad pattern {line[3:].strip()!r}: {exc}")
        else:
            lists.words.append(fold_text(line))
    for _n, line in _lines(root / PINNED_FILE):
        if line.startswith("allow:"):
            if clean(line[6:]):
                lists.allowed.add(fold_text(clean(line[6:])))
        elif clean(line):
            lists.pinned.append(clean(line))
    lists.pinned = list(dict.fromkeys(lists.pinned))
    for problem in lists.problems:
        log.warning("%s", problem)
    return lists


class EditorFiles:
    """hot_block.txt and hot_pinned.txt of one directory, re-parsed when either changes."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._stamp: tuple[Any, ...] | None = None
        self._lists = EditorLists()

    def _stat(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for name in (BLOCK_FILE, PINNED_FILE):
            try:
                st = (self.root / name).stat()
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def lists(self) -> EditorLists:
        stamp = self._stat()
        with self._lock:
            if stamp != self._stamp:
                self._lists, self._stamp = parse_files(self.root), stamp
            return self._lists


def hidden_reason(q: str, lists: EditorLists) -> str | None:
    """Why a (cleaned) query may not be shown whatever its count, or None."""
    if personal(q):
        return "personal"
    allowed = fold_text(q) in lists.allowed
    if not allowed and lists.blocked(q):
        return "blocked"
    if _SYNTAX.search(q):
        return "syntax"
    if allowed:
        return None
    tokens = q.split()
    if len(tokens) > MAX_WORDS or len(q) > MAX_PUBLIC_CHARS:
        return "long"
    if len("".join(tokens)) <= 1:
        return "single_character"
    if any(fold_text(t) in STOP_WORDS for t in tokens):
        return "function_word"
    return None


def min_visitors(configured: Any) -> int:
    return max(LOWEST_MIN_VISITORS, int(configured if configured is not None else DEFAULT_MIN_VISITORS))


def public_queries(rows: Iterable[tuple[str, int, int, int]], lists: EditorLists, min_count: int,
                   correct: Callable[[str], str | None] | None = None,
                   limit: int = 10, pinned: bool = True) -> list[dict[str, Any]]:
    """The public list from querylog.visitors() rows: pinned entries first (in file order), then
    eligible queries by visitor-days. Each entry is {"q", "count"} (+ "pinned": true)."""
    counts: dict[str, int] = {}
    extra: dict[str, int] = {}  # visitors of typos too rare to list on their own
    for q, c, peak, hits in rows:
        if hidden_reason(q, lists):
            continue
        fixed = correct(q) if correct else None
        if fixed and fixed != q and not hidden_reason(fixed, lists):
            # The correction takes the typo's place and its visitors; it is made of words the
            # index holds, so the typo finding nothing does not matter.
            target = counts if peak >= min_count else extra
            target[fixed] = target.get(fixed, 0) + c
        elif hits > 0:
            target = counts if peak >= min_count else extra
            target[q] = target.get(q, 0) + c
    for q, c in extra.items():  # rare forms only add to what is listed anyway
        if q in counts:
            counts[q] += c
    out: list[dict[str, Any]] = []
    if pinned:
        out = [{"q": p, "count": counts.pop(p, 0), "pinned": True} for p in lists.pinned if not personal(p)]
    out += [{"q": q, "count": c} for q, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return out[:limit]


STRONGER = 5.0  # a homophone this many times more used in the archive is taken as the meant word


def _homophone_fix(data: Any, q: str) -> str | None:
    """`q` with its first indexed word replaced by a far more used homophone (神州十八号 ->
    神舟十八号), or None. suggest.corrections leaves words the index holds alone, but a typo can
    be a real word too."""
    from search_service.suggest import syllables

    folded = fold_text(q)
    for i in range(len(folded)):
        for n in (4, 3, 2):
            window = folded[i:i + n]
            han = all("\u4e00" <= ch <= "\u9fff" for ch in window)
            if len(window) < n or window not in data.vocab or not han:
                continue
            own = data.vocab[window]
            best = max((w for w in data.homophones.get(syllables(window), []) if w != window),
                       key=lambda w: data.vocab.get(w, 0), default=None)
            if best and data.vocab.get(best, 0) >= STRONGER * own:
                return folded[:i] + best + folded[i + n:]
    return None


def correction_of(snap: Any, count: Callable[[str], int] | None = None) -> Callable[[str], str | None]:
    """q -> its spelling correction from the index's suggestion data (memoised per snapshot).
    With `count`, a far more used homophone also corrects, when it finds more than `q`."""
    from search_service import suggest

    memo: dict[str, str | None] = snap.cached("public_corrections", dict)

    def correct(q: str) -> str | None:
        if q not in memo:
            data = suggest.suggest_data(snap)
            found = suggest.corrections(data, q, limit=1)
            fixed = found[0] if found else None
            if fixed is None and count is not None:
                alt = _homophone_fix(data, q)
                fixed = alt if alt and count(alt) > count(q) else None
            memo[q] = fixed
        return memo[q]
    return correct


def listed(qlog: Any, lists: EditorLists, min_count: int, index: Any | None,
           days: int = 7, limit: int = 10, pinned: bool = True) -> list[dict[str, Any]]:
    """The public list from a QueryLog; `index` (a SearchIndex, or None) gives corrections."""
    rows = qlog.visitors(days, MAX_CANDIDATES)  # rarer rows too: a typo's visitors count for its correction
    correct = None
    if rows and index is not None:
        from search_service import core
        from search_service.params import parse_search_params

        def count(q: str) -> int:
            return int(core.search(index, parse_search_params({"q": [q], "per_page": ["1"]}))["total"])
        if getattr(index, "engine_name", "whoosh") != "whoosh":  # the Xapian shards
            from search_service import xapian_suggest

            correct = correction_of(xapian_suggest.view(index), count)
        else:
            correct = correction_of(index.snapshot(), count)
    return public_queries(rows, lists, min_count, correct, limit, pinned)


def related(q: str, words: Callable[[str], list[str]], entries: Iterable[dict[str, Any]],
            limit: int = 8) -> list[str]:
    """Public queries sharing a word (two characters or more) with `q`, in list order."""
    mine = {w for w in words(q) if len(w) > 1}
    own = clean(q)
    out: list[str] = []
    if not mine:
        return out
    for entry in entries:
        other = entry["q"]
        if other != own and mine & set(words(other)):
            out.append(other)
            if len(out) >= limit:
                break
    return out
