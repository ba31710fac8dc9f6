"""Build an index from sources and publish it atomically.

The new generation is written beside the current one (``search.store``) and swapped in
only when complete: Ctrl-C, a kill or an error leave the previous index serving.
"""
from __future__ import annotations

import contextlib
import gc
import json
import os
import queue
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh.fields import FieldType
from whoosh.writing import SegmentWriter

from indexer.extract import Extractor
from indexer.clean import parse_date
from indexer.sources import Problem, Record, estimate_records, inventory, printable_path, read_sources
from search import frequent_postings, store, term_ids
from search.arabic import ANALYSIS_VERSION, JoinedText
from search.codec import GroupedPostings
from search.index import TABLE_PREFIXES, save_tables
from search.sharded import is_sharded, save_manifest, shard_name, shard_of
from search.schema import FACET_NAMES, FACET_SEP, IndexCodec, build_schema, key_hash

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
    replaced: int = 0  # documents of the index an --add replaced
    unchanged: bool = False  # an --add that found nothing new: nothing published
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
        if self.replaced:
            lines.append(f"replaced {self.replaced:,} indexed article(s) by id")
        if self.duplicates:
            lines.append("duplicates: " + ", ".join(f"{n} by {k}" for k, n in self.duplicates.items()))
        if self.warnings:
            lines.append("warnings: " + ", ".join(f"{r} ({n})" for r, n in self.warnings.most_common()))
        if self.cleaned:
            lines.append(f"removed {len(self.cleaned)} half-written build(s) left by an interrupted run")
        if self.generation:
            lines.append(f"published {self.generation}")
        if self.unchanged:
            lines.append("nothing new to add: the index is unchanged")
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {"indexed": self.indexed, "skipped": dict(self.skipped), "warnings": dict(self.warnings),
                "duplicates": dict(self.duplicates), "problems": self.problems, "seconds": round(self.seconds, 2),
                "docs_per_s": round(self.docs_per_s, 1), "replaced": self.replaced, "extract_seconds": round(self.extract_seconds, 2),
                "generation": self.generation}


class BuildFailed(RuntimeError):
    """Nothing could be indexed, or the index could not be written."""



def record_keys(rec: Record) -> tuple[bytes, bytes, bytes]:
    """(id, URL, body) hashes of a record, 16 bytes each; an empty URL, or a body that is
    never compared, hashes to zeros. A body is compared only within one known outlet and
    only when long enough to mean something: without an outlet, nothing says it is the
    same source re-publishing (ARCD holds one Wikipedia paragraph under two articles)."""
    id_key = key_hash(rec.id)
    url = rec.url.strip().rstrip("/")
    url_key = key_hash(url) if url else _ZERO
    body_key = _ZERO
    if rec.outlet and len(rec.body) > 200:
        body_key = key_hash(rec.outlet.lower() + "\0" + " ".join(rec.body.split()))
    return id_key, url_key, body_key


_ZERO = bytes(16)


class Deduper:
    """Decides, one record at a time, what a stream of records does to an index, holding
    only hashes (``record_keys``), never texts: the last record of an id replaces the
    earlier one (in this stream or already indexed); a repeated URL, or a body repeated
    within one outlet, is dropped and counted."""

    def __init__(self, report: BuildReport):
        self.report = report
        # id hash -> (where: >= 0 the stream's sequence number, < 0 -(docnum + 1) of an
        # indexed document), URL hash, body hash
        self.by_id: dict[bytes, tuple[int, bytes, bytes]] = {}
        self.seen_url: dict[bytes, bytes] = {}
        self.seen_body: dict[bytes, bytes] = {}
        self.replaced_docnums: list[int] = []  # of the index being added to
        self.replaced_seqs: list[int] = []  # of this stream
        self.origin: dict[bytes, str] = {}  # id hash -> file:line, only for the first reports

    def load(self, keys: list[bytes], live) -> None:
        """The keys of an existing index's live documents (``Storage.keys``)."""
        for docnum, row in enumerate(keys):
            if live is None or live[docnum]:
                self._remember(-(docnum + 1), row[:16], row[16:32], row[32:48])

    def _remember(self, where: int, id_key: bytes, url_key: bytes, body_key: bytes) -> None:
        self.by_id[id_key] = (where, url_key, body_key)
        if url_key != _ZERO:
            self.seen_url[url_key] = id_key
        if body_key != _ZERO:
            self.seen_body[body_key] = id_key

    def admit(self, rec: Record, seq: int) -> bytes | None:
        """The record's 48 key bytes when it is to be indexed as number ``seq`` of the
        stream, None when it is a duplicate to drop."""
        id_key, url_key, body_key = record_keys(rec)
        earlier = self.by_id.pop(id_key, None)
        if earlier is not None:
            where, old_url, old_body = earlier
            self.report.duplicates["id"] += 1
            if len(self.report.problems) < MAX_REPORTED:
                was = self.origin.get(id_key, "the index" if where < 0 else "an earlier record")
                self.report.problems.append(f"{rec.origin}: duplicate id {rec.id!r}, replaces {was}")
            (self.replaced_docnums.append(-where - 1) if where < 0 else self.replaced_seqs.append(where))
            if self.seen_url.get(old_url) == id_key:
                del self.seen_url[old_url]
            if self.seen_body.get(old_body) == id_key:
                del self.seen_body[old_body]
        if url_key != _ZERO and url_key in self.seen_url:
            self.report.duplicates["url"] += 1
            return None
        if body_key != _ZERO and body_key in self.seen_body:
            self.report.duplicates["body"] += 1
            return None
        self._remember(seq, id_key, url_key, body_key)
        if len(self.origin) < MAX_REPORTED:
            self.origin[id_key] = rec.origin
        return id_key + url_key + body_key


