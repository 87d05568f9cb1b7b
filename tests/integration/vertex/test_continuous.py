"""Continuous tuning on Vertex AI: continue a tuned model (optionally from a checkpoint) as its next version."""

from __future__ import annotations

import pytest

from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.operators.tuning import CreateTuningJobOperator
from tests.helpers import next_number_examples, stat
from tests.integration.operators.test_tuning_operators import FakeTI
from tests.integration.vertex.helpers import vertex_op


def tune(conn_id, emulator, run_id, **kwargs):
    op = vertex_op(conn_id, emulator, key=run_id, epoch_count=2, **kwargs)
    return op.execute({"ti": FakeTI(run_id=run_id)})


def test_continuing_from_a_summary_and_checkpoint_makes_version_two(vertex_conn, emulator):
    first = tune(vertex_conn, emulator, "week1")
    second = tune(vertex_conn, emulator, "week2", pre_tuned_model=first, checkpoint_id=1)
    assert second["tuned_model"] == first["tuned_model"].removesuffix("@1") + "@2"
    job = GeminiTuningHook(vertex_conn).get_tuning_job(second["job_name"])
    assert job.pre_tuned_model == first["tuned_model"] and job.pre_tuned_checkpoint_id == "1"
    assert job.display_name == "dag.tune"  # the model's name, kept: the operator invented none
    assert second["base_model"] == first["base_model"]


def test_a_new_display_name_makes_a_new_model(vertex_conn, emulator):
    first = tune(vertex_conn, emulator, "week1")
    other = tune(vertex_conn, emulator, "fork", pre_tuned_model=first["tuned_model"], display_name="a fork")
    assert other["tuned_model"].endswith("@1") and other["tuned_model"] != first["tuned_model"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"base_model": "gemini-2.0-flash-001"}, "Give `base_model` or `pre_tuned_model`, not both"),
        ({"pre_tuned_model": "gemini-2.0-flash-001"}, "is not a Vertex AI tuned model"),
        ({"checkpoint_id": "1"}, "`checkpoint_id` needs `pre_tuned_model`"),
    ],
)
def test_mistakes_fail_before_any_request(vertex_conn, emulator, kwargs, message):
    kwargs = {"pre_tuned_model": "projects/p/locations/us-central1/models/1@1", **kwargs}
    if "checkpoint_id" in kwargs:
        kwargs.pop("pre_tuned_model")
    with pytest.raises(InvalidInputError, match=message):
        tune(vertex_conn, emulator, "bad", **kwargs)
    assert stat(emulator, "jobs_created") == 0


def test_gemini_api_cannot_continue_a_model(gemini_conn, emulator):
    op = CreateTuningJobOperator(
        task_id="t",
        training_dataset=next_number_examples(20),
        pre_tuned_model="projects/p/locations/l/models/1",
        gemini_conn_id=gemini_conn,
    )
    with pytest.raises(InvalidInputError, match="cannot continue a tuned model"):
        op.execute({"ti": FakeTI()})
