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
