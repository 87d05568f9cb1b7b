"""``apoll_tuning_job``: what a trigger's poll costs while a job runs, and what it returns once done."""

from __future__ import annotations

import asyncio

import pytest

from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.models import JobState
from tests.helpers import API_KEY, conn_json, next_number_examples, write_vertex_dataset

BASE_MODEL = {"gemini_api": "models/gemini-1.5-flash-001-tuning", "vertex_ai": "gemini-2.0-flash-001"}
CONN_ID = "gemini_poll_test"


def gets(emulator, suffix: str) -> int:
    """GET requests the emulator served on routes ending with ``suffix``."""
    return sum(
        n for route, n in emulator.stats()["requests"].items() if route.startswith("GET") and route.endswith(suffix)
    )


def submit(hook: GeminiTuningHook, backend: str, gcs_root) -> str:
    examples = next_number_examples(40)
    if backend == "gemini_api":
        data = {"training_examples": examples}
    else:
        data = {"training_dataset_uri": write_vertex_dataset(gcs_root, examples)}
    return hook.create_tuning_job(base_model=BASE_MODEL[backend], **data).name


@pytest.fixture(params=["gemini_api", "vertex_ai"])
def slow(request, monkeypatch, tmp_path):
    """An emulator whose jobs take 25 s (they stay running while the test polls), and a connection to it."""
    from gemini_tuning.emulator.gcs import register_gcs_emulator
    from gemini_tuning.emulator.server import EmulatorServer

    register_gcs_emulator(str(tmp_path))
    with EmulatorServer(api_key=API_KEY, gcs_root=str(tmp_path), step_seconds=0.5, startup_seconds=0.0) as server:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", conn_json(request.param, server.url))
        yield request.param, server, tmp_path


def test_poll_of_a_running_job_is_one_request_with_the_latest_snapshot_at_most(slow):
    backend, emulator, gcs_root = slow
    hook = GeminiTuningHook(CONN_ID)
    name = submit(hook, backend, gcs_root)
    operations, resources = gets(emulator, "/operations"), gets(emulator, "}")

    async def three_polls():
        first = await hook.apoll_tuning_job(name)
        second = await hook.apoll_tuning_job(name, first.state)
        third = await hook.apoll_tuning_job(name, second.state)
        return first, second, third

    first, second, third = asyncio.run(three_polls())
    assert first.state is second.state is third.state is JobState.RUNNING
    assert gets(emulator, "}") - resources == 3
    if backend == "gemini_api":
        assert gets(emulator, "/operations") - operations == 1  # the first poll only: the state was new
        assert first.total_steps == 50  # from the operation
    assert len(third.snapshots) <= 1  # only the latest loss snapshot while running
    assert third.name == name and third.console_url


def test_poll_of_a_finished_job_is_the_whole_job(backend_conn, emulator):
    backend, conn_id = backend_conn
    hook = GeminiTuningHook(conn_id)
    name = submit(hook, backend, emulator.gcs_root)
    done = hook.wait_for_tuning_job(name, poll_interval=0.02, timeout=60)

    polled = asyncio.run(hook.apoll_tuning_job(name, JobState.RUNNING))
    assert polled == done
    assert polled.state is JobState.SUCCEEDED and polled.completed_percent == 100.0
    if backend == "gemini_api":
        assert len(polled.snapshots) == done.total_steps
    else:
        assert polled.tuned_model and polled.endpoint
