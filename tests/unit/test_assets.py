"""Tuned models as Assets: the asset, the event's extra, and reading the model back from triggering events."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from airflow.sdk import Asset

from gemini_tuning.assets import (
    resolve_tuned_model_asset,
    tuned_model_asset,
    tuned_model_event_extra,
    tuned_model_from_events,
)
from gemini_tuning.exceptions import InvalidInputError

SUMMARY = {
    "job_name": "tunedModels/tune-1",
    "backend": "gemini_api",
    "model": "tunedModels/tune-1",
    "tuned_model": "tunedModels/tune-1",
    "base_model": "models/gemini-1.5-flash-001-tuning",
    "recommended_epoch_count": 4,
    "prompt_template": "Q: {question}",
    "state": "JOB_STATE_SUCCEEDED",
}
EVALUATION = {
    "metrics": {"exact_match": {"tuned": 0.9, "baseline": 0.1, "delta": 0.8}},
    "gates": {"passed": True, "reasons": []},
}


def test_default_asset_is_named_after_dag_and_task():
    assert tuned_model_asset("pipeline", "tune").uri == "gemini-tuned-model://pipeline/tune"
    assert resolve_tuned_model_asset(True, dag_id="pipeline", task_id="tune") == tuned_model_asset("pipeline", "tune")


def test_a_given_asset_is_used_and_off_is_none():
    mine = Asset(name="classifier", uri="gemini-tuned-model://team/classifier")
    assert resolve_tuned_model_asset(mine, dag_id="d", task_id="t") is mine
    assert resolve_tuned_model_asset(None, dag_id="d", task_id="t") is None
    assert resolve_tuned_model_asset(False, dag_id="d", task_id="t") is None


def test_true_outside_a_dag_or_a_wrong_type_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="inside a DAG, or pass an Asset"):
        resolve_tuned_model_asset(True, dag_id=None, task_id="tune")
    with pytest.raises(InvalidInputError, match="must be True, False or an Asset, got str"):
        resolve_tuned_model_asset("gemini-tuned-model://x/y", dag_id="d", task_id="t")


def test_event_extra_after_tuning_and_after_evaluation():
    extra = tuned_model_event_extra(SUMMARY)
    assert extra == {
        "model": "tunedModels/tune-1",
        "tuned_model": "tunedModels/tune-1",
        "job_name": "tunedModels/tune-1",
        "backend": "gemini_api",
        "base_model": "models/gemini-1.5-flash-001-tuning",
        "recommended_epoch_count": 4,
        "prompt_template": "Q: {question}",
    }
    evaluated = tuned_model_event_extra(SUMMARY, EVALUATION)
    assert evaluated["scores"] == EVALUATION["metrics"] and evaluated["gates_passed"] is True


def _event(model, minute, **extra):
    return SimpleNamespace(extra={"model": model, **extra}, timestamp=datetime(2026, 1, 1, 0, minute, tzinfo=UTC))


def test_the_newest_triggering_event_wins_and_an_asset_filter_applies():
    models = Asset(name="models", uri="gemini-tuned-model://p/tune")
    other = Asset(name="other", uri="gemini-tuned-model://q/tune")
    events = {models: [_event("tunedModels/a", 1), _event("tunedModels/b", 3)], other: [_event("tunedModels/c", 5)]}
    assert tuned_model_from_events(events)["model"] == "tunedModels/c"
    assert tuned_model_from_events(events, models)["model"] == "tunedModels/b"
    assert tuned_model_from_events(events, "gemini-tuned-model://p/tune")["model"] == "tunedModels/b"


def test_a_run_not_triggered_by_a_model_event_says_so():
    with pytest.raises(InvalidInputError, match="not triggered by a tuned-model asset event"):
        tuned_model_from_events({})
    with pytest.raises(InvalidInputError, match="on models"):
        tuned_model_from_events(
            {Asset(name="x", uri="s3://b/k"): [SimpleNamespace(extra={}, timestamp=None)]}, "models"
        )
