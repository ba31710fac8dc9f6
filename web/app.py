"""Flask application factory: a thin layer over ``search``.

``create_app()`` reads the index directory from ``MIRSAD_INDEX`` (default ``index``) or
its argument, checks that the index opens (a clear error otherwise), and serves:

- ``/`` and ``/search``: the search page;    ``/api/search``: the same data as JSON
- ``/doc?id=<id>`` (or ``/doc/<id>``): one article;  ``/api/doc?id=<id>``: the same as JSON
- ``/api/health``: index status

Each worker opens the index lazily and follows the ``current`` link, so a rebuild is
picked up without a restart.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask

from search.index import IndexHandle, open_generation
from search.store import IndexUnavailable, current_generation

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def create_app(index_dir: str | os.PathLike | None = None, check: bool = True) -> Flask:
    """Build the app for ``index_dir``; with ``check``, fail at once (SystemExit with a
    readable message) when the index is missing or cannot be opened."""
    index_dir = Path(index_dir or os.environ.get("MIRSAD_INDEX", "index"))
    if check:
        try:
            gen = open_generation(current_generation(index_dir))
            gen.speller(wait=True)  # built once here, shared by the forked workers
            gen.close()  # each worker opens its own after the fork
        except IndexUnavailable as exc:
            print(f"mirsad: cannot serve: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    app = Flask(__name__)
    app.url_map.merge_slashes = False  # /api/doc//x is an unknown id (404), not a redirect
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config["INDEX_DIR"] = index_dir
    opener = None
    if os.environ.get("MIRSAD_RAY"):  # mirsad serve --ray: the shards answer from the cluster's actors
        from search.cluster import opener as cluster_opener

        opener = cluster_opener(os.environ["MIRSAD_RAY"], int(os.environ.get("MIRSAD_REPLICAS", "2")))
    app.extensions["mirsad"] = IndexHandle(index_dir, warm=True, opener=opener)

    from web.chart import INTERVAL_AR, legend, svg_chart
    from web.routes import bp
    from web.wording import count_phrase

    app.register_blueprint(bp)
    app.jinja_env.filters["count_ar"] = count_phrase
    app.jinja_env.globals.update(svg_chart=lambda h: svg_chart(h, count_phrase), chart_legend=legend,
                                 interval_ar=INTERVAL_AR)

    @app.after_request
    def _headers(response):
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    return app