def default_procs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def build_index(sources: list[Path], index_dir: Path, procs: int | None = None, progress: bool = True,
                extractor: Extractor | None = None, entities: bool = True, add: bool = False,
                shards: int = 1, ray_address: str | None = None) -> BuildReport:
    """Index ``sources`` into a new generation of ``index_dir`` and publish it.

    With ``shards`` > 1 the generation is sharded (``search.sharded``): after one
    deduplication over all the sources, each article goes to the shard its id hashes
    to (``search.sharded.shard_of``), each shard a complete index of its own, published
    together or not at all; with ``ray_address``, built as Ray tasks on that cluster.

    With ``add=True`` the new generation is the current one plus these articles: its
    segments are shared (hard links, no copy), an id already indexed is replaced, and
    URL/body duplicates are checked against the whole index. With ``entities=False``
    places and actors are not extracted (outlet and date still are): for measuring what
    extraction costs. ``procs`` defaults to the machine's cores."""
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    procs = default_procs() if procs is None else max(1, procs)
    report = BuildReport()
    with store.build_lock(index_dir):
        report.cleaned = [str(p) for p in store.clean_stale_builds(index_dir)]
        dedupe = Deduper(report)
        base = None
        if add:
            base = _base_generation(index_dir, dedupe)
            base_shards = len(base.manifest["shards"]) if getattr(base, "sharded", False) else 1
            if shards > 1 and shards != base_shards:
                base.close()
                raise BuildFailed(f"--shards {shards} with --add: the index in {index_dir} has {base_shards} "
                                  f"shard(s); an add keeps them (leave --shards out)")
            shards = base_shards
        extractor = extractor or Extractor()
        build_dir = store.new_build_dir(index_dir)
        try:
            paths = [Path(s) for s in sources]
            if shards > 1:
                labels = _write_shards(build_dir, paths, shards, dedupe, extractor, procs, progress, report, entities,
                                       ray_address, base)
            else:
                labels = _write(build_dir, read_sources(paths), dedupe, extractor, procs, progress, report, entities,
                                base, estimate_records(paths) if progress else None)
            report.seconds = time.perf_counter() - t0
            if not report.indexed and not dedupe.replaced_docnums and base is not None:
                # a daily batch of articles already indexed: nothing to publish
                shutil.rmtree(build_dir, ignore_errors=True)
                report.unchanged = True
                return report
            if not report.indexed and not dedupe.replaced_docnums:
                raise BuildFailed("nothing to index: " + ("; ".join(report.problems[:5]) or "the sources hold no articles"))
            info = {"sources": [printable_path(s) for s in sources], "inputs": inventory(sources),
                    **({"shards": shards} if shards > 1 else {}),
                    "built": time.strftime("%Y-%m-%dT%H:%M:%S"), "analysis": ANALYSIS_VERSION, **report.as_json()}
            if base is not None:  # what a full build read stays what --unless-current compares
                info.update(sources=base.build.get("sources", []), inputs=base.build.get("inputs", []),
                            added=base.build.get("added", []) + [{"sources": [printable_path(s) for s in sources],
                                                                   "inputs": inventory(sources),
                                                                   "indexed": report.indexed,
                                                                   "replaced": report.replaced}])
            final = store.publish(index_dir, build_dir, labels, info)
            report.generation = str(final)
        except BaseException:
            shutil.rmtree(build_dir, ignore_errors=True)
            raise
        finally:
            if base is not None:
                base.close()
    report.seconds = time.perf_counter() - t0
    return report


