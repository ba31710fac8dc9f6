"""Issue 6: dirty input, interrupted builds, hostile queries and documents."""
import codecs
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.build import build_index
from indexer.sources import Problem, Record, decode_bytes, read_sources
from search import store
from search.engine import ids_for_query
from search.index import IndexHandle
from tests.conftest import ROOT, iter_corpus, write_jsonl
from web.app import create_app

ARTICLE = "قالت مصادر في مدينة إدلب إن الاشتباكات مستمرة.\nوأضافت أن الوضع الإنساني صعب."


# --- encodings ---------------------------------------------------------------------

@pytest.mark.parametrize("name, data", [
    ("utf8.txt", ARTICLE.encode("utf-8")),
    ("utf8-bom.txt", codecs.BOM_UTF8 + ARTICLE.encode("utf-8")),
    ("utf16le.txt", codecs.BOM_UTF16_LE + ARTICLE.encode("utf-16-le")),
    ("utf16be.txt", codecs.BOM_UTF16_BE + ARTICLE.encode("utf-16-be")),
    ("cp1256.txt", ARTICLE.encode("cp1256")),
])
def test_text_encodings_are_read(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    items = list(read_sources([tmp_path / name]))
    assert len(items) == 1 and isinstance(items[0], Record)
    assert "إدلب" in items[0].title + items[0].body and "\ufeff" not in items[0].title


@pytest.mark.parametrize("data, reason", [
    (bytes(range(256)) * 20, "binary"),
    (ARTICLE.rstrip(".").encode("utf-8")[:-1], "truncated UTF-8"),  # cut inside a letter
    (b"\x00\x01\x02\x03" * 100, "binary"),
    (codecs.BOM_UTF16_LE + b"\x00\xd8", "UTF-16"),
])
def test_non_text_files_are_skipped_with_reason(tmp_path, data, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    items = list(read_sources([path]))
    assert len(items) == 1 and isinstance(items[0], Problem)
    assert str(path) in str(items[0]) and reason in items[0].reason


def test_decode_rejects_latin_text_as_cp1256():
    assert decode_bytes("Ceci est un texte français très ordinaire".encode("latin-1"))[0] is None


# --- dirty JSONL -------------------------------------------------------------------

def dirty_jsonl(path):
    lines = [
        json.dumps({"id": "ok-1", "title": "إدلب", "body": "اشتباكات في إدلب"}, ensure_ascii=False),
        "{not json at all",
        "",
        json.dumps({"title": "بلا معرف", "body": "نص"}, ensure_ascii=False),
        json.dumps({"id": "", "title": "معرف فارغ", "body": "نص"}, ensure_ascii=False),
        json.dumps({"id": "empty", "title": "", "body": ""}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "nul", "title": "عنوان\u0000مع NUL", "body": "نص\u0000عن حلب"}, ensure_ascii=False),
        json.dumps({"id": "huge", "title": "ضخم", "body": "حلب " * 5_500_000}, ensure_ascii=False),
        json.dumps({"id": 12345, "title": "معرف رقمي", "body": "نص عن الموصل"}, ensure_ascii=False),
        json.dumps({"id": "ok-1", "title": "إدلب مكرر", "body": "النسخة الأخيرة عن إدلب"}, ensure_ascii=False),
        "\ufeff" + json.dumps({"id": "bom", "title": "بعلامة", "body": "نص عن دمشق"}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_dirty_jsonl_is_indexed_and_reported(tmp_path):
    report = build_index([dirty_jsonl(tmp_path / "dirty.jsonl")], tmp_path / "ix", progress=False)
    text = "\n".join(report.problems)
    assert "dirty.jsonl:2: malformed JSON" in text
    assert "dirty.jsonl:4: missing id" in text and "dirty.jsonl:5: missing id" in text
    assert "dirty.jsonl:6: empty record" in text
    assert "dirty.jsonl:7: expected a JSON object" in text
    assert re.search(r"dirty.jsonl:9: body of 21,999,99\d characters truncated to 2,000,000", text)
    assert "dirty.jsonl:11: duplicate id 'ok-1'" in text
    assert report.indexed == 5 and report.duplicates["id"] == 1
    gen = IndexHandle(tmp_path / "ix").get()
    assert ids_for_query(gen, "إدلب") == ["ok-1"]  # the last record of an id won
    assert set(ids_for_query(gen, "حلب")) == {"nul", "huge"}
    assert ids_for_query(gen, "الموصل") == ["12345"] and ids_for_query(gen, "دمشق") == ["bom"]
    from search.engine import get_document

    assert "\x00" not in get_document(gen, "nul")["title"]


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    raw = "".join(json.dumps({"id": f"d{i}", "title": "حلب", "body": f"نص {i} عن حلب"}, ensure_ascii=False) + "\n"
                  for i in range(2000)).encode()
    data = gzip.compress(raw)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    report = build_index([path], tmp_path / "ix", progress=False)
    assert 0 < report.indexed < 2000
    assert any("truncated or corrupt" in p for p in report.problems)


def test_jawharafm_dirt_is_reported(tmp_path):
    """The dirty shared corpus: every problem reported, the rest indexed."""
    records, problems = [], []
    for item in read_sources([ROOT.parent / "shared" / "corpus" / "ant-jawharafm.jsonl.gz"]):
        (records if isinstance(item, Record) else problems).append(item)
    assert len(records) + sum(p.fatal for p in problems) == 10161
    assert sum("empty body" in p.reason for p in problems) == 23
    no_outlet = [r for r in records if not r.outlet]
    assert len(no_outlet) == 1 and no_outlet[0].id.isdigit()
    dirty = {r.id for r in no_outlet} | {p.reason.split("id ")[-1].rstrip(")") for p in problems}
    sample = write_jsonl(tmp_path / "sample.jsonl", (rec for i, rec in enumerate(iter_corpus("ant-jawharafm.jsonl.gz"))
                                                     if i < 300 or str(rec["id"]) in dirty))
    proc = subprocess.run([sys.executable, str(ROOT / "mirsad.py"), "index", str(sample), "--index",
                           str(tmp_path / "ix"), "--quiet"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and "empty body" in proc.stderr and "indexed" in proc.stderr


def test_sigint_keeps_previous_index(tmp_path, seeds_dir):
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    before = os.readlink(index_dir / store.CURRENT)
    big = write_jsonl(tmp_path / "big.jsonl", (rec for _, rec in zip(range(3000), iter_corpus("saudinewsnet.jsonl.gz"))))
    # Ctrl-C as in a terminal: a shell that starts the suite in the background (CI, nohup,
    # `make test &`) has its children ignore SIGINT, and Python then installs no handler
    proc = subprocess.Popen([sys.executable, str(ROOT / "mirsad.py"), "index", str(big), "--index", str(index_dir),
                             "--quiet"], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while not list(index_dir.glob(".build-*")) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "previous index" in err and "Traceback" not in err
    assert os.readlink(index_dir / store.CURRENT) == before
    assert not list(index_dir.glob(".build-*"))


def test_concurrent_build_is_refused(tmp_path, seeds_dir):
    index_dir = tmp_path / "ix"
    with store.build_lock(index_dir):
        with pytest.raises(store.IndexUnavailable, match="another build is running"):
            build_index([seeds_dir], index_dir, progress=False)


def test_missing_generation_is_a_clear_error(tmp_path, seeds_dir):
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    import shutil

    shutil.rmtree(next(index_dir.glob("gen-*")))
    with pytest.raises(store.IndexUnavailable, match="which is missing"):
        IndexHandle(index_dir).get()


# --- hostile queries and documents --------------------------------------------------

@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "h.jsonl"
    recs = [
        {"id": "x1", "outlet": "\"><img src=x onerror=alert(1)>", "title": "<script>alert('t')</script> عنوان عن حلب",
         "body": "نص عن حلب <img src=x onerror=alert(2)> و \"><b>غامق</b> & &lt;script&gt;alert(3)&lt;/script&gt;"},
        {"id": "x2", "title": "عادي عن حلب", "body": "نص عادي عن حلب ودمشق"},
    ]
    write_jsonl(path, recs)
    index_dir = path.parent / "ix"
    build_index([path], index_dir, progress=False)
    return index_dir


@pytest.fixture(scope="module")
def hostile(hostile_index):
    return create_app(hostile_index).test_client()


def _no_markup(html: str) -> None:
    for bad in ("<script", "<img", "onerror=", "<b>"):
        assert bad not in html.lower().replace("&lt;", "‹"), bad


@pytest.mark.parametrize("url", ["/search?q=حلب", "/search", "/doc/x1", "/doc/x1?q=حلب",
                                 "/search?q=<script>alert(1)</script>", "/search?q=حلب&page=<img src=x>",
                                 "/doc/<script>alert(1)</script>"])
def test_markup_is_text_everywhere(hostile, url):
    r = hostile.get(url)
    assert r.status_code in (200, 400, 404)
    _no_markup(r.get_data(as_text=True))


def test_markup_in_json_is_escaped_in_snippets(hostile):
    doc = hostile.get("/api/search?q=حلب").get_json()
    for hit in doc["hits"]:
        _no_markup(hit["snippet"])


@pytest.mark.parametrize("url", ["/doc/..%2F..%2Fetc%2Fpasswd", "/api/doc/../../mirsad.py", "/static/../../mirsad.py",
                                 "/static/..%2F..%2Fmirsad.py", "/api/doc/%2Fetc%2Fpasswd"])
def test_no_path_reads_outside_the_index(hostile, url):
    r = hostile.get(url)
    assert r.status_code in (400, 404) and b"root:" not in r.data and b"def main" not in r.data


@pytest.mark.parametrize("q", ['"unbalanced', "((حلب", "حلب)))", "AND", "OR", "NOT", "NOT NOT", "AND OR NOT",
                               "*", "*حلب", "?", "حل*", ":", "title:حلب", "حلب^", "حلب~2", "[a TO z]", "{}",
                               '"" ""', "\\", "%00", "‏‎", "ـــ", "ً", "؟؟؟", "حلب " * 60])
def test_odd_queries_are_answered(hostile, q):
    r = hostile.get("/api/search", query_string={"q": q})
    assert r.status_code == 200, (q, r.data[:300])
    assert isinstance(r.get_json()["total"], int)


@pytest.mark.parametrize("q, limit", [("ا" * 10_000, "1000"), ("حلب " * 3000, "1000"), ("حلب " * 100, "64 words")])
def test_too_large_queries_are_refused_naming_the_limit(hostile, q, limit):
    r = hostile.get("/api/search", query_string={"q": q})
    assert r.status_code == 400 and limit in r.get_json()["error"]["message"]


params = st.dictionaries(
    st.sampled_from(["q", "page", "per_page", "sort", "facet_size", "outlet", "place", "actor", "country", "zz"]),
    st.text(max_size=80), max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params)
def test_fuzz_api_never_500(hostile, args):
    r = hostile.get("/api/search", query_string=args)
    assert r.status_code in (200, 400), (args, r.status_code, r.data[:200])
    assert r.is_json
    if r.status_code == 400:
        assert r.get_json()["error"]["message"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_fuzz_doc_and_page_never_500(hostile, text):
    from urllib.parse import quote

    for url in ("/api/doc/" + quote(text, safe=""), "/search?q=" + quote(text, safe="")):
        if url.endswith("/api/doc/"):
            continue
        assert hostile.get(url).status_code in (200, 400, 404)
