"""news-search benchmark: build, query latency in-process and over HTTP, load, and two peers.

    python bench/run.py [--corpus ../shared/corpus/news.jsonl | --synthetic N] [--limit N] [--index-dir DIR]
                        [--reuse-index] [--skip-peers] [--http] [--queries N] [--seed S] [--out FILE] ...

Prints Markdown tables and appends one JSON object per run to bench/results/runs.jsonl (or --out).
docs/benchmarks.md says what each number means (especially cold vs repeat) and holds the results.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
warnings.filterwarnings("ignore")

import measure  # noqa: E402
import queries as qmix  # noqa: E402
from measure import summary  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "news.jsonl"
WORK = Path(tempfile.gettempdir()) / "news-search-bench"
RESULTS = HERE / "results" / "runs.jsonl"
SCENARIOS = ("match_rank", "full", "filtered", "newest", "deep")
PEER_SCENARIOS = ("full", "filtered", "newest", "deep")
DEEP_PAGE = 50
DEEP_MIN_TOTAL = 500
LOW_HIT_QUERY = "坠毁 zqxj"  # matches nothing: triggers the did-you-mean path


def cli_path() -> str:
    local = Path(sys.executable).parent / "news-search"
    return str(local) if local.exists() else (shutil.which("news-search") or "news-search")


def corpus_stats(path: Path) -> dict[str, Any]:
    n = chars = 0
    for a in qmix.iter_articles(path):
        n += 1
        chars += len(a.get("title") or "") + len(a.get("body") or "")
    return {"path": str(path), "articles": n, "chars": chars, "bytes": path.stat().st_size}


# -- build ---------------------------------------------------------------------------------------

def build(corpus: Path, index_dir: Path, reuse: bool, procs: int | None, cstats: dict[str, Any]) -> dict[str, Any]:
    from indexer.store import IndexStore

    store = IndexStore(index_dir)
    if reuse and store.current() is not None:
        gen = store.current()
        return {"reused": True, "generation": gen.name, "index_bytes": store.size_bytes(gen)}
    cmd = [cli_path(), "rebuild", str(corpus), "--index-dir", str(index_dir), "--quiet"]
    if procs:
        cmd += ["--procs", str(procs)]
    print(f"# building: {' '.join(cmd)}", flush=True)
    res = measure.run_measured(cmd, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    if res["returncode"] != 0:
        raise SystemExit(f"rebuild failed ({res['returncode']}):\n{res['stderr_tail']}")
    gen = store.require_current()
    docs = gen.meta().get("documents", 0)
    res.update(reused=False, generation=gen.name, documents=docs, index_bytes=store.size_bytes(gen),
               articles_per_s=round(docs / res["wall_s"], 1), chars_per_s=round(cstats["chars"] / res["wall_s"]))
    res.pop("stdout", None)
    return res


# -- in-process ------------------------------------------------------------------------------------

def params_for(row: dict[str, Any], scenario: str, filt: dict[str, str]) -> dict[str, list[str]]:
    p: dict[str, list[str]] = {"q": [row["q"]]}
    if scenario == "filtered":
        p.update({k: [v] for k, v in filt.items()})
    elif scenario == "newest":
        p["sort"] = ["newest"]
    elif scenario == "deep":
        p["page"] = [str(DEEP_PAGE)]
    return p


class InProcess:
    """A fresh SearchIndex over the benchmark index, warmed once, then measured query by query."""

    def __init__(self, index_dir: Path) -> None:
        from search_service.index import SearchIndex

        t = time.perf_counter()
        self.index = SearchIndex(index_dir, check_interval=3600)
        self.open_s = time.perf_counter() - t
        t = time.perf_counter()
        for q in ("中国", '"银"', "5G", "发展 经济"):  # loads column arrays, folded texts, reprint groups
            for scenario in ("full", "newest"):
                self.search(params_for({"q": q}, scenario, {}))
        self.warm_s = time.perf_counter() - t
        # A request with few hits asks for a did-you-mean, whose per-generation table (vocabulary
        # with pinyin keys) is built on first use: a one-off cost, timed apart from the mix.
        t = time.perf_counter()
        self.search(params_for({"q": LOW_HIT_QUERY}, "full", {}))
        self.first_low_hit_s = time.perf_counter() - t
        self.clear()

    def snap(self) -> Any:
        return self.index.snapshot()

    def clear(self) -> None:
        """Forget per-query caches (results, word/substring doc sets); keep columns and filter sets."""
        snap = self.snap()
        snap.results.clear()
        snap.term_docs.clear()
        snap.docs.clear()  # stored fields: only shared within one request
        from search_service import postings

        postings.SEGMENT_POSTINGS.clear()  # shared by snapshots: cleared too, or a word is never cold

    def search(self, raw: dict[str, list[str]]) -> dict[str, Any]:
        from search_service import core
        from search_service.params import parse_search_params

        return core.search(self.index, parse_search_params(raw))

    def match_rank(self, raw: dict[str, list[str]]) -> int:
        """Parse, match, filter and rank only: what the full request costs before facets and snippets."""
        from search_service.engine import WhooshEngine
        from search_service.params import parse_search_params
        from search_service.query import parse_query

        params = parse_search_params(raw)
        engine = WhooshEngine(self.snap(), self.index.store)
        p = engine.match(parse_query(params.q), params)
        docs, _sets = engine.filter(p.docs, params)
        ranked = engine.rank(p, docs, params.sort)
        ranked[:params.per_page]  # the top-10 page (the full request renders these)
        return len(docs)

    def timed(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        t = time.perf_counter()
        c = time.thread_time()
        out = fn()
        self.last_cpu_ms = (time.thread_time() - c) * 1000
        return (time.perf_counter() - t) * 1000, out

    def run(self, mix: list[dict[str, Any]], filters: list[dict[str, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for scenario in SCENARIOS:
            rows = mix if scenario != "deep" else deep_rows(mix, out["full"]["totals"])
            cold, cold_cpu, repeat, totals = [], [], [], []
            for i, row in enumerate(rows):
                raw = params_for(row, scenario, filters[i % len(filters)])
                self.clear()
                if scenario == "match_rank":
                    ms, total = self.timed(lambda: self.match_rank(raw))
                    cold.append(ms)
                    cold_cpu.append(self.last_cpu_ms)
                    totals.append(total)
                    continue
                ms, res = self.timed(lambda: self.search(raw))
                cold.append(ms)
                cold_cpu.append(self.last_cpu_ms)
                totals.append(res["total"])
                ms, _ = self.timed(lambda: self.search(raw))  # same request again: result-cache hit
                repeat.append(ms)
            # CPU time of this thread: what the request costs whatever else the shared machine runs.
            out[scenario] = {"cold": summary(cold), "cold_cpu": summary(cold_cpu), "repeat": summary(repeat),
                             "totals": totals, "raw_cold_cpu_ms": [round(x, 3) for x in cold_cpu],
                             "raw_cold_ms": [round(x, 3) for x in cold], "queries": [r["q"] for r in rows]}
            if scenario == "deep":
                out[scenario]["nonempty_pages"] = sum(1 for t in totals if t > (DEEP_PAGE - 1) * 10)
            print(f"# in-process {scenario}: cold p50 {out[scenario]['cold']['p50']:.1f} ms, "
                  f"p95 {out[scenario]['cold']['p95']:.1f} ms; CPU p50 {out[scenario]['cold_cpu']['p50']:.1f} ms, "
                  f"p95 {out[scenario]['cold_cpu']['p95']:.1f} ms (n={len(rows)})", flush=True)
        return out

    def profiled(self, mix: list[dict[str, Any]], n: int) -> cProfile.Profile:
        """cProfile of the first n queries of the mix as cold full requests."""
        prof = cProfile.Profile()
        for row in mix[:n]:
            raw = params_for(row, "full", {})
            self.clear()
            prof.enable()
            self.search(raw)
            prof.disable()
        return prof

    def profile(self, mix: list[dict[str, Any]], n: int) -> str:
        buf = io.StringIO()
        stats = pstats.Stats(self.profiled(mix, n), stream=buf)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(15)
        return buf.getvalue().replace(str(REPO) + "/", "").replace(sys.prefix + "/", "")


def deep_rows(mix: list[dict[str, Any]], totals: list[int]) -> list[dict[str, Any]]:
    """Deep paging only means something for queries with >= 500 matches; fall back to the biggest."""
    ranked = sorted(range(len(mix)), key=lambda i: -totals[i])
    chosen = [i for i in ranked if totals[i] >= DEEP_MIN_TOTAL] or ranked[:10]
    return [mix[i] for i in sorted(chosen)]


# -- HTTP --------------------------------------------------------------------------------------------

def run_http(index_dir: Path, mix: list[dict[str, Any]], filters: list[dict[str, str]], inproc: dict[str, Any],
             args: argparse.Namespace) -> dict[str, Any]:
    import httpbench

    log = WORK / "serve.log"
    server = httpbench.Server(cli_path(), str(index_dir), log)
    out: dict[str, Any] = {"startup_s": round(server.started_s, 2)}
    try:
        warm = httpbench.sequential(server, [{"q": "中国"}, {"q": "中国", "sort": "newest"}, {"q": '"银"'}])
        low = httpbench.sequential(server, [{"q": LOW_HIT_QUERY}])  # builds the did-you-mean table
        out["first_low_hit_ms"] = low.get("p50")
        out["memory_after_warmup"] = server.memory()
        out["warm_errors"] = warm["errors"]
        deep = deep_rows(mix, inproc["full"]["totals"])
        plans = {
            # The first pass sees every request for the first time (result-cache miss).
            "full": [{"q": r["q"]} for r in mix],
            "full_repeat": [{"q": r["q"]} for r in mix],
            "filtered": [{"q": r["q"], **filters[i % len(filters)]} for i, r in enumerate(mix)],
            "newest": [{"q": r["q"], "sort": "newest"} for r in mix],
            "deep": [{"q": r["q"], "page": DEEP_PAGE} for r in deep],
        }
        for name, reqs in plans.items():
            out[name] = httpbench.sequential(server, reqs)
            print(f"# http {name}: p50 {out[name]['p50']:.1f} ms, p95 {out[name]['p95']:.1f} ms, "
                  f"errors {out[name]['errors']}", flush=True)
        if args.load_seconds > 0:
            # Distinct queries, more than the 512-entry result cache holds: (almost) every request
            # is a result-cache miss, while word doc-sets warm up as a real server's would.
            pool = [{"q": r["q"]} for r in qmix.build_mix(args.corpus_path, args.load_pool, args.seed + 1)]
            out["load_distinct"] = httpbench.load(server, pool, args.clients, args.load_seconds)
            out["load_distinct"]["pool"] = len(pool)
            print(f"# load (distinct): {out['load_distinct']['rps']} req/s, errors {out['load_distinct']['errors']}",
                  flush=True)
            out["memory_after_load"] = server.memory()
            out["load_repeat"] = httpbench.load(server, plans["full"], args.clients, args.load_seconds)
            out["load_repeat"]["pool"] = len(plans["full"])
            print(f"# load (repeat): {out['load_repeat']['rps']} req/s, errors {out['load_repeat']['errors']}",
                  flush=True)
        out["memory_end"] = server.memory()
    finally:
        server.stop()
    return out


# -- peers -----------------------------------------------------------------------------------------

def run_peers(corpus: Path, mix: list[dict[str, Any]], filters: list[dict[str, str]], inproc: dict[str, Any],
              args: argparse.Namespace, tag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    limits = {"naive": args.peer_limit, "fts": args.fts_limit}
    qcaps = {"naive": args.peer_queries, "fts": None}
    for key in ("fts", "naive"):
        limit = limits[key]
        suffix = f"-{limit}" if limit else ""
        path = WORK / f"peer-{key}-{tag}{suffix}" if key == "naive" else WORK / f"peer-{key}-{tag}{suffix}.sqlite"
        info_file = Path(str(path) + ".build.json")
        if args.reuse_index and path.exists() and info_file.exists():
            built = json.loads(info_file.read_text())
            built["reused"] = True
        else:
            if path.is_dir():
                shutil.rmtree(path)
            cmd = [sys.executable, str(HERE / "peers.py"), "build", key, str(corpus), str(path)]
            if limit:
                cmd += ["--limit", str(limit)]
            print(f"# building peer {key}: {' '.join(cmd[1:])}", flush=True)
            built = measure.run_measured(cmd, env=dict(os.environ, PYTHONWARNINGS="ignore"))
            if built["returncode"] != 0:
                print(f"# peer {key} build failed: {built['stderr_tail']}", flush=True)
                continue
            built.update(json.loads(built.pop("stdout").strip().splitlines()[-1]))
            built["articles_per_s"] = round(built["articles"] / built["wall_s"], 1)
            built["chars_per_s"] = round(built["chars"] / built["wall_s"])
            built["index_bytes"] = measure.dir_size_bytes(path) if path.is_dir() else path.stat().st_size
            built["reused"] = False
            info_file.write_text(json.dumps(built))
        res: dict[str, Any] = {"build": built, "limit": limit}
        n = qcaps[key] or len(mix)
        plan: list[tuple[str, int]] = []  # (scenario, mix index)
        for scenario in PEER_SCENARIOS:
            rows = mix if scenario != "deep" else deep_rows(mix, inproc["full"]["totals"])
            plan += [(scenario, i) for i, r in enumerate(mix) if r in rows][:n]
        reqs = [{"q": mix[i]["q"], "scenario": sc, "filter": filters[i % len(filters)]} for sc, i in plan]
        req_file = WORK / f"peer-{key}-requests.json"
        req_file.write_text(json.dumps(reqs, ensure_ascii=False), encoding="utf-8")
        print(f"# querying peer {key}: {len(reqs)} requests", flush=True)
        ran = measure.run_measured([sys.executable, str(HERE / "peers.py"), "query", key, str(req_file), str(path)],
                                   env=dict(os.environ, PYTHONWARNINGS="ignore"))
        if ran["returncode"] != 0:
            print(f"# peer {key} queries failed: {ran['stderr_tail']}", flush=True)
            continue
        answer = json.loads(ran["stdout"].strip().splitlines()[-1])
        res["selfcheck_problems"] = answer["selfcheck_problems"]
        res["query_process_peak_rss_mb"] = ran["peak_tree_rss_mb"]
        for scenario in PEER_SCENARIOS:
            rows = mix if scenario != "deep" else deep_rows(mix, inproc["full"]["totals"])
            got = [(i, row) for (sc, i), row in zip(plan, answer["rows"]) if sc == scenario]
            ms = [row[0] for _, row in got]
            totals = [row[1] for _, row in got]
            ours_idx = [rows.index(mix[i]) for i, _ in got]
            ours_ms = [inproc[scenario]["raw_cold_ms"][j] for j in ours_idx]
            ours_totals = [inproc[scenario]["totals"][j] for j in ours_idx]
            res[scenario] = {"peer": summary(ms), "ours_same_queries": summary(ours_ms),
                             "peer_zero_ours_nonzero": sum(1 for a, b in zip(totals, ours_totals) if a == 0 and b > 0),
                             "peer_total_hits": sum(totals), "ours_total_hits": sum(ours_totals),
                             "raw_peer_ms": ms, "peer_totals": totals}
            print(f"# peer {key} {scenario}: p50 {res[scenario]['peer']['p50']:.1f} ms, "
                  f"p95 {res[scenario]['peer']['p95']:.1f} ms (n={len(ms)})", flush=True)
        out[key] = res
    return out


# -- report ------------------------------------------------------------------------------------------

TARGETS = {  # issue 8, real corpus (19.5k articles) on this machine
    "full_p50_ms": 10.0, "full_p95_ms": 40.0, "http_p95_ms": 50.0, "naive_speedup_p95": 10.0,
    "rebuild_s": 120.0, "rebuild_vs_naive": 2.0, "rss_mb": 1536.0, "load_rps": 100.0, "synthetic_p95_ms": 150.0,
}


def check(label: str, value: float | None, target: float, higher_is_better: bool = False, unit: str = "") -> str:
    if value is None:
        return f"| {label} | not measured | {target:g}{unit} | - |"
    met = value >= target if higher_is_better else value <= target
    if met:
        verdict = "met"
    elif higher_is_better:
        verdict = f"MISSED: {target / value:.2f}x short ({target - value:,.1f}{unit} below)" if value > 0 else "MISSED"
    else:
        verdict = f"MISSED: {value / target:.2f}x over (+{value - target:,.1f}{unit})"
    return f"| {label} | {value:,.1f}{unit} | {'>=' if higher_is_better else '<='} {target:g}{unit} | {verdict} |"


def fmt_ms(s: dict[str, Any]) -> str:
    if not s or not s.get("n"):
        return "- | - | -"
    return f"{s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f}"


def report(r: dict[str, Any]) -> str:
    lines: list[str] = []
    add = lines.append
    m, c, b = r["machine"], r["corpus"], r["build"]
    add(f"## Run {r['started']} ({r['label']}, git {r['git']})\n")
    add(f"Machine: {m['nproc']} cores ({m['cpu_model']}), {m['mem_total_gb']} GB, Python {m['python']}; "
        f"load average at start {m['loadavg']}, at end {r.get('loadavg_end')}.")
    if r.get("loadavg_phases"):
        add("Load average (1/5/15 min) after each phase: "
            + "; ".join(f"{k} {v[0]:.2f}/{v[1]:.2f}/{v[2]:.2f}" for k, v in r["loadavg_phases"].items() if v) + ".")
    add(f"Corpus: {c['articles']:,} articles, {c['chars']:,} characters ({c['path']}). Queries: "
        f"{r['queries']} (seed {r['seed']}).\n")
    add("### Build (`news-search rebuild`, subprocess)\n")
    if b.get("reused"):
        add(f"Index reused ({b['generation']}, {b['index_bytes'] / 1e6:,.1f} MB): rebuild not measured in this run.\n")
    else:
        add("| wall s | articles/s | chars/s | index MB | peak RSS largest process MB | peak tree PSS MB | peak tree RSS MB | CPU user+sys s |")
        add("| --- | --- | --- | --- | --- | --- | --- | --- |")
        add(f"| {b['wall_s']:.1f} | {b['articles_per_s']:,.1f} | {b['chars_per_s']:,} | {b['index_bytes'] / 1e6:,.1f} | "
            f"{b['max_single_rss_mb']:,.0f} | {b['peak_tree_pss_mb']:,.0f} | {b['peak_tree_rss_mb']:,.0f} | "
            f"{b['cpu_user_s'] + b['cpu_sys_s']:,.1f} |\n")
    ip = r["inproc"]
    add(f"### In-process latency, ms (SearchIndex opened in {ip['open_s']:.2f} s, warmed in {ip['warm_s']:.2f} s; "
        f"first few-hit request, which builds the did-you-mean table, {ip.get('first_low_hit_s', 0):.2f} s)\n")
    add("cold = first time the request is seen, with the result cache and the word/substring doc-set cache "
        "cleared before it (column arrays and filter sets stay warm); repeat = the same request again "
        "(result-cache hit).\n")
    add("cold CPU = CPU time of the searching thread for the cold request (what it costs whatever else "
        "the shared machine runs; wall time above it is CPU plus waiting for a core).\n")
    add("| scenario | n | cold p50 | cold p95 | cold p99 | cold CPU p50 | cold CPU p95 | cold CPU p99 | "
        "repeat p50 | repeat p95 | repeat p99 |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in SCENARIOS:
        s = ip[name]
        add(f"| {name} | {s['cold']['n']} | {fmt_ms(s['cold'])} | {fmt_ms(s.get('cold_cpu', {}))} | "
            f"{fmt_ms(s['repeat'])} |")
    add(f"\nmatch_rank = parse + match + filter + rank only (internal functions; no facets, no snippets). "
        f"full = `core.search` (3 facets + 10 highlighted hits). deep = page {DEEP_PAGE} over the "
        f"{ip['deep']['cold']['n']} queries with >= {DEEP_MIN_TOTAL} matches ({ip['deep']['nonempty_pages']} non-empty).\n")
    by_kind: dict[str, list[float]] = {}
    for q, ms in zip(r["mix"], ip["full"]["raw_cold_ms"]):
        by_kind.setdefault(q["kind"], []).append(ms)
    by_kind_cpu: dict[str, list[float]] = {}
    for q, ms in zip(r["mix"], ip["full"].get("raw_cold_cpu_ms", [])):
        by_kind_cpu.setdefault(q["kind"], []).append(ms)
    add("Full request, cold, by query kind (ms):\n")
    add("| kind | n | p50 | p95 | p99 | max | CPU p50 | CPU p95 | CPU p99 |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind in qmix.KINDS:
        s = summary(by_kind.get(kind, []))
        if s["n"]:
            add(f"| {kind} | {s['n']} | {fmt_ms(s)} | {s['max']:.1f} | {fmt_ms(summary(by_kind_cpu.get(kind, [])))} |")
    add("")
    h = r.get("http")
    if h:
        add(f"### Over HTTP (`news-search serve`, waitress 8 threads; one client, sequential), ms\n")
        add("| scenario | n | p50 | p95 | p99 | errors |")
        add("| --- | --- | --- | --- | --- | --- |")
        for name in ("full", "full_repeat", "filtered", "newest", "deep"):
            s = h[name]
            add(f"| {name} | {s['n']} | {fmt_ms(s)} | {s['errors']} |")
        add("\nfull = first time the server sees each request; full_repeat = the same requests again; "
            "the later scenarios reuse words the server has already seen (word doc-set cache warm).\n")
        for key, what in (("load_distinct", "distinct queries (result-cache misses)"),
                          ("load_repeat", "the benchmark mix again (result-cache hits)")):
            if key in h:
                L = h[key]
                add(f"Load, {what}: {L['clients']} clients x {L['seconds']} s, pool {L['pool']}: "
                    f"**{L['rps']} requests/s**, {L['errors']} errors, latency p50 {L['p50']:.1f} / "
                    f"p95 {L['p95']:.1f} / p99 {L['p99']:.1f} ms; server CPU {L.get('server_cpu_s', 0)} s "
                    f"({L.get('server_cpu_ms_per_request', 0)} ms per request).\n")
        add(f"First few-hit request after start (builds the did-you-mean table): {h.get('first_low_hit_ms') or 0:,.0f} ms. "
            f"Server start to first answer: {h['startup_s']} s.\n")
        add(f"Service memory: after warm-up {h['memory_after_warmup']}, at end {h['memory_end']} "
            f"(peak_rss_mb = VmHWM).\n")
    p = r.get("peers")
    if p:
        add("### Peers (in-process, same articles and queries)\n")
        # Sampled from /proc: wait4's ru_maxrss of a child forked from this (large) process counts
        # the pages it shared before exec, so it overstates a small peer's memory.
        add("| peer | articles indexed | build s | articles/s | CPU user+sys s | index MB | peak RSS MB (sampled) |")
        add("| --- | --- | --- | --- | --- | --- | --- |")
        for key, res in p.items():
            bb = res["build"]
            add(f"| {key} | {bb['articles']:,} | {bb['wall_s']:.1f} | {bb['articles_per_s']:,.1f} | "
                f"{bb['cpu_user_s'] + bb['cpu_sys_s']:,.1f} | "
                f"{bb['index_bytes'] / 1e6:,.1f} | {bb['peak_tree_rss_mb']:,.0f} |"
                + (" (reused: measured in an earlier run)" if bb.get("reused") else ""))
        if not b.get("reused"):
            add(f"| news-search | {b['documents']:,} | {b['wall_s']:.1f} | {b['articles_per_s']:,.1f} | "
                f"{b['cpu_user_s'] + b['cpu_sys_s']:,.1f} | "
                f"{b['index_bytes'] / 1e6:,.1f} | {b['peak_tree_rss_mb']:,.0f} (all processes; PSS {b['peak_tree_pss_mb']:,.0f}) |")
        add("\n| peer | scenario | n | ours p50 | ours p95 | peer p50 | peer p95 | peer/ours p50 | peer/ours p95 | "
            "peer 0 hits where ours > 0 | hits ours / peer |")
        add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for key, res in p.items():
            for scenario in ("full", "filtered", "newest", "deep"):
                s = res.get(scenario)
                if not s or not s["peer"].get("n"):
                    continue
                o, q = s["ours_same_queries"], s["peer"]
                add(f"| {key} | {scenario} | {q['n']} | {o['p50']:.1f} | {o['p95']:.1f} | {q['p50']:.1f} | "
                    f"{q['p95']:.1f} | {q['p50'] / o['p50']:.2f} | {q['p95'] / o['p95']:.2f} | "
                    f"{s['peer_zero_ours_nonzero']} | {s['ours_total_hits']:,} / {s['peer_total_hits']:,} |")
        notes = []
        for key, res in p.items():
            if res["limit"] and res["limit"] < c["articles"]:
                notes.append(f"{key} indexed only the first {res['limit']:,} of {c['articles']:,} articles "
                             f"(--{'peer' if key == 'naive' else 'fts'}-limit): its latencies are on a smaller index, "
                             f"which favours it, and hit counts are not comparable")
            if res.get("selfcheck_problems"):
                notes.append(f"{key} self-check problems: {res['selfcheck_problems']}")
        add("\nRatios > 1 mean news-search is faster. Ours = in-process cold numbers for the same queries. "
            + " ".join(n + "." for n in notes) + "\n")
    add("### Targets (issue 8)\n")
    add("| target | measured | goal | verdict |")
    add("| --- | --- | --- | --- |")
    full = ip["full"]["cold"]
    synthetic = r["label"].startswith("synthetic")
    cpu = ip["full"].get("cold_cpu", {})
    if synthetic:
        add(check("full request p95 in-process, cold (synthetic)", full["p95"], TARGETS["synthetic_p95_ms"], unit=" ms"))
        if cpu.get("n"):
            add(check("... same, CPU time", cpu["p95"], TARGETS["synthetic_p95_ms"], unit=" ms"))
    else:
        add(check("full request p50 in-process, cold", full["p50"], TARGETS["full_p50_ms"], unit=" ms"))
        add(check("full request p95 in-process, cold", full["p95"], TARGETS["full_p95_ms"], unit=" ms"))
        if cpu.get("n"):
            add(check("... p50, CPU time", cpu["p50"], TARGETS["full_p50_ms"], unit=" ms"))
            add(check("... p95, CPU time", cpu["p95"], TARGETS["full_p95_ms"], unit=" ms"))
    add(check("full request p95 over HTTP, first seen", h["full"]["p95"] if h else None, TARGETS["http_p95_ms"], unit=" ms"))
    naive = (p or {}).get("naive")
    speed = naive["full"]["peer"]["p95"] / naive["full"]["ours_same_queries"]["p95"] if naive else None
    add(check("speed-up over naive Whoosh at p95 (full)", speed, TARGETS["naive_speedup_p95"], True, "x"))
    if not b.get("reused"):
        add(check("rebuild wall time", b["wall_s"], TARGETS["rebuild_s"], unit=" s"))
        add(check("rebuild peak memory (tree PSS)", b["peak_tree_pss_mb"], TARGETS["rss_mb"], unit=" MB"))
        if naive:
            add(check("rebuild rate vs naive build (articles/s ratio)",
                      b["articles_per_s"] / naive["build"]["articles_per_s"], TARGETS["rebuild_vs_naive"], True, "x"))
    if h and "load_distinct" in h:
        add(check("load: requests/s, 8 clients, distinct queries", h["load_distinct"]["rps"], TARGETS["load_rps"], True))
        add(f"| load errors | {h['load_distinct']['errors'] + h['load_repeat']['errors']} | 0 | "
            f"{'met' if h['load_distinct']['errors'] + h['load_repeat']['errors'] == 0 else 'MISSED'} |")
    add("")
    if r.get("profile"):
        add(f"### Profile: full request, cold, first {r['profile_n']} queries of the mix\n")
        add("```\n" + r["profile"].strip() + "\n```\n")
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="JSONL articles (default: the shared corpus)")
    ap.add_argument("--synthetic", type=int, metavar="N", help="benchmark N seeded synthetic articles instead")
    ap.add_argument("--limit", type=int, metavar="N", help="benchmark only the first N articles of the corpus")
    ap.add_argument("--index-dir", type=Path, help=f"index directory (default: {WORK}/index-<corpus>)")
    ap.add_argument("--reuse-index", action="store_true", help="reuse an existing index (and peer indexes)")
    ap.add_argument("--procs", type=int, help="rebuild --procs (default: the CLI's default, all cores)")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--peer-limit", type=int, help="index only the first N articles in the naive Whoosh peer")
    ap.add_argument("--fts-limit", type=int, help="index only the first N articles in the FTS5 peer")
    ap.add_argument("--peer-queries", type=int, default=40, help="queries per scenario for the (slow) naive peer")
    ap.add_argument("--http", action="store_true", help="also measure over HTTP and run the load test")
    ap.add_argument("--load-seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--load-pool", type=int, default=2000, help="distinct queries for the load test")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N full requests (cold)")
    ap.add_argument("--out", type=Path, default=RESULTS, help=f"JSON Lines file to append to (default: {RESULTS})")
    ap.add_argument("--no-save", action="store_true", help="print only; append no JSON result")
    ap.add_argument("--report", type=int, metavar="K", help="only print the tables of the K-th saved run in --out "
                    "(1 = first, -1 = last) and exit")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    if args.report:
        runs = [json.loads(line) for line in args.out.read_text(encoding="utf-8").splitlines() if line.strip()]
        print(report(runs[args.report - 1 if args.report > 0 else args.report]))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    mach = measure.machine()
    if args.synthetic:
        import synthetic

        corpus = WORK / f"synthetic-{args.synthetic}-seed{args.seed}.jsonl"
        if not corpus.exists():
            t = time.perf_counter()
            synthetic.write(corpus, args.synthetic, args.seed)
            print(f"# generated {corpus} in {time.perf_counter() - t:.1f}s", flush=True)
        label = f"synthetic {args.synthetic:,}"
    else:
        corpus = args.corpus.resolve()
        if not corpus.is_file():
            raise SystemExit(f"corpus not found: {corpus} (pass --corpus PATH or --synthetic N)")
        label = f"corpus {corpus.name}"
    if args.limit:
        # A prefix copy, so the CLI rebuild, the query mix and the peers all see the same articles.
        prefix = WORK / f"{corpus.stem}-first{args.limit}.jsonl"
        if not prefix.exists():
            with open(corpus, encoding="utf-8") as src, open(prefix, "w", encoding="utf-8") as dst:
                for i, line in enumerate(src):
                    if i >= args.limit:
                        break
                    dst.write(line)
        corpus = prefix
        label += f", first {args.limit:,}"
    args.corpus_path = corpus
    tag = corpus.stem
    index_dir = (args.index_dir or WORK / f"index-{tag}").resolve()
    cstats = corpus_stats(corpus)
    phases: dict[str, list[float]] = {"start": measure.loadavg()}
    b = build(corpus, index_dir, args.reuse_index, args.procs, cstats)
    phases["after build"] = measure.loadavg()
    mix = qmix.build_mix(corpus, args.queries, args.seed)
    filters = qmix.filters_for(corpus, len(mix), args.seed)
    ip = InProcess(index_dir)
    inproc = ip.run(mix, filters)
    inproc.update(open_s=round(ip.open_s, 2), warm_s=round(ip.warm_s, 2),
                  first_low_hit_s=round(ip.first_low_hit_s, 2))
    phases["after in-process"] = measure.loadavg()
    prof = ip.profile(mix, args.profile) if args.profile else None
    del ip
    http = run_http(index_dir, mix, filters, inproc, args) if args.http else None
    phases["after http"] = measure.loadavg()
    peer = None if args.skip_peers else run_peers(corpus, mix, filters, inproc, args, tag)
    phases["after peers"] = measure.loadavg()
    result = {"started": started, "label": label, "git": measure.git_rev(REPO), "machine": mach,
              "loadavg_end": measure.loadavg(), "corpus": cstats, "index_dir": str(index_dir),
              "argv": sys.argv[1:], "queries": len(mix), "seed": args.seed, "mix": mix, "filters": filters,
              "loadavg_phases": phases, "build": b, "inproc": inproc, "http": http, "peers": peer, "profile": prof, "profile_n": args.profile}
    print()
    print(report(result))
    if not args.no_save:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(result, ensure_ascii=False) + "\n")
        print(f"# appended to {args.out}")


if __name__ == "__main__":
    main()
