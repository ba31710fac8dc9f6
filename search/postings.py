"""Matching and ranking in numpy over a ``search.storage.Storage``.

A term's postings arrive as numpy arrays: boolean structure becomes mask operations
(``match_mask``) and BM25F a few vector operations per term (``bm25f_scores``), with no
Python loop per hit. Query types without a set-algebra meaning here (phrases) are
matched by the storage for that sub-query. Query trees are Whoosh's query objects: the
query language, not the storage.
"""
from __future__ import annotations

import time

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


def bm25f_scores(store, q, lengths: dict[str, np.ndarray], k1: float, b: float,
                 groups: dict[str, tuple[str, float]] | None = None, cache: dict | None = None,
                 related: dict[tuple[str, str], tuple[tuple[str, float], ...]] | None = None) -> np.ndarray:
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
    the index lacks) is scored through its forms, with their IDF."""
    n = store.doc_count
    live_n = store.live_count
    groups = groups or {}
    related = related or {}
    by_term: dict[tuple[str, str], dict[str, float]] = {}
    for term in _positive_terms(q):
        group = groups.get(term.fieldname, (term.fieldname, 1.0))[0]
        by_term.setdefault((group, term.text), {}).setdefault(term.fieldname, term.boost)
    # deleted documents have length 0 and no postings: averages and IDF count the live ones
    averages = {name: float(fl.sum()) / max(live_n, 1) or 1.0 for name, fl in lengths.items()}
    scores = np.zeros(n, dtype=np.float32)
    for (group, text), fields in by_term.items():
        tf_sum = np.zeros(n, dtype=np.float32)
        holders, forms = [], []
        sources = [(text, 1.0)] + list(related.get((group, text), ()))
        for form, form_weight in sources:
            for fieldname, weight in fields.items():
                ids, tf = term_postings(store, fieldname, form, cache)
                if not len(ids):
                    continue
                fl = lengths[fieldname]
                tf_sum[ids] += form_weight * weight * tf / ((1 - b) + b * fl[ids] / averages[fieldname])
                (holders if form == text else forms).append(ids)
        if not holders and not forms:
            continue
        idf = np.log(live_n / (_distinct(holders or forms, n) + 1)) + 1
        # every posting adds a positive amount, so the documents holding the word or a
        # form are exactly where the sum is not zero
        ids = (holders + forms)[0] if len(holders) + len(forms) == 1 else np.flatnonzero(tf_sum)
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


def top_k(scores: np.ndarray, mask: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (docnum, score) among the documents in ``mask``, best first; ties by
    doc number."""
    candidates = np.flatnonzero(mask)
    if not len(candidates) or k <= 0:
        return []
    s = scores[candidates]
    if len(candidates) > k:
        part = np.argpartition(-s, k - 1)[:k]
        candidates, s = candidates[part], s[part]
    order = np.lexsort((candidates, -s))
    return [(int(candidates[i]), float(s[i])) for i in order]
