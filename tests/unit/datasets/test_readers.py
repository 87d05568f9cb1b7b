from __future__ import annotations

import json

import fsspec
import pytest

from gemini_tuning.datasets import iter_examples, readers
from gemini_tuning.datasets.errors import DatasetUsageError
from gemini_tuning.datasets.readers import infer_format, read_records


def collect(source, fmt, **kw):
    return [(line, item) for line, item, _ in read_records(source, fmt, **kw)]


def test_jsonl_line_numbers_blank_lines_and_errors(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"a": 2}\r\nnot json\n\xff\xfe{"a": 3}\n{"a": 4}')
    rows = collect(str(path), "jsonl")
    assert [line for line, _ in rows] == [1, 3, 4, 5, 6]
    assert rows[0][1] == {"a": 1} and rows[1][1] == {"a": 2} and rows[4][1] == {"a": 4}
    assert rows[2][1].field == "json" and "Expecting value (column 1)" in rows[2][1].message
    assert rows[3][1].field == "encoding"
    assert rows[3][1].message == "invalid UTF-8 at byte offset 29 (0xFF): invalid start byte; re-save the file as UTF-8"


def test_jsonl_across_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK_SIZE", 7)
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"i": i, "s": "é" * i}) + "\n" for i in range(50)), encoding="utf-8")
    rows = collect(str(path), "jsonl")
    assert [item["i"] for _, item in rows] == list(range(50))
    assert [line for line, _ in rows] == list(range(1, 51))


