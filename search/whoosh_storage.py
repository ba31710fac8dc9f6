"""``Storage`` over a Whoosh index directory: the only reader of Whoosh's internals.

Postings are read block by block straight from Whoosh 3's posting blocks (each block's
doc ids and term frequencies become numpy arrays; Whoosh's own ``_read_ids`` decodes
the deltas in a Python generator). Deleted documents are taken out with one numpy mask
instead of Whoosh's per-posting ``FilterMatcher``.
"""
from __future__ import annotations

import struct
from datetime import datetime
from pathlib import Path
from typing import Iterator

import numpy as np
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3TermsReader
from whoosh.filedb import compound as whoosh_compound
from whoosh.filedb.structfile import BufferFile
from whoosh.matching.wrappers import FilterMatcher
from whoosh.system import pack_ushort
from whoosh.util.times import datetime_to_long

from search import frequent_postings
from search.frequent_postings import FrequentPostings

_EPOCH = datetime_to_long(datetime(1970, 1, 1))
_LOW, _HIGH = datetime_to_long(datetime(1900, 1, 1)), datetime_to_long(datetime(2100, 1, 1))
_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


class _View:
    """A read-only file over a memoryview that copies only what is read.

    Whoosh's ``BufferFile`` wraps each file of a segment's compound file (a slice of its
    mmap) in a ``BytesIO``, which copies the whole slice: opening an index read every
    segment's terms and stored fields into memory."""

    def __init__(self, buf: memoryview):
        self._buf, self._pos = buf, 0

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._buf) if size is None or size < 0 else min(self._pos + size, len(self._buf))
        out = bytes(self._buf[self._pos:end])
        self._pos = end
        return out

    def readline(self, size: int | None = -1) -> bytes:
        end = len(self._buf) if size is None or size < 0 else min(self._pos + size, len(self._buf))
        for k in range(self._pos, end, 4096):  # a chunk at a time: no copy of the rest of the file
            cut = bytes(self._buf[k:min(k + 4096, end)]).find(b"\n")
            if cut >= 0:
                return self.read(k + cut + 1 - self._pos)
        return self.read(end - self._pos)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = max(0, offset if whence == 0 else self._pos + offset if whence == 1 else len(self._buf) + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._buf = None


class ViewFile(BufferFile):
    """``BufferFile`` without the copy (see ``_View``); its ``get`` reads the view already."""

    def __init__(self, buf, name: str | None = None, onclose=None) -> None:
        super().__init__(b"", name=name, onclose=onclose)
        self._buf = buf
        self.file = _View(buf)


# compound.py names BufferFile when it opens a segment's files (the only place it does)
whoosh_compound.BufferFile = ViewFile


class StorageError(RuntimeError):
    """The index files cannot be opened or read."""


class WhooshStorage:
    """One Whoosh index generation, opened read-only (implements ``search.storage.Storage``)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            self.index = whoosh_index.open_dir(str(self.path))
            self._searcher = self.index.searcher()
        except Exception as exc:  # whoosh raises several types for missing/corrupt files
            raise StorageError(f"cannot open the index files: {type(exc).__name__}: {exc}") from exc
        self._reader = self._searcher.reader()
        self.schema = self.index.schema
        self._leaves = list(self._reader.leaf_readers())
        self._frequent = self._load_frequent()
        self._doc_count = self._reader.doc_count_all()
        self._live = None
        if self._reader.has_deletions():
            self._live = np.zeros(self._doc_count, dtype=bool)
            for sub, offset in self._leaves:
                self._live[np.fromiter(sub.all_doc_ids(), dtype=np.int64) + offset] = True
        self._live_count = int(self._live.sum()) if self._live is not None else self._doc_count

    @property
    def doc_count(self) -> int:
        return self._doc_count

    @property
    def live_count(self) -> int:
        return self._live_count

    @property
    def segments(self) -> int:
        return len(self._leaves)

    def live(self) -> np.ndarray | None:
        return self._live

    def _segment_ids(self) -> list[str | None]:
        return [seg.segment_id() if (seg := sub.segment()) is not None else None for sub, _ in self._leaves]

    def _load_frequent(self) -> list[FrequentPostings | None]:
        return [FrequentPostings.load(self.path, sid) if sid else None for sid in self._segment_ids()]

    def save_frequent_postings(self) -> None:
        """Write the frequent-terms table and the facet values file
        (``search.frequent_postings``) of every segment that has no table (a merged one: the
        build's workers write their segments' own), from its postings."""
        for (sub, _offset), sid, table in zip(self._leaves, self._segment_ids(), self._frequent):
            if table is not None or sid is None:
                continue
            terms = []
            for field in sorted(frequent_postings.FIELDS & set(self.schema.names())):
                for term, df in _doc_frequencies(sub, field):
                    wanted = frequent_postings.wanted(field, df)
                    text = frequent_postings.term_text(term) if wanted else None
                    postings = _segment_postings(sub, field, term) if text is not None else None
                    if postings is not None:
                        terms.append((field, text, *postings))
            frequent_postings.save(self.path, sid, terms)
        # the tables of segments a merge dropped (linked from the generation before)
        current = {sid for sid in self._segment_ids() if sid}
        for path in self.path.iterdir():
            if path.name.endswith(frequent_postings.SUFFIXES) and path.name.split(".", 1)[0] not in current:
                path.unlink()
        self._frequent = self._load_frequent()

    def postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        ids, tfs = [], []
        for (sub, offset), table in zip(self._leaves, self._frequent):
            found = table.get(field, text) if table is not None else None
            if found is not None:  # a frequent term: two slices of mapped arrays
                ids.append(found[0].astype(np.int64) + offset)
                tfs.append(found[1])
                continue
            try:
                matcher = sub.postings(field, text)
            except Exception:  # the term (or the field) is not in this segment
                continue
            if isinstance(matcher, FilterMatcher):  # deletions: masked below, in numpy
                matcher = matcher.child
            for block_ids, block_w in _leaf_blocks(matcher):
                arr = np.asarray(block_ids, dtype=np.int64)
                ids.append(arr + offset if offset else arr)
                tfs.append(np.asarray(block_w, dtype=np.float32))
        if not ids:
            return _EMPTY
        out_ids, out_tfs = np.concatenate(ids), np.concatenate(tfs)
        if self._live is not None:
            keep = self._live[out_ids]
            out_ids, out_tfs = out_ids[keep], out_tfs[keep]
        return out_ids, out_tfs

    def doc_frequency(self, field: str, text: str) -> int:
        if self._live is None:
            return self._reader.doc_frequency(field, text)
        return len(self.postings(field, text)[0])

    def docs_matching(self, query) -> np.ndarray:
        ids = np.fromiter(self._searcher.docs_for_query(query), dtype=np.int64)
        return ids if self._live is None else ids[self._live[ids]]

    def field_lengths(self, field: str) -> np.ndarray:
        lengths = np.zeros(self._doc_count, dtype=np.float32)
        for sub, offset in self._leaves:
            get, n = sub.doc_field_length, sub.doc_count_all()
            lengths[offset:offset + n] = [get(d, field) or 0 for d in range(n)]
        if self._live is not None:
            lengths[~self._live] = 0
        return lengths

    def stored(self, docnum: int) -> dict:
        return self._searcher.stored_fields(int(docnum))

    def docnum(self, doc_id: str) -> int | None:
        found = self.postings("id", doc_id)[0]
        return int(found[-1]) if len(found) else None

    def facet_docs(self, field: str) -> Iterator[tuple[str, np.ndarray]]:
        if field not in self.schema:
            return
        by_value: dict[str, list[np.ndarray]] = {}
        for (sub, offset), sid in zip(self._leaves, self._segment_ids()):
            # the segment's facet values file (a build's workers write one per segment):
            # slices of saved arrays, not a Whoosh matcher per value
            found = frequent_postings.load_facet_values(self.path, sid, field) if sid else None
            if found is None:
                found = [(term.decode("utf-8"), postings[0]) for term in sub.lexicon(field)
                         if (postings := _segment_postings(sub, field, term)) is not None]
            for value, ids in found:
                by_value.setdefault(value, []).append(ids.astype(np.int64) + offset)
        for value in sorted(by_value):
            ids = np.concatenate(by_value[value])
            if self._live is not None:
                ids = ids[self._live[ids]]
            if len(ids):
                yield value, ids.astype(np.int32)

    def dates(self) -> np.ndarray:
        # Read segment by segment: a segment none of whose documents has a date has no
        # date column, and Whoosh's multi-segment column reader then skips it, shifting
        # every later document's date.
        out = np.full(self._doc_count, -1, dtype=np.int64)
        for sub, offset in self._leaves:
            if not sub.has_column("date"):
                continue
            for i, value in enumerate(sub.column_reader("date", translate=False)):
                value = int(value)  # Python ints: whoosh's longs overflow int64 arithmetic
                if _LOW <= value <= _HIGH:
                    out[offset + i] = (value - _EPOCH) // 1_000_000
        return out

    def keys(self) -> list[bytes] | None:
        """The ``keys`` column per doc number (deleted ones included), or None for an
        index written before the column existed."""
        if not all(sub.has_column("keys") for sub, _ in self._leaves if sub.doc_count_all()):
            return None
        out: list[bytes] = []
        for sub, _offset in self._leaves:
            if sub.doc_count_all():
                out.extend(sub.column_reader("keys", translate=False))
        return out

    def terms(self, field: str) -> list[str]:
        if field not in self.schema:
            return []
        return [t.decode("utf-8") if isinstance(t, bytes) else t for t in self._reader.lexicon(field)]

    def term_counts(self, field: str) -> Iterator[tuple[str, int]]:
        if field not in self.schema:
            return iter(())
        counts: dict[bytes, int] = {}
        for sub, _offset in self._leaves:
            for term, df in _doc_frequencies(sub, field):
                counts[term] = counts.get(term, 0) + df
        return ((t.decode("utf-8") if isinstance(t, bytes) else t, n) for t, n in counts.items())

    def segment_starts(self) -> list[int]:
        return [offset for sub, offset in self._leaves if sub.doc_count_all()]

    def close(self) -> None:
        self._searcher.close()


_RECORD = struct.Struct("!ii")  # a terms file record's key and value lengths (whoosh.filedb.filetables)
_DOC_FREQUENCY = struct.Struct("!I")  # W3TermInfo's third number, after its flags byte and weight


def _doc_frequencies(sub, field: str) -> Iterator[tuple[bytes, int]]:
    """(term, documents holding it, deleted ones included) of each term of a field in
    one segment, read straight from Whoosh 3's terms file: Whoosh's ``iter_field`` makes a
    ``W3TermInfo`` of every term, most of the speller's time at publishing."""
    terms = getattr(sub, "_terms", None)
    if not isinstance(terms, W3TermsReader):
        yield from ((term, info.doc_frequency()) for term, info in sub.iter_field(field))
        return
    number, tindex = terms._fieldmap.get(field), terms._tindex
    # a key is the field's number, then the term, and the records are in key order: the
    # field's are those from its number's first key to the next number's
    pos = None if number is None else tindex.closest_key_pos(pack_ushort(number))
    if pos is None:
        return
    stop = tindex.closest_key_pos(pack_ushort(number + 1))
    data = tindex.dbfile.get(pos, (tindex.endofdata if stop is None else stop) - pos)
    at, end = 0, len(data)
    record, frequency = _RECORD.unpack_from, _DOC_FREQUENCY.unpack_from
    while at < end:
        keylen, datalen = record(data, at)
        yield bytes(data[at + 10:at + 8 + keylen]), frequency(data, at + 8 + keylen + 5)[0]
        at += 8 + keylen + datalen


def _segment_postings(sub, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """(doc numbers, weights) of a term in one segment, deleted documents included (the
    caller masks them); None when it has no postings block."""
    matcher = sub.postings(field, term)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    blocks = _leaf_blocks(matcher)
    if not blocks:
        return None
    return (np.concatenate([np.asarray(b[0], dtype=np.int64) for b in blocks]),
            np.concatenate([np.asarray(b[1], dtype=np.float32) for b in blocks]))


def _leaf_blocks(matcher) -> list[tuple]:
    """(ids, weights) of a leaf matcher, one pair per postings block.

    A Whoosh 3 block pickles its ids as a tuple of deltas and its weights as a tuple, a
    single float or None (all 1.0); they are decoded here with numpy."""
    if all(hasattr(matcher, a) for a in ("_read_data", "_next_block", "_byteids", "_blocklength")):
        blocks = []
        while not matcher._atend:
            if matcher._data is None:
                matcher._read_data()
            ids, weights = matcher._data[0], matcher._data[1]
            ids = np.asarray(ids, dtype=np.int64)
            if not matcher._byteids:
                ids = np.cumsum(ids)
            if weights is None or isinstance(weights, float):
                weights = np.full(matcher._blocklength, 1.0 if weights is None else weights, dtype=np.float32)
            blocks.append((ids, weights))
            matcher._next_block()
        return blocks
    pairs = []
    while matcher.is_active():
        pairs.append((matcher.id(), matcher.weight()))
        matcher.next()
    return [([p[0] for p in pairs], [p[1] for p in pairs])]
