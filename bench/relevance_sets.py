"""Known-item query sets for the relevance harness, generated from the corpus at run time.

Nothing generated here is committed: the queries are corpus text. The same corpus, seed, split
and size always give the same sets (seeded ``random.Random`` per set, sorted inputs).

- split: an article is ``dev`` or ``test`` by a stable hash of its id (sha1, first 8 hex digits,
  even = dev), about 50/50, independent of file order and of Python's hash seed.
- duplicates: articles whose normalised title+body (NFKC, lower case, no whitespace) hash alike
  are one group; a query's relevant set is its target's group (reprints count as hits).
- keywords: jieba words (precise mode) of title+body, Han only, >= 2 characters, not a stop or
  filler word, in >= 2 and <= 10% of articles (or 2, in a tiny corpus); ranked by tf-idf (title occurrences x3); a query
  takes 2-3 of the top 8, none inside another, in the order they first occur in the article.
See docs/relevance.md for each set.
"""
from __future__ import annotations

import hashlib
import math
import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

SETS = ("keywords", "question", "typo", "headline", "clause", "traditional", "unspaced")
SPLITS = ("dev", "test")
HAN_WORD = re.compile(r"^[\u4e00-\u9fff]{2,}$")
CLAUSE_SEP = re.compile(r"[\s，。！？；：、,!?;:“”\"'‘’（）()《》【】\[\]—…·/]+")
CLAUSE_OK = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9.%]+$")
# Function and filler words nobody searches an article by (numbers never pass HAN_WORD).
STOP = frozenset("""的 了 和 与 及 或 是 在 也 都 就 而 之 其 等 对 将 把 被 从 向 于 为 以 这 那 有 个 着 过
    我们 他们 你们 一个 没有 进行 表示 指出 认为 通过 目前 今年 去年 同时 以及 已经 可以 这些 这个 那些 一些
    其中 此外 记者 报道 新闻 联播 央视网 消息 相关 工作 方面 问题 情况 时间 期间 开展 推进 加强 持续 不断
    积极 进一步 重要 全面 深入 主要 更加 一系列 各地 近日 日前 当天 今天 昨天 目前 正在 继续 包括 来自
    介绍 陆续 一切 放在 最后 如何 怎么 为什么 什么 哪些""".split())
# Question and news tails readers add to keywords (our own list).
TAILS = ("的原因是什么", "最新进展", "相关报道", "怎么样了", "有哪些影响", "是真的吗", "最新消息", "是怎么回事",
         "情况如何", "意味着什么", "有什么意义", "具体内容", "进展如何", "的背景")
HEADS = ("如何看待", "为什么", "什么是", "怎么看")
TOP_WORDS, MAX_DF, MIN_CHAR_FREQ = 8, 0.10, 30


