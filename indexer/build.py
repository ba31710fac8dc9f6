"""Build an index from sources and publish it atomically.

The new generation is written beside the current one (``search.store``) and swapped in
only when complete: Ctrl-C, a kill or an error leave the previous index serving.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from indexer.extract import Extractor
from indexer.sources import Problem, Record, read_sources
from search import store
from search.arabic import ANALYSIS_VERSION
from search.codec import GroupedPostings
from search.schema import FACET_NAMES, FACET_SEP, IndexCodec, build_schema

MAX_REPORTED = 50


@dataclass
class BuildReport:
    indexed: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    warnings: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)  # "id" (replaced), "url", "body"
    problems: list[str] = field(default_factory=list)  # the first MAX_REPORTED, file:line
    seconds: float = 0.0
    read_seconds: float = 0.0
    extract_seconds: float = 0.0
    generation: str = ""
    cleaned: list[str] = field(default_factory=list)

    @property
    def docs_per_s(self) -> float:
        return self.indexed / self.seconds if self.seconds else 0.0

    def note(self, problem: Problem) -> None:
        reason = problem.reason.split(" (id ")[0].split(":")[0]
        (self.skipped if problem.fatal else self.warnings)[reason] += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(str(problem))

    def summary(self) -> str:
        lines = [f"indexed {self.indexed:,} documents in {self.seconds:.1f} s ({self.docs_per_s:,.0f} docs/s)"]
        if self.skipped:
            lines.append(f"skipped {sum(self.skipped.values()):,}: " + ", ".join(f"{r} ({n})" for r, n in self.skipped.most_common()))
        if self.duplicates:
            lines.append("duplicates: " + ", ".join(f"{n} by {k}" for k, n in self.duplicates.items()))
        if self.warnings:
            lines.append("warnings: " + ", ".join(f"{r} ({n})" for r, n in self.warnings.most_common()))
        if self.cleaned:
            lines.append(f"removed {len(self.cleaned)} half-written build(s) left by an interrupted run")
        if self.generation:
            lines.append(f"published {self.generation}")
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {"indexed": self.indexed, "skipped": dict(self.skipped), "warnings": dict(self.warnings),
                "duplicates": dict(self.duplicates), "problems": self.problems, "seconds": round(self.seconds, 2),
                "docs_per_s": round(self.docs_per_s, 1), "extract_seconds": round(self.extract_seconds, 2),
                "generation": self.generation}


class BuildFailed(RuntimeError):
    """Nothing could be indexed, or the index could not be written."""


def _dedupe(items, report: BuildReport) -> list[Record]:
    """Records in order; the last record of an id wins; repeated URLs and repeated
    bodies of one outlet are dropped (and counted). A body repeated by records of no
    known outlet is kept: without an outlet, nothing says it is the same source
    re-publishing (ARCD holds one Wikipedia paragraph under two articles)."""
    by_id: dict[str, Record] = {}
    for item in items:
        if isinstance(item, Problem):
            report.note(item)
            continue
        if item.id in by_id:
            report.duplicates["id"] += 1
            if len(report.problems) < MAX_REPORTED:
                report.problems.append(f"{item.origin}: duplicate id {item.id!r}, replaces {by_id[item.id].origin}")
            del by_id[item.id]
        by_id[item.id] = item
    seen_url: set[str] = set()
    seen_body: set[tuple[str, bytes]] = set()
    out = []
    for rec in by_id.values():
        url = rec.url.strip().rstrip("/")
        if url and url in seen_url:
            report.duplicates["url"] += 1
            continue
        body_key = None
        if rec.outlet and len(rec.body) > 200:  # only these are ever compared: hash only these
            body_key = (rec.outlet.lower(), hashlib.blake2b(" ".join(rec.body.split()).encode(), digest_size=16).digest())
            if body_key in seen_body:
                report.duplicates["body"] += 1
                continue
            seen_body.add(body_key)
        if url:
            seen_url.add(url)
        out.append(rec)
    return out


def build_index(sources: list[Path], index_dir: Path, procs: int = 1, progress: bool = True,
                extractor: Extractor | None = None, entities: bool = True) -> BuildReport:
    """Index ``sources`` into a new generation of ``index_dir`` and publish it.

    With ``entities=False`` places and actors are not extracted (outlet and date still
    are): for measuring what extraction costs."""
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    report = BuildReport()
    with store.build_lock(index_dir):
        report.cleaned = [str(p) for p in store.clean_stale_builds(index_dir)]
        records = _dedupe(read_sources([Path(s) for s in sources]), report)
        report.read_seconds = time.perf_counter() - t0
        if not records:
            raise BuildFailed("nothing to index: " + ("; ".join(report.problems[:5]) or "the sources hold no articles"))
        extractor = extractor or Extractor()
        build_dir = store.new_build_dir(index_dir)
        try:
            labels = _write(build_dir, records, extractor, procs, progress, report, entities)
            report.seconds = time.perf_counter() - t0
            info = {"sources": [str(s) for s in sources], "built": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "analysis": ANALYSIS_VERSION, **report.as_json()}
            final = store.publish(index_dir, build_dir, labels, info)
            report.generation = str(final)
        except BaseException:
            shutil.rmtree(build_dir, ignore_errors=True)
            raise
    report.seconds = time.perf_counter() - t0
    return report


# Each worker turns a contiguous run of records into one Whoosh segment, extraction
# included, so the parent process only reads and publishes. A segment's postings stay in
# memory (``TermPool``) until it is written, so a segment holds at most SEGMENT_DOCS
# records where the text lengths allow; Whoosh's own pool
# spills to disk past a limit and merges the runs back posting by posting in pure
# Python, which made a 62k-article build a third slower. Few segments keep searches
# fast (every query term is looked up in each one): the records are cut into the fewest
# runs of equal text length that give every process the same number of runs.
SEGMENT_DOCS = 16000

# What forked workers read: inherited from the parent at fork, never pickled.
_JOB: dict = {}


def chunks(costs: list[int], procs: int, largest: int = SEGMENT_DOCS) -> list[tuple[int, int]]:
    """Contiguous (start, end) ranges covering the records, a multiple of ``procs`` of
    them, of about equal total cost (text length), each at most ``largest`` records
    long where the costs allow."""
    n = len(costs)
    if not n:
        return []
    procs = max(1, procs)
    parts = min(n, procs * -(-n // (procs * largest)))
    total = sum(costs) or 1
    out, start, acc = [], 0, 0
    for k in range(1, parts):
        target = total * k / parts
        end = start
        while end < n - (parts - k) and acc + costs[end] <= target:
            acc += costs[end]
            end += 1
        end = max(end, start + 1)
        out.append((start, end))
        start = end
    out.append((start, n))
    return out


class TermPool:
    """Whoosh's PostingPool, for a segment whose postings fit in memory: each posting is
    filed under its (field, term) as it arrives, so writing the segment sorts the
    distinct terms instead of every posting tuple (that sort was an eighth of indexing
    time). ``iter_postings`` hands them over still grouped (``GroupedPostings``), which
    iterates in Whoosh's pool order and lets ``IndexCodec``'s field writer write each
    term's postings in one go."""

    def __init__(self):
        self._fields: dict[str, dict[bytes, list[tuple]]] = {}
        self.fieldnames: set[str] = set()
        self.runs: list = []

    def add(self, item: tuple) -> None:
        """``item`` is Whoosh's (fieldname, term bytes, docnum, weight, value bytes)."""
        terms = self._fields.get(item[0])
        if terms is None:
            terms = self._fields[item[0]] = {}
            self.fieldnames.add(item[0])
        postings = terms.get(item[1])
        if postings is None:
            terms[item[1]] = [item]
        else:
            postings.append(item)  # documents arrive in docnum order

    def iter_postings(self) -> GroupedPostings:
        return GroupedPostings(self._fields)

    def save(self) -> None:
        pass

    def cleanup(self) -> None:
        self._fields = {}


