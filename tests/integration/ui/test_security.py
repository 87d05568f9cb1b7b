"""Security of the plugin under Airflow's real app: authentication, per-DAG authorization, escaping, secrets."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.routing import APIRoute

from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.ui.live import StatusBoard
from tests.helpers import API_KEY, GEMINI_CONN_ID, next_number_examples
from tests.integration.ui.test_views import FakeService, tab_path
from tests.ui_helpers import TaskRecord, evaluation, summary, validation_report, write_records

OPEN, SECRET = "tuning_open", "secret_tuning"
SECRET_JOB = "tunedModels/secret-job-1"
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_ATTR = '"><img src=x onerror="window.__xss=2">'
PATH_VALUES = {"dag_id": OPEN, "run_id": "manual__r1", "task_id": "tune", "map_index": "-1", "name": "ui.css"}


def plugin_paths(ui) -> list[str]:
    """Every route of the plugin's app, with its path parameters filled in."""
    paths = []
    for route in ui.app.routes:
        if isinstance(route, APIRoute):
            paths.append(re.sub(r"{(\w+)(:\w+)?}", lambda m: PATH_VALUES[m.group(1)], route.path))
    return paths


def test_plugin_is_registered_with_its_app_and_three_views(ui):
    from airflow import plugins_manager

    (info,) = [p for p in plugins_manager.get_plugin_info() if p["name"] == "gemini_tuning"]
    assert [(a["url_prefix"], a["name"]) for a in info["fastapi_apps"]] == [("/gemini-tuning", "Gemini Tuning")]
    views = {v["destination"]: v["href"] for v in info["external_views"]}
    assert views == {
        "nav": "/gemini-tuning/",
        "task_instance": "/gemini-tuning/tasks/{DAG_ID}/{RUN_ID}/{TASK_ID}/{MAP_INDEX}",
        "dag": "/gemini-tuning/dags/{DAG_ID}/history",
    }
    assert plugins_manager.get_import_errors() == {}


def test_every_route_needs_an_authenticated_user(ui):
    paths = plugin_paths(ui)
    assert len(paths) == 7
    for path in paths:
        assert ui.get(path, user=None).status_code == 401, path
        forged = ui.client.get(f"/gemini-tuning{path}", headers={"Authorization": "Bearer not-a-token"})
        assert forged.status_code == 403, path
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert ui.get(path).status_code == 404, path


@pytest.fixture
def two_dags(db_session):
    records = []
    for dag, job in ((OPEN, "tunedModels/open-job-1"), (SECRET, SECRET_JOB)):
        records += [
            TaskRecord(dag, "manual__r1", "tune", xcoms={"tuning_job_name": job, "return_value": summary(job)}),
            TaskRecord(
                dag, "manual__r1", "evaluate", "EvaluateTunedModelOperator", xcoms={"return_value": evaluation(job)}
            ),
        ]
    write_records(db_session, records)


def test_a_user_without_access_to_a_dag_gets_nothing_of_it(ui, two_dags):
    # (other tests' DAGs may be in the session's DB too: a full page shows them all)
    assert {OPEN, SECRET} <= {j["task"]["dag_id"] for j in ui.get("/api/jobs", page_size=100).json()["jobs"]}
    listed = ui.get("/api/jobs", user="limited", page_size=100)
    assert listed.status_code == 200
    assert OPEN in {j["task"]["dag_id"] for j in listed.json()["jobs"]}
    assert SECRET not in listed.text and SECRET_JOB not in listed.text
    page = ui.get("/", user="limited", page_size=100).text
    assert OPEN in page and SECRET not in page and SECRET_JOB not in page
    filtered = ui.get("/api/jobs", user="limited", dag=SECRET).json()
    assert (filtered["total"], filtered["jobs"]) == (0, [])  # the same answer as for a DAG that doesn't exist
    for path in (
        tab_path("manual__r1", "tune", SECRET),
        tab_path("manual__r1", "evaluate", SECRET),
        f"/dags/{SECRET}/history",
    ):
        for route in (path, "/api" + path):
            response = ui.get(route, user="limited")
            assert response.status_code == 403, route
            assert SECRET_JOB not in response.text
        assert ui.get(path).status_code == 200  # the admin may


@pytest.fixture
def hostile(db_session, tmp_path):
    """Records whose every text field is an injection attempt, as a model or a user could produce."""
    results = tmp_path / "results.jsonl"
    row = {
        "index": 0,
        "line": 1,
        "input": XSS_ATTR,
        "expected": XSS_SCRIPT,
        "tuned_output": XSS_SCRIPT,
        "baseline_output": XSS_ATTR,
        "tuned_scores": {"exact_match": 1.0},
        "baseline_scores": {"exact_match": 0.0},
        "tuned_error": None,
        "baseline_error": None,
        "failed": False,
        "error": None,
    }
    results.write_text(json.dumps(row) + "\n")
    job = f"tunedModels/{XSS_ATTR}"
    write_records(
        db_session,
        [
            TaskRecord(
                OPEN,
                "manual__r1",
                "validate",
                "ValidateTuningDatasetOperator",
                xcoms={"return_value": validation_report(source=XSS_SCRIPT, warnings=[XSS_ATTR])},
            ),
            TaskRecord(
                OPEN,
                "manual__r1",
                "tune",
                xcoms={
                    "tuning_job_name": job,
                    "tuning_job_url": "javascript:alert(1)",
                    "return_value": summary(
                        job,
                        base_model=XSS_ATTR,
                        tuned_model=XSS_SCRIPT,
                        prompt_template=XSS_SCRIPT,
                        hyperparameters={XSS_SCRIPT: XSS_ATTR},
                        console_url="javascript:alert(2)",
                    ),
                },
            ),
            TaskRecord(
                OPEN,
                "manual__r1",
                "evaluate",
                "EvaluateTunedModelOperator",
                state="failed",
                xcoms={
                    "return_value": evaluation(
                        job,
                        0.1,
                        baseline_model=XSS_SCRIPT,
                        results_uri=results.as_uri(),
                        gates={"passed": False, "reasons": [XSS_ATTR]},
                    )
                },
            ),
            TaskRecord(OPEN, "manual__r2", "tune", state="failed", xcoms={"tuning_job_name": "tunedModels/broken"}),
        ],
    )


