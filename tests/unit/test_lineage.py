"""What each operator reports to OpenLineage, from its arguments and its XCom contract."""

from __future__ import annotations

import json

import pytest

from gemini_tuning import lineage
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.operators.dataset import ValidateTuningDatasetOperator

REPORT = {
    "ok": True,
    "backend": "vertex_ai",
    "format": "jsonl",
    "source": "s3://raw/tickets.jsonl",
    "total": 10,
    "valid": 8,
    "rejected": 2,
    "duplicates": 1,
    "deduplicated": 1,
    "conflicting_outputs": 0,
    "problem_count": 2,
    "max_rejected_fraction": 0.5,
    "training_dataset_uri": "file:///staging/abc/train.jsonl",
    "validation_dataset_uri": "file:///staging/abc/validation.jsonl",
    "rejects_uri": "file:///staging/abc/rejects.jsonl",
    "train_count": 6,
    "validation_count": 1,
    "train_bytes": 600,
    "validation_bytes": 100,
    "sha256": "abc",
}
UPLOAD = {
    "backend": "vertex_ai",
    "training_dataset_uri": "gs://bucket/datasets/abc/train.jsonl",
    "validation_dataset_uri": "gs://bucket/datasets/abc/validation.jsonl",
    "train_count": 6,
    "validation_count": 1,
    "sha256": "abc",
    "uploaded": True,
}
JOB = "projects/p1/locations/us-central1/tuningJobs/42"
SUMMARY = {
    "job_name": JOB,
    "backend": "vertex_ai",
    "state": "JOB_STATE_SUCCEEDED",
    "model": "projects/p1/locations/us-central1/endpoints/7",
    "tuned_model": "projects/p1/locations/us-central1/models/9@1",
    "endpoint": "projects/p1/locations/us-central1/endpoints/7",
    "base_model": "gemini-2.0-flash-001",
    "hyperparameters": {"epoch_count": 5, "learning_rate_multiplier": 1.0},
    "example_count": 6,
    "recommended_epoch_count": 3,
    "duration_seconds": 12.5,
}
EVALUATION = {
    "model": SUMMARY["model"],
    "baseline_model": "gemini-2.0-flash-001",
    "dataset": UPLOAD["validation_dataset_uri"],
    "examples": 1,
    "succeeded": 1,
    "failed": 0,
    "failed_fraction": 0.0,
    "metrics": {"exact_match": {"tuned": 1.0, "baseline": 0.0, "delta": 1.0}},
    "primary_metric": "exact_match",
    "gates": {
        "passed": False,
        "reasons": ["exact_match: tuned 1.0000 does not improve on baseline 1.0000"],
        "checks": [
            {
                "gate": "min_score",
                "metric": "exact_match",
                "value": 1.0,
                "threshold": 0.8,
                "passed": True,
                "message": "ok",
            },
            {"gate": "max_failed_fraction", "value": 0.0, "threshold": 0.0, "passed": True, "message": "ok"},
        ],
    },
    "results_uri": "gs://bucket/evaluations/run/results.jsonl",
    "report_uri": "gs://bucket/evaluations/run/report.md",
}


def names(datasets):
    return [(d.namespace, d.name) for d in datasets]


def test_validate_reports_source_quality_and_staged_outputs():
    result = lineage.validation_lineage("s3://raw/tickets.jsonl", REPORT)
    [source] = result.inputs
    assert (source.namespace, source.name) == ("s3://raw", "tickets.jsonl")
    quality = source.inputFacets["geminiTuningDatasetValidation"]
    assert (quality.total, quality.valid, quality.rejected, quality.duplicates) == (10, 8, 2, 1)
    assert source.inputFacets["dataQualityMetrics"].rowCount == 10
    assert names(result.outputs) == [
        ("file", "/staging/abc/train.jsonl"),
        ("file", "/staging/abc/validation.jsonl"),
        ("file", "/staging/abc/rejects.jsonl"),
    ]
    train = result.outputs[0]
    assert [f.name for f in train.facets["schema"].fields] == ["systemInstruction", "contents"]
    assert train.outputFacets["outputStatistics"].rowCount == 6 and train.outputFacets["outputStatistics"].size == 600
    assert result.outputs[2].outputFacets["outputStatistics"].rowCount == 2


def test_validate_on_start_knows_the_source_only_and_inline_rows_are_no_dataset():
    assert names(lineage.validation_lineage("gs://raw/t.csv").inputs) == [("gs://raw", "t.csv")]
    assert lineage.validation_lineage([{"text_input": "a", "output": "b"}]).inputs == []
    assert names(lineage.validation_lineage({"gcs_uri": "gs://raw/t.jsonl"}).inputs) == [("gs://raw", "t.jsonl")]
    assert lineage.validation_lineage([{"text_input": "a"}], {**REPORT, "source": "<inline>"}).inputs == []


def test_upload_reads_the_staged_files_and_writes_the_copies():
    result = lineage.upload_lineage(REPORT, UPLOAD)
    assert names(result.inputs) == [("file", "/staging/abc/train.jsonl"), ("file", "/staging/abc/validation.jsonl")]
    assert names(result.outputs) == [
        ("gs://bucket", "datasets/abc/train.jsonl"),
        ("gs://bucket", "datasets/abc/validation.jsonl"),
    ]
    assert result.outputs[0].outputFacets["outputStatistics"].rowCount == 6


