"""Ranking: how documents are ordered, on small indexes built for the purpose."""
import json

from indexer.build import build_index
from search.engine import ranked_ids
from search.index import IndexHandle


def _index(tmp_path, records):
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    build_index([path], tmp_path / "ix", progress=False, entities=False)
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
