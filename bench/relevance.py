"""Relevance harness: known-item query sets from the corpus, run on news-search and its peers.

    python bench/relevance.py --corpus ../shared/corpus/news.jsonl --index-dir DIR --work DIR
        [--split dev|test] [--per-set N] [--seed S] [--sets a,b] [--systems ours,fts-and,fts-or,naive]
        [--http URL] [--xapian-shards SPEC,SPEC,...] [--dump] [--out docs/relevance.md] [--fresh]

Query sets (relevance_sets.py) are generated at run time and never committed. Everything slow
is cached in --work: each article's salient words and the query sets (keyed by the corpus's
sha256, split, seed, size and generator version), the peers' indexes (built once with
bench/peers.py) and the peers' answers (keyed by the queries and peers.py); `ours` is always
run again, and so is `xapian` (news-search on the Xapian shards of --xapian-shards, built with
NEWS_SEARCH_ENGINE=xapian news-search rebuild). Each system runs in its own process (relevance_systems.py). Prints a Markdown table
(sets x systems) and, with --out, writes it into that file between `<!-- relevance:SPLIT -->`
markers (the rest of the file is kept).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from queries import iter_articles  # noqa: E402
from relevance_metrics import first_rank, summarise  # noqa: E402
from relevance_sets import SETS, SPLITS, Corpus, build_sets, salient_words  # noqa: E402
from relevance_systems import SYSTEMS, peer_paths  # noqa: E402

WORDS_VERSION = 1  # bump when salient_words changes, to drop cached word lists
SETS_VERSION = 1  # bump when a generator in relevance_sets.py changes, to drop cached query sets
DEFAULT_SYSTEMS = "ours,fts-and,fts-or,naive"
FOLLOWED = "ours, suggestion clicked"
OURS = ("ours", "ours-http", "xapian")  # our own systems: never answered from the cache


def default_corpus() -> Path:
    shared = os.environ.get("NEWS_SEARCH_SHARED")
    return (Path(shared) if shared else REPO.parent / "shared") / "corpus" / "news.jsonl"


def file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_corpus(path: Path, work: Path) -> Corpus:
    articles = list(iter_articles(path))
    cache = work / f"words-{file_sha(path)[:16]}-v{WORDS_VERSION}.json"
    if cache.exists():
        words = json.loads(cache.read_text(encoding="utf-8"))
    else:
        t = time.perf_counter()
        words = salient_words(articles)
        cache.write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
        print(f"# salient words of {len(articles):,} articles in {time.perf_counter() - t:.0f} s "
              f"(cached in {cache.name})", file=sys.stderr, flush=True)
    return Corpus(articles, words)


def query_sets(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The query sets for this corpus, split, seed and size: generated once, then read from --work."""
    sha = file_sha(args.corpus)[:16]
    key = hashlib.sha1(json.dumps([sha, args.split, args.seed, args.per_set, args.set_list, SETS_VERSION])
                       .encode()).hexdigest()[:16]
    cache = args.work / f"sets-{args.split}-{key}.json"
    if cache.exists() and not args.fresh:
        return json.loads(cache.read_text(encoding="utf-8"))
    rows = build_sets(load_corpus(args.corpus, args.work), args.split, args.per_set, args.seed, args.set_list)
    cache.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return rows


def ensure_peer(kind: str, corpus: Path, work: Path) -> None:
    """Build a peer's index once (into a temporary name, renamed when complete)."""
    final = peer_paths(work)[kind]
    done = final / "bench-meta.json" if kind == "naive" else final
    if done.exists():
        return
    tmp = final.with_name(final.name + ".part")
    print(f"# building the {kind} peer index into {final} (once)", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, str(HERE / "peers.py"), "build", kind, str(corpus), str(tmp)], check=True)
    os.replace(tmp, final)