@dataclass
class _Chunk:
    start: int
    segment: object
    labels: dict
    indexed: int
    extract_seconds: float


def _index_chunk(bounds: tuple[int, int]) -> _Chunk:
    """One segment of the build directory from ``records[start:end]``."""
    from whoosh.writing import SegmentWriter

    start, end = bounds
    records, extractor, entities = _JOB["records"], _JOB["extractor"], _JOB["entities"]
    # _lk=False: the parent's writer holds the index lock for the whole build (as
    # Whoosh's own MpWriter does for its sub-writers).
    writer = SegmentWriter(whoosh_index.open_dir(_JOB["build_dir"]), _lk=False, codec=IndexCodec())
    writer.pool = TermPool()
    labels: dict[str, dict[str, dict[str, str]]] = {name: {} for name in FACET_NAMES}
    spent = 0.0
    # On an error, no writer.cancel() here: it would delete the temporary folder all
    # writers share. The parent cancels, and build_index removes the whole build.
    for rec in records[start:end]:
        t = time.perf_counter()
        ex = extractor.extract(rec) if entities else extractor.extract_metadata(rec)
        spent += time.perf_counter() - t
        writer.add_document(**_document(rec, ex, labels))
    segment = writer._finalize_segment()
    return _Chunk(start, segment, labels, end - start, spent)


