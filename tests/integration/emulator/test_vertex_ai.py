"""Vertex AI tuningJobs surface, driven by the real google-genai client (vertexai=True)."""

from __future__ import annotations

import httpx
import pytest
from google.genai import errors, types

from tests.integration.emulator.conftest import QA, wait_until

TRAIN = "gs://bucket/train.jsonl"
PARENT = "/v1beta1/projects/p/locations/us-central1"


def _tune(vertex, labels=None, epochs=2, **config):
    return vertex.tunings.tune(
        base_model="gemini-2.0-flash-001",
        training_dataset=types.TuningDataset(gcs_uri=TRAIN),
        config=types.CreateTuningJobConfig(
            epoch_count=epochs, tuned_model_display_name="adder", labels=labels or {}, **config
        ),
    )


def _finish(vertex, job):
    return wait_until(lambda: (j := vertex.tunings.get(name=job.name)).has_ended and j)


def test_tune_poll_and_use_endpoint(vertex):
    job = _tune(vertex, labels={"team": "ml"})
    assert job.name.startswith("projects/p/locations/us-central1/tuningJobs/")
    assert job.name.rsplit("/", 1)[1].isdigit()
    assert job.state == types.JobState.JOB_STATE_PENDING
    assert job.create_time is not None
    done = _finish(vertex, job)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.start_time and done.end_time and done.update_time
    assert done.tuned_model.model.endswith("@1") and "/models/" in done.tuned_model.model
    assert "/endpoints/" in done.tuned_model.endpoint
    stats = done.tuning_data_stats.supervised_tuning_data_stats
    assert stats.tuning_dataset_example_count == 12
    assert stats.tuning_step_count == 6  # ceil(12 / 4) * 2
    assert stats.total_tuning_character_count == sum(len(q) + len(a) for q, a in QA)
    assert stats.user_input_token_distribution.max >= stats.user_input_token_distribution.min
    assert done.supervised_tuning_spec.hyper_parameters.epoch_count == 2
    answer = vertex.models.generate_content(model=done.tuned_model.endpoint, contents="What is 3 plus one?")
    assert answer.text == "4"
    base = vertex.models.generate_content(model="gemini-2.0-flash-001", contents="What is 3 plus one?")
    assert base.text != "4"


def test_wire_int64_as_strings_and_no_loss_fields(vhttp):
    body = {
        "baseModel": "gemini-2.0-flash-001",
        "supervisedTuningSpec": {"trainingDatasetUri": TRAIN, "hyperParameters": {"epochCount": 1}},
    }
    job = vhttp.post(f"{PARENT}/tuningJobs", json=body).json()
    assert job["supervisedTuningSpec"]["hyperParameters"]["epochCount"] == "1"
    done = wait_until(
        lambda: (j := vhttp.get(f"/v1beta1/{job['name']}").json())["state"] == "JOB_STATE_SUCCEEDED" and j
    )
    assert done["tuningDataStats"]["supervisedTuningDataStats"]["tuningDatasetExampleCount"] == "12"
    text = str(done)
    assert "loss" not in text.lower() and "snapshots" not in done


def test_v1_serves_same_handlers(vhttp):
    body = {"baseModel": "gemini-2.0-flash-001", "supervisedTuningSpec": {"trainingDatasetUri": TRAIN}}
    r = vhttp.post("/v1/projects/p/locations/us-central1/tuningJobs", json=body)
    assert r.status_code == 200 and r.json()["state"] == "JOB_STATE_PENDING"
    assert vhttp.get(f"/v1/{r.json()['name']}").status_code == 200


def test_list_with_label_filter(vertex):
    a = _tune(vertex, labels={"team": "ml", "env": "dev"})
    b = _tune(vertex, labels={"team": "ml", "env": "prod"})
    _tune(vertex, labels={"team": "web"})
    names = lambda f: {j.name for j in vertex.tunings.list(config={"filter": f})}  # noqa: E731
    assert names('labels.team="ml"') == {a.name, b.name}
    assert names("labels.team=ml AND labels.env=prod") == {b.name}
    assert names('labels.env="none"') == set()
    assert len(names("")) == 3