def _base_generation(index_dir: Path, dedupe: Deduper):
    """The current generation an ``--add`` builds on, its keys loaded into ``dedupe``."""
    from search.index import open_generation

    gen = open_generation(store.current_generation(index_dir))
    try:
        if not gen.analysis_current:
            raise BuildFailed(f"the index in {index_dir} was built with an older version of the Arabic analysis: "
                              f"`mirsad index --add` cannot extend it; rebuild it with `mirsad index SOURCE... "
                              f"--index {index_dir}` (or `make index`)")
        # a sharded index: every shard's keys (duplicates are the whole archive's)
        for one in ([s.gen for s in gen.shards.shards] if getattr(gen, "sharded", False) else [gen]):
            keys = one.store.keys()
            if keys is None:
                raise BuildFailed(f"the index in {index_dir} was written by an older Mirsad without the keys that "
                                  f"`--add` checks duplicates against: rebuild it with `make index`")
            dedupe.load(keys, one.store.live())
    except BaseException:
        gen.close()
        raise
    return gen


def delete_documents(index_dir: Path, ids: list[str]) -> tuple[int, list[str]]:
    """Publish a generation of ``index_dir`` without the documents of ``ids``:
    (how many were deleted, the ids that were not in the index)."""
    from search.index import open_generation

    index_dir = Path(index_dir)
    with store.build_lock(index_dir):
        store.clean_stale_builds(index_dir)
        gen = open_generation(store.current_generation(index_dir))
        try:
            docnums, missing = [], []
            for doc_id in dict.fromkeys(ids):
                d = gen.store.docnum(doc_id)
                (missing.append(doc_id) if d is None else docnums.append(d))
            if not docnums:
                return 0, missing
            build_dir = store.new_build_dir(index_dir)
            try:
                _link_generation(gen.path, build_dir)
                ix = whoosh_index.open_dir(str(build_dir))
                _delete_and_merge(ix, docnums)
                save_tables(build_dir, gen.labels)
                info = {**gen.build, "built": time.strftime("%Y-%m-%dT%H:%M:%S"),
                        "deleted": gen.build.get("deleted", 0) + len(docnums)}
                store.publish(index_dir, build_dir, gen.labels, info)
            except BaseException:
                shutil.rmtree(build_dir, ignore_errors=True)
                raise
        finally:
            gen.close()
    return len(docnums), missing


def _link_generation(source: Path, target: Path, everything: bool = False) -> None:
    """The index files of generation ``source`` in ``target`` as hard links: Whoosh never
    rewrites a segment file (deletions live in the new table of contents), so the new
    generation shares them without a copy. With ``everything``, its tables, labels and
    build record too (a shard an ``--add`` leaves as it was)."""
    for path in source.iterdir():
        if path.is_file() and not path.name.endswith("WRITELOCK") and (everything or (
                path.name not in (store.LABELS_FILE, store.BUILD_FILE) and not path.name.startswith(TABLE_PREFIXES))):
            os.link(path, target / path.name)


# Segment merging, on every build, add and delete: Whoosh writes each segment once, so
# an add appends segments and a delete marks documents. After a commit, when more than
# MAX_SMALL segments are small (under a quarter of SEGMENT_DOCS: what adds write), the
# small ones are merged into one; any segment with more than MAX_DELETED of its documents
# deleted is rewritten without them. Full-size segments are never merged together:
# Whoosh merges posting by posting in Python, and a large archive simply has more of them.
MAX_SMALL = 4
MAX_DELETED = 0.25


def merge_policy(writer, segments: list) -> list:
    """Whoosh merge policy (see MAX_SMALL): the segments to keep as they are; the others
    are merged into the writer's new segment, which comes last."""
    from whoosh.reading import SegmentReader

    merge = [s for s in segments if s.doc_count_all() and s.deleted_count() / s.doc_count_all() > MAX_DELETED]
    small = [s for s in segments if s not in merge and s.doc_count() < SEGMENT_DOCS // 4]
    if len(small) > MAX_SMALL:
        merge += small
    if not merge:
        return segments
    for seg in merge:
        if not seg.doc_count():  # nothing left alive: dropped, not copied
            continue
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in merge]


