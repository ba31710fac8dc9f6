"""Ranking: how documents are ordered, on small indexes built for the purpose."""
import pytest

from indexer.build import build_index, record_keys
from indexer.sources import Record
from search.engine import ranked_ids
from search.index import IndexHandle, id_order
from search.related import RelatedForms
from tests.conftest import write_jsonl


def _index(tmp_path, records):
    build_index([write_jsonl(tmp_path / "docs.jsonl", records)], tmp_path / "ix", progress=False, entities=False)
    return IndexHandle(tmp_path / "ix").get()


def test_more_query_words_beat_more_fields(tmp_path):
    """Coordination counts the query's words, not (field, term) pairs: two words in
    title and body do not outrank all three words in the body."""
    gen = _index(tmp_path, [
        {"id": "two-words-everywhere", "title": "المعارضة في الموصل",
         "body": "المعارضة في الموصل. تقرير عن المعارضة والموصل وأحوال المدينة اليوم."},
        {"id": "three-words-in-body", "title": "تقرير ميداني",
         "body": "متى دخلت فصائل المعارضة أحياء الموصل؟ تقرير طويل عن المدينة وأحيائها وأسواقها."},
    ])
    assert ranked_ids(gen, "متى دخلت المعارضة الموصل؟") == ["three-words-in-body", "two-words-everywhere"]


def test_bm25f_saturates_across_fields(tmp_path):
    """BM25F sums a word's weighted frequencies over title and body before saturating:
    repeating a word in every field cannot lift a document past one word's ceiling
    (group weight x IDF x (k1 + 1), per group), while a document that has the word once
    in the body still scores; the IDF counts documents holding the word in any field."""
    import numpy as np

    from search.index import BM25_B, BM25_K1
    from search.postings import bm25f_scores
    from search.query import parse
    from search.schema import SCORE_GROUPS

    filler = " ".join(["تقرير عن الأسواق والمدينة اليوم"] * 5)
    gen = _index(tmp_path, [
        {"id": "everywhere", "title": "الموصل الموصل الموصل", "body": "الموصل " * 30},
        {"id": "once", "title": "تقرير", "body": f"الموصل {filler}"},
        {"id": "title-only", "title": "الموصل", "body": filler},
        {"id": "none", "title": "تقرير", "body": filler},
    ])
    pq = parse("الموصل", gen.schema)
    scores = bm25f_scores(gen.store, pq.loose, gen.lengths, BM25_K1, BM25_B, SCORE_GROUPS)
    docnum = {gen.store.stored(d)["id"]: d for d in range(gen.doc_count)}
    idf = np.log(4 / (3 + 1)) + 1  # three of four documents hold the word (title or body)
    ceiling = sum(w for _g, w in set(SCORE_GROUPS.values())) * idf * (BM25_K1 + 1)
    assert scores[docnum["everywhere"]] < ceiling
    assert scores[docnum["everywhere"]] > scores[docnum["title-only"]] > scores[docnum["once"]] > 0
    assert scores[docnum["none"]] == 0
    assert ranked_ids(gen, "الموصل") == ["everywhere", "title-only", "once"]


def test_roots_rank_but_do_not_match(tmp_path):
    """A query word's root (ISRI) lifts a matching document that holds another form of
    the word (يعتقد -> المعتقدات, both عقد), and adds nothing to what matches: an
    article sharing only roots with the query (وصل, عقد) is not a result."""
    gen = _index(tmp_path, [
        {"id": "plain", "title": "تقرير", "body": "الأسواق الشائعة بين سكان الموصل اليوم"},
        {"id": "beliefs", "title": "تقرير", "body": "المعتقدات الشائعة بين سكان الموصل اليوم"},
        {"id": "roots-only", "title": "خبر", "body": "وصل الوفد وعقد اجتماعا في المدينة"},
    ])
    assert ranked_ids(gen, "ماذا يعتقد سكان الموصل؟") == ["beliefs", "plain"]
    assert ranked_ids(gen, "يعتقد") == []  # no document holds a stem or form of it


