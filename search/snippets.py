"""Highlighted snippets: the densest window of query matches, HTML-escaped, with <mark>.

A word matches when one of its stems is a query stem or its folded form is a query form,
so بالموصل and للموصل are marked for the query الموصل.
"""
from __future__ import annotations

from html import escape

from search.arabic import FOLD, WORD_RE, is_stop, light_normalize, stems

SCAN_CHARS = 30_000  # a 20 MB body is not scanned whole for a 240-character snippet
WINDOW_WORDS = 30


def _matches(text: str, stem_set: frozenset[str], form_set: frozenset[str]) -> list[tuple[int, int, str]]:
    """(start, end, key) of every word of ``text`` that matches the query."""
    found = []
    for m in WORD_RE.finditer(text):
        token = light_normalize(m.group())
        if not token or is_stop(token):
            continue
        folded = token.translate(FOLD)
        if folded in form_set:
            found.append((m.start(), m.end(), folded))
            continue
        for s in stems(token):
            if s in stem_set:
                found.append((m.start(), m.end(), s))
                break
    return found


def highlight(text: str, stem_set: frozenset[str], form_set: frozenset[str]) -> str:
    """The whole text, escaped, with every matching word in <mark> (document pages)."""
    return _render(text, 0, len(text), _matches(text, stem_set, form_set))


def snippet(text: str, stem_set: frozenset[str], form_set: frozenset[str], max_chars: int = 240) -> str:
    """An escaped excerpt of about ``max_chars`` around the best cluster of matches."""
    head = text[:SCAN_CHARS]
    found = _matches(head, stem_set, form_set) if (stem_set or form_set) else []
    if not found:
        end = _cut_end(head, min(len(head), max_chars))
        return escape(" ".join(head[:end].split())) + ("…" if end < len(text) else "")
    best, best_score = 0, -1
    for i in range(len(found)):
        window = [f for f in found[i:] if f[0] - found[i][0] <= max_chars * 0.7]
        score = len({f[2] for f in window}) * 10 + len(window)
        if score > best_score:
            best, best_score = i, score
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
