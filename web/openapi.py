"""The OpenAPI 3 description of every route, built from the parameter registry
(``search.parameters``): a parameter added there is described here."""
from __future__ import annotations

from search.parameters import DOC_PARAMS, SEARCH_PARAMS, Param

_ERROR = {"description": "a parameter the server cannot answer (the error names it)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _parameters(params: tuple[Param, ...], required: tuple[str, ...] = ()) -> list[dict]:
    out = []
    for p in params:
        item = {"name": p.name, "in": "query", "description": p.help, "required": p.name in required,
                "schema": p.schema()}
        if p.repeat:
            item.update(style="form", explode=True)
        out.append(item)
    return out


def _route(summary: str, params: list[dict], media: str, description: str, schema: dict | None = None) -> dict:
    content = {media: {"schema": schema or {"type": "string"}}}
    return {"get": {"summary": summary, "parameters": params,
                    "responses": {"200": {"description": description, "content": content},
                                  "400": _ERROR}}}


def openapi_document() -> dict:
    search = _parameters(SEARCH_PARAMS)
    doc = _parameters(DOC_PARAMS, required=("id",))
    obj = {"type": "object"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Mirsad", "version": "1",
                 "description": "Full-text search of Arabic news with outlet, place, actor, country and date facets. "
                                "Every HTML page has a JSON twin; unknown parameters are a 400 naming them."},
        "paths": {
            "/api/search": _route("Search: hits, facets, date histogram", search, "application/json",
                                  "the search document", {"$ref": "#/components/schemas/Search"}),
            "/search": _route("The search page (HTML twin of /api/search)", search, "text/html", "the page"),
            "/api/search.csv": _route("Every matching article (at most 10,000) as CSV, streamed", search,
                                      "text/csv", "id, date, outlet, title, url, places, actors, score"),
            "/api/search.jsonl": _route("Every matching article (at most 10,000) as JSON lines, streamed", search,
                                        "application/x-ndjson", "one JSON object per line"),
            "/api/histogram.csv": _route("The date histogram of a search as CSV", search, "text/csv",
                                         "start, end, count (and one column per series with histogram_by)"),
            "/search.atom": _route("A search as an Atom feed, newest first", search, "application/atom+xml",
                                   "an Atom 1.0 feed"),
            "/api/doc": _route("One article with its entities", doc, "application/json", "the article", obj),
            "/doc": _route("The article page (HTML twin of /api/doc)", doc, "text/html", "the page"),
            "/api/health": {"get": {"summary": "Index status", "parameters": [],
                                    "responses": {"200": {"description": "status, documents, generation",
                                                          "content": {"application/json": {"schema": obj}}},
                                                  "503": {"description": "no index can be opened"}}}},
            "/api/openapi.json": {"get": {"summary": "This document", "parameters": [],
                                          "responses": {"200": {"description": "OpenAPI 3",
                                                                "content": {"application/json": {"schema": obj}}}}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "param": {"type": "string"},
                               "message": {"type": "string"}, "message_ar": {"type": "string"}}}}},
            "Search": {"type": "object", "required": ["query", "total", "page", "per_page", "hits", "facets", "histogram"],
                       "properties": {"query": {"type": "string"}, "total": {"type": "integer"},
                                      "page": {"type": "integer"}, "per_page": {"type": "integer"},
                                      "pages": {"type": "integer"}, "took_ms": {"type": "number"},
                                      "timed_out": {"type": "array", "items": {"type": "string", "enum": [
                                          "matching", "ranking", "snippets", "facets", "histogram", "suggestion",
                                          "finishing"]}},
                                      "hits": {"type": "array", "items": obj}, "facets": obj,
                                      "histogram": {"$ref": "#/components/schemas/Histogram"}}},
            "Histogram": {"type": "object", "properties": {
                "interval": {"type": "string", "enum": ["day", "week", "month", "year"]},
                "undated": {"type": "integer"},
                "buckets": {"type": "array", "items": {"type": "object", "properties": {
                    "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
                    "count": {"type": "integer"}, "url": {"type": "string"}}}},
                "by": {"type": "string", "nullable": True},
                "series": {"type": "array", "nullable": True, "items": obj}}},
        }},
    }
