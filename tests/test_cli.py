"""The `mirsad search` command: what it prints agrees with the search it runs."""
import json
import subprocess
import sys

from tests.conftest import ROOT

MIRSAD = [sys.executable, str(ROOT / "mirsad.py")]


def cli(*args, check=True):
    proc = subprocess.run([*MIRSAD, *map(str, args)], capture_output=True, text=True, cwd=ROOT)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_ids_follow_filters_and_sort(corpus_index):
    doc = json.loads(cli("search", "داعش", "--index", corpus_index, "--json", "--limit", 100).stdout)
    place = doc["facets"]["place"][0]["value"]
    filtered = json.loads(cli("search", "داعش", "--place", place, "--index", corpus_index, "--json",
                              "--limit", 100).stdout)
    ids = cli("search", "داعش", "--place", place, "--index", corpus_index, "--ids").stdout.split()
    assert len(ids) == filtered["total"] < doc["total"]
    assert ids[:len(filtered["hits"])] == [h["id"] for h in filtered["hits"]]
    by_date = cli("search", "داعش", "--place", place, "--sort", "date", "--index", corpus_index, "--ids").stdout.split()
    assert sorted(by_date) == sorted(ids)
    everything = cli("search", "", "--index", corpus_index, "--ids").stdout.split()
    assert len(everything) == json.loads(cli("search", "", "--index", corpus_index, "--json").stdout)["total"] > 0


def test_options_are_named_in_errors_and_pages_work(corpus_index):
    proc = cli("search", "داعش", "--index", corpus_index, "--limit", 1000, check=False)
    assert proc.returncode == 2 and "--limit" in proc.stderr and "per_page" not in proc.stderr
    one = cli("search", "داعش", "--index", corpus_index, "--limit", 1, "--page", 2, "--json").stdout
    two = cli("search", "داعش", "--index", corpus_index, "--limit", 2, "--json").stdout
    assert json.loads(one)["hits"][0]["id"] == json.loads(two)["hits"][1]["id"]
    assert cli("--version").stdout.startswith("mirsad ")


def test_a_closed_pipe_ends_quietly(corpus_index):
    proc = subprocess.run(f"{sys.executable} {ROOT / 'mirsad.py'} search '' --ids --index {corpus_index} | head -1",
                          shell=True, capture_output=True, text=True, cwd=ROOT)
    assert len(proc.stdout.split()) == 1 and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_one_result_is_singular(seed_index):
    out = cli("search", "الحمدانية", "--index", seed_index).stdout
    assert out.startswith("1 result ")


def test_a_name_finds_its_entity_unless_words_only(corpus_index):
    tagged = set(cli("search", "", "--place", "الموصل", "--index", corpus_index, "--ids").stdout.split())
    named = set(cli("search", "Mosul", "--index", corpus_index, "--ids").stdout.split())
    words = set(cli("search", "Mosul", "--words-only", "--index", corpus_index, "--ids").stdout.split())
    assert tagged and tagged <= named and len(words) < len(named)
    assert "place=الموصل" in cli("search", "Mosul", "--index", corpus_index, "--limit", 1).stdout


def test_a_misspelled_query_shows_the_corrections_results_unless_literal(corpus_index):
    out = cli("search", "السعوديهة", "--index", corpus_index, "--limit", 1).stdout
    assert out.splitlines()[0].split()[0] != "0" and "no results for السعوديهة" in out
    literal = cli("search", "السعوديهة", "--literal", "--index", corpus_index, "--limit", 1).stdout
    assert literal.startswith("0 results") and "did you mean:" in literal


def test_csv_jsonl_and_dates_agree_with_the_api(corpus_index):
    import csv
    import io

    from web.app import create_app

    client = create_app(corpus_index).test_client()
    api = client.get("/api/search.csv?q=السعودية&from=2018-01-01&sort=date_asc").data.decode("utf-8-sig")
    out = cli("search", "السعودية", "--index", corpus_index, "--from", "2018-01-01", "--sort", "date_asc", "--csv").stdout
    assert list(csv.DictReader(io.StringIO(out))) == list(csv.DictReader(io.StringIO(api)))
    rows = [json.loads(line) for line in
            cli("search", "السعودية", "--index", corpus_index, "--to", "2016", "--jsonl").stdout.splitlines()]
    assert rows and all(r["date"] is None or r["date"] < "2017" for r in rows)
    ids = cli("search", "السعودية", "--index", corpus_index, "--to", "2016", "--ids").stdout.split()
    assert ids == [r["id"] for r in rows]
    bad = cli("search", "x", "--index", corpus_index, "--from", "yesterday", check=False)
    assert bad.returncode == 2 and "--from" in bad.stderr and "Traceback" not in bad.stderr
