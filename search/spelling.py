"""Spelling suggestions: the closest frequent indexed word for a query word the index lacks.

SymSpell (symspellpy) looks a word up in time independent of the vocabulary's size: it
indexes every word by the strings left after deleting up to ``MAX_EDITS`` of the first
``PREFIX`` letters, and a lookup only deletes letters from the query word. Whoosh's own
corrector walks the whole term graph per word (about a second each on the bench index),
which is what let one misspelled query hold a worker for a minute.

The vocabulary is the folded, unstemmed forms of the body (``body_exact``) seen in at
least ``MIN_DOCS`` documents (any, in an index under ``SMALL_INDEX`` documents): a form
seen once in a large archive is as likely a typo as a word.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from search.store import fresh_file

MAX_EDITS = 2
PREFIX = 7
MIN_DOCS = 3
SMALL_INDEX = 1000  # documents: in a smaller index a word seen once is all there is to go on
MIN_LENGTH = 3  # shorter words have too many neighbours at two edits to guess from
FILE = "table-speller.pickle"  # saved with a generation: loading it is ~5x faster than building it


@dataclass
class Speller:
    """The closest frequent word of a vocabulary, by edit distance, then frequency."""

    _symspell: object
    words: int

    @classmethod
    def from_counts(cls, counts: Iterable[tuple[str, int]], min_docs: int = MIN_DOCS) -> "Speller":
        """From (word, documents containing it) pairs; words in fewer than ``min_docs``
        documents and shorter words are left out."""
        from symspellpy import SymSpell  # imported here: only a query that found nothing needs it

        sym = SymSpell(max_dictionary_edit_distance=MAX_EDITS, prefix_length=PREFIX)
        n = 0
        for word, docs in counts:
            if docs >= min_docs and len(word) >= MIN_LENGTH:
                sym.create_dictionary_entry(word, docs)
                n += 1
        return cls(sym, n)

    def save(self, directory: Path) -> None:
        self._symspell.save_pickle(str(fresh_file(Path(directory) / FILE)), compressed=False)

    @classmethod
    def load(cls, directory: Path) -> "Speller | None":
        """The speller ``save`` wrote with an index generation (its own files: trusted
        like the segments, which Whoosh pickles too), or None."""
        from symspellpy import SymSpell

        path = Path(directory) / FILE
        if not path.exists():
            return None
        sym = SymSpell(max_dictionary_edit_distance=MAX_EDITS, prefix_length=PREFIX)
        try:
            if not sym.load_pickle(str(path), compressed=False):
                return None
        except Exception:  # noqa: BLE001 - an unreadable file: build it instead
            return None
        return cls(sym, len(sym.words))

    def closest(self, word: str) -> str | None:
        """The vocabulary's word nearest ``word`` (fewest edits, then most documents),
        or None when none is within ``MAX_EDITS`` or the word is too short to guess."""
        from symspellpy import Verbosity

        if len(word) < MIN_LENGTH:
            return None
        found = self._symspell.lookup(word, Verbosity.TOP, max_edit_distance=MAX_EDITS)
        return found[0].term if found and found[0].term != word else None
