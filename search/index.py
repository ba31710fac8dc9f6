"""Open index generations for reading and follow the ``current`` link across rebuilds."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from search import store
from search.arabic import ANALYSIS_VERSION
from search.entity_names import EntityNames
from search.facets import DateKeys, FacetTable
from search.related import RelatedForms
from search.schema import FACET_NAMES, RANK_ONLY_FIELDS, SEARCH_FIELDS
from search.spelling import Speller, min_docs
from search.storage import Storage
from search.whoosh_storage import StorageError, WhooshStorage

# BM25F parameters and the coordination exponent (a document's score is multiplied by
# (query words it contains / query words) ** COORD): tuned on the ARCD train split,
# see README "Retrieval quality".
BM25_B = 1.0
BM25_K1 = 2.0
COORD = 0.7

STALE_ANALYSIS = ("the index was built with an older version of the Arabic analysis: some written forms "
                  "of words are not found until it is rebuilt (`make index`)")


@dataclass
class Generation:
    """One published index, opened with everything a query needs held in memory."""

    path: Path
    store: Storage
    facets: dict[str, FacetTable]
    labels: Mapping[str, dict[str, dict[str, str]]]  # store.Labels: a facet read on first use
    dates: np.ndarray  # int64 seconds per doc number; -1 = unknown (sort by date)
    lengths: dict[str, np.ndarray] = field(default_factory=dict)  # field -> length per doc (BM25)
    build: dict = field(default_factory=dict)
    # per doc number, where equal scores and equal dates place it (``id_order``), or None
    # (an index without the keys column): doc numbers
    order: np.ndarray | None = None
    _related: RelatedForms | None = field(default=None, repr=False)
    _speller: Speller | None = field(default=None, repr=False)
    _entity_names: EntityNames | None = field(default=None, repr=False)
    _speller_thread: threading.Thread | None = field(default=None, repr=False)
    _speller_pid: int = field(default=0, repr=False)
    _date_keys: DateKeys | None = field(default=None, repr=False)
    files: dict[str, int] = field(default_factory=dict)  # file name -> size when opened

    def damage(self) -> str | None:
        """What changed in the generation's files since it was opened (a segment file
        truncated or removed), or None. Whoosh reads segments through memory maps, and
        reading past a truncated file's end is SIGBUS, which no Python code can catch:
        this check (one stat a file) comes before each request's reads."""
        for name, size in self.files.items():
            try:
                now = os.stat(self.path / name).st_size
            except OSError:
                return f"{name} of generation {self.path.name} is gone"
            if now != size:
                return f"{name} of generation {self.path.name} changed size ({size:,} -> {now:,} bytes)"
        return None

    @property
    def doc_count(self) -> int:
        """Doc numbers in use (deleted documents keep theirs): the length of per-doc arrays."""
        return self.store.doc_count

    @property
    def live_count(self) -> int:
        """Documents a search can find."""
        return self.store.live_count

    @property
    def schema(self):
        return self.store.schema

    def doc_frequency(self, field_name: str, text: str) -> int:
        """Live documents holding the term."""
        return self.store.doc_frequency(field_name, text)

    def related_forms(self) -> RelatedForms:
        """The 4-gram table of the stems (``search.related``): the one saved with the
        generation when it was published, else built from its lexicon (~1 s on the bench
        index) the first time a query is ranked."""
        if self._related is None:
            self._related = RelatedForms.load(self.path) or RelatedForms.from_terms(self.store.terms("body"))
        return self._related

    def warm(self) -> None:
        """Load what the first queries need (related forms, entity names, labels, the date
        buckets, the speller's build) before the generation serves (``IndexHandle``)."""
        self.related_forms()
        self.entity_names()
        for facet in FACET_NAMES:  # each facet's labels, read on first use (``store.Labels``)
            self.labels.get(facet)
        self.date_keys().keys("month")
        for docnum in self.store.segment_starts():  # opens each segment's stored-field columns
            self.store.stored(docnum)
        self.speller(wait=True)

    def date_keys(self) -> DateKeys:
        """The documents' date-histogram buckets (``search.facets.DateKeys``)."""
        if self._date_keys is None:
            self._date_keys = DateKeys(self.dates)
        return self._date_keys

    def entity_names(self) -> EntityNames:
        """Every name, alias and English label of the places and actors (entity-aware
        search), built from the labels the first time a query asks."""
        if self._entity_names is None:
            self._entity_names = EntityNames.load(self.path) or EntityNames.from_labels(self.labels)
        return self._entity_names

    def speller(self, wait: bool = False) -> Speller | None:
        """The spelling suggester of this generation's vocabulary: the one published with
        it, memory-mapped at once. A generation without one (an older build) has it built:
        that takes seconds, longer than a request's budget, so the first call starts it in
        a thread and, unless ``wait``, returns None until it is ready."""
        if self._speller is None:
            self._speller = _SPELLERS.get(self.path.name)
        if self._speller is None and self._speller_thread is None:
            saved = Speller.load(self.path)  # memory-mapped: milliseconds, so no thread
            if saved is not None:
                self._keep_speller(saved)
        if self._speller is None:
            with _SPELLER_LOCK:
                # a thread started before a fork (gunicorn --preload) is not in the child
                if self._speller_thread is None or self._speller_pid != os.getpid():
                    self._speller_thread = threading.Thread(target=self._build_speller, daemon=True,
                                                            name="mirsad-speller")
                    self._speller_pid = os.getpid()
                    self._speller_thread.start()
            if wait:
                self._speller_thread.join()
        return self._speller

    def _build_speller(self) -> None:  # ``speller`` found none published with the generation
        self._keep_speller(self.compute_speller())

    def _keep_speller(self, speller: Speller) -> None:
        with _SPELLER_LOCK:
            if len(_SPELLERS) >= 2:  # this generation's and the previous one's
                _SPELLERS.pop(next(iter(_SPELLERS)))
            _SPELLERS[self.path.name] = speller
        self._speller = speller

    def compute_speller(self) -> Speller:
        """The speller of the generation's vocabulary, from its postings (~10 s on the
        bench index; ``save_tables`` saves it with the generation)."""
        return compute_speller(self.path)

    @property
    def analysis_current(self) -> bool:
        """Built with this version's analysis? Otherwise words whose stems changed since
        are not found in every form until the index is rebuilt."""
        return self.build.get("analysis") == ANALYSIS_VERSION

    def label(self, facet: str, value: str) -> dict[str, str]:
        """Display names of a facet value: {"ar", "en"}; the value itself when unknown."""
        return self.labels.get(facet, {}).get(value) or {"ar": value, "en": value}

    def close(self) -> None:
        self.store.close()


