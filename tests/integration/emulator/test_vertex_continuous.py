"""Continuous tuning on Vertex: a tuning job that starts from a tuned model (``preTunedModel``).

Without a new display name the result is the next version (``…/models/ID@2``) of the same model;
with one, a new model. Driven by google-genai, whose ``tunings.tune(base_model="projects/…")``
sends ``preTunedModel``.
"""

from __future__ import annotations

import json

import httpx
import pytest
from google.genai import errors, types

from tests.integration.emulator.conftest import vertex_client, write_vertex_jsonl

TRAIN = "gs://bucket/train.jsonl"
MORE = "gs://bucket/more.jsonl"
LOC = "projects/p/locations/us-central1"
NEW = [(f"What is {i} times two?", f"{2 * i}") for i in range(8)]


@pytest.fixture
def more(gcs_root):
    write_vertex_jsonl(gcs_root / "bucket" / "more.jsonl", NEW)


def _tune(vertex, clock, base: str, uri: str = TRAIN, **config):
    job = vertex.tunings.tune(
        base_model=base,
        training_dataset=types.TuningDataset(gcs_uri=uri),
        config=types.CreateTuningJobConfig(epoch_count=2, **config),
    )
    clock.advance(60)
    done = vertex.tunings.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED, done.error
    return done


def test_without_display_name_the_result_is_the_next_version(server, vertex, vhttp, clock, more):
    first = _tune(vertex, clock, "gemini-2.0-flash-001", tuned_model_display_name="adder")
    model = first.tuned_model.model.split("@")[0]
    assert first.tuned_model.model == f"{model}@1"
    sent: list[httpx.Request] = []
    second = _tune(vertex_client(server, sent), clock, first.tuned_model.model, uri=MORE)
    body = json.loads(sent[0].content)
    assert set(body["preTunedModel"].values()) == {first.tuned_model.model}  # the SDK's preTunedModel
    assert "baseModel" not in body and second.base_model is None
    assert second.pre_tuned_model.tuned_model_name == first.tuned_model.model
    assert second.pre_tuned_model.base_model == "gemini-2.0-flash-001"
    assert second.tuned_model.model == f"{model}@2"
    assert second.tuned_model_display_name == "adder"  # a new version keeps the model's display name
    latest = vertex.models.get(model=model)
    assert (latest.name, latest.version, latest.display_name) == (model, "2", "adder")
    assert vhttp.get(f"/v1beta1/{model}@default").json()["versionId"] == "2"
    older = vhttp.get(f"/v1beta1/{model}@1").json()
    assert older["versionId"] == "1" and "versionAliases" not in older
    versions = vhttp.get(f"/v1beta1/{model}:listVersions").json()["models"]
    assert [(v["versionId"], v.get("versionAliases")) for v in versions] == [("1", None), ("2", ["default"])]
    assert [m["versionId"] for m in vhttp.get(f"/v1beta1/{LOC}/models").json()["models"]] == ["2"]
    # Version 2 knows last week's data and this week's.
    endpoint = second.tuned_model.endpoint
    assert vertex.models.generate_content(model=endpoint, contents="What is 3 plus one?").text == "4"
    assert vertex.models.generate_content(model=endpoint, contents="What is 3 times two?").text == "6"
    assert second.tuning_data_stats.supervised_tuning_data_stats.tuning_dataset_example_count == len(NEW)


def test_with_a_display_name_the_result_is_a_new_model(vertex, clock, more):
    first = _tune(vertex, clock, "gemini-2.0-flash-001", tuned_model_display_name="adder")
    other = _tune(vertex, clock, first.tuned_model.model, uri=MORE, tuned_model_display_name="multiplier")
    assert other.tuned_model.model.endswith("@1")
    assert other.tuned_model.model.split("@")[0] != first.tuned_model.model.split("@")[0]
    assert vertex.models.get(model=other.tuned_model.model).display_name == "multiplier"
    assert vertex.models.get(model=first.tuned_model.model.split("@")[0]).version == "1"


