"""The one search code path: request parameters in, the JSON document out.

``parse_request`` validates parameters (a ``BadRequest`` names the parameter);
``search_document`` answers over a ``Generation`` (``run_search`` plus navigation links):
the web API, the HTML page and the CLI all call these, and ``make eval`` measures the
same ranking through ``ranked_ids``.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import urlencode

import numpy as np
from whoosh import query as wq

from search.arabic import analyze
from search.index import BM25_B, BM25_K1, COORD, Generation
from search.postings import Deadline, bm25f_scores, match_mask, top_k
from search.query import ParsedQuery, QueryTooLarge, parse
from search.related import weight as related_weight
from search.schema import FACET_NAMES, FACET_SEP, FACETS, RANK_ONLY_FIELDS, SCORE_GROUPS, STEM_GROUP
from search.snippets import highlight, snippet

MAX_PER_PAGE = 100
MAX_PAGE = 500
MAX_FACET_SIZE = 100
MAX_FILTER_VALUES = 50
TIME_BUDGET_S = 2.0


class BadRequest(ValueError):
    """A parameter the engine cannot answer; ``param`` names it."""

    def __init__(self, code: str, param: str, message: str):
        super().__init__(message)
        self.code, self.param, self.message = code, param, message

    def as_json(self) -> dict:
        return {"error": {"code": self.code, "param": self.param, "message": self.message}}


@dataclass
class SearchRequest:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    page: int = 1
    per_page: int = 20
    sort: str = "relevance"
    facet_size: int = 10
    entities: bool = True  # a query naming a known entity also finds the documents tagged with it
    correct: bool = True  # a query that finds nothing answers with its spelling correction's results

    def params(self, **changes) -> list[tuple[str, str]]:
        """The request as URL parameters (with ``changes``), defaults left out."""
        req = replace(self, **changes)
        out = [("q", req.q)] if req.q else []
        for name in FACET_NAMES:
            out += [(name, v) for v in req.filters.get(name, [])]
        out += [(k, str(getattr(req, k))) for k in _OPTIONS if getattr(req, k) != getattr(_DEFAULT, k)]
        if not req.entities:
            out.append(("entities", "off"))
        if not req.correct:
            out.append(("correct", "off"))
        return out

    def query_string(self, **changes) -> str:
        return "&".join(map(_encoded, self.params(**changes)))


_DEFAULT = SearchRequest()
_OPTIONS = ("page", "per_page", "sort", "facet_size")
_ENCODED: dict[tuple[str, str], str] = {}


def _encoded(pair: tuple[str, str]) -> str:
    """``urlencode`` of one parameter, remembered: a results page links ~100 URLs that
    repeat the same query and filter values."""
    out = _ENCODED.get(pair)
    if out is None:
        out = urlencode([pair])
        if len(_ENCODED) >= 10_000:
            _ENCODED.clear()
        _ENCODED[pair] = out
    return out


def _int_param(args: Mapping, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    text = str(raw).strip()
    try:
        if not (text.isascii() and text.lstrip("-").isdigit()):  # int() also takes "1_0" and "٣"
            raise ValueError(text)
        value = int(text)
    except ValueError:
        raise BadRequest("bad_parameter", name, f"'{name}' must be a whole number, got {str(raw)[:40]!r}") from None
    if not low <= value <= high:
        raise BadRequest("bad_parameter", name, f"'{name}' must be between {low} and {high}, got {value}")
    return value


def parse_request(args) -> SearchRequest:
    """Validate request parameters (a Werkzeug MultiDict or a dict of str/list)."""

    def getlist(name: str) -> list[str]:
        if hasattr(args, "getlist"):
            return args.getlist(name)
        value = args.get(name, [])
        return [value] if isinstance(value, str) else list(value)

    for name in ("q", "sort"):
        if len(getlist(name)) > 1:
            raise BadRequest("bad_parameter", name, f"'{name}' may be given once")
    q = (args.get("q") or "").strip()
    if "\x00" in q:
        raise BadRequest("bad_query", "q", "the query contains a NUL character")
    switches = {}
    for name in ("entities", "correct"):
        value = (args.get(name) or "on").strip().lower()
        if value not in ("on", "off"):
            raise BadRequest("bad_parameter", name, f"'{name}' must be 'on' or 'off', got {value[:40]!r}")
        switches[name] = value == "on"
    sort = args.get("sort") or _DEFAULT.sort
    if sort not in ("relevance", "date"):
        raise BadRequest("bad_parameter", "sort", f"'sort' must be 'relevance' or 'date', got {sort[:40]!r}")
    filters = {}
    for name in FACET_NAMES:
        values = [v.strip() for v in getlist(name) if v and v.strip()]
        if len(values) > MAX_FILTER_VALUES:
            raise BadRequest("bad_parameter", name, f"at most {MAX_FILTER_VALUES} '{name}' values")
        if values:
            filters[name] = list(dict.fromkeys(values))
    return SearchRequest(
        q=q,
        filters=filters,
        page=_int_param(args, "page", _DEFAULT.page, 1, MAX_PAGE),
        per_page=_int_param(args, "per_page", _DEFAULT.per_page, 1, MAX_PER_PAGE),
        sort=sort,
        facet_size=_int_param(args, "facet_size", _DEFAULT.facet_size, 0, MAX_FACET_SIZE),
        **switches,
    )


def _parse_query(gen: Generation, text: str) -> ParsedQuery:
    try:
        return parse(text, gen.schema)
    except QueryTooLarge as exc:
        raise BadRequest("query_too_large", "q", str(exc)) from None


def _docs_mask(gen: Generation, q, deadline: float, cache: dict) -> tuple[np.ndarray, bool]:
    """Boolean mask of the documents matching ``q``, and whether the deadline cut it."""
    try:
        return match_mask(gen.store, q, gen.doc_count, deadline, cache), False
    except Deadline:
        return np.zeros(gen.doc_count, dtype=bool), True


def _query_matches(gen: Generation, pq: ParsedQuery | None, entities: bool, deadline: float, cache: dict):
    """(mask of the documents the query finds, the query to rank them by, relaxed?, timed
    out?, the (facet, value) entities the query names): the one matching step of the
    API, the CLI and ``make eval``. No query (None) finds every live document."""
    n = gen.doc_count
    if pq is None:
        live = gen.store.live()
        return (np.ones(n, dtype=bool) if live is None else live.copy()), None, False, False, []
    qmask, query, relaxed, timed_out = _match(gen, pq, deadline, cache)
    named = _named_entities(gen, pq, entities)
    if named:
        # the documents tagged with the entity the query names, ranked by all its names
        tagged = np.zeros(n, dtype=bool)
        for facet, value in named:
            tagged |= gen.facets[facet].mask_any([value], n)
        qmask = tagged if relaxed else qmask | tagged
        query = wq.Or([pq.strict if relaxed else query] + [_name_query(gen, name) for name in _names(gen, named)])
        relaxed = False
    return qmask, query, relaxed, timed_out, named


def _named_entities(gen: Generation, pq: ParsedQuery, entities: bool) -> list[tuple[str, str]]:
    """The known places and actors the whole query names (``search.entity_names``), unless
    entity matching is off or the query is a question or uses operators."""
    if pq.empty or pq.question or not entities or _OPERATORS.search(pq.text):
        return []
    return gen.entity_names().lookup(pq.text)


_OPERATORS = re.compile(r'\b(?:OR|AND|NOT)\b|[()]')


def _names(gen: Generation, named: list[tuple[str, str]]) -> list[str]:
    """Every Arabic name of the entities: value, label, aliases."""
    out: dict[str, None] = {}
    for facet, value in named:
        label = gen.labels.get(facet, {}).get(value, {})
        for name in (value, label.get("ar", ""), *label.get("aliases", ())):
            if name and any("\u0600" <= c <= "\u06ff" for c in name):
                out[name] = None
    return list(out)


def _name_query(gen: Generation, name: str):
    """A name as a phrase query (its words in order), parsed like a user's."""
    return _parse_query(gen, '"' + name.replace('"', " ") + '"').strict