_SPELLER_LOCK = threading.Lock()
# Spellers by generation name, for every Generation object of this process: the server's
# master builds the current one's before forking (web.app), so its workers share it.
_SPELLERS: dict[str, Speller] = {}
_SEGMENT_SUFFIXES = {".seg", ".toc", ".npy"}  # what Whoosh maps or reads of a generation, and the mapped tables
TABLE_PREFIXES = ("table-", "related-")  # the tables a generation is published with (``save_tables``)
_LENGTH_FIELDS = (*SEARCH_FIELDS, *RANK_ONLY_FIELDS)


def open_generation(path: Path, tables: bool = True) -> Generation:
    """Open the index generation at ``path`` with its facet arrays, dates, field
    lengths and labels: memory-mapped from the tables it was published with, or (an
    older build, or ``tables=False``) computed from its postings — 9 s on the bench
    index, which is what a server's first query after a swap would wait for."""
    if (path / "shards.json").is_file():
        from search import sharded  # noqa: PLC0415 - it builds on this module

        return sharded.open_sharded(path)
    files = {p.name: p.stat().st_size for p in path.iterdir() if p.suffix in _SEGMENT_SUFFIXES}
    try:
        storage = WhooshStorage(path)
    except StorageError as exc:
        raise store.IndexUnavailable(f"cannot open the index generation {path.name}: {exc}. "
                                     "Rebuild it with `make index`") from exc
    loaded = _load_tables(path, storage.doc_count) if tables else None
    if loaded is None:
        loaded = ({name: FacetTable.from_docs(storage.facet_docs(name)) for name in FACET_NAMES},
                  storage.dates(), {name: storage.field_lengths(name) for name in _LENGTH_FIELDS})
    facets, dates, lengths = loaded
    order = _load_order(path, storage.doc_count) if tables else None
    return Generation(
        path=path,
        store=storage,
        facets=facets,
        labels=store.Labels(path),
        dates=dates,
        lengths=lengths,
        build=store.read_json(path, store.BUILD_FILE),
        order=order if order is not None else id_order(storage.keys()),
        files=files,
    )


