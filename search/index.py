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
from search.facets import FacetTable
from search.related import RelatedForms
from search.schema import FACET_NAMES, RANK_ONLY_FIELDS, SEARCH_FIELDS
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


def open_generation(path: Path) -> Generation:
    """Open the index generation at ``path`` and load its facet arrays and labels."""
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
    )


class IndexHandle:
    """The current generation of an index directory, reopened when a rebuild swaps it.

    ``get()`` costs one readlink when nothing changed. The previous generation is not
    closed: a request still using it finishes undisturbed.
    """

    def __init__(self, index_dir: Path | str):
        self.index_dir = Path(index_dir)
        self._gen: Generation | None = None
        self._target: str | None = None
        self._lock = threading.Lock()
        self._failed: str | None = None  # a target that failed to open
        self.error: str | None = None  # why, while an older generation serves

    def get(self) -> Generation:
        try:
            target = os.readlink(self.index_dir / store.CURRENT)
        except OSError:
            target = None
        if target is not None and target == self._target and self._gen is not None:
            return self._gen
        with self._lock:
            if target is not None and target == self._target and self._gen is not None:
                return self._gen
            if target is not None and target == self._failed:
                return self._gen  # already found unreadable: the previous one serves on
            try:
                path = store.current_generation(self.index_dir)  # raises a clear IndexUnavailable
                gen = open_generation(path)
            except store.IndexUnavailable as exc:
                if self._gen is None:
                    raise
                # a published generation that cannot be opened: keep serving the last good
                # one, and say so in /api/health
                self._failed, self.error = target, str(exc)
                return self._gen
            self._gen, self._target, self._failed, self.error = gen, target, None, None
            return self._gen