def run_system(name: str, queries: list[str], qfile: Path, args: argparse.Namespace) -> dict[str, Any]:
    qkey = hashlib.sha1(qfile.read_bytes() + (HERE / "peers.py").read_bytes()).hexdigest()[:16]
    cached = args.work / f"answers-{name}-{qkey}.json"
    if name not in OURS and cached.exists() and not args.fresh:
        out = json.loads(cached.read_text(encoding="utf-8"))
        out["cached"] = True
        return out
    if name.startswith("fts"):
        ensure_peer("fts", args.corpus, args.work)
    elif name == "naive":
        ensure_peer("naive", args.corpus, args.work)
    target = args.work / f"answers-{name}.tmp.json"
    cmd = [sys.executable, str(HERE / "relevance_systems.py"), name, str(qfile), str(target), "--work", str(args.work)]
    if name in ("ours", "xapian") and args.index_dir:
        cmd += ["--index-dir", str(args.index_dir)]
    if name == "xapian":
        cmd += ["--xapian-shards", args.xapian_shards]
    if name == "ours-http":
        cmd += ["--http", args.http]
    print(f"# {name}: {len(queries)} queries", file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)
    out = json.loads(target.read_text(encoding="utf-8"))
    os.replace(target, cached)
    out["cached"] = False
    return out


def shown_command(argv: list[str], corpus: Path) -> str:
    """The command as run, with machine paths replaced by placeholders (docs name no local paths)."""
    shown: list[str] = []
    for i, a in enumerate(argv):
        prev = argv[i - 1] if i else ""
        if prev == "--corpus" and Path(a).resolve() == default_corpus().resolve():
            a = "../shared/corpus/news.jsonl"
        elif prev in ("--index-dir", "--work", "--corpus", "--http") and os.path.isabs(a):
            a = prev.lstrip("-").replace("-", "_").upper()
        elif prev == "--xapian-shards":
            a = "SHARD1,SHARD2,SHARD3" if a.count(",") == 2 else "SHARDS"
        shown.append(a)
    return "python bench/relevance.py " + " ".join(shlex.quote(a) for a in shown)


