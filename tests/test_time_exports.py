"""Issue 15: dates as a dimension (from/to, oldest first, the histogram and its splits),
exports (CSV, JSONL, histogram CSV, Atom), the described API (OpenAPI, unknown
parameters), and the page that keeps its state (chips, back link, Arabic wording)."""
import csv
import io
import json
import re
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from search.facets import bucket_keys, bucket_start, choose_interval
from tests.test_api import get
from web.app import create_app
from web.chart import svg_chart
from web.wording import count_phrase


@pytest.fixture(scope="module")
def client(corpus_index):
    return create_app(corpus_index).test_client()


def all_ids(client, query: str) -> list[str]:
    """Every id of a search, page by page through the API."""
    out, page = [], 1
    while True:
        doc = get(client, f"/api/search?{query}&per_page=100&page={page}")
        out += [h["id"] for h in doc["hits"]]
        if not doc["links"]["next"]:
            return out
        page += 1


def source_day(raw: str) -> date | None:
    """The UTC day of a source record's date, read here independently of the indexer:
    RFC 822 (ANT) or ``YYYY-MM-DD hh:mm:ss`` (SaudiNewsNet, taken as UTC)."""
    try:
        if raw[:3].isalpha():
            return parsedate_to_datetime(raw).astimezone(timezone.utc).date()
        return datetime.fromisoformat(raw).date()
    except (TypeError, ValueError):
        return None


def test_from_to_match_the_source_dates(client, corpus_records):
    indexed = set(all_ids(client, "q="))  # repeated bodies and URLs are dropped as duplicates
    days = {r["id"]: source_day(r.get("date") or "") for r in corpus_records if r["id"] in indexed}
    assert len(days) > 500
    low, high = date(2015, 6, 1), date(2018, 2, 10)
    found = set(all_ids(client, f"from={low}&to={high}"))
    for doc_id, day in days.items():
        if day is not None:
            assert (doc_id in found) == (low <= day <= high), (doc_id, day)
    assert len(found) > 50
    # inclusive at both ends: the last day's articles are in, the next day's are not
    day = max(d for d in days.values() if d and d <= high)
    edge = set(all_ids(client, f"from={day}&to={day}"))
    assert edge == {i for i, d in days.items() if d == day} and edge


def test_dates_combine_with_query_and_facets(client):
    base = get(client, "/api/search?q=السعودية")
    ranged = get(client, "/api/search?q=السعودية&from=2018-01-01&to=2018-12-31")
    assert 0 < ranged["total"] < base["total"]
    assert all(h["date"].startswith("2018") for h in ranged["hits"])
    # a month or a year means its first day (from) and its last day (to)
    assert get(client, "/api/search?q=السعودية&from=2018&to=2018")["total"] == ranged["total"]
    feb = get(client, "/api/search?from=2018-02&to=2018-02")
    assert feb["from"] == "2018-02-01" and feb["to"] == "2018-02-28"


@pytest.mark.parametrize("query, param", [
    ("from=2018-13-01", "from"), ("to=yesterday", "to"), ("from=01/02/2018", "from"),
    ("from=2018-03-01&to=2018-02-01", "to"), ("sort=oldest", "sort"), ("interval=hour", "interval"),
    ("histogram_by=author", "histogram_by"), ("city=x", "city"), ("limit=1", "limit"), ("q=a&q=b", "q"),
])
def test_bad_parameters_are_named(client, query, param):
    err = get(client, "/api/search?" + query, 400)["error"]
    assert err["param"] == param and param in err["message"] and param in err["message_ar"]


def test_sort_oldest_first(client):
    doc = get(client, "/api/search?q=السعودية&sort=date_asc&per_page=50")
    dates = [h["date"] for h in doc["hits"] if h["date"]]
    assert dates == sorted(dates) and len(dates) > 10
    newest = get(client, "/api/search?q=السعودية&sort=date&per_page=50")
    assert newest["hits"][0]["date"] > dates[0]