def _format_date(ts: int) -> str | None:
    if ts < 0:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entities(gen: Generation, stored: dict, facet: str) -> list[dict]:
    raw = stored.get(facet) or ""
    return [{"value": v, "label": gen.label(facet, v)["ar"], "label_en": gen.label(facet, v)["en"]}
            for v in raw.split(FACET_SEP) if v]


# A result shows at most this much of a title (the document page shows all of it): a
# record with a 20 MB title must not make every search that finds it 20 MB.
MAX_HIT_TITLE = 500


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def link_url(url: str | None) -> str | None:
    """A record's URL when it may become a link (http or https), else None: a
    ``javascript:`` or ``data:`` URL from a source is never served as a link."""
    if not url:
        return None
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    return url if scheme in ("http", "https") else None


def _hit(gen: Generation, docnum: int, score: float | None, pq: ParsedQuery | None) -> dict:
    stored = gen.store.stored(docnum)
    body = stored.get("body") or ""
    outlet = stored.get("outlet") or ""
    return {
        "id": stored.get("id"),
        "title": _bounded(stored.get("title") or "", MAX_HIT_TITLE),
        "outlet": outlet or None,
        "outlet_label": gen.label("outlet", outlet)["ar"] if outlet else None,
        "date": _format_date(int(gen.dates[docnum])),
        "url": link_url(stored.get("url")),
        "places": _entities(gen, stored, "place"),
        "actors": _entities(gen, stored, "actor"),
        "snippet": snippet(body, pq.stems, pq.forms) if pq else snippet(body, frozenset(), frozenset()),
        "score": round(float(score), 4) if score is not None else None,
    }


