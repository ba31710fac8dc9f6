"""`python -m bench.swap INDEX`: what the first queries after a swap cost, through the server.

Copies INDEX (the bench index, say) to a scratch folder, serves the copy with ``mirsad
serve`` (3 workers) and, after one warm-up round of ``../shared/bench/queries.txt``,
queries it steadily with one client while ``mirsad delete`` removes each bench query's top
hit and publishes a new generation, and for 40 s after. Every query's total drops once the new generation
answers it, so each answer tells which generation gave it. Prints and writes
(bench/results/swap-<time>.json) the latency of the new generation's first answers and of
every answer from the publish on. Only 127.0.0.1 is used; never run by ``make test``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.speed import ROOT, SHARED, machine, percentile, served


def _ask(url: str) -> tuple[float, int]:
    """(milliseconds, total) of one search, measured by the client."""
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp:
        total = json.loads(resp.read())["total"]
    return (time.perf_counter() - t) * 1000, total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.swap", description=__doc__.split("\n\n")[0])
    ap.add_argument("index", type=Path, help="the index to copy and serve")
    ap.add_argument("--workers", type=int, default=3, help="server workers (default: %(default)s)")
    ap.add_argument("--after", type=float, default=40.0,
                    help="seconds to go on querying after the publish (default: %(default)s)")
    args = ap.parse_args(argv)
    queries = [q.strip() for q in open(SHARED / "bench" / "queries.txt", encoding="utf-8") if q.strip()]
    with tempfile.TemporaryDirectory(prefix="mirsad-swap-", dir="/tmp") as tmp:
        copy = Path(tmp) / "ix"
        shutil.copytree(args.index, copy, symlinks=True)
        with served(copy, args.workers) as base:
            urls = [base + "/api/search?" + urllib.parse.urlencode({"q": q}) for q in queries]
            before, ids = {}, set()
            for u in urls:  # the warm-up round: each query's total and top hit
                with urllib.request.urlopen(u, timeout=60) as resp:
                    answer = json.loads(resp.read())
                before[u] = answer["total"]
                if answer["hits"]:
                    ids.add(answer["hits"][0]["id"])
            marked = [u for u in urls if before[u]]  # a query with no hits cannot tell the generations apart
            (Path(tmp) / "ids.txt").write_text("".join(i + "\n" for i in sorted(ids)), encoding="utf-8")
            answers: list[tuple[float, float, bool, str]] = []  # (seconds since the publish started, ms, new, url)
            stop = threading.Event()
            t0 = time.perf_counter()

            def client() -> None:
                k = 0
                while not stop.is_set():
                    u = marked[k % len(marked)]
                    start = time.perf_counter() - t0
                    ms, total = _ask(u)
                    answers.append((start, ms, total < before[u], u))
                    k += 1

            thread = threading.Thread(target=client)
            thread.start()
            delete = subprocess.run([sys.executable, str(ROOT / "mirsad.py"), "delete", "--ids-from",
                                     str(Path(tmp) / "ids.txt"), "--index", str(copy)],
                                    cwd=ROOT, capture_output=True, text=True)
            published = time.perf_counter() - t0
            time.sleep(args.after)
            stop.set()
            thread.join()
    if delete.returncode:
        sys.exit(f"mirsad delete failed: {delete.stderr.strip()}")
    new = [(s, ms) for s, ms, is_new, _ in answers if is_new]
    after = [ms for s, ms, _, _ in answers if s >= published]
    # a query whose total the deletion left alone (a corrected or relaxed answer) tells nothing
    changed = {u for _, _, is_new, u in answers if is_new}
    old = [s for s, _, is_new, u in answers if not is_new and u in changed and s >= published]
    first = [ms for _, ms in new[:10]]
    out = {"machine": machine(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "workers": args.workers,
           "deleted": len(ids), "publish_s": round(published, 1),
           "queries_changed": len(changed), "queries": len(marked),
           "old_answers_after_publish": len(old),
           "last_old_at_s": round(max(old, default=published) - published, 1),
           "new_first_ms": round(first[0], 1) if first else None,
           "new_first10_ms": [round(x, 1) for x in first],
           "new_first_at_s": round(new[0][0] - published, 1) if new else None,
           "new_p50_ms": round(percentile([ms for _, ms in new], 50), 1),
           "new_p95_ms": round(percentile([ms for _, ms in new], 95), 1),
           "after_publish": {"answers": len(after), "p50_ms": round(percentile(after, 50), 1),
                             "p95_ms": round(percentile(after, 95), 1), "max_ms": round(max(after, default=0), 1)}}
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"swap-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False))
    print(f"SUMMARY new generation's first answer {out['new_first_ms']} ms (first 10: max "
          f"{max(first, default=0):.1f} ms), its answers p50 {out['new_p50_ms']} / p95 {out['new_p95_ms']} ms; "
          f"from the publish on: {len(after)} answers, max {out['after_publish']['max_ms']} ms "
          f"-> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
