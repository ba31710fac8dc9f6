"""The build's segment writers: chunking, forked workers, and the fast paths (one-pass
postings, TermPool, IndexCodec) checked against what Whoosh itself writes."""
import os

import pytest
from whoosh import index as whoosh_index

import indexer.build as build_module
from indexer.build import Deduper, TermPool, build_index
from indexer.extract import Extractor
from indexer.sources import read_sources
from search import store
from search.engine import ids_for_query
from search.index import IndexHandle
from search.schema import FACET_NAMES, build_schema

TEXT_FIELDS = ("title", "body", "title_exact", "body_exact", "root", "place", "actor", "outlet")


def _postings(reader, fieldname):
    """Every (term, [(docnum, weight, value bytes)]) of a field, over all segments."""
    out = {}
    for text in reader.field_terms(fieldname):
        m = reader.postings(fieldname, text)
        rows = []
        while m.is_active():
            rows.append((m.id(), m.weight(), m.value()))
            m.next()
        out[text] = rows
    return out


@pytest.fixture(scope="module")
def small_records(seeds_dir, corpus_sample):
    recs = [r for r in read_sources([seeds_dir, corpus_sample]) if not hasattr(r, "fatal")]
    return recs[:400]


def test_segments_hold_what_whoosh_would_write(tmp_path, small_records, monkeypatch):
    """Forked workers, several segments, TermPool and the one-pass formats give the
    postings and stored fields of a plain Whoosh writer fed the same documents."""
    monkeypatch.setattr(build_module, "SEGMENT_DOCS", 100)
    extractor = Extractor()
    ours = tmp_path / "ours"
    ours.mkdir()
    report = build_module.BuildReport()
    build_module._write(ours, iter(small_records), Deduper(report), extractor, 2, False, report)

    # the same documents, in the order the workers numbered them, through a plain writer
    with whoosh_index.open_dir(str(ours)).reader() as a:
        order = [d["id"] for d in a.all_stored_fields()]
    by_id = {r.id: r for r in small_records}
    assert report.indexed == len(order) == len(set(order)) == len(small_records) - sum(report.duplicates.values())
    plain = tmp_path / "plain"
    plain.mkdir()
    ix = whoosh_index.create_in(str(plain), build_schema())
    writer = ix.writer()  # Whoosh's PostingPool and default codec
    for doc_id in order:
        rec = by_id[doc_id]
        doc = build_module._document(rec, extractor.extract(rec), {f: {} for f in FACET_NAMES})
        writer.add_document(**doc, keys=b"".join(build_module.record_keys(rec)))
    writer.commit()

    with whoosh_index.open_dir(str(ours)).reader() as a, ix.reader() as b:
        assert len(list(a.leaf_readers())) >= 4  # really several segments
        assert a.doc_count() == b.doc_count() == len(order)
        assert list(a.all_stored_fields()) == list(b.all_stored_fields())
        assert list(a.column_reader("keys")) == list(b.column_reader("keys"))
        for name in TEXT_FIELDS:
            assert _postings(a, name) == _postings(b, name), name
            assert [a.doc_field_length(d, name) for d in range(a.doc_count())] == \
                   [b.doc_field_length(d, name) for d in range(b.doc_count())]


def test_pool_writer_files_what_whooshs_path_files(tmp_path, small_records):
    """PoolWriter's own add_document and Whoosh's (which it takes for a document with
    boosts) leave the same postings in the pool, field lengths and stored fields."""
    from indexer.build import PoolWriter
    from search.schema import IndexCodec

    extractor = Extractor()
    pools = []
    for boost in (False, True):
        d = tmp_path / str(boost)
        d.mkdir()
        writer = PoolWriter(whoosh_index.create_in(str(d), build_schema()), codec=IndexCodec())
        for rec in small_records[:60]:
            doc = build_module._document(rec, extractor.extract(rec), {f: {} for f in FACET_NAMES})
            writer.add_document(**doc, **({"_boost": 1.0} if boost else {}))
        assert writer.docnum == 60
        pools.append((list(writer.pool.iter_postings()), dict(writer.perdocwriter._fieldlengths)))
        writer.cancel()
    assert pools[0] == pools[1]
    names = {p[0] for p in pools[0][0]}
    assert {"body", "body_exact", "root", "title", "place", "id"} <= names
    assert "date" not in names  # stored and a column, not indexed (search.schema.StoredDate)


@pytest.mark.parametrize("text_fields", [frozenset(), frozenset({"body"})])
def test_term_pool_orders_like_whoosh(text_fields):
    from whoosh.writing import PostingPool
    from whoosh.filedb.filestore import RamStorage

    items = [("body", t.encode(), d, 1.0, b"x") for d in range(5) for t in ("حلب", "ادلب", "الموصل")[d % 3:]]
    items += [("a_field", b"z", d, 2.0, b"") for d in range(3)]
    ours, theirs = TermPool(text_fields), PostingPool(RamStorage(), None)
    for item in items:
        ours.add(item)
        theirs.add(item)
    assert list(ours.iter_postings()) == list(theirs.iter_postings())


