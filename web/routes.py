"""Routes: every HTML page and its JSON twin are built by the same function.

A view function returns ``(payload, status)``; ``_respond`` renders it as JSON for
``/api/*`` and through a template otherwise, so the two never disagree.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, render_template, request

from search.engine import BadRequest, get_document, parse_request, run_search, suggest
from search.index import Generation
from search.schema import FACETS
from search.store import IndexUnavailable

bp = Blueprint("mirsad", __name__)


def _generation() -> Generation:
    return current_app.extensions["mirsad"].get()


def _error(code: str, message: str, status: int, param: str | None = None):
    body = {"error": {"code": code, "message": message}}
    if param:
        body["error"]["param"] = param
    return body, status


def search_payload(api: bool):
    """The search document for the current request (shared by page and API)."""
    try:
        gen = _generation()
    except IndexUnavailable as exc:
        return _error("index_unavailable", str(exc), 503)
    try:
        req = parse_request(request.args)
        result = run_search(gen, req)
    except BadRequest as exc:
        return exc.as_json(), 400
    base = "/api/search" if api else "/search"
    for values in result["facets"].values():
        for v in values:
            v["toggle_url"] = base + ("?" + v["toggle"] if v["toggle"] else "")
    result["suggestion"] = suggest(gen, req.q) if req.q and result["total"] == 0 else None
    pages = -(-result["total"] // req.per_page) if result["total"] else 0
    result["pages"] = pages
    result["links"] = {
        "self": base + "?" + req.query_string(),
        "next": base + "?" + req.query_string(page=req.page + 1) if req.page < pages else None,
        "prev": base + "?" + req.query_string(page=req.page - 1) if req.page > 1 else None,
        "json": "/api/search?" + req.query_string(),
        "html": "/search?" + req.query_string(),
        "sort_relevance": base + "?" + req.query_string(sort="relevance", page=1),
        "sort_date": base + "?" + req.query_string(sort="date", page=1),
        "clear_filters": base + ("?" + urlencode({"q": req.q}) if req.q else ""),
    }
    result["filter_urls"] = {
        facet: {value: base + "?" + req.query_string(filters={**req.filters, facet: [value]}, page=1)
                for value in values}
        for facet, values in _entity_values(result).items()
    }
    return result, 200


def _entity_values(result: dict) -> dict[str, set[str]]:
    out = {"outlet": set(), "place": set(), "actor": set()}
    for hit in result["hits"]:
        if hit["outlet"]:
            out["outlet"].add(hit["outlet"])
        out["place"].update(p["value"] for p in hit["places"])
        out["actor"].update(a["value"] for a in hit["actors"])
    return out


def doc_payload(doc_id: str):
    try:
        gen = _generation()
    except IndexUnavailable as exc:
        return _error("index_unavailable", str(exc), 503)
    try:
        doc = get_document(gen, doc_id, request.args.get("q", ""))
    except BadRequest as exc:
        return exc.as_json(), 400
    if doc is None:
        return _error("not_found", f"no document with id {doc_id[:200]!r}", 404, "id")
    doc["links"] = {
        "html": "/doc/" + doc_id, "json": "/api/doc/" + doc_id,
        "place": {p["value"]: "/search?" + urlencode({"place": p["value"]}) for p in doc["places"]},
        "actor": {a["value"]: "/search?" + urlencode({"actor": a["value"]}) for a in doc["actors"]},
        "outlet": "/search?" + urlencode({"outlet": doc["outlet"]}) if doc["outlet"] else None,
    }
    return doc, 200


def _page(template: str, payload: dict, status: int):
    if "error" in payload:
        return render_template("error.html", error=payload["error"], status=status, q=request.args.get("q", "")), status
    return render_template(template, r=payload, facets=FACETS, q=request.args.get("q", "")), status


@bp.get("/")
@bp.get("/search")
def search_page():
    payload, status = search_payload(api=False)
    return _page("search.html", payload, status)


@bp.get("/api/search")
def search_api():
    payload, status = search_payload(api=True)
    return jsonify(payload), status


@bp.get("/doc/<path:doc_id>")
def doc_page(doc_id: str):
    payload, status = doc_payload(doc_id)
    return _page("doc.html", payload, status)


@bp.get("/api/doc/<path:doc_id>")
def doc_api(doc_id: str):
    payload, status = doc_payload(doc_id)
    return jsonify(payload), status


@bp.get("/api/health")
def health():
    try:
        gen = _generation()
    except IndexUnavailable as exc:
        return jsonify({"status": "unavailable", "error": str(exc)}), 503
    return jsonify({"status": "ok", "documents": gen.doc_count, "generation": gen.path.name,
                    "built": gen.build.get("built")})


@bp.app_errorhandler(404)
def not_found(_exc):
    if request.path.startswith("/api/"):
        return jsonify(_error("not_found", f"no such endpoint: {request.path[:200]}", 404)[0]), 404
    return render_template("error.html", error={"code": "not_found", "message": "الصفحة غير موجودة"}, status=404, q=""), 404


@bp.app_errorhandler(405)
def not_allowed(_exc):
    return jsonify(_error("method_not_allowed", f"{request.method} is not allowed here", 405)[0]), 405


@bp.app_errorhandler(500)
def server_error(_exc):
    body = _error("internal", "internal error; the search service logged it", 500)[0]
    if request.path.startswith("/api/"):
        return jsonify(body), 500
    return render_template("error.html", error=body["error"], status=500, q=""), 500
