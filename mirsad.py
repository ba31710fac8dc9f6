"""The ``mirsad`` command: index, search, extract, serve — a thin front for the library."""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
from pathlib import Path

from search.index import STALE_ANALYSIS
from search.schema import FACET_NAMES

DEFAULT_INDEX = os.environ.get("MIRSAD_INDEX", "index")


def _index(args) -> int:
    from indexer.build import BuildFailed, build_index
    from indexer.sources import inventory
    from search.index import open_generation
    from search.store import IndexUnavailable, current_generation

    if args.unless_current and not args.add:
        try:
            gen = open_generation(current_generation(Path(args.index)))
        except IndexUnavailable as exc:
            print(f"mirsad index: {exc}; building it", file=sys.stderr)
            gen = None
        if gen is not None:
            gen.close()
            if not gen.analysis_current:
                print(f"mirsad index: {args.index} was built with an older analysis; rebuilding", file=sys.stderr)
            elif gen.build.get("inputs") != inventory(args.sources):
                print(f"mirsad index: the sources changed since {args.index} was built "
                      f"({_sources_change(gen.build.get('inputs') or [], inventory(args.sources))}); rebuilding",
                      file=sys.stderr)
            else:
                print(f"mirsad index: {args.index} is current ({gen.live_count:,} documents, built "
                      f"{gen.build.get('built')}); not rebuilt", file=sys.stderr)
                return 0
    if args.shards < 1:
        print(f"mirsad index: --shards must be 1 or more, got {args.shards}", file=sys.stderr)
        return 2
    if args.ray and args.shards < 2:
        print("mirsad index: --ray builds the shards of a sharded index: give --shards N (2 or more)", file=sys.stderr)
        return 2
    try:
        report = build_index(args.sources, Path(args.index), procs=args.procs, progress=not args.quiet,
                             entities=not args.no_entities, add=args.add, shards=args.shards, ray_address=args.ray)
    except (BuildFailed, IndexUnavailable) as exc:
        print(f"mirsad index: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mirsad index: interrupted; the previous index (if any) is untouched", file=sys.stderr)
        return 130
    except OSError as exc:  # disk full, permissions...: one line, the previous index serves on
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"mirsad index: cannot write the index: {exc.strerror or exc}{where}; "
              "the previous index (if any) is untouched", file=sys.stderr)
        return 1
    print(report.summary(), file=sys.stderr)
    for problem in report.problems[: args.show_problems]:
        print(f"  {problem}", file=sys.stderr)
    if args.report:
        Path(args.report).write_text(json.dumps(report.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def _sources_change(before: list[dict], now: list[dict]) -> str:
    old, new = {f["path"]: f for f in before}, {f["path"]: f for f in now}
    added, gone = len(new.keys() - old.keys()), len(old.keys() - new.keys())
    changed = sum(1 for p in new.keys() & old.keys() if new[p] != old[p])
    return f"{added} file(s) new, {gone} gone, {changed} changed"


def _delete(args) -> int:
    from indexer.build import delete_documents
    from search.store import IndexUnavailable

    ids = list(args.ids)
    if args.ids_from:
        try:
            text = Path(args.ids_from).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"mirsad delete: cannot read --ids-from {args.ids_from}: {exc}", file=sys.stderr)
            return 2
        ids += [line.strip() for line in text.splitlines() if line.strip()]
    if not ids:
        print("mirsad delete: no ids given (ID... or --ids-from FILE)", file=sys.stderr)
        return 2
    try:
        deleted, missing = delete_documents(Path(args.index), ids)
    except IndexUnavailable as exc:
        print(f"mirsad delete: {exc}", file=sys.stderr)
        return 1
    print(f"deleted {deleted:,} article(s)" + (f"; {len(missing):,} id(s) not in the index: "
                                               + ", ".join(missing[:10]) if missing else ""), file=sys.stderr)
    return 0 if deleted or not missing else 1


def _open(index_dir: str):
    from search.index import IndexHandle
    from search.store import IndexUnavailable

    try:
        return IndexHandle(index_dir).get()
    except IndexUnavailable as exc:
        print(f"mirsad: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _search(args) -> int:
    from search.engine import BadRequest, export_row, matching_docs, matching_ids, parse_request
    from search.parameters import MAX_EXPORT
    from web import exports
    from web.links import search_document

    gen = _open(args.index)
    params = {"q": args.query, "per_page": str(args.limit), "page": str(args.page), "sort": args.sort,
              "from": args.date_from or "", "to": args.date_to or "",
              "entities": "off" if args.words_only else "on", "correct": "off" if args.literal else "on"}
    if not args.json:
        params["facet_size"] = "0"  # the text output shows no facets: they are not counted
    for facet in FACET_NAMES:
        params[facet] = getattr(args, facet) or []
    option = {"per_page": "--limit", "page": "--page", "sort": "--sort", "from": "--from", "to": "--to"}
    try:
        req = parse_request(params)
        if args.ids:
            for doc_id in matching_ids(gen, req):
                print(doc_id)
            return 0
        if args.csv or args.jsonl:
            rows = (export_row(gen, d, score) for d, score in matching_docs(gen, req, MAX_EXPORT))
            lines = exports.csv_lines(rows) if args.csv else exports.jsonl_lines(rows)
            for line in lines:
                sys.stdout.write(line.lstrip("\ufeff") if args.csv else line)
            return 0
        result = search_document(gen, req)
        if ((result["total"] == 0 or result["relaxed"]) and req.q and result["suggestion"] is None
                and gen.speller() is None):
            # an older index's speller is still being built: a server builds it beforehand;
            # one command waits for it and asks again
            gen.speller(wait=True)
            result = search_document(gen, req)
    except BadRequest as exc:
        name = option.get(exc.param, exc.param)
        print(f"mirsad search: {name}: {exc.message.replace(repr(exc.param), name)}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    noun = "result" if result["total"] == 1 else "results"
    print(f"{result['total']:,} {noun} ({result['took_ms']} ms){' — no document has every word; showing any word' if result['relaxed'] else ''}")
    if result["corrected"]:
        literal = result["corrected"]["from"]
        missing = f"no document has every word of {literal}" if result["corrected"]["relaxed"] else f"no results for {literal}"
        print(f"{missing}: showing {result['query']} (--literal for the query as written)")
    elif result["suggestion"]:
        print(f"did you mean: {result['suggestion']}")
    if result["entities"]:
        print("also the articles tagged " + ", ".join(f"{e['facet']}={e['value']}" for e in result["entities"])
              + " (--words-only for the words alone)")
    for i, hit in enumerate(result["hits"], (req.page - 1) * req.per_page + 1):
        snippet = re.sub(r"</?mark>", "*", hit["snippet"])
        print(f"\n{i}. {hit['title']}\n   {hit['outlet_label'] or '?'} · {(hit['date'] or '')[:10]} · {hit['id']}\n   {html.unescape(snippet)}")
    return 0


def _extract(args) -> int:
    from indexer.extract import Extractor
    from indexer.sources import Problem, read_sources

    extractor = Extractor()
    for item in read_sources(args.sources):
        if isinstance(item, Problem):
            print(f"mirsad extract: {item}", file=sys.stderr)
            continue
        print(json.dumps(extractor.extract(item).as_json(), ensure_ascii=False))
    return 0


def _serve(args) -> int:
    from search.index import open_generation
    from search.store import IndexUnavailable, current_generation

    try:
        gen = open_generation(current_generation(Path(args.index)))
    except IndexUnavailable as exc:
        print(f"mirsad serve: {exc}", file=sys.stderr)
        return 2
    gen.close()
    if not gen.analysis_current:
        print(f"mirsad serve: warning: {STALE_ANALYSIS}", file=sys.stderr)
    os.environ["MIRSAD_INDEX"] = str(Path(args.index).resolve())
    workers = args.workers
    if args.ray:
        # one serving process owns the shard actors (threads answer concurrently)
        os.environ.update(MIRSAD_RAY=args.ray, MIRSAD_REPLICAS=str(args.replicas))
        workers = 1
    # --preload: the app (and its index check) loads once in the master, so a broken
    # index stops the server with one clear message instead of failing every worker.
    # web.worker: threads so slow clients hold a thread, not a worker; gunicorn's own
    # errors as JSON. A request line up to 8190 bytes (gunicorn's most) holds the
    # 1,000-character query limit even percent-encoded (6 bytes an Arabic letter).
    cmd = [sys.executable, "-m", "gunicorn", "--preload", "--workers", str(workers),
           "--worker-class", "web.worker.JsonErrorThreadWorker", "--threads", str(args.threads),
           "--limit-request-line", "8190", "--keep-alive", "5",
           "--bind", f"{args.host}:{args.port}", "--access-logfile", "-", "--timeout", "60",
           "web.app:create_app()"]
    os.execv(sys.executable, cmd)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mirsad")
    except PackageNotFoundError:
        return "(not installed)"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what indexer.build.default_procs uses
    except AttributeError:
        return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mirsad", description="Arabic news search: index, search, extract, serve.")
    parser.add_argument("--version", action="version", version=f"mirsad {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build an index from folders and .txt / .jsonl(.gz) / .ndjson / .json files")
    p.add_argument("sources", nargs="+", type=Path,
                   help="folders (read recursively) and files: .txt, .jsonl, .jsonl.gz, .ndjson, .json")
    p.add_argument("--index", default=DEFAULT_INDEX, help="index directory (default: %(default)s)")
    p.add_argument("--procs", type=int, default=None,
                   help="indexing processes (default: the machine's cores, here %d)" % _cores())
    p.add_argument("--add", action="store_true",
                   help="add the sources to the current index (an id already indexed is replaced) instead of rebuilding")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-entities", action="store_true", help="skip place/actor extraction (for measuring it)")
    p.add_argument("--report", help="write the build report as JSON to this file")
    p.add_argument("--unless-current", action="store_true",
                   help="do nothing when the index exists, was built with this version's analysis "
                        "and the sources (paths, sizes, mtimes) are the ones it was built from")
    p.add_argument("--show-problems", type=int, default=20, help="how many problems to list (default: %(default)s)")
    p.add_argument("--shards", type=int, default=1, metavar="N",
                   help="split the index into N shards that search as one (default: %(default)s, unsharded)")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="with --shards: build the shards as Ray tasks on the cluster at ADDRESS; the index directory "
                        "must be a path every node reaches (default: here, one shard after the other)")
    p.set_defaults(func=_index)

    p = sub.add_parser("delete", help="remove articles from the index by id (publishes a new generation)")
    p.add_argument("ids", nargs="*", help="ids of the articles to remove")
    p.add_argument("--ids-from", metavar="FILE", help="a file of ids, one per line")
    p.add_argument("--index", default=DEFAULT_INDEX, help="index directory (default: %(default)s)")
    p.set_defaults(func=_delete)

    p = sub.add_parser("search", help="search an index")
    p.add_argument("query", help="the query, as in the search box ('' for every article)")
    p.add_argument("--index", default=DEFAULT_INDEX, help="index directory (default: %(default)s)")
    p.add_argument("--limit", type=int, default=10, help="hits per page, 1-100 (default: %(default)s)")
    p.add_argument("--page", type=int, default=1, help="page of hits (default: %(default)s)")
    p.add_argument("--sort", default="relevance", choices=["relevance", "date", "date_asc"],
                   help="order: relevance, date (newest first) or date_asc (oldest first) (default: %(default)s)")
    p.add_argument("--from", dest="date_from", metavar="DATE",
                   help="only articles dated on or after this day, YYYY-MM-DD (or YYYY-MM, YYYY) (default: none)")
    p.add_argument("--to", dest="date_to", metavar="DATE",
                   help="only articles dated on or before this day, YYYY-MM-DD (or YYYY-MM, YYYY) (default: none)")
    p.add_argument("--literal", action="store_true",
                   help="a query that finds nothing is not answered with its spelling correction's results")
    p.add_argument("--words-only", action="store_true",
                   help="a query naming a known place or actor finds its words only, not also the documents tagged with it")
    for facet in FACET_NAMES:
        p.add_argument(f"--{facet}", action="append", help=f"filter by {facet} (repeatable: any of them)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the JSON API document")
    out.add_argument("--ids", action="store_true",
                     help="print the id of every article the search finds (filters and sort applied), one per line")
    out.add_argument("--csv", action="store_true",
                     help="print every article the search finds (at most 10,000) as CSV, like /api/search.csv")
    out.add_argument("--jsonl", action="store_true",
                     help="print every article the search finds (at most 10,000) as JSON lines, like /api/search.jsonl")
    p.set_defaults(func=_search)

    p = sub.add_parser("extract", help="print outlet, date, places and actors of each article as JSONL")
    p.add_argument("sources", nargs="+", type=Path)
    p.set_defaults(func=_extract)

    p = sub.add_parser("serve", help="serve the web page and JSON API with gunicorn")
    p.add_argument("--index", default=DEFAULT_INDEX)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=3, help="worker processes (default: %(default)s)")
    p.add_argument("--threads", type=int, default=32,
                   help="threads per worker: connections read at once, slow clients included (default: %(default)s)")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="answer a sharded index from Ray actors on the cluster at ADDRESS (host:port of its head; "
                        "needs pip install -e '.[cluster]'; one worker process; default: embedded, no Ray)")
    p.add_argument("--replicas", type=int, default=2,
                   help="with --ray: actors holding each shard, on distinct nodes (default: %(default)s)")
    p.set_defaults(func=_serve)

    args = parser.parse_args(argv)
    return args.func(args) or 0


def run() -> int:
    """The console entry point: ``main`` with a closed pipe (``| head``) ending quietly."""
    try:
        code = main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # the reader went away: no traceback, and no second error when Python flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(run())
