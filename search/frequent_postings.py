"""The postings of a segment's frequent terms as plain arrays, saved beside the segment.

Whoosh 3 stores a term's postings in blocks of 128, each a zlib-compressed pickle of the
doc deltas, the weights and, for the stemmed fields, every posting's positions. Ranking
needs only doc numbers and weights, yet reading a block decodes it all, which was most of
a query's time (README, Performance). For every term with more than
``MIN_POSTINGS`` postings in a segment (a block's worth), the doc numbers (int32,
segment-local, ascending) and weights (float32, the values Whoosh stores) are written once
— by a build worker, from the blocks as its codec makes them (``search.codec``), or at
publishing from the segment (a merged one) — and memory-mapped when the index opens:
reading such a term is two array slices.

Files: ``<segment id>.frequent-terms.txt`` (one ``field<TAB>term`` a line, sorted),
``.frequent-starts.npy`` (int64: term k holds items ``starts[k]:starts[k + 1]``),
``.frequent-docs.npy`` and ``.frequent-weights.npy``. A segment file is never rewritten,
so neither are these: a new generation links them with its segments.

Beside it, ``<segment id>.facet-values.npz`` holds the doc numbers of every facet value of
the segment, which publishing reads to build the facet tables instead of a Whoosh matcher
per value; queries never load it.
"""
from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from search.schema import FACET_NAMES, RANK_ONLY_FIELDS, SEARCH_FIELDS
from search.store import fresh_file, mapped_array

# The fields whose postings queries and facet tables read (the others' terms are not text)
FIELDS = frozenset((*SEARCH_FIELDS, *RANK_ONLY_FIELDS, *FACET_NAMES))
MIN_POSTINGS = 128  # Whoosh's block size: a term with more spans several blocks


def kept(field: str, postings: int) -> bool:
    """Whether a segment's table holds a term of ``field`` with this many postings."""
    return field in FIELDS and postings > MIN_POSTINGS


def wanted(field: str, postings: int) -> bool:
    """Whether ``save`` needs a term's postings: for the table, or as a facet value."""
    return field in _FACETS or kept(field, postings)


_FACETS = frozenset(FACET_NAMES)
_TABLE_SUFFIXES = (".frequent-terms.txt", ".frequent-starts.npy", ".frequent-docs.npy", ".frequent-weights.npy")
_FACET_SUFFIX = ".facet-values.npz"
SUFFIXES = (*_TABLE_SUFFIXES, _FACET_SUFFIX)  # a segment's files here


def term_text(term: bytes) -> str | None:
    """A term's text, or None for bytes that are no UTF-8 (no query can name them)."""
    try:
        return term.decode("utf-8")
    except UnicodeDecodeError:
        return None


def paths(directory: Path, segment_id: str) -> list[Path]:
    """The table's four files."""
    return [Path(directory) / (segment_id + suffix) for suffix in _TABLE_SUFFIXES]


def save(directory: Path, segment_id: str, terms: Iterable[tuple[str, str, np.ndarray, np.ndarray]]) -> None:
    """Write a segment's table from (field, term, doc numbers, weights), the terms in any
    order (only those ``kept`` are), and its facet values' file from the facet fields'
    terms. The terms file is written last: a table without it is incomplete and is read as
    none."""
    terms = list(terms)
    _save_facet_values(directory, segment_id, [(f, t, d) for f, t, d, _w in terms if f in _FACETS])
    held = sorted(((f, t, d, w) for f, t, d, w in terms if kept(f, len(d))), key=lambda x: (x[0], x[1]))
    starts, docs = _joined([d for _f, _t, d, _w in held], np.int32)
    weights = _joined([w for _f, _t, _d, w in held], np.float32)[1]
    terms_path, starts_path, docs_path, weights_path = paths(directory, segment_id)
    for path, array in ((starts_path, starts), (docs_path, docs), (weights_path, weights)):
        np.save(fresh_file(path), array)
    fresh_file(terms_path).write_text("".join(f"{f}\t{t}\n" for f, t, _d, _w in held), encoding="utf-8")


def _joined(arrays: list, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(starts, items): ``arrays`` one after the other, array k at ``starts[k]:starts[k + 1]``."""
    starts = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([len(a) for a in arrays], out=starts[1:])
    items = np.concatenate([np.asarray(a, dtype=dtype) for a in arrays]) if arrays else np.zeros(0, dtype)
    return starts, items


def _save_facet_values(directory: Path, segment_id: str, terms: list[tuple[str, str, np.ndarray]]) -> None:
    arrays = {}
    for field in FACET_NAMES:
        values = sorted((t, d) for f, t, d in terms if f == field)
        arrays[f"{field}-values"] = np.array([t for t, _d in values], dtype=str)
        arrays[f"{field}-starts"], arrays[f"{field}-docs"] = _joined([d for _t, d in values], np.int32)
    with fresh_file(Path(directory) / (segment_id + _FACET_SUFFIX)).open("wb") as f:
        np.savez(f, **arrays)


def load_facet_values(directory: Path, segment_id: str, field: str) -> list[tuple[str, np.ndarray]] | None:
    """(value, segment-local doc numbers) of every value of facet ``field`` in the
    segment, in value order; None when the segment has no such file (one written before
    it existed, or merged later)."""
    try:
        with np.load(Path(directory) / (segment_id + _FACET_SUFFIX), allow_pickle=False) as saved:
            values, starts, docs = (saved[f"{field}-{name}"] for name in ("values", "starts", "docs"))
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):  # missing or cut short
        return None
    bounds = starts.tolist()
    return [(v, docs[bounds[k]:bounds[k + 1]]) for k, v in enumerate(values.tolist())]


class FrequentPostings:
    """One segment's table, memory-mapped (``load``)."""

    def __init__(self, keys: dict[tuple[str, str], int], starts: np.ndarray, docs: np.ndarray, weights: np.ndarray):
        self._keys, self._starts, self._docs, self._weights = keys, starts, docs, weights

    @classmethod
    def load(cls, directory: Path, segment_id: str) -> FrequentPostings | None:
        """The segment's table, or None when it has none (or an incomplete one)."""
        terms_path, starts_path, docs_path, weights_path = paths(directory, segment_id)
        try:
            lines = terms_path.read_text(encoding="utf-8").splitlines()
            starts, docs, weights = (mapped_array(p) for p in (starts_path, docs_path, weights_path))
        except (OSError, ValueError):
            return None
        if len(starts) != len(lines) + 1 or len(docs) != len(weights) or (len(starts) and starts[-1] != len(docs)):
            return None
        keys = {tuple(line.split("\t", 1)): k for k, line in enumerate(lines)}
        return cls(keys, starts, docs, weights)

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(doc numbers, weights) of a frequent term of the segment; None for any other."""
        k = self._keys.get((field, text))
        if k is None:
            return None
        a, b = int(self._starts[k]), int(self._starts[k + 1])
        return self._docs[a:b], self._weights[a:b]
