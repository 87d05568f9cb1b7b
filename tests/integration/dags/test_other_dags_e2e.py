"""The weekly, asset-driven and TaskFlow examples run end to end with ``dag.test()`` on the emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.dagtest import run_dag, ti_of, xcom
from tests.helpers import conn_json

DAGS = Path(__file__).resolve().parents[3] / "dags"


@pytest.fixture
def load_dag(emulator, airflow_db, monkeypatch, tmp_path):
    """Parse one example DAG file with a fast poll, fresh staging and source DB, and the emulator connection."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("GEMINI_TUNING_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_URI", f"file://{tmp_path}/staging")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", conn_json("gemini_api", emulator.url))

    def load(filename: str, dag_id: str):
        return DagBag(dag_folder=str(DAGS / filename)).dags[dag_id]

    return load


def _variable(key):
    from airflow.models.variable import Variable

    return Variable.get(key, default_var=None)


def test_weekly_run_carries_the_recommended_epochs_to_the_next_week(load_dag):
    from airflow.models.variable import Variable

    Variable.delete("support_ticket_classifier_weekly_epochs")
    dag = load_dag("gemini_tuning_weekly.py", "gemini_tuning_weekly")
    first = run_dag(dag, logical_date=datetime(2026, 3, 2, tzinfo=UTC))
    assert first.state == "success", {t.task_id: t.state for t in first.get_task_instances()}
    summary = xcom(first, "tune")
    assert summary["hyperparameters"]["epoch_count"] == 5  # no history yet: the documented default
    carried = _variable("support_ticket_classifier_weekly_epochs")
    assert carried is not None and int(carried) == summary["recommended_epoch_count"] < 5

    second = run_dag(dag, logical_date=datetime(2026, 3, 9, tzinfo=UTC))
    assert second.state == "success"
    assert xcom(second, "tune")["hyperparameters"]["epoch_count"] == int(carried)
    assert xcom(second, "validate")["total"] > xcom(first, "validate")["total"]  # fresh tickets were added


def test_weekly_continuous_tuning_makes_the_next_version_of_the_same_model(load_dag, emulator, monkeypatch):
    from airflow.models.variable import Variable

    for key in ("support_ticket_classifier_weekly_epochs", "support_ticket_classifier_weekly_tuned_model"):
        Variable.delete(key)
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", conn_json("vertex_ai", emulator.url))
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_URI", "gs://weekly-bucket/staging")
    dag = load_dag("gemini_tuning_weekly.py", "gemini_tuning_weekly")
    first = run_dag(dag, logical_date=datetime(2026, 3, 2, tzinfo=UTC), run_conf={"continuous": True})
    assert first.state == "success", {t.task_id: t.state for t in first.get_task_instances()}
    week1 = xcom(first, "tune")
    assert week1["tuned_model"].endswith("@1")  # no earlier model: a fresh one, named by the DAG

    second = run_dag(dag, logical_date=datetime(2026, 3, 9, tzinfo=UTC), run_conf={"continuous": True})
    assert second.state == "success", {t.task_id: t.state for t in second.get_task_instances()}
    week2 = xcom(second, "tune")
    assert week2["tuned_model"] == week1["tuned_model"].removesuffix("@1") + "@2"
    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

    job = GeminiTuningHook("gemini_tuning_default").get_tuning_job(week2["job_name"])
    assert job.pre_tuned_model == week1["tuned_model"] and job.display_name == week1_name(first)
    assert week2["base_model"] == week1["base_model"]  # the continued model keeps its base


def week1_name(dagrun):
    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

    return GeminiTuningHook("gemini_tuning_default").get_tuning_job(xcom(dagrun, "tune")["job_name"]).display_name


def test_asset_producer_then_consumer(load_dag):
    producer = run_dag(load_dag("gemini_tuning_on_new_data.py", "export_labelled_tickets"))
    assert producer.state == "success"
    consumer = run_dag(load_dag("gemini_tuning_on_new_data.py", "gemini_tuning_on_new_data"))
    assert consumer.state == "success", {t.task_id: t.state for t in consumer.get_task_instances()}
    assert xcom(consumer, "latest_export") == xcom(producer, "export")
    assert xcom(consumer, "evaluate")["gates"]["passed"]


def test_taskflow_example(load_dag):
    dagrun = run_dag(load_dag("gemini_tuning_taskflow.py", "gemini_tuning_taskflow"))
    assert dagrun.state == "success", {t.task_id: t.state for t in dagrun.get_task_instances()}
    assert xcom(dagrun, "announce").startswith("tunedModels/")
    assert ti_of(dagrun, "tune").state == "success"
