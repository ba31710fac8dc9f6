"""Ranking: how documents are ordered, on small indexes built for the purpose."""
from indexer.build import build_index
from search.engine import ranked_ids
from search.index import IndexHandle
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
    pq = parse("الموصل", gen.searcher.schema)
    scores = bm25f_scores(gen.searcher, pq.loose, gen.lengths, BM25_K1, BM25_B, SCORE_GROUPS)
    docnum = {gen.searcher.stored_fields(d)["id"]: d for d in range(gen.doc_count)}
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
