"""Result sets taken away: CSV and JSONL rows (streamed), the histogram as CSV, an Atom
feed of a search. The rows come from ``search.engine.export_row``."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from html import escape
from typing import Iterable, Iterator

from search.engine import EXPORT_FIELDS

LIST_SEP = " | "  # places and actors in one CSV cell (canonical names hold no "|")


def _csv_line(values: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(values)
    return buf.getvalue()


def csv_lines(rows: Iterable[dict]) -> Iterator[str]:
    """A header, then one line per row. It starts with a byte-order mark: spreadsheet
    programs read UTF-8 Arabic right only then."""
    yield "\ufeff" + _csv_line(list(EXPORT_FIELDS))
    for row in rows:
        yield _csv_line([LIST_SEP.join(v) if isinstance(v, list) else ("" if v is None else v)
                         for v in (row[k] for k in EXPORT_FIELDS)])


def jsonl_lines(rows: Iterable[dict]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, ensure_ascii=False) + "\n"


def histogram_csv(histogram: dict) -> Iterator[str]:
    """start, end, count of each bucket, and one column per series when split."""
    series = histogram.get("series") or []
    yield "\ufeff" + _csv_line(["start", "end", "count"] + [s["value"] or "(other)" for s in series])
    for i, b in enumerate(histogram["buckets"]):
        yield _csv_line([b["start"], b["end"], b["count"]] + [s["counts"][i] for s in series])


def atom_feed(result: dict, root: str, self_url: str, built: str | None) -> bytes:
    """The hits of a search (newest first) as an Atom 1.0 feed (feedgen)."""
    from feedgen.feed import FeedGenerator  # only this route needs it

    fg = FeedGenerator()
    title = f"مرصاد: {result['query']}" if result["query"] else "مرصاد: أحدث المقالات"
    fg.id(self_url)
    fg.title(title)
    fg.language("ar")
    fg.link(href=self_url, rel="self")
    fg.link(href=root + result["links"]["html"], rel="alternate")
    fg.generator("Mirsad")
    fg.author(name="مرصاد")
    fallback = _parse(built) or datetime.now(timezone.utc)
    newest = None
    for hit in reversed(result["hits"]):  # feedgen lists the last added first
        entry = fg.add_entry()
        entry.id(root + hit["doc_url"].split("&", 1)[0])  # the document's page, without the search
        entry.title(hit["title"] or "(بلا عنوان)")
        # one link only: feedgen 1.0 drops an entry link's rel, so a second one would
        # read as another alternate; the original is linked from the summary instead
        entry.link(href=root + hit["doc_url"])
        when = _parse(hit["date"]) or fallback
        entry.updated(when)
        entry.published(when)
        original = f' <a href="{escape(hit["url"])}">الأصل</a>' if hit["url"] else ""
        entry.summary(hit["snippet"] + original, type="html")
        if hit["outlet_label"]:
            entry.author(name=hit["outlet_label"])
        newest = max(newest or when, when)
    fg.updated(newest or fallback)
    return fg.atom_str(pretty=True)


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    # a build's stamp has no zone (the machine's clock, UTC on servers): Atom needs one
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
