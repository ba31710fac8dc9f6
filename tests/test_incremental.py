"""Archives that grow: streaming builds, `--add`, `delete`, sources and dates."""
import json
import os
import time
import weakref

import pytest

import indexer.build as build_module
from indexer.build import BuildFailed, build_index, delete_documents, merge_policy
from indexer.clean import parse_date
from indexer.extract import Extractor
from indexer.sources import Record, read_sources
from search import store
from search.engine import SearchRequest, ids_for_query, run_search
from search.index import IndexHandle
from tests.conftest import shared_path, write_jsonl

ENTITIES = False  # what is compared here is storage, not extraction: faster without it


def _queries() -> list[str]:
    return [line.strip() for line in shared_path("bench", "queries.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def _top(gen, q: str, k: int = 20) -> list[tuple[float, str]]:
    from search.engine import _match, _parse_query, _rank

    pq = _parse_query(gen, q)
    cache: dict = {}
    mask, query, _r, _t = _match(gen, pq, time.perf_counter() + 10, cache)
    return [(round(s, 4), gen.store.stored(d)["id"]) for d, s in _rank(gen, pq, query, mask, k, cache)]


def _same_ranking(a: list[tuple[float, str]], b: list[tuple[float, str]]) -> bool:
    """The same scores in the same order and the same ids, ties in any order (the last
    score's ties may be cut differently at the page's end)."""
    if [s for s, _ in a] != [s for s, _ in b]:
        return False
    last = a[-1][0] if a else None
    return {x for x in a if x[0] != last} == {x for x in b if x[0] != last}


@pytest.fixture(scope="module")
def halves(tmp_path_factory, corpus_records):
    """The sample split into an index of the first part, the same plus the rest by
    `--add`, and a full build of everything."""
    tmp = tmp_path_factory.mktemp("incr")
    cut = len(corpus_records) * 4 // 5
    first, rest = write_jsonl(tmp / "first.jsonl", corpus_records[:cut]), write_jsonl(tmp / "rest.jsonl", corpus_records[cut:])
    added, full = tmp / "added", tmp / "full"
    build_index([first], added, progress=False, procs=2, entities=ENTITIES)
    base_gen = store.current_generation(added)
    report = build_index([rest], added, progress=False, procs=2, entities=ENTITIES, add=True)
    build_index([first, rest], full, progress=False, procs=2, entities=ENTITIES)
    return base_gen, report, IndexHandle(added).get(), IndexHandle(full).get()


def test_add_finds_what_a_full_rebuild_finds(halves):
    _base, report, added, full = halves
    assert report.indexed > 100
    assert added.live_count == full.live_count
    for q in _queries():
        assert sorted(ids_for_query(added, q)) == sorted(ids_for_query(full, q)), q
        assert _same_ranking(_top(added, q), _top(full, q)), q
    for facet in ("outlet", "place", "actor", "country"):
        a = run_search(added, SearchRequest(q="", facet_size=50))["facets"][facet]
        f = run_search(full, SearchRequest(q="", facet_size=50))["facets"][facet]
        assert {(v["value"], v["count"]) for v in a} == {(v["value"], v["count"]) for v in f}, facet


def test_add_shares_the_segments_of_the_previous_generation(halves):
    base, _report, added, _full = halves
    old = {p.name: p.stat().st_ino for p in base.iterdir() if p.name.endswith(".seg")}
    new = {p.name: p.stat().st_ino for p in added.path.iterdir() if p.name.endswith(".seg")}
    assert old and all(new.get(name) == ino for name, ino in old.items())  # hard links, not copies
    assert len(new) > len(old)


def test_related_forms_are_saved_with_each_generation(halves):
    from search.related import FILES, RelatedForms

    base, _report, added, full = halves
    for gen_dir in (base, added.path, full.path):
        assert all((gen_dir / name).exists() for name in FILES)
    # the --add generation's table covers the union of the stems, written anew (not
    # through the hard links into its base), and answers as one built from the lexicon
    saved, built = RelatedForms.load(added.path), RelatedForms.from_terms(added.store.terms("body"))
    assert saved.terms == built.terms == RelatedForms.load(full.path).terms
    assert len(RelatedForms.load(base).terms) < len(saved.terms)
    for name in FILES:
        assert (base / name).stat().st_ino != (added.path / name).stat().st_ino
    for stem in ("متزايد", "اعتقد", "سعودي", "تحالف", "مستشفي"):
        assert saved.of(stem) == built.of(stem), stem
    assert added.related_forms().terms == saved.terms  # what ranking uses: the saved table


def test_published_tables_equal_what_the_postings_give(halves):
    import numpy as np

    from search.entity_names import EntityNames
    from search.index import open_generation

    _base, _report, added, full = halves
    for gen in (added, full):
        mapped, computed = open_generation(gen.path), open_generation(gen.path, tables=False)
        assert isinstance(mapped.dates.base, np.memmap) and not isinstance(computed.dates.base, np.memmap)
        assert np.array_equal(mapped.dates, computed.dates)
        for name in mapped.lengths:
            assert np.array_equal(mapped.lengths[name], computed.lengths[name]), name
        for name, table in mapped.facets.items():
            other = computed.facets[name]
            assert table.values == other.values, name
            assert np.array_equal(table.pair_doc, other.pair_doc) and np.array_equal(table.value_start, other.value_start)
        assert mapped.entity_names().by_key == EntityNames.from_labels(computed.labels).by_key


def _frequent_terms_as_whoosh_reads_them(gen) -> int:
    """Every term of every segment's frequent-postings table gives the postings Whoosh's
    own blocks give (deletions masked alike); every segment has its table and no table is
    left of a segment the generation no longer has. Returns how many terms were compared."""
    import numpy as np

    from search import frequent_postings
    from search.whoosh_storage import WhooshStorage

    mapped, plain = WhooshStorage(gen.path), WhooshStorage(gen.path)
    plain._frequent = [None] * len(plain._frequent)  # Whoosh's blocks only
    segment_ids = set(mapped._segment_ids())
    assert all(t is not None for t in mapped._frequent)
    leftover = {p.name.split(".", 1)[0] for p in gen.path.iterdir() if p.name.endswith(frequent_postings.SUFFIXES)}
    assert leftover == segment_ids
    compared = 0
    for table in mapped._frequent:
        for field, term in table._keys:
            (ids, tfs), (want_ids, want_tfs) = mapped.postings(field, term), plain.postings(field, term)
            assert ids.dtype == want_ids.dtype and tfs.dtype == want_tfs.dtype
            assert np.array_equal(ids, want_ids) and np.array_equal(tfs, want_tfs), (field, term)
            compared += 1
    return compared


def test_frequent_postings_tables_read_what_whoosh_reads(halves):
    _base, _report, added, full = halves
    for gen in (added, full):
        assert _frequent_terms_as_whoosh_reads_them(gen) > 100


def test_frequent_postings_of_merged_segments_are_written_at_publishing(tmp_path, monkeypatch):
    from search import frequent_postings

    monkeypatch.setattr(build_module, "SEGMENT_DOCS", 8)
    monkeypatch.setattr(frequent_postings, "MIN_POSTINGS", 2)  # terms of these tiny segments count
    recs = [{"id": str(i), "title": f"خبر {i}", "body": f"نص عن حلب رقم {i}"} for i in range(30)]
    index_dir = tmp_path / "ix"
    build_index([write_jsonl(tmp_path / "a.jsonl", recs[:24])], index_dir, progress=False, procs=2, entities=ENTITIES)
    for rec in recs[24:]:  # small segments, merged once there are more than MAX_SMALL
        build_index([write_jsonl(tmp_path / f"{rec['id']}.jsonl", [rec])], index_dir, progress=False,
                    entities=ENTITIES, add=True)
    assert _frequent_terms_as_whoosh_reads_them(IndexHandle(index_dir).get()) > 0
    delete_documents(index_dir, [str(i) for i in range(20)])  # rewrites the segments mostly deleted
    gen = IndexHandle(index_dir).get()
    assert _frequent_terms_as_whoosh_reads_them(gen) > 0
    assert sorted(ids_for_query(gen, "حلب"), key=int) == [str(i) for i in range(20, 30)]


def test_an_incomplete_frequent_postings_table_is_read_as_none(tmp_path, seeds_dir, monkeypatch):
    from search import frequent_postings

    monkeypatch.setattr(frequent_postings, "MIN_POSTINGS", 1)  # five articles: terms in two count
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False, entities=ENTITIES)
    gen = IndexHandle(index_dir).get()
    want = {q: ids_for_query(gen, q) for q in ("سوريا", "حلب", "الدولة")}
    assert all(want.values())
    sid = gen.store._segment_ids()[0]
    assert len(gen.store._frequent[0]) > 10
    frequent_postings.paths(gen.path, sid)[0].unlink()  # the terms file goes last when written
    assert frequent_postings.FrequentPostings.load(gen.path, sid) is None
    from search.index import open_generation

    again = open_generation(gen.path)
    assert {q: ids_for_query(again, q) for q in want} == want


def test_labels_are_read_a_facet_at_a_time(halves, tmp_path):
    """A generation's labels are published per facet too: a hit's outlet label reads the
    outlets' alone; an earlier build without those files gives the same from labels.json."""
    import json
    import shutil

    from search import store
    from search.index import open_generation
    from search.schema import FACET_NAMES

    _base, _report, added, full = halves
    whole = json.loads((full.path / store.LABELS_FILE).read_text(encoding="utf-8"))
    gen = open_generation(full.path)
    outlet = next(iter(whole["outlet"]))
    assert gen.label("outlet", outlet) == whole["outlet"][outlet]
    assert gen.labels._whole is None and set(gen.labels._facets) == {"outlet"}
    assert dict(gen.labels.items()) == whole and set(whole) == set(FACET_NAMES)
    older = tmp_path / "older"
    shutil.copytree(full.path, older)
    for facet in FACET_NAMES:
        (older / store.facet_labels_file(facet)).unlink()
    old_gen = open_generation(older)
    assert all(old_gen.labels[f] == whole[f] for f in FACET_NAMES) and old_gen.labels.get("nope") is None


def test_a_server_swaps_in_a_new_generation_only_when_it_is_warm(tmp_path, seeds_dir, monkeypatch):
    import threading

    import search.index as index_module

    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    handle = IndexHandle(index_dir, warm=True)
    old = handle.get()
    extra = write_jsonl(tmp_path / "extra.jsonl", [{"id": "new-1", "title": "خبر عن إدلب", "body": "اشتباكات في إدلب"}])
    build_index([seeds_dir, extra], index_dir, progress=False)
    opening = threading.Event()
    real_warm = index_module.Generation.warm

    def slow_warm(gen):
        opening.wait(10)  # the new generation is still opening...
        real_warm(gen)

    monkeypatch.setattr(index_module.Generation, "warm", slow_warm)
    assert handle.get() is old and handle.get() is old  # ...so the old one answers meanwhile
    opening.set()
    for _ in range(200):
        if handle.get() is not old:
            break
        time.sleep(0.05)
    new = handle.get()
    assert new is not old and new.live_count == old.live_count + 1 and ids_for_query(new, "إدلب")


def test_a_generation_swapped_out_is_closed_after_a_while(tmp_path, seeds_dir, monkeypatch):
    """In Ray mode closing stops a generation's actors, here it unmaps its files: a server
    that sees rebuilds does not keep every generation it opened, and never closes one
    that still serves."""
    import search.index as index_module

    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    closed = []  # ids of the generations closed
    real_close = index_module.Generation.close
    monkeypatch.setattr(index_module.Generation, "close", lambda gen: (closed.append(id(gen)), real_close(gen)))
    handle = IndexHandle(index_dir)
    handle.retire_after = 0.2
    old = handle.get()
    time.sleep(0.4)
    assert id(old) not in closed  # the one serving stays open
    build_index([seeds_dir], index_dir, progress=False)  # (a build closes generations of its own)
    new = handle.get()
    assert new is not old and id(old) not in closed  # not at once: a request may still hold it
    for _ in range(100):
        if id(old) in closed:
            break
        time.sleep(0.05)
    assert id(old) in closed and id(new) not in closed and handle.get() is new and ids_for_query(new, "إدلب")


def test_add_replaces_ids_and_checks_duplicates_against_the_whole_index(tmp_path):
    recs = [{"id": "a", "title": "حلب", "body": "خبر عن حلب والموصل", "url": "http://x/a"},
            {"id": "b", "title": "إدلب", "body": "خبر عن إدلب", "url": "http://x/b"}]
    index_dir = tmp_path / "ix"
    build_index([write_jsonl(tmp_path / "1.jsonl", recs)], index_dir, progress=False, entities=ENTITIES)
    more = [{"id": "a", "title": "الرقة", "body": "خبر جديد عن الرقة", "url": "http://x/a2"},
            {"id": "c", "title": "نسخة", "body": "نسخة من خبر إدلب", "url": "http://x/b/"},
            {"id": "d", "title": "دير الزور", "body": "خبر عن دير الزور", "url": "http://x/d"}]
    report = build_index([write_jsonl(tmp_path / "2.jsonl", more)], index_dir, progress=False, entities=ENTITIES,
                         add=True)
    assert report.duplicates == {"id": 1, "url": 1} and report.replaced == 1 and report.indexed == 2
    gen = IndexHandle(index_dir).get()
    assert gen.live_count == 3
    assert ids_for_query(gen, "حلب") == [] and ids_for_query(gen, "الرقة") == ["a"]
    assert ids_for_query(gen, "نسخة") == [] and ids_for_query(gen, "الزور") == ["d"]
    # the replacement's URL is now the one a later add is checked against
    report = build_index([write_jsonl(tmp_path / "3.jsonl", [{"id": "e", "title": "x", "body": "الحسكة",
                                                               "url": "http://x/a2"}])],
                         index_dir, progress=False, entities=ENTITIES, add=True)
    assert report.duplicates == {"url": 1}


def test_delete_removes_documents_and_their_facet_counts(tmp_path, seeds_dir):
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    gen = IndexHandle(index_dir).get()
    before = run_search(gen, SearchRequest(q="", facet_size=100))
    victim = before["hits"][0]
    deleted, missing = delete_documents(index_dir, [victim["id"], "no-such-id"])
    assert deleted == 1 and missing == ["no-such-id"]
    after_gen = IndexHandle(index_dir).get()
    after = run_search(after_gen, SearchRequest(q="", facet_size=100))
    assert after["total"] == before["total"] - 1 == after_gen.live_count
    assert victim["id"] not in {h["id"] for h in after["hits"]}
    for word in victim["title"].split()[:3]:
        assert victim["id"] not in ids_for_query(after_gen, word)
    for facet, key in (("place", "places"), ("actor", "actors")):
        counts = {v["value"]: v["count"] for v in before["facets"][facet]}
        now = {v["value"]: v["count"] for v in after["facets"][facet]}
        for e in victim[key]:
            assert now.get(e["value"], 0) == counts[e["value"]] - 1, e
    from search.engine import get_document

    assert get_document(after_gen, victim["id"]) is None


def test_merge_policy_merges_small_segments_and_drops_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr(build_module, "SEGMENT_DOCS", 8)  # "small": under 2 documents
    recs = [{"id": str(i), "title": f"خبر {i}", "body": f"نص عن حلب رقم {i}"} for i in range(30)]
    index_dir = tmp_path / "ix"
    build_index([write_jsonl(tmp_path / "a.jsonl", recs[:24])], index_dir, progress=False, procs=2, entities=ENTITIES)
    full_size = IndexHandle(index_dir).get().store.segments
    for rec in recs[24:]:  # six daily adds of one article: six small segments
        build_index([write_jsonl(tmp_path / f"{rec['id']}.jsonl", [rec])], index_dir, progress=False,
                    entities=ENTITIES, add=True)
    gen = IndexHandle(index_dir).get()
    assert gen.live_count == 30
    assert full_size <= gen.store.segments <= full_size + build_module.MAX_SMALL  # the small ones were merged
    delete_documents(index_dir, [str(i) for i in range(20)])
    gen = IndexHandle(index_dir).get()
    assert gen.live_count == 10
    from whoosh import index as whoosh_index

    segments = whoosh_index.open_dir(str(gen.path))._read_toc().segments
    # segments more than a quarter deleted were rewritten without them
    assert all(s.deleted_count() <= build_module.MAX_DELETED * s.doc_count_all() for s in segments)
    assert gen.doc_count - gen.live_count < 20
    assert sorted(ids_for_query(gen, "حلب"), key=int) == [str(i) for i in range(20, 30)]
    assert merge_policy is build_module.merge_policy


def test_add_to_an_older_analysis_refuses_naming_the_rebuild(tmp_path, seeds_dir):
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    info = store.current_generation(index_dir) / store.BUILD_FILE
    data = json.loads(info.read_text(encoding="utf-8"))
    info.write_text(json.dumps({**data, "analysis": "old"}), encoding="utf-8")
    with pytest.raises(BuildFailed, match="older version of the Arabic analysis.*rebuild"):
        build_index([seeds_dir], index_dir, progress=False, add=True)


def test_an_interrupted_add_leaves_the_previous_generation(tmp_path, seeds_dir, monkeypatch):
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    before = os.readlink(index_dir / store.CURRENT)
    hits = ids_for_query(IndexHandle(index_dir).get(), "داعش")

    def failing(self, record):
        raise KeyboardInterrupt

    monkeypatch.setattr(Extractor, "extract", failing)
    new = write_jsonl(tmp_path / "n.jsonl", [{"id": "n", "title": "داعش", "body": "خبر عن داعش"}])
    with pytest.raises(KeyboardInterrupt):
        build_index([new], index_dir, progress=False, add=True, procs=1)
    assert os.readlink(index_dir / store.CURRENT) == before and not list(index_dir.glob(".build-*"))
    assert ids_for_query(IndexHandle(index_dir).get(), "داعش") == hits


def test_the_parent_holds_a_few_batches_not_the_archive(tmp_path, monkeypatch):
    """Records stream to the workers: the parent never holds more than the queued
    batches, whatever the archive's size (memory bounded)."""
    alive = peak = 0
    n = 3000

    def gone():
        nonlocal alive
        alive -= 1

    def stream(_paths):
        nonlocal alive, peak
        for i in range(n):
            rec = Record(id=f"r{i}", title=f"عنوان {i}", body=f"خبر رقم {i} عن مدينة حلب " * 5, origin=f"gen:{i}")
            weakref.finalize(rec, gone)
            alive += 1
            peak = max(peak, alive)
            yield rec

    monkeypatch.setattr(build_module, "read_sources", stream)
    report = build_index([tmp_path], tmp_path / "ix", progress=False, procs=2, entities=False)
    assert report.indexed == n
    bound = 2 * build_module.BATCH * (build_module.QUEUE_BATCHES + 2)
    assert peak <= bound < n


def test_procs_default_to_the_cores():
    from mirsad import main

    assert build_module.default_procs() == len(os.sched_getaffinity(0))
    import inspect

    assert inspect.signature(build_index).parameters["procs"].default is None
    with pytest.raises(SystemExit):
        main(["index", "--help"])


# ---- sources


def test_a_folder_yields_every_source_kind_and_reports_the_rest(tmp_path):
    folder = tmp_path / "src"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("عنوان أ\nنص عن حلب", encoding="utf-8")
    write_jsonl(folder / "sub" / "b.jsonl", [{"id": "b", "title": "ب", "body": "نص عن إدلب"}])
    write_jsonl(folder / "c.ndjson", [{"id": "c", "title": "ج", "body": "نص عن الرقة"}])
    (folder / "d.json").write_text(json.dumps([{"id": "d1", "title": "د", "body": "نص"}, {"id": "d2", "title": "د2", "body": "نص"}, 7]),
                                   encoding="utf-8")
    import gzip

    with gzip.open(folder / "e.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "e", "title": "هـ", "body": "نص عن حمص"}) + "\n")
    (folder / "notes.pdf").write_bytes(b"%PDF")
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0", encoding="utf-8")
    (folder / "link.txt").symlink_to(outside)
    os.mkfifo(folder / "pipe.jsonl")
    items = list(read_sources([folder]))
    ids = sorted(i.id for i in items if isinstance(i, Record))
    assert ids == ["a", "b", "c", "d1", "d2", "e"]
    problems = {str(i) for i in items if not isinstance(i, Record)}
    assert any("notes.pdf" in p and "not a source file" in p for p in problems)
    assert any("link.txt" in p and "symbolic link" in p for p in problems)
    assert any("pipe.jsonl" in p and "not a regular file" in p for p in problems)
    assert any("d.json:[3]" in p and "expected a JSON object" in p for p in problems)


def test_unless_current_rebuilds_when_the_sources_change(tmp_path, capsys):
    from mirsad import main

    src = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "title": "حلب", "body": "خبر عن حلب"}])
    index_dir = str(tmp_path / "ix")
    assert main(["index", str(src), "--index", index_dir, "--quiet", "--no-entities"]) == 0
    first = os.readlink(tmp_path / "ix" / store.CURRENT)
    assert main(["index", str(src), "--index", index_dir, "--quiet", "--unless-current"]) == 0
    assert os.readlink(tmp_path / "ix" / store.CURRENT) == first and "not rebuilt" in capsys.readouterr().err
    other = write_jsonl(tmp_path / "b.jsonl", [{"id": "b", "title": "إدلب", "body": "خبر عن إدلب"}])
    assert main(["index", str(src), str(other), "--index", index_dir, "--quiet", "--unless-current"]) == 0
    assert "sources changed" in capsys.readouterr().err
    second = os.readlink(tmp_path / "ix" / store.CURRENT)
    assert second != first
    time.sleep(1.1)
    write_jsonl(other, [{"id": "b", "title": "إدلب", "body": "خبر معدل عن إدلب"}])
    assert main(["index", str(src), str(other), "--index", index_dir, "--quiet", "--unless-current"]) == 0
    assert os.readlink(tmp_path / "ix" / store.CURRENT) != second


