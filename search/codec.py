"""Writing a segment's postings fast, in Whoosh's own format.

Whoosh writes postings one at a time through ``FieldWriter.add_postings`` →
``W3PostingsWriter.add_posting`` → ``_write_block``: half a dozen Python calls and a
``tell()`` per posting, and an object per term; it was two fifths of an indexing worker's
time. When the pool already holds the postings grouped by field and term
(``GroupedPostings``), ``GroupedFieldWriter`` writes each term's blocks in one go. The bytes
are Whoosh's, block by block (``tests/test_parallel_build.py`` compares the files), but for
the pickle protocol of the blocks' data (``_DATA_PROTOCOL``), so any Whoosh
reader, merge or later writer takes these segments as its own.
"""
from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Iterator
from operator import sub
from pickle import dumps

import numpy as np
from whoosh.codec import whoosh3
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3FieldWriter
from whoosh.system import pack_int, pack_ushort
from whoosh.util.numeric import length_to_byte

from search import term_ids

# Whoosh-Reloaded 2.7.5 (the fallback distribution) compresses every block.
_COMPRESSION_MIN_SIZE = getattr(whoosh3, "COMPRESSION_MIN_SIZE", 0)
# W3TermInfo.to_bytes for postings kept in the postings file (not inlined): flags,
# total weight, document frequency, min/max length bytes, max weight, first and last
# docnum, then the offset and length of the term's postings.
_TERMINFO = struct.Struct("!BfIBBfIIqi")
# No per-block length statistics (IndexCodec.length_stats is False): what Whoosh writes
# for a minimum length of None and a maximum of 0.
_NO_MINLENGTH, _NO_MAXLENGTH = length_to_byte(None), length_to_byte(0)
_F32 = struct.Struct("f")  # Whoosh buffers weights as 32-bit floats
# A block's data (doc deltas, weights, values) is pickled with protocol 4, not Whoosh's
# 2: protocol 2 has no opcode for bytes and pickles each value (a position list, or a
# block's frequencies) as a call to ``_codecs.encode``, 14 times slower and twice the
# size. Whoosh reads blocks with ``pickle.loads``, which takes any protocol.
_DATA_PROTOCOL = 4
_LENGTHS = struct.Struct("!ii")  # a hash file record's key and value lengths (whoosh.filedb.filetables)


class GroupedPostings:
    """A segment's postings grouped by field and term, in docnum order within a term:
    ``fields`` files each term's postings as one flat list (``{fieldname: {term:
    [docnum, weight, value bytes, docnum, …]}}``, a field's terms all bytes or all
    text), ``columns`` as arrays per document (``{fieldname: [(docnum, term ids of
    search.term_ids, weights, values), …]}``). ``terms`` gives a field's terms in order
    with their postings; iterating yields Whoosh's ``(fieldname, term bytes, docnum,
    weight, value bytes)`` in its pool order (by field, term, docnum), so any field
    writer can take them."""

    def __init__(self, fields: dict[str, dict], columns: dict[str, list] | None = None):
        self.fields, self.columns = fields, columns or {}
        self.names = sorted({*self.fields, *self.columns})

    def terms(self, fieldname: str) -> Iterator[tuple[str | bytes, list[int], list[float], list[bytes]]]:
        """(term, doc numbers, weights, values) of each term of a field, in term order
        (text sorts as its UTF-8 does)."""
        if fieldname in self.fields:
            terms = self.fields[fieldname]
            for term in sorted(terms):
                postings = terms[term]
                yield term, postings[0::3], postings[1::3], postings[2::3]
        if fieldname in self.columns:
            yield from _column_terms(self.columns[fieldname])

    def __iter__(self):
        for fieldname in self.names:
            for term, ids, weights, values in self.terms(fieldname):
                key = term.encode("utf-8") if isinstance(term, str) else term
                for posting in zip(ids, weights, values):
                    yield (fieldname, key, *posting)


def _column_terms(chunks: list) -> Iterator[tuple[str, list[int], list[float], list[bytes]]]:
    """``GroupedPostings.terms`` of a field filed as arrays: one stable sort by term id
    groups all its postings, each term's still in docnum order."""
    if not chunks:
        return
    docs, ids, weights, values = zip(*chunks)
    ids = np.concatenate(ids)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    starts, counts = term_ids.grouped(ids)
    docnums = np.repeat(np.array(docs, dtype=np.int64), [len(v) for v in values])[order].tolist()
    weights = np.concatenate(weights)[order].tolist()
    values = np.concatenate(values)[order].tolist()
    texts = term_ids.TERMS
    terms = [texts[t] for t in ids[starts].tolist()]
    starts, ends = starts.tolist(), (starts + counts).tolist()
    for k in sorted(range(len(terms)), key=terms.__getitem__):
        s, e = starts[k], ends[k]
        yield terms[k], docnums[s:e], weights[s:e], values[s:e]


