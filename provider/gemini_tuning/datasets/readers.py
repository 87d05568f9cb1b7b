"""Streaming readers: inline lists, JSONL, JSON arrays and CSV from any local path or ObjectStoragePath URI.

Every reader yields ``(line, item, raw)``: ``line`` is the 1-based line where the record starts in the source
(the list index + 1 for inline data), ``item`` the parsed record or a :class:`ReadError`, ``raw`` the source
bytes of a JSONL line (``None`` for other formats; the engine uses it for cheap checks and sizes). Files are read
in 1 MiB chunks; nothing holds the whole file. A :class:`ReadError` with ``fatal`` set is the last item: nothing
after it can be trusted, and the engine refuses the dataset.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from gemini_tuning.datasets.storage import CHUNK_SIZE, as_path, open_source, usage_error

FORMATS = ("jsonl", "json", "csv", "inline")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
BOM = b"\xef\xbb\xbf"
MAX_RECORD_LINES = 10_000  # a quoted CSV field spanning more lines than this is a missing closing quote

Record = tuple[int, Any, Any]


@dataclass(frozen=True, slots=True)
class ReadError:
    """A record that could not be parsed. ``raw`` is the offending text (for the rejects file)."""

    field: str
    message: str
    raw: Any = None
    fatal: bool = False  # nothing after it can be read (JSON array syntax error, missing CSV column)


def misnamed(found: str, expected: str, fmt: str) -> ReadError:
    """The one problem for a file in the other JSON format (``.jsonl`` holding an array, or the reverse)."""
    suffix = ".json" if fmt == "json" else ".jsonl"
    return ReadError(
        "format",
        f"this file holds {found}, not {expected}: rename it to {suffix} or pass format={fmt!r}",
        fatal=True,
    )


def infer_format(source: Any, format: str | None = None) -> str:
    """``format`` if given, ``inline`` for a list, else from the file suffix."""
    if format is not None:
        if format not in FORMATS:
            raise usage_error(f"unknown format {format!r}; expected one of jsonl, json, csv")
        return format
    if isinstance(source, (list, tuple)):
        return "inline"
    path = as_path(source)
    suffix = path.suffix.lower()
    try:
        return _SUFFIXES[suffix]
    except KeyError:
        open_source(source).close()  # a missing file or a directory says so
        raise usage_error(
            f"cannot infer the format of {source} from its suffix {suffix!r}; pass format= jsonl, json or csv"
        ) from None


def read_records(
    source: Any, format: str, *, columns: Iterable[str] = (), warnings: list[str] | None = None
) -> Iterator[Record]:
    """Dispatch to the reader for ``format``; the file is opened here, so a usage error comes before any record.

    ``columns`` are the CSV columns that must exist; ``warnings`` collects the readers' notes on the file.
    """
    if format == "inline":
        return read_inline(source)
    if format not in ("jsonl", "json", "csv"):
        raise usage_error(f"unknown format {format!r}; expected one of jsonl, json, csv")
    f = open_source(source)
    if format == "jsonl":
        return _closing(read_jsonl(f), f)
    if format == "json":
        from gemini_tuning.datasets.jsonstream import read_json

        return _closing(read_json(f), f)
    return _closing(read_csv(f, columns=columns, warnings=warnings if warnings is not None else []), f)


def _closing(records: Iterator[Record], f: IO[bytes]) -> Iterator[Record]:
    try:
        yield from records
    except OSError as exc:  # a network file that fails half-way
        raise usage_error(f"reading failed: {exc}") from None
    finally:
        f.close()


def read_inline(records: Iterable[Any]) -> Iterator[Record]:
    for number, record in enumerate(records, start=1):
        yield number, record, None


def text_lines(f: IO[bytes]) -> tuple[int, Iterator[bytes]]:
    """``(offset of the first line, raw lines)`` of a binary file: a leading UTF-8 BOM is skipped."""
    head = f.read(len(BOM))
    skip = len(BOM) if head == BOM else 0
    return skip, iter_lines(f, head[skip:])


def iter_lines(f: IO[bytes], head: bytes = b"") -> Iterator[bytes]:
    """Raw lines (without the newline) of a binary file, read in chunks; ``head`` was read before."""
    tail = head
    while chunk := f.read(CHUNK_SIZE):
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        yield from lines
    if tail:
        yield tail


def encoding_error(exc: UnicodeDecodeError, offset: int) -> str:
    """``invalid UTF-8 at byte offset N (0xE9): ...; re-save the file as UTF-8`` (``offset`` of ``exc.object``)."""
    bad = exc.object[exc.start : exc.start + 1].hex().upper()
    return f"invalid UTF-8 at byte offset {offset + exc.start:,} (0x{bad}): {exc.reason}; re-save the file as UTF-8"


def read_jsonl(f: IO[bytes]) -> Iterator[Record]:
    """JSON Lines; blank lines are skipped (they are not records) but still counted for line numbers.

    A file whose first record opens a JSON array is refused with one message (it is a ``.json`` file).
    """
    offset, raw_lines = text_lines(f)
    lines: Iterator[tuple[int, bytes]] = enumerate(raw_lines, start=1)
    for number, line in lines:
        if line.strip():
            if _is_json_array(line):
                yield number, misnamed("a JSON array", "JSON Lines", "json"), None
                return
            lines = itertools.chain([(number, line)], lines)
            break
        offset += len(line) + 1
    loads = json.loads
    for number, line in lines:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, ReadError("encoding", encoding_error(exc, offset), line.decode("utf-8", "replace")), None
            offset += len(line) + 1
            continue
        offset += len(line) + 1
        try:
            yield number, loads(text), line
        except ValueError as exc:
            if text.strip():
                yield (
                    number,
                    ReadError("json", f"invalid JSON: {exc.msg} (column {exc.colno})", text.rstrip("\r")),
                    None,
                )


def _is_json_array(line: bytes) -> bool:
    """A first line that opens an array: ``[`` alone (pretty-printed) or a one-line array of objects."""
    if not line.lstrip().startswith(b"["):
        return False
    try:
        value = json.loads(line)
    except ValueError:
        return True
    return all(type(item) is dict for item in value)


def read_csv(f: IO[bytes], *, columns: Iterable[str] = (), warnings: list[str]) -> Iterator[Record]:
    """CSV with a header row; each row is a dict keyed by column name, ``line`` is where the record starts.

    Quoting is strict: a stray or unterminated quote rejects the record at its first line, and reading resumes
    on the next line, so rows are never merged into one. Records whose quoted fields span lines get a warning
    (a missing closing quote can look like that).
    """
    lines = CsvLines(f)
    reader = csv.reader(lines.next_record(), strict=True)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        yield 1, ReadError("csv", f"invalid CSV header: {exc}", fatal=True), None
        return
    lines.record_done()
    missing = [c for c in columns if c not in header]
    if missing:
        found = ", ".join(header)
        yield 1, ReadError(missing[0], f"CSV header has no column {missing[0]!r} (columns: {found})", fatal=True), None
        return
    yield from _csv_rows(lines, reader, header)
    if lines.multiline:
        warnings.append(
            f"{lines.multiline} CSV record(s) have line breaks inside a quoted field (the first at line "
            f"{lines.first_multiline}); if that is not intended, a closing quote is missing there"
        )


def _csv_rows(lines: CsvLines, reader: Any, header: list[str]) -> Iterator[Record]:
    width = len(header)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start, text = lines.restart()
            reader = csv.reader(lines.next_record(), strict=True)
            yield start, ReadError("csv", f"invalid CSV quoting in the record starting here: {exc}", text), None
            continue
        start, bad = lines.record_done()
        if not row:
            continue
        if bad is not None:
            yield start, ReadError("encoding", bad, dict(zip(header, row))), None
        elif len(row) > width:
            yield start, ReadError("csv", f"{len(row) - width} more values than header columns", row), None
        else:
            yield start, dict(zip(header, row + [None] * (width - len(row)))), None


class CsvLines:
    """Decoded lines for :mod:`csv`, remembering the lines of the record being read.

    ``csv.reader`` pulls exactly one record's lines before returning it, so after each row (or error)
    the remembered lines are that record's. :meth:`restart` replays all but the first after a quoting error.
    """

    def __init__(self, f: IO[bytes]):
        self._offset, raw = text_lines(f)
        self._raw = enumerate(raw, start=1)
        self._replay: list[tuple[int, str, str | None]] = []
        self._record: list[tuple[int, str, str | None]] = []
        self.multiline = 0
        self.first_multiline: int | None = None

    def next_record(self) -> Iterator[str]:
        while True:
            item = self._replay.pop() if self._replay else self._decode()
            if item is None:
                return
            self._record.append(item)
            if len(self._record) > MAX_RECORD_LINES:
                raise csv.Error(f"a quoted field runs over {MAX_RECORD_LINES:,} lines (missing closing quote?)")
            yield item[1]

    def _decode(self) -> tuple[int, str, str | None] | None:
        number, line = next(self._raw, (0, None))
        if line is None:
            return None
        bad = None
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad, text = encoding_error(exc, self._offset), line.decode("utf-8", "replace")
        self._offset += len(line) + 1
        return number, text + "\n", bad

    def record_done(self) -> tuple[int, str | None]:
        """The first line of the record just read and its first encoding problem; forget its lines."""
        record, self._record = self._record, []
        if len(record) > 1:
            self.multiline += 1
            self.first_multiline = self.first_multiline or record[0][0]
        return record[0][0], next((bad for _, _, bad in record if bad), None)

    def restart(self) -> tuple[int, str]:
        """After a quoting error: replay the record's lines but its first; return that line's number and text."""
        record, self._record = self._record, []
        self._replay.extend(reversed(record[1:]))
        return record[0][0], record[0][1].rstrip("\n")


def iter_examples(location: Any, backend: str | None = None) -> Iterator[dict[str, Any]]:
    """Stream the examples of a staged (normalized) JSONL file, e.g. a report's ``training_dataset_uri``.

    ``location`` is a URI, local path or ``ObjectStoragePath``. With ``backend`` the examples are converted
    to that backend's format (see :func:`gemini_tuning.datasets.formats.to_backend`).
    """
    from gemini_tuning.datasets.formats import to_backend

    with open_source(location) as f:
        for line in text_lines(f)[1]:
            if line.strip():
                example = json.loads(line)
                yield to_backend(example, backend) if backend else example
