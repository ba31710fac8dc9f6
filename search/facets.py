"""Facet counting with per-document ordinals held in numpy arrays.

A ``FacetTable`` is built once per index generation from the postings of a facet field
(``Storage.facet_docs``).
Counting the facet values of any set of documents is then one ``bincount`` over the
(doc, value) pairs whose doc is in the set: no Python loop over hits, no stored fields.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from search.store import fresh_file, mapped_array


# A mask holding fewer than one document in SPARSE is counted from its documents' pairs
SPARSE = 3
_ARRAY_SUFFIXES = (".doc.npy", ".value.npy", ".start.npy")  # a saved table's pair_doc, pair_value, value_start
_BY_DOC_SUFFIXES = (".bydoc-value.npy", ".bydoc-start.npy")  # and its pairs by document (``_by_doc``)


@dataclass
class FacetTable:
    """The (document, value) pairs of one facet field, as parallel arrays."""

    values: list[str]  # ordinal -> value
    ordinal: dict[str, int]  # value -> ordinal
    pair_doc: np.ndarray  # int32, one entry per (doc, value) pair, sorted by value
    pair_value: np.ndarray  # int32, same length
    value_start: np.ndarray  # docs of value v: pair_doc[value_start[v]:value_start[v + 1]]
    _doc_values: np.ndarray | None = field(default=None, repr=False)  # ``_by_doc``
    _doc_start: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_docs(cls, value_docs) -> "FacetTable":
        """From (value, doc numbers) pairs (``Storage.facet_docs``)."""
        values: list[str] = []
        docs: list[np.ndarray] = []
        for value, ids in value_docs:
            values.append(value)
            docs.append(np.asarray(ids, dtype=np.int32))
        lengths = np.array([len(d) for d in docs], dtype=np.int64)
        pair_doc = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int32)
        pair_value = np.repeat(np.arange(len(values), dtype=np.int32), lengths)
        value_start = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(lengths, out=value_start[1:])
        return cls(
            values=values,
            ordinal={v: i for i, v in enumerate(values)},
            pair_doc=pair_doc,
            pair_value=pair_value,
            value_start=value_start,
        )

    def save(self, directory: Path, name: str) -> None:
        """Write the table into an index generation's directory (``table-facet-<name>.*``)."""
        base = str(Path(directory) / f"table-facet-{name}")
        fresh_file(base + ".values.txt").write_text("\n".join(self.values), encoding="utf-8")
        for suffix, array in zip(_ARRAY_SUFFIXES + _BY_DOC_SUFFIXES,
                                 (self.pair_doc, self.pair_value, self.value_start, *self._by_doc())):
            np.save(fresh_file(base + suffix), array)

    @classmethod
    def load(cls, directory: Path, name: str) -> "FacetTable | None":
        """The table ``save`` wrote (arrays memory-mapped), or None when it is missing."""
        base = str(Path(directory) / f"table-facet-{name}")
        try:
            text = Path(base + ".values.txt").read_text(encoding="utf-8")
            arrays = [mapped_array(base + suffix) for suffix in _ARRAY_SUFFIXES]
        except (OSError, ValueError):
            return None
        values = text.split("\n") if text else []
        if len(arrays[2]) != len(values) + 1:
            return None
        table = cls(values=values, ordinal={v: i for i, v in enumerate(values)},
                    pair_doc=arrays[0], pair_value=arrays[1], value_start=arrays[2])
        try:  # an older build saved no pairs by document: ``_by_doc`` computes them then
            doc_values, doc_start = (mapped_array(base + suffix) for suffix in _BY_DOC_SUFFIXES)
            if len(doc_values) == len(table.pair_doc) and doc_start[-1] == len(doc_values):
                table._doc_values, table._doc_start = doc_values, doc_start
        except (OSError, ValueError):
            pass
        return table

    def docs_of(self, value: str) -> np.ndarray:
        """Doc numbers holding ``value`` (empty for an unknown value)."""
        v = self.ordinal.get(value)
        if v is None:
            return np.zeros(0, dtype=np.int32)
        return self.pair_doc[self.value_start[v] : self.value_start[v + 1]]

    def mask_any(self, selected: list[str], doc_count: int) -> np.ndarray:
        """Boolean mask of documents holding any of the selected values (OR)."""
        mask = np.zeros(doc_count, dtype=bool)
        for value in selected:
            mask[self.docs_of(value)] = True
        return mask

    def _by_doc(self) -> tuple[np.ndarray, np.ndarray]:
        """The pairs by document: (their values in document order, where each document's
        values start: document d's are ``values[start[d]:start[d + 1]]``, for documents up
        to the highest holding a value); published with the table, else computed once."""
        if self._doc_values is None:
            order = np.argsort(self.pair_doc, kind="stable")
            ends = np.bincount(self.pair_doc, minlength=1) if len(self.pair_doc) else np.zeros(1, dtype=np.int64)
            start = np.zeros(len(ends) + 1, dtype=np.int64)
            np.cumsum(ends, out=start[1:])
            self._doc_values, self._doc_start = np.asarray(self.pair_value)[order], start
        return self._doc_values, self._doc_start

    def count(self, mask: np.ndarray | None) -> np.ndarray:
        """Per-value document counts within ``mask`` (None = all documents)."""
        if mask is None:
            return np.bincount(self.pair_value, minlength=len(self.values))
        doc_values, doc_start = self._by_doc()
        docs = np.flatnonzero(mask[:len(doc_start) - 1])
        if len(docs) * SPARSE < len(mask):
            # few documents: only their pairs, found by document, instead of a pass over all
            first, lengths = doc_start[docs], doc_start[docs + 1] - doc_start[docs]
            at = np.repeat(first - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
            return np.bincount(doc_values[at], minlength=len(self.values))
        return np.bincount(self.pair_value[mask[self.pair_doc]], minlength=len(self.values))

    def top(self, counts: np.ndarray, size: int, always: list[str]) -> list[tuple[str, int]]:
        """The ``size`` most frequent values with a count, plus any ``always`` values
        (the user's selections stay visible even at count 0)."""
        nonzero = np.flatnonzero(counts)
        if len(nonzero) > size:
            # the size-th count, and every value above it or equal (values are in sorted
            # order, so ordinals break ties as the values' order does, as ``top_counts``)
            kth = -np.partition(-counts[nonzero], size - 1)[size - 1] if size else np.inf
            nonzero = nonzero[counts[nonzero] >= kth]
        best = nonzero[np.lexsort((nonzero, -counts[nonzero]))[:size]]
        out = [(self.values[v], int(counts[v])) for v in best.tolist()]
        return _with_selected(out, always, lambda value: int(counts[self.ordinal[value]]) if value in self.ordinal else 0)


def top_counts(counts: dict[str, int], size: int, always: list[str]) -> list[tuple[str, int]]:
    """``FacetTable.top`` of counts by value (a sharded generation's, added up): the same
    values in the same order."""
    best = heapq.nsmallest(size, ((-n, v) for v, n in counts.items() if n)) if size else []
    return _with_selected([(v, -n) for n, v in best], always, lambda value: counts.get(value, 0))


def _with_selected(out: list[tuple[str, int]], always: list[str], count_of) -> list[tuple[str, int]]:
    shown = {v for v, _ in out}
    return out + [(value, count_of(value)) for value in always if value not in shown]


# The date histogram: a facet over time. Dates are int64 UTC seconds per document (-1:
# unknown); a bucket is a day, a Monday-to-Sunday week, a calendar month or a year.
DAY_S = 86_400
MAX_BUCKETS = 400  # a finer interval asked for over a longer span is coarsened (and said so)
_SPAN_DAYS = (("day", 62), ("week", 7 * 40), ("month", 366 * 12), ("year", None))
_EPOCH = date(1970, 1, 1)


def bucket_keys(ts: np.ndarray, interval: str) -> np.ndarray:
    """The bucket ordinal of each timestamp (days, weeks, months or years since 1970)."""
    days = ts // DAY_S
    if interval == "day":
        return days
    if interval == "week":
        return (days + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Mondays
    unit = "M" if interval == "month" else "Y"
    return days.astype("datetime64[D]").astype(f"datetime64[{unit}]").astype(np.int64)


def bucket_start(key: int, interval: str) -> date:
    if interval == "day":
        return _EPOCH + timedelta(days=int(key))
    if interval == "week":
        return _EPOCH + timedelta(days=int(key) * 7 - 3)
    if interval == "month":
        return date(1970 + int(key) // 12, int(key) % 12 + 1, 1)
    return date(1970 + int(key), 1, 1)


def choose_interval(first: int, last: int) -> str:
    """The bucket for a span of dates: about 10 to 300 bars."""
    days = (last - first) / DAY_S
    for interval, limit in _SPAN_DAYS:
        if limit is None or days <= limit:
            return interval
    return "year"


@dataclass
class Histogram:
    """Counts per bucket: ``starts[i]`` .. ``ends[i]`` (inclusive days) hold ``counts[i]``."""

    interval: str
    requested: str | None  # the interval asked for, when it had to be coarsened
    starts: list[date]
    ends: list[date]
    counts: list[int]
    undated: int
    series: list[tuple[str | None, list[int]]]  # (facet value or None for the rest, counts per bucket)


class DateKeys:
    """Each document's bucket ordinal per interval, computed once per generation (the
    dates do not change) and on first use: a histogram is then a ``bincount``."""

    def __init__(self, dates: np.ndarray):
        self.dates = dates
        self.dated = dates >= 0
        self._keys: dict[str, np.ndarray] = {}

    def keys(self, interval: str) -> np.ndarray:
        out = self._keys.get(interval)
        if out is None:
            out = self._keys[interval] = bucket_keys(np.where(self.dated, self.dates, 0), interval)
        return out


@dataclass
class DayCounts:
    """How many documents of a set fall on each day (days since 1970, UTC), their first
    and last timestamps and how many have no date: what a histogram of the set needs,
    and what shards send to be added up (``merged``)."""

    days: np.ndarray  # int64 day numbers (a day may repeat: counts add up)
    counts: np.ndarray  # int64, parallel to days
    first: int  # the earliest timestamp, seconds (0 when none)
    last: int
    undated: int

    @classmethod
    def of(cls, dates: DateKeys, mask: np.ndarray) -> "DayCounts":
        dated_mask = mask & dates.dated
        undated = int(np.count_nonzero(mask)) - int(np.count_nonzero(dated_mask))
        day_keys = dates.keys("day")[dated_mask]
        if not len(day_keys):
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), 0, 0, undated)
        low = int(day_keys.min())
        counts = np.bincount(day_keys - low)
        days = np.flatnonzero(counts)
        ts = dates.dates[dated_mask]
        return cls(days + low, counts[days].astype(np.int64), int(ts.min()), int(ts.max()), undated)

    @classmethod
    def merged(cls, parts: list["DayCounts"]) -> "DayCounts":
        dated = [p for p in parts if len(p.days)]
        if not dated:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), 0, 0, sum(p.undated for p in parts))
        return cls(np.concatenate([p.days for p in dated]), np.concatenate([p.counts for p in dated]),
                   min(p.first for p in dated), max(p.last for p in dated), sum(p.undated for p in parts))


