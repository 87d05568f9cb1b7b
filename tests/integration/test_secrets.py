"""The API key never reaches logs, XCom, rendered templates, exceptions or trigger kwargs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from gemini_tuning.exceptions import GeminiTuningError
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.operators.tuning import CreateTuningJobOperator
from tests.dagtest import run_dag
from tests.helpers import API_KEY, conn_json, next_number_examples


def _db_rows_containing(secret: str) -> list[str]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.trigger import Trigger
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    found = []
    with create_session() as session:
        for row in session.query(XComModel).all():
            if secret in json.dumps(row.value, default=str):
                found.append(f"xcom {row.task_id}.{row.key}")
        for row in session.query(RenderedTaskInstanceFields).all():
            if secret in json.dumps(row.rendered_fields, default=str):
                found.append(f"rendered {row.task_id}")
        for row in session.query(Trigger).all():
            if secret in json.dumps(row.kwargs, default=str):
                found.append(f"trigger {row.id}")
    return found


def test_deferred_tuning_run_leaks_the_key_nowhere(gemini_conn, emulator, airflow_db, capfd):
    from airflow.sdk import DAG

    with DAG("secrets_check", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        CreateTuningJobOperator(
            task_id="tune",
            base_model="models/gemini-1.5-flash-001-tuning",
            training_dataset=next_number_examples(30),
            epoch_count=2,
            deferrable=True,
            poll_interval=0.02,
            gemini_conn_id=gemini_conn,
        )
    dagrun = run_dag(dag)
    assert dagrun.state == "success"
    out = capfd.readouterr()
    assert "RUNNING" in out.out or "SUCCEEDED" in out.out  # the task log really was captured
    assert API_KEY not in out.out and API_KEY not in out.err
    assert _db_rows_containing(API_KEY) == []


def test_errors_and_reprs_do_not_carry_the_key(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_LEAKY", conn_json("gemini_api", emulator.url))
    emulator.set_faults(rate_500=1.0)
    hook = GeminiTuningHook("leaky")
    with pytest.raises(GeminiTuningError) as info:
        hook.get_tuning_job("tunedModels/x")
    assert API_KEY not in str(info.value) and API_KEY not in repr(info.value.__dict__)
    assert API_KEY not in repr(hook.settings) and API_KEY not in str(hook.settings.model_dump())
    assert API_KEY not in json.dumps(hook.settings.http_options())