def test_related_forms_rank_but_do_not_match(tmp_path, monkeypatch):
    """A stem spelled like a query word's stem (المتزايدة -> متزايد, يتزايد: 4-gram Dice 0.6;
    neither Snowball nor ISRI joins them) lifts a matching document, and never makes a
    document match: the article with only the related form is not a result."""
    gen = _index(tmp_path, [
        {"id": "plain", "title": "تقرير", "body": "الجرائم في المدينة القديمة يرتفع عددها"},
        {"id": "related", "title": "تقرير", "body": "الجرائم في المدينة القديمة يتزايد عددها"},
        {"id": "form-only", "title": "خبر", "body": "يتزايد عدد السكان كل عام"},
    ])
    question = "أين الجرائم المتزايدة؟"
    assert ranked_ids(gen, question) == ["related", "plain"]
    assert ranked_ids(gen, "المتزايدة") == []
    monkeypatch.setattr(gen, "related_forms", lambda: RelatedForms.from_terms([]))  # without related forms:
    # a tie, broken by the ids' hashes (the same in any shard layout)
    tie = sorted(["plain", "related"], key=lambda i: int(id_order([record_keys(Record(id=i, title="", body=""))[0]])[0]))
    assert ranked_ids(gen, question) == tie


def test_related_form_joins_the_word_before_saturation(tmp_path):
    """In BM25F a related form is a weaker occurrence of its word: its frequency, times
    its weight, joins the word's sum before saturation (so the word and its form
    together score less than twice one of them), and the IDF is the word's own."""
    import numpy as np
    from whoosh.query import Term

    from search.index import BM25_B, BM25_K1
    from search.postings import bm25f_scores

    gen = _index(tmp_path, [
        {"id": "word", "title": "", "body": "قلعة متزايد"},
        {"id": "form", "title": "", "body": "قلعة يتزايد"},
        {"id": "both", "title": "", "body": "متزايد يتزايد"},
        {"id": "none", "title": "", "body": "قلعة سور"},
    ])
    doc = {gen.store.stored(d)["id"]: d for d in range(gen.doc_count)}
    q = Term("body", "متزايد")
    groups = {"body": ("stem", 1.0)}
    k1, b = BM25_K1, BM25_B
    plain = bm25f_scores(gen.store, q, gen.lengths, k1, b, groups)
    half = bm25f_scores(gen.store, q, gen.lengths, k1, b, groups, related={("stem", "متزايد"): (("يتزايد", 0.5),)})
    idf = np.log(4 / (2 + 1)) + 1  # two documents hold متزايد itself
    saturate = lambda tf: idf * tf * (k1 + 1) / (tf + k1)  # every body here has two words: length factor 1
    assert plain[doc["form"]] == 0 and plain[doc["none"]] == 0
    assert half[doc["word"]] == pytest.approx(saturate(1.0))
    assert half[doc["form"]] == pytest.approx(saturate(0.5))
    assert half[doc["both"]] == pytest.approx(saturate(1.5))
    assert half[doc["both"]] < half[doc["word"]] + half[doc["form"]]
    assert half[doc["none"]] == 0
    # a word no document holds is scored through its forms, with their IDF
    absent = Term("body", "تزايد")
    only_forms = bm25f_scores(gen.store, absent, gen.lengths, k1, b, groups,
                              related={("stem", "تزايد"): (("يتزايد", 1.0),)})
    assert only_forms[doc["form"]] == pytest.approx((np.log(4 / 3) + 1) * (k1 + 1) / (1 + k1))
    assert only_forms[doc["word"]] == 0


