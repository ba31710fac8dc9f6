"""Open index generations for reading and follow the ``current`` link across rebuilds."""
from __future__ import annotations

import os
import threading
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
from search.spelling import MIN_DOCS, SMALL_INDEX, Speller
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
    labels: dict[str, dict[str, dict[str, str]]]
    dates: np.ndarray  # int64 seconds per doc number; -1 = unknown (sort by date)
    lengths: dict[str, np.ndarray] = field(default_factory=dict)  # field -> length per doc (BM25)
    build: dict = field(default_factory=dict)
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

    def related_forms(self) -> RelatedForms:
        """The 4-gram table of the stems (``search.related``), built the first time a
        query is ranked: ~1 s for the bench index, which nothing but ranking needs (not
        the index checks of ``mirsad index --unless-current`` and ``mirsad serve``)."""
        if self._related is None:
            self._related = RelatedForms.from_terms(self.store.terms("body"))
        return self._related

    def date_keys(self) -> DateKeys:
        """The documents' date-histogram buckets (``search.facets.DateKeys``)."""
        if self._date_keys is None:
            self._date_keys = DateKeys(self.dates)
        return self._date_keys

    def entity_names(self) -> EntityNames:
        """Every name, alias and English label of the places and actors (entity-aware
        search), built from the labels the first time a query asks."""
        if self._entity_names is None:
            self._entity_names = EntityNames.from_labels(self.labels)
        return self._entity_names

    def speller(self, wait: bool = False) -> Speller | None:
        """The spelling suggester of this generation's vocabulary. Building it takes a few
        seconds, longer than a request's budget, so the first call starts it in a thread
        and, unless ``wait``, returns None until it is ready: a request never waits."""
        if self._speller is None:
            self._speller = _SPELLERS.get(self.path.name)
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

    def _build_speller(self) -> None:
        # its own reader: requests go on using the generation's meanwhile
        own = WhooshStorage(self.path)
        try:
            speller = Speller.from_counts(own.term_counts("body_exact"),
                                          MIN_DOCS if own.live_count >= SMALL_INDEX else 1)
        finally:
            own.close()
        with _SPELLER_LOCK:
            if len(_SPELLERS) >= 2:  # this generation's and the previous one's
                _SPELLERS.pop(next(iter(_SPELLERS)))
            _SPELLERS[self.path.name] = speller
        self._speller = speller

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
_SEGMENT_SUFFIXES = {".seg", ".toc"}  # what Whoosh maps or reads of a generation


def open_generation(path: Path) -> Generation:
    """Open the index generation at ``path`` and load its facet arrays and labels."""
    files = {p.name: p.stat().st_size for p in path.iterdir() if p.suffix in _SEGMENT_SUFFIXES}
    try:
        storage = WhooshStorage(path)
    except StorageError as exc:
        raise store.IndexUnavailable(f"cannot open the index generation {path.name}: {exc}. "
                                     "Rebuild it with `make index`") from exc
    return Generation(
        path=path,
        store=storage,
        facets={name: FacetTable.from_docs(storage.facet_docs(name)) for name in FACET_NAMES},
        labels=store.read_json(path, store.LABELS_FILE),
        dates=storage.dates(),
        lengths={name: storage.field_lengths(name) for name in [*SEARCH_FIELDS, *RANK_ONLY_FIELDS]},
        build=store.read_json(path, store.BUILD_FILE),
        files=files,
    )


class IndexHandle:
    """The current generation of an index directory, reopened when a rebuild swaps it.

    ``get()`` costs one readlink and a stat of each segment file when nothing changed.
    The previous generation is not closed: a request still using it finishes undisturbed.
    A generation whose files changed while open (``Generation.damage``) is never read
    again: the newest other generation that opens intact serves instead, and ``error``
    (what ``/api/health`` reports) says why.
    """

    def __init__(self, index_dir: Path | str):
        self.index_dir = Path(index_dir)
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
            failure = None
            if target is None or (target != self._failed and target not in self._damaged):
                try:
                    path = store.current_generation(self.index_dir)  # raises a clear IndexUnavailable
                    gen = open_generation(path)
                except store.IndexUnavailable as exc:
                    # a published generation that cannot be opened: the last good one
                    # serves on, and /api/health says why
                    failure = exc
                    if self._gen is None and not self._damaged:
                        raise  # nothing served yet: the reason, as it is
                    self._failed, self.error = target, str(exc)
                else:
                    self._gen, self._target, self._failed, self.error = gen, target, None, None
                    return gen
            if self._gen is None:
                self._gen = self._fallback(exclude=self._damaged | {target})
                if self._gen is None:
                    raise store.IndexUnavailable(f"{self.error}; no other generation opens. "
                                                 "Rebuild it with `make index`") from failure
            self._target = target
            return self._gen

    def _fallback(self, exclude: set) -> Generation | None:
        """The newest other generation of the directory that opens intact, or None."""
        for path in sorted(self.index_dir.glob("gen-*"), key=lambda p: p.name, reverse=True):
            if path.name in exclude or not path.is_dir():
                continue
            try:
                gen = open_generation(path)
            except store.IndexUnavailable:
                continue
            if gen.damage() is None:
                return gen
            gen.close()
        return None

