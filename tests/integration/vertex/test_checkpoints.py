"""Vertex AI checkpoints: listed in the summary, one promoted to default, all cleaned up on delete."""

from __future__ import annotations

import pytest

from gemini_tuning.exceptions import InvalidInputError, NotFoundError, ServiceError
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.operators.tuning import (
    CreateTuningJobOperator,
    DeleteTunedModelOperator,
    SetDefaultCheckpointOperator,
)
from tests.helpers import next_number_examples, stat
from tests.integration.operators.test_tuning_operators import FakeTI
from tests.integration.vertex.helpers import vertex_op

NOTHING_LIVE = {"model_versions": 0, "endpoints": 0, "deployed_models": 0}


def tune(conn_id, emulator, task_id="tune", **kwargs):
    return vertex_op(conn_id, emulator, task_id, **kwargs).execute({"ti": FakeTI(task_id=task_id)})


def test_one_checkpoint_per_epoch_each_with_its_endpoint(vertex_conn, emulator):
    summary = tune(vertex_conn, emulator)
    checkpoints = summary["checkpoints"]
    assert [c["checkpoint_id"] for c in checkpoints] == ["1", "2", "3"]
    assert [c["epoch"] for c in checkpoints] == [1, 2, 3] and [c["step"] for c in checkpoints] == [10, 20, 30]
    assert len({c["endpoint"] for c in checkpoints}) == 3
    assert summary["default_checkpoint_id"] == "3" and summary["model"] == checkpoints[-1]["endpoint"]


def test_export_last_checkpoint_only(vertex_conn, emulator):
    summary = tune(vertex_conn, emulator, export_last_checkpoint_only=True)
    assert [(c["checkpoint_id"], c["epoch"]) for c in summary["checkpoints"]] == [("1", 3)]


def test_promote_a_checkpoint_then_delete_leaves_no_endpoint(vertex_conn, emulator):
    summary = tune(vertex_conn, emulator)
    promoted = SetDefaultCheckpointOperator(
        task_id="promote", tuned_model=summary, checkpoint_id=2, gemini_conn_id=vertex_conn
    ).execute({})
    second = summary["checkpoints"][1]["endpoint"]
    assert promoted == {
        "tuned_model": summary["tuned_model"],
        "default_checkpoint_id": "2",
        "model": second,
        "endpoint": second,
    }
    hook = GeminiTuningHook(vertex_conn)
    job = hook.get_tuning_job(summary["job_name"])
    assert job.endpoint == second  # the tuned model's endpoint follows the default checkpoint
    assert hook.generate(second, "7")  # the promoted checkpoint's endpoint serves

    deleted = DeleteTunedModelOperator(task_id="delete", model_name=summary["model"], gemini_conn_id=vertex_conn)
    assert deleted.execute({}) is True
    assert emulator.stats()["vertex_live"] == NOTHING_LIVE  # no checkpoint's endpoint keeps billing
    for checkpoint in summary["checkpoints"]:
        with pytest.raises(NotFoundError):
            hook.generate(checkpoint["endpoint"], "7")


def test_unknown_checkpoint_is_the_services_one_line_error(vertex_conn, emulator):
    summary = tune(vertex_conn, emulator)
    op = SetDefaultCheckpointOperator(
        task_id="p", tuned_model=summary["tuned_model"], checkpoint_id="9", gemini_conn_id=vertex_conn
    )
    with pytest.raises(ServiceError, match="9") as raised:
        op.execute({})
    assert raised.value.http_status == 400


def test_gemini_api_has_no_checkpoints(gemini_conn, emulator):
    with pytest.raises(InvalidInputError, match="no checkpoints"):
        SetDefaultCheckpointOperator(
            task_id="p", tuned_model="tunedModels/x/models/y", checkpoint_id="1", gemini_conn_id=gemini_conn
        ).execute({})
    op = CreateTuningJobOperator(
        task_id="t",
        base_model="models/gemini-1.5-flash-001-tuning",
        training_dataset=next_number_examples(20),
        export_last_checkpoint_only=True,
        gemini_conn_id=gemini_conn,
    )
    with pytest.raises(InvalidInputError, match="export_last_checkpoint_only"):
        op.execute({"ti": FakeTI()})
    assert stat(emulator, "jobs_created") == 0