def date_histogram(dates: DateKeys, mask: np.ndarray, interval: str | None = None,
                   split: list[tuple[str, np.ndarray]] | None = None) -> Histogram:
    """The histogram of the documents in ``mask``; ``split``: (value, mask of its
    documents) pairs, each counted apart, plus a series of the documents in none."""
    series = None
    if split is not None:
        rest = mask.copy()
        series = []
        for value, vmask in split:
            series.append((value, DayCounts.of(dates, mask & vmask)))
            rest &= ~vmask
        series.append((None, DayCounts.of(dates, rest)))
    return histogram_of_days(DayCounts.of(dates, mask), interval, series)


def histogram_of_days(days: DayCounts, interval: str | None = None,
                      split: list[tuple[str | None, DayCounts]] | None = None) -> Histogram:
    """The histogram of ``days`` in ``interval`` buckets (chosen from the span when None,
    coarsened above ``MAX_BUCKETS``); ``split``: (value or None for the rest, its days)."""
    if not len(days.days):
        return Histogram(interval or "month", None, [], [], [], days.undated, [])
    chosen = interval or choose_interval(days.first, days.last)
    order = [name for name, _ in _SPAN_DAYS]
    keys = bucket_keys(days.days * DAY_S, chosen)
    while int(keys.max() - keys.min()) >= MAX_BUCKETS and chosen != "year":
        chosen = order[order.index(chosen) + 1]
        keys = bucket_keys(days.days * DAY_S, chosen)
    low, size = int(keys.min()), int(keys.max() - keys.min()) + 1
    starts = [bucket_start(low + i, chosen) for i in range(size + 1)]

    def counted(part: DayCounts) -> list[int]:
        if not len(part.days):
            return [0] * size
        return np.bincount(bucket_keys(part.days * DAY_S, chosen) - low, weights=part.counts,
                           minlength=size).astype(np.int64).tolist()

    return Histogram(
        interval=chosen,
        requested=interval if interval and interval != chosen else None,
        starts=starts[:-1],
        ends=[s - timedelta(days=1) for s in starts[1:]],
        counts=counted(days),
        undated=days.undated,
        series=[(value, counted(part)) for value, part in split or ()],
    )