def run_search(gen: Generation, req: SearchRequest, t0: float | None = None) -> dict:
    """Answer a search request: hits, disjunctive facet counts, timing. ``t0`` is when the
    request began (``time.perf_counter``), now by default: every phase of the request
    shares the one deadline ``t0 + TIME_BUDGET_S``."""
    t0 = time.perf_counter() if t0 is None else t0
    deadline = t0 + TIME_BUDGET_S
    pq = _parse_query(gen, req.q) if req.q else None
    n = gen.doc_count
    cache: dict = {}  # postings read for this request

    # Documents matching the text query (all documents for an empty query).
    qmask, query, relaxed, timed_out, named = _query_matches(gen, pq, req.entities, deadline, cache)
    # One mask per facet with a selection: values OR-ed within a facet.
    fmasks = {name: gen.facets[name].mask_any(vals, n) for name, vals in req.filters.items()}
    total_mask = qmask.copy()
    for m in fmasks.values():
        total_mask &= m
    total = int(total_mask.sum())

    start = (req.page - 1) * req.per_page
    hits = []
    if total and start < total:
        if pq is None or req.sort == "date":
            hits = _by_date(gen, total_mask, start, req.per_page, pq)
        else:
            top = _rank(gen, pq, query, total_mask, start + req.per_page, cache, coord=not named)
            hits = [_hit(gen, docnum, score, pq) for docnum, score in top[start:]]

    facets = {}
    for facet in FACETS:
        mask = qmask.copy()
        for other, m in fmasks.items():
            if other != facet.name:
                mask &= m
        table = gen.facets[facet.name]
        counts = table.count(None if (pq is None and not fmasks) else mask)
        selected = req.filters.get(facet.name, [])
        values = []
        for value, count in table.top(counts, req.facet_size, selected):
            is_selected = value in selected
            toggled = [v for v in selected if v != value] if is_selected else selected + [value]
            label = gen.label(facet.name, value)
            values.append({
                "value": value, "label": label["ar"], "label_en": label["en"], "count": count,
                "selected": is_selected,
                "toggle": req.query_string(filters={**req.filters, facet.name: toggled}, page=1),
            })
        facets[facet.name] = values

    return {
        "query": req.q,
        "filters": req.filters,
        "entities": [{"facet": facet, "value": value, "label": gen.label(facet, value)["ar"],
                      "label_en": gen.label(facet, value)["en"],
                      "filter": req.query_string(q="", filters={**req.filters, facet: [value]}, page=1)}
                     for facet, value in named],
        "total": total,
        "page": req.page,
        "per_page": req.per_page,
        "sort": req.sort,
        "relaxed": relaxed,
        "question": bool(pq and pq.question),
        "took_ms": round((time.perf_counter() - t0) * 1000, 2),
        # past the budget, whether or not a phase was cut: took_ms and timed_out agree
        "timed_out": timed_out or time.perf_counter() > deadline,
        "hits": hits,
        "facets": facets,
    }


