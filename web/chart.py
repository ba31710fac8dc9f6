"""The results over time as a server-rendered SVG bar chart (no JavaScript).

Time runs right to left, as Arabic readers expect: the oldest bucket is at the right.
Each bar is a link narrowing the search to its bucket, with an accessible title; with
``histogram_by`` the bars are stacked by the top values of that facet, with a legend.
"""
from __future__ import annotations

from datetime import date
from html import escape

from markupsafe import Markup

MONTHS_AR = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر",
             "أكتوبر", "نوفمبر", "ديسمبر")
INTERVAL_AR = {"day": "يوم", "week": "أسبوع", "month": "شهر", "year": "سنة"}  # the chart's and the page's
# Colour-blind-safe palette (Okabe–Ito) for the series; the last is "the rest".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#999999")
WIDTH, HEIGHT, AXIS = 720, 150, 22
MAX_LABELS = 8


def bucket_label(start: str, end: str, interval: str) -> str:
    """A bucket in Arabic: «مارس 2018», «2018», «2018-03-05» or «2018-03-05 – 2018-03-11»."""
    day = date.fromisoformat(start)
    if interval == "month":
        return f"{MONTHS_AR[day.month - 1]} {day.year}"
    if interval == "year":
        return str(day.year)
    if interval == "week":
        return f"{start} – {end}"
    return start


def _axis_label(start: str, interval: str) -> str:
    day = date.fromisoformat(start)
    if interval == "month":
        return f"{MONTHS_AR[day.month - 1]} {day.year % 100:02d}" if day.month != 1 else str(day.year)
    if interval == "year":
        return str(day.year)
    return f"{day.day} {MONTHS_AR[day.month - 1]}"


def svg_chart(histogram: dict, count_label) -> Markup:
    """The chart's SVG; ``count_label(n)`` words a count in Arabic («3 نتائج»)."""
    buckets = histogram["buckets"]
    if not buckets:
        return Markup("")
    n, interval = len(buckets), histogram["interval"]
    series = histogram.get("series") or []
    top = max(b["count"] for b in buckets) or 1
    bar = WIDTH / n
    gap = min(2.0, bar * 0.15)
    scale = (HEIGHT - AXIS - 6) / top
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="النتائج عبر الزمن، لكل {INTERVAL_AR[interval]}" xmlns="http://www.w3.org/2000/svg">']
    base = HEIGHT - AXIS
    for i, b in enumerate(buckets):
        x = WIDTH - (i + 1) * bar + gap / 2  # the oldest at the right
        title = f"{bucket_label(b['start'], b['end'], interval)}: {count_label(b['count'])}"
        cls = "bar selected" if b.get("selected") else "bar"
        parts.append(f'<a href="{escape(b["url"])}" class="{cls}"><title>{escape(title)}</title>')
        if series:
            y = base
            for k, s in enumerate(series):
                h = s["counts"][i] * scale
                if h > 0:
                    y -= h
                    parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - gap:.1f}" height="{h:.1f}" '
                                 f'fill="{PALETTE[k] if s["value"] else PALETTE[-1]}"/>')
        h = b["count"] * scale
        # the whole column is the link's target, even where the bar is short
        parts.append(f'<rect class="hit-area" x="{x:.1f}" y="0" width="{bar - gap:.1f}" height="{base}" fill="transparent"/>')
        if not series and h > 0:
            parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar - gap:.1f}" height="{h:.1f}"/>')
        parts.append("</a>")
    step = max(1, -(-n // MAX_LABELS))
    for i in range(0, n, step):
        x = min(max(WIDTH - (i + 0.5) * bar, 28), WIDTH - 28)  # edge labels stay inside
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
                     f'{escape(_axis_label(buckets[i]["start"], interval))}</text>')
    parts.append(f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" class="axis"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(histogram: dict) -> list[tuple[str, str]]:
    """(colour, label) of each series of a split histogram."""
    return [(PALETTE[k] if s["value"] else PALETTE[-1], s["label"] or "غيرها")
            for k, s in enumerate(histogram.get("series") or [])]
