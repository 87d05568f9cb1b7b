from __future__ import annotations

import json
import os

import fsspec
import pytest

from gemini_tuning.datasets.engine import Options, char_stats, validate_dataset
from gemini_tuning.datasets.errors import DatasetUsageError, DatasetValidationError
from tests.dataset_helpers import pairs, write_jsonl


def bad_rows():
    return ["not json", json.dumps({"text_input": "", "output": "x"}), json.dumps({"text_input": "a"})]


def test_fail_mode_reports_everything_and_stages_nothing(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [*pairs(25), *bad_rows()])
    report = validate_dataset(str(src), Options(), staging_uri=str(tmp_path / "stage"))
    assert not report["ok"]
    assert (report["total"], report["valid"], report["rejected"]) == (28, 25, 3)
    assert report["problem_count"] == 3
    assert [(p["line"], p["field"]) for p in report["problems"]] == [(26, "json"), (27, "text_input"), (28, "output")]
    assert report["training_dataset_uri"] is None and report["staging_dir"] is None
    assert [p.name for p in (tmp_path / "stage").iterdir()] == ["rejects"]  # only the rejects, to look at
    assert report["rejects_uri"].startswith(f"file://{tmp_path}/stage/rejects/rejects-")
    with pytest.raises(DatasetValidationError) as exc:
        raise DatasetValidationError(report)
    assert "3 problem(s); 3 of 28 examples rejected" in str(exc.value)
    assert f"{src}:26: json: invalid JSON: Expecting value (column 1)" in str(exc.value)


def test_skip_mode_writes_rejects_and_accounts_for_every_row(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [*pairs(25), *bad_rows()])
    options = Options(on_invalid="skip", max_rejected_fraction=0.2)
    report = validate_dataset(str(src), options, staging_uri=f"file://{tmp_path}/stage")
    assert report["ok"]
    assert report["valid"] + report["rejected"] == report["total"] == 28
    assert report["train_count"] == 25 and report["validation_dataset_uri"] is None
    rejects = [json.loads(line) for line in open(report["rejects_uri"][len("file://") :])]
    assert [r["line"] for r in rejects] == [26, 27, 28]
    assert rejects[0] == {
        "line": 26,
        "problems": [{"field": "json", "message": "invalid JSON: Expecting value (column 1)"}],
        "record": "not json",
    }
    assert rejects[2]["record"] == {"text_input": "a"}
    train = [json.loads(line) for line in open(report["training_dataset_uri"][len("file://") :])]
    assert train == pairs(25)


def test_max_reported_problems_and_callback():
    seen = []
    rows = [{"text_input": "", "output": "x" * n} for n in range(1, 31)]
    report = validate_dataset(rows, Options(max_reported_problems=3), on_problem=seen.append)
    assert len(report["problems"]) == 3 and report["problem_count"] == 31  # 30 rows + dataset
    assert [(p.line, p.field) for p in seen] == [(n, "text_input") for n in range(1, 6)] + [(0, "dataset")]


def test_split_is_deterministic_and_seeded(tmp_path):
    data = pairs(400)
    a = validate_dataset(data, Options(validation_fraction=0.25, seed=1), staging_uri=str(tmp_path / "a"))
    b = validate_dataset(
        list(reversed(data)), Options(validation_fraction=0.25, seed=1), staging_uri=str(tmp_path / "b")
    )
    c = validate_dataset(data, Options(validation_fraction=0.25, seed=2), staging_uri=str(tmp_path / "c"))

    def val_set(report):
        return {json.loads(line)["text_input"] for line in open(report["validation_dataset_uri"][7:])}

    assert val_set(a) == val_set(b)  # per-example decision: independent of order
    assert val_set(a) != val_set(c)
    assert 60 < a["validation_count"] < 140 and a["train_count"] + a["validation_count"] == 400
    again = validate_dataset(data, Options(validation_fraction=0.25, seed=1))
    assert (again["train_count"], again["validation_count"]) == (a["train_count"], a["validation_count"])


