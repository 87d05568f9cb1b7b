"""The example pipeline on a production-shaped deployment: PostgreSQL, Redis, CeleryExecutor, two workers.

Every component is its own process (by PID, random loopback ports, throw-away dirs): PostgreSQL,
Redis, the emulator, the api-server, scheduler, dag-processor, triggerer and two Celery workers,
each with its own ``AIRFLOW_HOME`` and working directory. Staging is on ``gs://`` (the emulator's
folder, which both workers reach, as they would reach one bucket). A task policy alternates the
pipeline's tasks between the workers' queues, so every hand-off crosses hosts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import conn_json
from tests.system.harness import AirflowDeployment, RestClient

DAG_ID = "gemini_tuning_pipeline"
STAGING_URI = "gs://gemini-tuning-staging/staging"
WORKERS = ("worker-a", "worker-b")
#: consecutive tasks on different workers: every hand-off crosses hosts
QUEUES = {
    "extract": "worker-a",
    "validate": "worker-b",
    "upload": "worker-a",
    "tune": "worker-b",
    "pick_checkpoint": "worker-a",
    "evaluate": "worker-b",
    "promote": "worker-a",
    "delete_previous": "worker-b",
}
RUN_CONF = {"gemini_conn_id": "gemini_vertex", "gcs_destination": "gs://gemini-tuning-demo/datasets"}


@pytest.fixture(scope="module")
def celery(make_deployment, postgres, redis, emulator_process) -> AirflowDeployment:
    """The whole deployment, started and healthy, with the pipeline parsed."""
    deployment = make_deployment("celery", executor="CeleryExecutor", database_url=postgres.url)
    deployment.config.update(
        {
            ("celery", "broker_url"): redis.url,
            ("celery", "result_backend"): "db+" + postgres.url,
            ("gemini_tuning", "staging_uri"): STAGING_URI,
        }
    )
    deployment.env_extra.update(
        {
            "AIRFLOW_CONN_GEMINI_VERTEX": conn_json("vertex_ai", emulator_process.url),
            "GEMINI_TUNING_POLL_INTERVAL": "1",
            "GEMINI_TUNING_SYSTEM_QUEUES": json.dumps({DAG_ID: QUEUES}),
        }
    )
    deployment.use_emulator_gcs(emulator_process.gcs_root)
    deployment.install_local_settings(Path(__file__).with_name("queue_policy.py"))
    deployment.migrate()
    deployment.start_scheduler()
    deployment.start_dag_processor()
    deployment.start_triggerer()
    for name in WORKERS:  # each also serves the default queue, so a task the policy doesn't route still runs
        deployment.start_celery_worker(name, queues=f"{name},default")
    deployment.start_api_server()  # waits for its health endpoint while the others start
    deployment.wait_healthy()
    deployment.rest.wait_for_dag(DAG_ID)
    return deployment


def test_the_pipeline_succeeds_with_its_tasks_spread_over_both_workers(celery, emulator_process):
    rest: RestClient = celery.rest
    run_id = rest.trigger(DAG_ID, RUN_CONF)
    state = rest.wait_for_run(DAG_ID, run_id)
    tis = rest.task_instances(DAG_ID, run_id)
    summary = {task: (ti["state"], ti["hostname"]) for task, ti in tis.items()}
    assert state == "success", f"{summary}\n{celery.log_tails()}"
    assert set(tis) == set(QUEUES), summary  # every task is routed
    for task, queue in QUEUES.items():
        if tis[task]["state"] != "skipped":
            assert tis[task]["hostname"] == queue, summary
    assert {ti["hostname"] for ti in tis.values() if ti["hostname"]} == set(WORKERS)

    validation = rest.xcom(DAG_ID, run_id, "validate")
    upload = rest.xcom(DAG_ID, run_id, "upload")
    tune = rest.xcom(DAG_ID, run_id, "tune")
    assert validation["training_dataset_uri"].startswith(f"{STAGING_URI}/")  # staged by worker-b
    assert upload["training_dataset_uri"].startswith("gs://gemini-tuning-demo/datasets/")  # copied by worker-a
    assert tune["backend"] == "vertex_ai" and "/endpoints/" in tune["model"]
    staged = emulator_process.gcs_root / STAGING_URI.removeprefix("gs://")
    assert any(staged.rglob("train.jsonl")), f"nothing staged under {staged}"


def test_a_local_staging_uri_is_refused_with_one_clear_line(celery):
    """The worker that validates gets a ``file://`` staging URI: validate fails with the message, nothing runs after."""
    validator = QUEUES["validate"]
    celery.processes.stop(celery.processes.named(validator))
    local = f"file://{celery.worker_home(validator)}/gemini_tuning/staging"
    celery.start_celery_worker(validator, queues=f"{validator},default", AIRFLOW__GEMINI_TUNING__STAGING_URI=local)

    run_id = celery.rest.trigger(DAG_ID, RUN_CONF)
    assert celery.rest.wait_for_run(DAG_ID, run_id) == "failed"
    tis = celery.rest.task_instances(DAG_ID, run_id)
    assert tis["extract"]["state"] == "success"
    assert tis["validate"]["state"] == "failed" and tis["validate"]["try_number"] == 1  # not retried
    assert tis["upload"]["state"] == "upstream_failed"
    log = _task_log(celery.worker_home(validator), run_id, "validate")
    expected = (
        f"The staging location {local} is on one worker's local disk, but the CeleryExecutor runs tasks on several "
        "workers, so the next task would not find the files: set [gemini_tuning] staging_uri to a gs://, s3:// or "
        "other shared location"
    )
    assert expected in log, log[-3000:]
    assert not Path(local.removeprefix("file://")).exists()  # refused before writing anything


def _task_log(home: Path, run_id: str, task_id: str) -> str:
    """The task's log file on the worker that ran it."""
    logs = list((home / "logs").glob(f"dag_id={DAG_ID}/run_id={run_id}/task_id={task_id}/attempt=*.log"))
    assert logs, f"no log for {task_id} under {home / 'logs'}"
    return "\n".join(path.read_text(errors="replace") for path in logs)
