"""A text's index terms as arrays of term ids, for writing postings.

Grouping a text's terms into position lists one Python step per word, and filing each
posting under its term, were a third of an indexing worker's time. Here each written
word gets an id once, with a row of the ids of its terms (its first stem, its exact form,
its root); a text is then an array of word ids, and a field's terms and positions are a
gather and a sort in numpy. Each word's row comes from the analysis chain's own steps
(``search.arabic._word_terms`` and ``_word_root``), so the terms and positions are the
analyzers' (``tests/test_arabic.py`` compares them).

Term ids are shared by every field and live as long as the process's id table: a posting
pool that holds ids must be written before ``forget`` clears the table.
"""
from __future__ import annotations

import numpy as np

from search.arabic import WORD_RE, JoinedText, _word_root, _word_terms

STEM, EXACT, ROOT = 0, 1, 2  # the columns of a word's row: which field's term
_MORE = 3  # the row's flag: the word has more stems than its first (``_MORE_STEMS``)

TERMS: list[str] = []  # term id -> term
_TERM_IDS: dict[str, int] = {}
_WORD_IDS: dict[str, int] = {}
_ROWS = np.full((1 << 10, 4), -1, dtype=np.int64)  # word id -> its terms' ids; -1: a stop word (grows)
_MORE_STEMS: dict[int, tuple[int, ...]] = {}  # word id -> the ids of its other stems
_WORD_LIMIT = 2_000_000  # words with an id; past it, the words' ids are forgotten (not the terms')

# The last few texts' word ids: a document's body is indexed three times (stemmed,
# exact, roots) and its title likewise.
_TEXT_WORDS: dict[str, np.ndarray] = {}


def term_id(term: str) -> int:
    """The id of a term, given one now if it has none."""
    i = _TERM_IDS.get(term)
    if i is None:
        i = _TERM_IDS[term] = len(TERMS)
        TERMS.append(term)
    return i


def _new_word(word: str) -> int:
    global _ROWS
    wid = len(_WORD_IDS)
    if wid >= len(_ROWS):
        _ROWS = np.concatenate([_ROWS, np.full_like(_ROWS, -1)])
    stems, form = _word_terms(word)
    if form:  # not a stop word
        _ROWS[wid] = (term_id(stems[0]), term_id(form), term_id(_word_root(word)), len(stems) > 1)
        if len(stems) > 1:
            _MORE_STEMS[wid] = tuple(term_id(s) for s in stems[1:])
    else:
        _ROWS[wid] = -1
    _WORD_IDS[word] = wid
    return wid


def _word_ids(text: str) -> np.ndarray:
    """The word ids of ``text``'s words, in order."""
    cached = _TEXT_WORDS.get(text)
    if cached is not None:
        return cached
    words = WORD_RE.findall(text)
    ids = list(map(_WORD_IDS.get, words))
    if None in ids:
        get = _WORD_IDS.get
        for k, i in enumerate(ids):
            if i is None:
                i = get(words[k])  # the text's second use of a new word
                ids[k] = _new_word(words[k]) if i is None else i
    out = np.array(ids, dtype=np.intp)
    if len(_TEXT_WORDS) >= 4:
        del _TEXT_WORDS[next(iter(_TEXT_WORDS))]  # the oldest
    _TEXT_WORDS[text] = out
    return out


def _forget_words() -> None:
    _WORD_IDS.clear()
    _MORE_STEMS.clear()
    _TEXT_WORDS.clear()


def forget(limit: int = 4_000_000) -> None:
    """Clear the term ids once there are more than ``limit`` of them (called when no
    posting pool holds any, so a long build's memory stays bounded)."""
    if len(TERMS) > limit:
        _forget_words()
        TERMS.clear()
        _TERM_IDS.clear()


def term_ids(text: str, column: int) -> tuple[np.ndarray, np.ndarray]:
    """(term ids, positions) of every index term of ``text`` in one field (``column``:
    STEM, EXACT or ROOT), stop words left out, ordered by term id and then position. A
    ``JoinedText``'s words are its parts' words in turn."""
    if len(_WORD_IDS) + len(text) > _WORD_LIMIT:  # before any part: its parts' ids must agree
        _forget_words()
    parts = text.parts if isinstance(text, JoinedText) and text.parts else (text,)
    words = [_word_ids(part) for part in parts]
    w = words[0] if len(words) == 1 else np.concatenate(words)
    n = len(w)
    t = _ROWS[w, column]
    positions = np.arange(n)
    keep = t >= 0
    t, positions = t[keep], positions[keep]
    if column == STEM:
        more = np.flatnonzero(_ROWS[w, _MORE] > 0)
        if len(more):  # the other stems of an ambiguous word, at its position
            extra = [(s, p) for p, wid in zip(more.tolist(), w[more].tolist()) for s in _MORE_STEMS[wid]]
            t = np.concatenate([t, np.array([s for s, _ in extra], dtype=t.dtype)])
            positions = np.concatenate([positions, np.array([p for _, p in extra], dtype=positions.dtype)])
    order = np.argsort(t * max(n, 1) + positions)
    return t[order], positions[order]


def grouped(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start of each term's run, its length) in term ids ordered by term."""
    if not len(t):
        return t[:0], t[:0]
    starts = np.flatnonzero(np.concatenate([[True], t[1:] != t[:-1]]))
    return starts, np.diff(np.append(starts, len(t)))