class GroupedFieldWriter(W3FieldWriter):
    """Whoosh's W3 field writer, with a one-pass path for ``GroupedPostings``.

    That path also keeps the doc numbers and weights of the terms it writes that
    ``search.frequent_postings`` saves beside the segment (``frequent``: its frequent terms
    and facet values), from the grouped postings instead of from the segment again."""

    frequent: list | None = None  # (field, term, doc numbers, weights), after add_postings

    def add_postings(self, schema, lengths, items):
        # Whoosh's path for what this one does not write: per-block length statistics,
        # spelling words, inlined postings (inlinelimit > 1), another postings writer.
        if (not isinstance(items, GroupedPostings) or lengths is not None
                or any(schema[name].separate_spelling() for name in items.names)
                or self._codec._inlinelimit > 1
                or type(self._codec).postings_writer is not whoosh3.W3Codec.postings_writer):
            return super().add_postings(schema, lengths, items)
        from search import frequent_postings  # noqa: PLC0415 - it imports search.schema, which imports this module

        codec = self._codec
        limit, level = codec._blocklimit, codec._compression
        postfile, tindex = self._postfile, self._tindex
        offset = postfile.tell()
        self.frequent = frequent = []
        for fieldname in items.names:
            fieldobj = schema[fieldname]
            self.start_field(fieldname, fieldobj)
            fixed = fieldobj.format.fixed_value_size()
            prefix = pack_ushort(self._fieldid)
            keys, infos = [], []
            for term, ids, weights, values in items.terms(fieldname):
                n = len(ids)
                if isinstance(term, str):
                    text, term = term, term.encode("utf-8")
                else:
                    text = frequent_postings.term_text(term)
                if text is not None and frequent_postings.wanted(fieldname, n):
                    frequent.append((fieldname, text, np.array(ids, dtype=np.int32),
                                     np.array(weights, dtype=np.float32)))  # the weights as Whoosh stores them
                blocks, weight, maxweight = _term_blocks(ids, weights, values, limit, level, fixed)
                keys.append(prefix + term)
                infos.append(_TERMINFO.pack(0, weight, n, 0, _NO_MAXLENGTH, maxweight, ids[0], ids[-1],
                                            offset, len(blocks)))
                postfile.write(blocks)
                offset += len(blocks)
            _add_terms(tindex, keys, infos)
            self.finish_field()


def _add_terms(tindex: OrderedHashWriter, keys: list[bytes], values: list[bytes]) -> None:
    """``tindex.add(key, value)`` for each pair, in increasing key order, leaving the
    same bytes and tables: one write instead of three, and no ``tell()`` (a system call
    of the buffered file) per term."""
    if not keys:
        return
    if keys[0] <= tindex.lastkey:
        raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{keys[0]!r}")
    dbfile, buckets, hashfn = tindex.dbfile, tindex.buckets, tindex.hashfn
    pos = dbfile.tell()
    positions, records = [], []
    for key, value in zip(keys, values):
        record = _LENGTHS.pack(len(key), len(value)) + key + value
        h = hashfn(key)
        buckets[h & 255].append((h, pos))
        positions.append(pos)
        records.append(record)
        pos += len(record)
    dbfile.write(b"".join(records))
    index = tindex.index  # a GrowableArray of the records' positions: widened as Whoosh's is
    try:
        array(index.typecode, positions[-1:])
    except OverflowError:
        index._retype(positions[-1])
    index.array.extend(positions)
    tindex.lastkey = keys[-1]


def _term_blocks(ids: list[int], raws: list[float], values: list[bytes], limit: int, level: int,
                 fixed: int | None) -> tuple[bytes, float, float]:
    """(a term's postings (doc numbers, weights, value bytes), as ``W3PostingsWriter``
    writes them, their total weight and their highest weight, as its ``W3TermInfo`` sums
    them)."""
    n = len(ids)
    if n == 1:  # most terms of a segment: the same bytes without the lists
        docnum, raw, value = ids[0], raws[0], values[0]
        weight = _F32.unpack(_F32.pack(raw))[0]
        if fixed is None or fixed < 0:
            mini_values = (value,) if value else ()
        else:
            mini_values = None if fixed == 0 else (value or b"")
        databytes = dumps(((docnum,), None if weight == 1.0 else weight, mini_values), _DATA_PROTOCOL)
        comp = level if len(databytes) >= _COMPRESSION_MIN_SIZE else 0
        if comp:
            databytes = zlib.compress(databytes, comp)
        block_max = raw if raw > 0 else 0
        infobytes = dumps((1, docnum, block_max, comp, _NO_MINLENGTH, _NO_MAXLENGTH), 2)
        return (b"".join((WHOOSH3_HEADER_MAGIC, pack_int(-len(infobytes) - len(databytes)), infobytes, databytes)),
                weight, block_max)
    parts = [WHOOSH3_HEADER_MAGIC]
    total_weight, maxweight = 0, 0
    for start in range(0, n, limit):
        # C-level slices and reductions per block: this runs on every posting
        end = start + limit
        block_ids, raw, block_values = ids[start:end], raws[start:end], values[start:end]
        weights = array("f", raw)  # Whoosh buffers weights as 32-bit floats
        total_weight += sum(weights)
        top = max(raw)
        block_max = top if top > 0 else 0
        maxweight = max(maxweight, block_max)
        if weights.count(1.0) == len(weights):
            mini_weights = None
        elif weights.count(weights[0]) == len(weights):
            mini_weights = weights[0]
        else:
            mini_weights = tuple(weights)
        if fixed is None or fixed < 0:
            mini_values = tuple(filter(None, block_values))
        elif fixed == 0:
            mini_values = None
        else:
            mini_values = b"".join(block_values)
        deltas = tuple(map(sub, block_ids, [0] + block_ids[:-1]))
        databytes = dumps((deltas, mini_weights, mini_values), _DATA_PROTOCOL)
        comp = level if len(databytes) >= _COMPRESSION_MIN_SIZE else 0
        if comp:
            databytes = zlib.compress(databytes, comp)
        infobytes = dumps((len(block_ids), block_ids[-1], block_max, comp, _NO_MINLENGTH, _NO_MAXLENGTH), 2)
        length = len(infobytes) + len(databytes)
        parts += (pack_int(-length if start + limit >= n else length), infobytes, databytes)
    return b"".join(parts), total_weight, maxweight