def save_tables(path: Path, labels: dict) -> None:
    """Compute a finished build's tables from its postings and ``labels`` (what it will
    be published with) and save them beside its segments (facets, dates, field lengths,
    related forms, entity names, the speller): what ``open_generation`` maps and the first
    queries load instead of computing. Every way of publishing a generation calls this.

    The speller, about half of the time, is computed in a forked process beside the
    rest: the build's other core is idle by then."""
    speller = _beside(lambda: _save_speller(path), "the generation's speller")
    try:
        gen = open_generation(path, tables=False)
    except BaseException:
        speller(cancel=True)
        raise
    gen.labels = labels
    try:
        gen.store.save_frequent_postings()  # a merged segment's; the workers wrote the others'
        for name, table in gen.facets.items():
            table.save(path, name)
        for name in FACET_NAMES:
            store.fresh_file(path / store.facet_labels_file(name)).write_text(
                json.dumps(labels.get(name, {}), ensure_ascii=False), encoding="utf-8")
        arrays = [("dates", gen.dates), *((f"length-{f}", a) for f, a in gen.lengths.items())]
        if gen.order is not None:
            arrays.append(("order", gen.order))
        for name, array in arrays:
            np.save(store.fresh_file(path / f"table-{name}.npy"), array)
        gen.related_forms().save(path)
        gen.entity_names().save(path)
        speller()
    except BaseException:
        speller(cancel=True)
        raise
    finally:
        gen.close()


def compute_speller(path: Path) -> Speller:
    """The speller of the vocabulary of the generation at ``path``, from its postings."""
    own = WhooshStorage(path)  # its own reader: requests go on meanwhile
    try:
        return Speller.from_counts(own.term_counts("body_exact"), min_docs(own.live_count))
    finally:
        own.close()


def _save_speller(path: Path) -> None:
    compute_speller(path).save(path)


