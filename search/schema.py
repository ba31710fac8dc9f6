"""The index schema and the one list of facet definitions."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from whoosh.codec.whoosh3 import W3Codec
from whoosh.columns import FixedBytesColumn
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Frequency, Positions
from whoosh.system import pack_uint

from search import term_ids
from search.arabic import ArabicTokenizer, exact_analyzer, root_analyzer, stem_analyzer
from search.codec import GroupedFieldWriter


@dataclass(frozen=True)
class Facet:
    """A facet: its index field (also its URL parameter), its display names, and the key
    of a hit or document holding its values (a list of entities; None: one ``name`` value)."""

    name: str
    label_ar: str
    label_en: str
    key: str | None = None
    on_hits: bool = True  # each hit shows its values (the document page shows all facets)
    heading_ar: str = ""  # the document page's heading of its values


# Order is display order. Each facet is a keyword field holding canonical Arabic names.
FACETS: tuple[Facet, ...] = (
    Facet("outlet", "المصدر", "Outlet"),
    Facet("place", "المكان", "Place", "places", heading_ar="الأماكن"),
    Facet("actor", "الفاعل", "Actor", "actors", heading_ar="الفاعلون"),
    Facet("country", "الدولة", "Country", "countries", on_hits=False, heading_ar="الدول"),
)
FACET_NAMES = tuple(f.name for f in FACETS)

# Separator of multi-valued facet fields (Arabic names hold spaces, never commas).
FACET_SEP = ","

# Text fields searched by a query, and their BM25F weights (tuned on the ARCD train
# split: see README "Retrieval quality"). A field's weight multiplies its term
# frequencies; fields analysed alike form a group (their terms are the same words) and
# each group's score has a weight: the exact-form group adds to a stem match, so an
# article with the very form searched ranks above one with another form of the word.
SEARCH_FIELDS = {"title": 5.0, "body": 1.0, "title_exact": 5.0, "body_exact": 1.0}
# The root field (title and body, ISRI roots) is not searched: a document matches by its
# stems and exact forms, and a root shared with a query word only adds to its score.
RANK_ONLY_FIELDS = {"root": 1.0}
SCORE_GROUPS = {"title": ("stem", 1.0), "body": ("stem", 1.0),
                "title_exact": ("exact", 0.5), "body_exact": ("exact", 0.5), "root": ("root", 0.5)}
# The group whose words gain their related forms in ranking (search.related).
STEM_GROUP = "stem"


def _one_pass(value, analyzer, kwargs) -> bool:
    return (isinstance(analyzer, ArabicTokenizer) and isinstance(value, str)
            and kwargs.get("mode", "index") == "index" and set(kwargs) <= {"mode"})


class ArabicPositions(Positions):
    """Whoosh's ``Positions``, the same postings byte for byte, computed in one pass
    (``search.term_ids``) when the analyzer is ours: Whoosh's path builds a Token per
    word and a generator per step, a fifth of indexing time."""

    def word_values(self, value, analyzer, **kwargs):
        if not _one_pass(value, analyzer, kwargs):
            return super().word_values(value, analyzer, **kwargs)
        return _word_values(self.term_columns(value, analyzer))

    def term_columns(self, value, analyzer) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """``word_values`` as arrays: (term ids of ``search.term_ids``, frequencies,
        weights, values), ordered by term id; None for a value the one-pass path does not
        take (``_one_pass``). An indexing worker files them as they are: a loop over a
        text's postings, with a tuple and an encoded term each, was a third of its time."""
        if not _one_pass(value, analyzer, {}):
            return None
        t, positions = term_ids.term_ids(value, _column(analyzer))
        starts, freqs = term_ids.grouped(t)
        values = np.empty(len(starts), dtype=object)
        once = freqs == 1  # most words of a text: their value is looked up, not pickled
        single, encoded = positions[starts[once]], _one_positions()
        if len(single) and single.max() < len(encoded):
            values[once] = encoded[single]
        else:
            values[once] = [self.encode([p]) for p in single.tolist()]
        many = np.flatnonzero(~once)
        if len(many):
            plist, encode = positions.tolist(), self.encode
            values[many] = [encode(plist[s:s + n]) for s, n in zip(starts[many].tolist(), freqs[many].tolist())]
        return t[starts], freqs, freqs * self.field_boost, values


def _column(analyzer) -> int:
    """The column of ``search.term_ids`` that holds an analyzer's terms."""
    return term_ids.ROOT if analyzer.roots else term_ids.STEM if analyzer.stemmed else term_ids.EXACT