def test_worker_error_fails_the_build_and_keeps_the_index(tmp_path, seeds_dir, small_records, monkeypatch):
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    before = os.readlink(index_dir / store.CURRENT)
    hits = ids_for_query(IndexHandle(index_dir).get(), "داعش")

    monkeypatch.setattr(build_module, "SEGMENT_DOCS", 100)
    bad_id = small_records[250].id
    real = Extractor.extract

    def failing(self, record):
        if record.id == bad_id:
            raise ValueError(f"extraction failed on {record.id}")
        return real(self, record)

    monkeypatch.setattr(Extractor, "extract", failing)
    sample = tmp_path / "sample.jsonl"
    from tests.conftest import write_jsonl
    write_jsonl(sample, [{"id": r.id, "title": r.title, "body": r.body} for r in small_records])
    with pytest.raises(ValueError, match=bad_id):
        build_index([sample], index_dir, progress=False, procs=2)
    assert os.readlink(index_dir / store.CURRENT) == before
    assert not list(index_dir.glob(".build-*"))
    assert ids_for_query(IndexHandle(index_dir).get(), "داعش") == hits


def test_facet_values_come_from_the_segments_files(tmp_path, small_records, monkeypatch):
    """A build's workers save every facet value's doc numbers beside each segment, so the
    facet tables are read from them: the same values and doc numbers as the values'
    postings give (what a segment without the file is read from), deletions (a replaced
    article) left out. Queries' tables do not load them."""
    from search import frequent_postings
    from search.whoosh_storage import WhooshStorage

    monkeypatch.setattr(build_module, "SEGMENT_DOCS", 100)
    from tests.conftest import write_jsonl
    rows = [{"id": r.id, "title": r.title, "body": r.body, "outlet": r.outlet} for r in small_records]
    write_jsonl(tmp_path / "a.jsonl", rows)
    index_dir = tmp_path / "ix"
    build_index([tmp_path / "a.jsonl"], index_dir, progress=False, procs=2)
    write_jsonl(tmp_path / "b.jsonl", [{**rows[5], "body": rows[5]["body"] + " وفي حلب"}])
    build_index([tmp_path / "b.jsonl"], index_dir, progress=False, add=True)
    path = IndexHandle(index_dir).get().path
    storage = WhooshStorage(path)
    assert len(storage._leaves) >= 4 and storage._live is not None and not storage._live.all()
    files = sorted(path.glob("*.facet-values.npz"))
    assert len(files) == len(storage._leaves)
    assert all(frequent_postings.kept(f, 1) is False for f in FACET_NAMES)  # not in the queries' tables
    fast = {name: [(v, ids.tolist()) for v, ids in storage.facet_docs(name)] for name in FACET_NAMES}
    assert len(fast["outlet"]) >= 5 and len(fast["place"]) > 100 and len(fast["actor"]) > 100
    for f in files:
        f.unlink()  # as a generation written before the files existed
    slow = {name: [(v, ids.tolist()) for v, ids in storage.facet_docs(name)] for name in FACET_NAMES}
    assert fast == slow
    storage.close()


def test_dates_stay_with_their_documents_across_segments(tmp_path, seeds_dir):
    """`make run` indexes the seeds with two processes: two segments, and one of them
    may hold no dated article at all (Whoosh then writes no date column for it)."""
    from datetime import datetime

    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False, procs=2)
    gen = IndexHandle(index_dir).get()
    reader = whoosh_index.open_dir(str(gen.path)).reader()
    assert len(list(reader.leaf_readers())) == 2
    stored = [d.get("date") for d in reader.all_stored_fields()]
    assert any(d is None for d in stored) and any(d is not None for d in stored)
    expected = [int((d - datetime(1970, 1, 1)).total_seconds()) if d else -1 for d in stored]
    assert gen.dates.tolist() == expected


def _grouped_postings(records, text: bool = False):
    """Real postings of ``records`` for every indexed field, grouped as TermPool files
    them, plus hand-made lists for the block edges a small sample rarely reaches:
    exactly 128 and 129 postings, 300 with varying or equal weights, empty values.
    ``text``: the text fields' terms kept as text, as PoolWriter's pool keeps them."""
    from whoosh.system import pack_uint
    schema = build_schema()
    pool = TermPool(build_module.text_fields(schema) if text else frozenset())
    extractor = Extractor()
    for docnum, rec in enumerate(records):
        doc = build_module._document(rec, extractor.extract(rec), {f: {} for f in FACET_NAMES})
        for name, value in doc.items():
            field = schema[name]
            if not field.indexed:
                continue
            for term, _freq, weight, vbytes in field.index(value):
                pool.add((name, term, docnum, weight, vbytes))
    # terms that sort after every word; U+10FFFF's UTF-8 is what the bytes ones start with
    last = "\U0010ffff".encode() if text else b"\xff"
    edges = {b"128": [1.0] * 128, b"129": [2.0] * 129, b"300": [float(i % 7 + 1) for i in range(300)],
             b"300eq": [3.5] * 300, b"one": [0.25]}
    for term, weights in edges.items():
        for docnum, w in enumerate(weights):
            pool.add(("body_exact", last + term, docnum * 3, w, pack_uint(int(w))))
            pool.add(("body", last + term, docnum * 3, w, b"" if docnum % 5 else b"\x01\x02"))
            pool.add(("date", b"\xff" + term, docnum * 3, w, b""))
    return pool.iter_postings()


