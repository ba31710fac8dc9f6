"""The gunicorn worker `mirsad serve` runs: threads for slow clients, JSON for gunicorn's errors.

gunicorn's sync worker reads a request and runs it on its only thread, so a client that
opens a connection and sends nothing (or one byte a second) holds a whole worker. This
is gunicorn's threaded worker (``gthread``): a connection waits in the worker's poller
until it has data, and a request is read by one of ``--threads`` threads, so slow or
idle clients hold at most a thread each while the others serve. The search itself runs
one request at a time per worker, short queries first within bounds (``Turns``): Python's GIL
would serialize it anyway, and Whoosh does not promise that its readers may be shared
by threads.

Requests gunicorn refuses itself (a malformed request line: 400; a URL over
``--limit-request-line``: 414; too many or too large headers: 431; and its 500) never
reach Flask, and gunicorn writes them as HTML. Here they are written as the API's JSON
error, ``{"error": {"code", "message"}}``: the API's clients parse one format.
"""
from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from contextlib import contextmanager

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

_REASON_CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long", 417: "expectation_failed",
                 431: "headers_too_large", 500: "internal_error", 501: "not_implemented"}


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` with a JSON body (same status line and headers)."""
    body = json.dumps({"error": {"code": _REASON_CODES.get(status_int, "error"),
                                 "message": reason if not mesg else f"{reason}: {mesg}"}}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + body)


class JsonErrorThreadWorker(ThreadWorker):
    """``gthread`` whose own error responses are JSON (``write_json_error``)."""

    def init_process(self) -> None:
        util.write_error = write_json_error  # gunicorn's workers call it through the module
        super().init_process()


class Turns:
    """Whose turn it is to search in this worker: the waiting request whose arrival plus
    ``SECONDS_PER_WORD`` per query word is earliest. A reader's 2-word query goes ahead
    of 64-word ones that came less than ~1.2 s before it, so 8 clients sending those
    back to back do not starve it; and since the head start is bounded, a long query
    is never starved by a stream of short ones (pure shortest-first did that under 64
    clients). ``threading.Lock`` would wake any waiter, and every test client is
    127.0.0.1, so fairness cannot go by address."""

    SECONDS_PER_WORD = 0.02

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: list[tuple[float, int]] = []  # heap of (virtual arrival, arrival number)
        self._arrivals = itertools.count()
        self._busy = False

    @contextmanager
    def __call__(self, cost: int):
        me = (time.monotonic() + cost * self.SECONDS_PER_WORD, next(self._arrivals))
        with self._cond:
            heapq.heappush(self._waiting, me)
            while self._busy or self._waiting[0] != me:
                self._cond.wait()
            heapq.heappop(self._waiting)
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
