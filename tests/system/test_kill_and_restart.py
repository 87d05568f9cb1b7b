"""What happens to a running tuning job when its task is killed, its worker dies or the triggerer restarts.

A real deployment (PostgreSQL, Redis, CeleryExecutor with one worker, scheduler, dag-processor,
triggerer, api-server) and the emulator in its own process, on Vertex AI:

* a user's "mark failed" of a deferred tune task cancels the remote job (the trigger's ``on_kill``);
* a worker shutdown (SIGTERM to the worker's process group, SIGKILL after a grace period, as a pod
  eviction does) while the task runs leaves the job alone, and the retry reattaches: one job;
* restarting the triggerer while a deferred task waits resumes the wait: the task succeeds, one job.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.helpers import conn_json, next_number_examples, write_vertex_dataset
from tests.system.harness import AirflowDeployment, Service, start_emulator, wait_until

PARENT = "projects/demo-project/locations/us-central1"
RUNNING = {"JOB_STATE_PENDING", "JOB_STATE_QUEUED", "JOB_STATE_RUNNING"}
WORKER = "worker"
#: emulator pace: a job trains for about 40 examples / batch x epochs x STEP_SECONDS
STEP_SECONDS = 1.0


@pytest.fixture(scope="module")
def slow_emulator(services, system_root) -> Service:
    """An emulator whose jobs train for minutes, with the tests' dataset on its ``gs://``."""
    emulator = start_emulator(services, system_root / "gcs", step_seconds=STEP_SECONDS, startup_seconds=1)
    write_vertex_dataset(emulator.gcs_root, next_number_examples(40), key="system-tests/train.jsonl")
    return emulator


@pytest.fixture(scope="module")
def airflow(make_deployment, postgres, redis, slow_emulator) -> AirflowDeployment:
    deployment = make_deployment("kill", executor="CeleryExecutor", database_url=postgres.url)
    deployment.config.update(
        {
            ("core", "dags_folder"): str(Path(__file__).with_name("dags")),
            ("celery", "broker_url"): redis.url,
            ("celery", "result_backend"): "db+" + postgres.url,
            # a dead worker's task is noticed within a minute (default: 5 minutes)
            ("scheduler", "task_instance_heartbeat_timeout"): "45",
            ("scheduler", "task_instance_heartbeat_sec"): "3",
            ("scheduler", "task_instance_heartbeat_timeout_detection_interval"): "5",
        }
    )
    deployment.env_extra["AIRFLOW_CONN_GEMINI_VERTEX"] = conn_json("vertex_ai", slow_emulator.url)
    deployment.use_emulator_gcs(slow_emulator.gcs_root)
    deployment.migrate()
    deployment.start_scheduler()
    deployment.start_dag_processor()
    deployment.start_triggerer()
    deployment.start_celery_worker(WORKER)
    deployment.start_api_server()
    deployment.wait_healthy()
    for mode in ("deferred", "blocking"):
        deployment.rest.wait_for_dag(f"system_tune_{mode}")
    return deployment


def _vertex(emulator: Service, path: str) -> dict:
    response = httpx.get(f"{emulator.url}/v1beta1/{path}", headers={"Authorization": "Bearer t"}, timeout=30)
    response.raise_for_status()
    return response.json()


def _jobs_named(emulator: Service, display_name: str) -> list[dict]:
    jobs = _vertex(emulator, f"{PARENT}/tuningJobs?pageSize=100").get("tuningJobs", [])
    return [job for job in jobs if job.get("tunedModelDisplayName") == display_name]


def _start(airflow: AirflowDeployment, mode: str, state: str, **conf) -> tuple[str, str]:
    """Trigger ``system_tune_{mode}`` and wait until its task is in ``state`` with its job submitted."""
    dag_id = f"system_tune_{mode}"
    run_id = airflow.rest.trigger(dag_id, conf)

    def submitted() -> str | None:
        ti = airflow.rest.task_instances(dag_id, run_id)["tune"]
        if ti["state"] != state:
            return None
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/tune/xcomEntries/tuning_job_name"
        response = airflow.rest.request("GET", path, ok=(404,), params={"deserialize": True})
        return response.json()["value"] if response.status_code == 200 else None

    job_name = wait_until(
        submitted, timeout=300, what=f"tune of {run_id} {state} with a job", interval=1, logs=airflow.log_tails
    )
    return run_id, job_name