def _word_values(columns) -> list[tuple[str, int, float, bytes]]:
    ids, freqs, weights, values = columns
    terms = term_ids.TERMS
    return [(terms[t], n, w, v) for t, n, w, v in zip(ids.tolist(), freqs.tolist(), weights.tolist(), values.tolist())]


@lru_cache(maxsize=1)
def _one_positions() -> np.ndarray:
    """Positions.encode([position]) of the first positions (a text's single-occurrence
    words are at these), as an array to gather from; made on first use, not when a search
    process imports the schema."""
    return np.array([Positions().encode([p]) for p in range(1 << 14)], dtype=object)


class ArabicFrequency(Frequency):
    """Whoosh's ``Frequency``, computed in one pass like ``ArabicPositions``."""

    def word_values(self, value, analyzer, **kwargs):
        if not _one_pass(value, analyzer, kwargs):
            return super().word_values(value, analyzer, **kwargs)
        return _word_values(self.term_columns(value, analyzer))

    def term_columns(self, value, analyzer) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """``word_values`` as arrays, as ``ArabicPositions.term_columns``."""
        if not _one_pass(value, analyzer, {}):
            return None
        t, _positions = term_ids.term_ids(value, _column(analyzer))
        starts, freqs = term_ids.grouped(t)
        if len(freqs) and freqs.max() >= len(_PACKED):
            values = np.array([pack_uint(n) for n in freqs.tolist()], dtype=object)
        else:
            values = _PACKED[freqs]
        return t[starts], freqs, freqs * self.field_boost, values


_PACKED = np.array([pack_uint(n) for n in range(64)], dtype=object)  # Frequency's value of the commonest frequencies


def _text(analyzer, stored: bool = False) -> TEXT:
    """A TEXT field whose postings are computed by the one-pass formats above:
    positions for the stemmed fields (phrases), frequencies for the exact ones."""
    field = TEXT(analyzer=analyzer, stored=stored, phrase=analyzer.stemmed)
    field.format = (ArabicPositions if analyzer.stemmed else ArabicFrequency)(field_boost=field.format.field_boost)
    return field


class IndexCodec(W3Codec):
    """Whoosh's default codec without per-block field-length statistics.

    Whoosh keeps them for its own block-max scoring; ranking here is BM25F over whole
    posting lists (``search.postings``), which reads per-document lengths instead. Skipping
    them saves a length lookup per posting, about a tenth of indexing time. Its field
    writer writes postings that arrive grouped by term in one go (``search.codec``).
    Segments pickle their codec, so this class must stay importable under this name."""

    length_stats = False

    def field_writer(self, storage, segment):
        return GroupedFieldWriter(self, storage, segment)


class StoredDate(DATETIME):
    """Whoosh's DATETIME, stored and kept as a column but not indexed: dates are filtered,
    sorted and counted from the column (``Storage.dates``), and the query parser takes no
    field or range syntax, so the field's terms (eight a document, an eighth of a segment's
    terms) were written and never read. Segments pickle their schema, so this class must
    stay importable under this name; an index built before it keeps its indexed dates."""

    indexed = False


KEYS_BYTES = 48  # three 16-byte hashes (``key_hash``)


def key_hash(text: str) -> bytes:
    """The 16-byte hash of an id, URL or body in the ``keys`` column, and what routes an id
    to its shard (``search.sharded.shard_of``)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def build_schema() -> Schema:
    """Stemmed and exact-form copies of title and body, their roots, facets and display
    fields."""
    stem, exact = stem_analyzer(), exact_analyzer()
    facet = dict(stored=True, commas=True, scorable=False, lowercase=False)
    return Schema(
        id=ID(stored=True, unique=True),
        title=_text(stem, stored=True),
        title_exact=_text(exact),  # phrases use the stemmed fields
        body=_text(stem, stored=True),
        body_exact=_text(exact),
        root=_text(root_analyzer()),  # title + body, for ranking only
        outlet=KEYWORD(**facet),
        place=KEYWORD(**facet),
        actor=KEYWORD(**facet),
        country=KEYWORD(**facet),
        date=StoredDate(stored=True, sortable=True),
        url=STORED(),
        author=STORED(),
        category=STORED(),
        mentions=STORED(),  # [[start, end, facet, value], ...] in the body, for the document page
        # id, URL and body hashes (indexer.build.record_keys): what `mirsad index --add`
        # checks new articles against; a column, so Whoosh keeps it aligned through merges
        keys=COLUMN(FixedBytesColumn(KEYS_BYTES, default=bytes(KEYS_BYTES))),
    )
