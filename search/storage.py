"""What the search engine needs from an index generation, and nothing about how it is stored.

Engine, facets, related forms, snippets and generation loading read an index only
through ``Storage``; the one implementation, ``search.whoosh_storage.WhooshStorage``,
holds every line that knows Whoosh's readers, matchers and segment layout (its writing
half is ``search.schema`` / ``search.codec``, whose class names Whoosh pickles into each
index). A sharded or remote index is another implementation of the same protocol.

Doc numbers are dense integers ``0 .. doc_count - 1`` for the generation's lifetime;
a deleted document keeps its number but is absent from ``live`` and from every posting.
"""
from __future__ import annotations

from typing import Iterator, Protocol

import numpy as np


class Storage(Protocol):
    schema: object  # the field definitions the query parser analyses with

    @property
    def doc_count(self) -> int:
        """Doc numbers in use, deleted ones included (the length of every per-doc array)."""

    @property
    def live_count(self) -> int:
        """Documents not deleted: the N of IDF."""

    def live(self) -> np.ndarray | None:
        """Boolean mask of the documents not deleted, or None when nothing is deleted."""

    def postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(doc numbers int64 ascending, term frequencies float32) of a term; live docs only."""

    def doc_frequency(self, field: str, text: str) -> int:
        """How many live documents hold the term."""

    def docs_matching(self, query) -> np.ndarray:
        """Doc numbers matching a query node that needs positions (a phrase)."""

    def field_lengths(self, field: str) -> np.ndarray:
        """float32 length in terms of ``field`` per doc number (0 for deleted docs)."""

    def stored(self, docnum: int) -> dict:
        """The stored fields of a document."""

    def docnum(self, doc_id: str) -> int | None:
        """The doc number of a live document with this id, or None."""

    def facet_docs(self, field: str) -> Iterator[tuple[str, np.ndarray]]:
        """(value, doc numbers) for every value of a facet field, values in sorted order."""

    def dates(self) -> np.ndarray:
        """int64 seconds since 1970 (UTC) per doc number; -1 where unknown."""

    def terms(self, field: str) -> list[str]:
        """The vocabulary of a field, sorted."""

    def term_counts(self, field: str) -> Iterator[tuple[str, int]]:
        """(term, documents containing it) for every term of ``field``."""

    def segment_starts(self) -> list[int]:
        """The first doc number of each segment (a stored read there opens its files)."""

    def close(self) -> None:
        ...
