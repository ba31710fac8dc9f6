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
from datetime import date, datetime, timedelta, timezone
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
from search.facets import date_histogram
from search.parameters import (INTERVALS, MAX_EXPORT, MAX_FACET_SIZE, MAX_FILTER_VALUES,
                               MAX_PAGE, MAX_PER_PAGE, SEARCH_PARAM_NAMES, SEARCH_PARAMS, SORTS, SWITCH)
from search.snippets import highlight, snippet
from search.spelling import MAX_EDITS, min_docs

TIME_BUDGET_S = 2.0
clock = time.perf_counter  # every deadline check reads this (a test swaps in a clock it drives)


class BadRequest(ValueError):
    """A parameter the engine cannot answer; ``param`` names it, ``message_ar`` says it in
    Arabic (for the page)."""

    def __init__(self, code: str, param: str, message: str, message_ar: str = ""):
        super().__init__(message)
        self.code, self.param, self.message = code, param, message
        self.message_ar = message_ar or f"قيمة غير صالحة للمعامل «{param}»"

    def as_json(self) -> dict:
        return {"error": {"code": self.code, "param": self.param, "message": self.message,
                          "message_ar": self.message_ar}}


@dataclass
class SearchRequest:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    date_from: date | None = None  # inclusive, UTC
    date_to: date | None = None  # inclusive, UTC
    page: int = 1
    per_page: int = 20
    sort: str = "relevance"
    facet_size: int = 10
    interval: str | None = None  # the date histogram's bucket; None: chosen from the span
    histogram_by: str | None = None  # a facet splitting the date histogram
    entities: bool = True  # a query naming a known entity also finds the documents tagged with it
    correct: bool = True  # a query that finds nothing answers with its spelling correction's results

    def params(self, **changes) -> list[tuple[str, str]]:
        """The request as URL parameters (with ``changes``), defaults left out."""

        def get(name: str):  # not dataclasses.replace: a results page makes ~150 of these
            return changes[name] if name in changes else getattr(self, name)

        q, filters, date_from, date_to = get("q"), get("filters"), get("date_from"), get("date_to")
        out = [("q", q)] if q else []
        for name in FACET_NAMES:
            out += [(name, v) for v in filters.get(name, [])]
        if date_from:
            out.append(("from", date_from.isoformat()))
        if date_to:
            out.append(("to", date_to.isoformat()))
        for k in _OPTIONS:
            value = get(k)
            if value != getattr(_DEFAULT, k):
                out.append((k, str(value)))
        if not get("entities"):
            out.append(("entities", "off"))
        if not get("correct"):
            out.append(("correct", "off"))
        return out

    def query_string(self, **changes) -> str:
        return "&".join(map(_encoded, self.params(**changes)))

    @property
    def narrowed(self) -> bool:
        """Whether any filter (a facet value or a date bound) is set."""
        return bool(self.filters or self.date_from or self.date_to)


_DEFAULT = SearchRequest()
_OPTIONS = ("page", "per_page", "sort", "facet_size", "interval", "histogram_by")
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
        raise BadRequest("bad_parameter", name, f"'{name}' must be a whole number, got {str(raw)[:40]!r}",
                         f"المعامل «{name}» يجب أن يكون عددًا صحيحًا") from None
    if not low <= value <= high:
        raise BadRequest("bad_parameter", name, f"'{name}' must be between {low} and {high}, got {value}",
                         f"المعامل «{name}» يجب أن يكون بين {low} و{high}")
    return value


