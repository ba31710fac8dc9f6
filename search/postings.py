"""Matching and ranking in numpy over a ``search.storage.Storage``.

A term's postings arrive as numpy arrays: boolean structure becomes mask operations
(``match_mask``) and BM25F a few vector operations per term (``bm25f_scores``), with no
Python loop per hit. Query types without a set-algebra meaning here (phrases) are
matched by the storage for that sub-query. Query trees are Whoosh's query objects: the
query language, not the storage.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq


class Deadline(Exception):
    """The time budget ran out while collecting matches."""


def term_docs(store, fieldname: str, text: str, cache: dict | None = None) -> np.ndarray:
    """Doc numbers (global) of one term."""
    return term_postings(store, fieldname, text, cache)[0]


def match_mask(store, q: wq.Query, doc_count: int, deadline: float | None = None,
               cache: dict | None = None) -> np.ndarray:
    """Boolean mask over doc numbers of the documents ``q`` matches.

    Raises Deadline when ``deadline`` (a perf_counter time) passes. ``cache`` (a dict
    kept for one request) saves reading a term's postings twice.
    """
    def walk(node) -> np.ndarray:
        if deadline is not None and time.perf_counter() > deadline:
            raise Deadline()
        if isinstance(node, wq.Term):
            mask = np.zeros(doc_count, dtype=bool)
            mask[term_docs(store, node.fieldname, node.text, cache)] = True
            return mask
        if node is wq.NullQuery or isinstance(node, type(wq.NullQuery)):
            return np.zeros(doc_count, dtype=bool)
        if isinstance(node, wq.Every):
            live = store.live()
            return np.ones(doc_count, dtype=bool) if live is None else live.copy()
        if isinstance(node, wq.AndNot):
            return walk(node.a) & ~walk(node.b)
        if isinstance(node, wq.AndMaybe):
            return walk(node.a)
        if isinstance(node, wq.Not):
            live = store.live()
            return ~walk(node.query) if live is None else live & ~walk(node.query)
        if isinstance(node, wq.And):
            mask = np.ones(doc_count, dtype=bool)
            for sub in node.subqueries:
                mask &= walk(sub)
            return mask
        if isinstance(node, wq.Or):
            mask = np.zeros(doc_count, dtype=bool)
            for sub in node.subqueries:
                mask |= walk(sub)
            return mask
        mask = np.zeros(doc_count, dtype=bool)  # phrases and anything else: the storage decides
        mask[store.docs_matching(node)] = True
        return mask

    return walk(q)


def term_postings(store, fieldname: str, text: str, cache: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(doc numbers, term frequencies) of one term, global doc numbers."""
    if cache is not None and (fieldname, text) in cache:
        return cache[(fieldname, text)]
    result = store.postings(fieldname, text)
    if cache is not None:
        cache[(fieldname, text)] = result
    return result


def _positive_terms(q) -> list[wq.Term]:
    """Every term that counts toward a score: not under a NOT; a phrase's words count."""
    if isinstance(q, wq.Term):
        return [q]
    if isinstance(q, (wq.Not,)):
        return []
    if isinstance(q, wq.AndNot):
        return _positive_terms(q.a)
    if isinstance(q, wq.Phrase):
        return [wq.Term(q.fieldname, w, boost=q.boost) for w in q.words]
    if isinstance(q, wq.spans.SpanNear2):  # proximity: its words count
        return [wq.Term(t.fieldname, t.text, boost=q.boost) for t in q.qs]
    out = []
    for sub in getattr(q, "subqueries", ()):
        out += _positive_terms(sub)
    return out


def _scored_terms(q, groups: dict) -> dict[tuple[str, str], dict[str, float]]:
    """(group, term) -> {field: the query's boost} of every term that counts toward a score."""
    by_term: dict[tuple[str, str], dict[str, float]] = {}
    for term in _positive_terms(q):
        group = groups.get(term.fieldname, (term.fieldname, 1.0))[0]
        by_term.setdefault((group, term.text), {}).setdefault(term.fieldname, term.boost)
    return by_term


@dataclass
class CorpusStats:
    """What BM25F's IDF and length normalization read of a whole corpus: a shard of a
    sharded generation scores with the sums of every shard's (``local_stats``), so its
    scores equal the unsharded index's."""

    live_count: int
    length_sums: dict[str, float]  # field -> total length of the live documents
    # (group, term) -> (documents holding the term in a field of its group, documents
    # holding any of its related forms there): a term no document holds scores by its forms
    doc_freqs: dict[tuple[str, str], tuple[int, int]]

    def merged(self, other: "CorpusStats") -> "CorpusStats":
        """The statistics of two disjoint sets of documents together."""
        freqs = dict(self.doc_freqs)
        for key, (held, forms) in other.doc_freqs.items():
            a, b = freqs.get(key, (0, 0))
            freqs[key] = (a + held, b + forms)
        return CorpusStats(self.live_count + other.live_count,
                           {f: self.length_sums.get(f, 0.0) + v for f, v in other.length_sums.items()}, freqs)


