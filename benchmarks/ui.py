"""Server time of the UI plugin's pages with 5,000 tuning task instances in the metadata DB.

Fills a throw-away SQLite metadata DB (or ``--db-url``) with tuning runs: per run a validate, a tune
and an evaluate task instance and their XComs, 90% finished, 6% failed, 4% still running. Then,
in this process, Airflow's real FastAPI app (``create_app``, the plugin mounted, JWT auth) answers
each page ``--repeat`` times; the time of each request is measured around the call, so it is the
server's time without a network. Running jobs are answered by an instant stand-in for the service,
so the figures are the plugin's own cost (DB, parsing, rendering, auth), not the service's latency.

    .venv/bin/python benchmarks/ui.py            # 5,000 tuning tasks, 50 requests per page
    .venv/bin/python benchmarks/ui.py --tasks 500 --repeat 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def configure(db_url: str | None) -> Path:
    home = Path(tempfile.mkdtemp(prefix="gemini-tuning-ui-bench-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url or f"sqlite:///{home}/airflow.db",
            "AIRFLOW__API_AUTH__JWT_SECRET": "benchmark-secret-" + "0" * 32,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    return home


def seed(tasks: int, dags: int, home: Path) -> dict[str, str]:
    """``tasks`` tuning task instances spread over ``dags`` DAGs, one run each; returns sample ids."""
    sys.path.insert(0, str(REPO))
    from airflow.utils.session import create_session

    from tests.ui_helpers import TaskRecord, evaluation, summary, validation_report, write_records

    results = home / "results.jsonl"
    results.write_text(
        "".join(
            f'{{"line": {i}, "input": "ticket {i}", "expected": "billing", "tuned_output": "billing", '
            f'"baseline_output": "shipping", "tuned_scores": {{"exact_match": 1.0}}, "error": null}}\n'
            for i in range(1, 1001)
        )
    )
    records = []
    for i in range(tasks):
        dag, run, job = f"tuning_{i % dags:03d}", f"scheduled__{i:05d}", f"tunedModels/bench-{i:05d}"
        if i % 25 == 0:  # 4% still running: only the job's name so far
            records.append(TaskRecord(dag, run, "tune", state="deferred", xcoms={"tuning_job_name": job}))
            continue
        if i % 16 == 1:  # ~6% failed jobs
            records.append(TaskRecord(dag, run, "tune", state="failed", xcoms={"tuning_job_name": job}))
            continue
        report = validation_report(training_dataset_uri=f"file:///staging/{i}/train.jsonl")
        records += [
            TaskRecord(dag, run, "validate", "ValidateTuningDatasetOperator", xcoms={"return_value": report}),
            TaskRecord(dag, run, "tune", xcoms={"tuning_job_name": job, "return_value": summary(job)}),
            TaskRecord(
                dag,
                run,
                "evaluate",
                "EvaluateTunedModelOperator",
                xcoms={"return_value": evaluation(job, results_uri=results.as_uri())},
            ),
        ]
    started = time.perf_counter()
    with create_session() as session:
        for start in range(0, len(records), 3000):
            write_records(session, records[start : start + 3000])
    print(f"seeded {tasks:,} tuning tasks ({len(records):,} task instances) in {time.perf_counter() - started:.1f}s")
    finished = next(r for r in records if r.task_id == "tune" and r.state == "success")
    return {"dag": finished.dag_id, "run": finished.run_id}


def measure(client, headers, path: str, repeat: int) -> tuple[float, float, int]:
    client.get(path, headers=headers)  # warm: templates compiled, live status cached
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)], len(response.content)


def count_xcom_queries(client, headers, path: str) -> int:
    from airflow import settings
    from sqlalchemy import event

    statements = []

    def record(conn, cursor, statement, *args):
        if "xcom" in statement.lower():
            statements.append(statement)

    event.listen(settings.engine, "before_cursor_execute", record)
    try:
        client.get(path, headers=headers)
    finally:
        event.remove(settings.engine, "before_cursor_execute", record)
    return len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--dags", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--db-url", help="an empty database to use instead of a temporary SQLite file")
    args = parser.parse_args()

    home = configure(args.db_url)
    sample = seed(args.tasks, args.dags, home)

    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from gemini_tuning.models import JobState, TuningJob
    from gemini_tuning.ui import plugin
    from gemini_tuning.ui.live import StatusBoard

    def service(conn_id: str, name: str, timeout: float) -> TuningJob:
        return TuningJob(name=name, backend="gemini_api", state=JobState.RUNNING, completed_percent=42.0)

    with TestClient(create_app(apps="core")) as client:
        plugin.app.app.state.status_board = StatusBoard(ttl=30, timeout=3, concurrency=4, fetch=service)
        user = SimpleAuthManagerUser(username="admin", role="admin")
        headers = {"Authorization": f"Bearer {get_auth_manager().generate_jwt(user)}"}
        run = sample["run"]
        pages = {
            "jobs JSON, page 1 (25 rows)": "/gemini-tuning/api/jobs",
            "jobs JSON, page 100": "/gemini-tuning/api/jobs?page=100",
            "jobs JSON, 100 rows": "/gemini-tuning/api/jobs?page_size=100",
            "jobs JSON, filtered by DAG": f"/gemini-tuning/api/jobs?dag={sample['dag']}",
            "jobs page (HTML)": "/gemini-tuning/",
            "task tab, finished job (HTML)": f"/gemini-tuning/tasks/{sample['dag']}/{run}/tune/-1",
            "task tab, evaluation (HTML)": f"/gemini-tuning/tasks/{sample['dag']}/{run}/evaluate/-1",
            "DAG history tab (HTML)": f"/gemini-tuning/dags/{sample['dag']}/history",
        }
        print(f"\n{args.tasks:,} tuning tasks, {args.repeat} requests each, in-process (no network)\n")
        print("| page | median ms | p95 ms | bytes | XCom queries |")
        print("|---|---:|---:|---:|---:|")
        for name, path in pages.items():
            median, p95, size = measure(client, headers, path, args.repeat)
            queries = count_xcom_queries(client, headers, path)
            print(f"| {name} | {median:.1f} | {p95:.1f} | {size:,} | {queries} |")


if __name__ == "__main__":
    main()