_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def _date_param(args: Mapping, name: str, end: bool) -> date | None:
    """An ISO date (``2018-03-01``); a month (``2018-03``) or a year (``2018``) means its
    first day for ``from`` and its last day for ``to`` (``end``)."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    m = _DATE.fullmatch(raw)
    try:
        if not m:
            raise ValueError(raw)
        year, month, day = int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)
        if day:
            return date(year, month, day)
        if month:
            return (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)) if end else date(year, month, 1)
        return date(year, 12, 31) if end else date(year, 1, 1)
    except ValueError:
        raise BadRequest("bad_parameter", name, f"'{name}' must be a date YYYY-MM-DD (or YYYY-MM, YYYY), "
                         f"got {raw[:40]!r}", f"المعامل «{name}» يجب أن يكون تاريخًا بالصيغة YYYY-MM-DD") from None


def _choice(args: Mapping, name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    value = (args.get(name) or "").strip().lower() or default
    if value is not None and value not in choices:
        raise BadRequest("bad_parameter", name, f"'{name}' must be one of {', '.join(choices)}, got {value[:40]!r}",
                         f"المعامل «{name}» يجب أن يكون أحد: {'، '.join(choices)}")
    return value


def reject_unknown(args, known: frozenset[str], taker: str = "the API") -> None:
    """A BadRequest naming the first parameter outside ``known`` (``search.parameters``)."""
    for name in args.keys():
        if name not in known:
            raise BadRequest("unknown_parameter", name, f"unknown parameter '{name[:40]}'; {taker} takes "
                             + ", ".join(sorted(known)), f"معامل غير معروف: «{name[:40]}»")


def parse_request(args, known: frozenset[str] = SEARCH_PARAM_NAMES) -> SearchRequest:
    """Validate request parameters (a Werkzeug MultiDict or a dict of str/list); a name
    outside ``known`` (``search.parameters``) is a 400 naming it."""

    def getlist(name: str) -> list[str]:
        if hasattr(args, "getlist"):
            return args.getlist(name)
        value = args.get(name, [])
        return [value] if isinstance(value, str) else list(value)

    reject_unknown(args, known)
    for p in SEARCH_PARAMS:
        if not p.repeat and len(getlist(p.name)) > 1:
            raise BadRequest("bad_parameter", p.name, f"'{p.name}' may be given once",
                             f"المعامل «{p.name}» يُعطى مرة واحدة")
    q = (args.get("q") or "").strip()
    if "\x00" in q:
        raise BadRequest("bad_query", "q", "the query contains a NUL character", "في الاستعلام محرف NUL")
    switches = {name: _choice(args, name, SWITCH, "on") == "on" for name in ("entities", "correct")}
    filters = {}
    for name in FACET_NAMES:
        values = [v.strip() for v in getlist(name) if v and v.strip()]
        if len(values) > MAX_FILTER_VALUES:
            raise BadRequest("bad_parameter", name, f"at most {MAX_FILTER_VALUES} '{name}' values",
                             f"على الأكثر {MAX_FILTER_VALUES} قيمة للمعامل «{name}»")
        if values:
            filters[name] = list(dict.fromkeys(values))
    date_from, date_to = _date_param(args, "from", end=False), _date_param(args, "to", end=True)
    if date_from and date_to and date_from > date_to:
        raise BadRequest("bad_parameter", "to", f"'to' ({date_to}) is before 'from' ({date_from})",
                         f"تاريخ «to» ({date_to}) يسبق تاريخ «from» ({date_from})")
    return SearchRequest(
        q=q,
        filters=filters,
        date_from=date_from,
        date_to=date_to,
        page=_int_param(args, "page", _DEFAULT.page, 1, MAX_PAGE),
        per_page=_int_param(args, "per_page", _DEFAULT.per_page, 1, MAX_PER_PAGE),
        sort=_choice(args, "sort", SORTS, _DEFAULT.sort),
        facet_size=_int_param(args, "facet_size", _DEFAULT.facet_size, 0, MAX_FACET_SIZE),
        interval=_choice(args, "interval", INTERVALS, None),
        histogram_by=_choice(args, "histogram_by", FACET_NAMES, None),
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


@dataclass
class MatchPlan:
    """What the whole corpus decided about a query, for one shard of it to match as the
    unsharded index would (``search.sharded``): whether any document holds every word
    (``strict_any``) or any word (``loose_any``), the entities the whole query names, the
    names inside it (``_named_spans``), which of those parts count their tagged
    documents (``keep``), and whether the parts together match anything (``use_spans``)."""

    strict_any: bool
    loose_any: bool
    named: list = field(default_factory=list)
    spans: list = field(default_factory=list)
    keep: list = field(default_factory=list)
    use_spans: bool = False


def _query_matches(gen: Generation, pq: ParsedQuery | None, entities: bool, deadline: float, cache: dict,
                   plan: MatchPlan | None = None):
    """(mask of the documents the query finds, the query to rank them by, relaxed?, timed
    out?, the (facet, value) entities the query names): the one matching step of the
    API, the CLI and ``make eval``. No query (None) finds every live document. With a
    ``plan``, the corpus-wide decisions are the plan's (a shard's), not this index's."""
    n = gen.doc_count
    if pq is None:
        live = gen.store.live()
        return (np.ones(n, dtype=bool) if live is None else live.copy()), None, False, False, []
    qmask, query, relaxed, timed_out = _match(gen, pq, deadline, cache, plan)
    named = plan.named if plan else _named_entities(gen, pq, entities)
    if named:
        # the documents tagged with the entity the query names, ranked by all its names
        tagged = _tagged(gen, named)
        qmask = tagged if relaxed else qmask | tagged
        query = wq.Or([pq.strict if relaxed else query] + [_name_query(gen, name) for name in _names(gen, named)])
        relaxed = False
    elif plan is not None and plan.use_spans or plan is None and _names_allowed(pq, entities) and not timed_out:
        spans = plan.spans if plan else _named_spans(gen, pq.text)
        if spans:
            # a longer query holding a name: that part also matches the documents tagged
            # with it, every other word as written (all parts AND-ed)
            parts = _span_parts(gen, pq.text, spans, deadline, cache)
            if parts is not None:
                keep = plan.keep if plan else keep_parts(part_counts(parts))
                mask, kept = _spans_mask(parts, keep)
                if kept and mask is not None and (plan is not None or mask.any()):
                    names = [_name_query(gen, name) for name in _names(gen, kept)]
                    return mask, wq.Or([pq.strict] + names), False, False, kept
    return qmask, query, relaxed, timed_out, named