def _delete_and_merge(ix, docnums: list[int]) -> None:
    writer = SegmentWriter(ix, codec=IndexCodec())
    try:
        for d in docnums:
            writer.delete_document(d)
        writer.commit(mergetype=merge_policy)
    except BaseException:
        with contextlib.suppress(Exception):
            writer.cancel()
        raise


# Workers turn records into Whoosh segments, extraction included; the parent only reads,
# deduplicates (hashes only) and publishes. Records stream from the reader to the workers
# in batches through bounded queues, so memory holds a few batches and each worker's
# current segment, whatever the archive's size. A segment's postings stay in memory
# (``TermPool``) until it is written, so a segment holds at most SEGMENT_DOCS records or
# SEGMENT_CHARS of text. Its memory follows the text, not the count: bounding the text
# makes a worker's peak the same for every archive of more than a segment per worker
# (README, "Archives that grow"). Whoosh's own pool spills to disk past a limit and
# merges the runs back posting by posting in pure Python, which made a 62k-article
# build a third slower. Batch b goes to worker b % procs: doc numbers are deterministic for a given
# number of processes.
SEGMENT_DOCS = 16000
SEGMENT_CHARS = 25_000_000
BATCH = 128
QUEUE_BATCHES = 4


class TermPool:
    """Whoosh's PostingPool, for a segment whose postings fit in memory: postings are
    filed by field and term as they arrive, so writing the segment sorts the distinct
    terms (or the term ids) instead of every posting tuple (that sort was an eighth of
    indexing time). The fields of ``text_fields`` (those whose terms come from their
    format as text) keep each document's postings as arrays of term ids
    (``search.term_ids``), weights and values: filing is a few array operations per
    document, not a Python step per posting. The others keep a flat list per term,
    ``[docnum, weight, value bytes, docnum, …]``. ``iter_postings`` hands them over
    grouped (``GroupedPostings``), which iterates in Whoosh's pool order and lets
    ``IndexCodec``'s field writer write each term's postings in one go."""

    def __init__(self, text_fields: frozenset[str] = frozenset()):
        self.fields: dict[str, dict[bytes, list]] = {}
        self.columns: dict[str, list[tuple]] = {name: [] for name in text_fields}
        self.runs: list = []

    def add_columns(self, fieldname: str, docnum: int, ids, weights, values) -> None:
        """A document's postings in a text field: term ids, weights and values, arrays."""
        if len(ids):
            self.columns[fieldname].append((docnum, ids, weights, values))

    def add(self, item: tuple) -> None:
        """``item`` is Whoosh's (fieldname, term bytes, docnum, weight, value bytes);
        documents arrive in docnum order."""
        fieldname, term, docnum, weight, value = item
        if fieldname in self.columns:
            ids = np.array([term_ids.term_id(term.decode("utf-8"))])
            values = np.empty(1, dtype=object)
            values[0] = value
            self.add_columns(fieldname, docnum, ids, np.array([weight], dtype=float), values)
            return
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        postings = terms.get(term)
        if postings is None:
            terms[term] = [docnum, weight, value]
        else:
            postings += (docnum, weight, value)

    def iter_postings(self) -> GroupedPostings:
        return GroupedPostings(self.fields, {name: chunks for name, chunks in self.columns.items() if chunks})

    def save(self) -> None:
        pass

    def cleanup(self) -> None:
        self.fields = {}
        self.columns = {name: [] for name in self.columns}


