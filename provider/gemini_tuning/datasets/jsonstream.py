"""A ``.json`` dataset read element by element: a top-level array, or the SDK's ``{"examples": [...]}``.

Values are decoded with ``JSONDecoder.raw_decode`` over 1 MiB chunks, so nothing holds the whole file. A syntax
error or invalid UTF-8 is fatal: the rest of an array cannot be trusted after it, and the engine refuses the
dataset rather than count half of it. JSON Lines saved as ``.json`` gets one message that says so.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import IO, Any

from gemini_tuning.datasets.readers import ReadError, encoding_error, misnamed
from gemini_tuning.datasets.storage import CHUNK_SIZE

MAX_JSON_ELEMENT_CHARS = 64 << 20
SDK_KEYS = ("examples", "gcs_uri", "vertex_dataset_resource")  # google.genai types.TuningDataset


class Fatal(Exception):
    def __init__(self, line: int, error: Any):
        self.line, self.error = line, error


def invalid(message: str, raw: Any = None) -> Any:
    return ReadError("json", f"invalid JSON: {message}", raw, fatal=True)


def read_json(f: IO[bytes]) -> Iterator[tuple[int, Any, None]]:
    """Yield ``(line, element, None)`` for each element of the dataset array; a fatal ReadError ends it."""
    stream = _Stream(f)
    try:
        if not stream.skip_ws():
            raise Fatal(1, invalid("the file is empty; expected a top-level array '['"))
        if stream.peek() == "[":
            yield from stream.array()
        elif stream.peek() == "{":
            yield from _sdk_object(stream)
        else:
            raise Fatal(stream.line_at(stream.pos), invalid("expected a top-level array '['"))
        if stream.skip_ws():
            raise Fatal(stream.line_at(stream.pos), invalid(f"unexpected {stream.peek()!r} after the dataset"))
    except Fatal as fatal:
        yield fatal.line, fatal.error, None


def _sdk_object(stream: _Stream) -> Iterator[tuple[int, Any, None]]:
    """``{"examples": [...]}`` (other ``TuningDataset`` keys must be null); any other object is JSON Lines."""
    stream.pos += 1
    found = False
    while stream.skip_ws() and stream.peek() != "}":
        if found or stream.peek() == ",":
            stream.expect(",")
            stream.skip_ws()
        line = stream.line_at(stream.pos)
        key = stream.value()
        if key not in SDK_KEYS:
            raise Fatal(1, misnamed("JSON Lines (one object per line)", "a JSON array", "jsonl"))
        stream.skip_ws()
        stream.expect(":")
        stream.skip_ws()
        if key == "examples":
            if stream.peek() != "[":
                raise Fatal(line, invalid('"examples" must be an array'))
            yield from stream.array()
        elif stream.value() is not None:
            raise Fatal(line, invalid(f'{{"{key}": ...}} refers to another dataset: pass that URI instead'))
        found = True
    if not stream.skip_ws():
        raise Fatal(stream.line_at(stream.pos), invalid("unterminated object"))
    stream.pos += 1


class _Stream:
    """A decoded window over the file; ``pos`` indexes ``buf``; ``line_at`` counts newlines up to an index."""

    def __init__(self, f: IO[bytes]):
        self.f = f
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.decoder = json.JSONDecoder()
        self.buf, self.pos, self.eof = "", 0, False
        self.line, self.counted, self.offset = 1, 0, 0

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.f.read(CHUNK_SIZE)
        pending = len(self.utf8.getstate()[0])  # bytes of a character split across chunks
        try:
            text = self.utf8.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            message = encoding_error(exc, self.offset - pending)
            raise Fatal(self.line_at(len(self.buf)), ReadError("encoding", message, fatal=True)) from None
        if not self.offset and text.startswith("\ufeff"):  # a UTF-8 byte-order mark
            text = text[1:]
        self.offset += len(chunk)
        self.eof = not chunk
        self.line += self.buf.count("\n", self.counted, self.pos)
        self.buf, self.counted, self.pos = self.buf[self.pos :] + text, 0, 0
        return True

    def peek(self) -> str:
        return self.buf[self.pos]

    def skip_ws(self) -> bool:
        """Advance past whitespace; False at end of input."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return True
            if not self.more():
                return False

    def expect(self, char: str) -> None:
        if not self.skip_ws():
            raise Fatal(self.line_at(self.pos), invalid(f"expected {char!r}, got the end of the file"))
        if self.peek() != char:
            raise Fatal(self.line_at(self.pos), invalid(f"expected {char!r}, got {self.peek()!r}"))
        self.pos += 1

    def line_at(self, index: int) -> int:
        self.line += self.buf.count("\n", self.counted, index)
        self.counted = index
        return self.line

    def value(self) -> Any:
        """Decode the value at ``pos`` (reading more as needed) and move past it."""
        start = self.pos
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, start)
                if end < len(self.buf) or self.eof:
                    break
            except json.JSONDecodeError as exc:
                if self.eof or len(self.buf) - start > MAX_JSON_ELEMENT_CHARS:
                    line = self.line_at(start) + self.buf.count("\n", start, exc.pos)
                    raise Fatal(line, invalid(exc.msg, self.buf[start : exc.pos + 1][-200:])) from None
            offset = start - self.pos
            self.more()
            start = self.pos + offset
        self.pos = end
        return value

    def array(self) -> Iterator[tuple[int, Any, None]]:
        """The elements of the array starting at ``pos``, each with the line where it starts."""
        self.pos += 1
        first = True
        while True:
            if not self.skip_ws():
                raise Fatal(self.line_at(self.pos), invalid("unterminated array"))
            if self.peek() == "]":
                self.pos += 1
                return
            if not first:
                self.expect(",")
                if not self.skip_ws():
                    raise Fatal(self.line_at(self.pos), invalid("unterminated array"))
            line = self.line_at(self.pos)
            yield line, self.value(), None
            first = False
