"""Every URL the pages, the API, the exports and the CLI hand out, built in one place.

The engine answers with parameters (query strings: a facet value's ``toggle``, a
histogram bucket's ``range``, an entity's ``filter``); ``Links`` turns them into URLs on
the app's routes (``Links.current()`` asks Flask's ``url_for`` for each route's path).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from search.engine import SearchRequest, answer
from search.index import Generation
from search.schema import FACETS


@dataclass(frozen=True)
class Links:
    """The paths of the routes links point to."""

    page: str = "/search"
    api: str = "/api/search"
    doc_page: str = "/doc"
    doc_api: str = "/api/doc"
    csv: str = "/api/search.csv"
    jsonl: str = "/api/search.jsonl"
    atom: str = "/search.atom"
    histogram_csv: str = "/api/histogram.csv"

    @classmethod
    def current(cls) -> "Links":
        """The paths of the running app's routes (inside a request)."""
        from flask import url_for

        return cls(*(url_for(f"mirsad.{endpoint}") for endpoint in _ENDPOINTS))

    @staticmethod
    def to(path: str, query: str) -> str:
        return path + ("?" + query if query else "")

    def search(self, req: SearchRequest, api: bool = False, **changes) -> str:
        return self.to(self.api if api else self.page, req.query_string(**changes))

    def doc(self, doc_id: str, api: bool = False, q: str = "", back: str = "") -> str:
        """A document's link: its id as a query parameter, so any id (``..``, a leading
        ``/``, ``?``, ``#``) reaches its page; ``back`` is the query string of the results
        page it was found on (its back link returns there)."""
        params = {"id": doc_id, **({"q": q} if q else {}), **({"back": back} if back else {})}
        return (self.doc_api if api else self.doc_page) + "?" + urlencode(params)

    def facet(self, facet: str, value: str) -> str:
        """The articles filtered by one facet value."""
        return self.page + "?" + urlencode({facet: value})


_ENDPOINTS = ("search_page", "search_api", "doc_page", "doc_api", "search_csv", "search_jsonl",
              "search_atom", "histogram_csv")


def search_document(gen: Generation, req: SearchRequest, links: Links = Links(), api: bool = True) -> dict:
    """The engine's answer (``search.engine.answer``) with its links as URLs: each facet
    value's ``toggle_url``, each histogram bucket's ``url``, next/prev/sort/export links,
    filter links for the hits' entities, each hit's ``doc_url``. ``api``: links point to
    the JSON API, else to the page."""
    result, req = answer(gen, req)
    base = links.api if api else links.page

    def url(**changes) -> str:
        return links.to(base, req.query_string(**changes))

    for values in result["facets"].values():
        for v in values:
            v["toggle_url"] = links.to(base, v.pop("toggle"))
    for e in result["entities"]:
        e["filter_url"] = links.to(base, e.pop("filter"))
    for b in result["histogram"]["buckets"]:
        b["url"] = links.to(base, b.pop("range"))
    if result["corrected"]:
        result["corrected"]["literal_url"] = links.to(base, result["corrected"].pop("literal"))
    pages, query = result["pages"], req.query_string()
    result["links"] = {
        "self": url(),
        "next": url(page=req.page + 1) if req.page < pages else None,
        "prev": url(page=req.page - 1) if req.page > 1 else None,
        "json": links.to(links.api, query),
        "html": links.to(links.page, query),
        "csv": links.to(links.csv, req.query_string(page=1, per_page=20)),
        "jsonl": links.to(links.jsonl, req.query_string(page=1, per_page=20)),
        "atom": links.to(links.atom, req.query_string(page=1, sort="relevance")),
        "histogram_csv": links.to(links.histogram_csv, req.query_string(page=1, per_page=20)),
        "sort_relevance": url(sort="relevance", page=1),
        "sort_date": url(sort="date", page=1),
        "sort_date_asc": url(sort="date_asc", page=1),
        "clear_filters": links.to(base, req.query_string(filters={}, date_from=None, date_to=None, page=1)),
        "clear_dates": url(date_from=None, date_to=None, page=1),
        "words_only": url(entities=False, page=1) if result["entities"] else None,
        "suggestion": links.to(base, req.query_string(q=result["suggestion"], page=1)) if result["suggestion"] else None,
        "more_facets": url(facet_size=min(100, max(50, req.facet_size * 5))),
        "histogram_by": {f.name: url(histogram_by=None if req.histogram_by == f.name else f.name)
                         for f in FACETS},
    }
    result["chips"] = _chips(req, result, links, base)
    shown: dict[str, set[str]] = {f.name: set() for f in FACETS}
    for hit in result["hits"]:
        for f in FACETS:
            if f.key is None and hit.get(f.name):
                shown[f.name].add(hit[f.name])
            elif f.key in hit:
                shown[f.name].update(e["value"] for e in hit[f.key])
        hit["doc_url"] = links.doc(hit["id"], q=req.q, back=query)
    result["filter_urls"] = {facet: {v: url(filters={**req.filters, facet: [v]}, page=1) for v in vs}
                             for facet, vs in shown.items()}
    return result


def _chips(req: SearchRequest, result: dict, links: Links, base: str) -> list[dict]:
    """The active filters, each with the URL that removes it (facet values, then dates)."""
    labels = {f.name: {v["value"]: v["label"] for v in result["facets"][f.name]} for f in FACETS}
    out = []
    for f in FACETS:
        for value in req.filters.get(f.name, []):
            rest = [v for v in req.filters[f.name] if v != value]
            out.append({"facet": f.name, "facet_label": f.label_ar, "value": value,
                        "label": labels[f.name].get(value, value),
                        "remove_url": links.to(base, req.query_string(filters={**req.filters, f.name: rest}, page=1))})
    for name, label, value, change in (("from", "من", req.date_from, "date_from"), ("to", "إلى", req.date_to, "date_to")):
        if value:
            out.append({"facet": name, "facet_label": label, "value": value.isoformat(), "label": value.isoformat(),
                        "remove_url": links.to(base, req.query_string(**{change: None}, page=1))})
    return out
