"""The index schema and the one list of facet definitions."""
from __future__ import annotations

from dataclasses import dataclass

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from search.arabic import exact_analyzer, stem_analyzer


@dataclass(frozen=True)
class Facet:
    """A facet: its index field (also its URL parameter) and its display names."""

    name: str
    label_ar: str
    label_en: str


# Order is display order. Each facet is a keyword field holding canonical Arabic names.
FACETS: tuple[Facet, ...] = (
    Facet("outlet", "المصدر", "Outlet"),
    Facet("place", "المكان", "Place"),
    Facet("actor", "الفاعل", "Actor"),
    Facet("country", "الدولة", "Country"),
)
FACET_NAMES = tuple(f.name for f in FACETS)

# Separator of multi-valued facet fields (Arabic names hold spaces, never commas).
FACET_SEP = ","

# Text fields searched by a query, and their weights (tuned on the ARCD train split:
# see README "Retrieval quality"). The exact-form copy adds to a stem match, so an
# article with the very form searched ranks above one with another form of the word.
SEARCH_FIELDS = {"title": 0.3, "body": 1.0, "title_exact": 0.3, "body_exact": 0.5}


def build_schema() -> Schema:
    """Stemmed and exact-form copies of title and body, facets and display fields."""
    stem, exact = stem_analyzer(), exact_analyzer()
    facet = dict(stored=True, commas=True, scorable=False, lowercase=False)
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=stem, stored=True),
        title_exact=TEXT(analyzer=exact, phrase=False),  # phrases use the stemmed fields
        body=TEXT(analyzer=stem, stored=True),
        body_exact=TEXT(analyzer=exact, phrase=False),
        outlet=KEYWORD(**facet),
        place=KEYWORD(**facet),
        actor=KEYWORD(**facet),
        country=KEYWORD(**facet),
        date=DATETIME(stored=True, sortable=True),
        url=STORED(),
        author=STORED(),
        category=STORED(),
        mentions=STORED(),  # [[start, end, facet, value], ...] in the body, for the document page
    )
