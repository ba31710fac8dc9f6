"""Issue 4: the page in a real browser (Playwright driving Debian's Chromium).

The server is the real app in a thread on 127.0.0.1; the browser is /usr/bin/chromium
(installed by `make test`), never a downloaded one.
"""
import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import ARTIFACTS
from web.app import create_app

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _serve(index_dir):
    """The app on 127.0.0.1 in a thread, for the module's tests."""
    srv = make_server("127.0.0.1", 0, create_app(index_dir), threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def server(seed_index):
    yield from _serve(seed_index)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(locale="ar", viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        errors = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.errors = errors
        yield pg
        browser.close()


def facet_counts(page, facet):
    out = {}
    for li in page.locator(f'section.facet[data-facet="{facet}"] li').all():
        out[li.locator(".label").inner_text().strip()] = int(li.locator(".count").inner_text().replace(",", ""))
    return out


def test_search_drill_down_and_open(page, server):
    page.goto(server + "/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    box = page.locator('header input[name="q"]')
    assert box.evaluate("el => document.activeElement === el")  # autofocus
    box.fill("بالموصل")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    assert box.input_value() == "بالموصل"  # keeps the query
    titles = page.locator("li.hit h3 a").all_inner_texts()
    assert len(titles) == 2 and page.locator("li.hit mark").count() >= 2
    assert page.locator(".summary .total").inner_text() == "نتيجتان"  # Arabic dual
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "results.png"), full_page=True)

    before = facet_counts(page, "outlet")
    assert sum(before.values()) == 2
    places = facet_counts(page, "place")
    assert places["الحمدانية"] == 1 and places["الموصل"] == 2
    page.locator('section.facet[data-facet="place"] li', has_text="الحمدانية").locator("a").click()
    page.wait_for_url(re.compile(r"place="))
    assert page.locator(".summary .total").inner_text() == "نتيجة واحدة"
    assert page.locator("li.hit").count() == 1
    selected = page.locator('section.facet[data-facet="place"] li.selected')
    assert selected.count() == 1 and "الحمدانية" in selected.inner_text()
    assert sum(facet_counts(page, "outlet").values()) == 1  # the other facets follow
    assert facet_counts(page, "place")["الموصل"] == 2  # disjunctive: own facet unchanged

    page.locator("li.hit h3 a").first.click()
    page.wait_for_url(re.compile(r"/doc\?id="))
    assert page.locator("article.doc h1").inner_text()
    assert page.locator("article.doc mark").count() >= 1  # the query is highlighted
    chips = page.locator("article.doc .chip.place").all_inner_texts()
    assert any("الموصل" in c for c in chips)
    assert page.locator("article.doc .body a.ent.place").count() >= 3  # mentions highlighted in the text
    page.screenshot(path=str(ARTIFACTS / "document.png"), full_page=True)
    page.locator("article.doc .body a.ent.place", has_text="الحمدانية").first.click()
    page.wait_for_url(re.compile(r"/search\?place="))
    assert page.locator("li.hit").count() == 1  # the mention led to the filtered search
    assert not page.errors, page.errors


def test_phone_layout_and_no_results(page, server):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server + "/search?q=" + "كلمةغيرموجودة")
    assert "لا نتائج" in page.locator(".empty").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # no horizontal scrolling on a phone
    page.set_viewport_size({"width": 1280, "height": 900})


def test_bad_parameter_page(page, server):
    response = page.goto(server + "/search?q=داعش&page=abc")
    assert response.status == 400
    assert "page" in page.locator(".error-page").inner_text()


def test_script_in_query_is_text(page, server):
    page.goto(server + "/search?q=" + "%3Cimg%20src%3Dx%20onerror%3Dwindow.pwned%3D1%3E")
    assert page.evaluate("window.pwned") is None
    assert page.locator('header input[name="q"]').input_value() == "<img src=x onerror=window.pwned=1>"


@pytest.fixture(scope="module")
def corpus_server(corpus_index):
    yield from _serve(corpus_index)


def _api(page, url):
    return page.request.get(url.replace("/search?", "/api/search?", 1)).json()


def test_histogram_bar_narrows_with_chips(page, corpus_server):
    from web.wording import count_phrase

    page.errors.clear()  # an earlier test's 400 page logs one
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(corpus_server + "/search?q=السعودية")
    doc = _api(page, page.url)
    bars = page.locator("svg.chart a.bar")
    assert bars.count() == len(doc["histogram"]["buckets"]) > 3
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chart-1280.png"), full_page=False)
    i, bucket = max(enumerate(doc["histogram"]["buckets"]), key=lambda b: b[1]["count"])
    bars.nth(i).click()
    page.wait_for_url(re.compile(r"from="))
    assert page.locator(".summary .total").inner_text() == count_phrase(bucket["count"])
    chips = page.locator(".active-filters a.chip").all_inner_texts()
    assert any(bucket["start"] in c for c in chips) and any(bucket["end"] in c for c in chips)
    assert page.locator("svg.chart a.bar.selected").count() == 1
    # remove the "from" chip: the range opens at the start, the end stays
    page.locator(".active-filters a.chip.from").click()
    page.wait_for_load_state()
    assert "from=" not in page.url and "to=" + bucket["end"] in page.url
    assert page.locator(".active-filters a.chip").count() == 1
    assert not page.errors, page.errors


def test_document_back_returns_to_the_same_page(page, corpus_server):
    from urllib.parse import parse_qs, urlsplit

    start = corpus_server + "/search?q=السعودية&outlet=العربية&outlet=اليوم&sort=date_asc&per_page=5&page=2"
    page.goto(start)
    before = parse_qs(urlsplit(page.url).query)
    first = page.locator("li.hit h3 a").first.inner_text()
    page.locator("li.hit h3 a").first.click()
    page.wait_for_url(re.compile(r"/doc\?id="))
    page.locator("a.back-link").click()
    page.wait_for_url(re.compile(r"/search\?"))
    assert parse_qs(urlsplit(page.url).query) == before
    assert page.locator("li.hit h3 a").first.inner_text() == first


def test_phone_shows_the_first_hit_first(page, corpus_server):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(corpus_server + "/search?q=السعودية&place=السعودية")
    box = page.locator("li.hit").first.bounding_box()
    assert box["y"] < 844 - 100, box  # the first hit begins on the first screen
    toggle = page.locator("details.filters > summary")
    assert toggle.is_visible() and "تصفية" in toggle.inner_text()
    assert not page.locator('section.facet[data-facet="outlet"]').is_visible()  # folded away
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "results-390.png"), full_page=False)
    toggle.click()
    assert page.locator('section.facet[data-facet="outlet"]').is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(corpus_server + "/search?q=السعودية")
    assert page.locator('section.facet[data-facet="outlet"]').is_visible()  # wide: always open
    assert not page.locator("details.filters > summary").is_visible()
