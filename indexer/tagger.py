"""The statistical name tagger: a CRF (python-crfsuite) over PERS / ORG / LOC in BIO tags.

It reads the same tokens as the gazetteer matcher (``indexer.extract.tokenize``) and
takes the gazetteer's own findings as features, so it learns how far to trust them; what
it adds is the names the gazetteer lacks. The model (``indexer/models/ner.crfsuite``) is
trained from ANERcorp by ``make train-tagger`` (``python -m indexer.train_tagger``) and
shipped under CC BY-SA 4.0 (``indexer/models/NOTICE``).

crfsuite trains the model (``Features.sequence`` gives it every token's feature
strings); tagging is done here from the model's weights (``Tagger``): a word's summed
weights are computed the first time it is seen, and a compiled Viterbi decodes.
"""
from __future__ import annotations

import gzip
import math
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from indexer.gazetteer import WordLists, fold_word, load_words
from search.arabic import stem

MODEL = Path(__file__).parent / "models" / "ner.crfsuite"
# How often each word (folded by ``fold_word``) occurs in the news corpora the model was
# trained beside: tells a clitic from a name's first letter (وواشنطن vs واشنطن) and
# rare words (names, mostly) from common ones.
LEXICON = Path(__file__).parent / "models" / "wordfreq.tsv.gz"
TYPES = ("PERS", "ORG", "LOC")

_CACHE_LIMIT = 300_000


# Word clusters from the same corpora (distributional: PPMI of left/right neighbours,
# SVD, k-means in two levels): a word's cluster at 64 and 512 classes. Names the
# training data never saw share clusters with those it did (بوش with ساركوزي).
CLUSTERS = Path(__file__).parent / "models" / "clusters.tsv.gz"
def _gz_rows(default: Path, env: str) -> list[list[str]]:
    """The tab-separated rows of a shipped gzip table (``env`` may name another file, for
    evaluation); none when the file is missing."""
    path = Path(os.environ.get(env) or default)
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f]


@lru_cache(maxsize=1)
def word_clusters() -> dict[str, tuple[str, str]]:
    """The shipped word clusters: word -> (coarse, fine) class (empty when missing)."""
    return {word: (coarse, fine) for word, coarse, fine in _gz_rows(CLUSTERS, "MIRSAD_CLUSTERS")}


@lru_cache(maxsize=1)
def word_counts() -> dict[str, int]:
    """The shipped word frequencies (empty when the file is missing)."""
    return {word: int(n) for word, n in _gz_rows(LEXICON, "MIRSAD_LEXICON")}


COMMON_WORDS = 2000  # how many of the commonest corpus words count as "ordinary"


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """The ``COMMON_WORDS`` commonest words of the corpora (folded): a tagger span made
    of these alone (البنك المركزي، شاركنا رأيك) is a run of ordinary words, not a name."""
    counts = word_counts()
    return frozenset(sorted(counts, key=counts.__getitem__, reverse=True)[:COMMON_WORDS])


@lru_cache(maxsize=1)
def common_stems() -> frozenset[str]:
    """The search stems (``search.arabic.stem``) of ``common_words``: a word sharing one
    while not being that word (محليون، تدريبات، حكومته) inflects an ordinary word."""
    return frozenset(stem(w) for w in common_words())


# Endings of plurals and duals: with them, even a word with ال is an inflected ordinary
# word when its stem is common (الاشتباكات، المهندسين), where الخالدية stays a district.
_PLURAL_ENDINGS = ("ات", "ون", "ين", "ان")


def inflects_common_word(key: str) -> bool:
    """Whether a folded word (no clitics) is an inflection of an ordinary word: its stem
    is a common word's, it is no common word itself, and it carries no ال or it ends in
    a plural or dual ending (a one-word tagger place such as صناعية or منافسين is none)."""
    word_stem = stem(key)
    bare = key[2:] if key.startswith("ال") else key
    if key in common_words() or word_stem == bare or word_stem not in common_stems():
        return False
    return not key.startswith("ال") or key.endswith(_PLURAL_ENDINGS)


