"""On-disk layout of an index directory, shared by the writer (indexer) and readers (web).

    INDEX_DIR/
      current -> gen-20261122T051500-1234   (relative symlink, replaced atomically)
      gen-20261122T051500-1234/              (a complete Whoosh index + labels.json + build.json)
      gen-...                                (the previous generation, kept for readers mid-swap)
      .build-<stamp>-<pid>/                  (a build in progress; never read)
      .build.lock                            (flock held by the running build)

A build writes into ``.build-*`` and is published by renaming it to ``gen-*`` and swapping
the ``current`` link with ``os.replace``: a reader sees the old index or the new one, never
a half-written one, and an interrupted build leaves ``current`` untouched.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

CURRENT = "current"
LABELS_FILE = "labels.json"
BUILD_FILE = "build.json"
KEEP_GENERATIONS = 2


class IndexUnavailable(RuntimeError):
    """The index directory cannot be used; the message says why and what to do."""


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"


def fresh_file(path: Path | str) -> Path:
    """``path``, unlinked first when it exists: a generation made by ``--add`` or a delete
    starts with its base's files hard-linked, and writing through such a link would
    change a generation a server is reading (its tables are memory-mapped)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    return path


def mapped_array(path: Path | str):
    """A saved ``.npy`` array memory-mapped read-only, as a plain ``ndarray`` over the map:
    taking an element or a slice of an ``np.memmap`` runs Python code (its ``__getitem__``),
    which the per-term lookups of postings, related forms and the speller do thousands of
    times a query. The view keeps the map open."""
    return np.load(path, mmap_mode="r").view(np.ndarray)


def current_generation(index_dir: Path) -> Path:
    """The directory of the published generation, or IndexUnavailable naming the problem."""
    index_dir = Path(index_dir)
    link = index_dir / CURRENT
    if not index_dir.is_dir():
        raise IndexUnavailable(f"index directory {index_dir} does not exist: build it with `make index`")
    if not link.is_symlink():
        raise IndexUnavailable(f"no index published in {index_dir} (no '{CURRENT}' link): run `make index`")
    target = index_dir / os.readlink(link)
    if not target.is_dir():
        raise IndexUnavailable(f"{link} points to {target}, which is missing: rebuild with `make index`")
    return target


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the directory's build lock; a second concurrent build fails at once.

    flock is released by the kernel when a build is killed, so a lock is never stale.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    fh = open(index_dir / ".build.lock", "w")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexUnavailable(f"another build is running in {index_dir}") from None
        _held_locks.add(fh.fileno())
        yield
    finally:
        _held_locks.discard(fh.fileno())
        fh.close()


_held_locks: set[int] = set()


def release_inherited_locks() -> None:
    """In a forked build worker: close the build lock's inherited descriptors, so the
    lock ends with the build's parent and not with its last worker."""
    for fd in list(_held_locks):
        try:
            os.close(fd)
        except OSError:
            pass
    _held_locks.clear()


def clean_stale_builds(index_dir: Path) -> list[Path]:
    """Remove half-written build directories left by killed builds (call under the lock)."""
    removed = []
    for path in Path(index_dir).glob(".build-*"):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def new_build_dir(index_dir: Path) -> Path:
    path = Path(index_dir) / f".build-{_stamp()}"
    path.mkdir(parents=True)
    return path


def publish(index_dir: Path, build_dir: Path, labels: dict, build_info: dict) -> Path:
    """Make a finished build the current generation (atomically) and prune old ones."""
    index_dir = Path(index_dir)
    link = index_dir / CURRENT
    if link.exists() and not link.is_symlink():
        raise IndexUnavailable(f"{link} is a real directory or file, not the link a build publishes: "
                               f"move it away, then build again")
    (build_dir / LABELS_FILE).write_text(json.dumps(dict(labels.items()), ensure_ascii=False), encoding="utf-8")
    (build_dir / BUILD_FILE).write_text(json.dumps(build_info, ensure_ascii=False, indent=1), encoding="utf-8")
    final = index_dir / f"gen-{_stamp()}"
    os.rename(build_dir, final)
    tmp_link = index_dir / f".{CURRENT}-{os.getpid()}"
    try:
        if tmp_link.is_symlink():
            tmp_link.unlink()
        os.symlink(final.name, tmp_link)
        os.replace(tmp_link, link)
    except BaseException:  # not published: remove what this build wrote
        shutil.rmtree(final, ignore_errors=True)
        if tmp_link.is_symlink():
            tmp_link.unlink()
        raise
    _fsync_dir(index_dir)
    prune(index_dir)
    return final


def prune(index_dir: Path, keep: int = KEEP_GENERATIONS) -> None:
    """Delete all but the newest ``keep`` generations, never the current one."""
    current = (index_dir / os.readlink(index_dir / CURRENT)).name
    gens = sorted((p for p in index_dir.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for path in gens[:-keep]:
        if path.name != current:
            shutil.rmtree(path, ignore_errors=True)


def read_json(gen_dir: Path, name: str) -> dict:
    path = gen_dir / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def facet_labels_file(facet: str) -> str:
    """One facet's labels, saved with a generation's tables (``search.index.save_tables``)."""
    return f"table-labels-{facet}.json"


class Labels(Mapping):
    """A generation's labels, ``{facet: {value: {"ar", "en", ...}}}``, each facet read on
    first use from its own file (``facet_labels_file``), else (an earlier build) from
    labels.json as a whole. One CLI search needs the outlets' labels alone: parsing every
    facet's took 0.2 s of it on the bench index. Iterating reads labels.json."""

    def __init__(self, gen_dir: Path):
        self._dir = Path(gen_dir)
        self._facets: dict[str, dict] = {}
        self._whole: dict | None = None

    def _all(self) -> dict:
        if self._whole is None:
            self._whole = read_json(self._dir, LABELS_FILE)
        return self._whole

    def __getitem__(self, facet: str) -> dict:
        if facet not in self._facets:
            path = self._dir / facet_labels_file(facet)
            if path.is_file():
                self._facets[facet] = json.loads(path.read_text(encoding="utf-8"))
            else:
                self._facets[facet] = self._all()[facet]  # KeyError: no such facet
        return self._facets[facet]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())
