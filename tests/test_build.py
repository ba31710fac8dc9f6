"""Index builds: sources, reports, duplicates, atomic publication, the CLI."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.build import BuildFailed, build_index
from search import store
from search.engine import ids_for_query
from search.index import IndexHandle
from tests.conftest import ROOT, iter_corpus, shared_path, write_jsonl

MIRSAD = [sys.executable, str(ROOT / "mirsad.py")]


def run_cli(*args, check=True, **kw):
    proc = subprocess.run([*MIRSAD, *map(str, args)], capture_output=True, text=True, cwd=ROOT, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"mirsad {args} exited {proc.returncode}: {proc.stderr}")
    return proc


def test_every_record_gets_its_entities(corpus_gen, corpus_records):
    """Extraction runs for every record of a multi-process build, not only the first."""
    with_places = sum(1 for d in range(corpus_gen.doc_count) if corpus_gen.store.stored(d).get("place"))
    assert with_places > corpus_gen.doc_count * 0.5


def test_seed_folder_index(seed_gen, seeds_dir):
    assert seed_gen.doc_count == len(list(seeds_dir.glob("*.txt"))) == 5
    ids = {seed_gen.store.stored(d)["id"] for d in range(5)}
    assert ids == {p.stem for p in seeds_dir.glob("*.txt")}


def test_text_titles(seed_gen):
    titles = {seed_gen.store.stored(d)["id"]: seed_gen.store.stored(d)["title"] for d in range(5)}
    assert titles["001_eea54c58605de7f3"] == 'فصائل "دحر الغزاة" تعلن إنهاء تنظيم "داعش" في إدلب'  # not "NSO"
    assert titles["000_3b37f034f035dc9e"].startswith("حذرت فصائل من المعارضة السورية")  # first words
    assert titles["000_3b37f034f035dc9e"].endswith("…")


def test_seed_search(seed_gen):
    assert set(ids_for_query(seed_gen, "بالموصل")) == {"000_3b37f034f035dc9e", "003_be56f737cb1103ca"}
    assert set(ids_for_query(seed_gen, '"دحر الغزاة"')) == {"001_eea54c58605de7f3", "004_f06363eee123f151"}


def test_dates_parsed_from_every_corpus_format(tmp_path):
    recs = [{"id": "a", "title": "t", "body": "نص", "date": "Sun, 18 Feb 2018 21:35:43 +0400"},
            {"id": "b", "title": "t", "body": "نص", "date": "2015-07-21 02:51:32"},
            {"id": "c", "title": "t", "body": "نص", "date": "17/05/2015"},
            {"id": "d", "title": "t", "body": "نص", "date": "2017-01-20T21:43:00+01:00"},
            {"id": "e", "title": "t", "body": "نص", "date": "2017-01-22T185600"},
            {"id": "f", "title": "t", "body": "نص", "date": "yesterday"}]
    index_dir = tmp_path / "ix"
    build_index([write_jsonl(tmp_path / "d.jsonl", recs)], index_dir, progress=False)
    gen = IndexHandle(index_dir).get()
    from search.engine import get_document

    dates = {r["id"]: get_document(gen, r["id"])["date"] for r in recs}
    assert dates == {"a": "2018-02-18T17:35:43Z", "b": "2015-07-21T02:51:32Z", "c": "2015-05-17T00:00:00Z",
                     "d": "2017-01-20T20:43:00Z", "e": "2017-01-22T18:56:00Z", "f": None}


def test_duplicates_last_id_wins_and_urls_are_reported(tmp_path):
    recs = [{"id": "1", "title": "قديم", "body": "النص القديم عن الموصل", "url": "http://x/1"},
            {"id": "2", "title": "ثان", "body": "نص ثان عن حلب", "url": "http://x/2"},
            {"id": "1", "title": "جديد", "body": "النص الجديد عن إدلب", "url": "http://x/1b"},
            {"id": "3", "title": "مكرر", "body": "نص مكرر", "url": "http://x/2"}]
    index_dir = tmp_path / "ix"
    report = build_index([write_jsonl(tmp_path / "d.jsonl", recs)], index_dir, progress=False)
    assert report.indexed == 2
    assert report.duplicates == {"id": 1, "url": 1}
    gen = IndexHandle(index_dir).get()
    assert ids_for_query(gen, "إدلب") == ["1"] and ids_for_query(gen, "الموصل") == []


def test_repeated_body_is_dropped_only_within_a_known_outlet(tmp_path):
    # ARCD holds one Wikipedia paragraph under two ids (train and test): no outlet, so
    # both stay searchable; the same paragraph twice from one outlet is a re-publication.
    with open(shared_path("eval", "arcd", "passages.jsonl"), encoding="utf-8") as fh:
        twins = [r for r in map(json.loads, fh) if r["id"] in ("arcd-train-017-02", "arcd-test-062-02")]
    assert len(twins) == 2 and twins[0]["body"] == twins[1]["body"]
    republished = [dict(r, id=r["id"] + "-aljazeera", outlet="aljazeera") for r in twins]
    report = build_index([write_jsonl(tmp_path / "d.jsonl", twins + republished)], tmp_path / "ix", progress=False)
    assert report.indexed == 3 and report.duplicates == {"body": 1}
    gen = IndexHandle(tmp_path / "ix").get()
    assert sorted(ids_for_query(gen, "المراحل العمرية للسرطان")) == [
        "arcd-test-062-02", "arcd-train-017-02", "arcd-train-017-02-aljazeera"]


def test_failed_build_keeps_previous_index(tmp_path, seeds_dir, monkeypatch):
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    before = os.readlink(index_dir / store.CURRENT)
    hits = ids_for_query(IndexHandle(index_dir).get(), "داعش")

    import indexer.build as build_module

    calls = {"n": 0}
    real = build_module.Extractor.extract

    def failing(self, record):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as Ctrl-C mid-build
        return real(self, record)

    monkeypatch.setattr(build_module.Extractor, "extract", failing)
    with pytest.raises(KeyboardInterrupt):
        build_index([seeds_dir], index_dir, progress=False)
    assert os.readlink(index_dir / store.CURRENT) == before
    assert not list(index_dir.glob(".build-*"))
    assert ids_for_query(IndexHandle(index_dir).get(), "داعش") == hits


def test_nothing_to_index_fails_clearly(tmp_path):
    with pytest.raises(BuildFailed, match="nothing to index"):
        build_index([write_jsonl(tmp_path / "bad.jsonl", ["{not json", "[]"])], tmp_path / "ix", progress=False)
    proc = run_cli("index", tmp_path / "bad.jsonl", "--index", tmp_path / "ix", "--quiet", check=False)
    assert proc.returncode == 1 and "nothing to index" in proc.stderr and "bad.jsonl:1" in proc.stderr


def _processes_with(arg: str) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if arg in (d / "cmdline").read_bytes().decode(errors="replace").split("\0"):
                    out.append(int(d.name))
            except OSError:
                pass
    return out


@pytest.mark.parametrize("raw, clean", [
    ("سطر أول\r\n\r\n\r\n\r\nسطر ثان", "سطر أول\n\nسطر ثان"),  # a run of blank lines: one break
    ("\n\n  \t\n  عنوان  \u00a0 الخبر \n \n", "عنوان الخبر"),  # blank edges go, spaces fold
    ("أ\n \u3000 \nب\n\n\nج", "أ\n\nب\n\nج"),  # a line of spaces is blank
    ("<p>فقرة</p>\n<p>أخرى</p>", "فقرة\nأخرى"),
    ("نص\x00\u200b مع&amp;رموز", "نص مع&رموز"),
    # a line separator is kept as written (the regex's path), the spaces around it fold
    ("أ\u2028  ب\t\tج", "أ\u2028 ب ج"),
])
def test_clean_text(raw, clean):
    from indexer.clean import clean_text

    assert clean_text(raw) == clean


def test_failed_speller_fails_the_build_and_keeps_the_index(tmp_path, seeds_dir, monkeypatch):
    """The speller is computed in a process of its own beside the other tables: its
    failure fails the build, and the previous index keeps serving."""
    import search.index

    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    before = os.readlink(index_dir / store.CURRENT)

    def broken(path):
        raise OSError("disk full")

    monkeypatch.setattr(search.index, "_save_speller", broken)
    with pytest.raises(RuntimeError, match="speller"):
        build_index([seeds_dir], index_dir, progress=False)
    assert os.readlink(index_dir / store.CURRENT) == before
    assert not list(index_dir.glob(".build-*"))
    assert ids_for_query(IndexHandle(index_dir).get(), "داعش")


def test_killed_build_leaves_previous_index_and_is_cleaned(tmp_path, seeds_dir):
    """SIGKILL mid-build: the old index still serves; the next build removes the debris."""
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    before = os.readlink(index_dir / store.CURRENT)
    hits = ids_for_query(IndexHandle(index_dir).get(), "داعش")
    big = write_jsonl(tmp_path / "big.jsonl", (r for _, r in zip(range(3000), iter_corpus("saudinewsnet.jsonl.gz"))))
    proc = subprocess.Popen([*MIRSAD, "index", str(big), "--index", str(index_dir), "--quiet"], cwd=ROOT)
    deadline = time.time() + 60
    while not list(index_dir.glob(".build-*/*.seg")) and not list(index_dir.glob(".build-*/_MAIN_*")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(index_dir.glob(".build-*")), "the kill came too late to leave a half-written build"
    # its forked workers (same command line) die with it
    deadline = time.time() + 3
    while _processes_with(str(big)) and time.time() < deadline:
        time.sleep(0.1)
    assert not _processes_with(str(big))
    assert os.readlink(index_dir / store.CURRENT) == before
    assert ids_for_query(IndexHandle(index_dir).get(), "داعش") == hits
    report = build_index([seeds_dir], index_dir, progress=False)
    assert report.cleaned and not list(index_dir.glob(".build-*"))


def test_cli_index_summary_and_search(tmp_path, seeds_dir):
    index_dir = tmp_path / "ix"
    proc = run_cli("index", seeds_dir, "--index", index_dir)
    assert "indexed 5 documents" in proc.stderr and "docs/s" in proc.stderr
    ids = run_cli("search", "بالموصل", "--index", index_dir, "--ids").stdout.split()
    assert sorted(ids) == ["000_3b37f034f035dc9e", "003_be56f737cb1103ca"]
    doc = json.loads(run_cli("search", "بالموصل", "--index", index_dir, "--json").stdout)
    assert doc["total"] == 2 and {"query", "hits", "facets", "took_ms", "timed_out"} <= set(doc)
    text = run_cli("search", "إدلب", "--index", index_dir, "--limit", "2").stdout
    assert "results" in text and "*إدلب*" in text


def test_cli_search_without_index(tmp_path):
    proc = run_cli("search", "حلب", "--index", tmp_path / "none", check=False)
    assert proc.returncode == 2 and "make index" in proc.stderr and "Traceback" not in proc.stderr


def test_index_older_than_the_analysis_is_flagged_and_rebuilt(tmp_path, seeds_dir):
    """The build records its analysis version; an index built with another one still
    answers but says so (health, serve), and `mirsad index --unless-current` (what
    `make run` calls) rebuilds it, and leaves a current one alone."""
    from search.arabic import ANALYSIS_VERSION
    from web.app import create_app

    index_dir = tmp_path / "ix"
    run_cli("index", seeds_dir, "--index", index_dir, "--unless-current")  # no index yet: builds
    first = store.current_generation(index_dir)
    assert json.loads((first / store.BUILD_FILE).read_text())["analysis"] == ANALYSIS_VERSION
    assert IndexHandle(index_dir).get().analysis_current
    proc = run_cli("index", seeds_dir, "--index", index_dir, "--unless-current")
    assert "not rebuilt" in proc.stderr and store.current_generation(index_dir) == first

    info = json.loads((first / store.BUILD_FILE).read_text())
    info["analysis"] = ANALYSIS_VERSION - 1  # as an older release wrote it
    (first / store.BUILD_FILE).write_text(json.dumps(info))
    health = create_app(index_dir).test_client().get("/api/health").get_json()
    assert health["status"] == "ok" and health["analysis_current"] is False and "make index" in health["warning"]
    proc = run_cli("index", seeds_dir, "--index", index_dir, "--unless-current")
    assert "older analysis; rebuilding" in proc.stderr and "indexed 5 documents" in proc.stderr
    assert store.current_generation(index_dir) != first
    assert create_app(index_dir).test_client().get("/api/health").get_json()["analysis_current"] is True
