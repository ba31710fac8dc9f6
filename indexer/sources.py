"""Read articles from folders and from text, JSONL / JSONL.gz / NDJSON and JSON files.

Readers yield ``Record`` for every usable article and ``Problem`` for everything else
(with the file and line), so one bad record never stops the rest.
"""
from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Union

from indexer.clean import clean_text, split_title

MAX_BODY_CHARS = 2_000_000
TEXT_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json.gz")
JSON_SUFFIXES = (".json",)  # a JSON array of articles, or JSONL under a .json name
SOURCE_SUFFIXES = TEXT_SUFFIXES + JSONL_SUFFIXES + JSON_SUFFIXES


@dataclass
class Record:
    id: str
    title: str
    body: str
    outlet: str = ""  # the source's own outlet code, if any
    date: str = ""  # as written in the source
    author: str = ""
    url: str = ""
    category: str = ""
    origin: str = ""  # file:line, for reports
    from_text_file: bool = False


@dataclass
class Problem:
    origin: str
    reason: str
    fatal: bool = True  # False: reported, but the record was still indexed

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


Item = Union[Record, Problem]


def read_sources(paths: list[Path]) -> Iterator[Item]:
    """Records and problems from every source, in order."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            yield from read_folder(path)
        elif not path.exists():
            yield Problem(printable_path(path), "no such file or folder")
        elif not path.is_file():
            yield Problem(printable_path(path), "not a regular file (FIFO, device or socket), skipped")
        elif path.name.endswith(SOURCE_SUFFIXES):
            yield from read_file(path)
        else:
            yield Problem(printable_path(path), "unknown source type (expected a folder, " + ", ".join(SOURCE_SUFFIXES) + ")")


def read_file(path: Path) -> Iterator[Item]:
    """Records of one source file, by its name's ending."""
    if path.name.endswith(TEXT_SUFFIXES):
        yield from _read_text_file(path)
    elif path.name.endswith(JSON_SUFFIXES):
        yield from read_json(path)
    else:
        yield from read_jsonl(path)


def folder_files(folder: Path) -> tuple[list[Path], list[Problem]]:
    """(the source files of a folder, recursively, sorted; a problem for everything
    else in it): regular files with a source ending, inside the folder (a symbolic link
    leading out of it is refused, as are FIFOs, devices and sockets)."""
    root = folder.resolve()
    files, skipped = [], []
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root):
                skipped.append(Problem(printable_path(path), "symbolic link leading out of the folder, skipped"))
                continue
        if not path.is_file():
            skipped.append(Problem(printable_path(path), "not a regular file (FIFO, device or socket), skipped"))
        elif not path.name.endswith(SOURCE_SUFFIXES):
            skipped.append(Problem(printable_path(path), "not a source file (expected " + ", ".join(SOURCE_SUFFIXES) + "), skipped"))
        else:
            files.append(path)
    return files, skipped


def read_folder(folder: Path) -> Iterator[Item]:
    files, skipped = folder_files(folder)
    yield from skipped
    if not files:
        yield Problem(str(folder), "folder holds no source files (" + ", ".join(SOURCE_SUFFIXES) + ")")
    for path in files:
        yield from read_file(path)




def estimate_records(paths: list[Path]) -> int | None:
    """About how many records the sources hold (lines of JSONL, text files), for the
    progress bar's ETA; None when a source does not say (a JSON array). One pass over
    the bytes, ~1% of a build."""
    total = 0
    for path in paths:
        path = Path(path)
        for f in (folder_files(path)[0] if path.is_dir() else [path]):
            if f.name.endswith(TEXT_SUFFIXES):
                total += 1
                continue
            if f.name.endswith(JSON_SUFFIXES):
                return None
            try:
                with _open_lines(f) as fh:
                    total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
            except (OSError, EOFError, zlib.error):
                continue
    return total