def test_upload_in_place_has_no_outputs():
    in_place = {**UPLOAD, **{k: REPORT[k] for k in ("training_dataset_uri", "validation_dataset_uri")}}
    assert lineage.upload_lineage(REPORT, in_place).outputs == []


def test_tune_reads_data_and_base_model_and_writes_the_tuned_model():
    result = lineage.tuning_lineage(UPLOAD, summary={**SUMMARY, **UPLOAD})
    assert names(result.inputs) == [
        ("gs://bucket", "datasets/abc/train.jsonl"),
        ("gs://bucket", "datasets/abc/validation.jsonl"),
        ("vertexai://p1/us-central1", "publishers/google/models/gemini-2.0-flash-001"),
    ]
    assert result.inputs[0].facets["schema"].fields[1].name == "contents"
    assert names(result.outputs) == [("vertexai://p1/us-central1", "projects/p1/locations/us-central1/models/9@1")]
    facet = result.run_facets["geminiTuningJob"]
    assert (facet.jobName, facet.state, facet.baseModel) == (JOB, "JOB_STATE_SUCCEEDED", "gemini-2.0-flash-001")
    assert facet.hyperparameters == {"epoch_count": 5, "learning_rate_multiplier": 1.0}
    assert facet.recommendedEpochCount == 3


def test_tune_on_start_names_the_data_it_was_given():
    assert names(lineage.tuning_lineage(UPLOAD).inputs) == names(lineage.upload_lineage(REPORT, UPLOAD).outputs)
    plain = lineage.tuning_lineage("gs://b/train.jsonl", validation_dataset="gs://b/val.jsonl")
    assert names(plain.inputs) == [("gs://b", "train.jsonl"), ("gs://b", "val.jsonl")]
    assert lineage.tuning_lineage([{"text_input": "a", "output": "b"}]).inputs == []


def test_on_the_gemini_api_the_held_out_file_is_no_tuning_input():
    staged = {**UPLOAD, "backend": "gemini_api"}
    summary = {**SUMMARY, **staged, "job_name": "tunedModels/t-1", "tuned_model": "tunedModels/t-1"}
    for result in (lineage.tuning_lineage(staged), lineage.tuning_lineage(staged, summary=summary)):
        assert ("gs://bucket", "datasets/abc/validation.jsonl") not in names(result.inputs)


def test_tune_that_failed_reports_the_job_state_and_no_model():
    from gemini_tuning.models import JobState, TuningJob

    job = TuningJob(name="tunedModels/t-1", backend="gemini_api", state=JobState.FAILED, base_model="models/m")
    result = lineage.tuning_lineage("file:///s/train.jsonl", job=job)
    assert result.outputs == []
    assert names(result.inputs) == [("file", "/s/train.jsonl"), ("gemini://generativelanguage", "models/m")]
    assert result.run_facets["geminiTuningJob"].state == "JOB_STATE_FAILED"


def test_evaluate_reads_the_tuned_model_with_gate_assertions_and_writes_the_report():
    result = lineage.evaluation_lineage(SUMMARY, UPLOAD, "gemini-2.0-flash-001", EVALUATION)
    assert names(result.inputs) == [
        ("vertexai://p1/us-central1", SUMMARY["tuned_model"]),  # the tuning task's output: the graph connects
        ("gs://bucket", "datasets/abc/validation.jsonl"),
        ("vertexai://p1/us-central1", "publishers/google/models/gemini-2.0-flash-001"),
    ]
    assertions = result.inputs[0].inputFacets["dataQualityAssertions"].assertions
    assert [(a.assertion, a.column, a.success, a.expected) for a in assertions] == [
        ("min_score", "exact_match", True, "0.8"),
        ("max_failed_fraction", None, True, "0.0"),
    ]
    assert names(result.outputs) == [
        ("gs://bucket", "evaluations/run/report.md"),
        ("gs://bucket", "evaluations/run/results.jsonl"),
    ]
    facet = result.run_facets["geminiTuningEvaluation"]
    assert facet.metrics["exact_match"] == {"tuned": 1.0, "baseline": 0.0, "delta": 1.0}
    assert facet.gatesPassed is False and facet.gateReasons == EVALUATION["gates"]["reasons"]


def test_evaluate_on_start_and_with_a_plain_model_name():
    result = lineage.evaluation_lineage("tunedModels/t-1", "file:///held/out.jsonl", None)
    assert names(result.inputs) == [("gemini://generativelanguage", "tunedModels/t-1"), ("file", "/held/out.jsonl")]
    assert lineage.evaluation_lineage("tunedModels/t-1", [{"text_input": "a", "output": "b"}], None).outputs == []


def test_operators_report_through_their_openlineage_methods(tmp_path):
    """The methods are one-liners over this module; a refused dataset still reports its counts."""
    source = tmp_path / "tickets.jsonl"
    rows = [{"text_input": f"q{i}", "output": f"a{i}"} for i in range(30)] + [{"text_input": "no answer"}] * 5
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    op = ValidateTuningDatasetOperator(
        task_id="validate", source=str(source), backend="gemini_api", staging_uri=f"file://{tmp_path}/staging"
    )
    assert names(op.get_openlineage_facets_on_start().inputs) == [("file", str(source))]
    with pytest.raises(InvalidInputError):
        op.execute({})
    refused = op.get_openlineage_facets_on_complete(None).inputs[0].inputFacets["geminiTuningDatasetValidation"]
    assert (refused.total, refused.valid, refused.rejected) == (35, 30, 5)