@pytest.mark.parametrize("chunk", [3, 16, 1 << 20])
def test_json_array_streams_with_line_numbers(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(readers, "CHUNK_SIZE", chunk)
    path = tmp_path / "d.json"
    path.write_text('[\n  {"i": 0},\n  {"i": 1, "s": "a\\nb"},\n\n  {"i": 22345}, 7\n]\n', encoding="utf-8")
    rows = collect(str(path), "json")
    assert rows == [(2, {"i": 0}), (3, {"i": 1, "s": "a\nb"}), (5, {"i": 22345}), (5, 7)]


def test_json_array_empty_and_errors(tmp_path):
    (tmp_path / "e.json").write_text(" [ ] ")
    assert collect(str(tmp_path / "e.json"), "json") == []
    (tmp_path / "bad.json").write_text('[\n{"i": 0},\n{"i": 1,,}\n]')
    rows = collect(str(tmp_path / "bad.json"), "json")
    assert rows[0] == (2, {"i": 0})
    line, err = rows[1]
    assert line == 3 and err.field == "json" and err.fatal and "invalid JSON" in err.message
    (tmp_path / "num.json").write_text("\n 7")
    [(line, err)] = collect(str(tmp_path / "num.json"), "json")
    assert (line, err.message, err.fatal) == (2, "invalid JSON: expected a top-level array '['", True)
    (tmp_path / "open.json").write_text('[{"i": 0},')
    assert collect(str(tmp_path / "open.json"), "json")[-1][1].message == "invalid JSON: unterminated array"


def test_csv_mapping_multiline_and_bad_rows(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(
        b'\xef\xbb\xbfq,a,extra\none,two,x\n"multi\nline",ans,y\nbad\xff,z,1\ntoo,many,values,here\nshort\n'
    )
    rows = collect(str(path), "csv", columns=["q", "a"])
    assert rows[0] == (2, {"q": "one", "a": "two", "extra": "x"})
    assert rows[1] == (3, {"q": "multi\nline", "a": "ans", "extra": "y"})
    assert rows[2][0] == 5 and rows[2][1].field == "encoding"
    assert rows[3][0] == 6 and "more values than header columns" in rows[3][1].message
    assert rows[4] == (7, {"q": "short", "a": None, "extra": None})


def test_csv_missing_column_is_fatal(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("question,answer\nx,y\n")
    [(line, err)] = collect(str(path), "csv", columns=["prompt"])
    assert line == 1 and err.field == "prompt" and err.fatal
    assert err.message == "CSV header has no column 'prompt' (columns: question, answer)"


def test_inline_records():
    assert collect([{"a": 1}, "x"], "inline") == [(1, {"a": 1}), (2, "x")]


def test_memory_and_file_uris(tmp_path):
    fs = fsspec.filesystem("memory")
    fs.pipe("/bucket/data.jsonl", b'{"text_input": "a", "output": "b"}\n')
    assert collect("memory://bucket/data.jsonl", "jsonl") == [(1, {"text_input": "a", "output": "b"})]
    (tmp_path / "f.jsonl").write_text('{"x": 1}\n')
    assert collect(f"file://{tmp_path}/f.jsonl", "jsonl") == [(1, {"x": 1})]


def test_infer_format_and_usage_errors(tmp_path):
    assert infer_format("a/b.JSONL") == "jsonl"
    assert infer_format("gs://b/x.ndjson") == "jsonl"
    assert infer_format("x.json") == "json"
    assert infer_format("x.csv") == "csv"
    assert infer_format([{}]) == "inline"
    assert infer_format("x.txt", "csv") == "csv"
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(DatasetUsageError, match="cannot infer the format"):
        infer_format(str(tmp_path / "x.txt"))
    with pytest.raises(DatasetUsageError, match="x.txt: no such file"):
        infer_format("x.txt")
    with pytest.raises(DatasetUsageError, match="is a directory; pass a file"):
        infer_format(str(tmp_path))
    with pytest.raises(DatasetUsageError, match="unknown format 'xml'"):
        infer_format("x.json", "xml")
    with pytest.raises(DatasetUsageError, match="no such file"):
        read_records(str(tmp_path / "missing.jsonl"), "jsonl")


def test_iter_examples_streams_staged_files(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text_input": "a", "output": "b"}\n\n{"text_input": "c", "output": "d"}\n')
    assert list(iter_examples(str(path))) == [{"text_input": "a", "output": "b"}, {"text_input": "c", "output": "d"}]
    vertex = list(iter_examples(f"file://{path}", "vertex_ai"))
    assert vertex[1]["contents"][1] == {"role": "model", "parts": [{"text": "d"}]}


def test_jsonl_with_a_utf8_byte_order_mark(tmp_path):
    path = tmp_path / "windows.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n{"a": 2}\r\n')
    assert collect(str(path), "jsonl") == [(1, {"a": 1}), (2, {"a": 2})]
    (tmp_path / "bom.json").write_bytes(b'\xef\xbb\xbf[{"a": 1}]')
    assert collect(str(tmp_path / "bom.json"), "json") == [(1, {"a": 1})]
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfq,a\nx,y\n")
    assert collect(str(tmp_path / "bom.csv"), "csv", columns=["q"]) == [(2, {"q": "x", "a": "y"})]


@pytest.mark.parametrize("text, first_line", [('[\n  {"a": 1},\n  {"a": 2}\n]\n', 1), ('\n[{"a": 1}, {"a": 2}]\n', 2)])
def test_a_json_array_saved_as_jsonl_gets_one_message(tmp_path, text, first_line):
    (tmp_path / "d.jsonl").write_text(text)
    [(line, err)] = collect(str(tmp_path / "d.jsonl"), "jsonl")
    assert (err.field, err.fatal) == ("format", True)
    assert err.message == "this file holds a JSON array, not JSON Lines: rename it to .json or pass format='json'"
    assert line == first_line


def test_jsonl_saved_as_json_gets_one_message(tmp_path):
    (tmp_path / "d.json").write_text('{"text_input": "a", "output": "b"}\n{"text_input": "c", "output": "d"}\n')
    [(line, err)] = collect(str(tmp_path / "d.json"), "json")
    assert (line, err.field, err.fatal) == (1, "format", True)
    assert err.message == (
        "this file holds JSON Lines (one object per line), not a JSON array: rename it to .jsonl or pass format='jsonl'"
    )


def test_sdk_examples_object_is_read_element_by_element(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK_SIZE", 5)
    monkeypatch.setattr("gemini_tuning.datasets.jsonstream.CHUNK_SIZE", 5)
    (tmp_path / "sdk.json").write_text(
        '{"gcs_uri": null,\n "examples": [\n  {"text_input": "a", "output": "b"},\n  {"text_input": "c", "output": "d"}\n ]}'
    )
    assert collect(str(tmp_path / "sdk.json"), "json") == [
        (3, {"text_input": "a", "output": "b"}),
        (4, {"text_input": "c", "output": "d"}),
    ]
    (tmp_path / "ref.json").write_text('{"gcs_uri": "gs://b/train.jsonl"}')
    [(_, err)] = collect(str(tmp_path / "ref.json"), "json")
    assert (
        err.fatal and err.message == 'invalid JSON: {"gcs_uri": ...} refers to another dataset: pass that URI instead'
    )


def test_invalid_utf8_names_the_byte_offset_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr("gemini_tuning.datasets.jsonstream.CHUNK_SIZE", 4)
    data = b'[{"a": "ok"},\n {"a": "caf' + b"\xe9" + b'"}]'
    (tmp_path / "d.json").write_bytes(data)
    rows = collect(str(tmp_path / "d.json"), "json")
    line, err = rows[-1]
    assert (line, err.field, err.fatal) == (2, "encoding", True)
    offset = data.index(b"\xe9")
    assert (
        err.message
        == f"invalid UTF-8 at byte offset {offset} (0xE9): invalid continuation byte; re-save the file as UTF-8"
    )
    (tmp_path / "d.csv").write_bytes(b"q,a\nok,fine\ncaf\xe9,x\n")
    _, (line, err) = collect(str(tmp_path / "d.csv"), "csv")
    assert (line, err.field) == (3, "encoding")
    assert err.message == "invalid UTF-8 at byte offset 15 (0xE9): invalid continuation byte; re-save the file as UTF-8"


@pytest.mark.parametrize(
    "body, expected",
    [
        # an unterminated quote closed by the next row's opening quote: strict quoting catches it
        (
            '"My order is late,shipping\n"Card charged twice",billing\nok,account\n',
            [(2, "csv"), (3, {"q": "Card charged twice", "a": "billing"}), (4, {"q": "ok", "a": "account"})],
        ),
        # a quote that never closes: reported where it opens, the rows after it are read again
        (
            'fine,billing\n"never closed,shipping\nnext,account\n',
            [(2, {"q": "fine", "a": "billing"}), (3, "csv"), (4, {"q": "next", "a": "account"})],
        ),
    ],
)
def test_csv_broken_quote_is_reported_where_the_record_starts_and_rows_are_not_merged(tmp_path, body, expected):
    (tmp_path / "d.csv").write_text("q,a\n" + body)
    rows = collect(str(tmp_path / "d.csv"), "csv", columns=["q", "a"])
    got = [(line, item.field if isinstance(item, readers.ReadError) else item) for line, item in rows]
    assert got == expected
    error = next(item for _, item in rows if isinstance(item, readers.ReadError))
    assert error.message.startswith("invalid CSV quoting in the record starting here: ") and not error.fatal


def test_csv_multiline_fields_are_kept_with_a_warning(tmp_path):
    (tmp_path / "d.csv").write_text('q,a\n"two\nlines",x\nok,y\n')
    warnings = []
    rows = [(line, item) for line, item, _ in read_records(str(tmp_path / "d.csv"), "csv", warnings=warnings)]
    assert rows == [(2, {"q": "two\nlines", "a": "x"}), (4, {"q": "ok", "a": "y"})]
    assert warnings == [
        "1 CSV record(s) have line breaks inside a quoted field (the first at line 2); "
        "if that is not intended, a closing quote is missing there"
    ]