def test_duplicates_conflicts_and_deduplicate():
    data = pairs(30) + [
        {"text_input": "q 1", "output": "answer 1"},
        {"text_input": " q 2 ", "output": "answer 2"},
        {"text_input": "q 3", "output": "other"},
    ]
    report = validate_dataset(data)
    assert (report["duplicates"], report["conflicting_outputs"], report["train_count"]) == (2, 1, 33)
    assert (
        "2 duplicate example(s) (same input and output as an earlier one), kept; pass deduplicate=True to drop them"
        in report["warnings"]
    )
    assert "1 example(s) repeat an earlier input with a different output" in report["warnings"]
    report = validate_dataset(data, Options(deduplicate=True))
    assert (report["duplicates"], report["deduplicated"], report["train_count"], report["valid"]) == (2, 2, 31, 33)


def test_prompt_template_is_applied_and_recorded(tmp_path):
    rows = [{"question": f"q{i}", "context": f"c{i}", "answer": f"a{i}"} for i in range(20)]
    t = "question: {question}\ncontext: {context}"
    report = validate_dataset(rows, Options(prompt_template=t, output_column="answer"), staging_uri=str(tmp_path))
    first = json.loads(open(report["training_dataset_uri"][7:]).readline())
    assert first == {"text_input": "question: q0\ncontext: c0", "output": "a0"}
    assert report["prompt_template"] == t
    vertex = validate_dataset(
        rows, Options(backend="vertex_ai", prompt_template=t, output_column="answer"), staging_uri=str(tmp_path)
    )
    assert (
        json.loads(open(vertex["training_dataset_uri"][7:]).readline())["contents"][0]["parts"][0]["text"]
        == "question: q0\ncontext: c0"
    )


def test_template_on_vertex_records_uses_text_input(tmp_path):
    rec = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "yo"}]}]}
    report = validate_dataset(
        [rec], Options(backend="vertex_ai", prompt_template="Q: {text_input}"), staging_uri=str(tmp_path)
    )
    assert json.loads(open(report["training_dataset_uri"][7:]).readline())["contents"][0]["parts"] == [
        {"text": "Q: hi"}
    ]


def test_missing_template_placeholder_and_bad_template():
    report = validate_dataset(pairs(20), Options(prompt_template="question: {question}"))
    assert report["problems"][0] == {
        "path": "<inline>",
        "line": 1,
        "field": "question",
        "message": "missing field required by prompt_template placeholder {question}",
    }
    with pytest.raises(DatasetUsageError, match="invalid prompt_template"):
        validate_dataset(pairs(20), Options(prompt_template="oops {"))


