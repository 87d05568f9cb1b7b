"""``CreateTuningJobOperator(tuned_model_asset=...)``: an asset event for the tuned model, blocking or deferred."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from airflow.sdk import DAG, Asset

from gemini_tuning.operators.tuning import CreateTuningJobOperator
from tests.dagtest import asset_events, run_dag, xcom
from tests.helpers import next_number_examples


def _dag(dag_id: str, **tune_kwargs):
    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False) as dag:
        CreateTuningJobOperator(
            task_id="tune",
            base_model="models/gemini-1.5-flash-001-tuning",
            training_dataset=next_number_examples(40),
            epoch_count=3,
            poll_interval=0.02,
            **tune_kwargs,
        )
    return dag


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
def test_default_asset_gets_an_event_naming_the_model(gemini_conn, emulator, airflow_db, deferrable):
    dag_id = f"tuned_model_asset_{deferrable}"
    dag = _dag(dag_id, tuned_model_asset=True, deferrable=deferrable, gemini_conn_id=gemini_conn)
    assert Asset(f"gemini-tuned-model://{dag_id}/tune") in dag.get_task("tune").outlets
    dagrun = run_dag(dag)
    summary = xcom(dagrun, "tune")
    [event] = [e for e in asset_events(f"gemini-tuned-model://{dag_id}/tune") if e.source_run_id == dagrun.run_id]
    assert event.extra == {
        "model": summary["model"],
        "tuned_model": summary["tuned_model"],
        "job_name": summary["job_name"],
        "backend": "gemini_api",
        "base_model": "models/gemini-1.5-flash-001-tuning",
        "recommended_epoch_count": summary["recommended_epoch_count"],
        "prompt_template": None,
    }
    assert event.extra["model"].startswith("tunedModels/") and event.extra["recommended_epoch_count"]


def test_a_given_asset_is_updated_and_a_failed_job_emits_nothing(gemini_conn, emulator, airflow_db):
    mine = Asset(name="next_number_model", uri="gemini-tuned-model://team/next-number")
    dagrun = run_dag(_dag("tuned_model_asset_given", tuned_model_asset=mine, gemini_conn_id=gemini_conn))
    assert [e.extra["job_name"] for e in asset_events("next_number_model") if e.source_run_id == dagrun.run_id] == [
        xcom(dagrun, "tune")["job_name"]
    ]

    emulator.set_faults(fail_jobs=True)
    failed = run_dag(_dag("tuned_model_asset_given", tuned_model_asset=mine, gemini_conn_id=gemini_conn))
    assert failed.state == "failed"
    assert not [e for e in asset_events("next_number_model") if e.source_run_id == failed.run_id]
