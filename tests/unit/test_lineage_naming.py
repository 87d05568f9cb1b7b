"""OpenLineage dataset naming: files by the OpenLineage convention, models by service namespace."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from openlineage.client.serde import Serde

from gemini_tuning import lineage


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("gs://bucket/datasets/abc/train.jsonl", ("gs://bucket", "datasets/abc/train.jsonl")),
        ("s3://bucket/tickets.jsonl", ("s3://bucket", "tickets.jsonl")),
        ("file:///tmp/staging/train.jsonl", ("file", "/tmp/staging/train.jsonl")),
        ("file:///tmp/with%20space.jsonl", ("file", "/tmp/with space.jsonl")),
        ("/tmp/plain/path.csv", ("file", "/tmp/plain/path.csv")),
        ("gs://bucket", ("gs://bucket", "/")),
    ],
)
def test_storage_naming_follows_openlineage(location, expected):
    assert lineage.storage_name(location) == expected


def test_object_storage_path_is_named_like_its_uri():
    from airflow.sdk import ObjectStoragePath

    assert lineage.storage_name(ObjectStoragePath("file:///tmp/x/train.jsonl")) == ("file", "/tmp/x/train.jsonl")


@pytest.mark.parametrize(
    ("model", "context", "expected"),
    [
        ("tunedModels/tune-abc", None, ("gemini://generativelanguage", "tunedModels/tune-abc")),
        (
            "models/gemini-1.5-flash-001-tuning",
            None,
            ("gemini://generativelanguage", "models/gemini-1.5-flash-001-tuning"),
        ),
        (
            "gemini-1.5-flash-001-tuning",
            "tunedModels/tune-abc",
            ("gemini://generativelanguage", "models/gemini-1.5-flash-001-tuning"),
        ),
        (
            "projects/p1/locations/europe-west4/models/123@1",
            None,
            ("vertexai://p1/europe-west4", "projects/p1/locations/europe-west4/models/123@1"),
        ),
        (
            "gemini-2.0-flash-001",
            "projects/p1/locations/us-central1/tuningJobs/9",
            ("vertexai://p1/us-central1", "publishers/google/models/gemini-2.0-flash-001"),
        ),
    ],
)
def test_models_are_named_by_service_namespace(model, context, expected):
    assert lineage.model_name(model, context) == expected


def test_staged_schema_per_format():
    gemini = [f.name for f in lineage.staged_schema("gemini_api").fields]
    vertex = {f.name: f for f in lineage.staged_schema("vertex_ai").fields}
    assert gemini == ["text_input", "output"]
    assert [f.name for f in vertex["contents"].fields] == ["role", "parts"]
    assert vertex["contents"].fields[1].fields[0].name == "text"


def _custom_facet_schema(name: str) -> dict:
    schema = json.loads(resources.files("gemini_tuning").joinpath("lineage_facets.json").read_text())
    return schema["$defs"][name]["allOf"][1]  # [0] is the OpenLineage base facet (a remote $ref)


@pytest.mark.parametrize(
    "facet",
    [
        lineage.GeminiTuningDatasetValidationFacet(total=3, valid=2, rejected=1, duplicates=0, backend="gemini_api"),
        lineage.GeminiTuningJobRunFacet(
            jobName="tunedModels/x",
            backend="gemini_api",
            baseModel="models/m",
            state="JOB_STATE_SUCCEEDED",
            hyperparameters={"epoch_count": 5, "learning_rate": 0.001},
        ),
        lineage.GeminiTuningEvaluationRunFacet(
            model="tunedModels/x",
            baselineModel=None,
            examples=4,
            failed=0,
            metrics={"exact_match": {"tuned": 1.0, "baseline": None, "delta": None}},
            gatesPassed=True,
        ),
    ],
    ids=lambda facet: type(facet).__name__,
)
def test_custom_facets_match_their_shipped_json_schema(facet):
    document = json.loads(Serde.to_json(facet))
    jsonschema.validate(document, _custom_facet_schema(type(facet).__name__))
    assert document["_schemaURL"].endswith(f"lineage_facets.json#/$defs/{type(facet).__name__}")