def test_a_user_marking_the_deferred_task_failed_cancels_the_job(airflow, slow_emulator):
    run_id, job_name = _start(airflow, "deferred", "deferred")
    _wait_for_the_trigger(airflow, "system_tune_deferred", run_id)  # a trigger not started yet has no on_kill
    assert _vertex(slow_emulator, job_name)["state"] in RUNNING
    airflow.rest.request(
        "PATCH",
        f"/dags/system_tune_deferred/dagRuns/{run_id}/taskInstances/tune",
        json={"new_state": "failed"},
    )
    wait_until(
        lambda: _vertex(slow_emulator, job_name)["state"] in {"JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"},
        timeout=180,
        what=f"{job_name} to be cancelled",
        logs=lambda: _read(_trigger_logs(airflow, "system_tune_deferred", run_id)) + airflow.log_tails(),
    )
    assert airflow.rest.wait_for_run("system_tune_deferred", run_id) == "failed"


def test_a_worker_shutdown_leaves_the_job_running_and_the_retry_reattaches(airflow, slow_emulator):
    dag_id = "system_tune_blocking"
    run_id, job_name = _start(airflow, "blocking", "running")
    airflow.processes.stop(airflow.processes.named(WORKER), grace=5)  # SIGTERM, then SIGKILL: a pod eviction
    assert _vertex(slow_emulator, job_name)["state"] in RUNNING  # not cancelled
    airflow.start_celery_worker(WORKER)

    assert airflow.rest.wait_for_run(dag_id, run_id) == "success"
    ti = airflow.rest.task_instances(dag_id, run_id)["tune"]
    assert ti["try_number"] == 2
    jobs = _jobs_named(slow_emulator, f"{dag_id}.tune")
    assert [job["name"] for job in jobs] == [job_name], jobs  # one job for the task: the retry reattached
    assert jobs[0]["state"] == "JOB_STATE_SUCCEEDED"
    assert airflow.rest.xcom(dag_id, run_id, "tune")["job_name"] == job_name


def test_a_triggerer_restart_resumes_the_wait(airflow, slow_emulator):
    dag_id = "system_tune_deferred"
    run_id, job_name = _start(airflow, "deferred", "deferred", epoch_count=8)
    _wait_for_the_trigger(airflow, dag_id, run_id)
    airflow.processes.stop(airflow.processes.named("triggerer"))
    assert _vertex(slow_emulator, job_name)["state"] in RUNNING  # the restart did not cancel it
    airflow.start_triggerer()

    assert airflow.rest.wait_for_run(dag_id, run_id) == "success"
    ti = airflow.rest.task_instances(dag_id, run_id)["tune"]
    assert ti["try_number"] == 1
    assert len(_trigger_logs(airflow, dag_id, run_id)) == 2  # one per triggerer: the new one resumed the wait
    assert _vertex(slow_emulator, job_name)["state"] == "JOB_STATE_SUCCEEDED"
    assert airflow.rest.xcom(dag_id, run_id, "tune")["job_name"] == job_name


def _wait_for_the_trigger(airflow: AirflowDeployment, dag_id: str, run_id: str) -> None:
    """Wait until a triggerer runs the task's trigger (its log shows a poll of the running job)."""
    wait_until(
        lambda: [log for log in _trigger_logs(airflow, dag_id, run_id) if ": RUNNING" in log.read_text()],
        timeout=180,
        what="the triggerer to poll the job",
        logs=airflow.log_tails,
    )


def _read(paths: list[Path]) -> str:
    return "".join(f"----- {path} -----\n{path.read_text(errors='replace')}\n" for path in paths)


def _trigger_logs(airflow: AirflowDeployment, dag_id: str, run_id: str) -> list[Path]:
    """The trigger's log files, one per triggerer that ran it (``attempt=1.log.trigger.{triggerer job id}.log``)."""
    return sorted((airflow.home / "logs").glob(f"dag_id={dag_id}/run_id={run_id}/task_id=tune/*.trigger.*.log"))