# Clitics that may stand before a name, longest first, and what replaces them (للعراق is
# ل + العراق). Not ك (كوفي أنان is no "like"): it seldom stands before a name.
_NAME_CLITICS = (("ولل", "ال"), ("فلل", "ال"), ("لل", "ال"), ("وب", ""), ("ول", ""), ("فب", ""), ("فل", ""),
                 ("و", ""), ("ف", ""), ("ب", ""), ("ل", ""))


_CLITIC_SPLITS: dict[str, tuple[str, str]] = {}


def clitic_split(key: str) -> tuple[str, str]:
    """(clitic, word) of a folded word whose clitic-free reading is the commoner word in
    the corpora (وواشنطن -> و, واشنطن; but واشنطن, وليد, بغداد stay whole); ("", key)
    otherwise."""
    out = _CLITIC_SPLITS.get(key)
    if out is None:
        out = _clitic_split(key)
        if len(_CLITIC_SPLITS) < _CACHE_LIMIT:  # extraction asks of every word of an article
            _CLITIC_SPLITS[key] = out
    return out


def _clitic_split(key: str) -> tuple[str, str]:
    if len(key) < 4:
        return "", key
    counts = word_counts()
    own = counts.get(key, 0)
    for clitic, repl in _NAME_CLITICS:
        if key.startswith(clitic) and len(key) - len(clitic) + len(repl) >= 3:
            rest = repl + key[len(clitic):]
            # the rest must not itself read as clitic + word: بوروسيا is not ب + وروسيا
            if counts.get(rest, 0) > 2 * own and not clitic_split(rest)[0]:
                return clitic, rest
    return "", key


def strip_clitics(word: str) -> str:
    """A name's first word as written without its clitic (ولبنان -> لبنان, للعراق ->
    العراق), by ``clitic_split`` on its folded form."""
    clitic, rest = clitic_split(fold_word(word))
    if not clitic:
        return word
    stripped = word[len(clitic):]
    return ("ال" + stripped) if rest.startswith("ال") and not stripped.startswith(("ال", "أل", "إل", "آل")) else stripped


def _shape(word: str) -> str:
    if word.isdigit():
        return "D"
    if word.isascii():
        return "L" if word.isalpha() else "X"
    return "A"


