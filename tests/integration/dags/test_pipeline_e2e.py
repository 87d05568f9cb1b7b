"""``gemini_tuning_pipeline`` end to end with ``dag.test()`` against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dagtest import run_dag, ti_of, xcom
from tests.helpers import conn_json, stat

PROMOTED_VARIABLE = "support_ticket_classifier_model"
DAG_FILE = Path(__file__).resolve().parents[3] / "dags" / "gemini_tuning_pipeline.py"


@pytest.fixture
def pipeline(emulator, airflow_db, monkeypatch, tmp_path):
    """The example DAG, parsed from dags/ with a fast poll and a fresh staging area and source DB."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("GEMINI_TUNING_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_URI", f"file://{tmp_path}/staging")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))  # the example seeds its SQLite source under AIRFLOW_HOME
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", conn_json("gemini_api", emulator.url, retries=8))
    dagbag = DagBag(dag_folder=str(DAG_FILE), collect_dags=True)
    dag = dagbag.dags["gemini_tuning_pipeline"]
    _clear_variable()
    yield dag
    _clear_variable()


def _clear_variable():
    from airflow.models.variable import Variable

    Variable.delete(PROMOTED_VARIABLE)


def _variable():
    from airflow.models.variable import Variable

    return Variable.get(PROMOTED_VARIABLE, default_var=None)


def test_pipeline_succeeds_and_promotes(pipeline, emulator, tmp_path):
    dagrun = run_dag(pipeline)
    states = {ti.task_id: ti.state for ti in dagrun.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    validate, tune, evaluation, promote = (xcom(dagrun, t) for t in ("validate", "tune", "evaluate", "promote"))
    assert validate["total"] >= 100 and validate["valid"] + validate["rejected"] == validate["total"]
    assert tune["state"] == "JOB_STATE_SUCCEEDED" and tune["loss_curve_uri"].endswith(".png")
    assert evaluation["gates"]["passed"] and evaluation["failed"] == 0
    assert (
        evaluation["metrics"]["normalized_exact_match"]["tuned"]
        > evaluation["metrics"]["normalized_exact_match"]["baseline"]
    )
    assert promote["model"] == tune["model"] == _variable()
    assert _asset_event_models() == [tune["model"]]
    assert emulator.stats()["jobs_created"]["gemini_api"] == 1


def _asset_event_models():
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.name == "support_ticket_classifier")
            .all()
        )
        return [event.extra["model"] for event in events]


def test_failing_tuning_job_stops_before_promote(pipeline, emulator, capfd):
    emulator.set_faults(fail_jobs=True, fail_message="Tuning failed: internal error in trainer shard 3")
    dagrun = run_dag(pipeline)
    assert ti_of(dagrun, "tune").state == "failed"
    assert ti_of(dagrun, "evaluate").state == "upstream_failed"
    assert ti_of(dagrun, "promote").state == "upstream_failed"
    assert "Tuning failed: internal error in trainer shard 3" in capfd.readouterr().out
    assert _variable() is None


def test_gate_not_met_stops_before_promote(pipeline, emulator):
    dagrun = run_dag(pipeline, run_conf={"min_score": 1.01})
    assert ti_of(dagrun, "tune").state == "success"
    assert ti_of(dagrun, "evaluate").state == "failed"
    assert ti_of(dagrun, "promote").state == "upstream_failed"
    summary = xcom(dagrun, "evaluate")  # pushed before the gate failed, so users see why
    assert summary["gates"]["passed"] is False and "normalized_exact_match" in summary["gates"]["reasons"][0]
    assert _variable() is None


def test_injected_429s_lose_nothing(pipeline, emulator):
    emulator.set_faults(rate_429=0.1)
    dagrun = run_dag(pipeline)
    assert ti_of(dagrun, "promote").state == "success"
    evaluation = xcom(dagrun, "evaluate")
    assert (
        evaluation["failed"] == 0
        and evaluation["succeeded"] == evaluation["examples"] == xcom(dagrun, "validate")["validation_count"]
    )
    assert stat(emulator, "faults_injected") > 0


def test_pipeline_on_vertex_ai(pipeline, emulator, monkeypatch):
    """The same DAG on the other backend: the connection alone picks it (and the base model)."""
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_VERTEX", conn_json("vertex_ai", emulator.url))
    dagrun = run_dag(
        pipeline, run_conf={"gemini_conn_id": "gemini_vertex", "gcs_destination": "gs://tuning-bucket/datasets"}
    )
    states = {ti.task_id: ti.state for ti in dagrun.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    upload, tune = xcom(dagrun, "upload"), xcom(dagrun, "tune")
    assert upload["training_dataset_uri"].startswith("gs://tuning-bucket/datasets/")
    assert tune["backend"] == "vertex_ai" and "/endpoints/" in tune["model"]
    assert tune["base_model"].endswith("gemini-2.0-flash-001")  # the backend's default
    assert tune["loss_curve"] and tune["data_stats"]["example_count"] == upload["train_count"]
    # the checkpoint of the recommended epoch is served, evaluated and promoted
    picked = xcom(dagrun, "pick_checkpoint")
    chosen = next(c for c in tune["checkpoints"] if c["epoch"] == tune["recommended_epoch_count"])
    assert picked["model"] == chosen["endpoint"] and picked["default_checkpoint_id"] == chosen["checkpoint_id"]
    assert _variable() == picked["model"]
