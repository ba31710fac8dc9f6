"""Hardening, second pass: no record lost, nothing served that should not be
(generated bad data: colliding ids, surrogates, nesting, FIFOs, symlinks, schemes)."""
import gzip
import json
import os
import subprocess
import sys
import time

import pytest

from indexer.build import build_index
from indexer.sources import MAX_ID_CHARS, Record, read_sources
from search import store
from search.engine import ids_for_query
from search.index import IndexHandle
from tests.conftest import ROOT, write_jsonl


def _records(items):
    return [i for i in items if isinstance(i, Record)]


def _problems(items):
    return [str(i) for i in items if not isinstance(i, Record)]


# ids that the old reader cut or stripped into each other
ODD_IDS = ["a", " a", "a ", "a\u0000", "<b>a</b>", "x" * 200 + "1", "x" * 200 + "2", "..", "/etc", "a/b",
           "?q=1", "#top", "%2e%2e", "id with space", "عربي/١"]


@pytest.fixture(scope="module")
def odd_index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("odd")
    recs = [{"id": i, "title": f"خبر رقم {n}", "body": f"نص الخبر رقم {n} عن مدينة حلب", "url": f"https://x/{n}"}
            for n, i in enumerate(ODD_IDS)]
    recs.append({"id": "bad-url", "title": "رابط", "body": "نص عن حلب", "url": "javascript:alert(1)"})
    recs.append({"id": "long-title", "title": "عنوان " * 100_000, "body": "نص عن حلب"})
    index_dir = tmp / "ix"
    report = build_index([write_jsonl(tmp / "odd.jsonl", recs)], index_dir, progress=False, entities=False)
    return report, index_dir


def test_distinct_ids_never_collide(odd_index):
    report, index_dir = odd_index
    assert report.indexed == len(ODD_IDS) + 2 and not report.duplicates
    gen = IndexHandle(index_dir).get()
    assert set(ODD_IDS) <= set(ids_for_query(gen, "حلب"))


def test_every_id_has_a_working_link(odd_index):
    from web.app import create_app

    _report, index_dir = odd_index
    client = create_app(index_dir).test_client()
    page = client.get("/api/search", query_string={"q": "حلب", "per_page": 50}).get_json()
    links = {h["id"]: h["doc_url"] for h in page["hits"]}
    for doc_id in ODD_IDS:
        html = client.get(links[doc_id])
        assert html.status_code == 200, doc_id
        api = client.get(links[doc_id].replace("/doc?", "/api/doc?", 1)).get_json()
        assert api["id"] == doc_id


def test_only_http_urls_become_links_and_titles_are_bounded(odd_index):
    from web.app import create_app

    _report, index_dir = odd_index
    client = create_app(index_dir).test_client()
    hits = {h["id"]: h for h in client.get("/api/search", query_string={"q": "حلب", "per_page": 50}).get_json()["hits"]}
    assert hits["bad-url"]["url"] is None and hits["a"]["url"] == "https://x/0"
    assert "javascript:" not in client.get("/search", query_string={"q": "رابط"}).get_data(as_text=True)
    assert len(hits["long-title"]["title"]) <= 501
    doc = client.get("/api/doc", query_string={"id": "long-title"}).get_json()
    assert len(doc["title"]) > 500_000  # the document page keeps all of it


def test_an_id_too_long_is_refused_naming_the_line(tmp_path):
    path = write_jsonl(tmp_path / "l.jsonl", [{"id": "x" * (MAX_ID_CHARS + 1), "title": "t", "body": "b"},
                                              {"id": "ok", "title": "t", "body": "b"}])
    items = list(read_sources([path]))
    assert [r.id for r in _records(items)] == ["ok"]
    assert any("l.jsonl:1" in p and "longer than" in p for p in _problems(items))