def search_document(gen: Generation, req: SearchRequest, base: str = "/api/search") -> dict:
    """``run_search`` plus navigation: each facet value's ``toggle_url``, next/prev/sort
    links, filter links for the hits' entities, and a spelling suggestion when nothing
    matched — with the suggestion's results instead, when it finds some (``corrected``
    says so and links to the literal query, ``correct=off``). ``base`` is the path the
    links point to (the page or the API)."""
    t0 = time.perf_counter()
    gen.speller()  # starts building it, if need be, so it is ready when a query finds nothing
    result = run_search(gen, req, t0)
    suggestion, literal = None, None
    if req.q and result["total"] == 0:
        suggestion, late = suggest(gen, req.q, t0 + TIME_BUDGET_S)
        if suggestion and req.correct and not late and time.perf_counter() < t0 + TIME_BUDGET_S:
            # nothing as written, something as corrected: answer with that, and say so
            fixed = run_search(gen, replace(req, q=suggestion), t0)
            if fixed["total"]:
                result, literal, req = fixed, req, replace(req, q=suggestion)
        result["took_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        result["timed_out"] = result["timed_out"] or late or time.perf_counter() > t0 + TIME_BUDGET_S

    def url(**changes) -> str:
        qs = req.query_string(**changes)
        return base + ("?" + qs if qs else "")

    for values in result["facets"].values():
        for v in values:
            toggle = v.pop("toggle")
            v["toggle_url"] = base + ("?" + toggle if toggle else "")
    for e in result["entities"]:
        e["filter_url"] = base + "?" + e.pop("filter")
    pages = -(-result["total"] // req.per_page) if result["total"] else 0
    result["pages"] = pages
    result["suggestion"] = suggestion
    result["corrected"] = None if literal is None else {
        "from": literal.q, "literal_url": base + "?" + literal.query_string(correct=False, page=1)}
    result["links"] = {
        "self": url(),
        "next": url(page=req.page + 1) if req.page < pages else None,
        "prev": url(page=req.page - 1) if req.page > 1 else None,
        "json": "/api/search" + ("?" + req.query_string() if req.query_string() else ""),
        "html": "/search" + ("?" + req.query_string() if req.query_string() else ""),
        "sort_relevance": url(sort="relevance", page=1),
        "sort_date": url(sort="date", page=1),
        "clear_filters": base + ("?" + urlencode({"q": req.q}) if req.q else ""),
        "words_only": url(entities=False, page=1) if result["entities"] else None,
    }
    values: dict[str, set[str]] = {"outlet": set(), "place": set(), "actor": set()}
    for hit in result["hits"]:
        if hit["outlet"]:
            values["outlet"].add(hit["outlet"])
        values["place"].update(p["value"] for p in hit["places"])
        values["actor"].update(a["value"] for a in hit["actors"])
    for hit in result["hits"]:
        hit["doc_url"] = doc_url(hit["id"], q=req.q)
    result["filter_urls"] = {facet: {v: url(filters={**req.filters, facet: [v]}, page=1) for v in vs}
                             for facet, vs in values.items()}
    return result


def _by_date(gen: Generation, mask: np.ndarray, start: int, count: int, pq) -> list[dict]:
    docs = np.flatnonzero(mask)
    # Newest first; unknown dates (-1) last; doc number breaks ties stably.
    order = np.lexsort((docs, -gen.dates[docs]))
    page = docs[order[start:start + count]]
    return [_hit(gen, int(d), None, pq) for d in page]


def _match(gen: Generation, pq: ParsedQuery, deadline: float, cache: dict):
    """(mask of matching docs, the query that matched, relaxed?, timed out?).

    All words are required; when no document has them all, any word will do (and the
    answer says ``relaxed``). A question in natural language is ranked by any word."""
    if pq.empty:
        return np.zeros(gen.doc_count, dtype=bool), pq.strict, False, False
    if pq.question:
        qmask, timed_out = _docs_mask(gen, pq.loose, deadline, cache)
        return qmask, pq.loose, False, timed_out
    qmask, timed_out = _docs_mask(gen, pq.strict, deadline, cache)
    if not qmask.any() and not timed_out and pq.loose != pq.strict:
        qmask, timed_out = _docs_mask(gen, pq.loose, deadline, cache)
        return qmask, pq.loose, bool(qmask.any()), timed_out
    return qmask, pq.strict, False, timed_out


def _rank(gen: Generation, pq: ParsedQuery, q, mask: np.ndarray, limit: int,
          cache: dict, coord: bool = True) -> list[tuple[int, float]]:
    """The ``limit`` best (docnum, score) of ``q`` among the documents in ``mask``.

    BM25F computed in numpy over the posting blocks, times a coordination factor: of
    two documents, the one with more of the query's words (in any field, any form)
    ranks higher. The query words' roots (``RANK_ONLY_FIELDS``) and the related forms of
    their stems (``search.related``) score too, but only among documents ``mask``
    already holds.
    """
    if pq.roots:
        q = wq.Or([q] + [wq.Term(name, r, boost=weight) for name, weight in RANK_ONLY_FIELDS.items()
                         for r in pq.roots])
    table = gen.related_forms()
    related = {(STEM_GROUP, s): tuple((form, related_weight(d)) for form, d in table.of(s)) for s in pq.stems}
    scores = bm25f_scores(gen.store, q, gen.lengths, BM25_K1, BM25_B, SCORE_GROUPS, cache, related)
    if coord and COORD and len(pq.words) > 1:
        matched = np.zeros(gen.doc_count, dtype=np.float32)
        for w in pq.words:
            matched += match_mask(gen.store, w, gen.doc_count, cache=cache)
        scores *= (matched / len(pq.words)) ** COORD
    return top_k(scores, mask, limit)


def ranked_ids(gen: Generation, text: str, limit: int = 100) -> list[str]:
    """Ids of the best ``limit`` documents for ``text``, exactly as the API ranks them
    (``make eval`` measures this)."""
    pq = _parse_query(gen, text)
    cache: dict = {}
    mask, query, _relaxed, _cut, named = _query_matches(gen, pq, True, time.perf_counter() + TIME_BUDGET_S, cache)
    return [gen.store.stored(d)["id"] for d, _score in _rank(gen, pq, query, mask, limit, cache, coord=not named)]


def get_document(gen: Generation, doc_id: str, q: str = "") -> dict | None:
    """The full article with its entities, or None. ``body_html`` is the body escaped,
    each place and actor mention a link to the articles filtered by it, the words of
    ``q`` in <mark>."""
    docnum = gen.store.docnum(doc_id)
    if docnum is None:
        return None
    stored = gen.store.stored(docnum)
    pq = _parse_query(gen, q) if q else None
    body = stored.get("body") or ""
    return {
        "id": stored.get("id"),
        "title": stored.get("title") or "",
        "outlet": stored.get("outlet") or None,
        "outlet_label": gen.label("outlet", stored["outlet"])["ar"] if stored.get("outlet") else None,
        "date": _format_date(int(gen.dates[docnum])),
        "url": link_url(stored.get("url")),
        "author": stored.get("author") or None,
        "category": stored.get("category") or None,
        "body": body,
        "body_html": highlight(body, pq.stems if pq else frozenset(), pq.forms if pq else frozenset(),
                               [tuple(m) for m in stored.get("mentions") or []], _filter_url),
        "places": _entities(gen, stored, "place"),
        "actors": _entities(gen, stored, "actor"),
        "countries": _entities(gen, stored, "country"),
    }


def doc_url(doc_id: str, api: bool = False, q: str = "") -> str:
    """The link to a document: its id as a query parameter, so any id (``..``, a leading
    ``/``, ``?``, ``#``) reaches its page; ``/doc/<id>`` paths stay served."""
    params = {"id": doc_id, **({"q": q} if q else {})}
    return ("/api/doc?" if api else "/doc?") + urlencode(params)


def _filter_url(facet: str, value: str) -> str:
    return "/search?" + urlencode({facet: value})


def matching_ids(gen: Generation, req: SearchRequest) -> list[str]:
    """Every id the search ``req`` finds — its text query, filters and sort — in the
    order its pages show them (``mirsad search --ids``); an empty query finds every
    document."""
    pq = _parse_query(gen, req.q) if req.q else None
    n, cache = gen.doc_count, {}
    mask, query, _relaxed, _cut, named = _query_matches(gen, pq, req.entities, time.perf_counter() + TIME_BUDGET_S, cache)
    for name, values in req.filters.items():
        mask &= gen.facets[name].mask_any(values, n)
    if pq is None or req.sort == "date":
        docs = np.flatnonzero(mask)
        docs = docs[np.lexsort((docs, -gen.dates[docs]))]
    else:
        docs = [d for d, _score in _rank(gen, pq, query, mask, int(mask.sum()), cache, coord=not named)]
    return [gen.store.stored(int(d))["id"] for d in docs]


def ids_for_query(gen: Generation, q: str) -> list[str]:
    """Every matching id (``mirsad search --ids``), in index order."""
    pq = _parse_query(gen, q)
    if pq.empty:
        return []
    mask = match_mask(gen.store, pq.strict, gen.doc_count)
    return [gen.store.stored(int(d))["id"] for d in np.flatnonzero(mask)]


def suggest(gen: Generation, q: str, deadline: float | None = None) -> tuple[str | None, bool]:
    """(a respelling of ``q`` whose unknown words are replaced by the closest frequent
    indexed word (folded form), or None when every word is known or nothing is close;
    whether the deadline cut it short). Words past the deadline stay as written; while
    the generation's speller is still being built (``Generation.speller``) there is no
    suggestion, unless ``deadline`` is None (the CLI), which waits for it."""
    speller = gen.speller(wait=deadline is None)
    if speller is None:
        return None, False
    changed, late, words = False, False, []
    for word in q.split():
        if late or (deadline is not None and time.perf_counter() > deadline):
            late = True
            words.append(word)
            continue
        forms = analyze(word, stemmed=False)
        if len(forms) != 1 or gen.store.doc_frequency("body_exact", forms[0]) > 0:
            words.append(word)
            continue
        option = speller.closest(forms[0])
        words.append(option or word)
        changed = changed or option is not None
    return (" ".join(words) if changed else None), late
