"""Entity-aware search (search/entity_names.py, search.engine): a query that is the name,
an alias or the English label of a known place or actor also finds the documents tagged
with it, on a sample of the shared corpora."""
import pytest

from search.engine import matching_ids, parse_request, run_search
from web.links import search_document
from search.entity_names import EntityNames, name_key


@pytest.mark.parametrize("written, key", [
    ("الموصل", "موصل"), ("الموصِل", "موصل"), ("Mosul", "mosul"), ("MOSUL", "mosul"),
    ("Erdoğan", "erdogan"), ("«تنظيم الدولة»", "تنظيم دوله"), ("الدولة الإسلامية", "دوله اسلاميه"),
    ("ISIS", "isis"), ("", ""),
])
def test_name_key(written, key):
    assert name_key(written) == key


def test_names_aliases_and_english_labels_name_the_entity():
    names = EntityNames.from_labels({
        "actor": {"داعش": {"ar": "داعش", "en": "Islamic State (ISIS)", "aliases": ["تنظيم الدولة", "ISIS"]}},
        "place": {"الموصل": {"ar": "الموصل", "en": "Mosul"}},
        "outlet": {"الجزيرة": {"ar": "الجزيرة", "en": "Al Jazeera"}},  # outlets are filters, not names
    })
    assert names.lookup("isis") == [("actor", "داعش")]
    assert names.lookup("تنظيم الدولة") == [("actor", "داعش")]
    assert names.lookup("mosul") == [("place", "الموصل")] == names.lookup("موصل")
    assert names.lookup("Al Jazeera") == [] and names.lookup("داعش الموصل") == []


def test_a_persons_english_family_name_names_them_unless_shared():
    names = EntityNames.from_labels({"actor": {
        "رجب طيب أردوغان": {"ar": "رجب طيب أردوغان", "en": "Recep Tayyip Erdogan", "type": "person"},
        "بشار الأسد": {"ar": "بشار الأسد", "en": "Bashar al-Assad", "type": "person"},
        "حافظ الأسد": {"ar": "حافظ الأسد", "en": "Hafez al-Assad", "type": "person"},
        "الجيش الحر": {"ar": "الجيش الحر", "en": "Free Syrian Army", "type": "armed_group"},
    }})
    assert names.lookup("erdogan") == [("actor", "رجب طيب أردوغان")]
    assert names.lookup("assad") == [] and names.lookup("army") == []


def test_a_saved_table_answers_as_the_one_built(tmp_path, seed_gen):
    """The saved table is looked up by bisection over its sorted lines: every name (and a
    name that is another's first word, الأسد / الأسد بشار) answers as the dict built from
    the labels; a generation saved by an earlier build (one JSON object) still loads."""
    import json

    from search.entity_names import OLD_FILE

    built = EntityNames.from_labels({**seed_gen.labels, "actor": {
        **seed_gen.labels.get("actor", {}),
        "الأسد": {"ar": "الأسد", "en": ""}, "الأسد بشار": {"ar": "الأسد بشار", "en": ""}}})
    built.save(tmp_path)
    saved = EntityNames.load(tmp_path)
    assert saved.lines is not None and len(saved.lines) == len(built.table) > 50
    assert saved.by_key == {k: [tuple(p) for p in v] for k, v in built.table.items()}
    for key in list(built.table) + ["", "ا", "zzz", "اسد ب"]:
        assert saved.lookup(key) == built.lookup(key)
    assert saved.lookup("الأسد") == [("actor", "الأسد")] and saved.lookup("الأسد بشار") == [("actor", "الأسد بشار")]
    older = tmp_path / "older"
    older.mkdir()
    (older / OLD_FILE).write_text(json.dumps(built.table, ensure_ascii=False), encoding="utf-8")
    assert all(EntityNames.load(older).lookup(k) == built.lookup(k) for k in built.table)


def _tagged(gen, facet, value) -> set[str]:
    return set(matching_ids(gen, parse_request({facet: value})))


@pytest.mark.parametrize("query, facet, value", [
    ("Mosul", "place", "الموصل"),
    ("داعش", "actor", "داعش"),
    ("تنظيم الدولة", "actor", "داعش"),
])
def test_a_query_naming_an_entity_finds_its_tagged_documents(corpus_gen, query, facet, value):
    tagged = _tagged(corpus_gen, facet, value)
    assert len(tagged) >= 5
    found = set(matching_ids(corpus_gen, parse_request({"q": query})))
    assert tagged <= found
    doc = search_document(corpus_gen, parse_request({"q": query}))
    assert {"facet": facet, "value": value} in [{k: e[k] for k in ("facet", "value")} for e in doc["entities"]]
    assert doc["links"]["words_only"] and "entities=off" in doc["links"]["words_only"]
    assert all(e["filter_url"].startswith("/api/search?") for e in doc["entities"])


