"""Open index generations for reading and follow the ``current`` link across rebuilds."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh.util.times import datetime_to_long

from search import store
from search.arabic import ANALYSIS_VERSION
from search.facets import FacetTable
from search.postings import field_lengths
from search.related import RelatedForms, from_reader
from search.schema import FACET_NAMES, RANK_ONLY_FIELDS, SEARCH_FIELDS

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
    index: object
    searcher: object
    facets: dict[str, FacetTable]
    labels: dict[str, dict[str, dict[str, str]]]
    dates: np.ndarray  # int64 seconds per doc number; -1 = unknown (sort by date)
    lengths: dict[str, np.ndarray] = field(default_factory=dict)  # field -> length per doc (BM25)
    build: dict = field(default_factory=dict)
    _related: RelatedForms | None = field(default=None, repr=False)

    @property
    def doc_count(self) -> int:
        return self.searcher.doc_count_all()

    def related_forms(self) -> RelatedForms:
        """The 4-gram table of the stems (``search.related``), built the first time a
        query is ranked: ~1 s for the bench index, which nothing but ranking needs (not
        the index checks of ``mirsad index --unless-current`` and ``mirsad serve``)."""
        if self._related is None:
            self._related = from_reader(self.searcher.reader())
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
        self.searcher.close()


_EPOCH = datetime_to_long(datetime(1970, 1, 1))
_LOW, _HIGH = datetime_to_long(datetime(1900, 1, 1)), datetime_to_long(datetime(2100, 1, 1))


def _load_dates(reader) -> np.ndarray:
    """Seconds since 1970 (naive UTC) per doc number; -1 where the date is unknown.

    Read segment by segment: a segment none of whose documents has a date has no date
    column, and Whoosh's multi-segment column reader then skips it, shifting every
    later document's date."""
    out = np.full(reader.doc_count_all(), -1, dtype=np.int64)
    for sub, offset in reader.leaf_readers():
        if not sub.has_column("date"):
            continue
        for i, value in enumerate(sub.column_reader("date", translate=False)):
            value = int(value)  # Python ints: whoosh's longs overflow int64 arithmetic
            if _LOW <= value <= _HIGH:
                out[offset + i] = (value - _EPOCH) // 1_000_000
    return out


def open_generation(path: Path) -> Generation:
    """Open the Whoosh index at ``path`` and load its facet arrays and labels."""
    try:
        ix = whoosh_index.open_dir(str(path))
    except Exception as exc:  # whoosh raises several types for missing/corrupt files
        raise store.IndexUnavailable(f"cannot open the index in {path}: {exc}. Rebuild it with `make index`") from exc
    searcher = ix.searcher()  # ranking is done in numpy (search.postings); Whoosh only reads
    reader = searcher.reader()
    facets = {name: FacetTable.from_reader(reader, name) for name in FACET_NAMES}
    dates = _load_dates(reader)
    return Generation(
        path=path,
        index=ix,
        searcher=searcher,
        facets=facets,
        labels=store.read_json(path, store.LABELS_FILE),
        dates=dates,
        lengths=field_lengths(reader, [*SEARCH_FIELDS, *RANK_ONLY_FIELDS]),
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
            path = store.current_generation(self.index_dir)  # raises a clear IndexUnavailable
            self._gen = open_generation(path)
            self._target = target
            return self._gen