def test_postings_decoded_as_whoosh_reads_them(corpus_gen):
    """term_postings decodes Whoosh 3 blocks with numpy; the ids and frequencies equal
    Whoosh's own matchers' for every term of a field, over several segments."""
    from whoosh import index as whoosh_index

    from search.postings import term_postings

    reader = whoosh_index.open_dir(str(corpus_gen.path)).reader()
    assert len(list(reader.leaf_readers())) > 1
    for fieldname in ("body", "title_exact"):
        for i, term in enumerate(reader.lexicon(fieldname)):
            if i % 7:
                continue
            text = term.decode("utf-8")
            ids, tfs = term_postings(corpus_gen.store, fieldname, text)
            m = reader.postings(fieldname, text)
            expected = []
            while m.is_active():
                expected.append((m.id(), m.weight()))
                m.next()
            assert list(zip(ids.tolist(), tfs.tolist())) == expected, (fieldname, text)


def _corpus_query_texts(corpus_records) -> list[str]:
    """The bench queries, the sample's titles and their first three words: queries as
    people type them, punctuation, stop words and Latin words included."""
    from tests.conftest import bench_queries

    texts = list(bench_queries()) + ["في", "في من على", "داعش داعش", "ISIS Mosul"]
    for rec in corpus_records[:1500]:
        title = rec.get("title") or ""
        texts += [title, " ".join(title.split()[:3])]
    return [t for t in texts if t.strip() and len(t) <= 1000]


def test_a_query_of_plain_words_parses_as_the_query_parser_would(corpus_gen, corpus_records):
    """Words only: the query is built from its words' own parses (no second pass of the
    parser), and equals what Whoosh's parser makes of the whole text, strict and loose."""
    from search import query as query_module
    from search.arabic import tokenize

    query_module.parse("x", corpus_gen.schema)
    and_parser, or_parser = query_module._parsers[id(corpus_gen.schema)]
    plain = 0
    for text in _corpus_query_texts(corpus_records):
        if not query_module.plain_words(text, tokenize(text)):
            continue
        plain += 1
        pq = query_module.parse(text, corpus_gen.schema)
        assert pq.strict == and_parser.parse(text).normalize(), text
        assert pq.loose == or_parser.parse(text).normalize(), text
    assert plain > 500
    for text in ('"وزير الخارجية"', "داعش OR الموصل", "(حلب)", "الموصل، حلب", "co-op"):
        assert not query_module.plain_words(text, tokenize(text)), text


def test_sparse_facet_counts_equal_the_pass_over_every_pair(corpus_gen, corpus_records):
    """Facet counts of a query's few documents, found by document, equal the count over
    every (document, value) pair; for the queries of the corpora and for dense masks."""
    import numpy as np

    from search.engine import _match, _parse_query
    from search.facets import SPARSE

    sparse = dense = 0
    for text in _corpus_query_texts(corpus_records)[:400]:
        pq = _parse_query(corpus_gen, text)
        if pq.empty:
            continue
        mask = _match(corpus_gen, pq, float("inf"), {})[0]
        for table in corpus_gen.facets.values():
            every_pair = np.bincount(table.pair_value[mask[table.pair_doc]], minlength=len(table.values))
            assert np.array_equal(table.count(mask), every_pair), text
        if mask.any():
            sparse += int(mask.sum()) * SPARSE < len(mask)
            dense += int(mask.sum()) * SPARSE >= len(mask)
    assert sparse > 50 and dense > 5


def test_facet_pairs_by_document_saved_equal_computed(corpus_gen):
    """The pairs by document a generation is published with equal those computed from its
    pairs by value (an older build's tables)."""
    import numpy as np

    from search.index import open_generation

    computed = open_generation(corpus_gen.path, tables=False)
    for name, table in corpus_gen.facets.items():
        assert table._doc_values is not None  # read from the generation, not computed
        saved, fresh = table._by_doc(), computed.facets[name]._by_doc()
        assert np.array_equal(saved[0], fresh[0]) and np.array_equal(saved[1], fresh[1]), name