def test_histogram_sums_to_the_dated_matches(client):
    doc = get(client, "/api/search?q=السعودية")
    h = doc["histogram"]
    assert h["interval"] in ("day", "week", "month", "year")
    assert sum(b["count"] for b in h["buckets"]) + h["undated"] == doc["total"]
    starts = [b["start"] for b in h["buckets"]]
    assert starts == sorted(starts) and all(b["start"] <= b["end"] for b in h["buckets"])
    # the buckets tile the span: each starts the day after the previous ends
    for a, b in zip(h["buckets"], h["buckets"][1:]):
        assert (date.fromisoformat(b["start"]) - date.fromisoformat(a["end"])).days == 1
    # the date range narrows the hits, not the histogram (disjunctive, like the facets)
    ranged = get(client, "/api/search?q=السعودية&from=2018-01-01&to=2018-03-31")
    assert [b["count"] for b in ranged["histogram"]["buckets"]] == [b["count"] for b in h["buckets"]]
    assert ranged["total"] < doc["total"]
    # a bucket's link narrows to exactly that bucket's count
    bucket = max(h["buckets"], key=lambda b: b["count"])
    narrowed = get(client, bucket["url"])
    assert narrowed["total"] == bucket["count"]
    assert [b["selected"] for b in narrowed["histogram"]["buckets"]].count(True) == 1


def test_histogram_follows_the_other_filters(client):
    outlet = get(client, "/api/search")["facets"]["outlet"][0]
    doc = get(client, "/api/search?outlet=" + outlet["value"])
    assert sum(b["count"] for b in doc["histogram"]["buckets"]) + doc["histogram"]["undated"] == outlet["count"]


@pytest.mark.parametrize("interval", ["day", "week", "month", "year"])
def test_interval_is_honoured_or_coarsened(client, interval):
    doc = get(client, f"/api/search?q=السعودية&from=2018-01-01&to=2018-03-31&interval={interval}")
    h = doc["histogram"]
    if h["requested_interval"]:  # too many buckets for the span: a coarser one, and said so
        assert h["requested_interval"] == interval and h["interval"] != interval
    else:
        assert h["interval"] == interval
    for b in h["buckets"]:
        start = date.fromisoformat(b["start"])
        if h["interval"] == "week":
            assert start.weekday() == 0  # Monday
        if h["interval"] in ("month", "year"):
            assert start.day == 1


def test_histogram_by_outlet_sums_to_the_histogram(client):
    doc = get(client, "/api/search?q=السعودية&histogram_by=outlet")
    h = doc["histogram"]
    assert h["by"] == "outlet" and 2 <= len(h["series"]) <= 6
    for i, b in enumerate(h["buckets"]):
        assert sum(s["counts"][i] for s in h["series"]) == b["count"]
    named = [s for s in h["series"] if s["value"]]
    outlets = {v["value"]: v["count"] for v in doc["facets"]["outlet"]}
    for s in named:  # each series is that outlet's dated matches
        assert sum(s["counts"]) <= outlets[s["value"]]


def test_interval_choice_and_buckets():
    day = 86_400
    assert choose_interval(0, 30 * day) == "day"
    assert choose_interval(0, 200 * day) == "week"
    assert choose_interval(0, 5 * 365 * day) == "month"
    assert choose_interval(0, 30 * 365 * day) == "year"
    import numpy as np

    ts = np.array([int(datetime(2018, 3, 4, 23, 59, tzinfo=timezone.utc).timestamp())])  # a Sunday
    assert bucket_start(int(bucket_keys(ts, "week")[0]), "week") == date(2018, 2, 26)
    assert bucket_start(int(bucket_keys(ts, "month")[0]), "month") == date(2018, 3, 1)
    assert bucket_start(int(bucket_keys(ts, "year")[0]), "year") == date(2018, 1, 1)
    assert bucket_start(int(bucket_keys(ts, "day")[0]), "day") == date(2018, 3, 4)


def test_csv_and_jsonl_hold_the_apis_ids(client):
    for query in ("q=السعودية", "q=السعودية&sort=date_asc", "outlet=" + get(client, "/api/search")["facets"]["outlet"][1]["value"],
                  "q=الحوثي&from=2015-01-01&to=2015-12-31"):
        ids = all_ids(client, query)
        r = client.get("/api/search.csv?" + query)
        assert r.status_code == 200 and r.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
        assert [row["id"] for row in rows] == ids, query
        assert list(rows[0]) == ["id", "date", "outlet", "title", "url", "places", "actors", "score"]
        lines = client.get("/api/search.jsonl?" + query).data.decode().splitlines()
        assert [json.loads(line)["id"] for line in lines] == ids
        assert int(r.headers["X-Total-Count"]) == len(ids)
    first = json.loads(lines[0])
    assert isinstance(first["places"], list) and isinstance(first["actors"], list)
    assert get(client, "/api/search.csv?nope=1", 400)["error"]["param"] == "nope"


