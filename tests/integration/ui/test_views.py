"""The plugin's three views and their JSON under Airflow's real app: content, live status, nothing-to-show."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from gemini_tuning.models import JobState, Snapshot, TuningJob
from gemini_tuning.ui.live import StatusBoard
from tests.ui_helpers import TaskRecord, evaluation, summary, validation_report, write_records

DAG = "tuning_open"
RUN1, RUN2, RUN3 = "manual__run1", "manual__run2", "manual__run3"
DONE_JOB, RUNNING_JOB, FAILED_JOB = "tunedModels/done-1", "tunedModels/running-2", "tunedModels/failed-3"


class FakeService:
    """Stands in for the hook's ``get_tuning_job``: answers from ``jobs``, or raises while ``down``."""

    def __init__(self) -> None:
        self.jobs: dict[str, TuningJob] = {}
        self.calls: list[tuple[str, str]] = []
        self.down: str | None = None

    def __call__(self, conn_id: str, name: str, timeout: float) -> TuningJob:
        self.calls.append((conn_id, name))
        if self.down:
            raise RuntimeError(self.down)
        return self.jobs[name]


@pytest.fixture
def service(ui):
    fake = FakeService()
    previous = ui.app.state.status_board
    ui.app.state.status_board = StatusBoard(ttl=600, timeout=5, concurrency=2, fetch=fake)
    yield fake
    ui.app.state.status_board = previous


