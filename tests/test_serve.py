"""Issue 4: `mirsad serve` runs gunicorn workers that follow index rebuilds live."""
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from indexer.build import build_index
from tests.conftest import ROOT, write_jsonl


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, json.loads(r.read())


@pytest.fixture
def served(tmp_path, seeds_dir):
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "mirsad.py"), "serve", "--index", str(index_dir),
                             "--port", str(port), "--workers", "2"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            fetch(base + "/api/health")
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("server did not start: " + proc.stderr.read().decode()[-2000:])
    yield base, index_dir
    proc.terminate()
    proc.wait(timeout=10)


def test_workers_pick_up_a_rebuild_without_failing_a_request(served, tmp_path):
    base, index_dir = served
    _, health = fetch(base + "/api/health")
    old = health["generation"]
    assert health["documents"] == 5
    failures, statuses, stop = [], [], threading.Event()

    def hammer():
        url = base + "/api/search?" + urllib.parse.urlencode({"q": "إدلب"})
        while not stop.is_set():
            try:
                status, doc = fetch(url)
                statuses.append((status, doc["total"]))
            except Exception as exc:  # any failed request fails the test
                failures.append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    extra = write_jsonl(tmp_path / "extra.jsonl", [{"id": "new-1", "title": "خبر جديد عن إدلب",
                                                    "body": "اشتباكات في إدلب اليوم"}])
    time.sleep(0.5)
    build_index([ROOT / "corpus", extra], index_dir, progress=False)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    totals = {total for status, total in statuses}
    assert totals == {3, 4}  # before and after the swap, nothing else (no mixed state)
    for _ in range(6):  # every worker now serves the new generation
        _, health = fetch(base + "/api/health")
        assert health["generation"] != old and health["documents"] == 6


def test_serve_without_index_says_why(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "mirsad.py"), "serve", "--index", str(tmp_path / "none"),
                           "--port", str(free_port())], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "make index" in proc.stderr and "Traceback" not in proc.stderr


def test_serve_with_corrupt_index_says_why(tmp_path, seeds_dir):
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir, progress=False)
    gen = next(index_dir.glob("gen-*"))
    for f in gen.glob("*.seg"):
        f.write_bytes(b"garbage")
    for f in gen.glob("_MAIN_*.toc"):
        f.write_bytes(b"garbage")
    proc = subprocess.run([sys.executable, str(ROOT / "mirsad.py"), "serve", "--index", str(index_dir),
                           "--port", str(free_port())], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode != 0 and "cannot open the index" in proc.stderr and "Traceback" not in proc.stderr


def _raw(base: str, data: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes to the server; (status, headers, body) of its answer."""
    host, port = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /api/search?q=" + b"%D8%A7" * 1400 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),  # over 8,190 bytes
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /api/search HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),  # over 100 headers
])
def test_what_gunicorn_refuses_itself_is_json(served, request_bytes, status):
    base, _ = served
    got, headers, body = _raw(base, request_bytes)
    assert got == status and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"]


def test_a_thousand_letter_query_fits_the_request_line(served):
    base, _ = served
    q = " ".join(["والاستراتيجيات" + "ي"] * 62)  # 991 characters in 62 words: under both limits
    assert 950 < len(q) <= 1000
    r = urllib.request.urlopen(base + "/api/search?" + urllib.parse.urlencode({"q": q}), timeout=10)
    assert r.status == 200 and json.loads(r.read())["total"] >= 0


def test_idle_and_slow_connections_do_not_hold_the_workers(served):
    """Twice as many silent and dribbling connections as the workers' threads would not
    block a sync worker's server; here every normal request is answered at once."""
    base, _ = served
    host, port = base.rsplit("/", 1)[1].split(":")
    socks = []
    try:
        for k in range(20):
            s = socket.create_connection((host, int(port)))
            if k % 2:
                s.sendall(b"GET /api/search?q=x HTTP/1.1\r\nHost: x\r\n")  # never finished
            socks.append(s)
        for _ in range(10):
            t = time.perf_counter()
            status, doc = fetch(base + "/api/search?q=" + urllib.parse.quote("داعش"))
            assert status == 200 and doc["total"] > 0 and time.perf_counter() - t < 2
    finally:
        for s in socks:
            s.close()


def test_search_turns_put_short_queries_first_within_bounds(monkeypatch):
    """web.worker.Turns: a 2-word query waiting beside a 64-word one goes first, unless the
    long one came more than its head start (64 x 20 ms) before it."""
    from web import worker

    clock = [1000.0]
    monkeypatch.setattr(worker.time, "monotonic", lambda: clock[0])

    def order(long_first_by: float) -> list[str]:
        turns, done, started = worker.Turns(), [], []
        hold = threading.Event()

        def run(name, cost):
            started.append(name)
            with turns(cost):
                done.append(name)
                if name == "holder":
                    hold.wait(5)

        threads = [threading.Thread(target=run, args=("holder", 1))]
        threads[0].start()
        while "holder" not in done:
            time.sleep(0.01)
        for name, cost, at in (("long", 64, 0.0), ("short", 2, long_first_by)):
            clock[0] = 1000.0 + at
            threads.append(threading.Thread(target=run, args=(name, cost)))
            threads[-1].start()
            while name not in started:
                time.sleep(0.01)
            time.sleep(0.05)  # queued
        hold.set()
        for t in threads:
            t.join(5)
        return done

    assert order(long_first_by=0.5) == ["holder", "short", "long"]
    assert order(long_first_by=2.0) == ["holder", "long", "short"]
