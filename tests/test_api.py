"""Issue 4: the JSON API contract, facets, pagination, sort, errors; HTML twins."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from web.app import create_app


@pytest.fixture(scope="module")
def client(seed_index):
    return create_app(seed_index).test_client()


@pytest.fixture(scope="module")
def corpus_client(corpus_index):
    return create_app(corpus_index).test_client()


def get(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.data[:300])
    return r.get_json()


def test_search_contract(client):
    doc = get(client, "/api/search?q=بالموصل")
    assert {"query", "total", "page", "per_page", "took_ms", "timed_out", "hits", "facets"} <= set(doc)
    assert doc["query"] == "بالموصل" and doc["total"] == 2 and doc["timed_out"] == []
    hit = doc["hits"][0]
    assert {"id", "title", "outlet", "date", "url", "places", "actors", "snippet", "score"} <= set(hit)
    assert set(doc["facets"]) == {"outlet", "place", "actor", "country"}
    value = doc["facets"]["place"][0]
    assert {"value", "label", "label_en", "count", "selected", "toggle_url"} <= set(value)


def test_snippet_marks_every_form_and_escapes(client):
    doc = get(client, "/api/search?q=الموصل")
    marked = {m for h in doc["hits"] for m in re.findall(r"<mark>(.*?)</mark>", h["snippet"])}
    assert "الموصل" in marked
    doc = get(client, "/api/search?q=موصل")
    marked = {m for h in doc["hits"] for m in re.findall(r"<mark>(.*?)</mark>", h["snippet"])}
    assert marked & {"الموصل", "بالموصل", "للموصل", "والموصل"}  # clitic forms of the bare query
    for h in get(client, "/api/search?q=داعش&per_page=10")["hits"]:
        assert "<" not in re.sub(r"</?mark>", "", h["snippet"])  # everything else escaped


def test_labels_are_display_names(corpus_client):
    doc = get(corpus_client, "/api/search")
    outlets = {v["value"]: (v["label"], v["label_en"]) for v in doc["facets"]["outlet"]}
    assert outlets["سكاي نيوز عربية"] == ("سكاي نيوز عربية", "Sky News Arabia")
    places = {v["value"]: v["label_en"] for v in doc["facets"]["place"]}
    assert places.get("السعودية") == "Saudi Arabia"


def test_overview_counts_everything(client):
    doc = get(client, "/api/search")
    assert doc["total"] == 5 and len(doc["hits"]) == 5
    assert sum(v["count"] for v in doc["facets"]["outlet"]) == 5


def test_filters_or_within_and_across(corpus_client):
    base = get(corpus_client, "/api/search?q=داعش")
    outlets = [v["value"] for v in base["facets"]["outlet"]][:2]
    one = get(corpus_client, "/api/search?q=داعش&outlet=" + outlets[0])
    two = get(corpus_client, f"/api/search?q=داعش&outlet={outlets[0]}&outlet={outlets[1]}")
    counts = {v["value"]: v["count"] for v in base["facets"]["outlet"]}
    assert one["total"] == counts[outlets[0]]
    assert two["total"] == counts[outlets[0]] + counts[outlets[1]]  # OR within a facet
    # disjunctive: the outlet facet ignores its own selection...
    assert {v["value"]: v["count"] for v in one["facets"]["outlet"]}[outlets[1]] == counts[outlets[1]]
    # ...while other facets apply it
    place = one["facets"]["place"][0]["value"]
    both = get(corpus_client, f"/api/search?q=داعش&outlet={outlets[0]}&place={place}")
    assert both["total"] == one["facets"]["place"][0]["count"] < one["total"] + 1  # AND across facets
    assert {v["value"]: v["count"] for v in both["facets"]["place"]}[place] == one["facets"]["place"][0]["count"]


def test_toggle_urls(client):
    doc = get(client, "/api/search?q=داعش")
    v = next(v for v in doc["facets"]["place"] if v["value"] == "الموصل")
    assert v["selected"] is False
    on = get(client, v["toggle_url"])
    assert parse_qs(urlsplit(v["toggle_url"]).query)["place"] == ["الموصل"]
    sel = next(x for x in on["facets"]["place"] if x["value"] == "الموصل")
    assert sel["selected"] is True and on["total"] == v["count"]
    off = get(client, sel["toggle_url"])
    assert off["total"] == doc["total"] and "place" not in parse_qs(urlsplit(sel["toggle_url"]).query)


def test_selected_value_stays_visible_with_zero(client):
    doc = get(client, "/api/search?q=الموصل&place=أطلنطس&facet_size=2")
    sel = [v for v in doc["facets"]["place"] if v["selected"]]
    assert doc["total"] == 0 and sel == [dict(sel[0], count=0)] and sel[0]["value"] == "أطلنطس"


def test_pagination(corpus_client):
    first = get(corpus_client, "/api/search?q=السعودية&per_page=5")
    second = get(corpus_client, "/api/search?q=السعودية&per_page=5&page=2")
    assert first["total"] == second["total"] > 10
    ids1, ids2 = [h["id"] for h in first["hits"]], [h["id"] for h in second["hits"]]
    assert len(ids1) == len(ids2) == 5 and not set(ids1) & set(ids2)
    assert first["links"]["next"] and get(corpus_client, first["links"]["next"])["hits"] == second["hits"]
    last = -(-first["total"] // 100)
    assert get(corpus_client, f"/api/search?q=السعودية&per_page=100&page={last}")["links"]["next"] is None
    beyond = get(corpus_client, f"/api/search?q=السعودية&per_page=100&page={last + 1}", 400)["error"]
    assert beyond["param"] == "page" and f"last page, {last}" in beyond["message"] and str(last) in beyond["message_ar"]


def test_sort_by_date(corpus_client):
    doc = get(corpus_client, "/api/search?q=السعودية&sort=date&per_page=30")
    dates = [h["date"] for h in doc["hits"] if h["date"]]
    assert dates == sorted(dates, reverse=True) and len(dates) > 10


def test_empty_query_with_filters_lists_newest_first(corpus_client):
    doc = get(corpus_client, "/api/search?outlet=سكاي نيوز عربية&per_page=50")
    assert doc["total"] > 50 and all(h["outlet"] == "سكاي نيوز عربية" for h in doc["hits"])
    dates = [h["date"] for h in doc["hits"]]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("url, param", [
    ("/api/search?page=0", "page"), ("/api/search?page=x", "page"), ("/api/search?page=100000", "page"),
    ("/api/search?per_page=1000", "per_page"), ("/api/search?per_page=-1", "per_page"),
    ("/api/search?sort=oldest", "sort"), ("/api/search?facet_size=abc", "facet_size"),
    ("/api/search?q=a&q=b", "q"), ("/api/search?q=" + "حلب " * 400, "q"),
])
def test_bad_parameters_are_400_naming_them(client, url, param):
    r = client.get(url)
    assert r.status_code == 400 and r.is_json
    assert r.get_json()["error"]["param"] == param and r.get_json()["error"]["message"]


def test_unknown_doc_is_404(client):
    r = client.get("/api/doc/nope")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert client.get("/doc/nope").status_code == 404


def test_doc_endpoint(client):
    doc = get(client, "/api/doc/001_eea54c58605de7f3?q=إدلب")
    assert doc["title"].startswith("فصائل") and doc["outlet"] == "نداء سوريا"
    assert {"إدلب", "الخوين"} <= {p["value"] for p in doc["places"]}
    assert "داعش" in {a["value"] for a in doc["actors"]}
    assert "<mark>إدلب</mark>" in doc["body_html"]
    # every place and actor mention is a link to the articles filtered by it
    links = re.findall(r'<a class="ent (place|actor)" href="([^"]+)" title="([^"]+)">', doc["body_html"])
    assert {"إدلب", "الخوين", "داعش", "حركة أحرار الشام"} <= {t for _, _, t in links}
    assert all(parse_qs(urlsplit(href.replace("&amp;", "&")).query)[f] == [t] for f, href, t in links)


def test_health(client):
    doc = get(client, "/api/health")
    assert doc["status"] == "ok" and doc["documents"] == 5


def test_no_results_suggests_a_spelling(corpus_client):
    gen = corpus_client.application.extensions["mirsad"].get()
    gen.speller(wait=True)  # built in the background from the first search that finds nothing on
    doc = get(corpus_client, "/api/search?q=السعوديهة&correct=off")
    assert doc["total"] == 0 and doc["suggestion"] and doc["corrected"] is None
    assert get(corpus_client, "/api/search?q=" + doc["suggestion"])["total"] > 0


def test_no_results_answers_with_the_corrections_results(corpus_client):
    gen = corpus_client.application.extensions["mirsad"].get()
    gen.speller(wait=True)
    doc = get(corpus_client, "/api/search?q=السعوديهة")
    right = get(corpus_client, "/api/search?q=" + doc["suggestion"])
    assert doc["total"] == right["total"] > 0 and doc["query"] == doc["suggestion"]
    assert [h["id"] for h in doc["hits"]] == [h["id"] for h in right["hits"]]
    assert doc["corrected"]["from"] == "السعوديهة" and "correct=off" in doc["corrected"]["literal_url"]
    literal = get(corpus_client, doc["corrected"]["literal_url"])
    assert literal["total"] == 0 and literal["corrected"] is None
    page = corpus_client.get("/search?q=السعوديهة").get_data(as_text=True)
    assert "كما كُتبت" in page and "correct=off" in page


@pytest.mark.parametrize("page, api", [
    ("/search?q=داعش&place=إدلب", "/api/search?q=داعش&place=إدلب"),
    ("/doc/001_eea54c58605de7f3", "/api/doc/001_eea54c58605de7f3"),
])
def test_every_page_has_its_json_twin(client, page, api):
    html = client.get(page)
    data = get(client, api)
    assert html.status_code == 200 and 'dir="rtl"' in html.get_data(as_text=True)
    from html import unescape

    text = unescape(html.get_data(as_text=True))
    if "hits" in data:
        for hit in data["hits"]:
            assert hit["id"] in text
        assert f'{data["total"]:,}' in text
    else:
        assert data["title"] in text


def test_cli_json_is_the_api_document(seed_index, client):
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    out = subprocess.run([sys.executable, str(ROOT / "mirsad.py"), "search", "إدلب", "--index", str(seed_index),
                          "--json", "--limit", "20"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    cli, api = json.loads(out), get(client, "/api/search?q=إدلب")
    for d in (cli, api):
        d.pop("took_ms")
    assert cli == api


def test_security_headers(client):
    r = client.get("/search?q=x")
    assert "script-src" not in r.headers["Content-Security-Policy"] or "'unsafe-inline'" not in r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