MAX_NAME_WORDS = 6  # the longest entity name looked for inside a longer query


def _named_spans(gen: Generation, text: str) -> list[tuple[int, int, list[tuple[str, str]]]]:
    """(first word, end, entities) of each known name inside a plain query of several
    words (no quotes): longest first, left to right, not overlapping; the whole query is
    ``_named_entities``'s. A name of one word needs four letters or more (and see
    ``_spans_mask``)."""
    if '"' in text:
        return []
    words, names = text.split(), gen.entity_names()
    if len(words) < 2:
        return []
    spans, i = [], 0
    while i < len(words):
        for j in range(min(len(words), i + MAX_NAME_WORDS), i, -1):
            if j - i == len(words):
                continue
            found = names.lookup(" ".join(words[i:j]))
            if found and (j - i > 1 or len(words[i]) >= 4):
                spans.append((i, j, found))
                i = j
                break
        else:
            i += 1
    return spans


TAGGED_SHARE = 0.5  # a one-word name counts when at least this share of its word's documents are tagged


def _span_parts(gen: Generation, text: str, spans, deadline: float, cache: dict):
    """The parts of a query holding names (``_named_spans``): (text, mask of the documents
    holding it as written, mask of the documents tagged with its entities or None for a
    part that is no name, the entities); None when the deadline cut it."""
    words = text.split()
    parts, covered = [], set()
    for start, end, found in spans:
        parts.append((" ".join(words[start:end]), _tagged(gen, found), found, end - start == 1))
        covered.update(range(start, end))
    parts += [(w, None, [], False) for i, w in enumerate(words) if i not in covered]
    out = []
    for part, tagged, found, single in parts:
        pq = _parse_query(gen, part)
        if pq.empty:  # a stop word alone
            continue
        m, cut = _docs_mask(gen, pq.strict, deadline, cache)
        if cut:
            return None
        out.append((single, m, tagged, found))
    return out


def part_counts(parts) -> list[tuple[bool, int, int] | None]:
    """(one word?, documents tagged, documents holding the words) of each name part of
    ``_span_parts``, None for a part that is no name: what ``keep_parts`` decides by
    (a sharded generation adds them up over its shards)."""
    return [None if t is None else (single, int(np.count_nonzero(t)), int(np.count_nonzero(m)))
            for single, m, t, _found in parts]


def keep_parts(counts: list[tuple[bool, int, int] | None]) -> list[bool]:
    """Which name parts count their tagged documents (``part_counts``): a name of one
    word only when the extraction tagged at least ``TAGGED_SHARE`` as many documents as
    hold the word — مالي (financial) is mostly not Mali, داعش always is."""
    return [c is not None and not (c[0] and c[1] < TAGGED_SHARE * c[2]) for c in counts]


def _spans_mask(parts, keep: list[bool]):
    """(the documents matching every part — a name part as its words or, when ``keep``
    says so, its tags; every other word as written — or None; the entities that counted)."""
    mask, kept = None, []
    for (single, m, tagged, found), use in zip(parts, keep):
        m = m.copy()
        if tagged is not None and use:
            m |= tagged
            kept += found
        mask = m if mask is None else mask & m
    return mask, list(dict.fromkeys(kept))


def _tagged(gen: Generation, entities: list[tuple[str, str]]) -> np.ndarray:
    """The documents tagged with any of the (facet, value) entities."""
    mask = np.zeros(gen.doc_count, dtype=bool)
    for facet, value in entities:
        mask |= gen.facets[facet].mask_any([value], gen.doc_count)
    return mask