def _document(rec: Record, ex, labels: dict) -> dict:
    """The Whoosh fields of one record; records each facet value's labels."""
    facet_values = {"outlet": [ex.outlet] if ex.outlet else [], "place": ex.places,
                    "actor": ex.actors, "country": ex.countries}
    for facet, values in facet_values.items():
        for e in values:
            labels[facet].setdefault(e.name, {"ar": e.name, "en": e.en})
    doc = {
        "id": rec.id,
        "title": rec.title,
        "title_exact": rec.title,
        "body": rec.body,
        "body_exact": rec.body,
        "root": f"{rec.title}\n{rec.body}",
        "outlet": ex.outlet.name if ex.outlet else "",
        "place": FACET_SEP.join(e.name for e in ex.places),
        "actor": FACET_SEP.join(e.name for e in ex.actors),
        "country": FACET_SEP.join(e.name for e in ex.countries),
        "url": rec.url,
        "author": rec.author,
        "category": rec.category,
        "mentions": [list(sp) for sp in ex.spans],
    }
    if ex.date is not None:
        doc["date"] = ex.date
    return {k: v for k, v in doc.items() if v != "" or k == "id"}


def _chunk_results(jobs: list[tuple[int, int]], procs: int):
    """Each chunk's result as it completes, from ``procs`` forked workers (in this
    process when ``procs`` is 1 or fork is unavailable)."""
    import multiprocessing

    if procs <= 1 or len(jobs) == 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(_index_chunk, jobs)
        return
    pool = multiprocessing.get_context("fork").Pool(min(procs, len(jobs)))
    try:
        yield from pool.imap_unordered(_index_chunk, jobs)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _write(build_dir: Path, records: list[Record], extractor: Extractor, procs: int, progress: bool,
           report: BuildReport, entities: bool = True) -> dict:
    ix = whoosh_index.create_in(str(build_dir), build_schema())
    writer = ix.writer()  # holds the lock; its own segment stays empty
    labels: dict[str, dict[str, dict[str, str]]] = {name: {} for name in FACET_NAMES}
    done: list[_Chunk] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(records), unit="doc", desc="indexing", file=sys.stderr, mininterval=0.5)
    _JOB.update(records=records, extractor=extractor, entities=entities, build_dir=str(build_dir))
    # The records, the gazetteer trie and Whoosh's posting pool are millions of live
    # objects that the cyclic garbage collector would walk again and again (and, in
    # forked workers, copy page by page): frozen, they are out of its sight.
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        costs = [len(r.title) + len(r.body) + 200 for r in records]  # 200: a record's own overhead
        for chunk in _chunk_results(chunks(costs, procs, SEGMENT_DOCS), procs):
            done.append(chunk)
            report.indexed += chunk.indexed
            report.extract_seconds += chunk.extract_seconds
            for facet, values in chunk.labels.items():
                for name, label in values.items():
                    labels[facet].setdefault(name, label)
            if bar is not None:
                bar.update(chunk.indexed)
        # Segments in record order, so document numbers follow the sources.
        segments = [c.segment for c in sorted(done, key=lambda c: c.start)]
        writer.commit(mergetype=lambda _writer, existing: existing + segments)
    except BaseException:
        with contextlib.suppress(Exception):  # the build folder goes anyway; keep the first error
            writer.cancel()
        raise
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        _JOB.clear()
        if bar is not None:
            bar.close()
    return labels
