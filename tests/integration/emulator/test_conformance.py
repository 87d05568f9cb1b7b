"""Wire conformance: emitted keys and enum values are the ones the official specs declare."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from google.genai import types

from gemini_tuning.emulator.gemini_api import resources as gemini_api
from tests.integration.emulator.conftest import STARTUP, STEP, create_tuned, wait_until

#: The official specs live next to the repository (``../shared/spec``); GEMINI_TUNING_SPECS overrides.
SPEC = Path(os.environ.get("GEMINI_TUNING_SPECS") or Path(__file__).resolve().parents[3].parent / "shared" / "spec")


@pytest.fixture(scope="module", autouse=True)
def _specs_present():
    """Fail, never skip, when the specs are missing: a silently skipped suite checks nothing."""
    if not (SPEC / "gemini-api").is_dir():
        pytest.fail(f"The official specs are missing at {SPEC}; check out ../shared or set GEMINI_TUNING_SPECS.")


@pytest.fixture(scope="module")
def schema():
    return json.loads((SPEC / "gemini-api/tuned-models-v1beta-wire-schema.json").read_text())["messages"]


def check_message(schema, message: str, value: dict, path: str = "") -> None:
    """Every key of ``value`` is a declared field of ``message``; recurse into known messages and enums."""
    spec = schema[message]
    for key, item in value.items():
        assert key in spec["fields"], f"{path}{key} is not a field of {message}"
        field = spec["fields"][key]
        items = item if field.get("repeated") else [item]
        for element in items:
            if field["type"] in schema:
                check_message(schema, field["type"], element, f"{path}{key}.")
            elif field["type"] in spec.get("enums", {}):
                assert element in spec["enums"][field["type"]], f"{path}{key}={element!r}"
            elif field["type"] == "google.protobuf.Timestamp":
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", element)
            elif field["type"] in ("int32", "float"):
                assert isinstance(element, (int, float)) and not isinstance(element, bool)


def check_operation(schema, op: dict) -> None:
    assert set(op) <= {"name", "metadata", "done", "response", "error"}
    assert not ("response" in op and "error" in op)
    meta = dict(op["metadata"])
    assert meta.pop("@type").endswith("v1beta.CreateTunedModelMetadata")
    check_message(schema, "CreateTunedModelMetadata", meta)
    if "response" in op:
        response = dict(op["response"])
        assert response.pop("@type") == "type.googleapis.com/google.ai.generativelanguage.v1beta.TunedModel"
        check_message(schema, "TunedModel", response)
    if "error" in op:
        assert set(op["error"]) <= {"code", "message", "details"} and isinstance(op["error"]["code"], int)


def test_gemini_resources_use_declared_fields(http, schema):
    op = create_tuned(http, epochCount=2).json()
    check_operation(schema, op)
    check_message(schema, "TunedModel", http.get("/v1beta/tunedModels/adder").json())
    done = wait_until(lambda: (o := http.get(f"/v1beta/{op['name']}").json())["done"] and o)
    check_operation(schema, done)
    model = http.get("/v1beta/tunedModels/adder").json()
    check_message(schema, "TunedModel", model)
    listed = http.get("/v1beta/tunedModels").json()
    check_message(schema, "ListTunedModelsResponse", listed)


def test_failed_and_cancelled_operations_conform(http, server, schema):
    server.set_faults(fail_jobs=True, fail_message="boom")
    op = create_tuned(http, model_id="failing", epochCount=1).json()
    done = wait_until(lambda: (o := http.get(f"/v1beta/{op['name']}").json())["done"] and o)
    check_operation(schema, done)
    assert done["error"]["message"] == "boom"
    check_message(schema, "TunedModel", http.get("/v1beta/tunedModels/failing").json())
    server.set_faults(fail_jobs=False)
    op = create_tuned(http, model_id="cancelled", epochCount=50).json()
    http.delete("/v1beta/tunedModels/cancelled")
    check_operation(schema, http.get(f"/v1beta/{op['name']}").json())


def test_input_field_tables_match_schema(schema):
    tables = {
        "TunedModel": gemini_api.TUNED_MODEL_FIELDS,
        "TuningTask": gemini_api.TUNING_TASK_FIELDS,
        "Hyperparameters": gemini_api.HYPERPARAMETER_FIELDS,
        "Dataset": gemini_api.DATASET_FIELDS,
        "TuningExamples": gemini_api.TUNING_EXAMPLES_FIELDS,
        "TuningExample": gemini_api.TUNING_EXAMPLE_FIELDS,
    }
    for message, fields in tables.items():
        assert fields == set(schema[message]["fields"]), message
    assert set(schema["TunedModel"]["fields"]) >= gemini_api.MUTABLE_FIELDS
    assert set(schema["Hyperparameters"]["oneofs"]["learningRateOption"]) == {"learningRate", "learningRateMultiplier"}


def _proto_fields(text: str, message: str) -> set[str]:
    """lowerCamelCase JSON names of a message's fields in a .proto file (top-level messages only)."""
    start = text.index(f"\nmessage {message} {{")
    body = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("}"):
            break
        body.append(line)
    names = set()
    for line in body:
        m = re.match(r"\s+(?:repeated |optional )?(?:map<[^>]+>|[\w.]+) (\w+) = \d+", line)
        if m:
            head, *rest = m.group(1).split("_")
            names.add(head + "".join(p.title() for p in rest))
    return names


