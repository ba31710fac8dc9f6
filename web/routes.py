"""Routes: every HTML page and its JSON twin are built by the same function.

``search_payload`` and ``doc_payload`` return ``(payload, status)``; the ``/api/*`` view
sends it as JSON and its page twin renders it with a template (``_page``), so the two
never disagree.
"""
from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from search.engine import BadRequest, export_row, get_document, matching_docs, parse_request, reject_unknown
from search.index import STALE_ANALYSIS, Generation
from search.parameters import DOC_PARAM_NAMES, MAX_EXPORT
from search.schema import FACETS
from search.store import IndexUnavailable
from web import exports
from web.links import Links, search_document
from web.openapi import openapi_document
from web.worker import Turns

bp = Blueprint("mirsad", __name__)
# One search at a time per process, short queries first within bounds (web.worker explains why).
SEARCH_TURN = Turns()


def _cost() -> int:
    """What a request's search is likely to cost: its query's words."""
    return len(request.args.get("q", "").split())


def _generation() -> Generation:
    return current_app.extensions["mirsad"].get()


def _error(code: str, message: str, status: int, param: str | None = None, message_ar: str = ""):
    body = {"error": {"code": code, "message": message, "message_ar": message_ar or _ARABIC.get(code, "")}}
    if param:
        body["error"]["param"] = param
    return body, status


_ARABIC = {
    "index_unavailable": "الفهرس غير متاح الآن",
    "not_found": "غير موجود",
    "method_not_allowed": "هذه الطريقة غير مسموح بها هنا",
    "internal": "خطأ داخلي؛ سُجّل في سجل الخدمة",
}


_ABS_PATH = re.compile(r"(?<![\w.])/(?:[^\s/:'\"`]+/)+([^\s/:'\"`]*)")


def public_message(exc: Exception) -> str:
    """An error's message without absolute paths (only their last part): what the
    server's files are called is not the client's business."""
    return _ABS_PATH.sub(lambda m: m.group(1) or "/", str(exc))


def _unavailable(exc: IndexUnavailable):
    return _error("index_unavailable", public_message(exc), 503)


def search_payload(api: bool):
    """The search document for the current request (shared by page and API)."""
    try:
        gen = _generation()
    except IndexUnavailable as exc:
        return _unavailable(exc)
    try:
        with SEARCH_TURN(_cost()):
            return search_document(gen, parse_request(request.args), Links.current(), api=api), 200
    except BadRequest as exc:
        return exc.as_json(), 400


