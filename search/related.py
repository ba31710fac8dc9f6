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

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from search.store import fresh_file

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


@dataclass
class RelatedForms:
    """The 4-gram table of one vocabulary; ``of(stem)`` answers a query word."""

    terms: list[str]
    index: dict[str, int]  # term -> its number
    sizes: np.ndarray  # distinct grams per term
    rows: dict[str, int]  # gram -> row
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
        row_arr = np.asarray(row_of, dtype=np.int32)
        order = np.argsort(row_arr, kind="stable")
        starts = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_arr, minlength=len(rows)), out=starts[1:])
        return cls(terms=terms, index={t: i for i, t in enumerate(terms)}, sizes=sizes, rows=rows,
                   starts=starts, members=np.asarray(term_of, dtype=np.int32)[order])

    def save(self, directory: Path) -> None:
        """Write the table into an index generation's directory (``FILES``)."""
        terms, grams_, sizes, starts, members = (fresh_file(Path(directory) / name) for name in FILES)
        terms.write_text("\n".join(self.terms), encoding="utf-8")
        gram_list = [""] * len(self.rows)
        for g, r in self.rows.items():
            gram_list[r] = g
        grams_.write_text("\n".join(gram_list), encoding="utf-8")
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
        return cls(terms=terms, index={t: i for i, t in enumerate(terms)},
                   sizes=np.load(paths[2], mmap_mode="r"), rows={g: i for i, g in enumerate(gram_list)},
                   starts=np.load(paths[3], mmap_mode="r"), members=np.load(paths[4], mmap_mode="r"))

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
