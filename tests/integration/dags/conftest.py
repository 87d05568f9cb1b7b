"""Fixtures for running the example DAGs in ``dags/`` against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

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
