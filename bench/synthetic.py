"""Seeded synthetic Chinese news articles for scaling benchmarks, written as JSON Lines.

The text is word salad, but with the statistics that drive search cost:
- words drawn from jieba's own dictionary (``jieba.dt.FREQ``) weighted by frequency, so the
  head (的, 中国, 发展...) and the long tail look like real text to the segmenter and the index;
- each article has a "topic" of ~20 words it repeats (term burstiness, co-occurring query words);
- a sprinkle of Latin/digit tokens (5G, GDP, 3.5%, 2024年);
- body length log-normal fitted to the real corpus (median ~404, mean ~500, p95 ~1,200 chars);
- channels with a portal-like skewed distribution (3% without a channel);
- dates 2015-01-01 .. 2026-08-31 with volume growing over the years, times of day.

Same (n, seed) -> byte-identical output.
"""
from __future__ import annotations

import bisect
import itertools
import json
import math
import random
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

CHANNELS = [("国内", 25), ("国际", 15), ("财经", 14), ("科技", 10), ("社会", 10), ("体育", 8),
            ("娱乐", 7), ("军事", 4), ("教育", 3), ("健康", 2), ("汽车", 2)]
NO_CHANNEL_RATE = 0.03
SOURCES = ["新华社", "人民日报", "中新网", "央视新闻", "澎湃新闻", "经济日报", "光明日报", "环球时报",
           "第一财经", "科技日报", "本站"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
LATIN_TOKENS = ["5G", "GDP", "AI", "A股", "B站", "iPhone", "CPI", "APP", "G20", "WTO", "NBA", "CEO",
                "IPO", "PM2.5", "ETF", "VR", "APEC", "3D", "USB", "ChatGPT"]
COLUMNS = ["【新闻直播间】", "【焦点访谈】", "【经济观察】", "【科技前沿】", "【国际视野】"]
START = datetime(2015, 1, 1)
END = datetime(2026, 8, 31, 23, 59, 59)
# Body length: log-normal fitted to the real corpus (median 404, p95 1,205 characters).
LEN_MU, LEN_SIGMA, LEN_MIN, LEN_MAX = math.log(404), 0.645, 20, 20000
HAN = re.compile(r"^[\u4e00-\u9fff]+$")


class Vocabulary:
    def __init__(self) -> None:
        import jieba

        jieba.initialize()
        items = sorted((w, f) for w, f in jieba.dt.FREQ.items() if f > 0 and HAN.match(w))
        self.words = [w for w, _ in items]
        self.cum = list(itertools.accumulate(f for _, f in items))
        self.total = self.cum[-1]
        # Topic words come from the middle of the distribution: not function words, not hapaxes.
        by_freq = sorted(items, key=lambda wf: -wf[1])
        self.topical = sorted(w for w, f in by_freq[200:30000] if len(w) >= 2)

    def draw(self, rng: random.Random, k: int) -> list[str]:
        cum, words, total, hi = self.cum, self.words, self.total, len(self.words) - 1
        return [words[bisect.bisect(cum, rng.random() * total, 0, hi)] for _ in range(k)]


def _latin_token(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        return rng.choice(LATIN_TOKENS)
    if r < 0.75:
        return f"{rng.randint(2015, 2026)}年"
    if r < 0.9:
        return f"{rng.randint(1, 99)}.{rng.randint(0, 9)}%"
    return str(rng.randint(2, 5000))


def _sentence(rng: random.Random, vocab: Vocabulary, topic: list[str]) -> str:
    n = rng.randint(6, 22)
    ws = vocab.draw(rng, n)
    for i in range(n):
        r = rng.random()
        if r < 0.18:
            ws[i] = rng.choice(topic)
        elif r < 0.19:
            ws[i] = _latin_token(rng)
    cut = rng.randint(3, max(3, n - 3))
    return "".join(ws[:cut]) + "，" + "".join(ws[cut:]) + rng.choice("。。。。！？")


def _body(rng: random.Random, vocab: Vocabulary, topic: list[str], target: int) -> str:
    paras: list[str] = []
    size = 0
    while size < target:
        para = "".join(_sentence(rng, vocab, topic) for _ in range(rng.randint(1, 5)))
        paras.append(para)
        size += len(para)
    text = "\n".join(paras)
    return text[:target].rstrip("，") + ("。" if len(text) > target else "")


def _title(rng: random.Random, vocab: Vocabulary, topic: list[str]) -> str:
    ws = [rng.choice(topic) for _ in range(rng.randint(2, 4))] + vocab.draw(rng, rng.randint(1, 3))
    rng.shuffle(ws)
    title = "".join(ws)[:30]
    if rng.random() < 0.1:
        title = rng.choice(COLUMNS) + title
    return title


def _published(rng: random.Random) -> datetime:
    # Volume grows ~15%/year: draw the year by weight, then a uniform moment inside it.
    years = list(range(START.year, END.year + 1))
    year = rng.choices(years, weights=[1 + 0.15 * (y - START.year) for y in years])[0]
    lo = max(START, datetime(year, 1, 1))
    hi = min(END, datetime(year, 12, 31, 23, 59, 59))
    return lo + timedelta(seconds=rng.randint(0, int((hi - lo).total_seconds())))


def generate(n: int, seed: int = 8) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    vocab = Vocabulary()
    channels = [c for c, _ in CHANNELS]
    channel_weights = [w for _, w in CHANNELS]
    for i in range(n):
        topic = rng.sample(vocab.topical, 20)
        target = int(min(LEN_MAX, max(LEN_MIN, rng.lognormvariate(LEN_MU, LEN_SIGMA))))
        channel = None if rng.random() < NO_CHANNEL_RATE else rng.choices(channels, weights=channel_weights)[0]
        when = _published(rng)
        doc_id = f"syn{seed}-{i:07d}"
        yield {
            "id": doc_id,
            "title": _title(rng, vocab, topic),
            "body": _body(rng, vocab, topic, target),
            "channel": channel,
            "published": when.strftime("%Y-%m-%d %H:%M:%S"),
            "author": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.randint(1, 2))),
            "source": rng.choice(SOURCES),
            "url": f"https://news.example.com/{when:%Y/%m/%d}/{doc_id}.html",
            "tags": rng.sample(topic, rng.randint(0, 3)),
        }


def write(path: str | Path, n: int, seed: int = 8) -> dict[str, Any]:
    """Write `n` articles to `path` (JSON Lines); returns counts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    chars = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for article in generate(n, seed):
            chars += len(article["title"]) + len(article["body"])
            fh.write(json.dumps(article, ensure_ascii=False) + "\n")
    tmp.replace(path)  # a half-written file never looks complete
    return {"articles": n, "chars": chars, "path": str(path)}


if __name__ == "__main__":
    import argparse
    import time

    ap = argparse.ArgumentParser(description="Write N seeded synthetic Chinese news articles as JSON Lines.")
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args()
    t = time.perf_counter()
    info = write(args.out, args.n, args.seed)
    print(f"wrote {info['articles']:,} articles, {info['chars']:,} chars to {info['path']} "
          f"in {time.perf_counter() - t:.1f}s")