def local_stats(store, q, lengths: dict[str, np.ndarray], groups: dict | None = None, cache: dict | None = None,
                related: dict | None = None) -> CorpusStats:
    """``CorpusStats`` of the documents of ``store`` for the query ``q``."""
    groups, related = groups or {}, related or {}
    freqs = {}
    for (group, text), fields in _scored_terms(q, groups).items():
        holders, forms = [], []
        for form, _w in [(text, 1.0)] + list(related.get((group, text), ())):
            for fieldname in fields:
                ids = term_postings(store, fieldname, form, cache)[0]
                if len(ids):
                    (holders if form == text else forms).append(ids)
        freqs[(group, text)] = (_distinct(holders, store.doc_count) if holders else 0,
                                _distinct(holders + forms, store.doc_count) if forms else 0)
    # float64 sums of whole numbers: exact, so the order shards are added in does not matter
    return CorpusStats(store.live_count, {name: float(np.sum(fl, dtype=np.float64)) for name, fl in lengths.items()},
                       freqs)


def bm25f_scores(store, q, lengths: dict[str, np.ndarray], k1: float, b: float,
                 groups: dict[str, tuple[str, float]] | None = None, cache: dict | None = None,
                 related: dict[tuple[str, str], tuple[tuple[str, float], ...]] | None = None,
                 stats: CorpusStats | None = None) -> np.ndarray:
    """BM25F (Robertson & Zaragoza) for every document at once.

    Fields analysed alike share their terms (``groups``: field -> (group, group weight);
    a field not listed is a group of its own, weight 1). Within a group, a term's
    frequencies, each length-normalized in its own field and weighted by the query's
    boost for that field, are summed *before* saturation, so a word in title and body
    counts once, more strongly; its IDF counts the documents holding it in any of the
    group's fields. The groups' scores, each times its weight, are added.

    ``related`` maps (group, term) to (form, weight) pairs: each form's frequencies in
    the term's fields join the term's sum times its weight (a weaker occurrence of the
    same word), and the IDF stays the term's own; a term no document holds (a spelling
    the index lacks) is scored through its forms, with their IDF. ``stats``: the corpus
    the IDF and average lengths are of (a shard's whole sharded generation); by default
    the documents of ``store``."""
    n = store.doc_count
    groups = groups or {}
    related = related or {}
    by_term = _scored_terms(q, groups)
    if stats is None:
        stats = local_stats(store, q, lengths, groups, cache, related)
    live_n = stats.live_count
    # deleted documents have length 0 and no postings: averages and IDF count the live ones
    averages = {name: stats.length_sums.get(name, 0.0) / max(live_n, 1) or 1.0 for name in lengths}
    scores = np.zeros(n, dtype=np.float32)
    for (group, text), fields in by_term.items():
        held, with_forms = stats.doc_freqs.get((group, text), (0, 0))
        if not held and not with_forms:
            continue
        tf_sum = np.zeros(n, dtype=np.float32)
        found = []
        sources = [(text, 1.0)] + list(related.get((group, text), ()))
        for form, form_weight in sources:
            for fieldname, weight in fields.items():
                ids, tf = term_postings(store, fieldname, form, cache)
                if not len(ids):
                    continue
                fl = lengths[fieldname]
                tf_sum[ids] += form_weight * weight * tf / ((1 - b) + b * fl[ids] / averages[fieldname])
                found.append(ids)
        if not found:
            continue
        idf = np.log(live_n / ((held or with_forms) + 1)) + 1
        # every posting adds a positive amount, so the documents holding the word or a
        # form are exactly where the sum is not zero
        ids = found[0] if len(found) == 1 else np.flatnonzero(tf_sum)
        group_weight = groups.get(next(iter(fields)), (None, 1.0))[1]
        t = tf_sum[ids]
        scores[ids] += group_weight * idf * t * (k1 + 1) / (t + k1)
    return scores


def _distinct(arrays: list[np.ndarray], n: int) -> int:
    """How many distinct doc numbers the arrays hold together."""
    if len(arrays) == 1:
        return len(arrays[0])
    seen = np.zeros(n, dtype=bool)
    for ids in arrays:
        seen[ids] = True
    return int(np.count_nonzero(seen))


def top_k(scores: np.ndarray, mask: np.ndarray, k: int, order: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The k best (docnum, score) among the documents in ``mask``, best first; equal
    scores by ``order`` (a document's place in the corpus, ``Generation.order``; doc
    number by default), the ones at the cut too: the same k whichever shard holds them."""
    candidates = np.flatnonzero(mask)
    if not len(candidates) or k <= 0:
        return []
    s = scores[candidates]
    if len(candidates) > k:
        kth = np.partition(-s, k - 1)[k - 1]  # minus the k-th best score
        keep = -s <= kth
        candidates, s = candidates[keep], s[keep]
    rank = candidates if order is None else order[candidates]
    best = np.lexsort((rank, -s))[:k]
    return [(int(candidates[i]), float(s[i])) for i in best]