def test_histogram_csv(client):
    doc = get(client, "/api/search?q=السعودية&histogram_by=outlet")
    rows = list(csv.reader(io.StringIO(client.get(doc["links"]["histogram_csv"]).data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["start", "end", "count"] and len(rows[0]) == 3 + len(doc["histogram"]["series"])
    assert [int(r[2]) for r in rows[1:]] == [b["count"] for b in doc["histogram"]["buckets"]]


def test_atom_feed_parses_newest_first(client):
    import feedparser

    r = client.get("/search.atom?q=السعودية")
    assert r.status_code == 200 and r.mimetype == "application/atom+xml"
    feed = feedparser.parse(r.data)
    assert not feed.bozo, feed.bozo_exception
    assert "السعودية" in feed.feed.title and len(feed.entries) == 20
    stamps = [e.updated_parsed for e in feed.entries]
    assert stamps == sorted(stamps, reverse=True)
    newest = get(client, "/api/search?q=السعودية&sort=date")["hits"]
    assert [e.title for e in feed.entries] == [h["title"] or "(بلا عنوان)" for h in newest]
    assert all(e.link.startswith("http://localhost/doc?id=") for e in feed.entries)


@pytest.mark.parametrize("query", ["q=كلمةغيرموجودةاطلاقا&correct=off", "q=داعش", ""])
def test_atom_feed_of_undated_or_empty_results(seed_index, query):
    import feedparser

    r = create_app(seed_index).test_client().get("/search.atom?" + query)  # the seeds carry no dates
    assert r.status_code == 200, r.data[:300]
    feed = feedparser.parse(r.data)
    assert not feed.bozo and feed.feed.updated


def test_openapi_document_is_valid_and_complete(client):
    from openapi_spec_validator import validate

    spec = get(client, "/api/openapi.json")
    validate(spec)
    app = client.application
    routes = {re.sub(r"<[^>]+>", "", r.rule).rstrip("/") for r in app.url_map.iter_rules()
              if r.endpoint.startswith("mirsad.") and "<" not in r.rule and r.rule != "/"}
    assert routes <= set(spec["paths"]), routes - set(spec["paths"])
    names = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert {"q", "from", "to", "sort", "interval", "histogram_by", "outlet", "place", "actor", "country"} <= names


def test_pages_stop_at_the_last_served(client):
    doc = get(client, "/api/search?per_page=1")
    assert doc["pages"] == 500 and doc["pages_capped"] and doc["total"] > 500
    last = get(client, "/api/search?per_page=1&page=500")
    assert last["links"]["next"] is None
    err = get(client, "/api/search?per_page=1&page=501", 400)["error"]
    assert err["param"] == "page"


def test_chips_remove_one_filter_each(client):
    doc = get(client, "/api/search?q=السعودية&place=السعودية&from=2015-01-01&to=2015-12-31")
    chips = {c["facet"]: c for c in doc["chips"]}
    assert set(chips) == {"place", "from", "to"}
    without_place = parse_qs(urlsplit(chips["place"]["remove_url"]).query)
    assert "place" not in without_place and without_place["from"] == ["2015-01-01"] and without_place["q"]
    without_from = parse_qs(urlsplit(chips["from"]["remove_url"]).query)
    assert "from" not in without_from and without_from["place"] == ["السعودية"]
    cleared = parse_qs(urlsplit(doc["links"]["clear_filters"]).query)
    assert set(cleared) == {"q"}


def test_document_back_link_returns_to_the_same_results(client):
    query = "q=السعودية&place=السعودية&sort=date_asc&page=2&per_page=5"
    page = client.get("/search?" + query).data.decode()
    doc_link = re.search(r'<h3><a href="([^"]+)"', page).group(1).replace("&amp;", "&")
    html = client.get(doc_link).data.decode()
    back = re.search(r'class="back-link" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(back).query) == parse_qs(query)
    assert urlsplit(back).path == "/search"
    assert get(client, doc_link.replace("/doc?", "/api/doc?"))["links"]["back"] == back
    assert get(client, "/api/doc?id=x&nope=1", 400)["error"]["param"] == "nope"


@pytest.mark.parametrize("n, text", [
    (0, "لا نتائج"), (1, "نتيجة واحدة"), (2, "نتيجتان"), (3, "3 نتائج"), (10, "10 نتائج"),
    (11, "11 نتيجة"), (99, "99 نتيجة"), (100, "100 نتيجة"), (102, "102 نتيجة"), (103, "103 نتائج"),
    (1015, "1,015 نتيجة"), (1003, "1,003 نتائج"),
])
def test_arabic_number_agreement(n, text):
    assert count_phrase(n) == text


def test_page_wording_and_errors_in_arabic(client):
    html = client.get("/search?q=السعودية&page=abc").data.decode()
    assert "يجب أن يكون عددًا صحيحًا" in html and "page" in html
    html = client.get("/search?q=كلمةغيرموجودةاطلاقا&correct=off").data.decode()
    assert "لا نتائج" in html and "0 نتيجة" not in html
    home = client.get("/").data.decode()
    assert "<strong>الأحدث</strong>" in home and "الأهمية" not in home  # no query: newest first, said so
    assert 'dir="rtl"' in re.search(r'<input type="search" name="q"[^>]*>', home).group(0)


def test_chart_runs_right_to_left_with_arabic_months(client):
    doc = get(client, "/search?q=السعودية&interval=month".replace("/search", "/api/search"))
    svg = str(svg_chart(doc["histogram"], count_phrase))
    bars = re.findall(r'<a href="([^"]+)" class="bar[^"]*"><title>([^<]+)</title><rect class="hit-area" x="([\d.]+)"', svg)
    assert len(bars) == len(doc["histogram"]["buckets"])
    xs = [float(x) for _href, _title, x in bars]
    assert xs == sorted(xs, reverse=True)  # the oldest bucket at the right
    months = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر")
    assert all(any(m in title for m in months) for _h, title, _x in bars)
    assert 'role="img"' in svg and "aria-label" in svg


class DrivenClock:
    """A clock that moves only when told: a phase made slow without sleeping. It starts at
    the real clock (the postings walk checks the same deadline against the real one)."""

    def __init__(self):
        import time

        self.now = time.perf_counter()

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("slow, cut", [
    ("snippet", ["snippets", "facets", "histogram"]),  # the first snippet runs the budget out
    ("count", ["facets", "histogram"]),  # the first facet's counting does
])
def test_the_deadline_names_what_it_cut(corpus_gen, monkeypatch, slow, cut):
    import search.engine as engine
    from search.facets import FacetTable

    clock = DrivenClock()
    monkeypatch.setattr(engine, "clock", clock)
    if slow == "snippet":
        real = engine.snippet

        def slow_snippet(*args):
            clock.now += engine.TIME_BUDGET_S + 1
            return real(*args)

        monkeypatch.setattr(engine, "snippet", slow_snippet)
    else:
        real_count = FacetTable.count

        def slow_count(self, mask):
            clock.now += engine.TIME_BUDGET_S + 1
            return real_count(self, mask)

        monkeypatch.setattr(FacetTable, "count", slow_count)
    doc = engine.run_search(corpus_gen, engine.parse_request({"q": "السعودية"}))
    assert doc["timed_out"] == cut
    assert doc["total"] > 20 and len(doc["hits"]) == 20  # what was found is answered
    if slow == "snippet":
        assert doc["hits"][0]["snippet"] and not any(h["snippet"] for h in doc["hits"][1:])
        assert all(v == [] for v in doc["facets"].values())
    else:
        assert all(h["snippet"] for h in doc["hits"])
        assert doc["facets"]["outlet"] and all(doc["facets"][f] == [] for f in ("place", "actor", "country"))
    assert doc["histogram"]["buckets"] == [] and doc["took_ms"] > engine.TIME_BUDGET_S * 1000


def test_nothing_cut_within_the_budget(client):
    doc = get(client, "/api/search?q=السعودية")
    assert doc["timed_out"] == [] and doc["took_ms"] < 2000
