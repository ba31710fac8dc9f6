"""Dates written with month names: Arabic running text (``الأربعاء ١١ أكتوبر ٢٠١٧``,
``3 كانون الثاني 2016``) and metadata in Arabic or English (``16 مارس 2019``,
``March 16, 2019``)."""
from __future__ import annotations

import re
from datetime import datetime

from search.arabic import normalize

# Folded month names: Egyptian/Gulf (يناير), Levantine/Iraqi (كانون الثاني), Maghrebi (جانفي).
_MONTHS = {
    1: ["يناير", "كانون الثاني", "جانفي"],
    2: ["فبراير", "شباط", "فيفري"],
    3: ["مارس", "اذار"],
    4: ["ابريل", "نيسان", "افريل"],
    5: ["مايو", "ايار", "ماي"],
    6: ["يونيو", "حزيران", "جوان", "يونيه"],
    7: ["يوليو", "تموز", "جويليه", "يوليه"],
    8: ["اغسطس", "اب", "اوت", "أغسطس"],
    9: ["سبتمبر", "ايلول"],
    10: ["اكتوبر", "تشرين الاول"],
    11: ["نوفمبر", "تشرين الثاني"],
    12: ["ديسمبر", "كانون الاول"],
}
_MONTH_OF = {normalize(name): m for m, names in _MONTHS.items() for name in names}
_MONTH_ALT = "|".join(sorted((re.escape(n) for n in _MONTH_OF), key=len, reverse=True))
_TEXT_DATE_RE = re.compile(rf"(?<!\d)(\d{{1,2}})\s+(?:من\s+)?({_MONTH_ALT})(?:\s*\(\s*[^)]{{2,12}}\))?\s*[،,]?\s+(\d{{4}})(?!\d)")
SCAN_CHARS = 800


def date_in_text(text: str) -> datetime | None:
    """The first day-month-year date in the opening of an article (its dateline)."""
    m = _TEXT_DATE_RE.search(normalize(text[:SCAN_CHARS]))
    if not m:
        return None
    day, month, year = int(m.group(1)), _MONTH_OF[m.group(2)], int(m.group(3))
    try:
        dt = datetime(year, month, day)
    except ValueError:
        return None
    return dt if 1900 <= year <= 2100 else None


_ENGLISH = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
            "october", "november", "december"]
_EN_MONTH = {**{m: i for i, m in enumerate(_ENGLISH, 1)}, **{m[:3]: i for i, m in enumerate(_ENGLISH, 1)},
             "sept": 9}
_EN_ALT = "|".join(sorted(_EN_MONTH, key=len, reverse=True))
_EN_DMY = re.compile(rf"^(?:[a-z]+,?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+({_EN_ALT})\.?,?\s+(\d{{4}})\b", re.I)
_EN_MDY = re.compile(rf"^(?:[a-z]+,?\s+)?({_EN_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)


def date_with_month_name(text: str) -> datetime | None:
    """A metadata date with a month name, Arabic or English; None when it is not one."""
    text = text.strip()
    m = _EN_DMY.match(text)
    if m:
        day, month, year = int(m.group(1)), _EN_MONTH[m.group(2).lower()], int(m.group(3))
    else:
        m = _EN_MDY.match(text)
        if m:
            day, month, year = int(m.group(2)), _EN_MONTH[m.group(1).lower()], int(m.group(3))
        else:
            return date_in_text(text)
    try:
        dt = datetime(year, month, day)
    except ValueError:
        return None
    return dt if 1900 <= year <= 2100 else None
