"""A fixed, seeded query mix drawn from the benchmarked articles themselves.

Kinds (interleaved round-robin, so any prefix of the list is a stratified sample):
  w1_high / w1_mid / w1_low  one word by document frequency (>= 5%, 0.5-5%, < 0.5% of a sample)
  w2 / w3                    2 or 3 words taken from one article (words that co-occur, as a user
                             would type them), of mixed frequency
  quoted                     a quoted 2-6 character substring of a title (exact-substring search)
  char                       a single Han character, weighted by character frequency
  latin                      a Latin/digit token from the articles (5G, G20, 2024...), sometimes with
                             the Han word that follows it (G20峰会)
Filters for the filtered scenario: a channel (weighted by its frequency) and either a year or a
month that occurs in the articles.
"""
from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import jieba

KINDS = ("w1_high", "w1_mid", "w1_low", "w2", "w3", "quoted", "char", "latin")
HAN = re.compile(r"^[\u4e00-\u9fff]+$")
HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.%]*[A-Za-z0-9%]|[A-Za-z]")
LATIN_HAN = re.compile(r"([A-Za-z][A-Za-z0-9]*|[0-9]+[A-Za-z]+[A-Za-z0-9]*)([\u4e00-\u9fff]{2})")
# Function words are not what people search for (and are dropped from multi-word queries anyway).
STOP = frozenset("的 了 和 与 及 或 是 在 也 都 就 而 之 其 等 对 将 把 被 从 向 于 为 以 这 那 有 个 着 过 我们 他们 一个 没有 进行".split())


def iter_articles(path: str | Path, limit: int | None = None) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if limit is not None and i >= limit:
                return
            line = line.strip()
            if line:
                yield json.loads(line)


class Vocabulary:
    """Document frequencies of words and characters over a seeded sample of the articles."""

    def __init__(self, articles: list[dict[str, Any]]) -> None:
        self.n = len(articles)
        self.df: Counter[str] = Counter()
        self.chars: Counter[str] = Counter()
        self.latin: Counter[str] = Counter()
        self.doc_words: list[list[str]] = []
        self.titles = [a.get("title") or "" for a in articles]
        for a in articles:
            text = (a.get("title") or "") + "\n" + (a.get("body") or "")
            ws = [w for w in jieba.lcut(text) if len(w) >= 2 and HAN.match(w) and w not in STOP]
            self.doc_words.append(ws)
            self.df.update(set(ws))
            self.chars.update(c for c in text if "\u4e00" <= c <= "\u9fff")
            self.latin.update(m.group(0) for m in LATIN.finditer(text) if len(m.group(0)) <= 12)
            self.latin.update("".join(m.groups()) for m in LATIN_HAN.finditer(text))

    def bucket(self, name: str) -> list[str]:
        lo, hi = {"w1_high": (0.05, 1.01), "w1_mid": (0.005, 0.05), "w1_low": (0.0, 0.005)}[name]
        # At least 2 documents, so a "low" word is not a one-off segmentation accident.
        return sorted(w for w, c in self.df.items() if lo <= c / self.n < hi and c >= 2)


def build_mix(articles_path: str | Path, n: int, seed: int, sample: int = 3000) -> list[dict[str, Any]]:
    """`n` queries as dicts {"q", "kind"}; the same inputs always give the same list."""
    rng = random.Random(seed)
    articles = list(iter_articles(articles_path))
    picked = rng.sample(articles, min(sample, len(articles)))
    vocab = Vocabulary(picked)
    buckets = {k: vocab.bucket(k) for k in ("w1_high", "w1_mid", "w1_low")}
    chars = sorted(vocab.chars)
    char_weights = [vocab.chars[c] for c in chars]
    # Tokens with at least one letter (5G, GDP, G20, G20峰会): pure numbers are common in news but
    # are not what "mixed Latin/digits" queries exercise.
    latin = sorted(t for t, c in vocab.latin.items() if c >= 2 and re.search(r"[A-Za-z]", t))
    latin_weights = [vocab.latin[t] for t in latin]

    def words_from_article(k: int) -> str:
        for _ in range(50):
            ws = list(dict.fromkeys(vocab.doc_words[rng.randrange(len(vocab.doc_words))]))
            if len(ws) >= k:
                # One frequent-ish and the rest anywhere: mixed frequency, but co-occurring.
                ws.sort(key=lambda w: -vocab.df[w])
                first = ws[rng.randrange(max(1, len(ws) // 4))]
                rest = rng.sample([w for w in ws if w != first], k - 1)
                return " ".join([first, *rest])
        return rng.choice(buckets["w1_high"])

    def quoted() -> str:
        for _ in range(50):
            runs = HAN_RUN.findall(vocab.titles[rng.randrange(len(vocab.titles))])
            runs = [r for r in runs if len(r) >= 2]
            if runs:
                run = rng.choice(runs)
                size = rng.randint(2, min(6, len(run)))
                start = rng.randrange(len(run) - size + 1)
                return f'"{run[start:start + size]}"'
        return '"中国"'

    def make(kind: str) -> str:
        if kind in buckets:
            return rng.choice(buckets[kind]) if buckets[kind] else rng.choice(buckets["w1_high"])
        if kind == "w2":
            return words_from_article(2)
        if kind == "w3":
            return words_from_article(3)
        if kind == "quoted":
            return quoted()
        if kind == "char":
            return rng.choices(chars, weights=char_weights)[0]
        if latin:
            return rng.choices(latin, weights=latin_weights)[0]
        return "5G"

    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    attempts = 0
    while len(out) < n and attempts < n * 20:
        kind = KINDS[len(out) % len(KINDS)]
        q = make(kind)
        attempts += 1
        if q in seen:  # distinct queries: the first run of each is a result-cache miss
            continue
        seen.add(q)
        out.append({"q": q, "kind": kind})
    return out


def filters_for(articles_path: str | Path, count: int, seed: int) -> list[dict[str, str]]:
    """`count` filter sets: a channel (by frequency) plus a year or a month present in the data."""
    rng = random.Random(seed + 7919)
    channels: Counter[str] = Counter()
    months: Counter[str] = Counter()
    for a in iter_articles(articles_path):
        if a.get("channel"):
            channels[a["channel"]] += 1
        pub = str(a.get("published") or "")
        if re.match(r"^\d{4}-\d{2}", pub):
            months[pub[:7]] += 1
    names = sorted(channels)
    month_list = sorted(months)
    out = []
    for i in range(count):
        f: dict[str, str] = {}
        if names:
            f["channel"] = rng.choices(names, weights=[channels[c] for c in names])[0]
        if month_list:
            m = rng.choices(month_list, weights=[months[x] for x in month_list])[0]
            if i % 2 == 0:
                f["from"], f["to"] = f"{m[:4]}-01-01", f"{m[:4]}-12-31"
            else:
                f["from"], f["to"] = f"{m}-01", _month_end(m)
        out.append(f)
    return out


def _month_end(month: str) -> str:
    import calendar

    y, m = int(month[:4]), int(month[5:7])
    return f"{month}-{calendar.monthrange(y, m)[1]:02d}"


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Print the seeded query mix for a JSONL corpus.")
    ap.add_argument("corpus")
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args()
    for row in build_mix(args.corpus, args.queries, args.seed):
        print(f"{row['kind']:8} {row['q']}")
