"""`make loadtest-abuse`: a normal client's latency while others misbehave (README "Serving").

Serves an index with `mirsad serve` (default options) on 127.0.0.1 and runs one normal
client (the queries of bench/queries.txt, one after another) for ``--seconds`` in each
scenario:

- ``quiet``: nobody else;
- ``slow``: 50 slow sockets: 25 connect and send nothing, 25 send a request line and
  then one header byte every second, never finishing;
- ``misspelled``: 8 clients sending 64-word queries of misspelled words, back to back.

Pass: in every scenario the normal client's p50 is under 200 ms and none of its
requests fails. ``--root`` serves another checkout's code (to compare with an earlier
commit side by side). Not part of `make test`.
"""
from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.speed import ROOT, SHARED, free_port, percentile

SLOW_SOCKETS = 50
HEAVY_CLIENTS = 8
HEAVY_WORDS = 64


def fetch(url: str, timeout: float = 60) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def misspelled_query(rng: random.Random, words: list[str]) -> str:
    """HEAVY_WORDS words of the corpus, each with one letter replaced or doubled."""
    out = []
    for w in rng.sample(words, HEAVY_WORDS):
        k = rng.randrange(len(w))
        out.append(w[:k] + rng.choice("ضصثقفغعهخحجد") + w[k + (rng.random() < 0.5):])
    return " ".join(out)


def slow_sockets(port: int, stop: threading.Event) -> list[socket.socket]:
    socks = []
    for k in range(SLOW_SOCKETS):
        s = socket.create_connection(("127.0.0.1", port))
        if k % 2:
            s.sendall(b"GET /api/search?q=%D8%AF HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        socks.append(s)

    def drip() -> None:
        while not stop.wait(1.0):
            for s in socks[1::2]:
                try:
                    s.sendall(b"X")
                except OSError:
                    pass

    threading.Thread(target=drip, daemon=True).start()
    return socks


def run(base: str, urls: list[str], seconds: float) -> dict:
    times, errors = [], []
    end = time.time() + seconds
    i = 0
    while time.time() < end:
        t = time.perf_counter()
        try:
            fetch(urls[i % len(urls)])
            times.append((time.perf_counter() - t) * 1000)
        except Exception as exc:  # noqa: BLE001 - every failure is counted
            errors.append(repr(exc)[:200])
        i += 1
    return {"requests": len(times) + len(errors), "failed": len(errors), "errors": errors[:3],
            "p50_ms": round(percentile(times, 50), 1), "p99_ms": round(percentile(times, 99), 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--index", default="/tmp/mirsad-abuse-index")
    ap.add_argument("--sources", nargs="+", default=[str(SHARED / "corpus" / "ant-jawharafm.jsonl.gz")])
    ap.add_argument("--root", type=Path, default=ROOT, help="the mirsad checkout to serve (default: this one)")
    ap.add_argument("--only", choices=["quiet", "slow", "misspelled"])
    args = ap.parse_args(argv)
    mirsad = [sys.executable, str(args.root / "mirsad.py")]
    if not (Path(args.index) / "current").exists():
        subprocess.run([*mirsad, "index", *args.sources, "--index", args.index, "--quiet"], check=True, cwd=args.root)
    port = free_port()
    server = subprocess.Popen([*mirsad, "serve", "--index", args.index, "--port", str(port)], cwd=args.root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    results = {}
    try:
        for _ in range(600):  # up to 2 minutes: a large index opens (and builds its speller) first
            try:
                fetch(base + "/api/health", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        queries = [q.strip() for q in open(SHARED / "bench" / "queries.txt", encoding="utf-8") if q.strip()]
        urls = [base + "/api/search?" + urllib.parse.urlencode({"q": q}) for q in queries]
        for url in urls:  # warm every worker's caches (and spelling) as a running server is
            fetch(url)
        words = sorted({w for q in queries for w in q.split() if len(w) > 3})
        for scenario in ("quiet", "slow", "misspelled"):
            if args.only and scenario != args.only:
                continue
            stop = threading.Event()
            socks, heavy = [], []
            if scenario == "slow":
                socks = slow_sockets(port, stop)
            if scenario == "misspelled":
                heavy_times: list[float] = []

                def hammer(seed: int) -> None:
                    rng = random.Random(seed)
                    while not stop.is_set():
                        t = time.perf_counter()
                        try:
                            fetch(base + "/api/search?" + urllib.parse.urlencode({"q": misspelled_query(rng, words)}))
                            heavy_times.append((time.perf_counter() - t) * 1000)
                        except Exception:  # noqa: BLE001 - the heavy clients' own failures are not the measure
                            pass

                heavy = [threading.Thread(target=hammer, args=(k,), daemon=True) for k in range(HEAVY_CLIENTS)]
                for t in heavy:
                    t.start()
            time.sleep(1)
            results[scenario] = run(base, urls, args.seconds)
            stop.set()
            for s in socks:
                s.close()
            for t in heavy:
                t.join(timeout=70)
            if scenario == "misspelled":
                results[scenario]["heavy_requests"] = len(heavy_times)
                results[scenario]["heavy_p50_ms"] = round(percentile(heavy_times, 50), 1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ok = all(r["failed"] == 0 and r["p50_ms"] < 200 for r in results.values())
    out = ROOT / "bench" / "results" / f"abuse-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"root": str(args.root), "results": results}, ensure_ascii=False, indent=1),
                   encoding="utf-8")
    for name, r in results.items():
        print(f"{name:10s} normal client: {r['requests']} requests, failed {r['failed']}, "
              f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms"
              + (f"; heavy clients {r['heavy_requests']} requests, p50 {r['heavy_p50_ms']} ms" if "heavy_p50_ms" in r else ""))
    print(f"{'PASS' if ok else 'FAIL'} -> {out.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
