"""Suggestions while typing and "did you mean" corrections (library; no Flask at import time).

Built lazily once per Snapshot (``snap.cached``) from what the index already holds:

- words: the terms of the ``title`` and ``keywords`` fields (from the term lexicons, so no stored
  document is read), weighted by how many articles use them (keywords count double);
- titles: the stored titles of the newest MAX_TITLES articles, newest first;
- frequent queries from the query log, passed in per call (they change between snapshots).

Matching is by prefix of the folded text (so traditional, full-width and upper-case input match)
and, for Latin-letter input, by prefix of the words' pinyin and pinyin initials (``zfb`` and
``zhifu`` -> 支付宝). Prefix lookups are binary searches over sorted keys, so a call costs
well under a millisecond after the build.

"Did you mean" rewrites the plain words of a query that finds little: Chinese runs are scanned for
windows whose pinyin (tones ignored, so 支付包 -> 支付宝) equals a known word's, falling back to
common fuzzy pairs (zh/z, ch/c, sh/s, n/l, -ng/-n); a query typed in pinyin (``zhifubao``) maps to
the word. Input is folded first, so traditional input is corrected to the simplified word. A
correction is offered only when it finds more than the original (the caller counts).
"""
from __future__ import annotations

import heapq
import logging
import re
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from indexer.analysis import HAN_RANGES, fold_text, is_han

log = logging.getLogger(__name__)

SUGGEST_BELOW = 3        # offer a correction when a query finds fewer results than this
MAX_TITLES = 50_000      # titles kept for suggestions (newest first)
MAX_PREFIX_CHARS = 50
STEP = 256               # a background build's steps between two give-way pauses
MAX_WINDOW = 6           # longest run of characters replaced as one word
_HAN_RUN = re.compile(f"[{HAN_RANGES}]+")
_PINYIN_INPUT = re.compile(r"[a-z]+")
MAX_INITIALS = 5  # longer Latin words are not read as pinyin initials (zfb, lzxt: yes)
_PLAIN_TOKEN = re.compile(r"[^\s\"():\-][^\s\"():]*")
_OPERATORS = frozenset({"OR", "AND", "NOT"})
_FUZZY = ((re.compile(r"^zh"), "z"), (re.compile(r"^ch"), "c"), (re.compile(r"^sh"), "s"),
          (re.compile(r"^l"), "n"), (re.compile(r"ng$"), "n"))
TIER_QUERY, TIER_WORD, TIER_TITLE = 3e9, 2e9, 1e9


# -- pinyin ---------------------------------------------------------------------------------
_pinyin_cache: dict[str, tuple[str, ...]] = {}  # shared by all snapshots: words outlive them


def syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin of a folded Chinese run, one syllable per character (phrase-aware)."""
    got = _pinyin_cache.get(text)
    if got is None:
        from pypinyin import lazy_pinyin

        got = tuple(s.lower() for s in lazy_pinyin(text))
        if len(_pinyin_cache) > 500_000:
            _pinyin_cache.clear()
        _pinyin_cache[text] = got
    return got


def _keys(word: str) -> tuple[str, str]:
    """(joined pinyin, initials) of a word; Latin parts stay as they are."""
    parts = [s.replace(" ", "") for s in syllables(word)]
    return "".join(parts), "".join(p[:1] for p in parts)


@lru_cache(maxsize=4096)  # a few hundred syllables exist: the regexes run once per syllable
def _fuzzy_syllable(s: str) -> str:
    for pattern, repl in _FUZZY:
        s = pattern.sub(repl, s)
    return s


def fuzzy(syls: Sequence[str]) -> tuple[str, ...]:
    return tuple(_fuzzy_syllable(s) for s in syls)


# -- data -----------------------------------------------------------------------------------
class PrefixIndex:
    """Sorted keys with the id of what each key belongs to; prefix search by bisection."""

    def __init__(self, pairs: list[tuple[str, int]]) -> None:
        pairs.sort()
        self.keys = [k for k, _ in pairs]
        self.ids = [i for _, i in pairs]

    def with_prefix(self, prefix: str) -> list[int]:
        lo = bisect_left(self.keys, prefix)
        hi = bisect_left(self.keys, prefix + "\U0010ffff", lo)
        return self.ids[lo:hi]


@dataclass
class SuggestData:
    texts: list[str]
    scores: list[float]
    by_text: PrefixIndex
    by_pinyin: PrefixIndex
    by_initials: PrefixIndex
    vocab: dict[str, float]                                # folded word -> weight
    homophones: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    fuzzy_homophones: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    by_joined: dict[str, list[str]] = field(default_factory=dict)
    build_ms: float = 0.0


def _useful(word: str) -> bool:
    return len(word) >= 2 and any(is_han(c) or c.isalpha() for c in word)


def _segment_weights(leaf: Any) -> dict[str, float]:
    """Word -> weight over one segment (deleted documents included, as Whoosh's doc frequencies
    are): cached per segment across snapshots, so a commit re-reads only its new segments."""
    weights: dict[str, float] = defaultdict(float)
    names = set(leaf.schema.names())
    for fieldname, factor in (("keywords", 2.0), ("title", 1.0)):
        if fieldname not in names:
            continue
        for term, info in leaf.iter_field(fieldname):
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            if _useful(word):
                weights[word] += factor * info.doc_frequency()
    return dict(weights)


def _word_weights(snap: Any, pause: Callable[[], Any]) -> dict[str, float]:
    """The sum of the segments' weights: what the whole index's doc frequencies give, without the
    multi-segment reader's per-term lookup in every segment (seconds after a few commits)."""
    weights: dict[str, float] = defaultdict(float)
    for leaf, _offset in snap.leaves():
        pause()
        for i, (word, weight) in enumerate(
                snap.segment_value(leaf, "suggest_weights", lambda leaf=leaf: _segment_weights(leaf)).items()):
            weights[word] += weight
            if not i % STEP:
                pause()
    return dict(weights)


def _title_of(snap: Any, docnum: int) -> str:
    """A stored title through a per-segment cache shared by the snapshots of a generation (the
    newest titles are asked for again after every commit)."""
    leaf, offset = snap.locate(docnum)
    titles = snap.segment_value(leaf, "suggest_titles", dict)
    local = docnum - offset
    title = titles.get(local)
    if title is None:
        title = titles[local] = (leaf.stored_fields(local).get("title") or "").strip()
    return title


def _whoosh_inputs(snap: Any, pause: Callable[[], Any]) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """The words of titles and keywords with their weights, and (title, folded title) newest first."""
    vocab = _word_weights(snap, pause)
    # Titles: newest first; the folded column already holds each folded title.
    ts, folded = snap.ts, snap.folded
    docs = sorted(snap.live_docs, key=lambda d: -(ts[d] if ts[d] is not None else -1))[:MAX_TITLES]
    titles = []
    for i, d in enumerate(docs):
        if not i % STEP:
            pause()
        title = _title_of(snap, d)
        titles.append((title, folded[d].split("\n", 1)[0] if folded[d] else fold_text(title)))
    return vocab, titles


def _no_pause() -> None:
    return None