class PoolWriter(SegmentWriter):
    """Whoosh's SegmentWriter whose ``add_document`` files each document's postings
    straight into its ``TermPool``: the same postings, stored fields, lengths and
    columns, without Whoosh's generator and ``pool.add`` call per posting. A document
    with boosts (``_boost`` keys), or a schema with spelling or vector fields, takes
    Whoosh's own path."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        schema = self.schema
        self._plain = all(not schema[n].separate_spelling() and not schema[n].vector for n in schema.names())
        self._by_format = text_fields(schema)
        self.pool = TermPool(self._by_format)

    def add_document(self, **fields):
        if not self._plain or any(name.startswith("_") for name in fields):
            return super().add_document(**fields)
        self._check_state()
        perdocwriter, schema, docnum, pool = self.perdocwriter, self.schema, self.docnum, self.pool
        fieldnames = sorted(fields)
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    if fieldname in self._by_format:  # FieldType.index's terms, without its generator
                        if not isinstance(value, (str, list, tuple)):
                            raise ValueError(f"{value!r} is not unicode or sequence")
                        ids, freqs, weights, values = _term_columns(field, value)
                        length = int(freqs.sum())
                        pool.add_columns(fieldname, docnum, ids, weights, values)
                    else:
                        for term, freq, weight, vbytes in field.index(value):
                            length += freq
                            pool.add((fieldname, term, docnum, weight, vbytes))
                    if not field.scorable:
                        length = 0
                perdocwriter.add_field(fieldname, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(value))
        except ValueError:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1


def text_fields(schema) -> frozenset[str]:
    """The fields whose terms come from their format's ``word_values`` as text (as
    ``FieldType.index`` has them): the pool files them by term id."""
    return frozenset(n for n in schema.names() if type(schema[n]).index is FieldType.index)


def _term_columns(field, value) -> tuple:
    """(term ids, frequencies, weights, values) of a field value, arrays, as the field's
    format's ``word_values`` gives them: its own columns when it has them (the one-pass
    formats of ``search.schema``)."""
    columns = getattr(field.format, "term_columns", None)
    columns = columns(value, field.analyzer) if columns is not None else None
    if columns is None:
        items = list(field.format.word_values(value, field.analyzer, mode="index"))
        values = np.empty(len(items), dtype=object)
        values[:] = [v for _t, _n, _w, v in items]
        columns = (np.array([term_ids.term_id(t) for t, _n, _w, _v in items], dtype=np.int64),
                   np.array([n for _t, n, _w, _v in items], dtype=np.int64),
                   np.array([w for _t, _n, w, _v in items], dtype=float), values)
    return columns


class SegmentBuilder:
    """Writes documents into segments of one build directory, one segment at a time."""

    def __init__(self, build_dir: str, extractor: Extractor, entities: bool, counter=None, slot: int = 0):
        self.build_dir, self.extractor, self.entities = build_dir, extractor, entities
        self.counter, self.slot = counter, slot
        self.segments: list = []
        self.seqs: list[int] = []  # stream sequence number of each document, in doc order
        self.labels: dict[str, dict[str, dict[str, str]]] = {name: {} for name in FACET_NAMES}
        self.extract_seconds = 0.0
        self.writer = None
        self._docs = self._chars = 0

    def _open(self) -> None:
        # _lk=False: the parent's writer holds the index lock for the whole build (as
        # Whoosh's own MpWriter does for its sub-writers).
        self.writer = PoolWriter(whoosh_index.open_dir(self.build_dir), _lk=False, codec=IndexCodec())
        self._docs = self._chars = 0

    def add(self, seq: int, rec: Record, keys: bytes) -> None:
        if self.writer is None:
            self._open()
        t = time.perf_counter()
        ex = self.extractor.extract(rec) if self.entities else self.extractor.extract_metadata(rec)
        self.extract_seconds += time.perf_counter() - t
        doc = _document(rec, ex, self.labels)
        doc["keys"] = keys
        self.writer.add_document(**doc)
        self.seqs.append(seq)
        self._docs += 1
        self._chars += len(rec.title) + len(rec.body)
        if self.counter is not None:
            self.counter[self.slot] += 1
        if self._docs >= SEGMENT_DOCS or self._chars >= SEGMENT_CHARS:
            self.flush()

    def flush(self, last_in_worker: bool = False) -> None:
        """Write the current segment. ``last_in_worker``: the forked worker ends with it,
        so its postings are left for the process's exit to drop (freeing millions of
        tuples and collecting them took seconds the parent would wait for)."""
        # On an error, no writer.cancel() here: it would delete the temporary folder all
        # writers share. The parent cancels, and build_index removes the whole build.
        if self.writer is not None:
            if last_in_worker:  # held here, the postings outlive the pool's cleanup
                self._left = (self.writer.pool.fields, self.writer.pool.columns)
            segment = self.writer._finalize_segment()
            self.segments.append(segment)
            # the frequent terms' postings, as the codec's field writer wrote them (when it
            # did not, publishing reads them from the segment)
            frequent = getattr(self.writer.fieldwriter, "frequent", None)
            if frequent is not None:
                frequent_postings.save(Path(self.build_dir), segment.segment_id(), frequent)
                self.writer.fieldwriter.frequent = None
            # the written postings go now: the writer sits in reference cycles that the
            # build's raised GC thresholds would keep alive beside the next segment's
            self.writer.pool.cleanup()
            self.writer = None
            term_ids.forget()  # no pool holds term ids now
            if not last_in_worker:
                gc.collect()

    def result(self, last_in_worker: bool = False) -> dict:
        self.flush(last_in_worker)
        return {"segments": self.segments, "seqs": self.seqs, "labels": self.labels,
                "extract_seconds": self.extract_seconds}


def _die_with_parent() -> None:
    """Linux: this process gets SIGKILL when the parent dies (a killed build's workers
    would otherwise live on, holding memory and the build directory)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker(slot: int, jobs, results, build_dir: str, extractor, entities: bool, counter) -> None:
    _die_with_parent()
    store.release_inherited_locks()
    builder = SegmentBuilder(build_dir, extractor, entities, counter, slot)
    try:
        while True:
            batch = jobs.get()
            if batch is None:
                break
            for seq, rec, keys in batch:
                builder.add(seq, rec, keys)
        results.put((slot, "ok", builder.result(last_in_worker=True)))
    except BaseException as exc:  # sent to the parent, which fails the build with it
        import traceback

        try:
            results.put((slot, "error", (exc, traceback.format_exc())))
        except Exception:
            results.put((slot, "error", (RuntimeError(repr(exc)), traceback.format_exc())))