def test_untrusted_text_is_escaped_everywhere(ui, hostile):
    from gemini_tuning.models import JobState, TuningJob

    service = FakeService()
    service.jobs["tunedModels/broken"] = TuningJob(
        name="tunedModels/broken", backend="gemini_api", state=JobState.FAILED, error_message=XSS_SCRIPT
    )
    previous, ui.app.state.status_board = (
        ui.app.state.status_board,
        StatusBoard(ttl=600, timeout=5, concurrency=1, fetch=service),
    )
    try:
        pages = {
            path: ui.get(path)
            for path in (
                "/",
                tab_path("manual__r1", "tune"),
                tab_path("manual__r1", "evaluate"),
                tab_path("manual__r2", "tune"),
                f"/dags/{OPEN}/history",
            )
        }
    finally:
        ui.app.state.status_board = previous
    escaped_script = "&lt;script&gt;window.__xss=1&lt;/script&gt;"
    for path, response in pages.items():
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
        html = response.text
        assert XSS_SCRIPT not in html and XSS_ATTR not in html and "<img" not in html, path
        assert "javascript:" not in html, path
        assert escaped_script in html or "&#34;&gt;&lt;img" in html, path
    assert pages[tab_path("manual__r1", "evaluate")].text.count(escaped_script) >= 2  # expected + tuned answer
    json_response = ui.get("/api" + tab_path("manual__r1", "evaluate"))
    assert json_response.headers["content-type"] == "application/json"
    assert json_response.headers["x-content-type-options"] == "nosniff"
    assert json_response.json()["results"]["rows"][0]["tuned"] == XSS_SCRIPT  # data, not markup


def test_no_credential_reaches_a_page_or_json(ui, db_session, emulator, gemini_conn, monkeypatch):
    """A running job asked about through real connections: an API key, a service-account key, a token."""
    key_json = json.dumps(
        {
            "type": "service_account",
            "private_key": "-----BEGIN PRIVATE KEY-----KEYMATERIAL0042",
            "client_email": "sa@example.iam.gserviceaccount.com",
            "token_uri": "https://x",
        }
    )
    for conn_id, secret in (("VERTEX_KEYED", {"key_json": key_json}), ("VERTEX_TOKEN", {"access_token": "TOKEN0042"})):
        extra = {"backend": "vertex_ai", "project": "p", "base_url": emulator.url, "retries": 1, **secret}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", json.dumps({"conn_type": "gemini_tuning", "extra": extra}))
    job = GeminiTuningHook(gemini_conn).create_tuning_job(
        base_model="models/gemini-1.5-flash-001-tuning", training_examples=next_number_examples(40), job_id="ui-live"
    )
    write_records(
        db_session,
        [
            TaskRecord(
                OPEN,
                "manual__r1",
                "tune",
                state="deferred",
                xcoms={"tuning_job_name": job.name},
                rendered={"gemini_conn_id": GEMINI_CONN_ID},
            ),
            TaskRecord(
                OPEN,
                "manual__r2",
                "tune",
                state="deferred",
                xcoms={"tuning_job_name": "tunedModels/missing"},
                rendered={"gemini_conn_id": GEMINI_CONN_ID},
            ),
            TaskRecord(
                OPEN,
                "manual__r3",
                "tune",
                state="running",
                xcoms={"tuning_job_name": "projects/p/locations/us-central1/tuningJobs/1"},
                rendered={"gemini_conn_id": "vertex_keyed"},
            ),
            TaskRecord(
                OPEN,
                "manual__r4",
                "tune",
                state="running",
                xcoms={"tuning_job_name": "projects/p/locations/us-central1/tuningJobs/2"},
                rendered={"gemini_conn_id": "vertex_token"},
            ),
        ],
    )
    previous, ui.app.state.status_board = ui.app.state.status_board, StatusBoard(ttl=600, timeout=20, concurrency=2)
    try:
        responses = [ui.get(path) for path in plugin_paths(ui)]
        responses += [ui.get("/api/jobs", page_size=100)] + [
            ui.get(tab_path(f"manual__r{i}", "tune")) for i in range(1, 5)
        ]
        responses += [ui.get("/api" + tab_path(f"manual__r{i}", "tune")) for i in range(1, 5)]
    finally:
        ui.app.state.status_board = previous
    jobs = {j["job_name"]: j for j in ui.get("/api/jobs", dag=OPEN).json()["jobs"]}
    assert jobs[job.name]["source"] == "service"  # the live status was really asked for
    assert all(j["note"] for name, j in jobs.items() if name != job.name)  # the others failed, visibly
    for response in responses:
        assert response.status_code in (200, 404), response.url
        for secret in (API_KEY, "KEYMATERIAL0042", "TOKEN0042", "BEGIN PRIVATE KEY"):
            assert secret not in response.text, (secret, response.url)
