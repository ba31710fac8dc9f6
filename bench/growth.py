"""`make bench-growth`: what a growing archive costs (README "Archives that grow").

- memory: peak RSS of building ant-multisource, and of a synthetic archive four times
  its size (its records repeated with distinct ids, URLs and lightly varied bodies, so
  nothing is deduplicated away), both with ``--procs 2``;
- add: an index of the bench corpora but their last 1,000 articles, then ``--add`` of
  those 1,000, against a full rebuild of the same articles: time, and whether every
  query of bench/queries.txt finds the same ids and the same top 20;
- ``--large N``: a synthetic archive of N articles (250,000 in the README) from all
  shared corpora: time, peak RSS, index size.

Each build runs as ``mirsad index`` in its own child process, so its peak RSS (the
largest of the build's processes, as ``getrusage`` reports it) is its own.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MIRSAD_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"
BENCH = ("ant-multisource.jsonl.gz", "saudinewsnet.jsonl.gz")
ALL = BENCH + ("ant-jawharafm.jsonl.gz",)
_MEASURE = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


def records(names) -> list[dict]:
    out = []
    for name in names:
        with gzip.open(CORPUS / name, "rt", encoding="utf-8") as fh:
            out += [json.loads(line) for line in fh if line.strip()]
    return out


def synthetic(base: list[dict], n: int, path: Path, seed: int = 20261201) -> Path:
    """``n`` records cycling through ``base``; every copy after the first gets a new id
    and URL and one sentence of another article appended, so no two bodies are equal."""
    rng = random.Random(seed)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as fh:
        for i in range(n):
            rec = dict(base[i % len(base)])
            copy = i // len(base)
            if copy:
                rec["id"] = f"{rec['id']}~{copy}"
                if rec.get("url"):
                    rec["url"] = f"{rec['url']}?copy={copy}"
                other = base[rng.randrange(len(base))].get("body", "").split(".")[0][:200]
                rec["body"] = f"{rec.get('body', '')}\n{other}."
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def write_jsonl(path: Path, rows) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def build(sources: list[Path], index_dir: Path, procs: int = 2, add: bool = False) -> dict:
    report = Path(f"{index_dir}.{time.monotonic_ns()}.report.json")
    cmd = [sys.executable, "-c", _MEASURE, sys.executable, str(ROOT / "mirsad.py"), "index", *map(str, sources),
           "--index", str(index_dir), "--procs", str(procs), "--quiet", "--report", str(report)]
    if add:
        cmd.append("--add")
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    wall = time.perf_counter() - t0
    info = json.loads(report.read_text())
    gen = (index_dir / "current").resolve()
    size = sum(f.stat().st_size for f in gen.iterdir() if f.is_file())
    return {"docs": info["indexed"], "wall_s": round(wall, 1), "docs_per_s": round(info["indexed"] / wall, 1),
            "peak_rss_mb": round(int(out.stdout.split()[-1]) / 1024, 1), "index_mb": round(size / 2**20, 1)}


def compare(a_dir: Path, b_dir: Path) -> dict:
    """Same ids and same top 20 (ties in any order) for every bench query?"""
    sys.path.insert(0, str(ROOT))
    from search.engine import TIME_BUDGET_S, _match, _parse_query, _rank, ids_for_query
    from search.index import IndexHandle

    a, b = IndexHandle(a_dir).get(), IndexHandle(b_dir).get()

    def top(gen, q):
        pq = _parse_query(gen, q)
        cache: dict = {}
        mask, query, _r, _t = _match(gen, pq, time.perf_counter() + 10 * TIME_BUDGET_S, cache)
        return [(round(s, 4), gen.store.stored(d)["id"]) for d, s in _rank(gen, pq, query, mask, 20, cache)]

    queries = [q.strip() for q in (SHARED / "bench" / "queries.txt").read_text(encoding="utf-8").splitlines()
               if q.strip() and not q.startswith("#")]
    same_ids = same_top = 0
    for q in queries:
        same_ids += sorted(ids_for_query(a, q)) == sorted(ids_for_query(b, q))
        ta, tb = top(a, q), top(b, q)
        last = ta[-1][0] if ta else None
        same_top += [s for s, _ in ta] == [s for s, _ in tb] and \
            {x for x in ta if x[0] != last} == {x for x in tb if x[0] != last}
    return {"queries": len(queries), "same_ids": same_ids, "same_top20": same_top,
            "docs": [a.live_count, b.live_count]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["memory", "add", "large"], help="one part only (large: needs --large N)")
    ap.add_argument("--large", type=int, default=0, help="also build a synthetic archive of this many articles")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "growth.json")
    args = ap.parse_args(argv)
    results: dict = {"procs": args.procs}
    with tempfile.TemporaryDirectory(prefix="mirsad-growth-") as tmp:
        tmp = Path(tmp)
        if args.only in (None, "memory"):
            base = records(BENCH[:1])
            one = build([CORPUS / BENCH[0]], tmp / "one", args.procs)
            four = build([synthetic(base, 4 * len(base), tmp / "four.jsonl.gz")], tmp / "four", args.procs)
            results["memory"] = {"ant-multisource": one, "4x": four,
                                 "ratio": round(four["peak_rss_mb"] / one["peak_rss_mb"], 3)}
            print(json.dumps(results["memory"]), flush=True)
        if args.only in (None, "add"):
            recs = records(BENCH)
            first, last = write_jsonl(tmp / "first.jsonl", recs[:-1000]), write_jsonl(tmp / "last.jsonl", recs[-1000:])
            full = build([first, last], tmp / "full", args.procs)
            base_build = build([first], tmp / "added", args.procs)
            added = build([last], tmp / "added", args.procs, add=True)
            results["add"] = {"full": full, "base": base_build, "add": added,
                              "add_vs_full": round(added["wall_s"] / full["wall_s"], 3),
                              **compare(tmp / "added", tmp / "full")}
            print(json.dumps(results["add"]), flush=True)
        if args.large:
            path = synthetic(records(ALL), args.large, tmp / "large.jsonl.gz")
            results["large"] = build([path], tmp / "large", args.procs)
            print(json.dumps(results["large"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
