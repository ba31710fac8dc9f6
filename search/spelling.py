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
CLI call with a misspelling waited for that), built a Python step per delete of every word.
``from_counts`` builds them as sorted arrays instead (the words, their counts; each delete's
64-bit hash and its words), ``save`` writes them, and ``load`` hands symspellpy's own lookup
read-only mappings over those arrays, memory-mapped: the same suggestions, loaded in
milliseconds and shared by every worker through the page cache.
"""
from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import count
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


def deletes(word: str) -> set[str]:
    """What symspellpy's dictionary files ``word`` under (its ``_edits_prefix``): its first
    ``PREFIX`` letters, and those with one or two letters deleted (``MAX_EDITS``)."""
    p = word[:PREFIX]
    out = {p}
    out.update([p[:i] + p[i + 1:] for i in range(len(p))])
    out.update([p[:i] + p[i + 1:j] + p[j + 1:] for i, j in _POSITION_PAIRS[len(p)]])
    return out


_POSITION_PAIRS = [[(i, j) for i in range(n) for j in range(i + 1, n)] for n in range(PREFIX + 1)]
assert MAX_EDITS == 2 and MIN_LENGTH > MAX_EDITS  # what ``deletes`` spells out (no empty delete)


@dataclass
class Speller:
    """The closest frequent word of a vocabulary, by edit distance, then frequency."""

    _symspell: object
    words: int
    _arrays: tuple | None = None  # (words, counts, keys, starts, members): what ``save`` writes

    @classmethod
    def from_counts(cls, counts: Iterable[tuple[str, int]], min_docs: int = MIN_DOCS) -> "Speller":
        """From (word, documents containing it) pairs, each word once; words in fewer than
        ``min_docs`` documents and shorter words are left out.

        symspellpy's tables, built here as arrays: its ``create_dictionary_entry`` (a
        Python step per delete of every word) was most of publishing's speller time. A
        delete's words keep the order the words came in, as symspellpy's lists have them."""
        kept = [(w, n) for w, n in counts if n >= min_docs and len(w) >= MIN_LENGTH]
        order = sorted(range(len(kept)), key=lambda k: kept[k][0])
        words = [kept[k][0] for k in order]
        number = np.empty(len(kept), dtype=np.int32)  # the n-th word given -> its sorted number
        number[order] = np.arange(len(kept), dtype=np.int32)
        # one (delete, word) pair per entry, word by word; a delete's number grows with
        # the pair where it first came (numbers are not dense: setdefault draws one per pair)
        numbered: dict[str, int] = {}
        pair_deletes: list[int] = []
        pair_words: list[int] = []
        drawn = count()
        for k, (word, _n) in enumerate(kept):
            ds = deletes(word)
            pair_deletes += map(numbered.setdefault, ds, drawn)
            pair_words += [k] * len(ds)
        delete_keys = np.zeros(next(drawn), dtype=np.uint64)
        delete_keys[np.fromiter(numbered.values(), dtype=np.int64, count=len(numbered))] = np.array(
            [_key(d) for d in numbered], dtype=np.uint64)
        pair_delete = np.array(pair_deletes, dtype=np.int64)
        # by the delete's hash, a hash's deletes in the order they came, each one's words
        # in the order they came: what symspellpy's dict of lists, sorted by hash, holds
        by_delete = np.argsort(pair_delete, kind="stable")
        ordered = by_delete[np.argsort(delete_keys[pair_delete[by_delete]], kind="stable")]
        sorted_keys = delete_keys[pair_delete[ordered]]
        members = number[np.array(pair_words, dtype=np.int64)[ordered]]
        keys, starts = np.unique(sorted_keys, return_index=True)
        starts = np.append(starts, len(members)).astype(np.int64)
        counts_ = np.array([kept[k][1] for k in order], dtype=np.int64)
        arrays = (words, counts_, keys, starts, members)
        return cls(_symspell_over(*arrays), len(words), arrays)

    def save(self, directory: Path) -> None:
        """Write the tables as sorted arrays (``FILES``) into a generation's directory."""
        if self._arrays is None:
            raise ValueError("a loaded speller is saved already")
        words, *arrays = self._arrays
        *paths, words_file = (fresh_file(Path(directory) / name) for name in FILES)
        for path, array in zip(paths, arrays):
            np.save(path, array)
        words_file.write_text("\n".join(words), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "Speller | None":
        """The speller ``save`` wrote with an index generation (its arrays memory-mapped),
        or None when it has none (an older build) or an incomplete one."""
        paths = [Path(directory) / name for name in FILES]
        try:
            text = paths[-1].read_text(encoding="utf-8")
            counts, keys, starts, members = (mapped_array(p) for p in paths[:-1])
        except (OSError, ValueError):
            return None
        words = text.split("\n") if text else []
        if len(words) != len(counts) or len(starts) != len(keys) + 1 or (len(keys) and starts[-1] != len(members)):
            return None
        return cls(_symspell_over(words, counts, keys, starts, members), len(words))

    def closest(self, word: str, max_edits: int = MAX_EDITS) -> str | None:
        """The vocabulary's word nearest ``word`` (fewest edits, then most documents),
        or None when none is within ``max_edits`` or the word is too short to guess."""
        from symspellpy import Verbosity

        if len(word) < MIN_LENGTH:
            return None
        found = self._symspell.lookup(word, Verbosity.TOP, max_edit_distance=min(max_edits, MAX_EDITS))
        return found[0].term if found and found[0].term != word else None


def _symspell_over(words: list[str], counts: np.ndarray, keys: np.ndarray, starts: np.ndarray,
                   members: np.ndarray):
    """A symspellpy SymSpell whose lookup reads these arrays: it reads only its words and
    deletes (``in``, ``[]``) and the longest word's length."""
    from symspellpy import SymSpell  # imported here: only a query that found nothing needs it

    sym = SymSpell(max_dictionary_edit_distance=MAX_EDITS, prefix_length=PREFIX)
    sym._words = _Words(words, counts)
    sym._deletes = _Deletes(words, keys, starts, members)
    sym._max_length = max(map(len, words), default=0)
    return sym
