"""The set of documents matching a query, as a numpy mask, without a Python loop per hit.

Terms are read block by block from the postings (each block's doc ids become one numpy
array) and boolean structure becomes mask operations. Query types without a set-algebra
meaning here (phrases) fall back to Whoosh's own matcher for that sub-query only.
"""
from __future__ import annotations

import time

import numpy as np
from whoosh import query as wq


class Deadline(Exception):
    """The time budget ran out while collecting matches."""


def _leaf_ids(matcher) -> list:
    """Doc ids of a leaf matcher, one array per postings block.

    Whoosh's W3 codec keeps each block's ids together; where that layout is not
    available (another codec), the public iterator is used.
    """
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block"):
        blocks = []
        while not matcher._atend:
            if matcher._ids is None:
                matcher._read_ids()
            blocks.append(matcher._ids)
            matcher._next_block()
        return blocks
    return [list(matcher.all_ids())]


def term_docs(reader, fieldname: str, text: str) -> np.ndarray:
    """Doc numbers (global) of one term."""
    out = []
    for sub, offset in reader.leaf_readers():
        try:
            matcher = sub.postings(fieldname, text)
        except Exception:  # TermNotFound and friends: the term is not in this segment
            continue
        for block in _leaf_ids(matcher):
            arr = np.asarray(block, dtype=np.int64)
            out.append(arr + offset if offset else arr)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def match_mask(searcher, q: wq.Query, doc_count: int, deadline: float | None = None) -> np.ndarray:
    """Boolean mask over doc numbers of the documents ``q`` matches.

    Raises Deadline when ``deadline`` (a perf_counter time) passes.
    """
    reader = searcher.reader()

    def walk(node) -> np.ndarray:
        if deadline is not None and time.perf_counter() > deadline:
            raise Deadline()
        if isinstance(node, wq.Term):
            mask = np.zeros(doc_count, dtype=bool)
            mask[term_docs(reader, node.fieldname, node.text)] = True
            return mask
        if node is wq.NullQuery or isinstance(node, type(wq.NullQuery)):
            return np.zeros(doc_count, dtype=bool)
        if isinstance(node, wq.Every):
            return np.ones(doc_count, dtype=bool)
        if isinstance(node, wq.AndNot):
            return walk(node.a) & ~walk(node.b)
        if isinstance(node, wq.AndMaybe):
            return walk(node.a)
        if isinstance(node, wq.Not):
            return ~walk(node.query)
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
        mask = np.zeros(doc_count, dtype=bool)  # phrases and anything else: Whoosh decides
        ids = np.fromiter(searcher.docs_for_query(node), dtype=np.int64)
        mask[ids] = True
        return mask

    mask = walk(q)
    if reader.has_deletions():
        mask &= np.fromiter((not reader.is_deleted(i) for i in range(doc_count)), dtype=bool, count=doc_count)
    return mask
