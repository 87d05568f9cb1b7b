"""Dataset resolution and the prompt-template rule."""

from __future__ import annotations

import json

import pytest

from gemini_tuning.contracts.dataset import UploadResult
from gemini_tuning.evaluation.examples import EvaluationDatasetError, resolve_dataset
from gemini_tuning.evaluation.inputs import read_model
from gemini_tuning.exceptions import InvalidInputError

JOB = {"job_name": "tunedModels/t", "backend": "gemini_api", "state": "JOB_STATE_SUCCEEDED", "model": "tunedModels/t"}


def staged(validation_dataset_uri, prompt_template, **fields):
    """An upload result, as UploadTuningDatasetOperator returns it."""
    return UploadResult(
        backend="gemini_api",
        training_dataset_uri="file:///staging/train.jsonl",
        train_count=8,
        sha256="0" * 64,
        validation_dataset_uri=validation_dataset_uri,
        prompt_template=prompt_template,
        **fields,
    ).to_xcom()


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_staged_dict_is_used_as_is(tmp_path):
    path = write_jsonl(tmp_path / "validation.jsonl", [{"text_input": "Ticket: refund please", "output": "billing"}])
    data = resolve_dataset(staged(path.as_uri(), "Ticket: {text}"))
    assert [(e.input, e.expected, e.line) for e in data.examples] == [("Ticket: refund please", "billing", 1)]
    assert data.prompt_template == "Ticket: {text}" and not data.template_applied
    upload = staged(str(path), "Ticket: {text}")
    assert resolve_dataset(upload, prompt_template="Ticket: {text}").examples == data.examples  # same template: fine
    assert resolve_dataset(str(upload)).examples == data.examples  # the repr a rendered template gives


def test_staged_dict_rejects_a_different_template(tmp_path):
    path = write_jsonl(tmp_path / "validation.jsonl", [{"text_input": "x", "output": "y"}])
    with pytest.raises(EvaluationDatasetError, match="already formatted"):
        resolve_dataset(staged(str(path), None), prompt_template="Q: {text_input}")


def test_dict_without_validation_file():
    with pytest.raises(EvaluationDatasetError, match="names no validation file"):
        resolve_dataset(staged(None, None))


def test_raw_list_gets_the_template_like_training():
    rows = [{"text": "refund please", "output": "billing"}, {"text": "app crashes", "output": "bug"}]
    data = resolve_dataset(rows, prompt_template="Ticket: {text}\nCategory:")
    assert [e.input for e in data.examples] == ["Ticket: refund please\nCategory:", "Ticket: app crashes\nCategory:"]
    assert data.template_applied and data.source == "<inline>" and data.total == 2


def test_raw_uri_takes_the_template_recorded_with_the_job(tmp_path):
    raw = write_jsonl(tmp_path / "holdout.jsonl", [{"text": "refund", "output": "billing"}])
    job = read_model({**JOB, "prompt_template": "T: {text}", "validation_dataset_uri": "file:///elsewhere.jsonl"})
    assert resolve_dataset(str(raw), model=job).examples[0].input == "T: refund"


def test_the_jobs_own_staged_uri_is_not_templated_again(tmp_path):
    staged = write_jsonl(tmp_path / "validation.jsonl", [{"text_input": "T: refund", "output": "billing"}])
    job = read_model({**JOB, "prompt_template": "T: {text_input}", "validation_dataset_uri": staged.as_uri()})
    assert resolve_dataset(staged.as_uri(), model=job).examples[0].input == "T: refund"


def test_template_problems_name_the_line():
    with pytest.raises(EvaluationDatasetError, match=r"<inline> line 2: text: missing field"):
        resolve_dataset([{"text": "a", "output": "b"}, {"output": "c"}], prompt_template="{text}")


def test_vertex_contents_and_system_instruction(tmp_path):
    rows = [
        {
            "systemInstruction": {"parts": [{"text": "Classify."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "refund"}]},
                {"role": "model", "parts": [{"text": "billing"}]},
            ],
        }
    ]
    (example,) = resolve_dataset(rows).examples
    assert (example.input, example.expected, example.system_instruction) == ("refund", "billing", "Classify.")


def test_non_text_parts_are_kept_for_the_limits_check():
    rows = [
        {
            "contents": [
                {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": ""}}]},
                {"role": "model", "parts": [{"text": "cat"}]},
            ]
        }
    ]
    assert resolve_dataset(rows).examples[0].non_text == ("inlineData",)


def test_multi_turn_and_malformed_records_fail_with_lines(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text(
        '{"text_input": "a", "output": "b"}\nnot json\n{"contents": [{"role": "user", "parts": [{"text": "a"}]}]}\n'
    )
    with pytest.raises(EvaluationDatasetError) as err:
        resolve_dataset(str(path))
    assert "line 2: json: invalid JSON" in str(err.value)
    assert "line 3: only single-turn" in str(err.value)


def test_max_examples_keeps_the_first_ones_in_order():
    rows = [{"text_input": str(i), "output": str(i)} for i in range(10)]
    data = resolve_dataset(rows, max_examples=3)
    assert [e.input for e in data.examples] == ["0", "1", "2"] and [e.index for e in data.examples] == [0, 1, 2]
    assert data.total == 10


def test_csv_and_json_text(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("question,output\nwhat is 2+2,4\n")
    assert resolve_dataset(str(path), prompt_template="Q: {question}").examples[0].input == "Q: what is 2+2"
    assert resolve_dataset('[{"text_input": "a", "output": "b"}]').examples[0].input == "a"


def test_empty_and_missing():
    with pytest.raises(EvaluationDatasetError, match="no such file"):
        resolve_dataset("/nonexistent/v.jsonl")
    with pytest.raises(EvaluationDatasetError, match="holds no examples"):
        resolve_dataset([])
    with pytest.raises(EvaluationDatasetError, match="unsupported dataset"):
        resolve_dataset(42)


def test_dataset_errors_are_bad_input_not_retried():
    with pytest.raises(InvalidInputError, match="holds no examples"):
        resolve_dataset([])
    with pytest.raises(
        InvalidInputError, match="`dataset` is not a valid staged dataset .*: training_dataset_uri: Field required"
    ):
        resolve_dataset({"validation_dataset_uri": "file:///v.jsonl", "backend": "gemini_api"})
