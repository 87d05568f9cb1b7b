"""Deleting Vertex AI tuned models with several versions (continuous tuning) and checkpoints.

Each version has one endpoint per checkpoint; ``vertex_live`` in the emulator's stats counts the
model versions, endpoints and deployments that exist (and would bill).
"""

from __future__ import annotations

import pytest

from gemini_tuning.exceptions import NotFoundError
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.operators.tuning import DeleteTunedModelOperator
from tests.helpers import next_number_examples, write_vertex_dataset

NOTHING_LIVE = {"model_versions": 0, "endpoints": 0, "deployed_models": 0}
ONE_VERSION_LIVE = {"model_versions": 1, "endpoints": 3, "deployed_models": 3}


def tune(hook, emulator, base_model, key, start=1):
    uri = write_vertex_dataset(emulator.gcs_root, next_number_examples(40, start=start), f"{key}.jsonl")
    job = hook.create_tuning_job(base_model=base_model, training_dataset_uri=uri, hyperparameters={"epoch_count": 3})
    return hook.wait_for_tuning_job(job.name, poll_interval=0.02, timeout=60)


@pytest.fixture
def two_versions(vertex_conn, emulator):
    """Version 1 of a tuned model and version 2 continued from it (no new display name)."""
    hook = GeminiTuningHook(vertex_conn)
    first = tune(hook, emulator, "gemini-2.0-flash-001", "week1")
    second = tune(hook, emulator, first.tuned_model, "week2", start=100)
    model = first.tuned_model.removesuffix("@1")
    assert second.tuned_model == f"{model}@2"
    assert emulator.stats()["vertex_live"] == {"model_versions": 2, "endpoints": 6, "deployed_models": 6}
    return hook, first, second, model


def delete(conn_id, name):
    return DeleteTunedModelOperator(task_id="delete", model_name=name, gemini_conn_id=conn_id).execute({})


def test_deleting_last_weeks_endpoint_keeps_this_weeks_version(vertex_conn, emulator, two_versions):
    hook, first, second, _ = two_versions
    assert delete(vertex_conn, first.endpoint) is True
    assert emulator.stats()["vertex_live"] == ONE_VERSION_LIVE  # version 2 and its 3 endpoints only
    assert hook.generate(second.endpoint, "100") == "101"
    for checkpoint in first.checkpoints:
        with pytest.raises(NotFoundError):
            hook.generate(checkpoint.endpoint, "7")
    assert delete(vertex_conn, first.tuned_model) is False  # already gone


def test_deleting_one_version_by_name(vertex_conn, emulator, two_versions):
    hook, first, second, _ = two_versions
    assert delete(vertex_conn, second.tuned_model) is True
    assert emulator.stats()["vertex_live"] == ONE_VERSION_LIVE
    assert hook.generate(first.endpoint, "7") == "8"


def test_deleting_the_model_deletes_every_version_and_endpoint(vertex_conn, emulator, two_versions):
    hook, first, second, model = two_versions
    assert delete(vertex_conn, model) is True
    assert emulator.stats()["vertex_live"] == NOTHING_LIVE  # no checkpoint endpoint of any version is left
    for name in (model, first.endpoint, second.endpoint):
        assert delete(vertex_conn, name) is False
