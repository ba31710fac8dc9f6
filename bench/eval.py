"""`make eval`: retrieval quality on ARCD and XQuAD-ar with Mirsad's own analysis and ranking.

Each passage (title + body) is indexed with ``mirsad index``'s builder; each question is
run through ``search.engine.ranked_ids`` — the ranking the API uses. Prints MRR@10,
R@1, R@10 and R@100, for ARCD on all questions and per split, and writes a JSON report.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from indexer.build import build_index
from search.engine import ranked_ids
from search.index import IndexHandle

SHARED = Path(os.environ.get("MIRSAD_SHARED", Path(__file__).resolve().parents[2] / "shared"))
REFERENCE = {  # ../shared/corpus/README.md, same data, this kind of machine
    "arcd": {"all": 0.768, "test": 0.785}, "xquad-ar": {"all": 0.923},
}


def load_set(name: str):
    root = SHARED / "eval" / name
    queries = {}
    with open(root / "queries.tsv", encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 2:
                queries[row[0]] = row[1]
    qrels = {}
    with open(root / "qrels.tsv", encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            qrels.setdefault(row[0], set()).add(row[2])
    splits = {}
    with open(root / "passages.jsonl", encoding="utf-8") as fh:
        for line in fh:
            p = json.loads(line)
            splits[p["id"]] = p.get("split") or "all"
    return root / "passages.jsonl", queries, qrels, splits


def metrics(ranks: list[int | None]) -> dict:
    n = len(ranks) or 1
    return {
        "queries": len(ranks),
        "mrr@10": round(sum(1 / r for r in ranks if r and r <= 10) / n, 4),
        "r@1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "r@10": round(sum(1 for r in ranks if r and r <= 10) / n, 4),
        "r@100": round(sum(1 for r in ranks if r and r <= 100) / n, 4),
    }


def evaluate(name: str, workdir: Path, shards: int = 1) -> dict:
    passages, queries, qrels, splits = load_set(name)
    index_dir = workdir / name
    build_index([passages], index_dir, progress=False, shards=shards)
    gen = IndexHandle(index_dir).get()
    by_split: dict[str, list] = {"all": []}
    t0 = time.perf_counter()
    for qid, text in queries.items():
        relevant = qrels.get(qid, set())
        ids = ranked_ids(gen, text, limit=100)
        rank = next((i for i, d in enumerate(ids, 1) if d in relevant), None)
        by_split["all"].append(rank)
        split = splits.get(next(iter(relevant), ""), "all")
        if split != "all":
            by_split.setdefault(split, []).append(rank)
    seconds = time.perf_counter() - t0
    out = {split: metrics(r) for split, r in by_split.items()}
    out["ms_per_query"] = round(1000 * seconds / max(1, len(queries)), 2)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["arcd", "xquad-ar"])
    parser.add_argument("--report", default="bench/results/eval.json")
    parser.add_argument("--shards", type=int, default=1, help="build each set's index with this many shards")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="mirsad-eval-") as tmp:
        for name in args.sets:
            results[name] = evaluate(name, Path(tmp), args.shards)
    print(f"{'set':<10} {'split':<6} {'queries':>7} {'MRR@10':>7} {'R@1':>6} {'R@10':>6} {'R@100':>6}  Lucene MRR@10")
    for name, res in results.items():
        for split, m in res.items():
            if split == "ms_per_query":
                continue
            ref = REFERENCE.get(name, {}).get(split)
            print(f"{name:<10} {split:<6} {m['queries']:>7} {m['mrr@10']:>7.3f} {m['r@1']:>6.3f} {m['r@10']:>6.3f} "
                  f"{m['r@100']:>6.3f}  {ref if ref else '':>6}")
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