class Features:
    """The tagger's features, built from the word lists and the lexicon.

    Every feature of token i depends on one "slot" value only: its word, a neighbour's
    word (i±1, i±2), the earlier passes' tag of i or i±1, punctuation before i or i+1, or
    the sentence's edges. ``sequence`` lists them as crfsuite's strings (for training);
    ``Tagger`` sums their weights per slot value once and caches the sums.
    """

    WORD_SLOTS = ("own", "prev", "next", "prev2", "next2")

    def __init__(self, words: WordLists | None = None):
        self.words = words or load_words()
        self._title_words = frozenset(x for t in self.words.titles for x in t.split())
        self._cache: dict[tuple[str, object], list[str]] = {}  # slots other than words
        self._last: tuple[str | None, list[str]] = (None, [])

    def word(self, key: str) -> list[str]:
        """The features of a word (folded with ``fold_word``) at its own position."""
        if key == self._last[0]:  # the five word slots of one word ask in a row
            return self._last[1]
        f = self._word(key)
        self._last = (key, f)
        return f

    def _word(self, key: str) -> list[str]:
        w = self.words
        clitic, rest = clitic_split(key)
        stem = rest[2:] if rest.startswith("ال") and len(rest) > 4 else rest
        f = ["w=" + key, "b=" + stem, "p2=" + stem[:2], "p3=" + stem[:3], "p4=" + stem[:4], "s1=" + stem[-1:],
             "s2=" + stem[-2:], "s3=" + stem[-3:], "s4=" + stem[-4:], "c=" + clitic, "al=" + str(stem != rest),
             "n=" + str(min(len(stem), 9)), "sh=" + _shape(key),
             "fq=" + str(min(int(math.log2(1 + word_counts().get(key, 0))), 16))]
        cluster = word_clusters().get(key) or word_clusters().get(rest)
        if cluster is not None:
            f += ["k1=" + cluster[0], "k2=" + cluster[1]]
        for name, test in (("given", w.given_names), ("stop", w.name_stops), ("part", w.name_particles),
                           ("nat", w.nationalities), ("cue", w.place_cues), ("title", self._title_words),
                           ("role", w.role_words)):
            if key in test or rest in test:
                f.append("L=" + name)
        if stem != rest and stem.endswith(("ي", "يه")):
            f.append("adj")  # nisba adjective (السوري، الأميركية): rarely a name itself
        return f

    def slot(self, slot: str, value) -> list[str]:
        """The feature strings one slot value contributes (cached but for words, whose
        weights ``Tagger`` caches instead)."""
        key = (slot, value)
        f = self._cache.get(key)
        if f is None:
            if slot == "own":
                f = self.word(value)
            elif slot in ("prev", "next"):
                prefix = "-" if slot == "prev" else "+"
                f = [prefix + x for x in self.word(value) if x.startswith(("w=", "b=", "L=", "s2=", "adj", "k1=", "k2=", "fq=", "c="))]
            elif slot in ("prev2", "next2"):
                prefix = "--" if slot == "prev2" else "++"
                f = [prefix + x for x in self.word(value) if x.startswith(("w=", "k1=", "L="))]
            elif slot in ("g", "gp", "gn"):
                f = [{"g": "g=", "gp": "-g=", "gn": "+g="}[slot] + value]
            elif slot in ("b", "bn"):
                f = [("" if slot == "b" else "+") + ("brk" if value else "nobrk")]
            else:  # "edge": BOS / EOS
                f = [value]
            if slot not in self.WORD_SLOTS and len(self._cache) < _CACHE_LIMIT:
                self._cache[key] = f
        return f

    def slots(self, keys: list[str], breaks: list[bool], gaz: list[str]) -> list[list[tuple[str, object]]]:
        """The slot values of every token of a sequence: ``keys`` folded words,
        ``breaks[i]`` punctuation before word i, ``gaz[i]`` the earlier passes' tag of
        word i (``Extractor.feature_tags``)."""
        n = len(keys)
        out = []
        for i, key in enumerate(keys):
            s = [("own", key), ("b", breaks[i]), ("g", gaz[i])]
            if i > 0:
                s += [("prev", keys[i - 1]), ("gp", gaz[i - 1])]
                if i > 1:
                    s.append(("prev2", keys[i - 2]))
            else:
                s.append(("edge", "BOS"))
            if i + 1 < n:
                s += [("next", keys[i + 1]), ("gn", gaz[i + 1]), ("bn", breaks[i + 1])]
                if i + 2 < n:
                    s.append(("next2", keys[i + 2]))
            else:
                s.append(("edge", "EOS"))
            out.append(s)
        return out

    def sequence(self, keys: list[str], breaks: list[bool], gaz: list[str]) -> list[list[str]]:
        """crfsuite's item sequence: every token's feature strings."""
        return [[x for slot, value in token for x in self.slot(slot, value)]
                for token in self.slots(keys, breaks, gaz)]


def spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """(first, last, type) of every BIO span; an I- without its B- opens a span."""
    out = []
    start, kind = None, None
    for i, t in enumerate(tags + ["O"]):
        if t.startswith("I-") and kind == t[2:]:
            continue
        if start is not None:
            out.append((start, i - 1, kind))
            start, kind = None, None
        if t != "O":
            start, kind = i, t[2:]
    return out


