"""``apoll_tuning_job``: what a trigger's poll costs while a job runs, and what it returns once done."""

from __future__ import annotations

import asyncio

import pytest

from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.models import JobState
from tests.helpers import API_KEY, GEMINI_CONN_ID, conn_json, next_number_examples

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"


def gets(emulator, suffix: str) -> int:
    """GET requests the emulator served on routes ending with ``suffix``."""
    return sum(n for route, n in emulator.stats()["requests"].items() if route.startswith("GET") and route.endswith(suffix))


@pytest.fixture
def slow_gemini(monkeypatch, tmp_path):
    """A Gemini API emulator whose jobs take 25 s: they stay running while the test polls."""
    from gemini_tuning.emulator.server import EmulatorServer

    with EmulatorServer(api_key=API_KEY, gcs_root=str(tmp_path), step_seconds=0.5, startup_seconds=0.0) as server:
        monkeypatch.setenv(f"AIRFLOW_CONN_{GEMINI_CONN_ID.upper()}", conn_json("gemini_api", server.url))
        yield server


def test_gemini_poll_of_a_running_job_reads_the_operation_only_when_the_state_changes(slow_gemini):
    hook = GeminiTuningHook(GEMINI_CONN_ID)
    name = hook.create_tuning_job(base_model=BASE_MODEL, training_examples=next_number_examples(40)).name
    operations, models = gets(slow_gemini, "/operations"), gets(slow_gemini, "}")

    async def three_polls():
        first = await hook.apoll_tuning_job(name)
        second = await hook.apoll_tuning_job(name, first.state)
        third = await hook.apoll_tuning_job(name, second.state)
        return first, second, third

    first, second, third = asyncio.run(three_polls())
    assert first.state is second.state is third.state is JobState.RUNNING
    assert gets(slow_gemini, "}") - models == 3
    assert gets(slow_gemini, "/operations") - operations == 1  # the first poll only: the state was new
    assert first.total_steps == 50  # from the operation
    assert len(third.snapshots) <= 1  # only the latest loss snapshot while running


def test_gemini_poll_of_a_finished_job_is_whole(gemini_conn, emulator):
    hook = GeminiTuningHook(gemini_conn)
    job = hook.create_tuning_job(base_model=BASE_MODEL, training_examples=next_number_examples(40))
    done = hook.wait_for_tuning_job(job.name, poll_interval=0.02, timeout=60)
    operations = gets(emulator, "/operations")

    polled = asyncio.run(hook.apoll_tuning_job(job.name, JobState.SUCCEEDED))
    assert gets(emulator, "/operations") - operations == 1  # terminal: the operation is read again
    assert polled.state is JobState.SUCCEEDED
    assert polled.snapshots == done.snapshots and len(polled.snapshots) == done.total_steps
    assert polled.completed_percent == 100.0
