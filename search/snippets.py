"""Highlighted snippets: the densest window of query matches, HTML-escaped, with <mark>.

A word matches when one of its stems is a query stem or its folded form is a query form,
so بالموصل and للموصل are marked for the query الموصل.
"""
from __future__ import annotations

from bisect import bisect_left
from html import escape

from search.arabic import FOLD, WORD_RE, is_stop, light_normalize, stems

FIRST_SCAN = 1_500
SCAN_CHARS = 30_000  # a 20 MB body is not scanned whole for a 240-character snippet


_WORD_CACHE: dict[str, tuple[str, tuple[str, ...]] | None] = {}  # word -> (folded, stems); None = stop word


def _analysis(word: str) -> tuple[str, tuple[str, ...]] | None:
    """(folded form, stems) of a written word, cached across queries."""
    cached = _WORD_CACHE.get(word, False)
    if cached is False:
        token = light_normalize(word)
        cached = None if not token or is_stop(token) else (token.translate(FOLD), stems(token))
        if len(_WORD_CACHE) < 500_000:
            _WORD_CACHE[word] = cached
    return cached


def _matches(text: str, stem_set: frozenset[str], form_set: frozenset[str]) -> list[tuple[int, int, str]]:
    """(start, end, key) of every word of ``text`` that matches the query."""
    found = []
    for m in WORD_RE.finditer(text):
        a = _WORD_CACHE.get(m.group(), False)
        if a is False:
            a = _analysis(m.group())
        if a is None:
            continue
        if a[0] in form_set:
            found.append((m.start(), m.end(), a[0]))
            continue
        for s in a[1]:
            if s in stem_set:
                found.append((m.start(), m.end(), s))
                break
    return found


def highlight(text: str, stem_set: frozenset[str], form_set: frozenset[str],
              entities: list[tuple[int, int, str, str]] = (), link=None) -> str:
    """The whole text, escaped, with every matching word in <mark> and every entity
    mention ``(start, end, facet, value)`` wrapped in a link ``link(facet, value)``
    (document pages)."""
    marks = _matches(text, stem_set, form_set) if (stem_set or form_set) else []
    starts = [m[0] for m in marks]

    def within(lo: int, hi: int) -> list:  # the marks inside [lo, hi); marks are sorted
        return [m for m in marks[bisect_left(starts, lo):bisect_left(starts, hi)] if m[1] <= hi]

    out, pos = [], 0
    for start, end, facet, value in sorted(entities):
        if start < pos or end > len(text) or link is None:
            continue  # overlapping or out of range: skip rather than break the markup
        out.append(_render(text, pos, start, within(pos, start)))
        out.append(f'<a class="ent {escape(facet)}" href="{escape(link(facet, value))}" '
                   f'title="{escape(value)}">{_render(text, start, end, within(start, end))}</a>')
        pos = end
    out.append(_render(text, pos, len(text), within(pos, len(text) + 1)))
    return "".join(out)


def snippet(text: str, stem_set: frozenset[str], form_set: frozenset[str], max_chars: int = 240) -> str:
    """An escaped excerpt of about ``max_chars`` around the best cluster of matches.

    The opening of the article is scanned first (news puts the story there); the rest,
    up to SCAN_CHARS, only when the opening has no match."""
    found: list = []
    head = text[:FIRST_SCAN]
    if stem_set or form_set:
        found = _matches(head, stem_set, form_set)
        if not found and len(text) > FIRST_SCAN:
            head = text[:SCAN_CHARS]
            found = _matches(head, stem_set, form_set)
    if not found:
        end = _cut_end(head, min(len(head), max_chars))
        return escape(" ".join(head[:end].split())) + ("…" if end < len(text) else "")
    # The window (sliding over matches) with the most distinct query words, then the most matches.
    best, best_score, j, counts = 0, -1, 0, {}
    span = max_chars * 0.7
    for i in range(len(found)):
        while j < len(found) and found[j][0] - found[i][0] <= span:
            counts[found[j][2]] = counts.get(found[j][2], 0) + 1
            j += 1
        score = len(counts) * 10 + (j - i)
        if score > best_score:
            best, best_score = i, score
        key = found[i][2]
        counts[key] -= 1
        if not counts[key]:
            del counts[key]
    anchor = found[best][0]
    start = max(0, anchor - max_chars // 4)
    start = _cut_start(head, start)
    end = _cut_end(head, min(len(head), start + max_chars))
    inside = [f for f in found if f[0] >= start and f[1] <= end]
    body = " ".join(_render(head, start, end, inside).split())
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def _render(text: str, start: int, end: int, marks: list[tuple[int, int, str]]) -> str:
    out, pos = [], start
    for s, e, _ in marks:
        out.append(escape(text[pos:s]))
        out.append("<mark>" + escape(text[s:e]) + "</mark>")
        pos = e
    out.append(escape(text[pos:end]))
    return "".join(out)


def _cut_start(text: str, pos: int) -> int:
    """Move ``pos`` forward to the start of a word."""
    if pos == 0:
        return 0
    space = text.find(" ", pos, pos + 30)
    return space + 1 if space != -1 else pos


def _cut_end(text: str, pos: int) -> int:
    """Move ``pos`` back to the end of a word."""
    if pos >= len(text):
        return len(text)
    space = text.rfind(" ", max(0, pos - 30), pos)
    return space if space != -1 else pos