class Tagger:
    """The trained CRF: ``tag`` gives the best BIO tag sequence of a token sequence.

    The weights come from the crfsuite model; decoding is done here, because crfsuite's
    own tagger costs more than the rest of extraction (every feature string of every
    token is looked up anew). A token's emission scores are the sum of its slot values'
    weight vectors, each summed once per value and cached; Viterbi decodes all the
    sentences of a text in step. The result equals crfsuite's (``tests/test_tagger.py``).
    """

    def __init__(self, model: Path = MODEL, features: Features | None = None):
        import pycrfsuite  # imported here: only extraction needs it

        self.features = features or Features()
        info = pycrfsuite.Tagger()
        info.open(str(model))
        meta = info.info()
        self.labels = sorted(meta.labels, key=lambda x: (x != "O", x))  # O first
        index = {label: k for k, label in enumerate(self.labels)}
        n = self.n = len(self.labels)
        # one row of label weights per attribute; row 0 is zeros (attributes the model
        # does not know)
        self._attr: dict[str, int] = {}
        for attr, _ in meta.state_features:
            self._attr.setdefault(attr, len(self._attr) + 1)
        self._weights = np.zeros((len(self._attr) + 1, n))
        for (attr, label), weight in meta.state_features.items():
            self._weights[self._attr[attr], index[label]] = weight
        # A word's own feature strings, each with its label weights in the five word
        # slots (a neighbour's attribute is the string with a prefix: ``-w=…``, ``++w=…``):
        # one lookup per feature string gives all five. Row 0 is zeros (strings the
        # model does not know).
        prefixes = {"own": "", "prev": "-", "next": "+", "prev2": "--", "next2": "++"}
        slot_attrs = [{a[len(prefixes[slot]):]: k for a, k in self._attr.items()
                       if a.startswith(prefixes[slot]) and (slot != "own" or a[:1] not in "-+")}
                      for slot in Features.WORD_SLOTS]
        self._feature_ids = {x: i + 1 for i, x in enumerate(sorted(set().union(*slot_attrs)))}
        self._feature_weights = np.zeros((len(self._feature_ids) + 1, len(slot_attrs), n))
        for k, table in enumerate(slot_attrs):
            for x, attr in table.items():
                self._feature_weights[self._feature_ids[x], k] = self._weights[attr]
        self.transitions = np.zeros((n, n))
        for (a, b), weight in meta.transitions.items():
            self.transitions[index[a], index[b]] = weight
        # Summed weights per value: words (own, prev, next, prev2, next2 slots), earlier
        # passes' tags (g, gp, gn), punctuation (b, bn) and the edges. Row 0 of the word
        # and tag tables is zeros: the neighbour of a sentence's first or last word.
        self._word_ids: dict[str, int] = {}
        self._words = np.zeros((1024, len(Features.WORD_SLOTS), n))
        self._tag_ids: dict[str, int] = {}
        self._tags = np.zeros((64, 3, n))
        self._breaks = np.array([[self._sum("b", v), self._sum("bn", v)] for v in (False, True)])
        # compile (or load from numba's cache) now: a build forks its workers after this
        _viterbi()(np.zeros((2, n)), np.array([True, False]), self.transitions)
        self._bos, self._eos = self._sum("edge", "BOS"), self._sum("edge", "EOS")

    def _sum(self, slot: str, value) -> np.ndarray:
        return self._sums([(slot, value)])[0]

    def _sums(self, slot_values) -> np.ndarray:
        """The summed weights of each (slot, value): one numpy reduction for them all."""
        attr, slot_feats = self._attr, self.features.slot
        rows, bounds = [], []
        for slot, value in slot_values:
            bounds.append(len(rows))
            rows += [attr.get(x, 0) for x in slot_feats(slot, value)] or [0]
        return np.add.reduceat(self._weights[rows], bounds, axis=0)

    def _word_sums(self, keys: list[str]) -> np.ndarray:
        """The five word slots' summed weights of each word (``Features.WORD_SLOTS``), as
        an array (words x slots x labels): the word's own feature strings are looked up in
        ``_feature_weights`` instead of building every neighbour's prefixed string."""
        ids, rows, bounds = self._feature_ids, [], []
        for key in keys:
            bounds.append(len(rows))
            rows += [ids.get(x, 0) for x in self.features.word(key)] or [0]
        return np.add.reduceat(self._feature_weights[rows], bounds, axis=0)

    def _tag_sums(self, tags: list[str]) -> np.ndarray:
        """The three gazetteer-tag slots' summed weights of each tag (tags x 3 x labels)."""
        return self._sums([(slot, v) for v in tags for slot in ("g", "gp", "gn")]).reshape(len(tags), 3, -1)

    def _ids(self, values: list, ids: dict, table_name: str, sums) -> np.ndarray:
        """Row numbers of ``values`` in a table of summed weights, adding the new ones
        (``sums(new values)`` gives their rows, in one numpy reduction for a text's new
        words); a full table is forgotten and begun again."""
        if len(ids) + len(values) >= _CACHE_LIMIT:
            ids.clear()
        out = [ids.get(v) for v in values]
        if None in out:
            new = list(dict.fromkeys(v for v, i in zip(values, out) if i is None))
            table = getattr(self, table_name)
            first = len(ids) + 1  # row 0 stays zeros
            end = first + len(new)
            if end > len(table):
                table = np.concatenate([table, np.zeros((max(len(table), end - len(table)), *table.shape[1:]))])
                setattr(self, table_name, table)
            table[first:end] = sums(new)
            ids.update(zip(new, range(first, end)))
            out = [ids[v] for v in values]
        return np.array(out, dtype=np.intp)

    def emissions(self, keys: list[str], breaks: list[bool], gaz: list[str], starts: np.ndarray) -> np.ndarray:
        """Emission scores (tokens x labels); ``starts[i]`` marks a sentence's first word."""
        w = self._ids(keys, self._word_ids, "_words", self._word_sums)
        g = self._ids(gaz, self._tag_ids, "_tags", self._tag_sums)
        b = np.array(breaks, dtype=np.intp)
        words, tags = self._words, self._tags
        ends = np.append(starts[1:], True)
        same_prev = ~starts[1:]  # token i and i-1 in one sentence, i >= 1
        same_prev2 = same_prev[1:] & same_prev[:-1]
        e = words[w, 0] + tags[g, 0] + self._breaks[b, 0]
        e[1:] += (words[w[:-1], 1] + tags[g[:-1], 1]) * same_prev[:, None]
        e[:-1] += (words[w[1:], 2] + tags[g[1:], 2] + self._breaks[b[1:], 1]) * same_prev[:, None]
        e[2:] += words[w[:-2], 3] * same_prev2[:, None]
        e[:-2] += words[w[2:], 4] * same_prev2[:, None]
        e[starts] += self._bos
        e[ends] += self._eos
        return e

    def tag(self, keys: list[str], breaks: list[bool], gaz: list[str], starts: list[bool] | None = None) -> list[str]:
        """BIO tags of a sequence of sentences (``starts[i]``: word i begins one; by
        default the whole sequence is one sentence)."""
        n = len(keys)
        if not n:
            return []
        first = np.zeros(n, dtype=bool)
        first[0] = True
        if starts is not None:
            first |= np.array(starts, dtype=bool)
        e = self.emissions(keys, breaks, gaz, first)
        return [self.labels[y] for y in _viterbi()(e, first, self.transitions)]


