"""Query-time dictionaries of the service, read from INDEX_DIR/synonyms.txt and stopwords.txt.

    INDEX_DIR/synonyms.txt   one group of equivalent words per line, separated by spaces or commas
                             (``央行 中国人民银行``); applied at query time, no rebuild
    INDEX_DIR/stopwords.txt  extra query-side stop words, separated by spaces or newlines; query time

``#`` starts a comment. Synonyms and stop words are folded like queries (full-width, case,
traditional -> simplified), so 央行/央行 and ＡＩ/ai need no separate entries. (INDEX_DIR/userdict.txt
is the indexer's: see indexer.analysis.)

Loaded once per Snapshot. ``SearchIndex`` folds the files' stamps into its change marker, so
editing either file starts a new snapshot within a check interval: no reindex and no restart,
and no cached result outlives the file it was computed from.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer import analysis
from indexer.store import USERDICT_NAME

if TYPE_CHECKING:  # the snapshot is only passed through here
    from search_service.index import Snapshot

SYNONYMS_NAME = "synonyms.txt"
STOPWORDS_NAME = "stopwords.txt"
QUERY_FILES = (SYNONYMS_NAME, STOPWORDS_NAME)
_SEPARATORS = re.compile(r"[\s,，、;；]+")
_WORDISH = re.compile(r"\w")
# Longest run of query words joined to look up a multi-word synonym (美国 联邦 储备 委员会).
MAX_UNIT_WORDS = 6
UNITS_CACHED = 4096  # word lists whose units a snapshot keeps


@dataclass
class Synonyms:
    """word (folded) -> its group, the word itself first."""

    table: dict[str, tuple[str, ...]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def alternatives(self, word: str) -> tuple[str, ...]:
        return self.table.get(word, (word,))


@dataclass
class QueryDictionaries:
    synonyms: Synonyms
    stop_words: frozenset[str]
    problems: list[str]


def _entries(text: str) -> list[tuple[int, list[str]]]:
    """(line number, folded terms) for each non-empty line, comments removed."""
    out = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0]
        terms = [analysis.fold_text(t) for t in _SEPARATORS.split(line) if t]
        if terms:
            out.append((lineno, list(dict.fromkeys(terms))))
    return out


def parse_synonyms(text: str, where: str = SYNONYMS_NAME) -> Synonyms:
    """Groups that share a word are merged (央行 人民银行 + 人民银行 中国人民银行 -> one group)."""
    result = Synonyms()
    groups: list[list[str]] = []
    group_of: dict[str, int] = {}
    for lineno, terms in _entries(text):
        if len(terms) < 2:
            result.problems.append(f"{where}:{lineno}: a synonym group needs at least two words, got {terms[0]!r}")
            continue
        joined = sorted({group_of[t] for t in terms if t in group_of})
        target = joined[0] if joined else len(groups)
        if not joined:
            groups.append([])
        for other in joined[1:]:  # merge later groups into the first one
            groups[target].extend(groups[other])
            groups[other] = []
        groups[target].extend(terms)
        for t in groups[target]:
            group_of[t] = target
    for group in groups:
        members = list(dict.fromkeys(group))
        for term in members:
            result.table[term] = (term,) + tuple(m for m in members if m != term)
    return result


def parse_stopwords(text: str) -> frozenset[str]:
    return frozenset(t for _, terms in _entries(text) for t in terms)


def _read(path: Path, problems: list[str]) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read ({exc}); ignored: save it as UTF-8")
        return ""


def load_query_dictionaries(index_dir: str | os.PathLike) -> QueryDictionaries:
    root = Path(index_dir)
    problems: list[str] = []
    synonyms = parse_synonyms(_read(root / SYNONYMS_NAME, problems), str(root / SYNONYMS_NAME))
    stop_words = parse_stopwords(_read(root / STOPWORDS_NAME, problems))
    return QueryDictionaries(synonyms, stop_words, problems + synonyms.problems)


def query_files_stamp(index_dir: str | os.PathLike) -> str:
    """Changes whenever synonyms.txt or stopwords.txt is created, edited or removed (two stat calls)."""
    parts = []
    for name in QUERY_FILES:
        try:
            st = os.stat(Path(index_dir) / name)
            parts.append(f"{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            parts.append("-")
    return "/".join(parts)


def synonym_units(words: Sequence[str], synonyms: Synonyms) -> list[list[tuple[str, ...]]]:
    """Group query words into units; each unit lists its alternatives as word tuples, the query's
    own words first. Consecutive words that together form a synonym entry make one unit (longest
    first), so an entry that jieba splits into several words still applies."""
    units: list[list[tuple[str, ...]]] = []
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + MAX_UNIT_WORDS), i, -1):
            key = "".join(words[i:j])
            if key in synonyms.table or j == i + 1:
                own = tuple(words[i:j])
                alts = [tuple(analysis.words(alt)) or (alt,) for alt in synonyms.alternatives(key)[1:]]
                units.append([own] + [a for a in alts if a != own])
                i = j
                break
    return units



# ---------------------------------------------------------------------------------------------
# Per snapshot


def query_dictionaries(snap: Snapshot) -> QueryDictionaries:
    return snap.cached("query_dictionaries", lambda: load_query_dictionaries(snap.index_dir))


def extra_stop_words(snap: Snapshot) -> frozenset[str]:
    return query_dictionaries(snap).stop_words


def units(snap: Snapshot, words: Sequence[str]) -> list[list[tuple[str, ...]]]:
    """Query words grouped into units, each with its alternatives (own words first); a word
    without synonyms is a unit with one alternative. Alternatives are the admin's synonyms and
    the regional forms of the words (search_service/regional.py), computed once per snapshot
    and word list."""
    cache: dict[tuple[str, ...], list[list[tuple[str, ...]]]] = snap.cached("synonym_units", dict)
    key = tuple(words)
    found = cache.get(key)
    if found is None:
        if len(cache) >= UNITS_CACHED:  # bounded; a snapshot lives minutes to days
            cache.clear()
        found = cache[key] = _units(snap, words)
    return found


def _units(snap: Snapshot, words: Sequence[str]) -> list[list[tuple[str, ...]]]:
    from search_service.regional import regional_table

    table = query_dictionaries(snap).synonyms
    regional = regional_table(words, lambda text: _doc_count(snap, text))
    if not table.table and not regional:
        return [[(w,)] for w in words]
    if regional:  # a table for this query only: the admin's groups first, then regional forms
        merged = {key: tuple(dict.fromkeys(table.alternatives(key) + alts)) for key, alts in regional.items()}
        table = Synonyms(table=_Overlay(table.table, merged))
    return synonym_units(words, table)


class _Overlay(dict):
    """The admin's synonym table seen through this query's regional entries (no copy of it)."""

    def __init__(self, base: dict[str, tuple[str, ...]], top: dict[str, tuple[str, ...]]) -> None:
        super().__init__(top)
        self.base = base

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.base

    def get(self, key, default=None):  # type: ignore[override]
        return dict.get(self, key) if dict.__contains__(self, key) else self.base.get(key, default)


def _doc_count(snap: Snapshot, text: str) -> int:
    """About how many articles hold every word of `text`: the smallest document frequency of its
    words (single characters skipped) in title or body. An upper bound, which is all the
    regional rule "are both forms common here?" needs, from the term index alone."""
    reader = snap.searcher().reader()
    counts = [max(reader.doc_frequency("title", w), reader.doc_frequency("body", w))
              for w in analysis.words(text) if len(w) > 1]
    return min(counts) if counts else 0


# ---------------------------------------------------------------------------------------------
# check-dict: how a text is segmented with and without a user dictionary, and the query rules


def _before_after(folded: str, userdict: Path | None) -> tuple[list[str], list[str]]:
    """Segmentation without and with the user dictionary."""
    seg = analysis.IsolatedSegmenter()
    before = seg.words(folded)
    if userdict is None:
        return before, before
    seg.add_userdict(userdict)
    return before, seg.words(folded)


def check_segmentation(text: str, index_dir: str | os.PathLike, userdict: str | os.PathLike | None) -> dict[str, Any]:
    """Words of `text` before and after the user dictionary, the index terms (with sub-words), and
    the synonyms and stop words the query side would apply."""
    folded = analysis.fold_text(text)
    udict = Path(userdict) if userdict else Path(index_dir) / USERDICT_NAME
    if udict.is_file():
        analysis.read_userdict(udict)  # a bad file is a clear error, before jieba sees it
    used = analysis.load_userdict(udict)  # for the index terms below (this process's jieba)
    before, after = _before_after(folded, udict if used else None)
    index_terms = [t.text for t in analysis.ChineseTokenizer()(text, mode="index")]
    dicts = load_query_dictionaries(index_dir)
    synonyms = [{"words": list(unit[0]), "alternatives": ["".join(a) for a in unit[1:]]}
                for unit in synonym_units(after, dicts.synonyms) if len(unit) > 1]
    return {
        "text": text,
        "folded": folded,
        "userdict": str(udict) if used else None,
        "before": before,
        "after": after,
        "changed": before != after,
        "index_terms": index_terms,
        "synonyms": synonyms,
        "stop_words": [w for w in after if w in dicts.stop_words],
        "problems": dicts.problems,
    }
