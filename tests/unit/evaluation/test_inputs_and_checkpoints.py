"""Reading the model hand-off (a name or a tuning summary) and choosing/ranking checkpoints."""

from __future__ import annotations

import pytest

from gemini_tuning.contracts.evaluation import CheckpointResult
from gemini_tuning.evaluation.checkpoints import best_checkpoint, checkpoint_requests, select_checkpoints
from gemini_tuning.evaluation.inputs import read_model
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.models import Checkpoint

ENDPOINT = "projects/p/locations/l/endpoints/"
SUMMARY = {
    "job_name": "projects/p/locations/l/tuningJobs/1",
    "backend": "vertex_ai",
    "state": "JOB_STATE_SUCCEEDED",
    "model": ENDPOINT + "3",
    "tuned_model": "projects/p/locations/l/models/9",
    "prompt_template": "Q: {q}",
    "training_dataset_uri": "gs://b/train.jsonl",
    "validation_dataset_uri": None,
    "checkpoints": [
        {"checkpoint_id": "1", "epoch": 1, "step": 10, "endpoint": ENDPOINT + "1"},
        {"checkpoint_id": "2", "epoch": 2, "step": 20, "endpoint": ENDPOINT + "2"},
        {"checkpoint_id": "3", "epoch": 3, "step": 30, "endpoint": ENDPOINT + "3"},
    ],
}


def test_a_model_name_or_a_tuning_summary():
    assert read_model(" tunedModels/x ").name == "tunedModels/x"
    for value in (SUMMARY, str(SUMMARY)):  # a dict, or the repr a rendered template gives
        model = read_model(value)
        assert (model.name, model.job_name, model.prompt_template) == (ENDPOINT + "3", SUMMARY["job_name"], "Q: {q}")
        assert model.staged_uris == {"gs://b/train.jsonl"}
        assert model.checkpoints[0] == Checkpoint(checkpoint_id="1", epoch=1, step=10, endpoint=ENDPOINT + "1")


def test_a_wrong_model_value_is_one_clear_error():
    with pytest.raises(InvalidInputError, match="`model` is not a valid tuning summary: backend: Field required"):
        read_model({"job_name": "tunedModels/x", "state": "JOB_STATE_SUCCEEDED"})
    with pytest.raises(InvalidInputError, match=r"tuningJobs/1 \(JOB_STATE_FAILED\), which names no model to call"):
        read_model({**SUMMARY, "state": "JOB_STATE_FAILED", "model": None})
    with pytest.raises(InvalidInputError, match="must be a model name"):
        read_model(42)


def test_checkpoint_selection():
    model = read_model(SUMMARY)
    assert select_checkpoints(model, None) == ()
    assert [c.checkpoint_id for c in select_checkpoints(model, "all")] == ["1", "2", "3"]
    assert [c.checkpoint_id for c in select_checkpoints(model, ["2"])] == ["2"]
    with pytest.raises(InvalidInputError, match=r"names \['7'\]; the tuning job has \['1', '2', '3'\]"):
        select_checkpoints(model, ["7"])
    with pytest.raises(InvalidInputError, match="needs the tuning summary"):
        select_checkpoints(read_model("tunedModels/x"), "all")
    no_endpoint = read_model({**SUMMARY, "checkpoints": [{"checkpoint_id": "1", "epoch": 1}]})
    with pytest.raises(InvalidInputError, match=r"checkpoints \['1'\] of .* have no endpoint to call"):
        select_checkpoints(no_endpoint, "all")


def test_the_default_checkpoint_reuses_the_tuned_answers():
    model = read_model(SUMMARY)
    requests = checkpoint_requests(model.checkpoints, model.name)
    assert requests == {"checkpoint:1": ENDPOINT + "1", "checkpoint:2": ENDPOINT + "2"}


def result(checkpoint_id, score, is_default=False):
    return CheckpointResult(
        checkpoint_id=checkpoint_id, endpoint=ENDPOINT + checkpoint_id, is_default=is_default, metrics={"m": score}
    )


def test_best_checkpoint_by_the_gate_metric():
    assert best_checkpoint([result("1", 0.5), result("2", 0.9), result("3", 0.7, True)], "m").checkpoint_id == "2"
    assert best_checkpoint([result("1", 0.9), result("2", 0.9), result("3", 0.9, True)], "m").checkpoint_id == "3"
    assert best_checkpoint([result("1", 0.9), result("2", 0.9)], "m").checkpoint_id == "1"
    assert best_checkpoint([result("1", None)], "m") is None