@pytest.mark.parametrize("raw, expected", [
    ("16 مارس 2019", "2019-03-16"), ("١٦ آذار ٢٠١٩", "2019-03-16"), ("3 كانون الثاني 2016", "2016-01-03"),
    ("March 16, 2019", "2019-03-16"), ("16 Mar 2019", "2019-03-16"), ("Saturday, March 16th, 2019", "2019-03-16"),
    ("Sat, 16 Mar 2019", "2019-03-16"), ("1552694400", "2019-03-16"), ("1552694400000", "2019-03-16"),
    ("2019-03-16T10:00:00Z", "2019-03-16"), ("32 March 2019", None), ("Marchy 3 2019", None), ("12345", None),
    ("غدا", None),
])
def test_metadata_dates(raw, expected):
    got = parse_date(raw)
    assert (got.strftime("%Y-%m-%d") if got else None) == expected


def test_unparsed_dates_are_counted_with_examples(tmp_path):
    recs = [{"id": "a", "title": "حلب", "body": "خبر", "date": "16 مارس 2019"},
            {"id": "b", "title": "إدلب", "body": "خبر", "date": "قبل ساعتين"},
            {"id": "c", "title": "الرقة", "body": "خبر", "date": "yesterday"}]
    report = build_index([write_jsonl(tmp_path / "d.jsonl", recs)], tmp_path / "ix", progress=False, entities=False)
    assert report.warnings["date not understood"] == 2
    assert any("d.jsonl:2" in p and "قبل ساعتين" in p for p in report.problems)
