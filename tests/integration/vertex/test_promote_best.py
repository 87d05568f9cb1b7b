"""Promoting the best checkpoint an evaluation found (``SetDefaultCheckpointOperator(checkpoint_id=<EvaluationSummary>)``)."""

from __future__ import annotations

from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.operators.tuning import SetDefaultCheckpointOperator
from tests.integration.vertex.test_checkpoints import tune


def evaluation_of(summary: dict, best: int) -> dict:
    """An EvaluationSummary of ``summary``'s checkpoints with ``checkpoints="all"`` (the fields it reads)."""
    checkpoints = [
        {**c, "is_default": c["checkpoint_id"] == summary["default_checkpoint_id"], "failed": 0, "metrics": {}}
        for c in summary["checkpoints"]
    ]
    return {
        "schema_version": 1,
        "model": summary["model"],
        "job_name": summary["job_name"],
        "primary_metric": "normalized_exact_match",
        "checkpoints": checkpoints,
        "best_checkpoint": checkpoints[best],
    }


def test_the_best_checkpoint_of_an_evaluation_becomes_the_default(vertex_conn, emulator):
    summary = tune(vertex_conn, emulator)
    evaluation = evaluation_of(summary, best=0)
    promoted = SetDefaultCheckpointOperator(
        task_id="promote", tuned_model=summary, checkpoint_id=repr(evaluation), gemini_conn_id=vertex_conn
    ).execute({})
    first = summary["checkpoints"][0]["endpoint"]
    assert (promoted["default_checkpoint_id"], promoted["model"]) == ("1", first)
    job = GeminiTuningHook(vertex_conn).get_tuning_job(summary["job_name"])
    assert job.endpoint == first  # the tuned model now serves checkpoint 1