def test_list_pagination_and_bad_filter(vhttp, vertex):
    for _ in range(5):
        _tune(vertex)
    first = vhttp.get(f"{PARENT}/tuningJobs", params={"pageSize": 2}).json()
    assert len(first["tuningJobs"]) == 2 and first["nextPageToken"]
    assert len(list(vertex.tunings.list(config={"page_size": 2}))) == 5
    bad = vhttp.get(f"{PARENT}/tuningJobs", params={"filter": "state=JOB_STATE_RUNNING OR x"})
    assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT"
    other = vhttp.get("/v1beta1/projects/other/locations/us-central1/tuningJobs").json()
    assert other == {}


def test_cancel_running_job(vertex, server):
    server.state.settings.cancel_seconds = 0.1
    try:
        job = _tune(vertex, epochs=200)
        wait_until(lambda: vertex.tunings.get(name=job.name).state == types.JobState.JOB_STATE_RUNNING)
        vertex.tunings.cancel(name=job.name)
        assert vertex.tunings.get(name=job.name).state == types.JobState.JOB_STATE_CANCELLING
        done = _finish(vertex, job)
    finally:
        server.state.settings.cancel_seconds = None
    assert done.state == types.JobState.JOB_STATE_CANCELLED
    assert done.error.code == 1 and done.end_time is not None and done.tuned_model is None
    assert server.stats()["cancels"]["vertex_ai"] == 1


def test_cancel_finished_job_is_failed_precondition(vertex):
    job = _finish(vertex, _tune(vertex, epochs=1))
    with pytest.raises(errors.ClientError) as exc:
        vertex.tunings.cancel(name=job.name)
    assert exc.value.code == 400 and exc.value.status == "FAILED_PRECONDITION"


def test_missing_training_file_names_uri(vertex):
    with pytest.raises(errors.ClientError) as exc:
        vertex.tunings.tune(
            base_model="gemini-2.0-flash-001", training_dataset=types.TuningDataset(gcs_uri="gs://bucket/missing.jsonl")
        )
    assert exc.value.code == 400 and exc.value.status == "INVALID_ARGUMENT"
    assert "gs://bucket/missing.jsonl" in exc.value.message


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"supervisedTuningSpec": {"trainingDatasetUri": TRAIN}}, "baseModel"),
        ({"baseModel": "gemini-9"}, "baseModel"),
        ({"baseModel": "gemini-2.0-flash-001"}, "supervisedTuningSpec"),
        (
            {"baseModel": "gemini-2.0-flash-001", "supervisedTuningSpec": {"trainingDatasetUri": "/local/file"}},
            "trainingDatasetUri",
        ),
        (
            {
                "baseModel": "gemini-2.0-flash-001",
                "supervisedTuningSpec": {
                    "trainingDatasetUri": TRAIN,
                    "hyperParameters": {"adapterSize": "ADAPTER_SIZE_HUGE"},
                },
            },
            "adapterSize",
        ),
    ],
)
def test_create_validation(vhttp, body, fragment):
    r = vhttp.post(f"{PARENT}/tuningJobs", json=body)
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert fragment in r.json()["error"]["message"]


def test_unknown_job_and_endpoint_404(vhttp):
    assert vhttp.get(f"{PARENT}/tuningJobs/123").status_code == 404
    r = vhttp.post(f"{PARENT}/endpoints/42:generateContent", json={"contents": [{"parts": [{"text": "x"}]}]})
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"


def test_bearer_auth(server):
    r = httpx.get(f"{server.url}{PARENT}/tuningJobs")
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"
    server.state.settings.bearer_token = "secret"
    try:
        bad = httpx.get(f"{server.url}{PARENT}/tuningJobs", headers={"Authorization": "Bearer other"})
        good = httpx.get(f"{server.url}{PARENT}/tuningJobs", headers={"Authorization": "Bearer secret"})
    finally:
        server.state.settings.bearer_token = None
    assert bad.status_code == 401 and good.status_code == 200