def _names_allowed(pq: ParsedQuery, entities: bool) -> bool:
    """Whether the query may be read as naming entities: not when entity matching is
    off, nor for a question or a query with operators (they keep their meaning)."""
    return entities and not pq.empty and not pq.question and not _OPERATORS.search(pq.text)


def _named_entities(gen: Generation, pq: ParsedQuery, entities: bool) -> list[tuple[str, str]]:
    """The known places and actors the whole query names (``search.entity_names``)."""
    return gen.entity_names().lookup(pq.text) if _names_allowed(pq, entities) else []


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


# Name phrase queries by (schema, name): a generation's names are fixed, and a query naming
# داعش ranks by its every alias, parsed once per process instead of once per request
_NAME_QUERIES: dict[tuple[int, str], wq.Query] = {}


def _name_query(gen: Generation, name: str):
    """A name as a phrase query (its words in order), parsed like a user's."""
    key = (id(gen.schema), name)
    q = _NAME_QUERIES.get(key)
    if q is None:
        if len(_NAME_QUERIES) >= 4096:
            _NAME_QUERIES.clear()
        q = _NAME_QUERIES[key] = _parse_query(gen, '"' + name.replace('"', " ") + '"').strict
    return q


def _format_date(ts: int) -> str | None:
    if ts < 0:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _values(stored: dict, facet: str) -> list[str]:
    """A stored document's values of one facet."""
    return [v for v in (stored.get(facet) or "").split(FACET_SEP) if v]


def _entities(gen: Generation, stored: dict, facet: str) -> list[dict]:
    return [{"value": v, "label": gen.label(facet, v)["ar"], "label_en": gen.label(facet, v)["en"]}
            for v in _values(stored, facet)]


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


def _hit(gen: Generation, docnum: int, score: float | None, pq: ParsedQuery | None,
         with_snippet: bool = True) -> dict:
    stored = gen.store.stored(docnum)
    body = stored.get("body") or ""
    outlet = stored.get("outlet") or ""
    out = {
        "id": stored.get("id"),
        "title": _bounded(stored.get("title") or "", MAX_HIT_TITLE),
        "outlet": outlet or None,
        "outlet_label": gen.label("outlet", outlet)["ar"] if outlet else None,
        "date": _format_date(int(gen.dates[docnum])),
        "url": link_url(stored.get("url")),
    }
    for facet in FACETS:
        if facet.key and facet.on_hits:
            out[facet.key] = _entities(gen, stored, facet.name)
    if not with_snippet:  # the deadline passed: the hit without its snippet
        out["snippet"] = ""
    else:
        out["snippet"] = snippet(body, pq.stems, pq.forms) if pq else snippet(body, frozenset(), frozenset())
    out["score"] = round(float(score), 4) if score is not None else None
    return out


def date_mask(gen: Generation, req: SearchRequest) -> np.ndarray | None:
    """The documents dated within ``from`` .. ``to`` (inclusive days, UTC), or None when
    the request sets neither; an undated document is outside any range."""
    if not (req.date_from or req.date_to):
        return None
    low = _day_start(req.date_from) if req.date_from else 0
    high = _day_start(req.date_to + timedelta(days=1)) if req.date_to else np.iinfo(np.int64).max
    return (gen.dates >= low) & (gen.dates < high)


def _day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


def _sort(pq: ParsedQuery | None, req: SearchRequest) -> str:
    """The order the hits come in: no query has nothing to rank by, so newest first."""
    return "date" if pq is None and req.sort == "relevance" else req.sort