def split_of(article_id: str) -> str:
    return "dev" if int(hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0 else "test"


def norm_text(a: dict[str, Any]) -> str:
    text = unicodedata.normalize("NFKC", (a.get("title") or "") + "\n" + (a.get("body") or "")).lower()
    return "".join(text.split())


def duplicate_groups(articles: list[dict[str, Any]]) -> dict[str, frozenset[str]]:
    """id -> ids of every article with the same normalised title+body (itself included)."""
    by_hash: dict[str, list[str]] = {}
    for a in articles:
        by_hash.setdefault(hashlib.sha1(norm_text(a).encode("utf-8")).hexdigest(), []).append(str(a["id"]))
    return {i: frozenset(ids) for ids in by_hash.values() for i in ids}


def salient_words(articles: list[dict[str, Any]]) -> dict[str, list[str]]:
    """id -> its top TOP_WORDS keywords by tf-idf (the slow part: jieba over the whole corpus)."""
    import jieba

    counts: dict[str, Counter[str]] = {}
    df: Counter[str] = Counter()
    for a in articles:
        c: Counter[str] = Counter()
        for part, weight in ((a.get("title") or "", 3), (a.get("body") or "", 1)):
            for w in jieba.lcut(part):
                if HAN_WORD.match(w) and w not in STOP:
                    c[w] += weight
        counts[str(a["id"])] = c
        df.update(c.keys())
    n = max(1, len(articles))
    out: dict[str, list[str]] = {}
    for aid, c in counts.items():
        scored = [(-tf * math.log(n / df[w]), w) for w, tf in c.items() if 2 <= df[w] <= max(2.0, MAX_DF * n)]
        out[aid] = [w for _, w in sorted(scored)[:TOP_WORDS]]
    return out


@dataclass
class Corpus:
    """What the generators need, computed once per corpus (cacheable: plain JSON types)."""
    articles: list[dict[str, Any]]
    words: dict[str, list[str]]  # id -> salient words
    groups: dict[str, frozenset[str]] = field(default_factory=dict)
    char_freq: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if not self.groups:
            self.groups = duplicate_groups(self.articles)
        if not self.char_freq:
            for a in self.articles:
                self.char_freq.update(ch for ch in (a.get("title") or "") + (a.get("body") or "")
                                      if "\u4e00" <= ch <= "\u9fff")
        self.by_id = {str(a["id"]): a for a in self.articles}
        self._texts = [(a.get("title") or "") + "\n" + (a.get("body") or "") for a in self.articles]
        self._joined = "\x00".join(self._texts)
        self._starts: list[int] = []
        pos = 0
        for t in self._texts:
            self._starts.append(pos)
            pos += len(t) + 1
        self.title_owners: dict[str, set[str]] = {}
        for a in self.articles:
            self.title_owners.setdefault((a.get("title") or "").strip(), set()).add(str(a["id"]))

    def containing(self, s: str, cap: int = 50) -> set[str]:
        """Ids of articles whose title or body contains `s` (at most `cap` looked up)."""
        import bisect

        found: set[str] = set()
        at = self._joined.find(s)
        while at >= 0 and len(found) < cap:
            found.add(str(self.articles[bisect.bisect_right(self._starts, at) - 1]["id"]))
            at = self._joined.find(s, at + 1)
        return found


class Generators:
    """One method per set: article -> query text, or None when the article cannot give one."""

    def __init__(self, corpus: Corpus) -> None:
        self.c = corpus
        self._s2twp: Any = None
        self._by_sound: dict[str, list[str]] | None = None

    def pick_keywords(self, aid: str, rng: random.Random) -> list[str] | None:
        pool = self.c.words.get(aid) or []
        if len(pool) < 2:
            return None
        k = min(len(pool), rng.choice((2, 3)))
        chosen: list[str] = []
        for w in rng.sample(pool, len(pool)):
            if not any(w in o or o in w for o in chosen):
                chosen.append(w)
            if len(chosen) == k:
                break
        if len(chosen) < 2:
            return None
        text = _text(self.c.by_id[aid])
        return sorted(chosen, key=lambda w: text.find(w))

    def keywords(self, aid: str, rng: random.Random) -> str | None:
        ws = self.pick_keywords(aid, rng)
        return " ".join(ws) if ws else None

    def unspaced(self, aid: str, rng: random.Random) -> str | None:
        ws = self.pick_keywords(aid, rng)
        return "".join(ws) if ws else None

    def question(self, aid: str, rng: random.Random) -> str | None:
        ws = self.pick_keywords(aid, rng)
        if not ws:
            return None
        if rng.random() < 0.8:
            ws[-1] += rng.choice(TAILS)
        else:
            ws[0] = rng.choice(HEADS) + ws[0]
        return " ".join(ws)

    def sounds(self) -> dict[str, list[str]]:
        """Toneless pinyin -> corpus characters with that reading (seen >= MIN_CHAR_FREQ times)."""
        if self._by_sound is None:
            from pypinyin import lazy_pinyin

            self._by_sound = {}
            for ch in sorted(self.c.char_freq):
                if self.c.char_freq[ch] >= MIN_CHAR_FREQ:
                    self._by_sound.setdefault(lazy_pinyin(ch)[0], []).append(ch)
        return self._by_sound

    def typo(self, aid: str, rng: random.Random) -> str | None:
        from pypinyin import lazy_pinyin

        ws = self.pick_keywords(aid, rng)
        if not ws:
            return None
        text = _text(self.c.by_id[aid])
        i = rng.randrange(len(ws))
        word = ws[i]
        j = rng.randrange(len(word))
        sound = lazy_pinyin(word)[j]  # the reading in this word (polyphones resolved by pypinyin)
        options = [ch for ch in self.sounds().get(sound, []) if ch != word[j]]
        if not options:
            return None
        ch = rng.choices(options, weights=[self.c.char_freq[o] for o in options])[0]
        wrong = word[:j] + ch + word[j + 1:]
        if wrong in text:  # not a typo of this article if the article itself says it
            return None
        ws[i] = wrong
        return " ".join(ws)

    def traditional(self, aid: str, rng: random.Random) -> str | None:
        if self._s2twp is None:
            import opencc

            self._s2twp = opencc.OpenCC("s2twp")
        ws = self.pick_keywords(aid, rng)
        if not ws:
            return None
        q = self._s2twp.convert(" ".join(ws))
        return q if q != " ".join(ws) else None  # only queries that really change

    def headline(self, aid: str, rng: random.Random) -> str | None:
        title = (self.c.by_id[aid].get("title") or "").strip()
        # A headline used by other stories too (国内联播快讯) names no single known item.
        if len(title) < 5 or not self.c.title_owners.get(title, set()) <= self.c.groups[aid]:
            return None
        return title

    def clause(self, aid: str, rng: random.Random) -> str | None:
        parts = [p for p in CLAUSE_SEP.split(self.c.by_id[aid].get("body") or "")
                 if 8 <= len(p) <= 25 and CLAUSE_OK.match(p)]
        for p in rng.sample(parts, len(parts)):
            if self.c.containing(p) <= self.c.groups[aid]:  # said by this story only
                return p
        return None


def _text(a: dict[str, Any]) -> str:
    return (a.get("title") or "") + "\n" + (a.get("body") or "")


def build_sets(corpus: Corpus, split: str, per_set: int, seed: int,
               sets: Iterable[str] = SETS) -> list[dict[str, Any]]:
    """Rows {"set", "q", "target", "relevant"}: `per_set` distinct queries per set, targets from `split`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    gen = Generators(corpus)
    pool = sorted(str(a["id"]) for a in corpus.articles if split_of(str(a["id"])) == split)
    rows: list[dict[str, Any]] = []
    for name in sets:
        make: Callable[[str, random.Random], str | None] = getattr(gen, name)
        rng = random.Random(f"relevance:{seed}:{split}:{name}")
        seen: set[str] = set()
        taken = 0
        for aid in rng.sample(pool, len(pool)):
            if taken >= per_set:
                break
            q = make(aid, rng)
            if not q or q in seen or len(q) > 200:
                continue
            seen.add(q)
            taken += 1
            rows.append({"set": name, "q": q, "target": aid, "relevant": sorted(corpus.groups[aid])})
    return rows