def _segment_files(codec, items) -> dict[str, bytes]:
    """The files of a segment whose postings ``codec``'s field writer wrote from ``items``."""
    from whoosh.filedb.filestore import RamStorage
    storage = RamStorage()
    segment = codec.new_segment(storage, "ix")
    writer = codec.field_writer(storage, segment)
    writer.add_postings(build_schema(), None, items)
    writer.close()
    return {name.rsplit(".", 1)[1]: storage.open_file(name).read() for name in sorted(storage.list())}


@pytest.mark.parametrize("grouped_input,text", [(True, True), (True, False), (False, True)])
def test_grouped_field_writer_writes_whooshs_bytes(small_records, grouped_input, text, monkeypatch):
    """GroupedFieldWriter's one-pass path (and its fallback to Whoosh's path for postings
    that are not grouped) leaves the postings and term files byte for byte as Whoosh's own
    W3FieldWriter writes them from the same postings, but for the pickle protocol of the
    blocks' data (``search.codec._DATA_PROTOCOL``)."""
    import pickle

    from whoosh.codec import whoosh3
    from whoosh.codec.whoosh3 import W3FieldWriter
    import search.codec
    from search.schema import IndexCodec

    def dumps(obj, protocol):  # a block's data is (ids, weights, values); its info has six items
        data = isinstance(obj, tuple) and len(obj) == 3
        return pickle.dumps(obj, search.codec._DATA_PROTOCOL if data else protocol)

    monkeypatch.setattr(whoosh3, "dumps", dumps)

    grouped = _grouped_postings(small_records[:150], text)
    n_terms = sum(1 for name in grouped.names for _ in grouped.terms(name))
    assert n_terms > 5000
    calls = []
    term_blocks = search.codec._term_blocks
    monkeypatch.setattr(search.codec, "_term_blocks", lambda *a: calls.append(1) or term_blocks(*a))
    ours = _segment_files(IndexCodec(), grouped if grouped_input else iter(grouped))
    assert len(calls) == (n_terms if grouped_input else 0)  # which path wrote them

    class PlainCodec(IndexCodec):
        def field_writer(self, storage, segment):
            return W3FieldWriter(self, storage, segment)

    theirs = _segment_files(PlainCodec(), iter(grouped))
    assert sorted(ours) == sorted(theirs) == ["pst", "trm"]
    for name in ours:
        assert ours[name] == theirs[name], name


def test_grouped_field_writer_keeps_the_frequent_terms_postings(small_records, monkeypatch):
    """What the one-pass path keeps for ``search.frequent_postings``: every searched
    field's terms with more than MIN_POSTINGS postings (text terms only) and every facet
    value (for the segment's facet values file), each with the doc numbers and the 32-bit
    weights it wrote."""
    import numpy as np
    from whoosh.filedb.filestore import RamStorage

    from search import frequent_postings
    from search.schema import IndexCodec

    monkeypatch.setattr(frequent_postings, "MIN_POSTINGS", 10)  # 150 articles: enough such terms
    grouped = _grouped_postings(small_records[:150], text=True)
    storage, codec = RamStorage(), IndexCodec()
    writer = codec.field_writer(storage, codec.new_segment(storage, "ix"))
    writer.add_postings(build_schema(), None, grouped)
    writer.close()
    kept = {(f, t): (ids, weights) for f, t, ids, weights in writer.frequent}
    expected = {}
    for field in grouped.names:
        for term, ids, weights, _values in grouped.terms(field):
            if field in FACET_NAMES or (field in frequent_postings.FIELDS and len(ids) > 10):
                expected[(field, term)] = (ids, weights)  # a facet value's are kept however few
    assert len(expected) > 100 and kept.keys() == expected.keys()
    assert any(f in FACET_NAMES and len(ids) == 1 for (f, _t), (ids, _w) in expected.items())  # every facet value
    assert {f for f, _t in kept} >= {"body", "body_exact", "title", "root"}
    for key, (doc_ids, doc_weights) in expected.items():
        ids, weights = kept[key]
        assert ids.dtype == np.int32 and ids.tolist() == doc_ids, key
        assert np.array_equal(weights, np.array(doc_weights, dtype=np.float32)), key