_VITERBI = None


def _viterbi():
    """The Viterbi kernel, compiled by numba on first use and cached on disk: a loop over
    words, which numpy cannot make fast (one array operation a word costs ~20 times
    more). Each sentence (``starts`` marks its first word) is decoded on its own."""
    global _VITERBI
    if _VITERBI is None:
        from numba import njit

        @njit(cache=True, nogil=True)
        def viterbi(e, starts, t):  # pragma: no cover - compiled
            n, m = e.shape
            labels = np.zeros(n, dtype=np.int64)
            back = np.zeros((n, m), dtype=np.int64)
            score = np.empty(m)
            new = np.empty(m)
            begin = 0
            while begin < n:
                end = begin + 1
                while end < n and not starts[end]:
                    end += 1
                score[:] = e[begin]
                for k in range(begin + 1, end):
                    for y in range(m):
                        best, arg = score[0] + t[0, y], 0
                        for p in range(1, m):
                            v = score[p] + t[p, y]
                            if v > best:
                                best, arg = v, p
                        new[y] = best + e[k, y]
                        back[k, y] = arg
                    score[:] = new
                y = 0
                for p in range(1, m):
                    if score[p] > score[y]:
                        y = p
                for k in range(end - 1, begin - 1, -1):
                    labels[k] = y
                    y = back[k, y]
                begin = end
            return labels

        _VITERBI = viterbi
    return _VITERBI


@lru_cache(maxsize=1)
def default_tagger() -> Tagger | None:
    """The shipped model (or the one ``MIRSAD_TAGGER_MODEL`` names, for evaluation), or
    None when it is missing: extraction then uses the gazetteer and rules alone."""
    model = Path(os.environ.get("MIRSAD_TAGGER_MODEL") or MODEL)
    if not model.exists():
        return None
    return Tagger(model)