def test_from_a_checkpoint(vertex, vhttp, clock, more):
    first = _tune(vertex, clock, "gemini-2.0-flash-001")
    second = _tune(vertex, clock, first.tuned_model.model, uri=MORE, pre_tuned_model_checkpoint_id="1")
    assert second.pre_tuned_model.checkpoint_id == "1"
    third = _tune(vertex, clock, first.tuned_model.model.split("@")[0], uri=MORE)  # no version: the default one
    assert third.tuned_model.model.endswith("@3")
    with pytest.raises(errors.ClientError) as exc:
        vertex.tunings.tune(
            base_model=first.tuned_model.model,
            training_dataset=types.TuningDataset(gcs_uri=MORE),
            config=types.CreateTuningJobConfig(pre_tuned_model_checkpoint_id="7"),
        )
    assert exc.value.code == 400 and exc.value.status == "INVALID_ARGUMENT" and "'7'" in exc.value.message


@pytest.mark.parametrize(
    "pre, code, fragment",
    [
        ({"tunedModelName": f"{LOC}/models/404"}, 404, "preTunedModel.tunedModelName"),
        ({"tunedModelName": "projects/q/locations/europe-west4/models/1"}, 400, "is not a Model in"),
        ({"checkpointId": "1"}, 400, "preTunedModel.tunedModelName is required"),
    ],
)
def test_bad_pre_tuned_model(vhttp, pre, code, fragment):
    body = {"preTunedModel": pre, "supervisedTuningSpec": {"trainingDatasetUri": TRAIN}}
    r = vhttp.post(f"/v1beta1/{LOC}/tuningJobs", json=body)
    assert r.status_code == code and fragment in r.json()["error"]["message"]


def test_base_model_and_pre_tuned_model_are_a_oneof(vhttp):
    body = {
        "baseModel": "gemini-2.0-flash-001",
        "preTunedModel": {"tunedModelName": f"{LOC}/models/1"},
        "supervisedTuningSpec": {"trainingDatasetUri": TRAIN},
    }
    r = vhttp.post(f"/v1beta1/{LOC}/tuningJobs", json=body)
    assert r.status_code == 400 and "mutually exclusive" in r.json()["error"]["message"]


def _undeploy_all(vhttp, job) -> None:
    for checkpoint in job.tuned_model.checkpoints:
        deployed = vhttp.get(f"/v1beta1/{checkpoint.endpoint}").json()["deployedModels"][0]["id"]
        vhttp.post(f"/v1beta1/{checkpoint.endpoint}:undeployModel", json={"deployedModelId": deployed})


def test_deleting_versions(server, vertex, vhttp, clock, more):
    first = _tune(vertex, clock, "gemini-2.0-flash-001")
    second = _tune(vertex, clock, first.tuned_model.model, uri=MORE)
    model = first.tuned_model.model.split("@")[0]
    r = vhttp.delete(f"/v1beta1/{model}")  # the whole model: every version's endpoints are named
    endpoints = [c.endpoint for job in (first, second) for c in job.tuned_model.checkpoints]
    assert r.status_code == 400 and all(e in r.json()["error"]["message"] for e in endpoints)
    _undeploy_all(vhttp, first)
    assert vhttp.delete(f"/v1beta1/{model}@1").json()["done"] is True
    assert vhttp.get(f"/v1beta1/{model}@1").status_code == 404
    assert vertex.models.get(model=model).version == "2"
    _undeploy_all(vhttp, second)
    assert vhttp.delete(f"/v1beta1/{model}").json()["done"] is True
    assert vhttp.get(f"/v1beta1/{model}@2").status_code == 404
    assert server.stats()["vertex_live"]["model_versions"] == 0
    # Version ids are never reused: continuing a deleted model is refused.
    r = vhttp.post(
        f"/v1beta1/{LOC}/tuningJobs",
        json={"preTunedModel": {"tunedModelName": model}, "supervisedTuningSpec": {"trainingDatasetUri": MORE}},
    )
    assert r.status_code == 404