def test_lone_surrogates_are_replaced_and_counted(tmp_path):
    path = tmp_path / "s.jsonl"
    # json.dumps escapes the surrogate as \\ud800, as a truncated emoji arrives
    lines = [json.dumps({"id": f"s\ud800{n}", "title": "عنوان \ud800", "body": "نص عن حلب \udfff", "author": "\ud800",
                         "url": f"https://x/\ud800{n}", "outlet": f"o\ud800{n}"}) for n in range(2)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = build_index([path], tmp_path / "ix", progress=False, entities=False)
    assert report.indexed == 2 and sum(report.warnings.values()) >= 2
    from web.app import create_app

    client = create_app(tmp_path / "ix").test_client()
    for url in ("/search?q=حلب", "/api/search?q=حلب"):
        response = client.get(url)
        assert response.status_code == 200 and "\ufffd" in response.get_data(as_text=True)


def test_deep_json_a_fifo_and_a_bad_file_name_are_reported_not_fatal(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "deep.jsonl").write_text("[" * 100_000 + "\n" + json.dumps({"id": "ok", "title": "t", "body": "b"}) + "\n",
                                       encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.jsonl")
    bad_name = os.fsencode(str(folder)) + b"/\xff\xfe.txt"
    with open(bad_name, "wb") as fh:
        fh.write("عنوان\nنص عن حلب".encode())
    items = list(read_sources([folder, tmp_path / "pipe.jsonl"]))  # returns: the FIFO is never opened
    assert sorted(r.id for r in _records(items)) == sorted(["\ufffd\ufffd", "ok"])
    problems = _problems(items)
    assert any("deep.jsonl:1" in p and "nested too deeply" in p for p in problems)
    assert any("pipe.jsonl" in p and "not a regular file" in p for p in problems)
    report = build_index([folder], tmp_path / "ix", progress=False, entities=False)
    assert report.indexed == 2
    report.summary().encode("utf-8")  # printable


def test_a_decompression_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(json.dumps({"id": "first", "title": "t", "body": "b"}).encode() + b"\n")
        for _ in range(64):
            fh.write(b"\n" * 2**20)
    assert path.stat().st_size < 200_000
    items = list(read_sources([path]))
    assert [r.id for r in _records(items)] == ["first"]
    assert any("decompresses more than" in p for p in _problems(items))


def test_current_as_a_real_directory_fails_cleanly(tmp_path, seeds_dir):
    index_dir = tmp_path / "ix"
    (index_dir / store.CURRENT).mkdir(parents=True)
    with pytest.raises(store.IndexUnavailable, match="not the link"):
        build_index([seeds_dir], index_dir, progress=False)
    assert not list(index_dir.glob("gen-*")) and not list(index_dir.glob(".build-*"))


def test_int_parameters_take_ascii_digits_only():
    from search.engine import BadRequest, parse_request

    for bad in ("1_0", "٣", "²", " 1 2"):
        with pytest.raises(BadRequest):
            parse_request({"page": bad})
    assert parse_request({"page": " 3 "}).page == 3


def test_error_messages_hide_absolute_paths(tmp_path):
    from web.app import create_app

    missing = tmp_path / "deep" / "secret-place" / "ix"
    client = create_app(missing, check=False).test_client()
    for url in ("/api/search?q=x", "/api/health", "/search?q=x"):
        text = client.get(url).get_data(as_text=True)
        assert str(tmp_path) not in text and "secret-place" not in text.replace("ix", ""), url


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_disk_full_is_one_line_and_keeps_the_index(tmp_path, seeds_dir):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        big = write_jsonl(tmp_path / "big.jsonl", [{"id": str(i), "title": f"خبر {i}", "body": "نص طويل عن حلب " * 200 + str(i)}
                                                   for i in range(400)])
        proc = subprocess.run([sys.executable, str(ROOT / "mirsad.py"), "index", str(big), "--index", str(mnt / "ix"),
                               "--quiet", "--no-entities", "--procs", "1"], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert "No space left on device" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert not list((mnt / "ix").glob(".build-*"))
    finally:
        subprocess.run(["umount", str(mnt)])


def test_an_unreadable_new_generation_leaves_the_previous_serving(tmp_path, seeds_dir):
    from web.app import create_app

    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False, entities=False)
    client = create_app(index_dir).test_client()
    before = client.get("/api/search?q=داعش").get_json()["total"]
    build_index([seeds_dir], index_dir, progress=False, entities=False)
    gen = store.current_generation(index_dir)
    for toc in gen.glob("_MAIN_*.toc"):
        toc.write_bytes(b"\0" * 10)  # a truncated table of contents
    assert client.get("/api/search?q=داعش").get_json()["total"] == before
    for _ in range(100):  # the server opens a new generation in a thread: health says so when it fails
        health = client.get("/api/health").get_json()
        if health["status"] != "ok":
            break
        time.sleep(0.05)
    assert health["status"] == "degraded" and str(tmp_path) not in json.dumps(health)
    assert client.get("/api/search?q=داعش").get_json()["total"] == before


def test_a_segment_truncated_under_a_serving_generation(tmp_path, seeds_dir):
    """The live generation's segment file shrinks (disk fault, a stray `truncate`): reading
    it through its memory map would end the worker with SIGBUS. The check of its files'
    sizes on each request falls back to the previous generation, and health says why."""
    from web.app import create_app

    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False, entities=False)
    build_index([seeds_dir], index_dir, progress=False, entities=False)  # the previous one stays
    client = create_app(index_dir).test_client()
    before = client.get("/api/search?q=داعش").get_json()
    live = store.current_generation(index_dir)
    segment = max(live.glob("*.seg"), key=lambda p: p.stat().st_size)
    with open(segment, "r+b") as fh:
        fh.truncate(segment.stat().st_size // 2)
    after = client.get("/api/search?q=داعش").get_json()
    assert after["total"] == before["total"] > 0
    assert [h["id"] for h in after["hits"]] == [h["id"] for h in before["hits"]]
    health = client.get("/api/health").get_json()
    assert health["status"] == "degraded" and live.name in health["error"] and health["generation"] != live.name
    assert str(tmp_path) not in json.dumps(health)


def test_a_damaged_generation_with_nothing_to_fall_back_on_is_a_503(tmp_path, seeds_dir):
    from web.app import create_app

    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False, entities=False)
    client = create_app(index_dir).test_client()
    assert client.get("/api/search?q=داعش").status_code == 200
    for segment in store.current_generation(index_dir).glob("*.seg"):
        with open(segment, "r+b") as fh:
            fh.truncate(100)
    r = client.get("/api/search?q=داعش")
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "index_unavailable"
    assert str(tmp_path) not in r.get_data(as_text=True)


def test_make_run_rebuilds_an_index_that_does_not_open(tmp_path, seeds_dir):
    """What `make run` runs (`mirsad index --unless-current`) on a truncated index: it says
    why and rebuilds, instead of serving nothing."""
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False, entities=False)
    for segment in store.current_generation(index_dir).glob("*.seg"):
        with open(segment, "r+b") as fh:
            fh.truncate(100)
    proc = subprocess.run([sys.executable, str(ROOT / "mirsad.py"), "index", str(seeds_dir), "--index", str(index_dir),
                           "--unless-current", "--quiet", "--no-entities"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "building it" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    from search.index import IndexHandle

    assert IndexHandle(index_dir).get().live_count == 5