class _Workers:
    """``procs`` forked worker processes fed through bounded queues (in-process for one)."""

    def __init__(self, procs: int, build_dir: str, extractor: Extractor, entities: bool):
        import multiprocessing

        self.procs = procs
        self.local = None
        if procs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            self.local = SegmentBuilder(build_dir, extractor, entities)
            return
        ctx = multiprocessing.get_context("fork")
        self.counter = ctx.RawArray("q", procs)
        self.results = ctx.Queue()
        self.jobs = [ctx.Queue(QUEUE_BATCHES) for _ in range(procs)]
        self.processes = [ctx.Process(target=_worker, daemon=True,
                                      args=(i, self.jobs[i], self.results, build_dir, extractor, entities, self.counter))
                          for i in range(procs)]
        for p in self.processes:
            p.start()
        self.done: dict[int, dict] = {}

    def done_count(self) -> int:
        if self.local is not None:
            return len(self.local.seqs)
        return sum(self.counter)

    def send(self, n: int, batch: list) -> None:
        if self.local is not None:
            for item in batch:
                self.local.add(*item)
            return
        q = self.jobs[n % self.procs]
        while True:
            try:
                q.put(batch, timeout=0.5)
                return
            except queue.Full:
                self._poll(0)

    def _poll(self, timeout: float) -> None:
        try:
            slot, status, payload = self.results.get(timeout=timeout) if timeout else self.results.get_nowait()
        except queue.Empty:
            dead = [p for i, p in enumerate(self.processes) if not p.is_alive() and i not in self.done]
            if dead:
                raise BuildFailed(f"an indexing process died (exit code {dead[0].exitcode}); the previous index is kept")
            return
        if status == "error":
            exc, trace = payload
            if not isinstance(exc, (OSError, KeyboardInterrupt)):  # a bug: where it happened matters
                sys.stderr.write(trace)
            raise exc
        self.done[slot] = payload

    def finish(self, tick=None) -> list[dict]:
        """Every worker's result, in worker order."""
        if self.local is not None:
            return [self.local.result()]
        for q in self.jobs:
            q.put(None)
        while len(self.done) < self.procs:
            self._poll(0.5)
            if tick:
                tick()
        return [self.done[i] for i in range(self.procs)]

    def stop(self) -> None:
        if self.local is not None:
            return
        for p in self.processes:
            if p.is_alive():
                p.kill()
            p.join(5)
        # batches still queued for a killed worker must not hold the exit (feeder threads)
        for q in [*self.jobs, self.results]:
            q.cancel_join_thread()
            q.close()


