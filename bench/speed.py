"""`make bench`: indexing throughput, index size, and search latency (in-process and HTTP).

1. Builds an index of ant-multisource + saudinewsnet (~62.5k articles, with entity
   extraction) and records docs/s, wall seconds, peak RSS and size on disk.
2. Runs ../shared/bench/queries.txt through ``web.links.search_document`` — what the
   API answers with: all facets, 20 snippets — one warm-up pass, then a measured pass.
3. Serves the index with gunicorn on 127.0.0.1 and replays the queries over HTTP with a
   fixed number of concurrent clients.
Writes bench/results/speed-<time>.json and prints a one-line summary. Never run by
`make test`.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MIRSAD_SHARED", ROOT.parent / "shared"))
CORPORA = ["ant-multisource.jsonl.gz", "saudinewsnet.jsonl.gz"]


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return 0.0
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def build(index_dir: Path, procs: int, sources: list[Path], entities: bool = True) -> dict:
    """Build in a child process so its peak RSS is measured alone."""
    cmd = [sys.executable, str(ROOT / "mirsad.py"), "index", *map(str, sources), "--index", str(index_dir),
           "--procs", str(procs), "--quiet", "--report", str(index_dir) + ".report.json"]
    if not entities:
        cmd.append("--no-entities")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report = json.loads(Path(str(index_dir) + ".report.json").read_text())
    gen = next(p for p in index_dir.glob("gen-*"))
    return {"docs": report["indexed"], "wall_s": round(wall, 1), "docs_per_s": round(report["indexed"] / wall, 1),
            "peak_rss_mb": round(max(peak_kb, before) / 1024, 1), "index_mb": round(dir_size(gen) / 2**20, 1),
            "extract_s": report["extract_seconds"], "procs": procs, "entities": entities}


def in_process(index_dir: Path, queries: list[str]) -> dict:
    from search.engine import parse_request
    from web.links import search_document
    from search.index import IndexHandle

    gen = IndexHandle(index_dir).get()
    for q in queries:  # warm-up
        search_document(gen, parse_request({"q": q}))
    times, timed_out = [], 0
    t0 = time.perf_counter()
    for q in queries:
        t = time.perf_counter()
        doc = search_document(gen, parse_request({"q": q}))
        times.append((time.perf_counter() - t) * 1000)
        timed_out += bool(doc["timed_out"])
    total = time.perf_counter() - t0
    return {"queries": len(queries), "p50_ms": round(percentile(times, 50), 2), "p95_ms": round(percentile(times, 95), 2),
            "p99_ms": round(percentile(times, 99), 2), "max_ms": round(max(times), 2),
            "qps": round(len(queries) / total, 1), "timed_out": timed_out}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(index_dir: Path, workers: int, extra: tuple = ()):
    """``mirsad serve`` on a free loopback port, once it answers ``/api/health``: yields
    its base URL, and stops it after."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "mirsad.py"), "serve", "--index", str(index_dir),
                             "--port", str(port), "--workers", str(workers), *extra], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # up to 2 minutes: a large index opens (and builds its speller) first
            try:
                urllib.request.urlopen(base + "/api/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def http(index_dir: Path, queries: list[str], clients: int, workers: int, rounds: int, extra: tuple = (),
         answers: dict | None = None) -> dict:
    """Client-measured latency of ``/api/search`` through ``mirsad serve`` (``extra``: more
    of its options, ``--ray ADDRESS``); ``answers``, when given, receives each query's
    JSON answer (asked once more after the warm-up round)."""
    with served(index_dir, workers, extra) as base:
        urls = [base + "/api/search?" + urllib.parse.urlencode({"q": q}) for q in queries]
        for u in urls:  # warm every worker's caches
            urllib.request.urlopen(u, timeout=30).read()
        for q, u in zip(queries, urls if answers is not None else ()):  # the answers, warm
            answers[q] = json.loads(urllib.request.urlopen(u, timeout=30).read())
        times: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def client(k: int) -> None:
            for r in range(rounds):
                for u in urls[k::clients]:
                    t = time.perf_counter()
                    try:
                        with urllib.request.urlopen(u, timeout=30) as resp:
                            resp.read()
                            ok = resp.status == 200
                    except OSError as exc:
                        ok = False
                        with lock:
                            errors.append(repr(exc))
                    with lock:
                        if ok:
                            times.append((time.perf_counter() - t) * 1000)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = time.perf_counter() - t0
    return {"clients": clients, "workers": workers, "requests": len(times) + len(errors), "errors": len(errors),
            "p50_ms": round(percentile(times, 50), 2), "p95_ms": round(percentile(times, 95), 2),
            "p99_ms": round(percentile(times, 99), 2), "rps": round(len(times) / total, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Mirsad speed benchmark")
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--index", help="reuse this index instead of building one")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--extraction-cost", action="store_true",
                        help="also build ant-multisource with and without entity extraction")
    args = parser.parse_args(argv)
    queries = [q.strip() for q in open(SHARED / "bench" / "queries.txt", encoding="utf-8") if q.strip()]
    out = {"machine": machine(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with tempfile.TemporaryDirectory(prefix="mirsad-bench-") as tmp:
        index_dir = Path(args.index) if args.index else Path(tmp) / "ix"
        if not args.index:
            out["build"] = build(index_dir, args.procs, [SHARED / "corpus" / c for c in CORPORA])
            print("build:", out["build"], flush=True)
        out["search"] = in_process(index_dir, queries)
        print("search:", out["search"], flush=True)
        out["http"] = http(index_dir, queries, args.clients, args.workers, args.rounds)
        print("http:", out["http"], flush=True)
        if args.extraction_cost:
            # Alternate the two builds and keep each one's best of two: one build of this
            # size varies by ±10% from run to run on a shared 2-core machine.
            src = [SHARED / "corpus" / CORPORA[0]]
            walls: dict[bool, list[float]] = {True: [], False: []}
            for run in range(2):
                for entities in (True, False):
                    walls[entities].append(build(Path(tmp) / f"e{run}{int(entities)}", args.procs, src,
                                                 entities=entities)["wall_s"])
            best_with, best_without = min(walls[True]), min(walls[False])
            out["extraction_cost"] = {"with_s": walls[True], "without_s": walls[False],
                                      "added": round(best_with / best_without - 1, 3)}
            print("extraction:", out["extraction_cost"], flush=True)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"speed-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    b, s, h = out.get("build", {}), out["search"], out["http"]
    print(f"SUMMARY build {b.get('docs_per_s', '-')} docs/s ({b.get('docs', '-')} docs, {b.get('wall_s', '-')} s, "
          f"peak {b.get('peak_rss_mb', '-')} MB, index {b.get('index_mb', '-')} MB) | search p50 {s['p50_ms']} ms "
          f"p95 {s['p95_ms']} ms p99 {s['p99_ms']} ms {s['qps']} q/s | http x{h['clients']} p50 {h['p50_ms']} ms "
          f"p99 {h['p99_ms']} ms {h['rps']} req/s, {h['errors']} errors -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