def _beside(task, what: str):
    """Start ``task()`` (computing ``what``) in a forked process; returns
    ``wait(cancel=False)``, which waits for it (raising when it failed) or, with
    ``cancel``, stops it. Where a process cannot fork one (not Linux, or a daemonic
    process), ``wait`` runs the task itself."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods() or multiprocessing.current_process().daemon:
        return lambda cancel=False: None if cancel else task()
    proc = multiprocessing.get_context("fork").Process(target=task, daemon=True)
    proc.start()

    def wait(cancel: bool = False) -> None:
        if cancel:
            proc.kill()
        proc.join()
        if not cancel and proc.exitcode != 0:
            raise RuntimeError(f"computing {what} failed (its process exited with {proc.exitcode})")

    return wait


def id_order(keys: list[bytes] | None) -> np.ndarray | None:
    """Each document's tie-break rank: the first 8 bytes of its id's hash (the ``keys``
    column), as int64. It depends on the id alone, so a document ranks among equals
    the same in every shard layout and every rebuild; None without keys."""
    if keys is None:
        return None
    return np.frombuffer(b"".join(k[:8] for k in keys), dtype=">i8").astype(np.int64)


def _load_order(path: Path, doc_count: int) -> np.ndarray | None:
    try:
        order = store.mapped_array(path / "table-order.npy")
    except (OSError, ValueError):
        return None
    return order if len(order) == doc_count else None


def _load_tables(path: Path, doc_count: int):
    """(facets, dates, lengths) as ``save_tables`` wrote them, or None when any is
    missing or was made for another number of documents."""
    facets = {}
    for name in FACET_NAMES:
        table = FacetTable.load(path, name)
        if table is None or (len(table.pair_doc) and int(table.pair_doc.max(initial=0)) >= doc_count):
            return None
        facets[name] = table
    try:
        dates = store.mapped_array(path / "table-dates.npy")
        lengths = {f: store.mapped_array(path / f"table-length-{f}.npy") for f in _LENGTH_FIELDS}
    except (OSError, ValueError):
        return None
    if len(dates) != doc_count or any(len(a) != doc_count for a in lengths.values()):
        return None
    return facets, dates, lengths


def _close_quietly(gen) -> None:
    try:
        gen.close()
    except Exception:  # noqa: BLE001 - closing what no longer serves: nothing to report to
        pass


class IndexHandle:
    """The current generation of an index directory, reopened when a rebuild swaps it.

    ``get()`` costs one readlink and a stat of each segment file when nothing changed.
    The previous generation is not closed: a request still using it finishes undisturbed.
    A generation whose files changed while open (``Generation.damage``) is never read
    again: the newest other generation that opens intact serves instead, and ``error``
    (what ``/api/health`` reports) says why.

    With ``warm`` (the server), a newly published generation is opened and warmed
    (``Generation.warm``) in a thread while the current one goes on serving, and swapped
    in when ready: no request waits for a generation to open.
    """

    # A generation swapped out is closed this long after (its files unmapped, in Ray mode its
    # actors stopped): longer than any request, export or document page holds it.
    RETIRE_S = 600.0

    def __init__(self, index_dir: Path | str, warm: bool = False, opener=None):
        self.index_dir = Path(index_dir)
        self.warm = warm
        self.retire_after = self.RETIRE_S
        self.open = opener or open_generation  # a generation's path -> the generation (``search.cluster``'s in Ray mode)
        self._warming: str | None = None  # the target a thread is opening
        self._gen: Generation | None = None
        self._target: str | None = None
        self._lock = threading.Lock()
        self._failed: str | None = None  # a target that failed to open
        self._damaged: set[str] = set()  # generations whose files changed while open
        self.error: str | None = None  # why, while an older generation serves

    def get(self) -> Generation:
        try:
            target = os.readlink(self.index_dir / store.CURRENT)
        except OSError:
            target = None
        gen = self._gen
        if target is not None and target == self._target and gen is not None and gen.damage() is None:
            return gen
        with self._lock:
            if self._gen is not None and (damage := self._gen.damage()) is not None:
                # its files changed under it (reading on could be SIGBUS): never again
                self._damaged.add(self._gen.path.name)
                self._gen, self.error = None, damage
            if self._gen is not None and target == self._target:
                return self._gen
            if (self.warm and self._gen is not None and target is not None
                    and target != self._failed and target not in self._damaged):
                if self._warming != target:
                    self._warming = target
                    threading.Thread(target=self._open_warm, args=(target,), daemon=True,
                                     name=f"mirsad-open-{target}").start()
                return self._gen  # serves on until the new one is ready
            failure = None
            if target is None or (target != self._failed and target not in self._damaged):
                try:
                    path = store.current_generation(self.index_dir)  # raises a clear IndexUnavailable
                    gen = self.open(path)
                except store.IndexUnavailable as exc:
                    # a published generation that cannot be opened: the last good one
                    # serves on, and /api/health says why
                    failure = exc
                    if self._gen is None and not self._damaged:
                        raise  # nothing served yet: the reason, as it is
                    self._failed, self.error = target, str(exc)
                else:
                    self._retire(self._gen)
                    self._gen, self._target, self._failed, self.error = gen, target, None, None
                    return gen
            if self._gen is None:
                self._gen = self._fallback(exclude=self._damaged | {target})
                if self._gen is None:
                    raise store.IndexUnavailable(f"{self.error}; no other generation opens. "
                                                 "Rebuild it with `make index`") from failure
            self._target = target
            return self._gen

    @property
    def opening(self) -> str | None:
        """The generation being opened and warmed, if any (``/api/health`` says it)."""
        return self._warming

    def _open_warm(self, target: str) -> None:
        """Open and warm the generation ``target`` names, then make it the current one."""
        try:
            gen = self.open(self.index_dir / target)
            gen.warm()
        except Exception as exc:  # noqa: BLE001 - any failure: the current generation serves on, health says why
            with self._lock:
                self._failed, self.error, self._warming = target, str(exc), None
            return
        with self._lock:
            self._retire(self._gen)
            self._gen, self._target, self._failed, self.error = gen, target, None, None
            self._warming = None

    def _retire(self, gen: Generation | None) -> None:
        """Close a generation that no longer serves once ``retire_after`` has passed, so a
        server that sees daily rebuilds does not keep every generation it ever opened."""
        if gen is None:
            return
        timer = threading.Timer(self.retire_after, _close_quietly, args=(gen,))
        timer.daemon = True
        timer.start()

    def _fallback(self, exclude: set) -> Generation | None:
        """The newest other generation of the directory that opens intact, or None."""
        for path in sorted(self.index_dir.glob("gen-*"), key=lambda p: p.name, reverse=True):
            if path.name in exclude or not path.is_dir():
                continue
            try:
                gen = self.open(path)
            except store.IndexUnavailable:
                continue
            if gen.damage() is None:
                return gen
            gen.close()
        return None