def running_job(percent: float, epochs_done: int) -> TuningJob:
    snapshots = [Snapshot(step=s, epoch=1 + (s - 1) // 10, mean_loss=1.0 / s) for s in range(1, 10 * epochs_done + 1)]
    return TuningJob(
        name=RUNNING_JOB,
        backend="gemini_api",
        state=JobState.RUNNING,
        base_model="models/gemini-1.5-flash-001-tuning",
        completed_percent=percent,
        snapshots=snapshots,
        hyperparameters={"epoch_count": 5, "batch_size": 4},
    )


def results_file(tmp_path) -> str:
    rows = [
        {
            "index": 0,
            "line": 1,
            "input": "ticket 1",
            "expected": "billing",
            "tuned_output": "billing",
            "baseline_output": "billing",
            "tuned_scores": {"exact_match": 1.0},
            "baseline_scores": {"exact_match": 1.0},
            "tuned_error": None,
            "baseline_error": None,
            "failed": False,
            "error": None,
        },
        {
            "index": 1,
            "line": 2,
            "input": "ticket 2",
            "expected": "shipping",
            "tuned_output": "billing",
            "baseline_output": "I think it is about shipping",
            "tuned_scores": {"exact_match": 0.0},
            "baseline_scores": {"exact_match": 0.0},
            "tuned_error": None,
            "baseline_error": None,
            "failed": False,
            "error": None,
        },
    ]
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path.as_uri()


@pytest.fixture
def records(db_session, tmp_path):
    results = results_file(tmp_path)
    write_records(
        db_session,
        [
            TaskRecord(
                DAG,
                RUN1,
                "validate",
                "ValidateTuningDatasetOperator",
                xcoms={"return_value": validation_report(source="file:///raw/tickets.jsonl")},
            ),
            TaskRecord(
                DAG,
                RUN1,
                "tune",
                xcoms={
                    "tuning_job_name": DONE_JOB,
                    "tuning_job_url": "https://aistudio.example/done",
                    "return_value": summary(DONE_JOB),
                },
                rendered={"gemini_conn_id": "gemini_tuning_default"},
            ),
            TaskRecord(
                DAG,
                RUN1,
                "evaluate",
                "EvaluateTunedModelOperator",
                xcoms={"return_value": evaluation(DONE_JOB, 0.95, 0.25, results_uri=results)},
            ),
            TaskRecord(DAG, RUN1, "extract", "_PythonDecoratedOperator", xcoms={"return_value": "file:///raw"}),
            TaskRecord(DAG, RUN1, "tune_before_plugin", state="success"),
            TaskRecord(
                DAG,
                RUN2,
                "tune",
                state="deferred",
                xcoms={"tuning_job_name": RUNNING_JOB},
                rendered={"gemini_conn_id": "my_conn"},
            ),
            TaskRecord(DAG, RUN3, "tune", state="failed", xcoms={"tuning_job_name": FAILED_JOB}),
        ],
    )


def test_jobs_page_lists_every_job_newest_first_with_its_evaluation(ui, records, service):
    service.jobs[RUNNING_JOB] = running_job(40.0, 2)
    service.jobs[FAILED_JOB] = TuningJob(
        name=FAILED_JOB, backend="gemini_api", state=JobState.FAILED, error_message="quota exhausted"
    )
    body = ui.get("/api/jobs", dag=DAG).json()  # other tests' jobs may share the session's DB
    assert body["total"] == 3
    jobs = {job["job_name"]: job for job in body["jobs"]}
    assert [job["job_name"] for job in body["jobs"]] == [FAILED_JOB, RUNNING_JOB, DONE_JOB]
    done = jobs[DONE_JOB]
    assert (done["state"], done["progress"], done["source"]) == ("JOB_STATE_SUCCEEDED", 100.0, "summary")
    assert done["evaluation"]["headline"] == "exact_match"
    assert done["evaluation"]["metrics"]["exact_match"] == {"tuned": 0.95, "baseline": 0.25, "delta": 0.7}
    assert done["evaluation"]["passed"] is True
    assert (jobs[RUNNING_JOB]["state"], jobs[RUNNING_JOB]["progress"], jobs[RUNNING_JOB]["epoch"]) == (
        "JOB_STATE_RUNNING",
        40.0,
        2,
    )
    assert jobs[FAILED_JOB]["error"] == "quota exhausted"
    # Only jobs the task records don't finish are asked about, each through the connection the task rendered.
    assert sorted(service.calls) == [("gemini_tuning_default", FAILED_JOB), ("my_conn", RUNNING_JOB)]

    page = ui.get("/", dag=DAG).text
    assert page.count('<tr class="job"') == 3
    assert 'data-state="running"' in page and "<progress" in page and "40% · epoch 2/5" in page
    assert "gates passed" in page and "0.950" in page


def test_jobs_are_paginated_and_filtered(ui, records, service):
    service.jobs[RUNNING_JOB] = running_job(10.0, 1)
    service.jobs[FAILED_JOB] = TuningJob(name=FAILED_JOB, backend="gemini_api", state=JobState.FAILED)
    first = ui.get("/api/jobs", dag=DAG, page_size=2).json()
    second = ui.get("/api/jobs", dag=DAG, page_size=2, page=2).json()
    assert (first["total"], first["pages"], len(first["jobs"]), len(second["jobs"])) == (3, 2, 2, 1)
    assert second["jobs"][0]["job_name"] == DONE_JOB
    assert [j["job_name"] for j in ui.get("/api/jobs", dag=DAG, state="running").json()["jobs"]] == [RUNNING_JOB]
    assert [j["job_name"] for j in ui.get("/api/jobs", dag=DAG, state="failed").json()["jobs"]] == [FAILED_JOB]
    assert ui.get("/api/jobs", dag="other_dag").json()["total"] == 0
    assert "No tuning job matches these filters" in ui.get("/", dag="other_dag").text


def test_running_job_is_asked_about_once_per_interval(ui, records, service):
    service.jobs[RUNNING_JOB] = running_job(20.0, 1)
    service.jobs[FAILED_JOB] = TuningJob(name=FAILED_JOB, backend="gemini_api", state=JobState.FAILED)
    tab = tab_path(RUN2, "tune")
    for _ in range(3):
        assert ui.get(tab).status_code == 200
        ui.get("/api/jobs", dag=DAG)
    assert service.calls.count(("my_conn", RUNNING_JOB)) == 1
    assert service.calls.count(("gemini_tuning_default", FAILED_JOB)) == 1


def test_service_down_shows_the_last_known_state_and_a_note(ui, records, service):
    service.jobs[RUNNING_JOB] = running_job(60.0, 3)
    ui.get(tab_path(RUN2, "tune"))
    board = ui.app.state.status_board
    board.ttl = 0  # ask again on the next page
    service.down = "TransientServiceError: 503 UNAVAILABLE"
    response = ui.get(tab_path(RUN2, "tune"))
    assert response.status_code == 200
    assert "Could not reach the service (TransientServiceError: 503 UNAVAILABLE); showing the last known state." in (
        response.text
    )
    assert 'value="60.0"' in response.text  # the last known progress
    job = ui.get("/api" + tab_path(RUN2, "tune")).json()["job"]
    assert (job["state"], job["progress"]) == ("JOB_STATE_RUNNING", 60.0)
    assert job["note"].startswith("Could not reach the service")


def test_connection_gone_still_renders_what_airflow_recorded(ui, records, service):
    service.down = "AirflowNotFoundException: The conn_id `my_conn` isn't defined"
    response = ui.get(tab_path(RUN2, "tune"))
    assert response.status_code == 200
    assert "showing what Airflow recorded" in response.text and "isn&#39;t defined" in response.text
    assert "task deferred" in response.text


def tab_path(run_id: str, task_id: str, dag_id: str = DAG, map_index: str = "%7BMAP_INDEX%7D") -> str:
    return f"/tasks/{dag_id}/{quote(run_id, safe='')}/{task_id}/{map_index}"


def test_task_tab_of_a_finished_job(ui, records, service):
    page = ui.get(tab_path(RUN1, "tune")).text
    points = re.search(r'<svg class="chart-svg loss-chart"[^>]*data-points="(\d+)"', page)
    assert points and points.group(1) == "5"
    assert page.count('class="point epochs loss-point"') == 5
    assert "recommended: 3 epochs" in page
    for text in ("epoch_count", "learning_rate", "Classify: {ticket}", "190", "46", "exact_match"):
        assert text in page
    assert 'class="bad">4</dd>' in page  # rejected rows stand out
    body = ui.get("/api" + tab_path(RUN1, "tune")).json()
    assert body["kind"] == "job" and body["dataset"]["rejected"] == 4
    assert body["evaluation"]["task"]["task_id"] == "evaluate"
    assert service.calls == []  # a finished job is never asked about


def test_task_tab_of_an_evaluation_pages_the_per_example_results(ui, records, service):
    body = ui.get("/api" + tab_path(RUN1, "evaluate")).json()
    assert body["kind"] == "evaluation"
    assert [row["disagree"] for row in body["results"]["rows"]] == [False, True]
    only = ui.get("/api" + tab_path(RUN1, "evaluate"), disagreements="true").json()["results"]["rows"]
    assert [row["line"] for row in only] == [2]
    page = ui.get(tab_path(RUN1, "evaluate")).text
    assert page.count('<tr class="example') == 2 and page.count('<tr class="example disagree">') == 1
    second = ui.get("/api" + tab_path(RUN1, "evaluate"), offset=1).json()["results"]
    assert [row["line"] for row in second["rows"]] == [2] and second["has_more"] is False


@pytest.mark.parametrize(
    ("task_id", "message"),
    [
        ("extract", "Nothing to show: extract is not a Gemini tuning task."),
        ("tune_before_plugin", "Nothing to show yet: tune_before_plugin (success) has not recorded a tuning job"),
        ("validate", "Nothing to show: validate prepares a dataset"),
        ("no_such_task", "There is no such task instance."),
    ],
)
def test_task_tab_says_plainly_when_there_is_nothing_to_show(ui, records, service, task_id, message):
    response = ui.get(tab_path(RUN1, task_id))
    assert response.status_code == 200
    assert message in response.text.replace("&#39;", "'")
    assert ui.get("/api" + tab_path(RUN1, task_id)).json()["kind"] == "none"


def test_history_charts_runs_and_marks_the_promoted_model(ui, db_session, service):
    records = []
    for week, (tuned, epochs) in enumerate([(0.7, 5), (0.85, 3), (0.9, 3)], start=1):
        job = f"tunedModels/week-{week}"
        records += [
            TaskRecord(
                "weekly",
                f"scheduled__w{week}",
                "tune",
                xcoms={"tuning_job_name": job, "return_value": summary(job, hyperparameters={"epoch_count": epochs})},
            ),
            TaskRecord(
                "weekly",
                f"scheduled__w{week}",
                "evaluate",
                "EvaluateTunedModelOperator",
                state="success" if tuned >= 0.8 else "failed",
                xcoms={"return_value": evaluation(job, tuned)},
            ),
        ]
    write_records(db_session, records)
    body = ui.get("/api/dags/weekly/history").json()
    assert body["metric"] == "exact_match"
    assert [(r["tuned_score"], r["epochs"], r["promoted"]) for r in body["runs"]] == [
        (0.7, 5, False),
        (0.85, 3, True),
        (0.9, 3, True),
    ]
    page = ui.get("/dags/weekly/history").text
    scores = re.search(r'<svg class="chart-svg history-scores"[^>]*data-points="(\d+)"', page)
    assert scores and scores.group(1) == "6"  # tuned and baseline, three runs each
    assert page.count("★ promoted") == 2
    empty = ui.get("/dags/never_tuned/history")
    assert empty.status_code == 200 and "No tuning runs to show for this DAG" in empty.text


@pytest.fixture
def xcom_statements():
    """The SQL statements that read the XCom table while the test runs."""
    from airflow import settings
    from sqlalchemy import event

    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        if "xcom" in statement.lower():
            statements.append(statement)

    event.listen(settings.engine, "before_cursor_execute", record)
    yield statements
    event.remove(settings.engine, "before_cursor_execute", record)


def test_each_page_reads_the_records_in_one_statement_whatever_its_size(ui, db_session, service, xcom_statements):
    records = []
    for i in range(40):
        job = f"tunedModels/many-{i}"
        records += [
            TaskRecord(DAG, f"manual__{i:02d}", "tune", xcoms={"tuning_job_name": job, "return_value": summary(job)}),
            TaskRecord(
                DAG,
                f"manual__{i:02d}",
                "evaluate",
                "EvaluateTunedModelOperator",
                xcoms={"return_value": evaluation(job)},
            ),
        ]
    write_records(db_session, records)
    for path, params in [
        ("/api/jobs", {"page_size": 2}),
        ("/api/jobs", {"page_size": 40}),
        ("/", {}),
        (tab_path("manual__07", "tune"), {}),
        (f"/dags/{DAG}/history", {}),
    ]:
        xcom_statements.clear()
        assert ui.get(path, **params).status_code == 200
        assert len(xcom_statements) == 1, (path, params, xcom_statements)
    assert len(ui.get("/api/jobs", dag=DAG, page_size=40).json()["jobs"]) == 40