def test_vertex_job_uses_declared_fields(vhttp, clock):
    text = (SPEC / "vertex-ai/tuning_job.proto").read_text()
    body = {
        "baseModel": "gemini-2.0-flash-001",
        "labels": {"a": "b"},
        "supervisedTuningSpec": {"trainingDatasetUri": "gs://bucket/train.jsonl", "hyperParameters": {"epochCount": 1}},
    }
    job = vhttp.post("/v1beta1/projects/p/locations/us-central1/tuningJobs", json=body).json()
    clock.advance(STARTUP + STEP / 2)
    running = vhttp.get(f"/v1beta1/{job['name']}").json()
    clock.advance(60)
    done = vhttp.get(f"/v1beta1/{job['name']}").json()
    assert done["state"] == "JOB_STATE_SUCCEEDED"
    # The detailed state and the job metadata are newer than the proto in the spec: google-genai 3.x declares them.
    newer = {"tuningJobState", "tuningJobMetadata"}
    assert {"tuning_job_state", "tuning_job_metadata"} <= set(types.TuningJob.model_fields)
    assert running["tuningJobState"] in {s.value for s in types.TuningJobState}
    assert set(done["tuningJobMetadata"]) <= {"completedEpochCount"}
    for resource in (job, running, done):
        assert set(resource) <= _proto_fields(text, "TuningJob") | newer
    assert set(done["tunedModel"]) <= _proto_fields(text, "TunedModel")
    assert set(done["supervisedTuningSpec"]) <= _proto_fields(text, "SupervisedTuningSpec")
    assert set(done["supervisedTuningSpec"]["hyperParameters"]) <= _proto_fields(text, "SupervisedHyperParameters")
    stats = done["tuningDataStats"]["supervisedTuningDataStats"]
    assert set(stats) <= _proto_fields(text, "SupervisedTuningDataStats")
    assert set(stats["userInputTokenDistribution"]) <= _proto_fields(text, "SupervisedTuningDatasetDistribution")
    assert done["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] in text


def test_error_shape_everywhere(http, vhttp):
    responses = [
        http.get("/v1beta/tunedModels/none"),
        http.post("/v1beta/tunedModels", content=b"{not json"),
        http.get("/v1beta/nothing/here"),
        vhttp.get("/v1beta1/projects/p/locations/l/tuningJobs/1"),
    ]
    for r in responses:
        body = r.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message", "status"}
        assert body["error"]["code"] == r.status_code
        assert body["error"]["status"] in {"INVALID_ARGUMENT", "NOT_FOUND"}


def _check(resource: dict, proto: str, message: str) -> None:
    declared = _proto_fields((SPEC / "vertex-ai" / proto).read_text(), message)
    assert set(resource) <= declared, f"{message}: {set(resource) - declared}"


def test_vertex_metrics_chain_uses_declared_fields(vhttp, clock):
    body = {
        "baseModel": "gemini-2.0-flash-001",
        "supervisedTuningSpec": {
            "trainingDatasetUri": "gs://bucket/train.jsonl",
            "validationDatasetUri": "gs://bucket/validation.jsonl",
        },
    }
    job = vhttp.post("/v1beta1/projects/p/locations/l/tuningJobs", json=body).json()
    clock.advance(60)
    experiment = vhttp.get(f"/v1beta1/{job['name']}").json()["experiment"]
    contexts = vhttp.get("/v1beta1/projects/p/locations/l/metadataStores/default/contexts").json()
    _check(contexts, "metadata_service.proto", "ListContextsResponse")
    for context in contexts["contexts"] + [vhttp.get(f"/v1beta1/{experiment}").json()]:
        _check(context, "context.proto", "Context")
    tensorboard = contexts["contexts"][0]["metadata"]["backing_tensorboard_resource"]
    _check(vhttp.get(f"/v1beta1/{tensorboard}").json(), "tensorboard.proto", "Tensorboard")
    experiments = vhttp.get(f"/v1beta1/{tensorboard}/experiments").json()
    _check(experiments, "tensorboard_service.proto", "ListTensorboardExperimentsResponse")
    _check(experiments["tensorboardExperiments"][0], "tensorboard_experiment.proto", "TensorboardExperiment")
    runs = vhttp.get(f"/v1beta1/{experiments['tensorboardExperiments'][0]['name']}/runs").json()
    _check(runs, "tensorboard_service.proto", "ListTensorboardRunsResponse")
    _check(runs["tensorboardRuns"][0], "tensorboard_run.proto", "TensorboardRun")
    series = vhttp.get(f"/v1beta1/{runs['tensorboardRuns'][0]['name']}/timeSeries").json()
    _check(series, "tensorboard_service.proto", "ListTensorboardTimeSeriesResponse")
    for ts in series["tensorboardTimeSeries"]:
        _check(ts, "tensorboard_time_series.proto", "TensorboardTimeSeries")
        assert ts["valueType"] in (SPEC / "vertex-ai/tensorboard_time_series.proto").read_text()
    read = vhttp.get(f"/v1beta1/{series['tensorboardTimeSeries'][0]['name']}:read").json()
    _check(read, "tensorboard_service.proto", "ReadTensorboardTimeSeriesDataResponse")
    _check(read["timeSeriesData"], "tensorboard_data.proto", "TimeSeriesData")
    _check(read["timeSeriesData"]["values"][0], "tensorboard_data.proto", "TimeSeriesDataPoint")
    _check(read["timeSeriesData"]["values"][0]["scalar"], "tensorboard_data.proto", "Scalar")
    names = [ts["name"] for ts in series["tensorboardTimeSeries"]]
    batch = vhttp.get(f"/v1beta1/{tensorboard}:batchRead", params={"timeSeries": names}).json()
    _check(batch, "tensorboard_service.proto", "BatchReadTensorboardTimeSeriesDataResponse")
