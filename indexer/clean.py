"""Text cleaning, title detection and date parsing for incoming articles."""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from search.arabic import fold_digits

_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\ufffe\u200b\u2060]")
_TAG_RE = re.compile(r"</?(?:p|br|div|span|a|b|i|strong|em|img|script|style|iframe|h\d)\b[^>]{0,500}>", re.I)
_ENTITY_RE = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,5});")
_SPACES_RE = re.compile(r"[ \t\xa0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")  # runs of blank lines: one paragraph break
# What str.split() splits on within a line, after the control characters are gone, and
# _SPACES_RE does not fold: a text holding one takes the regex's path.
_NOT_FOLDED_RE = re.compile("[\r\x85\u1680\u2028\u2029]")


def clean_text(text: str) -> str:
    """Remove NULs, BOMs and control characters, HTML markup and entities; fold runs of
    spaces; keep paragraph breaks. Markup is removed, not interpreted."""
    if not text:
        return ""
    text = _CONTROL_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text) if _ENTITY_RE.search(text) else text
        text = _CONTROL_RE.sub("", text)
    # C-level splits and joins, not a regex substitution per space: this runs on every
    # article, in the one process that feeds the indexing workers
    if _NOT_FOLDED_RE.search(text) is None:
        text = "\n".join([" ".join(line.split()) for line in text.split("\n")])
    else:
        text = "\n".join([line.strip() for line in _SPACES_RE.sub(" ", text).split("\n")])
    if "\n\n\n" in text:
        text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip()


def split_title(text: str, title_words: int = 12) -> tuple[str, str]:
    """(title, body) of a plain-text article.

    The title is the first of the first three lines that reads like a headline (3 to 25
    words, not ending a sentence); else the first words of the text, and the body is
    the whole text.
    """
    lines = text.split("\n")
    nonblank = [(i, line) for i, line in enumerate(lines) if line.strip()][:3]
    for i, line in nonblank:
        words = line.split()
        if 3 <= len(words) <= 25 and not line.rstrip().endswith((".", "،", ":")):
            body = "\n".join(lines[:i] + lines[i + 1:]).strip()
            return line.strip(), body
    words = text.split()
    title = " ".join(words[:title_words]) + ("…" if len(words) > title_words else "")
    return title, text


# --- dates ------------------------------------------------------------------------

_ISO_COMPACT_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2})(\d{2})(\d{2})$")
_DMY_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_YMD_RE = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def _utc_naive(dt: datetime) -> datetime:
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def _valid(dt: datetime | None) -> datetime | None:
    if dt is None or not (1900 <= dt.year <= 2100):
        return None
    return dt


_EPOCH_RE = re.compile(r"^\d{9,10}$|^\d{12,13}$")


def parse_date(raw: str) -> datetime | None:
    """A date as written in the corpora -> naive UTC datetime; None when unknown.

    RFC 822 (``Sun, 18 Feb 2018 21:35:43 +0400``), ISO 8601 with or without zone,
    ``2017-01-22T185600``, ``YYYY-MM-DD hh:mm:ss``, ``dd/mm/yyyy``, epoch seconds (or
    milliseconds), and month names in Arabic or English (``16 مارس 2019``, ``March 16,
    2019``, ``16 Mar 2019``; ``indexer.dates``). Never a guess:
    anything else, or an impossible date, is None.
    """
    s = fold_digits(raw or "").strip()
    if not s:
        return None
    try:
        if s[:3].isalpha() and "," in s[:5]:
            return _valid(_utc_naive(parsedate_to_datetime(s)))
    except (TypeError, ValueError, IndexError):
        pass  # a weekday and a date without the time: the month-name reader below
    m = _ISO_COMPACT_RE.match(s)
    if m:
        try:
            return _valid(datetime(*map(int, m.groups())))
        except ValueError:
            return None
    try:
        return _valid(_utc_naive(datetime.fromisoformat(s.replace("Z", "+00:00"))))
    except ValueError:
        pass
    for regex, order in ((_YMD_RE, "ymd"), (_DMY_RE, "dmy")):
        m = regex.match(s)
        if m:
            a, b, c, hh, mm, ss = m.groups()
            y, mo, d = (int(a), int(b), int(c)) if order == "ymd" else (int(c), int(b), int(a))
            try:
                return _valid(datetime(y, mo, d, int(hh or 0), int(mm or 0), int(ss or 0)))
            except ValueError:
                return None
    if _EPOCH_RE.match(s):
        seconds = int(s) / (1000 if len(s) >= 12 else 1)  # 13 digits: milliseconds
        return _valid(datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None))
    from indexer.dates import date_with_month_name

    return date_with_month_name(s)
