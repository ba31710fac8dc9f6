"""Facet counting with per-document ordinals held in numpy arrays.

A ``FacetTable`` is built once per index generation from the postings of a facet field
(``Storage.facet_docs``).
Counting the facet values of any set of documents is then one ``bincount`` over the
(doc, value) pairs whose doc is in the set: no Python loop over hits, no stored fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from search.store import fresh_file


_ARRAY_SUFFIXES = (".doc.npy", ".value.npy", ".start.npy")  # a saved table's pair_doc, pair_value, value_start


@dataclass
class FacetTable:
    """The (document, value) pairs of one facet field, as parallel arrays."""

    values: list[str]  # ordinal -> value
    ordinal: dict[str, int]  # value -> ordinal
    pair_doc: np.ndarray  # int32, one entry per (doc, value) pair, sorted by value
    pair_value: np.ndarray  # int32, same length
    value_start: np.ndarray  # docs of value v: pair_doc[value_start[v]:value_start[v + 1]]

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
        for suffix, array in zip(_ARRAY_SUFFIXES, (self.pair_doc, self.pair_value, self.value_start)):
            np.save(fresh_file(base + suffix), array)

    @classmethod
    def load(cls, directory: Path, name: str) -> "FacetTable | None":
        """The table ``save`` wrote (arrays memory-mapped), or None when it is missing."""
        base = str(Path(directory) / f"table-facet-{name}")
        try:
            text = Path(base + ".values.txt").read_text(encoding="utf-8")
            arrays = [np.load(base + suffix, mmap_mode="r") for suffix in _ARRAY_SUFFIXES]
        except (OSError, ValueError):
            return None
        values = text.split("\n") if text else []
        if len(arrays[2]) != len(values) + 1:
            return None
        return cls(values=values, ordinal={v: i for i, v in enumerate(values)},
                   pair_doc=arrays[0], pair_value=arrays[1], value_start=arrays[2])

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

    def count(self, mask: np.ndarray | None) -> np.ndarray:
        """Per-value document counts within ``mask`` (None = all documents)."""
        if mask is None:
            return np.bincount(self.pair_value, minlength=len(self.values))
        return np.bincount(self.pair_value[mask[self.pair_doc]], minlength=len(self.values))

    def top(self, counts: np.ndarray, size: int, always: list[str]) -> list[tuple[str, int]]:
        """The ``size`` most frequent values with a count, plus any ``always`` values
        (the user's selections stay visible even at count 0)."""
        nonzero = np.flatnonzero(counts)
        if len(nonzero) > size:
            part = np.argpartition(-counts[nonzero], size - 1)[:size]
            nonzero = nonzero[part]
        order = sorted(nonzero.tolist(), key=lambda v: (-int(counts[v]), self.values[v]))
        out = [(self.values[v], int(counts[v])) for v in order]
        shown = {v for v, _ in out}
        for value in always:
            if value not in shown:
                v = self.ordinal.get(value)
                out.append((value, int(counts[v]) if v is not None else 0))
        return out


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


def date_histogram(dates: DateKeys, mask: np.ndarray, interval: str | None = None,
                   split: list[tuple[str, np.ndarray]] | None = None) -> Histogram:
    """The histogram of the documents in ``mask``; ``split``: (value, mask of its
    documents) pairs, each counted apart, plus a series of the documents in none."""
    dated_mask = mask & dates.dated
    count = int(dated_mask.sum())
    undated = int(mask.sum()) - count
    if not count:
        return Histogram(interval or "month", None, [], [], [], undated, [])
    ts = dates.dates[dated_mask]
    chosen = interval or choose_interval(int(ts.min()), int(ts.max()))
    order = [name for name, _ in _SPAN_DAYS]
    keys = dates.keys(chosen)[dated_mask]
    while int(keys.max() - keys.min()) >= MAX_BUCKETS and chosen != "year":
        chosen = order[order.index(chosen) + 1]
        keys = dates.keys(chosen)[dated_mask]
    low, size = int(keys.min()), int(keys.max() - keys.min()) + 1
    starts = [bucket_start(low + i, chosen) for i in range(size + 1)]
    series = []
    if split is not None:
        all_keys, rest = dates.keys(chosen), dated_mask.copy()
        for value, vmask in split:
            series.append((value, np.bincount(all_keys[dated_mask & vmask] - low, minlength=size).tolist()))
            rest &= ~vmask
        series.append((None, np.bincount(all_keys[rest] - low, minlength=size).tolist()))
    return Histogram(
        interval=chosen,
        requested=interval if interval and interval != chosen else None,
        starts=starts[:-1],
        ends=[s - timedelta(days=1) for s in starts[1:]],
        counts=np.bincount(keys - low, minlength=size).tolist(),
        undated=undated,
        series=series,
    )
