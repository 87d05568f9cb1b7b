"""A ``google_cloud_platform`` connection drives Vertex AI tuning: its key, token endpoint and project.

The key file is a real service-account key (generated RSA key) whose ``token_uri`` is the emulator's
OAuth endpoint, so google-auth signs a JWT and exchanges it for the bearer token every request carries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from airflow.sdk import DAG

from gemini_tuning.operators.tuning import CreateTuningJobOperator
from tests.dagtest import run_dag, ti_of, xcom
from tests.helpers import FAST_RETRIES, next_number_examples, service_account_key, stat, write_vertex_dataset

PROJECT = "gcp-project"


@pytest.fixture
def key(emulator, tmp_path):
    key = service_account_key(f"{emulator.url}/_emulator/oauth2/token", project="key-project")
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key))
    return key, str(path)


def _gcp_connection(monkeypatch, **extra):
    conn = {"conn_type": "google_cloud_platform", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", json.dumps(conn))


def _tune(emulator, dag_id, conn_id, **kwargs):
    dataset = write_vertex_dataset(emulator.gcs_root, next_number_examples(30), f"{dag_id}/train.jsonl")
    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False) as dag:
        CreateTuningJobOperator(
            task_id="tune",
            base_model="gemini-2.0-flash-001",
            training_dataset=dataset,
            epoch_count=2,
            poll_interval=0.02,
            gemini_conn_id=conn_id,
            **kwargs,
        )
    return run_dag(dag)


def test_the_google_cloud_connection_given_directly(emulator, airflow_db, monkeypatch, key, capfd):
    """key_path + project, nothing else: google-genai's own GOOGLE_VERTEX_BASE_URL points it at the emulator."""
    sa_key, path = key
    _gcp_connection(monkeypatch, key_path=path, project=PROJECT)
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", emulator.url)
    dagrun = _tune(emulator, "gcp_connection_direct", "google_cloud_default")
    assert ti_of(dagrun, "tune").state == "success"
    summary = xcom(dagrun, "tune")
    assert summary["job_name"].startswith(f"projects/{PROJECT}/locations/us-central1/tuningJobs/")
    assert summary["state"] == "JOB_STATE_SUCCEEDED"
    assert stat(emulator, "oauth2_tokens_issued") >= 1
    assert sa_key["private_key"].splitlines()[1] not in capfd.readouterr().out


def test_a_gemini_tuning_connection_borrowing_the_credentials_waits_deferred(
    emulator, airflow_db, monkeypatch, key, capfd
):
    """gcp_conn_id: the trigger loads both connections too; the location and the emulator URL stay here."""
    sa_key, _ = key
    _gcp_connection(monkeypatch, keyfile_dict=json.dumps(sa_key))  # project from the key
    tuning = {
        "conn_type": "gemini_tuning",
        "extra": {
            "backend": "vertex_ai",
            "gcp_conn_id": "google_cloud_default",
            "location": "europe-west4",
            "base_url": emulator.url,
            **FAST_RETRIES,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_VERTEX_GCP", json.dumps(tuning))
    dagrun = _tune(emulator, "gcp_connection_linked", "gemini_vertex_gcp", deferrable=True)
    assert ti_of(dagrun, "tune").state == "success"
    assert xcom(dagrun, "tune")["job_name"].startswith("projects/key-project/locations/europe-west4/tuningJobs/")
    assert stat(emulator, "oauth2_tokens_issued") >= 1
    out = capfd.readouterr().out
    assert sa_key["private_key"].splitlines()[1] not in out and sa_key["private_key_id"] not in out


def test_a_key_the_token_endpoint_refuses_fails_the_task_without_paying(emulator, airflow_db, monkeypatch, key, capfd):
    sa_key, _ = key
    wrong = {**sa_key, "token_uri": f"{emulator.url}/_emulator/oauth2/no-such-endpoint"}
    _gcp_connection(monkeypatch, keyfile_dict=json.dumps(wrong), project=PROJECT)
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", emulator.url)
    dagrun = _tune(emulator, "gcp_connection_refused", "google_cloud_default")
    assert ti_of(dagrun, "tune").state == "failed"
    assert (
        "UNAUTHENTICATED (HTTP 401): Could not get a Google Cloud access token (RefreshError)" in capfd.readouterr().out
    )
    assert emulator.stats()["jobs_created"]["vertex_ai"] == 0
