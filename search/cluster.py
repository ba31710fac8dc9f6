"""Ray mode: the shards of a sharded generation held by Ray actors, R replicas each.

Only ``mirsad serve --ray`` and the cluster tests import this module (``pip install -e
'.[cluster]'``); the embedded engine never imports Ray. Each replica is an actor
of the serving process that opens its shard from the generation's path (a path every
node can read: a shared file system) and answers the rounds of ``search.sharded``
(``search.sharded.Shard``). Ray restarts a replica whose process died
(``max_restarts=-1``); one whose node went is replaced on a live node
(``RayShards.repair``); meanwhile the coordinator asks another replica, and a shard
none of whose replicas answers within the request's budget is named in the answer
(``shards.missing``).
"""
from __future__ import annotations

import contextlib
import itertools
import json
import logging
import threading
import time
import zlib
from pathlib import Path

import ray
from ray.exceptions import RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from search import store
from search.index import open_generation
from search.sharded import MANIFEST, ShardedGeneration, Shard

log = logging.getLogger("mirsad.cluster")
HEDGE_S = 0.5  # how long one replica may take before the next is asked too
SUSPECT_S = 5.0  # a replica that failed or kept a round waiting is asked last for this long


# threads: a health probe or a short query is not queued behind a long one
@ray.remote(max_restarts=-1, max_task_retries=0, num_cpus=0, max_concurrency=8)
class ShardActor:
    """One replica of one shard (``search.sharded.Shard`` in a Ray actor)."""

    def __init__(self, gen_path: str, name: str):
        path = Path(gen_path)
        self.shard = Shard(open_generation(path / name), name, store.read_json(path, store.LABELS_FILE))
        self.shard.warm()
        self.lock = threading.Lock()

    def call(self, method: str, args: tuple):
        with self.lock:  # one round at a time: the threads are for the probes (``node``, ``pid``)
            return getattr(self.shard, method)(*args)

    def node(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def pid(self) -> int:
        import os

        return os.getpid()


def _place(gen_path: Path, name: str, node: str):
    """A replica of shard ``name`` on ``node`` (hard affinity: exactly there; when that
    node goes, ``RayShards.repair`` places a new one on a live node)."""
    return ShardActor.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(
        str(gen_path), name)


def live_nodes() -> list[str]:
    return sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])


def start_replicas(gen_path: Path, replicas: int = 2) -> dict[str, list]:
    """``replicas`` actors for every shard of the generation, replica r of shard k on
    node (k + r) mod nodes: the shards and their replicas on distinct nodes while there
    are enough. Returns when every replica has opened its shard."""
    manifest = json.loads((Path(gen_path) / MANIFEST).read_text(encoding="utf-8"))
    nodes = live_nodes()
    out = {entry["name"]: [_place(gen_path, entry["name"], nodes[(k + r) % len(nodes)]) for r in range(replicas)]
           for k, entry in enumerate(manifest["shards"])}
    ray.get([h.node.remote() for hs in out.values() for h in hs])
    return out


