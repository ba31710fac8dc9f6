"""`make loadtest`: 16 concurrent clients for 60 s against gunicorn on 127.0.0.1 while a
full rebuild runs and swaps in (clients go on until 5 s after the swap at least). Not part
of `make test`. By default the server starts on Jawhara FM (10k articles, the dirty
corpus) and the rebuild indexes it again with the seed articles added.

Pass/fail: zero failed requests; every answer consistent with one generation (the
total for each probe query is the old index's or the new one's, never anything else);
after the swap every worker answers from the new generation.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.speed import ROOT, SHARED, free_port, percentile

PROBES = ["داعش", "الموصل", "سوريا", "إدلب", "تركيا"]


def fetch(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        if r.status != 200:
            raise RuntimeError(f"status {r.status}")
        return json.loads(r.read())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rebuilds", type=int, default=1, help="full rebuilds one after another while the clients run")
    parser.add_argument("--index", default="/tmp/mirsad-load-index")
    parser.add_argument("--old", nargs="+", default=[str(SHARED / "corpus" / "ant-jawharafm.jsonl.gz")],
                        help="what the serving index holds before the rebuild")
    parser.add_argument("--new", nargs="+", default=[str(SHARED / "corpus" / "ant-jawharafm.jsonl.gz"),
                                                     str(ROOT / "corpus")],
                        help="what the rebuild indexes (the probes' totals must differ)")
    args = parser.parse_args(argv)
    index = Path(args.index)
    mirsad = [sys.executable, str(ROOT / "mirsad.py")]
    subprocess.run([*mirsad, "index", *args.old, "--index", str(index), "--quiet", "--procs", "2"], check=True, cwd=ROOT)
    port = free_port()
    server = subprocess.Popen([*mirsad, "serve", "--index", str(index), "--port", str(port),
                               "--workers", str(args.workers)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # up to 2 minutes: a large index opens (and builds its speller) first
            try:
                fetch(base + "/api/health")
                break
            except OSError:
                time.sleep(0.2)
        probe_urls = {q: base + "/api/search?" + urllib.parse.urlencode({"q": q}) for q in PROBES}
        old_totals = {q: fetch(u)["total"] for q, u in probe_urls.items()}
        old_gen = fetch(base + "/api/health")["generation"]
        queries = [q.strip() for q in open(SHARED / "bench" / "queries.txt", encoding="utf-8") if q.strip()]
        urls = [base + "/api/search?" + urllib.parse.urlencode({"q": q}) for q in queries]
        times, errors, seen = [], [], []  # seen: (probe, total)
        lock = threading.Lock()
        stop = [time.time() + args.seconds]  # extended to 5 s past the swap if the rebuild is slow

        def client(k: int) -> None:
            i = k
            while time.time() < stop[0]:
                if i % 5 == 0:
                    q = PROBES[(i // 5) % len(PROBES)]
                    url = probe_urls[q]
                else:
                    q, url = None, urls[i % len(urls)]
                t = time.perf_counter()
                try:
                    doc = fetch(url)
                    with lock:
                        times.append((time.perf_counter() - t) * 1000)
                        if q:
                            seen.append((q, doc["total"]))
                except Exception as exc:  # noqa: BLE001 - every failure is counted
                    with lock:
                        errors.append(repr(exc)[:200])
                i += args.clients

        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        t0 = time.time()
        for t in threads:
            t.start()
        time.sleep(2)
        rebuild_t0 = time.time()
        for _ in range(args.rebuilds):
            subprocess.run([*mirsad, "index", *args.new, "--index", str(index), "--quiet", "--procs", "2"],
                           check=True, cwd=ROOT)
        rebuild_s = time.time() - rebuild_t0
        stop[0] = max(stop[0], time.time() + 5)
        for t in threads:
            t.join()
        wall = time.time() - t0
        new_totals = {q: fetch(u)["total"] for q, u in probe_urls.items()}
        gens = {fetch(base + "/api/health")["generation"] for _ in range(args.workers * 4)}
    finally:
        server.terminate()
        server.wait(timeout=20)
    mixed = [(q, total) for q, total in seen if total not in (old_totals[q], new_totals[q])]
    result = {
        "clients": args.clients, "seconds": round(wall, 1), "requests": len(times) + len(errors),
        "failed": len(errors), "errors": errors[:5], "rps": round(len(times) / wall, 1),
        "p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1),
        "rebuilds": args.rebuilds, "rebuild_s": round(rebuild_s, 1), "swapped": old_gen not in gens and len(gens) == 1,
        "inconsistent_answers": len(mixed), "old_totals": old_totals, "new_totals": new_totals,
    }
    out = ROOT / "bench" / "results" / f"load-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    ok = result["failed"] == 0 and result["swapped"] and not mixed and new_totals != old_totals
    print(f"{'PASS' if ok else 'FAIL'} {result['requests']} requests in {result['seconds']} s with {args.clients} clients "
          f"({result['rps']} req/s), failed {result['failed']}, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; "
          f"rebuild {result['rebuild_s']} s swapped={result['swapped']} inconsistent={len(mixed)} -> {out.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
