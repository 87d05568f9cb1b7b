"""A connection stored in the metadata DB, used by a deferred task under ``dag.test()`` (issue 10.5).

Airflow 3.3's in-process ``dags test`` runner cannot look a DB connection up asynchronously; the
trigger falls back to the synchronous lookup (off the event loop) instead of failing after the job
was submitted and leaving it to train on, orphaned.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.dagtest import run_dag, ti_of, xcom
from tests.helpers import next_number_examples

CONN_ID = "gemini_in_db"


@pytest.fixture
def db_connection(emulator, airflow_db, monkeypatch):
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    from tests.helpers import conn_json

    monkeypatch.delenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", raising=False)
    spec = json.loads(conn_json("gemini_api", emulator.url))
    with create_session() as session:
        session.query(Connection).filter_by(conn_id=CONN_ID).delete()
        session.add(
            Connection(
                conn_id=CONN_ID,
                conn_type=spec["conn_type"],
                password=spec["password"],
                extra=json.dumps(spec["extra"]),
            )
        )
    yield CONN_ID
    with create_session() as session:
        session.query(Connection).filter_by(conn_id=CONN_ID).delete()


def test_deferred_tune_with_a_db_connection_succeeds_under_dag_test(db_connection, emulator):
    from airflow.sdk import DAG

    from gemini_tuning.operators.tuning import CreateTuningJobOperator

    with DAG("db_conn_deferred", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        CreateTuningJobOperator(
            task_id="tune",
            base_model="models/gemini-1.5-flash-001-tuning",
            training_dataset=next_number_examples(40),
            epoch_count=2,
            poll_interval=0.05,
            deferrable=True,
            gemini_conn_id=db_connection,
        )
    dagrun = run_dag(dag)
    assert ti_of(dagrun, "tune").state == "success"
    assert xcom(dagrun, "tune")["state"] == "JOB_STATE_SUCCEEDED"
    assert emulator.stats()["jobs_created"]["gemini_api"] == 1