class RayShards:
    """``search.sharded.LocalShards``' interface over Ray actors: each round goes to one
    replica of every shard at once; a replica that fails is retried on the next one
    while the budget lasts, and one that failed or kept a round waiting is asked last
    for ``SUSPECT_S``."""

    remote = True

    def __init__(self, replicas: dict[str, list], gen_path: Path | None = None, repair_every: float | None = None):
        self.replicas = replicas
        self.names = list(replicas)
        self.gen_path = gen_path
        self._turn = itertools.count()
        self._failures: dict[tuple[str, int], tuple[int, int]] = {}  # (failed, did not answer) in a row
        self._suspect: dict[tuple[str, int], float] = {}  # (shard, replica) -> asked last until (monotonic)
        self._stop = threading.Event()
        if repair_every:
            threading.Thread(target=self._repairing, args=(repair_every,), daemon=True, name="mirsad-repair").start()

    def _repairing(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.repair(every)
            except RayError:  # the cluster itself is going: try again next time
                log.warning("repair of the shard replicas failed", exc_info=True)

    def repair(self, timeout: float = 1.0, after: int = 3, hung: int = 10) -> list[str]:
        """Ask every replica where it runs; one that failed ``after`` times in a row, or
        did not answer ``hung`` times in a row (its node is gone: Ray restarts a replica
        whose process died by itself, not one placed on a node that left), is replaced
        by a new one on a live node. Returns the replaced ones (shard/replica)."""
        probes = {ray_ref: key for key, ray_ref in
                  (((name, r), h.node.remote()) for name, hs in self.replicas.items() for r, h in enumerate(hs))}
        done, _ = ray.wait(list(probes), num_returns=len(probes), timeout=timeout)
        replaced = []
        for ref, key in probes.items():
            failed, silent = self._failures.get(key, (0, 0))
            if ref not in done:
                silent += 1
            else:
                try:
                    ray.get(ref)
                    failed = silent = 0
                except RayError:
                    failed += 1
            self._failures[key] = (failed, silent)
            if failed or silent:
                self._suspect[key] = time.monotonic() + SUSPECT_S
            if (failed >= after or silent >= hung) and self.gen_path is not None:
                name, r = key
                nodes = live_nodes()
                k = self.names.index(name)
                with contextlib.suppress(RayError):
                    ray.kill(self.replicas[name][r], no_restart=True)
                self.replicas[name][r] = _place(self.gen_path, name, nodes[(k + r) % len(nodes)])
                self._failures[key] = (0, 0)
                replaced.append(f"{name}/{r}")
                log.warning("replica %s/%d replaced on node %s", name, r, nodes[(k + r) % len(nodes)][:8])
        return replaced

    def call(self, method: str, args: list, deadline: float, key: str | None = None) -> list:
        # the rounds of one request (``key``) go to the same replicas, which keep its
        # postings and masks between rounds; requests take turns
        start = zlib.crc32(key.encode()) if key else next(self._turn)
        tries = {k: 0 for k, a in enumerate(args) if a is not None}
        pending = {}

        asked: dict = {}  # ref -> (shard name, replica)

        def submit(k: int) -> None:
            name = self.names[k]
            handles = self.replicas[name]
            now = time.monotonic()
            # healthy replicas first, in turn; one that failed or kept a round waiting lately last
            order = sorted(range(len(handles)),
                           key=lambda r: (self._suspect.get((name, r), 0) > now, (r - start) % len(handles)))
            r = order[tries[k] % len(handles)]
            tries[k] += 1
            ref = handles[r].call.remote(method, args[k])
            pending[ref], asked[ref] = k, (name, r)

        for k in tries:
            submit(k)
        out: list = [None] * len(args)
        answered: set[int] = set()
        while pending:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            done, _ = ray.wait(list(pending), num_returns=1, timeout=min(left, HEDGE_S))
            if not done:
                # a replica slow to answer (restarting, its node gone): ask the next one too
                for ref, k in list(pending.items()):
                    if k not in answered and tries[k] < len(self.replicas[self.names[k]]):
                        self._suspect[asked[ref]] = time.monotonic() + SUSPECT_S
                        submit(k)
                continue
            ref = done[0]
            k = pending.pop(ref)
            if k in answered:
                continue
            try:
                out[k] = ray.get(ref)
                answered.add(k)
                self._suspect.pop(asked[ref], None)
            except RayError:
                self._suspect[asked[ref]] = time.monotonic() + SUSPECT_S
                if tries[k] < len(self.replicas[self.names[k]]) and k not in pending.values():
                    submit(k)
            if len(answered) == len(tries):
                break
        for ref in pending:
            ray.cancel(ref, force=False)
        return out

    def damage(self) -> str | None:
        return None

    def warm(self) -> None:
        pass

    def close(self) -> None:
        self._stop.set()
        for hs in self.replicas.values():
            for h in hs:
                with contextlib.suppress(RayError):
                    ray.kill(h, no_restart=True)


REPAIR_S = 1.0  # how often the replicas are checked


def open_on_cluster(gen_path: Path, replicas: int = 2, repair_every: float | None = REPAIR_S) -> ShardedGeneration:
    """A sharded generation whose shards answer from Ray actors this process owns
    (``ray.init`` done); ``close()`` stops them."""
    gen_path = Path(gen_path)
    manifest = json.loads((gen_path / MANIFEST).read_text(encoding="utf-8"))
    shards = RayShards(start_replicas(gen_path, replicas), gen_path, repair_every)
    return ShardedGeneration(path=gen_path, shards=shards,
                             labels=store.read_json(gen_path, store.LABELS_FILE),
                             build=store.read_json(gen_path, store.BUILD_FILE), manifest=manifest)


def opener(address: str, replicas: int = 2):
    """What ``search.index.IndexHandle`` opens generations with in Ray mode: a sharded
    one on the cluster at ``address`` (connected on first use, in the serving process),
    any other in this process."""
    from search.sharded import is_sharded

    def open_on(path: Path):
        if not is_sharded(path):
            return open_generation(path)
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False)
        return open_on_cluster(path, replicas)

    return open_on
