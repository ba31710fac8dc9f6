"""Sharded generations: one index split into shards that answer as the unsharded one.

A sharded generation (``mirsad index --shards N``) is a directory of shards ``s0`` ..
(each a complete generation of the articles whose id hashes to it, ``shard_of``) and a
manifest, ``shards.json``, beside what ranking and suggestions need of the whole corpus:
one related-forms table over the union of the shards' stems, the entity names, one
speller over their summed vocabulary, the labels of every facet value.

A search runs in three rounds over the shards (``Shard`` holds one; ``LocalShards`` runs
them in this process, ``search.cluster`` on Ray actors):

1. ``match``: does any document hold every word (or any word), how many documents hold
   each name inside the query and are tagged with it, and each scored term's document
   frequencies with the field length sums (``CorpusStats``). The coordinator adds them
   up and decides, once for the whole corpus, what a single index would: relaxed or
   not, which names count (``MatchPlan``), the IDF and average lengths every shard ranks
   with (Elasticsearch's dfs_query_then_fetch).
2. ``query``: each shard's total, full facet count vectors, days for the histogram and
   its best ``page × per_page`` (score, tie-break rank, doc number); merged exactly.
3. ``fetch``: stored fields and snippets of the page's hits only, from their shards.

A shard that does not answer within the request's budget is named in ``shards.missing``
and the answer is flagged partial.
"""
from __future__ import annotations

import heapq
import json
import logging
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from whoosh import query as wq

from search import engine, store
from search.arabic import ANALYSIS_VERSION
from search.entity_names import EntityNames
from search.facets import DayCounts, histogram_of_days, top_counts
from search.index import Generation, open_generation
from search.postings import CorpusStats, local_stats
from search.related import RelatedForms
from search.schema import FACETS, SCORE_GROUPS, build_schema, key_hash
from search.spelling import Speller, min_docs

MANIFEST = "shards.json"
log = logging.getLogger("mirsad.shards")


def shard_name(k: int) -> str:
    return f"s{k}"


def shard_of(doc_id: str, shards: int) -> int:
    """The shard an article goes to: a hash of its id alone, so an id lands in the same
    shard in every build, whatever else the archive holds."""
    return int.from_bytes(key_hash(doc_id)[8:16], "big") % shards


def comparable(result: dict) -> dict:
    """What an answer must keep however the archive is split (all but the timing and the
    shards' report): how tests and ``make bench-scale`` compare a sharded answer with one
    index's."""
    out = {k: v for k, v in result.items() if k not in ("took_ms", "shards", "partial")}
    out["hits"] = [(h["id"], h["score"], h["snippet"], h["places"], h["actors"]) for h in result["hits"]]
    return out


def is_sharded(path: Path) -> bool:
    """Whether the generation at ``path`` is sharded (has a manifest)."""
    return (Path(path) / MANIFEST).is_file()