def table(rows: list[dict[str, Any]], systems: list[str], answers: dict[str, dict[str, Any]]) -> tuple[str, dict]:
    scores: dict[str, dict[str, dict[str, Any]]] = {}
    for s in dict.fromkeys(r["set"] for r in rows):
        idx = [i for i, r in enumerate(rows) if r["set"] == s]
        scores[s] = {}
        for name in systems:
            hits = answers[name]["hits"]
            ranks = [first_rank(hits[i], rows[i]["relevant"]) for i in idx]
            scores[s][name] = summarise(ranks, [not hits[i] for i in idx])
    head = "| set | n | " + " | ".join(systems) + " |\n|---|---:|" + "---|" * len(systems) + "\n"
    lines = []
    for s, per in scores.items():
        best = max(v["mrr10"] for name, v in per.items() if name != FOLLOWED)
        cells = []
        for name in systems:
            v = per[name]
            mrr = f"{v['mrr10']:.3f}"
            cells.append(f"{'**' + mrr + '**' if v['mrr10'] == best else mrr} · {v['s1']:.2f} · {v['s10']:.2f} · "
                         f"{v['zero'] * 100:.0f}%")
        lines.append(f"| {s} | {next(iter(per.values()))['n']} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n", scores


def write_block(path: Path, split: str, block: str) -> None:
    start, end = f"<!-- relevance:{split} -->", f"<!-- /relevance:{split} -->"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    body = f"{start}\n{block}{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + body + text[text.index(end) + len(end):]
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + body + "\n"
    path.write_text(text, encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Known-item relevance of news-search and its peers.")
    ap.add_argument("--corpus", type=Path, default=default_corpus())
    ap.add_argument("--index-dir", type=Path, help="a news-search index built by `news-search rebuild` (for ours)")
    ap.add_argument("--work", type=Path, required=True, help="cache and output directory (peer indexes, answers)")
    ap.add_argument("--split", choices=SPLITS, default="dev")
    ap.add_argument("--per-set", type=int, default=200)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--systems", default=DEFAULT_SYSTEMS)
    ap.add_argument("--http", help="base URL of a running `news-search serve` (adds ours-http)")
    ap.add_argument("--xapian-shards", default=os.environ.get("NEWS_SEARCH_XAPIAN_SHARDS"),
                    help="shard specs for the xapian system (default: NEWS_SEARCH_XAPIAN_SHARDS)")
    ap.add_argument("--dump", action="store_true", help="write per-query ranks to WORK/relevance-SPLIT.jsonl")
    ap.add_argument("--out", type=Path, help="Markdown file to write the table into")
    ap.add_argument("--fresh", action="store_true", help="regenerate the query sets, re-run the peers")
    args = ap.parse_args(argv)
    args.system_list = [s.strip() for s in args.systems.split(",") if s.strip()]
    if args.http and "ours-http" not in args.system_list:
        args.system_list.insert(1 if "ours" in args.system_list else 0, "ours-http")
    bad = [s for s in args.system_list if s not in SYSTEMS]
    if bad:
        ap.error(f"--systems: unknown {', '.join(bad)}; choose from {', '.join(SYSTEMS)}")
    args.set_list = [s.strip() for s in args.sets.split(",") if s.strip()]
    if [s for s in args.set_list if s not in SETS]:
        ap.error(f"--sets: choose from {', '.join(SETS)}")
    if not args.corpus.is_file():
        ap.error(f"--corpus: no such file: {args.corpus}")
    if "ours" in args.system_list and not (args.index_dir and args.index_dir.is_dir()):
        ap.error(f"--index-dir: `ours` needs an index directory, got {args.index_dir}")
    if "xapian" in args.system_list and not args.xapian_shards:
        ap.error("--systems xapian needs --xapian-shards SPEC,SPEC,... (or NEWS_SEARCH_XAPIAN_SHARDS)")
    if "ours-http" in args.system_list and not args.http:
        ap.error("--systems ours-http needs --http URL")
    if args.per_set < 1:
        ap.error("--per-set must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = query_sets(args)
    gen_s = time.perf_counter() - t0
    queries = [r["q"] for r in rows]
    qfile = args.work / f"queries-{args.split}-s{args.seed}-n{args.per_set}.json"
    qfile.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    answers = {name: run_system(name, queries, qfile, args) for name in args.system_list}
    columns = list(args.system_list)
    if "ours" in answers:  # diagnostic column: ours after clicking its did-you-mean suggestion
        answers[FOLLOWED] = dict(answers["ours"], hits=answers["ours"]["followed"])
        columns.insert(columns.index("ours") + 1, FOLLOWED)
    md, _scores = table(rows, columns, answers)
    times = "; ".join(f"{n} {a['wall_s']:.0f} s wall / {a['cpu_s']:.0f} s CPU" + (" (cached)" if a["cached"] else "")
                      for n, a in answers.items() if n != FOLLOWED)
    block = (f"Split **{args.split}**, seed {args.seed}, {len(rows)} queries, "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC:\n\n```\n{shown_command(argv, args.corpus)}\n```\n\n"
             f"Each cell: MRR@10 · success@1 · success@10 · zero-result rate (best MRR@10 of the row in bold; "
             f"`{FOLLOWED}` is a diagnostic: ours after clicking its did-you-mean link, when it offers one).\n\n"
             f"{md}\nQuery loops (2 shared cores, busy machine): {times}. Query sets ready in {gen_s:.0f} s (generated once, then cached).\n")
    print(block)
    if args.dump:
        dump = args.work / f"relevance-{args.split}.jsonl"
        with open(dump, "w", encoding="utf-8") as fh:
            for i, r in enumerate(rows):
                ranks = {n: first_rank(a["hits"][i], r["relevant"]) for n, a in answers.items()}
                top = {n: [h[0] for h in a["hits"][i][:3]] for n, a in answers.items() if n != FOLLOWED}
                sugg = {n: a["suggestions"][i] for n, a in answers.items() if a["suggestions"][i] and n != FOLLOWED}
                fh.write(json.dumps({"set": r["set"], "q": r["q"], "target": r["target"], "ranks": ranks,
                                     "top3": top, "suggestion": sugg}, ensure_ascii=False) + "\n")
        print(f"# per-query ranks: {dump}", file=sys.stderr)
    if args.out:
        write_block(args.out, args.split, block)
    print(f"# total {time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU in this process "
          f"(workers: see the query loops)", file=sys.stderr)


if __name__ == "__main__":
    main()
