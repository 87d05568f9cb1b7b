"""Streaming readers: inline lists, JSONL, JSON arrays and CSV from any local path or ObjectStoragePath URI.

Every reader yields ``(line, item, raw)``: ``line`` is the 1-based line of the record in the source (the
list index + 1 for inline data), ``item`` the parsed record or a :class:`ReadError`, ``raw`` the source
bytes of a JSONL line (``None`` for other formats; the engine uses it for cheap checks and sizes). Files are read
in 1 MiB chunks; nothing holds the whole file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gemini_tuning.datasets.storage import CHUNK_SIZE, as_path

FORMATS = ("jsonl", "json", "csv", "inline")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
MAX_JSON_ELEMENT_CHARS = 64 << 20


class DatasetUsageError(ValueError):
    """The dataset cannot be read at all: missing file, unknown format, bad arguments."""


@dataclass(frozen=True, slots=True)
class ReadError:
    """A record that could not be parsed. ``raw`` is the offending text (for the rejects file)."""

    field: str
    message: str
    raw: Any = None
    fatal: bool = False  # nothing after it can be read (JSON array syntax error, missing CSV column)


def infer_format(source: Any, format: str | None = None) -> str:
    """``format`` if given, ``inline`` for a list, else from the file suffix."""
    if format is not None:
        if format not in FORMATS:
            raise DatasetUsageError(f"unknown format {format!r}; expected one of jsonl, json, csv")
        return format
    if isinstance(source, (list, tuple)):
        return "inline"
    suffix = as_path(source).suffix.lower()
    try:
        return _SUFFIXES[suffix]
    except KeyError:
        raise DatasetUsageError(
            f"cannot infer the format of {source} from its suffix {suffix!r}; pass format= jsonl, json or csv"
        ) from None


def read_records(source: Any, format: str, *, columns: Iterable[str] = ()) -> Iterator[tuple[int, Any, Any]]:
    """Dispatch to the reader for ``format``. ``columns`` are the CSV columns that must exist."""
    if format == "inline":
        return read_inline(source)
    path = as_path(source)
    if not path.exists():
        raise DatasetUsageError(f"{source}: no such file")
    if format == "jsonl":
        return read_jsonl(path)
    if format == "json":
        return read_json_array(path)
    if format == "csv":
        return read_csv(path, columns=columns)
    raise DatasetUsageError(f"unknown format {format!r}; expected one of jsonl, json, csv")


def read_inline(records: Iterable[Any]) -> Iterator[tuple[int, Any, None]]:
    for number, record in enumerate(records, start=1):
        yield number, record, None


def iter_lines(path: Any) -> Iterator[bytes]:
    """Raw lines (without the newline) of a file, read in chunks."""
    with path.open("rb") as f:
        tail = b""
        while chunk := f.read(CHUNK_SIZE):
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            yield from lines
        if tail:
            yield tail


def decode_error(line: bytes, exc: UnicodeDecodeError) -> ReadError:
    return ReadError(
        "encoding",
        f"invalid UTF-8 at byte {exc.start + 1}: {exc.reason}",
        line.decode("utf-8", "backslashreplace"),
    )


def read_jsonl(path: Any) -> Iterator[tuple[int, Any, Any]]:
    """JSON Lines; blank lines are skipped (they are not records) but still counted for line numbers."""
    loads = json.loads
    for number, line in enumerate(iter_lines(path), start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, decode_error(line, exc), None
            continue
        try:
            yield number, loads(text), line
        except ValueError as exc:
            if not text.strip():
                continue
            yield number, ReadError("json", f"invalid JSON: {exc.msg} (column {exc.colno})", text.rstrip("\r")), None


def read_json_array(path: Any) -> Iterator[tuple[int, Any, Any]]:
    """A top-level JSON array, decoded element by element with ``JSONDecoder.raw_decode`` over chunks.

    A syntax error or invalid UTF-8 is fatal: the array cannot be re-synchronised after it.
    """
    import codecs

    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        buf, pos, line, counted, eof = "", 0, 1, 0, False
        started = False

        def more() -> bool:
            nonlocal buf, pos, counted, line, eof
            if eof:
                return False
            chunk = f.read(CHUNK_SIZE)
            try:
                text = utf8.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise _Fatal(ReadError("encoding", f"invalid UTF-8: {exc.reason}", fatal=True)) from None
            eof = not chunk
            line += buf.count("\n", counted, pos)
            buf, counted = buf[pos:] + text, 0
            pos = 0
            return True

        def skip_ws() -> bool:
            """Advance past whitespace; False at end of input."""
            nonlocal pos
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n":
                    pos += 1
                if pos < len(buf):
                    return True
                if not more():
                    return False

        def line_at(index: int) -> int:
            nonlocal line, counted
            line += buf.count("\n", counted, index)
            counted = index
            return line

        try:
            if not skip_ws() or buf[pos] != "[":
                yield 1, ReadError("json", "invalid JSON: expected a top-level array '['", fatal=True), None
                return
            pos += 1
            expect_value = True
            while True:
                if not skip_ws():
                    yield line_at(pos), ReadError("json", "invalid JSON: unterminated array", fatal=True), None
                    return
                if buf[pos] == "]" and (not started or not expect_value):
                    return
                if not expect_value:
                    if buf[pos] != ",":
                        yield (
                            line_at(pos),
                            ReadError("json", f"invalid JSON: expected ',' or ']', got {buf[pos]!r}", fatal=True),
                            None,
                        )
                        return
                    pos += 1
                    expect_value = True
                    continue
                start = pos
                while True:
                    try:
                        value, end = decoder.raw_decode(buf, start)
                        if end < len(buf) or eof:
                            break
                    except json.JSONDecodeError as exc:
                        if eof or len(buf) - start > MAX_JSON_ELEMENT_CHARS:
                            yield (
                                line_at(start) + buf.count("\n", start, exc.pos),
                                ReadError(
                                    "json", f"invalid JSON: {exc.msg}", buf[start : exc.pos + 1][-200:], fatal=True
                                ),
                                None,
                            )
                            return
                    offset = start - pos
                    more()
                    start = pos + offset
                yield line_at(start), value, None
                pos, started, expect_value = end, True, False
        except _Fatal as fatal:
            yield line_at(pos), fatal.error, None


class _Fatal(Exception):
    def __init__(self, error: ReadError):
        self.error = error


def read_csv(path: Any, *, columns: Iterable[str] = ()) -> Iterator[tuple[int, Any, Any]]:
    """CSV with a header row; each row is a dict keyed by column name, ``line`` is where the row starts."""
    bad_lines: set[int] = set()
    counter = {"n": 0}

    def decoded() -> Iterator[str]:
        for raw in iter_lines(path):
            counter["n"] += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                bad_lines.add(counter["n"])
                text = raw.decode("utf-8", "replace")
            yield text + "\n"

    reader = csv.DictReader(decoded())
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        yield 1, ReadError("csv", f"invalid CSV header: {exc}", fatal=True), None
        return
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    missing = [c for c in columns if c not in header]
    if missing:
        yield (
            1,
            ReadError(
                missing[0], f"CSV header has no column {missing[0]!r} (columns: {', '.join(header)})", fatal=True
            ),
            None,
        )
        return
    previous_end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield previous_end + 1, ReadError("csv", f"invalid CSV: {exc}", fatal=True), None
            return
        start, previous_end = previous_end + 1, reader.line_num
        if bad_lines and any(n in bad_lines for n in range(start, previous_end + 1)):
            yield start, ReadError("encoding", "invalid UTF-8", row), None
            continue
        if None in row:
            row = dict(row)
            extra = row.pop(None)
            yield start, ReadError("csv", f"{len(extra)} more values than header columns", row), None
            continue
        yield start, row, None


def iter_examples(location: Any, backend: str | None = None) -> Iterator[dict[str, Any]]:
    """Stream the examples of a staged (normalized) JSONL file, e.g. a report's ``train_uri``.

    ``location`` is a URI, local path or ``ObjectStoragePath``. With ``backend`` the examples are converted
    to that backend's format (see :func:`gemini_tuning.datasets.formats.to_backend`).
    """
    from gemini_tuning.datasets.formats import to_backend

    for line in iter_lines(as_path(location)):
        if line.strip():
            example = json.loads(line)
            yield to_backend(example, backend) if backend else example
