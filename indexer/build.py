"""Build an index from sources and publish it atomically.

The new generation is written beside the current one (``search.store``) and swapped in
only when complete: Ctrl-C, a kill or an error leave the previous index serving.
"""
from __future__ import annotations

import hashlib
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from indexer.extract import Extractor
from indexer.sources import Problem, Record, read_sources
from search import store
from search.schema import FACET_NAMES, FACET_SEP, build_schema

MAX_REPORTED = 50


@dataclass
class BuildReport:
    indexed: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    warnings: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)  # "id" (replaced), "url", "body"
    problems: list[str] = field(default_factory=list)  # the first MAX_REPORTED, file:line
    seconds: float = 0.0
    read_seconds: float = 0.0
    extract_seconds: float = 0.0
    generation: str = ""
    cleaned: list[str] = field(default_factory=list)

    @property
    def docs_per_s(self) -> float:
        return self.indexed / self.seconds if self.seconds else 0.0

    def note(self, problem: Problem) -> None:
        reason = problem.reason.split(" (id ")[0].split(":")[0]
        (self.skipped if problem.fatal else self.warnings)[reason] += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(str(problem))

    def summary(self) -> str:
        lines = [f"indexed {self.indexed:,} documents in {self.seconds:.1f} s ({self.docs_per_s:,.0f} docs/s)"]
        if self.skipped:
            lines.append(f"skipped {sum(self.skipped.values()):,}: " + ", ".join(f"{r} ({n})" for r, n in self.skipped.most_common()))
        if self.duplicates:
            lines.append("duplicates: " + ", ".join(f"{n} by {k}" for k, n in self.duplicates.items()))
        if self.warnings:
            lines.append("warnings: " + ", ".join(f"{r} ({n})" for r, n in self.warnings.most_common()))
        if self.cleaned:
            lines.append(f"removed {len(self.cleaned)} half-written build(s) left by an interrupted run")
        if self.generation:
            lines.append(f"published {self.generation}")
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {"indexed": self.indexed, "skipped": dict(self.skipped), "warnings": dict(self.warnings),
                "duplicates": dict(self.duplicates), "problems": self.problems, "seconds": round(self.seconds, 2),
                "docs_per_s": round(self.docs_per_s, 1), "extract_seconds": round(self.extract_seconds, 2),
                "generation": self.generation}


class BuildFailed(RuntimeError):
    """Nothing could be indexed, or the index could not be written."""


def _dedupe(items, report: BuildReport) -> list[Record]:
    """Records in order; the last record of an id wins; repeated URLs and repeated
    bodies of one outlet are dropped (and counted). A body repeated by records of no
    known outlet is kept: without an outlet, nothing says it is the same source
    re-publishing (ARCD holds one Wikipedia paragraph under two articles)."""
    by_id: dict[str, Record] = {}
    for item in items:
        if isinstance(item, Problem):
            report.note(item)
            continue
        if item.id in by_id:
            report.duplicates["id"] += 1
            if len(report.problems) < MAX_REPORTED:
                report.problems.append(f"{item.origin}: duplicate id {item.id!r}, replaces {by_id[item.id].origin}")
            del by_id[item.id]
        by_id[item.id] = item
    seen_url: set[str] = set()
    seen_body: set[tuple[str, bytes]] = set()
    out = []
    for rec in by_id.values():
        url = rec.url.strip().rstrip("/")
        if url and url in seen_url:
            report.duplicates["url"] += 1
            continue
        body_key = (rec.outlet.lower(), hashlib.blake2b(" ".join(rec.body.split()).encode(), digest_size=16).digest())
        if rec.outlet and len(rec.body) > 200 and body_key in seen_body:
            report.duplicates["body"] += 1
            continue
        if url:
            seen_url.add(url)
        seen_body.add(body_key)
        out.append(rec)
    return out


def build_index(sources: list[Path], index_dir: Path, procs: int = 1, progress: bool = True,
                extractor: Extractor | None = None, entities: bool = True) -> BuildReport:
    """Index ``sources`` into a new generation of ``index_dir`` and publish it.

    With ``entities=False`` places and actors are not extracted (outlet and date still
    are): for measuring what extraction costs."""
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    report = BuildReport()
    with store.build_lock(index_dir):
        report.cleaned = [str(p) for p in store.clean_stale_builds(index_dir)]
        records = _dedupe(read_sources([Path(s) for s in sources]), report)
        report.read_seconds = time.perf_counter() - t0
        if not records:
            raise BuildFailed("nothing to index: " + ("; ".join(report.problems[:5]) or "the sources hold no articles"))
        extractor = extractor or Extractor()
        build_dir = store.new_build_dir(index_dir)
        try:
            labels = _write(build_dir, records, extractor, procs, progress, report, entities)
            report.seconds = time.perf_counter() - t0
            info = {"sources": [str(s) for s in sources], "built": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    **report.as_json()}
            final = store.publish(index_dir, build_dir, labels, info)
            report.generation = str(final)
        except BaseException:
            shutil.rmtree(build_dir, ignore_errors=True)
            raise
    report.seconds = time.perf_counter() - t0
    return report


def _progress(records, enabled: bool):
    if not enabled:
        return records
    from tqdm import tqdm

    return tqdm(records, unit="doc", desc="indexing", file=sys.stderr, mininterval=0.5, smoothing=0.1)


def _write(build_dir: Path, records: list[Record], extractor: Extractor, procs: int, progress: bool,
           report: BuildReport, entities: bool = True) -> dict:
    ix = whoosh_index.create_in(str(build_dir), build_schema())
    if procs > 1:
        writer = ix.writer(procs=procs, limitmb=512, multisegment=True)
    else:
        writer = ix.writer(limitmb=512)
    labels: dict[str, dict[str, dict[str, str]]] = {name: {} for name in FACET_NAMES}
    try:
        for rec in _progress(records, progress):
            t = time.perf_counter()
            ex = extractor.extract(rec) if entities else extractor.extract_metadata(rec)
            report.extract_seconds += time.perf_counter() - t
            facet_values = {"outlet": [ex.outlet] if ex.outlet else [], "place": ex.places,
                            "actor": ex.actors, "country": ex.countries}
            for facet, values in facet_values.items():
                for e in values:
                    labels[facet].setdefault(e.name, {"ar": e.name, "en": e.en})
            doc = {
                "id": rec.id,
                "title": rec.title,
                "title_exact": rec.title,
                "body": rec.body,
                "body_exact": rec.body,
                "outlet": ex.outlet.name if ex.outlet else "",
                "place": FACET_SEP.join(e.name for e in ex.places),
                "actor": FACET_SEP.join(e.name for e in ex.actors),
                "country": FACET_SEP.join(e.name for e in ex.countries),
                "url": rec.url,
                "author": rec.author,
                "category": rec.category,
                "mentions": [list(sp) for sp in ex.spans],
            }
            if ex.date is not None:
                doc["date"] = ex.date
            writer.add_document(**{k: v for k, v in doc.items() if v != "" or k == "id"})
            report.indexed += 1
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    return labels
