"""Vertex detailed progress: tuningJobState while RUNNING and tuningJobMetadata.completedEpochCount.

Read through the real google-genai client; the emulator's clock is moved by hand.
"""

from __future__ import annotations

import httpx
import pytest
from google.genai import types

from tests.integration.emulator.conftest import STARTUP, STEP

TRAIN = "gs://bucket/train.jsonl"
S = types.TuningJobState


@pytest.fixture
def stages(server):
    """Every optional stage lasts one second: quota and capacity holds, dataset and post-processing."""
    settings = server.state.settings
    server.set_faults(hold_quota_seconds=1.0, hold_capacity_seconds=1.0)
    settings.dataset_seconds, settings.post_processing_seconds = 1.0, 1.0
    yield
    settings.dataset_seconds, settings.post_processing_seconds = 0.0, 0.0


def _tune(vertex, epochs=2):
    return vertex.tunings.tune(
        base_model="gemini-2.0-flash-001",
        training_dataset=types.TuningDataset(gcs_uri=TRAIN),
        config=types.CreateTuningJobConfig(epoch_count=epochs),
    )


def _at(vertex, clock, name, seconds_after_create, created):
    clock.now = created + seconds_after_create
    return vertex.tunings.get(name=name)


def test_detailed_states_in_order_with_completed_epochs(vertex, clock, stages):
    created = clock.now
    job = _tune(vertex, epochs=2)  # 12 examples, batch 4: 3 steps per epoch
    assert job.state == types.JobState.JOB_STATE_PENDING and job.tuning_job_state is None
    train = STARTUP + 3.0  # quota, dataset and capacity stages come first
    expected = [
        (STARTUP + 0.5, S.TUNING_JOB_STATE_WAITING_FOR_QUOTA, 0),
        (STARTUP + 1.5, S.TUNING_JOB_STATE_PROCESSING_DATASET, 0),
        (STARTUP + 2.5, S.TUNING_JOB_STATE_WAITING_FOR_CAPACITY, 0),
        (train + 1.5 * STEP, S.TUNING_JOB_STATE_TUNING, 0),
        (train + 3.5 * STEP, S.TUNING_JOB_STATE_TUNING, 1),
        (train + 6 * STEP + 0.5, S.TUNING_JOB_STATE_POST_PROCESSING, 2),
    ]
    seen = []
    for offset, _, _ in expected:
        current = _at(vertex, clock, job.name, offset, created)
        assert current.state == types.JobState.JOB_STATE_RUNNING
        seen.append((current.tuning_job_state, current.tuning_job_metadata.completed_epoch_count or 0))
        assert current.start_time is not None
    assert seen == [(stage, epochs) for _, stage, epochs in expected]
    done = _at(vertex, clock, job.name, train + 6 * STEP + 1.5, created)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED and done.tuning_job_state is None
    assert done.tuning_job_metadata.completed_epoch_count == 2
    assert done.end_time > done.start_time


def test_data_stats_appear_once_the_dataset_is_processed(vertex, clock, stages):
    created = clock.now
    job = _tune(vertex)
    assert _at(vertex, clock, job.name, STARTUP + 1.5, created).tuning_data_stats is None
    stats = _at(vertex, clock, job.name, STARTUP + 2.5, created).tuning_data_stats
    assert stats.supervised_tuning_data_stats.tuning_dataset_example_count == 12


def test_update_time_follows_stage_changes(vhttp, vertex, clock, stages):
    created = clock.now
    job = _tune(vertex)
    times = [_at(vertex, clock, job.name, STARTUP + offset, created).update_time for offset in (0.5, 0.9, 1.5, 2.5)]
    assert times[0] == times[1] < times[2] < times[3]


def test_hold_is_a_fault_for_new_vertex_jobs_only(server, vertex, http, clock):
    created = clock.now
    before = _tune(vertex)
    server.set_faults(hold_quota_seconds=30)
    held = _tune(vertex)
    gemini = http.post(
        "/v1beta/tunedModels",
        json={
            "baseModel": "models/gemini-2.0-flash-001",
            "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "a", "output": "b"}]}}},
        },
    ).json()
    assert _at(vertex, clock, before.name, 10, created).state == types.JobState.JOB_STATE_SUCCEEDED
    waiting = _at(vertex, clock, held.name, 10, created)
    assert waiting.state == types.JobState.JOB_STATE_RUNNING
    assert waiting.tuning_job_state == S.TUNING_JOB_STATE_WAITING_FOR_QUOTA
    assert http.get(f"/v1beta/{gemini['metadata']['tunedModel']}").json()["state"] == "ACTIVE"
    assert _at(vertex, clock, held.name, 31, created).state == types.JobState.JOB_STATE_SUCCEEDED
    assert server.faults()["hold_quota_seconds"] == 30.0


def test_cancel_while_waiting_for_capacity(server, vertex, clock):
    server.set_faults(hold_capacity_seconds=30)
    created = clock.now
    job = _tune(vertex)
    assert _at(vertex, clock, job.name, 5, created).tuning_job_state == S.TUNING_JOB_STATE_WAITING_FOR_CAPACITY
    vertex.tunings.cancel(name=job.name)
    done = _at(vertex, clock, job.name, 60, created)
    assert done.state == types.JobState.JOB_STATE_CANCELLED and done.tuning_job_state is None
    assert done.tuning_job_metadata.completed_epoch_count is None  # zero: left out, as in proto3 JSON


def test_failing_job_skips_post_processing(server, vertex, clock, stages):
    server.set_faults(fail_jobs=True)
    created = clock.now
    job = _tune(vertex)  # fails after 3 of 6 steps
    failed = _at(vertex, clock, job.name, STARTUP + 3.0 + 3 * STEP + 0.1, created)
    assert failed.state == types.JobState.JOB_STATE_FAILED and failed.tuning_job_state is None
    assert failed.tuning_job_metadata.completed_epoch_count == 1


@pytest.mark.parametrize("value", [-1, "soon"])
def test_bad_hold_values_are_rejected(server, value):
    r = httpx.post(f"{server.url}/_emulator/faults", json={"hold_quota_seconds": value})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert server.faults()["hold_quota_seconds"] == 0.0