def build(snap: Any, pause: Callable[[], Any] = _no_pause) -> SuggestData:
    """From a Whoosh snapshot, or from any object with ``suggest_inputs()`` returning what
    _whoosh_inputs returns (the Xapian shards, xapian_suggest.py). `pause` is called every STEP
    steps: a background build gives way to requests there (give_way.py)."""
    started = time.perf_counter()
    source = getattr(snap, "suggest_inputs", None)
    vocab, titles = source() if source is not None else _whoosh_inputs(snap, pause)
    texts: list[str] = []
    scores: list[float] = []
    text_pairs: list[tuple[str, int]] = []
    pinyin_pairs: list[tuple[str, int]] = []
    initial_pairs: list[tuple[str, int]] = []
    homophones: dict[tuple[str, ...], list[str]] = defaultdict(list)
    fuzzy_homophones: dict[tuple[str, ...], list[str]] = defaultdict(list)
    by_joined: dict[str, list[str]] = defaultdict(list)
    for word, weight in sorted(vocab.items(), key=lambda kv: (-kv[1], kv[0])):
        i = len(texts)
        if not i % STEP:
            pause()
        texts.append(word)
        scores.append(TIER_WORD + weight)
        text_pairs.append((word, i))
        if any(is_han(c) for c in word):
            joined, initials = _keys(word)
            pinyin_pairs.append((joined, i))
            initial_pairs.append((initials, i))
            by_joined[joined].append(word)
            if _HAN_RUN.fullmatch(word):
                syls = syllables(word)
                homophones[syls].append(word)
                fuzzy_homophones[fuzzy(syls)].append(word)
    for rank, (title, key) in enumerate(titles):
        if not title:
            continue
        text_pairs.append((" ".join(key.split()), len(texts)))
        texts.append(title)
        scores.append(TIER_TITLE + (len(titles) - rank))
    data = SuggestData(texts, scores, PrefixIndex(text_pairs), PrefixIndex(pinyin_pairs),
                       PrefixIndex(initial_pairs), vocab, dict(homophones), dict(fuzzy_homophones),
                       dict(by_joined))
    data.build_ms = round((time.perf_counter() - started) * 1000, 1)
    log.info("suggestions built in %.0f ms: %d words, %d titles", data.build_ms, len(vocab), len(titles))
    return data


def suggest_data(snap: Any) -> SuggestData:
    return snap.cached("suggest", lambda: build(snap))


# -- suggestions while typing ---------------------------------------------------------------
@lru_cache(maxsize=8)
def _prepared(frequent: tuple[tuple[str, int], ...]) -> list[tuple[str, str, str, str, int]]:
    out = []
    for q, n in frequent:
        f = " ".join(fold_text(q).split())
        joined, initials = _keys(f.replace(" ", ""))
        out.append((q, f, joined.lower(), initials.lower(), n))
    return out


def normalise_prefix(text: str) -> str:
    return " ".join(fold_text(text[:MAX_PREFIX_CHARS]).split())


def suggest(snap: Any, text: str, limit: int = 8,
            frequent: Sequence[tuple[str, int]] = ()) -> list[str]:
    """Up to `limit` completions for what the reader has typed so far, best first."""
    return [display for display, _ in ranked(snap, normalise_prefix(text), limit, frequent)]


def ranked(snap: Any, prefix: str, limit: int = 8, frequent: Sequence[tuple[str, int]] = (),
           words_only: bool = False) -> list[tuple[str, float]]:
    """(completion, score) for a normalised prefix, best first; the score's tier (TIER_QUERY,
    TIER_WORD, TIER_TITLE) says what kind of completion it is. `words_only`: no titles."""
    if not prefix:
        return []
    data = suggest_data(snap)
    letters = prefix.replace(" ", "").replace("'", "")
    as_pinyin = bool(_PINYIN_INPUT.fullmatch(letters))
    candidates: dict[str, tuple[str, float]] = {}

    def offer(display: str, score: float) -> None:
        key = display.lower()
        if key not in candidates or candidates[key][1] < score:
            candidates[key] = (display, score)

    for q, f, joined, initials, n in _prepared(tuple(frequent)):
        if f.startswith(prefix) or (as_pinyin and (joined.startswith(letters) or initials.startswith(letters))):
            offer(q, TIER_QUERY + n)
    ids = data.by_text.with_prefix(prefix)
    if as_pinyin:
        ids = ids + data.by_pinyin.with_prefix(letters) + data.by_initials.with_prefix(letters)
    if words_only:
        ids = [i for i in ids if data.scores[i] >= TIER_WORD]
    for i in heapq.nlargest(limit * 3, set(ids), key=data.scores.__getitem__):
        offer(data.texts[i], data.scores[i])
    return sorted(candidates.values(), key=lambda ds: (-ds[1], ds[0]))[:limit]


# -- did you mean ---------------------------------------------------------------------------
def _best(words: list[str] | None, exclude: str) -> list[str]:
    return [w for w in (words or []) if w != exclude][:2]


