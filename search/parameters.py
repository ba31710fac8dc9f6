"""The search request's parameters, in one place: what ``parse_request`` accepts (anything
else is a 400 naming it), what ``/api/openapi.json`` describes and what the CLI's help
says. Each facet of ``search.schema.FACETS`` is a repeatable filter parameter."""
from __future__ import annotations

from dataclasses import dataclass

from search.schema import FACETS

MAX_PER_PAGE = 100
MAX_PAGE = 500
MAX_FACET_SIZE = 100
MAX_FILTER_VALUES = 50
MAX_EXPORT = 10_000  # documents in one CSV / JSONL export
SORTS = ("relevance", "date", "date_asc")  # date: newest first
INTERVALS = ("day", "week", "month", "year")
SWITCH = ("on", "off")


@dataclass(frozen=True)
class Param:
    """One request parameter: its JSON-schema type, what it means, its bounds."""

    name: str
    kind: str  # "string", "integer" or "date" (ISO YYYY-MM-DD)
    help: str
    default: object = None
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    repeat: bool = False  # may be given several times (any of the values)

    def schema(self) -> dict:
        """The JSON schema of one value (OpenAPI 3)."""
        out: dict = {"type": "integer" if self.kind == "integer" else "string"}
        if self.kind == "date":
            out["format"] = "date"
        if self.enum:
            out["enum"] = list(self.enum)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.default is not None:
            out["default"] = self.default
        return {"type": "array", "items": out} if self.repeat else out


SEARCH_PARAMS: tuple[Param, ...] = (
    Param("q", "string", "the query: words, \"a phrase\", \"two words\"~5 (within 5 positions, any order), "
                         "OR, NOT, parentheses; empty for every article"),
    *(Param(f.name, "string", f"filter by {f.label_en.lower()} (repeatable: any of the values)", repeat=True)
      for f in FACETS),
    Param("from", "date", "only articles dated on or after this day (UTC, inclusive)"),
    Param("to", "date", "only articles dated on or before this day (UTC, inclusive)"),
    Param("sort", "string", "relevance, date (newest first) or date_asc (oldest first)", "relevance", SORTS),
    Param("page", "integer", "page of hits", 1, minimum=1, maximum=MAX_PAGE),
    Param("per_page", "integer", "hits per page", 20, minimum=1, maximum=MAX_PER_PAGE),
    Param("facet_size", "integer", "values shown per facet", 10, minimum=0, maximum=MAX_FACET_SIZE),
    Param("interval", "string", "the date histogram's bucket (default: chosen from the span of the matches)",
          enum=INTERVALS),
    Param("histogram_by", "string", "split the date histogram by the top values of this facet",
          enum=tuple(f.name for f in FACETS)),
    Param("entities", "string", "off: a query naming a known place or actor finds its words only", "on", SWITCH),
    Param("correct", "string", "off: a query that finds nothing is not answered with its spelling "
                               "correction's results", "on", SWITCH),
)
SEARCH_PARAM_NAMES = frozenset(p.name for p in SEARCH_PARAMS)

DOC_PARAMS: tuple[Param, ...] = (
    Param("id", "string", "the article's id"),
    Param("q", "string", "words to mark in the article"),
    Param("back", "string", "the results page the reader came from (its query string), for the back link"),
)
DOC_PARAM_NAMES = frozenset(p.name for p in DOC_PARAMS)
