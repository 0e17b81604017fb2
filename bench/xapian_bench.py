"""Whoosh single node vs Xapian shards in one run: rebuild wall/CPU, in-process full-request latency.

    python bench/xapian_bench.py --work DIR [--corpus FILE] [--shards N] [--remote-shards HOST:PORT,...]
        [--queries 200] [--seed 8] [--reuse | --reuse-whoosh] [--profile N]

Both engines are built from the same corpus by `news-search rebuild` as a subprocess (the CLI path
users run; measure.run_measured: wall, CPU of the process tree, peak RSS), Whoosh into
WORK/whoosh, Xapian (NEWS_SEARCH_ENGINE=xapian) into N local shards WORK/shard1..N and, with
--remote-shards, onto already served shards (`news-search shard serve`). Then the query mix of
bench/run.py (bench/queries.py, seed 8) is run in-process on each: one index object, warmed,
every measured request cold (per-query caches cleared before it), as bench/run.py measures `ours`.
With --profile N, the first N full requests of the mix are profiled (cProfile, cold) on each
Xapian engine: the shares of the Engine's steps and the top functions. Prints a Markdown report;
writes the raw numbers to WORK/xapian-bench.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
warnings.filterwarnings("ignore")

import measure  # noqa: E402
import queries as qmix  # noqa: E402
from measure import summary  # noqa: E402
from run import InProcess, cli_path, params_for  # noqa: E402

SCENARIOS = ("full", "filtered", "newest")


def rebuild(corpus: Path, index_dir: Path, shards: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("NEWS_SEARCH_XAPIAN_SHARDS", None)
    env["NEWS_SEARCH_ENGINE"] = "whoosh"
    if shards:
        env.update(NEWS_SEARCH_ENGINE="xapian", NEWS_SEARCH_XAPIAN_SHARDS=shards)
    load = measure.loadavg()
    out = measure.run_measured([sys.executable, cli_path(), "rebuild", str(corpus), "--index-dir", str(index_dir),
                                "--quiet"], env=env, quiet=True)
    out["load_before"] = load
    out.pop("stdout", None)
    if out.get("returncode", 0):
        raise SystemExit(f"rebuild failed ({'xapian ' + shards if shards else 'whoosh'}): {out}")
    return out


class XapianInProcess(InProcess):
    """The same measurement over XapianIndex (local or remote shards)."""

    def __init__(self, specs: str, index_dir: Path) -> None:  # noqa: super().__init__ opens Whoosh
        from indexer.xapian_doc import parse_shards
        from search_service.xapian_engine import XapianIndex

        t = time.perf_counter()
        self.index = XapianIndex(parse_shards(specs), partial=False, index_dir=str(index_dir))
        self.open_s = time.perf_counter() - t
        t = time.perf_counter()
        for q in ("中国", '"银"', "5G", "发展 经济"):
            for scenario in ("full", "newest"):
                self.search(params_for({"q": q}, scenario, {}))
        self.warm_s = time.perf_counter() - t
        self.first_low_hit_s = 0.0
        self.clear()

    def clear(self) -> None:
        """Forget per-query caches (results, doc sets and postings, stored fields and their word
        spans); keep columns (values) and what ranking keeps of the articles (folded texts,
        keyword ranks), as the Whoosh side keeps its columns, folded texts and keyword ranks."""
        st = self.index.pool.state()
        st.results.clear()
        st.sets.clear()
        st.docs.clear()
        st.spans.clear()

    def search(self, raw: dict[str, list[str]]) -> dict[str, Any]:
        from search_service.params import parse_search_params

        return self.index.search(parse_search_params(raw))


def measure_engine(ip: InProcess, mix: list[dict[str, Any]], filters: list[dict[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"open_s": round(ip.open_s, 3), "warm_s": round(ip.warm_s, 3)}
    for scenario in SCENARIOS:
        cold, cpu, totals = [], [], []
        for i, row in enumerate(mix):
            raw = params_for(row, scenario, filters[i % len(filters)])
            ip.clear()
            ms, res = ip.timed(lambda: ip.search(raw))
            cold.append(ms)
            cpu.append(ip.last_cpu_ms)
            totals.append(res["total"])
        out[scenario] = {"cold": summary(cold), "cpu": summary(cpu), "totals": totals}
        print(f"# {scenario}: p50 {out[scenario]['cold']['p50']:.1f} ms, p95 {out[scenario]['cold']['p95']:.1f} ms",
              file=sys.stderr, flush=True)
    return out


STEPS = ("autocorrect", "did_you_mean", "match", "filter", "rank", "facet_counts", "highlight_spans", "stored",
         "reprint_groups")


def profile(ip: InProcess, mix: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """cProfile of n cold full requests: cumulative seconds of each XapianEngine step, the total."""
    import pstats

    stats = pstats.Stats(ip.profiled(mix, n))
    total = stats.total_tt
    steps = {name: 0.0 for name in STEPS}
    for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if path.endswith("xapian_engine.py") and func in steps:
            steps[func] += ct
    return {"n": n, "total_s": round(total, 3), "steps_s": {k: round(v, 3) for k, v in steps.items()}}


def report(r: dict[str, Any]) -> str:
    lines = [f"Machine: {r['machine'].get('nproc', '?')} cores shared with other jobs; load average "
             f"{' / '.join(f'{x:.1f}' for x in r['load_start'])} at the start, "
             f"{' / '.join(f'{x:.1f}' for x in r['load_end'])} at the end. git `{r['git']}`.", "",
             "| build | wall s | CPU s (user+sys) | peak RSS MB | size MB |", "|---|---:|---:|---:|---:|"]
    for name, b in r["builds"].items():
        lines.append(f"| {name} | {b['wall_s']:.1f} | {b['cpu_user_s'] + b['cpu_sys_s']:.1f} | "
                     f"{b['peak_tree_rss_mb']:.0f} | "
                     f"{b['size_bytes'] / 1e6:.1f} |")
    lines += ["", "| engine | scenario | n | p50 ms | p95 ms | p99 ms | CPU p50 | CPU p95 | same totals as Whoosh |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    base = r["latency"].get("whoosh", {})
    for name, lat in r["latency"].items():
        for sc in SCENARIOS:
            s, c = lat[sc]["cold"], lat[sc]["cpu"]
            same = sum(a == b for a, b in zip(lat[sc]["totals"], base[sc]["totals"])) if base else 0
            lines.append(f"| {name} | {sc} | {s['n']} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} | "
                         f"{c['p50']:.1f} | {c['p95']:.1f} | {same}/{s['n']} |")
    for name, prof in r.get("profiles", {}).items():
        total = prof["total_s"] or 1.0
        shares = ", ".join(f"{k} {v / total:.0%}" for k, v in sorted(prof["steps_s"].items(), key=lambda kv: -kv[1])
                           if v / total >= 0.005)
        lines += ["", f"Profile, {name}, {prof['n']} cold full requests: {prof['total_s']:.2f} s under cProfile; "
                  f"{shares}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path(os.environ.get("NEWS_SEARCH_SHARED", REPO.parent / "shared"))
                    / "corpus" / "news.jsonl")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--remote-shards", help="served shards (host:port,...) to build onto and measure as well")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--reuse", action="store_true", help="skip the rebuilds (indexes already in --work)")
    ap.add_argument("--reuse-whoosh", action="store_true",
                    help="rebuild the Xapian shards only (the Whoosh index already in --work)")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N cold full requests per Xapian engine")
    args = ap.parse_args()
    if not args.corpus.is_file():
        ap.error(f"--corpus: no such file: {args.corpus}")
    if args.shards < 1:
        ap.error("--shards must be at least 1")
    args.work.mkdir(parents=True, exist_ok=True)
    local = ",".join(str((args.work / f"shard{i}").resolve()) for i in range(1, args.shards + 1))
    r: dict[str, Any] = {"machine": measure.machine(), "git": measure.git_rev(REPO), "load_start": measure.loadavg(),
                         "builds": {}, "latency": {}}
    engines = {"whoosh": None, f"xapian {args.shards} local shards": local}
    if args.remote_shards:
        engines[f"xapian {len(args.remote_shards.split(','))} remote shards"] = args.remote_shards
    whoosh_dir = args.work / "whoosh"
    if not args.reuse:
        for name, shards in engines.items():
            if shards is None and args.reuse_whoosh:
                continue
            print(f"# rebuild: {name}", file=sys.stderr, flush=True)
            b = rebuild(args.corpus, whoosh_dir if shards is None else args.work / "xapian-index-dir", shards)
            b["size_bytes"] = measure.dir_size_bytes(whoosh_dir) if shards is None else (
                sum(measure.dir_size_bytes(s) for s in shards.split(",")) if shards == local else 0)
            r["builds"][name] = b
    mix = qmix.build_mix(args.corpus, args.queries, args.seed)
    filters = qmix.filters_for(args.corpus, len(mix), args.seed)
    for name, shards in engines.items():
        print(f"# latency: {name}", file=sys.stderr, flush=True)
        ip = InProcess(whoosh_dir) if shards is None else XapianInProcess(shards, args.work / "xapian-index-dir")
        r["latency"][name] = measure_engine(ip, mix, filters)
        if args.profile and shards is not None:
            r.setdefault("profiles", {})[name] = profile(ip, mix, args.profile)
    r["load_end"] = measure.loadavg()
    (args.work / "xapian-bench.json").write_text(json.dumps(r, ensure_ascii=False, indent=1), encoding="utf-8")
    print(report(r))


if __name__ == "__main__":
    main()
