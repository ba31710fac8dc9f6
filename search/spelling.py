"""Spelling suggestions: the closest frequent indexed word for a query word the index lacks.

SymSpell (symspellpy) looks a word up in time independent of the vocabulary's size: it
indexes every word by the strings left after deleting up to ``MAX_EDITS`` of the first
``PREFIX`` letters, and a lookup only deletes letters from the query word. Whoosh's own
corrector walks the whole term graph per word (about a second each on the bench index),
which is what let one misspelled query hold a worker for a minute.

The vocabulary is the folded, unstemmed forms of the body (``body_exact``) seen in at
least ``MIN_DOCS`` documents (any, in an index under ``SMALL_INDEX`` documents): a form
seen once in a large archive is as likely a typo as a word.

symspellpy keeps its tables in two dicts, which its pickle takes seconds to restore (every
CLI call with a misspelling waited for that). ``save`` writes them as sorted
arrays instead (the words, their counts; each delete's 64-bit hash and its words), and
``load`` hands symspellpy's own lookup read-only mappings over those arrays, memory-mapped:
the same suggestions, loaded in milliseconds and shared by every worker through the page
cache.
"""
from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.store import fresh_file, mapped_array

MAX_EDITS = 2
PREFIX = 7
MIN_DOCS = 3
SMALL_INDEX = 1000  # documents: in a smaller index a word seen once is all there is to go on
MIN_LENGTH = 3  # shorter words have too many neighbours at two edits to guess from


def min_docs(live_count: int) -> int:
    """How many documents a word needs to be in the vocabulary of an index of
    ``live_count`` documents: a rarer query word is one the speller may correct."""
    return MIN_DOCS if live_count >= SMALL_INDEX else 1


# saved with a generation (``Speller.save``); the words file is written last
FILES = ("table-speller-counts.npy", "table-speller-keys.npy", "table-speller-starts.npy",
         "table-speller-members.npy", "table-speller-words.txt")


def _key(delete: str) -> int:
    """A stable 64-bit hash of a delete string (Python's own ``hash`` changes per process)."""
    return int.from_bytes(hashlib.blake2b(delete.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class _Words:
    """symspellpy's word -> count dict, over the sorted words and their mapped counts."""

    def __init__(self, words: list[str], counts: np.ndarray):
        self.words, self.counts = words, counts

    def _find(self, word: str) -> int:
        i = bisect_left(self.words, word)
        return i if i < len(self.words) and self.words[i] == word else -1

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._find(word) >= 0

    def __getitem__(self, word: str) -> int:
        i = self._find(word)
        if i < 0:
            raise KeyError(word)
        return int(self.counts[i])

    def __len__(self) -> int:
        return len(self.words)


class _Deletes:
    """symspellpy's delete -> words dict, over mapped arrays: the deletes' sorted hashes,
    where each one's words start, and the words' numbers."""

    def __init__(self, words: list[str], keys: np.ndarray, starts: np.ndarray, members: np.ndarray):
        self.words, self.keys, self.starts, self.members = words, keys, starts, members

    def _find(self, delete: str) -> int:
        h = np.uint64(_key(delete))
        i = int(np.searchsorted(self.keys, h))
        return i if i < len(self.keys) and self.keys[i] == h else -1

    def __contains__(self, delete: object) -> bool:
        return isinstance(delete, str) and self._find(delete) >= 0

    def __getitem__(self, delete: str) -> list[str]:
        i = self._find(delete)
        if i < 0:
            raise KeyError(delete)
        return [self.words[m] for m in self.members[self.starts[i]:self.starts[i + 1]]]

    def __len__(self) -> int:
        return len(self.keys)


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
        """Write the tables as sorted arrays (``FILES``) into a generation's directory."""
        sym = self._symspell
        words = sorted(sym.words)
        number = {w: i for i, w in enumerate(words)}
        pair_keys: list[int] = []  # one (delete's hash, word number) pair per entry
        pair_words: list[int] = []
        for delete, entries in sym.deletes.items():
            pair_keys += [_key(delete)] * len(entries)
            pair_words += [number[w] for w in entries]
        order = np.argsort(np.array(pair_keys, dtype=np.uint64), kind="stable")  # a delete's words keep their order
        sorted_keys = np.array(pair_keys, dtype=np.uint64)[order]
        members = np.array(pair_words, dtype=np.int32)[order]
        keys, first = np.unique(sorted_keys, return_index=True)
        starts = np.append(first, len(members)).astype(np.int64)
        counts = np.array([sym.words[w] for w in words], dtype=np.int64)
        *arrays, words_file = (fresh_file(Path(directory) / name) for name in FILES)
        for path, array in zip(arrays, (counts, keys, starts, members)):
            np.save(path, array)
        words_file.write_text("\n".join(words), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "Speller | None":
        """The speller ``save`` wrote with an index generation (its arrays memory-mapped),
        or None when it has none (an older build) or an incomplete one."""
        from symspellpy import SymSpell

        paths = [Path(directory) / name for name in FILES]
        try:
            text = paths[-1].read_text(encoding="utf-8")
            counts, keys, starts, members = (mapped_array(p) for p in paths[:-1])
        except (OSError, ValueError):
            return None
        words = text.split("\n") if text else []
        if len(words) != len(counts) or len(starts) != len(keys) + 1 or (len(keys) and starts[-1] != len(members)):
            return None
        sym = SymSpell(max_dictionary_edit_distance=MAX_EDITS, prefix_length=PREFIX)
        # symspellpy's lookup reads only these (``in``, ``[]``) and the longest word's length
        sym._words = _Words(words, counts)
        sym._deletes = _Deletes(words, keys, starts, members)
        sym._max_length = max(map(len, words), default=0)
        return cls(sym, len(words))

    def closest(self, word: str, max_edits: int = MAX_EDITS) -> str | None:
        """The vocabulary's word nearest ``word`` (fewest edits, then most documents),
        or None when none is within ``max_edits`` or the word is too short to guess."""
        from symspellpy import Verbosity

        if len(word) < MIN_LENGTH:
            return None
        found = self._symspell.lookup(word, Verbosity.TOP, max_edit_distance=min(max_edits, MAX_EDITS))
        return found[0].term if found and found[0].term != word else None
