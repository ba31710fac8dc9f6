"""`make bench-scale`: a sharded generation on a local Ray cluster beside one index.

Builds the same archive twice — one index (``mirsad index --procs 2``), and ``--shards 4``
built as Ray tasks on a local cluster of ``--nodes`` nodes (``ray.cluster_utils.Cluster``
on 127.0.0.1, one CPU a node) — then checks that every query of bench/queries.txt gives
the same answer (total, relaxed, facets, histogram, top 20 in order), and measures search
through the page's API (``/api/search`` over HTTP on 127.0.0.1): ``mirsad serve`` of the
one index, and ``mirsad serve --ray`` with the shards' actors on the cluster.
``--synthetic N`` builds from N articles made from all shared corpora (distinct ids and
bodies; 250,000 in the README) instead of the bench corpora; ``--reuse SINGLE SHARDED``
compares and serves two index directories already built. Peak memory per node is the
largest sum of the resident memory of a raylet's process tree seen while building.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.update(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")

from bench.growth import ALL, BENCH, CORPUS, ROOT, SHARED, build, records, synthetic  # noqa: E402
from bench.speed import http  # noqa: E402
from search.sharded import comparable  # noqa: E402


def _proc_table() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, command name, resident kB) of every process, from /proc."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            rss = next((int(line.split()[1]) for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                        if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError):
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out[int(entry)] = (ppid, name, rss)
    return out


def node_memory() -> dict[int, int]:
    """raylet pid -> resident MB of its process tree (the node's workers and theirs)."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _n, _r) in table.items():
        children.setdefault(ppid, []).append(pid)
    out = {}
    for pid, (_p, name, _r) in table.items():
        if name == "raylet":
            total, stack = 0, [pid]
            while stack:
                p = stack.pop()
                total += table.get(p, (0, "", 0))[2]
                stack += children.get(p, [])
            out[pid] = total // 1024
    return out


def compare(single_dir: Path, sharded_dir: Path, queries: list[str]) -> dict:
    from search.engine import answer, parse_request
    from search.index import IndexHandle

    a, b = IndexHandle(single_dir).get(), IndexHandle(sharded_dir).get()
    a.warm()
    b.warm()  # a cold generation's first query can run past the budget: a cut, not an answer
    differ = []
    for q in queries:
        req = parse_request({"q": q})
        one, split = comparable(answer(a, req)[0]), comparable(answer(b, req)[0])
        if one != split:  # the query and what differs (a budget cut shows as timed_out)
            differ.append({"q": q, "keys": sorted(k for k in one.keys() | split.keys() if one.get(k) != split.get(k)),
                           "timed_out": [one.get("timed_out"), split.get("timed_out")]})
    return {"queries": len(queries), "same_answer": len(queries) - len(differ), "differ": differ[:20]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=0, help="articles of a synthetic archive (default: the bench corpora)")
    parser.add_argument("--shards", type=int, default=4, help="shards (default: %(default)s)")
    parser.add_argument("--nodes", type=int, default=2, help="nodes of the local cluster (default: %(default)s)")
    parser.add_argument("--replicas", type=int, default=1, help="actors a shard when serving (default: %(default)s)")
    parser.add_argument("--reuse", nargs=2, type=Path, metavar=("SINGLE", "SHARDED"),
                        help="compare and serve these two index directories instead of building them")
    parser.add_argument("--report", help="where the JSON goes (default: bench/results/scale.json, "
                        "scale-N.json with --synthetic N)")
    args = parser.parse_args(argv)
    args.report = args.report or f"bench/results/scale{f'-{args.synthetic}' if args.synthetic else ''}{'-reused' if args.reuse else ''}.json"
    import ray
    from ray.cluster_utils import Cluster

    queries = [q.strip() for q in (SHARED / "bench" / "queries.txt").read_text(encoding="utf-8").splitlines()
               if q.strip() and not q.startswith("#")]
    work = Path(tempfile.mkdtemp(prefix="mirsad-scale-"))
    temp = tempfile.mkdtemp(prefix="ms-", dir="/tmp")
    Path("/tmp/ray").mkdir(exist_ok=True)
    cluster = None
    try:
        single, sharded = args.reuse or (work / "single", work / "sharded")
        if args.reuse:
            sources = []
        elif args.synthetic:
            sources = [synthetic(records(ALL), args.synthetic, work / "synthetic.jsonl.gz")]
        else:
            sources = [CORPUS / name for name in BENCH]
        result: dict = {"articles": str(single) if args.reuse else args.synthetic or "bench corpora",
                        "shards": args.shards, "nodes": args.nodes, "cpus": os.cpu_count()}
        if not args.reuse:
            result["single"] = build(sources, single, procs=2)

        cluster = Cluster(initialize_head=True, head_node_args={"node_ip_address": "127.0.0.1", "num_cpus": 1,
                                                                "temp_dir": temp, "include_dashboard": False})
        for _ in range(args.nodes - 1):
            cluster.add_node(node_ip_address="127.0.0.1", num_cpus=1)
        cluster.wait_for_nodes()
        peaks: dict[int, int] = {}
        done = threading.Event()

        def sample(into: dict[int, int], until: threading.Event) -> None:
            while not until.wait(1.0):
                for pid, mb in node_memory().items():
                    into[pid] = max(into.get(pid, 0), mb)

        if not args.reuse:
            threading.Thread(target=sample, args=(peaks, done), daemon=True).start()
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "mirsad.py"), "index", *map(str, sources), "--index",
                            str(sharded), "--shards", str(args.shards), "--ray", cluster.address, "--procs", "1",
                            "--quiet"], check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            done.set()
            gen = (sharded / "current").resolve()
            size = sum(f.stat().st_size for f in gen.rglob("*") if f.is_file())
            shard_sizes = {d.name: round(sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) / 2**20, 1)
                           for d in sorted(gen.iterdir()) if d.is_dir()}
            docs = json.loads((gen / "shards.json").read_text())["documents"]
            result["sharded"] = {"docs": docs, "wall_s": round(wall, 1), "docs_per_s": round(docs / wall, 1),
                                 "peak_node_mb": sorted(peaks.values(), reverse=True),
                                 "index_mb": round(size / 2**20, 1), "shard_mb": shard_sizes}
        result["compare"] = compare(single, sharded, queries)
        by_single: dict = {}
        by_ray: dict = {}
        result["search_single"] = http(single, queries, clients=4, workers=3, rounds=2, answers=by_single)
        serving: dict[int, int] = {}
        served = threading.Event()
        threading.Thread(target=sample, args=(serving, served), daemon=True).start()
        result["search_ray"] = http(sharded, queries, clients=4, workers=1, rounds=2,
                                    extra=("--ray", cluster.address, "--replicas", str(args.replicas)),
                                    answers=by_ray)
        served.set()
        differ = [q for q in queries if comparable(by_single[q]) != comparable(by_ray[q])]
        result["compare_ray_http"] = {"queries": len(queries), "same_answer": len(queries) - len(differ),
                                      "differ": differ[:20]}
        result["search_ray"]["peak_node_mb"] = sorted(serving.values(), reverse=True)
    finally:
        if cluster is not None:
            if ray.is_initialized():
                ray.shutdown()
            cluster.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=1, ensure_ascii=False))
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