def _write(build_dir: Path, items, dedupe: Deduper, extractor: Extractor, procs: int, progress: bool,
           report: BuildReport, entities: bool = True, base=None, estimate: int | None = None) -> dict:
    """Stream ``items`` (records and problems) into segments of ``build_dir``, on top
    of the generation ``base`` when adding; returns the facet labels."""
    labels: dict[str, dict[str, dict[str, str]]] = {name: {} for name in FACET_NAMES}
    if base is not None:
        _link_generation(base.path, build_dir)
        for facet, values in base.labels.items():
            labels.setdefault(facet, {}).update(values)  # the base's labels, as they are
        base_count = base.doc_count
        ix = whoosh_index.open_dir(str(build_dir))
    else:
        base_count = 0
        ix = whoosh_index.create_in(str(build_dir), build_schema())
    writer = SegmentWriter(ix, codec=IndexCodec())  # holds the lock; its own segment stays empty
    bar = None
    if progress:
        from tqdm import tqdm

        # moves per document the workers finish; the total (for the ETA) is the sources'
        # line count, so duplicates and skipped lines end the bar a little short of it
        bar = tqdm(total=estimate, unit="doc", desc="indexing", file=sys.stderr, mininterval=0.5, smoothing=0.1)
    # The gazetteer trie, the tagger's tables and Whoosh's posting pool are millions of
    # live objects that the cyclic garbage collector would walk again and again (and, in
    # forked workers, copy page by page): frozen, they are out of its sight.
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    workers = _Workers(procs, str(build_dir), extractor, entities)
    shown = 0

    def tick() -> None:
        nonlocal shown
        if bar is not None:
            now = workers.done_count()
            if now > shown:
                bar.update(now - shown)
                shown = now

    try:
        seq = sent = 0
        batch: list = []
        for item in items:
            if isinstance(item, Problem):
                report.note(item)
                continue
            keys = dedupe.admit(item, seq)
            if keys is None:
                continue
            if item.date and parse_date(item.date) is None:
                report.note(Problem(item.origin, f"date not understood: {item.date[:40]!r} (id {item.id}), "
                                                 "taken from the text if it has one", fatal=False))
            batch.append((seq, item, keys))
            seq += 1
            # the first batches are small, so a handful of records still reaches every worker
            if len(batch) >= min(BATCH, sent + 1):
                workers.send(sent, batch)
                sent += 1
                batch = []
                tick()
        if batch:
            workers.send(sent, batch)
        results = workers.finish(tick)
        tick()
        segments, docnum_of_seq = [], {}
        offset = base_count
        for r in results:
            report.extract_seconds += r["extract_seconds"]
            merge_labels(labels, r["labels"])
            segments += r["segments"]
            if dedupe.replaced_seqs:
                docnum_of_seq.update((s, offset + i) for i, s in enumerate(r["seqs"]))
            offset += len(r["seqs"])
        report.indexed = offset - base_count
        writer.commit(mergetype=lambda _writer, existing: existing + segments)
        deleted = dedupe.replaced_docnums + [docnum_of_seq[s] for s in dedupe.replaced_seqs]
        report.indexed -= len(dedupe.replaced_seqs)
        report.replaced = len(dedupe.replaced_docnums)
        _delete_and_merge(whoosh_index.open_dir(str(build_dir)), deleted)
        save_tables(build_dir, labels)
    except BaseException:
        with contextlib.suppress(Exception):  # the build folder goes anyway; keep the first error
            writer.cancel()
        raise
    finally:
        workers.stop()
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        if bar is not None:
            bar.close()
    return labels


def _write_shards(build_dir: Path, paths: list[Path], shards: int, dedupe: Deduper, extractor: Extractor,
                  procs: int, progress: bool, report: BuildReport, entities: bool, ray_address: str | None = None,
                  base=None) -> dict:
    """A sharded generation in ``build_dir``: one pass deduplicates every source (and
    reports their problems), then each shard ``s0`` .. is written from the sources
    again, its articles only (``build_shard``): one after the other here, or as Ray tasks
    across the cluster at ``ray_address`` (``build_dir`` on a path every node reaches).
    With ``base`` (an ``--add``; its keys are in ``dedupe``), each shard is its base
    shard plus its new articles, and a shard with none is its base's files, linked.
    Returns the labels of all of them."""
    admitted: list[set[int]] = [set() for _ in range(shards)]
    for position, item in enumerate(read_sources(paths)):
        if isinstance(item, Problem):
            report.note(item)
        elif dedupe.admit(item, position) is not None:
            admitted[shard_of(item.id, shards)].add(position)
    bases = [None if base is None else base.path / shard_name(k) for k in range(shards)]
    if base is not None:
        for k in [k for k, positions in enumerate(admitted) if not positions]:
            (build_dir / shard_name(k)).mkdir()
            _link_generation(bases[k], build_dir / shard_name(k), everything=True)
    jobs = [(paths, positions, build_dir / shard_name(k), procs, entities, bases[k])
            for k, positions in enumerate(admitted) if positions or base is None]
    if ray_address:
        import ray  # noqa: PLC0415 - only a cluster build needs it

        if not ray.is_initialized():
            ray.init(address=ray_address, log_to_driver=False)
        task = ray.remote(num_cpus=procs, max_retries=1)(build_shard)
        results = ray.get([task.remote(*job) for job in jobs])
    else:
        results = [build_shard(*job, extractor=extractor, progress=progress) for job in jobs]
    labels: dict[str, dict[str, dict[str, str]]] = {name: {} for name in FACET_NAMES}
    if base is not None:
        merge_labels(labels, base.labels)
    for job, (shard_labels, shard_report) in zip(jobs, results):
        name = job[2].name
        report.problems += [f"{name}: {p}" for p in shard_report.problems][:MAX_REPORTED - len(report.problems)]
        report.indexed += shard_report.indexed
        report.replaced += shard_report.replaced
        report.extract_seconds += shard_report.extract_seconds
        report.warnings.update(shard_report.warnings)
        merge_labels(labels, shard_labels)
    save_manifest(build_dir, shards, labels)
    return labels