def save_manifest(build_dir: Path, shards: int, labels: dict) -> None:
    """Write a sharded build's manifest and corpus-wide tables (its shards written)."""
    gens = [open_generation(build_dir / shard_name(k)) for k in range(shards)]
    try:
        terms: set[str] = set()
        counts: Counter = Counter()
        for gen in gens:
            terms.update(gen.store.terms("body"))
            for term, n in gen.store.term_counts("body_exact"):
                counts[term] += n
        live = sum(g.live_count for g in gens)
        RelatedForms.from_terms(sorted(terms)).save(build_dir)
        EntityNames.from_labels(labels).save(build_dir)
        Speller.from_counts(sorted(counts.items()), min_docs(live)).save(build_dir)
        manifest = {
            "shards": [{"name": shard_name(k), "documents": g.live_count} for k, g in enumerate(gens)],
            "documents": live,
            "analysis": ANALYSIS_VERSION,
        }
    finally:
        for gen in gens:
            gen.close()
    for k in range(shards):  # fresh: a shard an --add left as it was shares its base's files
        store.fresh_file(build_dir / shard_name(k) / store.BUILD_FILE).write_text(
            json.dumps({"analysis": ANALYSIS_VERSION, "shard": shard_name(k)}), encoding="utf-8")
    (build_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")


# ---------------------------------------------------------------- one shard's side

REQUESTS_KEPT = 32  # requests whose postings and masks a shard keeps between rounds


class Shard:
    """One shard of a sharded generation, answering the three rounds of a search. It
    reads labels and related forms of the whole generation (what the plan carries), so
    its hits are labelled and ranked as the unsharded index's."""

    def __init__(self, gen: Generation, name: str, labels: dict):
        self.gen, self.name = gen, name
        gen.labels = labels  # the whole corpus's labels: a value shows the same everywhere
        self._requests: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def _state(self, rid: str) -> dict:
        with self._lock:
            state = self._requests.get(rid)
            if state is None:
                state = self._requests[rid] = {"cache": {}}
                while len(self._requests) > REQUESTS_KEPT:
                    self._requests.popitem(last=False)
            return state

    def match(self, rid: str, q: str, names: list[str], spans: list, related: dict, deadline_s: float) -> dict:
        """Round 1: what the coordinator decides by (``search.sharded`` docstring)."""
        gen, deadline = self.gen, time.perf_counter() + deadline_s
        cache = self._state(rid)["cache"]
        pq = engine._parse_query(gen, q)
        out = {"strict": False, "loose": False, "parts": None, "stats": None}
        if not pq.empty:
            strict, _cut = engine._docs_mask(gen, pq.loose if pq.question else pq.strict, deadline, cache)
            out["strict"] = bool(strict.any())
            if not out["strict"] and pq.loose != pq.strict:
                out["loose"] = bool(engine._docs_mask(gen, pq.loose, deadline, cache)[0].any())
            if spans:
                parts = engine._span_parts(gen, pq.text, spans, deadline, cache)
                out["parts"] = None if parts is None else engine.part_counts(parts)
        candidates = wq.Or([pq.strict, pq.loose] + [engine._name_query(gen, n) for n in names])
        out["stats"] = local_stats(gen.store, engine.rank_query(pq, candidates), gen.lengths, SCORE_GROUPS, cache,
                                   related)
        return out

    def query(self, rid: str, req: engine.SearchRequest, plan: engine.MatchPlan | None, stats: CorpusStats | None,
              related: dict, limit: int, sort: str, deadline_s: float) -> dict:
        """Round 2: total, facet counts, the histogram's days, the best ``limit`` hits."""
        gen, deadline = self.gen, time.perf_counter() + deadline_s
        state = self._state(rid)
        pq = engine._parse_query(gen, req.q) if req.q else None
        qmask, query, relaxed, cut, named = engine._query_matches(gen, pq, req.entities, deadline, state["cache"],
                                                                   plan)
        fmasks, dmask, any_date, total_mask = engine._filtered(gen, req, qmask)
        state["any_date"] = any_date
        facets = {f.name: _by_value(gen.facets[f.name], engine.facet_counts(gen, req, pq, f.name, qmask, fmasks, dmask))
                  for f in FACETS}
        split = None
        if req.histogram_by:
            table = gen.facets[req.histogram_by]
            split = _by_value(table, table.count(any_date))
        order = gen.order if gen.order is not None else np.arange(gen.doc_count)
        if sort == "relevance" and pq is not None:
            top = engine._rank(gen, pq, query, total_mask, limit, state["cache"], coord=not named, stats=stats,
                               related=related)
            best = [(score, int(order[d]), d) for d, score in top]
        else:
            docs = engine._by_date(gen, total_mask, 0, limit, sort)
            best = [(int(gen.dates[d]), int(order[d]), d) for d in docs]
        return {"total": int(np.count_nonzero(total_mask)), "relaxed": relaxed, "named": named,
                "cut": ["matching"] if cut else [],
                "facets": facets, "split_counts": split,
                "days": DayCounts.of(gen.date_keys(), any_date), "best": best,
                "span_any": bool(qmask.any()) if plan is not None and plan.use_spans else None}

    def fetch(self, rid: str, req: engine.SearchRequest, plan: engine.MatchPlan | None,
              hits: list[tuple[int, float | None]], split_values: list[str] | None, deadline_s: float) -> dict:
        """Round 3: the page's hits (stored fields, snippets) and the histogram split's days."""
        gen, deadline = self.gen, time.perf_counter() + deadline_s
        pq = engine._parse_query(gen, req.q) if req.q else None
        late = time.perf_counter() > deadline
        out = [engine._hit(gen, d, score, pq, with_snippet=not late) for d, score in hits]
        series = None
        if split_values is not None:
            state = self._state(rid)
            any_date = state.get("any_date")
            if any_date is None:  # round 2 ran on another replica: match again
                qmask = engine._query_matches(gen, pq, req.entities, deadline, state["cache"], plan)[0]
                any_date = engine._filtered(gen, req, qmask)[2]
            table = gen.facets[req.histogram_by]
            rest, series = any_date.copy(), []
            for value in split_values:
                vmask = table.mask_any([value], gen.doc_count)
                series.append((value, DayCounts.of(gen.date_keys(), any_date & vmask)))
                rest &= ~vmask
            series.append((None, DayCounts.of(gen.date_keys(), rest)))
        return {"hits": out, "series": series, "cut": ["snippets"] if late and hits else []}

    def doc_frequency(self, field: str, text: str) -> int:
        return self.gen.store.doc_frequency(field, text)

    def stored_document(self, doc_id: str) -> tuple[dict, int] | None:
        """(stored fields, date) of a document, or None (the coordinator makes the page)."""
        docnum = self.gen.store.docnum(doc_id)
        return None if docnum is None else (self.gen.store.stored(docnum), int(self.gen.dates[docnum]))

    def export_rows(self, docs: list[tuple[int, float | None]]) -> list[dict]:
        return [engine.export_row(self.gen, d, score) for d, score in docs]

    def damage(self) -> str | None:
        return self.gen.damage()

    def warm(self) -> None:
        """What a shard's first rounds would otherwise pay: the query parser, the day keys,
        each segment's stored-field columns."""
        engine._parse_query(self.gen, "الخبر")
        self.gen.date_keys().keys("day")
        for docnum in self.gen.store.segment_starts():
            self.gen.store.stored(docnum)

    def close(self) -> None:
        self.gen.close()


class LocalShards:
    """The shards of a generation, in this process: each round asks them one by one."""

    remote = False

    def __init__(self, shards: list[Shard]):
        self.shards = shards
        self.names = [s.name for s in shards]

    def call(self, method: str, args: list[tuple], deadline: float, key: str | None = None) -> list:
        """``method(*args[k])`` of each shard k: its result, or None for a shard skipped
        (``args[k]`` None) or whose files failed. In this process every shard answers,
        past the ``deadline`` too: each cuts its own phases, as one index does."""
        out = []
        for shard, a in zip(self.shards, args):
            if a is None:
                out.append(None)
                continue
            try:
                out.append(getattr(shard, method)(*a))
            except (OSError, store.IndexUnavailable) as exc:  # its files went: the others answer, the answer is partial
                log.warning("shard %s did not answer %s: %s", shard.name, method, exc)
                out.append(None)
        return out

    def damage(self) -> str | None:
        return next((d for d in (s.damage() for s in self.shards) if d), None)

    def warm(self) -> None:
        for s in self.shards:
            s.warm()

    def close(self) -> None:
        for s in self.shards:
            s.close()


# ---------------------------------------------------------------- the coordinator

def _soon() -> float:
    """The deadline of a call outside a search (a document, a row, a word's frequency)."""
    return time.perf_counter() + engine.TIME_BUDGET_S


@dataclass
class ShardedGeneration:
    """A published sharded generation: what the engine's callers use of a ``Generation``
    (labels, entity names, speller, health), its searches answered by ``run_search``."""

    path: Path
    shards: LocalShards
    labels: dict
    build: dict
    manifest: dict
    schema: object = field(default_factory=build_schema)
    _related: RelatedForms | None = None
    _entity_names: EntityNames | None = None
    _speller: Speller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    sharded = True

    @property
    def live_count(self) -> int:
        return int(self.manifest.get("documents", 0))

    @property
    def analysis_current(self) -> bool:
        return self.build.get("analysis") == ANALYSIS_VERSION

    def label(self, facet: str, value: str) -> dict[str, str]:
        return self.labels.get(facet, {}).get(value) or {"ar": value, "en": value}

    def related_forms(self) -> RelatedForms:
        if self._related is None:
            self._related = RelatedForms.load(self.path) or RelatedForms.from_terms([])
        return self._related

    def entity_names(self) -> EntityNames:
        if self._entity_names is None:
            self._entity_names = EntityNames.load(self.path) or EntityNames.from_labels(self.labels)
        return self._entity_names

    def speller(self, wait: bool = False) -> Speller | None:
        """The corpus-wide speller the manifest was published with, memory-mapped on first
        use (as ``Generation.speller``); an empty one when it has none. ``wait`` is
        ``Generation.speller``'s: loading never waits here."""
        with self._lock:
            if self._speller is None:
                self._speller = Speller.load(self.path) or Speller.from_counts([])
        return self._speller

    def doc_frequency(self, field_name: str, text: str) -> int:
        """Live documents holding the term, in all shards."""
        found = self.shards.call("doc_frequency", [(field_name, text)] * len(self.shards.names), _soon())
        return sum(n for n in found if n)

    def stored_document(self, doc_id: str) -> tuple[dict, int] | None:
        """(stored fields, date) of a document, from the shard its id hashes to."""
        k = shard_of(doc_id, len(self.shards.names))
        return self.shards.call("stored_document", [(doc_id,) if i == k else None
                                                    for i in range(len(self.shards.names))], _soon())[k]

    def matching_docs(self, req: engine.SearchRequest, limit: int | None = None):
        return matching_docs(self, req, limit)

    def export_row(self, ref: tuple[int, int], score: float | None) -> dict:
        k, docnum = ref
        rows = self.shards.call("export_rows", [([(docnum, score)],) if i == k else None
                                                for i in range(len(self.shards.names))], _soon())[k]
        if rows is None:
            raise store.IndexUnavailable(f"shard {self.shards.names[k]} did not answer")
        return rows[0]

    def damage(self) -> str | None:
        return self.shards.damage()

    def warm(self) -> None:
        self.related_forms()
        self.entity_names()
        self.speller(wait=True)
        self.shards.warm()

    def close(self) -> None:
        self.shards.close()


def open_sharded(path: Path) -> ShardedGeneration:
    """Open a sharded generation's shards in this process."""
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    labels = store.read_json(path, store.LABELS_FILE)
    shards = []
    try:
        for entry in manifest["shards"]:
            shards.append(Shard(open_generation(path / entry["name"]), entry["name"], labels))
    except BaseException:
        for s in shards:
            s.close()
        raise
    return ShardedGeneration(path=path, shards=LocalShards(shards), labels=labels,
                             build=store.read_json(path, store.BUILD_FILE), manifest=manifest)


_RID = iter(range(1, 1 << 62))
ROUND_SHARE = {"match": 0.5, "query": 0.75}  # of the budget left when the round starts; fetch: all of it


def run_search(sg: ShardedGeneration, req: engine.SearchRequest, t0: float) -> dict:
    """``search.engine.run_search`` over the shards of ``sg``: the same answer the
    unsharded index gives, plus ``shards`` (how many answered, which did not)."""
    return _search(sg, req, t0, req.page * req.per_page)[0]


def matching_docs(sg: ShardedGeneration, req: engine.SearchRequest, limit: int | None):
    """``search.engine.matching_docs`` over the shards: ((shard, doc number), score)."""
    t0 = engine.clock()
    merged, scored = _search(sg, replace(req, page=1, facet_size=0), t0, limit or max(sg.live_count, 1), hits=False)[1:]
    return [((k, b[2]), b[0] if scored else None) for k, b in merged]


def _search(sg: ShardedGeneration, req: engine.SearchRequest, t0: float, limit: int, hits: bool = True):
    """(the answer, the best ``limit`` (shard, (score or date, rank, doc number)), whether
    by score); without ``hits``, no answer: the third round is not asked."""
    deadline = t0 + engine.TIME_BUDGET_S
    left = lambda: max(deadline - engine.clock(), 0.0)  # noqa: E731 - the budget each round passes on
    rid = f"{id(sg)}-{next(_RID)}"
    names, n = sg.shards.names, len(sg.shards.names)
    missing: set[int] = set()

    def ask(method: str, args) -> list:
        # over a network a round may spend its share of what is left: a shard that does
        # not answer leaves the later rounds time to answer from the others (shards in
        # this process always answer: they have the whole budget)
        share = ROUND_SHARE.get(method, 1.0) if sg.shards.remote else 1.0
        until = engine.clock() + left() * share
        out = sg.shards.call(method, [None if k in missing else a for k, a in enumerate(args)], until, key=rid)
        missing.update(k for k, r in enumerate(out) if r is None)
        return out

    pq = engine._parse_query(sg, req.q) if req.q else None
    plan, stats, related = None, None, {}
    named = []
    if pq is not None:
        named = engine._named_entities(sg, pq, req.entities)
        spans = [] if named or not engine._names_allowed(pq, req.entities) else engine._named_spans(sg, pq.text)
        related = engine.related_of(sg.related_forms(), pq)
        found = {e for _s, _e, f in spans for e in f} | set(named)
        name_list = engine._names(sg, list(found))
        first = ask("match", [(rid, req.q, name_list, spans, related, left())] * n)
        answered = [r for r in first if r is not None]
        stats = _merged_stats(answered)
        keep, use_spans = [], False
        if spans and answered and all(r["parts"] is not None for r in answered):
            counts = [None if c is None else (c[0], sum(r["parts"][i][1] for r in answered),
                                               sum(r["parts"][i][2] for r in answered))
                      for i, c in enumerate(answered[0]["parts"])]
            keep = engine.keep_parts(counts)
            use_spans = any(k and c is not None for k, c in zip(keep, counts))
        plan = engine.MatchPlan(strict_any=any(r["strict"] for r in answered),
                                loose_any=any(r["loose"] for r in answered),
                                named=named, spans=spans, keep=keep, use_spans=use_spans)

    sort = engine._sort(pq, req)
    second = ask("query", [(rid, req, plan, stats, related, limit, sort, left())] * n)
    if plan is not None and plan.use_spans and not any(r["span_any"] for r in second if r):
        plan = replace(plan, use_spans=False)  # the names' parts together match nothing: as written
        second = ask("query", [(rid, req, plan, stats, related, limit, sort, left())] * n)
    answered = [(k, r) for k, r in enumerate(second) if r is not None]
    # every shard decided alike (the plan's): the first one's word for it
    relaxed = bool(answered and answered[0][1]["relaxed"])
    named = answered[0][1]["named"] if answered else named
    total = sum(r["total"] for _k, r in answered)
    scored = sort == "relevance" and pq is not None
    if not hits:
        return None, _best(answered, sort, scored, limit), scored
    last = engine.last_page(total, req.per_page)
    if req.page > last:
        raise engine.BadRequest("page_out_of_range", "page", f"'page' {req.page} is past the last page, {last}",
                                f"الصفحة {req.page} بعد آخر صفحة ({last})")

    merged = _best(answered, sort, scored, limit)
    page = merged[(req.page - 1) * req.per_page:]
    facets = {f.name: engine.facet_values(sg, req, f.name, top_counts(
        _summed(r["facets"][f.name] for _k, r in answered), req.facet_size, req.filters.get(f.name, [])))
        for f in FACETS}

    split_values = None
    if req.histogram_by:
        split_counts = _summed(r["split_counts"] for _k, r in answered)
        split_values = [v for v, _c in top_counts(split_counts, engine.HISTOGRAM_SERIES, [])]
    on_page = {k: [(b[2], b[0] if scored else None) for kk, b in page if kk == k] for k, _r in answered}
    third = ask("fetch", [(rid, req, plan, on_page[k], split_values, left())
                          if k in on_page and (on_page[k] or split_values is not None) else None for k in range(n)])
    missing.difference_update(k for k in on_page if not on_page[k] and split_values is None)
    hits_of = {k: iter(r["hits"]) for k, r in enumerate(third) if r is not None}
    hits = [next(hits_of[k]) for k, _b in page if k in hits_of]
    series = None
    if split_values is not None:
        parts = [r["series"] for r in third if r is not None]
        series = [(value, DayCounts.merged([p[i][1] for p in parts])) for i, value in enumerate(split_values + [None])]
    days = DayCounts.merged([r["days"] for _k, r in answered])
    histogram = engine.histogram_document(sg, req, histogram_of_days(days, req.interval, series))
    cut = [phase for phase in ("matching", "snippets")
           if any(phase in r.get("cut", ()) for r in [r for _k, r in answered] + [r for r in third if r])]
    out = engine.result_document(sg, req, pq, named, total, sort, relaxed, hits, facets, histogram, t0, cut,
                                 deadline)
    out["shards"] = {"total": n, "answered": n - len(missing), "missing": [names[k] for k in sorted(missing)]}
    out["partial"] = bool(missing)
    return out, merged, scored


def _best(answered: list, sort: str, scored: bool, limit: int) -> list:
    """The best ``limit`` of all shards' best: by score (or date), then the tie-break
    rank, as ``search.postings.top_k`` and ``engine._by_date`` order one index."""
    if scored or sort == "date":
        key = lambda item: (-item[1][0], item[1][1])  # noqa: E731
    else:  # oldest first, the undated last
        key = lambda item: (item[1][0] if item[1][0] >= 0 else np.iinfo(np.int64).max, item[1][1])  # noqa: E731
    return heapq.nsmallest(limit, ((k, b) for k, r in answered for b in r["best"]), key=key)


def _by_value(table, counts: np.ndarray) -> dict[str, int]:
    """A facet's count vector as {value: count} of its values with a count (what shards send)."""
    nonzero = np.flatnonzero(counts)
    return dict(zip((table.values[v] for v in nonzero.tolist()), counts[nonzero].tolist()))


def _merged_stats(results: list[dict]) -> CorpusStats | None:
    stats = None
    for r in results:
        stats = r["stats"] if stats is None else stats.merged(r["stats"])
    return stats


def _summed(dicts) -> dict[str, int]:
    out: Counter = Counter()
    for d in dicts:
        if d:
            out.update(d)
    return out