def _correct_run(data: SuggestData, run: str) -> list[str]:
    """Corrections of one Chinese run (best first), or [] when nothing looks mistyped."""
    syls = syllables(run)
    if len(syls) != len(run):
        return []
    out: list[str] = []
    alternates: list[tuple[int, str, str]] = []  # (position in out, second choice, window)
    i, changed = 0, False
    while i < len(run):
        for length in range(min(MAX_WINDOW, len(run) - i), 1, -1):
            window, key = run[i:i + length], syls[i:i + length]
            if window in data.vocab:
                out.append(window)
                break
            choices = _best(data.homophones.get(key), window) or _best(data.fuzzy_homophones.get(fuzzy(key)), window)
            if choices:
                out.append(choices[0])
                if len(choices) > 1:
                    alternates.append((len(out) - 1, choices[1], window))
                changed = True
                break
        else:
            length = 1
            out.append(run[i])
        i += length
    if not changed:
        return []
    results = ["".join(out)]
    for pos, second, _window in alternates[:2]:
        results.append("".join(out[:pos] + [second] + out[pos + 1:]))
    return results


def _with_initials(data: SuggestData, letters: str) -> list[str]:
    """Indexed words whose pinyin initials are exactly `letters`, best first."""
    index = data.by_initials
    lo = bisect_left(index.keys, letters)
    hi = bisect_right(index.keys, letters, lo)
    words = {data.texts[i] for i in index.ids[lo:hi] if data.texts[i] in data.vocab}
    return sorted(words, key=lambda w: (-data.vocab[w], w))


def _correct_token(data: SuggestData, token: str) -> list[str]:
    folded = fold_text(token)
    if folded in data.vocab:
        return []
    if _PINYIN_INPUT.fullmatch(folded):
        found = data.by_joined.get(folded, []) if len(folded) >= 4 else []
        if not found and 2 <= len(folded) <= MAX_INITIALS:
            found = _with_initials(data, folded)  # zfb -> 支付宝
        return found[:2]
    pieces: list[list[str]] = []  # alternatives per piece, the piece as typed (folded) last
    pos = 0
    for m in _HAN_RUN.finditer(folded):
        pieces.append([folded[pos:m.start()]])
        pieces.append(_correct_run(data, m.group()) + [m.group()])
        pos = m.end()
    pieces.append([folded[pos:]])
    if all(len(p) == 1 for p in pieces):
        return []
    out = ["".join(p[0] for p in pieces)]
    for i, p in enumerate(pieces):
        for alt in p[1:-1]:  # second choices, one piece at a time
            out.append("".join(alt if j == i else q[0] for j, q in enumerate(pieces)))
    return out


def corrections(data: SuggestData, q: str, limit: int = 4) -> list[str]:
    """Rewrites of `q` with its plain words corrected, best first (syntax tokens are kept)."""
    tokens = q.split()
    options: list[list[str]] = []
    for tok in tokens:
        plain = _PLAIN_TOKEN.fullmatch(tok) and tok not in _OPERATORS
        options.append(_correct_token(data, tok) if plain else [])
    if not any(options):
        return []
    out = [" ".join(opts[0] if opts else tok for tok, opts in zip(tokens, options))]
    for i, opts in enumerate(options):  # one token changed at a time, also second choices
        for alt in opts:
            out.append(" ".join(alt if j == i else t for j, t in enumerate(tokens)))
    return list(dict.fromkeys(c for c in out if c != q))[:limit]


def did_you_mean(snap: Any, q: str, total: int, count: Callable[[str], int]) -> dict[str, Any] | None:
    """{"q", "total"} for the correction of `q` that finds the most (and more than `total`), or
    None. `count(query)` returns how many results a query would find with the same filters."""
    if total >= SUGGEST_BELOW:
        return None
    best: tuple[str, int] | None = None
    for candidate in corrections(suggest_data(snap), q):
        n = count(candidate)
        if n > total and (best is None or n > best[1]):
            best = (candidate, n)
    return {"q": best[0], "total": best[1]} if best else None