def build_shard(paths: list[Path], positions: set[int], shard_dir: Path, procs: int, entities: bool,
                base: Path | None = None, extractor: Extractor | None = None,
                progress: bool = False) -> tuple[dict, BuildReport]:
    """Write one shard: the articles at ``positions`` of the sources (what the sharded
    build's deduplication admitted for it) into ``shard_dir``, a complete generation
    with its tables and labels — on top of the shard generation ``base`` (an ``--add``:
    an id it holds is replaced). Returns (labels, its report)."""
    from search.index import open_generation

    def records():
        for position, item in enumerate(read_sources(paths)):
            if position in positions:
                yield item

    shard_dir.mkdir()
    report = BuildReport()
    dedupe = Deduper(report)
    base_gen = None
    if base is not None:
        base_gen = open_generation(base)
        dedupe.load(base_gen.store.keys(), base_gen.store.live())
    try:
        labels = _write(shard_dir, records(), dedupe, extractor or Extractor(), procs, progress, report,
                        entities, base_gen, len(positions) if progress else None)
    finally:
        if base_gen is not None:
            base_gen.close()
    (shard_dir / store.LABELS_FILE).write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
    return labels, report


def merge_label(labels: dict[str, dict], name: str, label: dict) -> None:
    """Add ``label`` (``{"ar", "en", "aliases"?, "type"?}``) to a facet's labels: the same
    labels whichever article, worker or shard saw a value first — the English name that
    is not empty (the smaller of two), every alias once in sorted order, the smaller type
    — so one archive gives one set of labels (and of entity names) however it is split."""
    both = [x for x in (labels.get(name), label) if x is not None]
    ens = [x["en"] for x in both if x.get("en")]
    out = {"ar": label["ar"], "en": min(ens) if ens else ""}
    aliases = {a for x in both for a in x.get("aliases", ())}
    if aliases:
        out["aliases"] = sorted(aliases)
    types = [x["type"] for x in both if x.get("type")]
    if types:
        out["type"] = min(types)
    labels[name] = out


def merge_labels(into: dict[str, dict[str, dict]], labels: dict[str, dict[str, dict]]) -> None:
    """``merge_label`` every facet value's label of ``labels`` into ``into``."""
    for facet, values in labels.items():
        facet_labels = into.setdefault(facet, {})
        for name, label in values.items():
            merge_label(facet_labels, name, label)


def _document(rec: Record, ex, labels: dict) -> dict:
    """The Whoosh fields of one record; records each facet value's labels."""
    facet_values = {"outlet": [ex.outlet] if ex.outlet else [], "place": ex.places,
                    "actor": ex.actors, "country": ex.countries}
    for facet, values in facet_values.items():
        for e in values:
            label = {"ar": e.name, "en": e.en}
            # the gazetteer's spellings (what an entity with an English label has), so
            # a query of any of them finds the entity; not the common-word ones (~)
            aliases = [a for a in e.aliases if not a.startswith("~")] if e.en else []
            if aliases:
                label["aliases"] = aliases
            if facet == "actor":
                label["type"] = e.type
            if labels[facet].get(e.name) != label:
                merge_label(labels[facet], e.name, label)
    doc = {
        "id": rec.id,
        "title": rec.title,
        "title_exact": rec.title,
        "body": rec.body,
        "body_exact": rec.body,
        "root": JoinedText.of(rec.title, rec.body),  # its terms are the title's and the body's
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
