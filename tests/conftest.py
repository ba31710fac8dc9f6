"""Shared fixtures: the seed index, and a sample index of the shared corpora.

The shared data (``../shared`` or ``$MIRSAD_SHARED``) is required: tests that need it
fail, not skip, when it is missing, so a missing data set never passes silently.
"""
from __future__ import annotations

import gzip
import json
import os
import random
import re
from pathlib import Path

import pytest

from search.sharded import comparable  # noqa: F401 - what the sharded tests compare

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MIRSAD_SHARED", ROOT.parent / "shared")).resolve()
CORPUS = SHARED / "corpus"
ARTIFACTS = ROOT / "tests" / "artifacts"

# Written forms the search must conflate (issue 2, "must hold").
VARIANT_FORMS = ["بالموصل", "والموصل", "للموصل", "الموصل", "إدلب", "ادلب", "بإدلب", "حماة", "حماه",
                 "مستشفى", "مستشفي", "المعارضة", "٢٠١٤", "2014", "اللاجئين", "اللاجئون", "لاجئ",
                 "حلبة", "حلب", "وصل", "الداعشي", "داعشية", "الدواعش"]


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"shared data missing: {path} (set MIRSAD_SHARED to the shared/ folder)")
    return path


def write_jsonl(path: Path, records) -> Path:
    """Write records (dicts, or raw lines as str) one per line; returns ``path``."""
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")
    return path


def iter_corpus(name: str):
    with gzip.open(shared_path("corpus", name), "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w\u064b-\u0652]){re.escape(word)}(?![\w\u064b-\u0652])", text) is not None


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return ROOT / "corpus"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, seeds_dir) -> Path:
    from indexer.build import build_index

    index_dir = tmp_path_factory.mktemp("seed-index")
    build_index([seeds_dir], index_dir, progress=False)
    return index_dir


@pytest.fixture(scope="session")
def seed_gen(seed_index):
    from search.index import IndexHandle

    return IndexHandle(seed_index).get()


@pytest.fixture(scope="session")
def corpus_sample(tmp_path_factory) -> Path:
    """A JSONL sample of the two clean shared corpora: every article holding one of
    VARIANT_FORMS (up to 25 per form) plus 600 random ones; deterministic."""
    rng = random.Random(20261122)
    picked: dict[str, dict] = {}
    per_form = {f: 0 for f in VARIANT_FORMS}
    pool = []
    for name in ("ant-multisource.jsonl.gz", "saudinewsnet.jsonl.gz"):
        for rec in iter_corpus(name):
            text = rec.get("title", "") + " " + rec.get("body", "")
            for form in VARIANT_FORMS:
                if per_form[form] < 25 and form in text and has_word(text, form):
                    per_form[form] += 1
                    picked[rec["id"]] = rec
            if len(pool) < 600:
                pool.append(rec)
            elif rng.random() < 0.01:
                pool[rng.randrange(600)] = rec
    for rec in pool:
        picked.setdefault(rec["id"], rec)
    return write_jsonl(tmp_path_factory.mktemp("sample") / "sample.jsonl", picked.values())


@pytest.fixture(scope="session")
def corpus_records(corpus_sample) -> list[dict]:
    return [json.loads(line) for line in open(corpus_sample, encoding="utf-8")]


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, corpus_sample) -> Path:
    from indexer.build import build_index

    index_dir = tmp_path_factory.mktemp("corpus-index")
    build_index([corpus_sample], index_dir, progress=False, procs=2)
    return index_dir


@pytest.fixture(scope="session")
def corpus_gen(corpus_index):
    from search.index import IndexHandle

    return IndexHandle(corpus_index).get()


SHARDS = 3  # the sharded twin of corpus_index


@pytest.fixture(scope="session")
def sharded_index(tmp_path_factory, corpus_sample) -> Path:
    """``corpus_index``'s articles as a generation of ``SHARDS`` shards."""
    from indexer.build import build_index

    index_dir = tmp_path_factory.mktemp("sharded-index")
    build_index([corpus_sample], index_dir, progress=False, procs=2, shards=SHARDS)
    return index_dir


def bench_queries() -> list[str]:
    lines = shared_path("bench", "queries.txt").read_text(encoding="utf-8").splitlines()
    return [q.strip() for q in lines if q.strip() and not q.startswith("#")]