def test_the_name_and_its_filter_agree_outlet_by_outlet(corpus_gen):
    """A reader comparing outlets by typing داعش sees what the actor filter shows: the
    articles that only write the adjective or the plural (خلية داعشية، الدواعش), which
    the stemmer joins to the name, are tagged with the group too."""
    tagged = _tagged(corpus_gen, "actor", "داعش")
    words = set(matching_ids(corpus_gen, parse_request({"q": "داعش", "entities": "off"})))
    found = set(matching_ids(corpus_gen, parse_request({"q": "داعش"})))
    assert len(tagged) >= 50 and tagged <= found
    assert len(words - tagged) <= 0.05 * len(tagged)
    outlets = run_search(corpus_gen, parse_request({"actor": "داعش", "facet_size": "100"}))["facets"]["outlet"]
    compared = 0
    for v in outlets:
        if v["count"] >= 10:
            by_words = len(matching_ids(corpus_gen, parse_request({"q": "داعش", "outlet": v["value"]})))
            assert abs(by_words - v["count"]) <= 0.05 * v["count"], v["value"]
            compared += 1
    assert compared >= 2


def test_entities_off_searches_the_words_only(corpus_gen):
    words = run_search(corpus_gen, parse_request({"q": "Mosul", "entities": "off"}))
    named = run_search(corpus_gen, parse_request({"q": "Mosul"}))
    assert words["entities"] == [] and named["total"] > words["total"]
    assert named["hits"] and named["hits"][0]["score"] > 0  # ranked by the Arabic name's words


def test_operators_keep_their_meaning_and_longer_queries_name_their_parts(corpus_gen):
    assert run_search(corpus_gen, parse_request({"q": "داعش OR حلب"}))["entities"] == []
    assert run_search(corpus_gen, parse_request({"q": '"داعش" الموصل'}))["entities"] == []  # phrases stay phrases
    named = run_search(corpus_gen, parse_request({"q": "داعش في الموصل"}))["entities"]
    assert {(e["facet"], e["value"]) for e in named} == {("actor", "داعش"), ("place", "الموصل")}


def test_entities_parameter_is_validated(corpus_gen):
    from search.engine import BadRequest

    with pytest.raises(BadRequest) as exc:
        parse_request({"q": "x", "entities": "maybe"})
    assert exc.value.param == "entities"


def test_the_page_says_which_entity_it_included(corpus_index):
    from web.app import create_app

    client = create_app(corpus_index).test_client()
    page = client.get("/search?q=Mosul").get_data(as_text=True)
    assert "يشمل أيضًا" in page and "/search?place=" in page and "entities=off" in page
    assert "يشمل أيضًا" not in client.get("/search?q=Mosul&entities=off").get_data(as_text=True)


@pytest.mark.parametrize("query, name, facet, value, other", [
    ("تنظيم الدولة سوريا", "تنظيم الدولة", "actor", "داعش", "سوريا"),
    ("هجوم داعش", "داعش", "actor", "داعش", "هجوم"),
])
def test_a_name_inside_a_longer_query(corpus_gen, query, name, facet, value, other):
    from search.engine import ids_for_query

    found = set(matching_ids(corpus_gen, parse_request({"q": query})))
    words_only = set(matching_ids(corpus_gen, parse_request({"q": query, "entities": "off"})))
    tagged, rest = _tagged(corpus_gen, facet, value), set(ids_for_query(corpus_gen, other))
    assert words_only < found  # the tagged documents that write the name otherwise join
    assert tagged & rest <= found
    assert found <= (set(ids_for_query(corpus_gen, name)) | tagged) & (rest | _tagged(corpus_gen, "place", other))
    doc = run_search(corpus_gen, parse_request({"q": query}))
    assert (facet, value) in [(e["facet"], e["value"]) for e in doc["entities"]]


def test_a_common_word_that_is_also_a_name_stays_a_word(corpus_gen):
    doc = run_search(corpus_gen, parse_request({"q": "الوضع المالي"}))
    assert doc["entities"] == []  # مالي: financial here, and the extraction tags Mali rarely
    assert doc["total"] == run_search(corpus_gen, parse_request({"q": "الوضع المالي", "entities": "off"}))["total"]
