"""Facet counting with per-document ordinals held in numpy arrays.

A ``FacetTable`` is built once per index generation from the postings of a facet field
(``Storage.facet_docs``).
Counting the facet values of any set of documents is then one ``bincount`` over the
(doc, value) pairs whose doc is in the set: no Python loop over hits, no stored fields.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