def inventory(paths: list[Path]) -> list[dict]:
    """What a build of ``paths`` reads: every source file with its size and mtime (what
    ``mirsad index --unless-current`` compares to decide whether the index is stale)."""
    out = []
    for path in paths:
        path = Path(path)
        files = folder_files(path)[0] if path.is_dir() else [path]
        for f in files:
            try:
                st = f.stat()
                out.append({"path": printable_path(f.resolve()), "size": st.st_size, "mtime": int(st.st_mtime)})
            except OSError:
                out.append({"path": printable_path(f), "size": None, "mtime": None})
    return out


def decode_bytes(data: bytes) -> tuple[str | None, str]:
    """(text, encoding) of a text file, or (None, reason) when it is not text.

    UTF-8 (with or without BOM), UTF-16 with a BOM, and Windows-1256 are recognized.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            return None, f"invalid UTF-16 ({exc.reason} at byte {exc.start})"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason.startswith("unexpected end"):
            return None, f"truncated UTF-8 (file ends inside a character at byte {exc.start})"
        text = None
    if text is not None:
        if _looks_binary(text):
            return None, "binary content (control characters), not a text file"
        return text, "utf-8"
    try:
        text = data.decode("cp1256")
    except UnicodeDecodeError:
        return None, "neither UTF-8, UTF-16 nor Windows-1256"
    letters = [c for c in text if c.isalpha()]
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff")
    if _looks_binary(text) or not letters or arabic / len(letters) < 0.5:
        return None, "binary content or unknown encoding (not UTF-8, UTF-16 or Windows-1256 Arabic)"
    return text, "cp1256"


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return False
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f")
    return controls / len(sample) > 0.02


def _read_text_file(path: Path) -> Iterator[Item]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Problem(printable_path(path), f"cannot read: {exc.strerror}")
        return
    text, how = decode_bytes(data)
    if text is None:
        yield Problem(printable_path(path), how)
        return
    text = clean_text(text)
    if not text.strip():
        yield Problem(printable_path(path), "empty file")
        return
    title, body = split_title(text)
    record = Record(id=valid_unicode(path.stem)[0], title=title, body=body, origin=printable_path(path), from_text_file=True)
    yield from _checked(record)


def _open_lines(path: Path):
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


# A compressed source expands at most this many times (news JSONL compresses 3-6x; a
# file of newlines or one repeated byte, a thousand times and more), and one record is at
# most MAX_RECORD_BYTES: past either, the rest of the file is refused with its line.
MAX_EXPANSION = 100
MAX_RECORD_BYTES = 64 * 2**20


def read_jsonl(path: Path) -> Iterator[Item]:
    """One record per line; fields as in ../shared/corpus/README.md."""
    name = printable_path(path)
    try:
        fh = _open_lines(path)
    except OSError as exc:
        yield Problem(name, f"cannot open: {exc.strerror}")
        return
    compressed = isinstance(fh, gzip.GzipFile)
    lineno = read = 0
    try:
        with fh:
            while True:
                raw = fh.readline(MAX_RECORD_BYTES + 1)
                if not raw:
                    break
                lineno += 1
                read += len(raw)
                origin = f"{name}:{lineno}"
                if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
                    yield Problem(origin, f"record longer than {MAX_RECORD_BYTES // 2**20} MB: the rest of the file is skipped")
                    return
                if compressed and read > 2**24 and read > MAX_EXPANSION * max(fh.fileobj.tell(), 1):
                    yield Problem(origin, f"decompresses more than {MAX_EXPANSION} times its size (not news text): "
                                          "the rest of the file is skipped")
                    return
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    yield Problem(origin, f"not UTF-8 (byte {exc.start})")
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield Problem(origin, f"malformed JSON: {exc.msg} at column {exc.colno}")
                    continue
                except RecursionError:
                    yield Problem(origin, "JSON nested too deeply")
                    continue
                if not isinstance(obj, dict):
                    yield Problem(origin, f"expected a JSON object, got {type(obj).__name__}")
                    continue
                yield from _from_json(obj, origin)
    except (EOFError, OSError, zlib.error) as exc:
        yield Problem(f"{name}:{lineno + 1}", f"file is truncated or corrupt after line {lineno}: {exc}")


def read_json(path: Path) -> Iterator[Item]:
    """A ``.json`` file: one JSON array of article objects, or JSONL under that name."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).lstrip()
    except OSError as exc:
        yield Problem(printable_path(path), f"cannot open: {exc.strerror}")
        return
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:].lstrip()
    if not head.startswith(b"["):
        yield from read_jsonl(path)
        return
    try:
        items = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        yield Problem(printable_path(path), f"not UTF-8 (byte {exc.start})")
        return
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f"{printable_path(path)}:{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else printable_path(path)
        yield Problem(where, f"malformed JSON: {getattr(exc, 'msg', 'nested too deeply')}")
        return
    for n, obj in enumerate(items, 1):
        origin = f"{path}:[{n}]"
        if not isinstance(obj, dict):
            yield Problem(origin, f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield from _from_json(obj, origin)


def _text_field(obj: dict, name: str) -> str:
    value = obj.get(name)
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return " ".join(str(v) for v in value if v is not None)
    return str(value) if not isinstance(value, dict) else ""


_SURROGATE_RE = re.compile("[\ud800-\udfff]")
MAX_ID_CHARS = 1000


def valid_unicode(text: str) -> tuple[str, int]:
    """(text with lone surrogates — what a truncated emoji or a bad escape becomes —
    replaced by U+FFFD, how many were replaced)."""
    if not _SURROGATE_RE.search(text):
        return text, 0
    return _SURROGATE_RE.subn("\ufffd", text)


def printable_path(path) -> str:
    """A path for reports: a file name that is not UTF-8 shows U+FFFD, never fails to print."""
    return valid_unicode(str(path))[0]


def _from_json(obj: dict, origin: str) -> Iterator[Item]:
    raw_id = obj.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()) or isinstance(raw_id, (dict, list, bool)):
        yield Problem(origin, "missing id")
        return
    # the id is kept exactly as written (two distinct ids never collide); only made
    # valid Unicode, and refused, not cut, when too long
    doc_id, bad = valid_unicode(str(raw_id))
    if bad:
        yield Problem(origin, f"id has {bad} invalid character(s) (lone surrogates), replaced by U+FFFD", fatal=False)
    if len(doc_id) > MAX_ID_CHARS:
        yield Problem(origin, f"id of {len(doc_id):,} characters is longer than {MAX_ID_CHARS:,}: record skipped")
        return
    fixed = 0
    for name in ("title", "body", "outlet", "date", "author", "url", "category"):
        value = obj.get(name)
        if isinstance(value, str):
            obj[name], n = valid_unicode(value)
            fixed += n
    if fixed:
        yield Problem(origin, f"{fixed} invalid character(s) (lone surrogates) replaced by U+FFFD (id {doc_id})", fatal=False)
    record = Record(
        id=doc_id,
        title=" ".join(clean_text(_text_field(obj, "title")).split()),
        body=clean_text(_text_field(obj, "body")),
        outlet=clean_text(_text_field(obj, "outlet")).strip(),
        date=clean_text(_text_field(obj, "date")).strip(),
        author=" ".join(clean_text(_text_field(obj, "author")).split()),
        url=clean_text(_text_field(obj, "url")).strip(),
        category=clean_text(_text_field(obj, "category")).strip(),
        origin=origin,
    )
    if not record.id:
        yield Problem(origin, "missing id")
        return
    yield from _checked(record)


def _checked(record: Record) -> Iterator[Item]:
    if not record.title.strip() and not record.body.strip():
        yield Problem(record.origin, f"empty record (id {record.id}): no title and no body")
        return
    if len(record.body) > MAX_BODY_CHARS:
        yield Problem(record.origin, f"body of {len(record.body):,} characters truncated to {MAX_BODY_CHARS:,} (id {record.id})", fatal=False)
        record.body = record.body[:MAX_BODY_CHARS]
    if not record.body.strip():
        yield Problem(record.origin, f"empty body, indexed by its title (id {record.id})", fatal=False)
    yield record