def doc_payload(doc_id: str):
    try:
        reject_unknown(request.args, DOC_PARAM_NAMES, "a document")
    except BadRequest as exc:
        return exc.as_json(), 400
    try:
        gen = _generation()
    except IndexUnavailable as exc:
        return _unavailable(exc)
    links = Links.current()
    try:
        with SEARCH_TURN(_cost()):
            doc = get_document(gen, doc_id, request.args.get("q", ""), links.facet)
    except BadRequest as exc:
        return exc.as_json(), 400
    if doc is None:
        return _error("not_found", f"no document with id {doc_id[:200]!r}", 404, "id",
                      f"لا توجد مقالة بالمعرّف «{doc_id[:200]}»")
    back = request.args.get("back", "")
    doc["links"] = {
        "html": links.doc(doc_id), "json": links.doc(doc_id, api=True),
        # the results page the reader came from: a query string, only ever appended to
        # the search page's path (never a URL of its own)
        "back": links.to(links.page, back.lstrip("?") if back else
                         urlencode({"q": request.args["q"]}) if request.args.get("q") else ""),
        **{f.name: {e["value"]: links.facet(f.name, e["value"]) for e in doc[f.key]} for f in FACETS if f.key},
        "outlet": links.facet("outlet", doc["outlet"]) if doc["outlet"] else None,
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


def _id_param():
    doc_id = request.args.get("id")
    if doc_id is None:
        return None, (_error("bad_parameter", "the 'id' parameter is required", 400, "id"))
    return doc_id, None


@bp.get("/doc")
@bp.get("/doc/<path:doc_id>")
def doc_page(doc_id: str | None = None):
    if doc_id is None:
        doc_id, error = _id_param()
        if error:
            return _page("doc.html", *error)
    payload, status = doc_payload(doc_id)
    return _page("doc.html", payload, status)


@bp.get("/api/doc")
@bp.get("/api/doc/<path:doc_id>")
def doc_api(doc_id: str | None = None):
    if doc_id is None:
        doc_id, error = _id_param()
        if error:
            return jsonify(error[0]), error[1]
    payload, status = doc_payload(doc_id)
    return jsonify(payload), status


# Exports: the same parameters as /api/search; every matching document (at most
# MAX_EXPORT) in the order the pages show them, streamed row by row.

def _export(kind: str):
    try:
        gen = _generation()
    except IndexUnavailable as exc:
        return jsonify(_unavailable(exc)[0]), 503
    try:
        req = parse_request(request.args)
        with SEARCH_TURN(_cost()):
            docs = matching_docs(gen, req, MAX_EXPORT)
    except BadRequest as exc:
        return jsonify(exc.as_json()), 400
    rows = _rows(gen, docs)
    if kind == "csv":
        body, mimetype = exports.csv_lines(rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = exports.jsonl_lines(rows), "application/x-ndjson; charset=utf-8"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="mirsad-search.{kind}"',
        "X-Total-Count": str(len(docs))})


EXPORT_CHUNK = 500  # rows read per turn: a 10,000-row export lets other searches in between


def _rows(gen: Generation, docs: list):
    """The export rows, read in chunks, each within the worker's search turn (the index
    readers serve one search at a time), while the response streams."""
    for start in range(0, len(docs), EXPORT_CHUNK):
        with SEARCH_TURN(1):
            chunk = [export_row(gen, d, score) for d, score in docs[start:start + EXPORT_CHUNK]]
        yield from chunk


@bp.get("/api/search.csv")
def search_csv():
    return _export("csv")


@bp.get("/api/search.jsonl")
def search_jsonl():
    return _export("jsonl")


@bp.get("/api/histogram.csv")
def histogram_csv():
    payload, status = search_payload(api=True)
    if status != 200:
        return jsonify(payload), status
    return Response(exports.histogram_csv(payload["histogram"]), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="mirsad-histogram.csv"'})


@bp.get("/search.atom")
def search_atom():
    """The search as an Atom feed, newest first: a query to follow in a feed reader."""
    args = request.args.copy()
    args["sort"] = "date"
    try:
        gen = _generation()
        req = parse_request(args)
        with SEARCH_TURN(_cost()):
            result = search_document(gen, req, Links.current(), api=False)
    except IndexUnavailable as exc:
        return jsonify(_unavailable(exc)[0]), 503
    except BadRequest as exc:
        return jsonify(exc.as_json()), 400
    feed = exports.atom_feed(result, request.url_root.rstrip("/"), request.url, gen.build.get("built"))
    return Response(feed, mimetype="application/atom+xml; charset=utf-8")


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/api/health")
def health():
    try:
        gen = _generation()
    except IndexUnavailable as exc:
        return jsonify({"status": "unavailable", "error": public_message(exc)}), 503
    out = {"status": "ok", "documents": gen.live_count, "generation": gen.path.name,
           "built": gen.build.get("built"), "analysis_current": gen.analysis_current}
    if not gen.analysis_current:
        out["warning"] = STALE_ANALYSIS
    handle = current_app.extensions["mirsad"]
    if handle.opening:  # a newer generation is being opened; this one answers until it is ready
        out["opening"] = handle.opening
    failed = handle.error
    if failed:  # the newest generation could not be opened: an older one serves
        out.update(status="degraded", error=public_message(RuntimeError(failed)))
    return jsonify(out)


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
