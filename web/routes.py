"""Routes: every HTML page and its JSON twin are built by the same function.

``search_payload`` and ``doc_payload`` return ``(payload, status)``; the ``/api/*`` view
sends it as JSON and its page twin renders it with a template (``_page``), so the two
never disagree.
"""
from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, render_template, request

from search.engine import BadRequest, doc_url, get_document, parse_request, search_document
from search.index import STALE_ANALYSIS, Generation
from search.schema import FACETS
from search.store import IndexUnavailable
from web.worker import Turns

bp = Blueprint("mirsad", __name__)
# One search at a time per process, short queries first within bounds (web.worker explains why).
SEARCH_TURN = Turns()


def _cost() -> int:
    """What a request's search is likely to cost: its query's words."""
    return len(request.args.get("q", "").split())


def _generation() -> Generation:
    return current_app.extensions["mirsad"].get()


def _error(code: str, message: str, status: int, param: str | None = None):
    body = {"error": {"code": code, "message": message}}
    if param:
        body["error"]["param"] = param
    return body, status


_ABS_PATH = re.compile(r"(?<![\w.])/(?:[^\s/:'\"`]+/)+([^\s/:'\"`]*)")


def public_message(exc: Exception) -> str:
    """An error's message without absolute paths (only their last part): what the
    server's files are called is not the client's business."""
    return _ABS_PATH.sub(lambda m: m.group(1) or "/", str(exc))


def search_payload(api: bool):
    """The search document for the current request (shared by page and API)."""
    try:
        gen = _generation()
    except IndexUnavailable as exc:
        return _error("index_unavailable", public_message(exc), 503)
    try:
        with SEARCH_TURN(_cost()):
            return search_document(gen, parse_request(request.args), "/api/search" if api else "/search"), 200
    except BadRequest as exc:
        return exc.as_json(), 400


def doc_payload(doc_id: str):
    try:
        gen = _generation()
    except IndexUnavailable as exc:
        return _error("index_unavailable", public_message(exc), 503)
    try:
        with SEARCH_TURN(_cost()):
            doc = get_document(gen, doc_id, request.args.get("q", ""))
    except BadRequest as exc:
        return exc.as_json(), 400
    if doc is None:
        return _error("not_found", f"no document with id {doc_id[:200]!r}", 404, "id")
    doc["links"] = {
        "html": doc_url(doc_id), "json": doc_url(doc_id, api=True),
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
    failed = current_app.extensions["mirsad"].error
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
