"""Related forms: the stems of an index's vocabulary spelled most like a query word's stem.

Snowball keeps apart forms a reader takes for one word: derivations (``متزايد`` /
``يتزايد``, ``اعتقد`` / ``يعتقد``), spellings (``مستحث`` / ``مستحاث``), nisbas (``نورمان`` /
``نورماني``). Roots join some of them (``عقد``) but join far too much to be trusted alone,
and miss others (``زايد`` / ``زيد``). A related form shares most of its character 4-grams with
the word's stem (Dice coefficient, the stems padded with ``#``): at least ``MIN_DICE``,
the ``TOP`` closest, for stems of ``MIN_LENGTH`` letters or more.

Ranking counts a related form as a weaker occurrence of the word it is related to: its
frequencies join the word's BM25F sum times ``weight(dice)``, and the word keeps its own
IDF (``search.postings.bm25f_scores``). Like the roots, a related form adds to the score
of a document the query matches and never decides what matches: ``حلب`` does not find an
article that has only ``حلبة``.

The table is built from the stemmed body field's lexicon when an index generation is
published (~1 s for the 170,000 stems of the bench corpora) and saved beside its segments
(``save``: numpy arrays and two word lists); a server maps it (``load``) the first time it
ranks a query, so the first query after a swap costs what any query costs. A generation
without the files (an older build) builds the table on its first ranked query instead.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from search.store import fresh_file, mapped_array

GRAM = 4
MIN_DICE = 0.4
TOP = 5
MIN_LENGTH = 4
# A related form with Dice d counts as min(1, WEIGHT * d) occurrences of the word: never
# more than the word itself. Chosen on the ARCD train split (README "Retrieval quality").
WEIGHT = 2.0
_CACHE_LIMIT = 20_000
FILES = ("related-terms.txt", "related-grams.txt", "related-sizes.npy", "related-starts.npy", "related-members.npy")


def weight(dice: float) -> float:
    """How much one occurrence of a related form counts, as a share of the word's own."""
    return min(1.0, WEIGHT * dice)


def grams(term: str) -> set[str]:
    """The character 4-grams of a stem padded with ``#`` at both ends."""
    padded = f"#{term}#"
    return {padded[i:i + GRAM] for i in range(len(padded) - GRAM + 1)}


class Positions:
    """Where each word of a list is: by bisection when the list is sorted (the terms of
    a lexicon, and the grams as ``save`` writes them), else by a dict built on first use
    (a table an older build saved). Loading a table then builds no dict: a dict of the
    bench's 170,000 stems and 120,000 grams took half a second of every CLI call."""

    def __init__(self, words: list[str]):
        self.words = words
        self._sorted = words == sorted(words)
        self._dict: dict[str, int] | None = None

    def get(self, word: str, default: int | None = None) -> int | None:
        if self._sorted:
            i = bisect_left(self.words, word)
            return i if i < len(self.words) and self.words[i] == word else default
        if self._dict is None:
            self._dict = {w: i for i, w in enumerate(self.words)}
        return self._dict.get(word, default)

    def __len__(self) -> int:
        return len(self.words)


@dataclass
class RelatedForms:
    """The 4-gram table of one vocabulary; ``of(stem)`` answers a query word."""

    terms: list[str]
    index: Positions  # term -> its number
    sizes: np.ndarray  # distinct grams per term
    rows: Positions  # gram -> row
    starts: np.ndarray  # row r holds members[starts[r]:starts[r + 1]]
    members: np.ndarray  # term numbers
    _cache: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_terms(cls, terms: list[str]) -> RelatedForms:
        rows: dict[str, int] = {}
        row_of, term_of, sizes = [], [], np.zeros(len(terms), dtype=np.int32)
        for number, term in enumerate(terms):
            gs = grams(term)
            sizes[number] = len(gs)
            for g in gs:
                row_of.append(rows.setdefault(g, len(rows)))
                term_of.append(number)
        gram_list = sorted(rows)  # rows numbered in gram order: ``Positions`` bisects them
        rank = np.zeros(len(rows), dtype=np.int32)
        rank[np.fromiter((rows[g] for g in gram_list), dtype=np.int64, count=len(rows))] = np.arange(len(rows))
        row_arr = rank[np.asarray(row_of, dtype=np.int64)] if row_of else np.zeros(0, dtype=np.int32)
        order = np.argsort(row_arr, kind="stable")
        starts = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_arr, minlength=len(rows)), out=starts[1:])
        return cls(terms=terms, index=Positions(terms), sizes=sizes, rows=Positions(gram_list),
                   starts=starts, members=np.asarray(term_of, dtype=np.int32)[order])

    def save(self, directory: Path) -> None:
        """Write the table into an index generation's directory (``FILES``)."""
        terms, grams_, sizes, starts, members = (fresh_file(Path(directory) / name) for name in FILES)
        terms.write_text("\n".join(self.terms), encoding="utf-8")
        grams_.write_text("\n".join(self.rows.words), encoding="utf-8")
        np.save(sizes, self.sizes)
        np.save(starts, self.starts)
        np.save(members, self.members)

    @classmethod
    def load(cls, directory: Path) -> RelatedForms | None:
        """The table ``save`` wrote (its arrays memory-mapped), or None when the
        directory has none."""
        paths = [Path(directory) / name for name in FILES]
        if not all(p.exists() for p in paths):
            return None
        terms = paths[0].read_text(encoding="utf-8").split("\n")
        gram_list = paths[1].read_text(encoding="utf-8").split("\n")
        return cls(terms=terms, index=Positions(terms),
                   sizes=mapped_array(paths[2]), rows=Positions(gram_list),
                   starts=mapped_array(paths[3]), members=mapped_array(paths[4]))

    def of(self, stem: str) -> tuple[tuple[str, float], ...]:
        """Up to ``TOP`` (related form, Dice) of ``stem``, closest first (ties in
        vocabulary order); the stem itself is never among them."""
        cached = self._cache.get(stem)
        if cached is not None:
            return cached
        out: tuple[tuple[str, float], ...] = ()
        gs = grams(stem)
        lists = [self.members[self.starts[r]:self.starts[r + 1]] for r in map(self.rows.get, gs) if r is not None]
        if len(stem) >= MIN_LENGTH and lists:
            numbers, shared = np.unique(np.concatenate(lists), return_counts=True)
            dice = 2 * shared / (len(gs) + self.sizes[numbers])
            own = self.index.get(stem)
            keep = (dice >= MIN_DICE) & (numbers != (-1 if own is None else own))
            numbers, dice = numbers[keep], dice[keep]
            best = np.lexsort((numbers, -dice))[:TOP]
            out = tuple((self.terms[numbers[i]], float(dice[i])) for i in best)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[stem] = out
        return out