def test_csv_with_column_mapping(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("q,a\n" + "".join(f"question {i},answer {i}\n" for i in range(20)) + ",empty\n")
    report = validate_dataset(
        str(path), Options(input_column="q", output_column="a", on_invalid="skip"), staging_uri=str(tmp_path / "s")
    )
    assert (report["format"], report["valid"], report["rejected"]) == ("csv", 20, 1)
    assert report["problems"][0]["line"] == 22 and report["problems"][0]["field"] == "q"
    assert json.loads(open(report["training_dataset_uri"][7:]).readline()) == {
        "text_input": "question 0",
        "output": "answer 0",
    }
    report = validate_dataset(str(path), Options(input_column="prompt"))
    assert report["problems"][0]["message"] == "CSV header has no column 'prompt' (columns: q, a)"


def test_json_array_source_and_vertex_conversion(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(pairs(20), indent=2))
    report = validate_dataset(str(path), Options(backend="vertex_ai"), staging_uri=str(tmp_path / "s"))
    assert report["ok"] and report["format"] == "json" and report["train_count"] == 20
    first = json.loads(open(report["training_dataset_uri"][7:]).readline())
    assert first == {
        "contents": [{"role": "user", "parts": [{"text": "q 0"}]}, {"role": "model", "parts": [{"text": "answer 0"}]}]
    }


def test_vertex_source_to_gemini_round_trip(tmp_path):
    vertex = validate_dataset(pairs(20), Options(backend="vertex_ai"), staging_uri=str(tmp_path / "v"))
    back = validate_dataset(
        vertex["training_dataset_uri"], Options(backend="gemini_api"), staging_uri=str(tmp_path / "g")
    )
    assert [json.loads(line) for line in open(back["training_dataset_uri"][7:])] == pairs(20)


def test_memory_source_and_staging_are_content_addressed():
    fs = fsspec.filesystem("memory")
    fs.pipe("/src/data.jsonl", "".join(json.dumps(p) + "\n" for p in pairs(30)).encode())
    first = validate_dataset("memory://src/data.jsonl", Options(validation_fraction=0.2), staging_uri="memory://stage")
    assert first["staged"] and first["sha256"][:16] in first["training_dataset_uri"]
    assert first["training_dataset_uri"] == f"memory://stage/{first['sha256'][:16]}/train.jsonl"
    second = validate_dataset("memory://src/data.jsonl", Options(validation_fraction=0.2), staging_uri="memory://stage")
    assert not second["staged"] and second["sha256"] == first["sha256"]
    other = validate_dataset(
        "memory://src/data.jsonl", Options(validation_fraction=0.2, seed=9), staging_uri="memory://stage"
    )
    assert other["sha256"] != first["sha256"]


def test_rerun_writes_nothing_new(tmp_path):
    stage = tmp_path / "stage"
    validate_dataset(pairs(30), Options(validation_fraction=0.3), staging_uri=str(stage))
    files = sorted(p for p in stage.rglob("*") if p.is_file())
    mtimes = {p: os.stat(p).st_mtime_ns for p in files}
    report = validate_dataset(pairs(30), Options(validation_fraction=0.3), staging_uri=str(stage))
    assert not report["staged"]
    assert {p: os.stat(p).st_mtime_ns for p in stage.rglob("*") if p.is_file()} == mtimes


def test_report_is_json_safe_with_stats():
    report = validate_dataset([{"text_input": "x" * n, "output": "y"} for n in range(1, 101)])
    json.dumps(report)
    assert report["input_chars"] == {"min": 1, "median": 50, "p95": 95, "max": 100}
    assert report["output_chars"] == {"min": 1, "median": 1, "p95": 1, "max": 1}
    for key in (
        "backend",
        "format",
        "source",
        "total",
        "valid",
        "rejected",
        "duplicates",
        "conflicting_outputs",
        "train_count",
        "validation_count",
        "training_dataset_uri",
        "validation_dataset_uri",
        "rejects_uri",
        "sha256",
        "prompt_template",
        "input_chars",
        "output_chars",
        "warnings",
        "problems",
    ):
        assert key in report


def test_char_stats_empty():
    assert char_stats({}) == {"min": None, "median": None, "p95": None, "max": None}


def test_gemini_inline_limit_through_engine():
    rows = [{"text_input": "x" * 39_000, "output": "y" * 4_000} for _ in range(100)]
    for i, row in enumerate(rows):
        row["text_input"] += str(i)
    report = validate_dataset(rows)
    assert not report["ok"] and "the Gemini API inline upload limit is 4 MB (4,000,000 bytes)" in report["errors"][0]


def test_option_errors():
    for options, message in [
        (Options(backend="x"), "unknown backend"),
        (Options(on_invalid="ignore"), "on_invalid"),
        (Options(validation_fraction=1.0), "validation_fraction"),
    ]:
        with pytest.raises(DatasetUsageError, match=message):
            validate_dataset(pairs(20), options)


def test_control_characters_via_json_escapes(tmp_path):
    src = write_jsonl(
        tmp_path / "d.jsonl",
        [*pairs(20), '{"text_input": "a\\u0001", "output": "\\b"}', '{"text_input": "caf\\u00e9", "output": "ok"}'],
    )
    report = validate_dataset(str(src), Options(on_invalid="skip"))
    assert [(p["line"], p["field"], p["message"]) for p in report["problems"]] == [
        (21, "text_input", "contains control character U+0001 at character 2"),
        (21, "output", "contains control character U+0008 at character 1"),
    ]
    assert report["valid"] == 21


def test_json_array_syntax_error_refuses_the_dataset_even_with_skip(tmp_path):
    """Issue 10: 80 elements, a syntax error in the 41st; the unread half is never passed off as the dataset."""
    elements = [json.dumps(p) for p in pairs(80)]
    elements[40] = '{"text_input": "q 40", "output": "answer 40",}'
    path = tmp_path / "d.json"
    path.write_text("[\n" + ",\n".join(elements) + "\n]\n")
    report = validate_dataset(str(path), Options(on_invalid="skip", max_rejected_fraction=1.0))
    assert not report["ok"]
    assert (report["total"], report["valid"], report["rejected"]) == (41, 40, 1)
    assert report["valid"] + report["rejected"] == report["total"]
    assert report["errors"] == [
        "reading stopped at line 42: nothing after it was read or counted, so the dataset is refused whatever "
        "on_invalid says; fix the file there"
    ]
    assert report["problems"][0]["line"] == 42 and report["problems"][0]["field"] == "json"


def test_rejected_fraction_above_the_limit_is_refused():
    rows = [*pairs(95), *[{"text_input": "", "output": "x"}] * 6]
    report = validate_dataset(rows, Options(on_invalid="skip"))
    assert not report["ok"] and report["rejected_fraction"] == round(6 / 101, 6)
    assert "6 of 101 examples rejected (5.9%), more than max_rejected_fraction=0.05" in report["errors"][0]
    assert validate_dataset(rows[:100], Options(on_invalid="skip"))["ok"]  # 5 of 100 is not above 5%
    with pytest.raises(DatasetUsageError, match="max_rejected_fraction must be in"):
        validate_dataset(rows, Options(max_rejected_fraction=1.5))


def test_a_systematic_problem_is_listed_five_times_then_counted():
    report = validate_dataset([{"text_input": f"q {i}", "answer": "a"} for i in range(300)])
    assert report["problem_count"] == 301
    assert [p["line"] for p in report["problems"]] == [1, 2, 3, 4, 5, 0]
    assert report["repeated_problems"] == [
        {
            "field": "output",
            "message": "the same problem as line 1 on 295 more line(s), not listed: missing field",
            "count": 295,
        }
    ]
    message = str(DatasetValidationError(report))
    assert message.splitlines()[-1] == (
        "  <inline>: output: the same problem as line 1 on 295 more line(s), not listed: missing field"
    )


@pytest.mark.parametrize(
    "source",
    [
        {"examples": pairs(25)},
        json.dumps({"examples": pairs(25)}),
        str({"examples": pairs(25)}),  # what "{{ ti.xcom_pull(...) }}" renders a dict to
        str(pairs(25)),
    ],
)
def test_sdk_and_rendered_shapes_are_accepted(source):
    report = validate_dataset(source)
    assert report["ok"] and report["total"] == 25 and report["source"] == "<inline>"


def test_sdk_objects_and_gcs_uri(tmp_path):
    from google.genai import types

    src = write_jsonl(tmp_path / "d.jsonl", pairs(25))
    assert validate_dataset({"gcs_uri": str(src)})["source"] == str(src)
    assert validate_dataset(types.TuningDataset(gcs_uri=str(src)))["total"] == 25
    examples = [types.TuningExample(text_input=p["text_input"], output=p["output"]) for p in pairs(25)]
    assert validate_dataset(types.TuningDataset(examples=examples))["valid"] == 25
    with pytest.raises(DatasetUsageError, match=r"is a dict with keys foo; expected a path or URI"):
        validate_dataset({"foo": 1})