def last_page(total: int, per_page: int) -> int:
    """The last page the API serves for ``total`` hits (at least 1, at most ``MAX_PAGE``)."""
    return max(1, min(-(-total // per_page), MAX_PAGE))


def _filtered(gen: Generation, req: SearchRequest, qmask: np.ndarray):
    """(every facet filter's mask, the date range's mask or None, the documents of
    ``qmask`` passing every facet filter, those also in the date range)."""
    fmasks = {name: gen.facets[name].mask_any(vals, gen.doc_count) for name, vals in req.filters.items()}
    dmask = date_mask(gen, req)
    undated = qmask.copy()
    for m in fmasks.values():
        undated &= m
    return fmasks, dmask, undated, (undated if dmask is None else undated & dmask)


def run_search(gen: Generation, req: SearchRequest, t0: float | None = None) -> dict:
    """Answer a search request: hits, disjunctive facet counts and date histogram, timing.
    ``t0`` is when the request began (``time.perf_counter``), now by default: every phase
    of the request shares the one deadline ``t0 + TIME_BUDGET_S``. Links are parameters
    (query strings: ``toggle``, ``range``, ``filter``); the web layer makes them URLs."""
    t0 = clock() if t0 is None else t0
    if getattr(gen, "sharded", False):
        from search import sharded  # noqa: PLC0415 - it builds on this module

        return sharded.run_search(gen, req, t0)
    deadline = t0 + TIME_BUDGET_S
    cut: list[str] = []  # the phases the deadline cut short, in order

    def late(phase: str) -> bool:
        if clock() > deadline:
            if phase not in cut:
                cut.append(phase)
            return True
        return False

    pq = _parse_query(gen, req.q) if req.q else None
    cache: dict = {}  # postings read for this request

    # Documents matching the text query (all documents for an empty query), then the
    # filters: values OR-ed within a facet, facets and the date range AND-ed.
    qmask, query, relaxed, timed_out, named = _query_matches(gen, pq, req.entities, deadline, cache)
    if timed_out:
        cut.append("matching")
    fmasks, dmask, any_date, total_mask = _filtered(gen, req, qmask)
    total = int(total_mask.sum())
    last = last_page(total, req.per_page)
    if req.page > last:
        raise BadRequest("page_out_of_range", "page", f"'page' {req.page} is past the last page, {last}",
                         f"الصفحة {req.page} بعد آخر صفحة ({last})")

    sort = _sort(pq, req)
    start = (req.page - 1) * req.per_page
    hits = []
    if total and start < total:
        if sort == "relevance" and late("ranking"):
            sort = "date"  # no time left to rank: the newest matches, and the answer says so
        if sort != "relevance":
            top = [(d, None) for d in _by_date(gen, total_mask, start, req.per_page, sort)]
        else:
            top = _rank(gen, pq, query, total_mask, start + req.per_page, cache, coord=not named)[start:]
        hits = [_hit(gen, docnum, score, pq, with_snippet=not late("snippets")) for docnum, score in top]

    facets = {}
    for facet in FACETS:
        if late("facets"):
            facets[facet.name] = []
            continue
        counts = facet_counts(gen, req, pq, facet.name, qmask, fmasks, dmask)
        facets[facet.name] = facet_values(gen, req, facet.name, gen.facets[facet.name].top(
            counts, req.facet_size, req.filters.get(facet.name, [])))

    histogram = dict(_EMPTY_HISTOGRAM) if late("histogram") else _histogram(gen, req, any_date)
    return result_document(gen, req, pq, named, total, sort, relaxed, hits, facets, histogram, t0, cut, deadline)


def facet_counts(gen: Generation, req: SearchRequest, pq: ParsedQuery | None, facet: str, qmask: np.ndarray,
                 fmasks: dict, dmask: np.ndarray | None) -> np.ndarray:
    """Per-value counts of one facet, disjunctive: among the query's documents that pass
    every other facet's filter and the date range (not this facet's own filter)."""
    mask = qmask.copy()
    for other, m in fmasks.items():
        if other != facet:
            mask &= m
    if dmask is not None:
        mask &= dmask
    return gen.facets[facet].count(None if (pq is None and not req.narrowed) else mask)


def facet_values(gen, req: SearchRequest, facet: str, top: list[tuple[str, int]]) -> list[dict]:
    """A facet's (value, count) pairs as the answer shows them: labels, ``selected``,
    the parameters that toggle each."""
    selected = req.filters.get(facet, [])
    values = []
    for value, count in top:
        is_selected = value in selected
        toggled = [v for v in selected if v != value] if is_selected else selected + [value]
        label = gen.label(facet, value)
        values.append({
            "value": value, "label": label["ar"], "label_en": label["en"], "count": count,
            "selected": is_selected,
            "toggle": req.query_string(filters={**req.filters, facet: toggled}, page=1),
        })
    return values


def result_document(gen, req: SearchRequest, pq: ParsedQuery | None, named: list, total: int, sort: str,
                    relaxed: bool, hits: list, facets: dict, histogram: dict, t0: float, cut: list[str],
                    deadline: float) -> dict:
    """The search answer (``run_search``'s, a sharded generation's too) from its parts."""
    last = last_page(total, req.per_page)
    return {
        "query": req.q,
        "filters": req.filters,
        "from": req.date_from.isoformat() if req.date_from else None,
        "to": req.date_to.isoformat() if req.date_to else None,
        "entities": [{"facet": facet, "value": value, "label": gen.label(facet, value)["ar"],
                      "label_en": gen.label(facet, value)["en"],
                      "filter": req.query_string(q="", filters={**req.filters, facet: [value]}, page=1)}
                     for facet, value in named],
        "total": total,
        "page": req.page,
        "per_page": req.per_page,
        "pages": last if total else 0,
        "pages_capped": -(-total // req.per_page) > MAX_PAGE,
        "sort": sort,
        "facet_size": req.facet_size,
        "relaxed": relaxed,
        "question": bool(pq and pq.question),
        "hits": hits,
        "facets": facets,
        "histogram": histogram,
        "took_ms": round((clock() - t0) * 1000, 2),
        # the phases cut short, named; past the budget after the last one, "finishing"
        "timed_out": cut + (["finishing"] if clock() > deadline and not cut else []),
    }


def answer(gen: Generation, req: SearchRequest) -> tuple[dict, SearchRequest]:
    """``run_search`` plus a spelling suggestion when nothing matched, or no article had
    every word (``relaxed``) — with the suggestion's results instead, when it finds some
    (every word, for a relaxed query; ``corrected`` says so, with the parameters of the
    literal query, ``correct=off``). Returns the answer and the request
    it answers (the corrected one, if so): the API, the page and the CLI call this."""
    t0 = clock()
    # No speller is started here for a query that may find something: loading it in a thread
    # holds the GIL for seconds (a CLI call's one query took 2.9 s instead of 0.1); servers load
    # it before they serve (web.app, Generation.warm), and ``suggest`` starts it otherwise.
    result = run_search(gen, req, t0)
    suggestion, literal, literal_relaxed = None, None, False
    # nothing as written, or only some of the words (relaxed: a misspelled word matched nothing)
    if req.q and (result["total"] == 0 or result["relaxed"]):
        suggestion, late = suggest(gen, req.q, t0 + TIME_BUDGET_S)
        if suggestion and req.correct and not late and clock() < t0 + TIME_BUDGET_S:
            # something (every word, if the literal query had some) as corrected: answer
            # with that, and say so
            fixed = run_search(gen, replace(req, q=suggestion), t0)
            if fixed["total"] and not (result["total"] and fixed["relaxed"]):
                literal_relaxed = result["relaxed"]
                result, literal, req = fixed, req, replace(req, q=suggestion)
        result["took_ms"] = round((clock() - t0) * 1000, 2)
        if late and "suggestion" not in result["timed_out"]:
            result["timed_out"] = [p for p in result["timed_out"] if p != "finishing"] + ["suggestion"]
        elif clock() > t0 + TIME_BUDGET_S and not result["timed_out"]:
            result["timed_out"] = ["finishing"]
    result["suggestion"] = suggestion
    result["corrected"] = None if literal is None else {
        "from": literal.q, "literal": literal.query_string(correct=False, page=1),
        "relaxed": literal_relaxed}  # the literal query found only articles with some of its words
    return result, req


_EMPTY_HISTOGRAM = {"interval": None, "requested_interval": None, "undated": 0, "buckets": [], "by": None,
                    "series": None}
HISTOGRAM_SERIES = 5  # histogram_by splits by this many top values (and the rest)


def _histogram(gen: Generation, req: SearchRequest, mask: np.ndarray) -> dict:
    """The date histogram of the documents ``mask`` holds (every filter but the date
    range): buckets with counts and the range parameters that narrow to each."""
    split = None
    if req.histogram_by:
        table = gen.facets[req.histogram_by]
        top = table.top(table.count(mask), HISTOGRAM_SERIES, [])
        split = [(value, table.mask_any([value], gen.doc_count)) for value, _count in top]
    return histogram_document(gen, req, date_histogram(gen.date_keys(), mask, req.interval, split))


def histogram_document(gen, req: SearchRequest, h) -> dict:
    """A ``search.facets.Histogram`` as the answer shows it: buckets with their range
    parameters, the split's series with labels."""
    low, high = req.date_from, req.date_to
    # the bucket's range after the request's other parameters (one query string for all)
    rest = req.query_string(date_from=None, date_to=None, page=1)
    rest += "&" if rest else ""
    out = {
        "interval": h.interval,
        "requested_interval": h.requested,
        "undated": h.undated,
        "buckets": [{"start": s.isoformat(), "end": e.isoformat(), "count": c,
                     "selected": bool((low or high) and (not low or s >= low) and (not high or e <= high)),
                     "range": f"{rest}from={s.isoformat()}&to={e.isoformat()}"}
                    for s, e, c in zip(h.starts, h.ends, h.counts)],
        "by": req.histogram_by,
        "series": None,
    }
    if req.histogram_by:
        out["series"] = [{"value": value,
                          "label": gen.label(req.histogram_by, value)["ar"] if value else None,
                          "counts": counts} for value, counts in h.series]
    return out


def _by_date(gen: Generation, mask: np.ndarray, start: int, count: int | None, sort: str) -> list[int]:
    """Doc numbers of ``mask`` newest first (``date``) or oldest first (``date_asc``),
    from ``start``; unknown dates (-1) last either way; ``Generation.order`` breaks ties."""
    docs = np.flatnonzero(mask)
    dates = gen.dates[docs]
    key = -dates if sort == "date" else np.where(dates < 0, np.iinfo(np.int64).max, dates)
    order = np.lexsort((docs if gen.order is None else gen.order[docs], key))
    return docs[order[start:None if count is None else start + count]].tolist()


def _match(gen: Generation, pq: ParsedQuery, deadline: float, cache: dict, plan: MatchPlan | None = None):
    """(mask of matching docs, the query that matched, relaxed?, timed out?).

    All words are required; when no document has them all, any word will do (and the
    answer says ``relaxed``). A question in natural language is ranked by any word.
    Whether any document has them is the ``plan``'s to say, when there is one."""
    if pq.empty:
        return np.zeros(gen.doc_count, dtype=bool), pq.strict, False, False
    if pq.question:
        qmask, timed_out = _docs_mask(gen, pq.loose, deadline, cache)
        return qmask, pq.loose, False, timed_out
    qmask, timed_out = _docs_mask(gen, pq.strict, deadline, cache)
    strict_any = plan.strict_any if plan else qmask.any()
    if not strict_any and not timed_out and pq.loose != pq.strict:
        qmask, timed_out = _docs_mask(gen, pq.loose, deadline, cache)
        return qmask, pq.loose, bool(plan.loose_any if plan else qmask.any()), timed_out
    return qmask, pq.strict, False, timed_out


def _rank(gen: Generation, pq: ParsedQuery, q, mask: np.ndarray, limit: int,
          cache: dict, coord: bool = True, stats=None, related=None) -> list[tuple[int, float]]:
    """The ``limit`` best (docnum, score) of ``q`` among the documents in ``mask``.

    BM25F computed in numpy over the posting blocks, times a coordination factor: of
    two documents, the one with more of the query's words (in any field, any form)
    ranks higher. The query words' roots (``RANK_ONLY_FIELDS``) and the related forms of
    their stems (``search.related``) score too, but only among documents ``mask``
    already holds. ``stats`` (``search.postings.CorpusStats``) and ``related`` are a
    sharded generation's, for a shard: by default this generation's own.
    """
    q = rank_query(pq, q)
    if related is None:
        related = related_of(gen.related_forms(), pq)
    scores = bm25f_scores(gen.store, q, gen.lengths, BM25_K1, BM25_B, SCORE_GROUPS, cache, related, stats)
    if coord and COORD and len(pq.words) > 1:
        matched = np.zeros(gen.doc_count, dtype=np.float32)
        for w in pq.words:
            matched += match_mask(gen.store, w, gen.doc_count, cache=cache)
        scores *= (matched / len(pq.words)) ** COORD
    return top_k(scores, mask, limit, gen.order)


def rank_query(pq: ParsedQuery, q):
    """What ranks the documents ``q`` matched: ``q`` and the query words' roots."""
    if not pq.roots:
        return q
    return wq.Or([q] + [wq.Term(name, r, boost=weight) for name, weight in RANK_ONLY_FIELDS.items()
                        for r in pq.roots])


def related_of(table, pq: ParsedQuery) -> dict:
    """(group, stem) -> (form, weight) of the query's stems (``search.related``)."""
    return {(STEM_GROUP, s): tuple((form, related_weight(d)) for form, d in table.of(s)) for s in pq.stems}


def ranked_ids(gen: Generation, text: str, limit: int = 100) -> list[str]:
    """Ids of the best ``limit`` documents for ``text``, exactly as the API ranks them
    (``make eval`` measures this)."""
    if getattr(gen, "sharded", False):
        return [hit["id"] for hit in run_search(gen, SearchRequest(q=text, per_page=limit, facet_size=0))["hits"]]
    pq = _parse_query(gen, text)
    cache: dict = {}
    mask, query, _relaxed, _cut, named = _query_matches(gen, pq, True, time.perf_counter() + TIME_BUDGET_S, cache)
    return [gen.store.stored(d)["id"] for d, _score in _rank(gen, pq, query, mask, limit, cache, coord=not named)]


def get_document(gen: Generation, doc_id: str, q: str = "", link=None) -> dict | None:
    """The full article with its entities, or None. ``body_html`` is the body escaped,
    each place and actor mention a link (``link(facet, value)``, the web layer's) to the
    articles filtered by it, the words of ``q`` in <mark>."""
    if getattr(gen, "sharded", False):
        found = gen.stored_document(doc_id)  # from the shard the id hashes to
        return None if found is None else document(gen, *found, q, link)
    docnum = gen.store.docnum(doc_id)
    if docnum is None:
        return None
    return document(gen, gen.store.stored(docnum), int(gen.dates[docnum]), q, link)


def document(gen, stored: dict, date_ts: int, q: str = "", link=None) -> dict:
    """``get_document``'s answer from a document's stored fields and date."""
    pq = _parse_query(gen, q) if q else None
    body = stored.get("body") or ""
    return {
        "id": stored.get("id"),
        "title": stored.get("title") or "",
        "outlet": stored.get("outlet") or None,
        "outlet_label": gen.label("outlet", stored["outlet"])["ar"] if stored.get("outlet") else None,
        "date": _format_date(date_ts),
        "url": link_url(stored.get("url")),
        "author": stored.get("author") or None,
        "category": stored.get("category") or None,
        "body": body,
        "body_html": highlight(body, pq.stems if pq else frozenset(), pq.forms if pq else frozenset(),
                               [tuple(m) for m in stored.get("mentions") or []], link),
        **{f.key: _entities(gen, stored, f.name) for f in FACETS if f.key},
    }


def matching_docs(gen: Generation, req: SearchRequest, limit: int | None = None) -> list[tuple[int, float | None]]:
    """(doc number, score or None) of every document the search ``req`` finds — its text
    query, filters, date range and sort — in the order its pages show them, at most
    ``limit`` (``mirsad search --ids``, the CSV and JSONL exports); an empty query finds
    every document. Of a sharded generation, the doc numbers are (shard, doc number)."""
    if getattr(gen, "sharded", False):
        return gen.matching_docs(req, limit)
    pq = _parse_query(gen, req.q) if req.q else None
    cache: dict = {}
    qmask, query, _relaxed, _cut, named = _query_matches(gen, pq, req.entities,
                                                         time.perf_counter() + TIME_BUDGET_S, cache)
    mask = _filtered(gen, req, qmask)[3]
    sort = _sort(pq, req)
    if sort != "relevance":
        return [(d, None) for d in _by_date(gen, mask, 0, limit, sort)]
    count = int(mask.sum()) if limit is None else min(limit, int(mask.sum()))
    return _rank(gen, pq, query, mask, count, cache, coord=not named) if count else []


def matching_ids(gen: Generation, req: SearchRequest) -> list[str]:
    """The ids of ``matching_docs``."""
    return [export_row(gen, d, score)["id"] for d, score in matching_docs(gen, req)]


EXPORT_FIELDS = ("id", "date", "outlet", "title", "url", *(f.key for f in FACETS if f.key and f.on_hits), "score")


def export_row(gen: Generation, docnum: int, score: float | None) -> dict:
    """One document as an export row (``EXPORT_FIELDS``): places and actors as lists of
    their canonical names."""
    if getattr(gen, "sharded", False):
        return gen.export_row(docnum, score)
    stored = gen.store.stored(docnum)
    return {
        "id": stored.get("id"),
        "date": _format_date(int(gen.dates[docnum])),
        "outlet": stored.get("outlet") or None,
        "title": stored.get("title") or "",
        "url": link_url(stored.get("url")),
        **{f.key: _values(stored, f.name) for f in FACETS if f.key and f.on_hits},
        "score": round(float(score), 4) if score is not None else None,
    }


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
        if late or (deadline is not None and clock() > deadline):
            late = True
            words.append(word)
            continue
        forms = analyze(word, stemmed=False)
        held = gen.doc_frequency("body_exact", forms[0]) if len(forms) == 1 else 0
        if len(forms) != 1 or held >= min_docs(gen.live_count):
            words.append(word)
            continue
        # a word in fewer documents than the speller's vocabulary needs (a typo seen once or
        # twice, اللاجئيين) may be corrected too, but only by one edit: it may be a rare name
        option = speller.closest(forms[0], max_edits=1 if held else MAX_EDITS)
        words.append(option or word)
        changed = changed or option is not None
    return (" ".join(words) if changed else None), late
