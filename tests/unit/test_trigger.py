"""TuningJobTrigger's exact events, with a scripted hook (no emulator, no sleeping)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from gemini_tuning.exceptions import ServiceError, TransientServiceError
from gemini_tuning.models import JobState, TuningDataStats, TuningJob
from gemini_tuning.triggers import tuning
from gemini_tuning.triggers.tuning import TuningJobTrigger

NAME = "tunedModels/t-1"
URL = "https://example.test/jobs/t-1"


def job(state: JobState, **fields) -> TuningJob:
    return TuningJob(name=NAME, backend="gemini_api", state=state, **fields)


class ScriptedHook:
    """Answers each poll with the next item of ``polls`` (a job, or an exception to raise)."""

    def __init__(self, *polls, cancelled=None, cancel_error=None):
        self.polls = list(polls)
        self.seen = []  # the state each poll was told the previous one saw
        self.cancels = 0
        self.cancelled = cancelled or job(JobState.CANCELLED)
        self.cancel_error = cancel_error

    async def apoll_tuning_job(self, name, last_state=None):
        assert name == NAME
        self.seen.append(last_state)
        item = self.polls.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    async def aget_tuning_job(self, name):
        """The whole job (the trigger asks for it while it still has data limits to check)."""
        self.seen.append("whole")
        return await self.apoll_tuning_job(name, self.seen.pop())

    async def acancel_tuning_job(self, name):
        self.cancels += 1
        if self.cancel_error:
            raise self.cancel_error
        return self.cancelled


@pytest.fixture
def no_sleep(monkeypatch):
    """Record the trigger's sleeps instead of waiting; other threads (an emulator's server loop) really sleep.

    The first poll's jitter is off (``test_first_poll_is_jittered`` covers it).
    """
    delays = []
    monkeypatch.setattr(tuning, "FIRST_POLL_JITTER", 0.0)
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds, *args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            return await real_sleep(seconds, *args, **kwargs)
        delays.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return delays


def run(trigger: TuningJobTrigger, hook: ScriptedHook) -> list[dict]:
    trigger._hook = lambda: hook

    async def collect():
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def make(**kwargs) -> TuningJobTrigger:
    return TuningJobTrigger(NAME, "conn", poll_interval=1.0, job_url=URL, **kwargs)


def test_success(no_sleep):
    done = job(JobState.SUCCEEDED, tuned_model=NAME)
    hook = ScriptedHook(job(JobState.RUNNING), done)
    events = run(make(), hook)
    assert events == [{"status": "success", "job_name": NAME, "job_url": URL, "job": done.to_xcom()}]
    assert no_sleep == [1.0]
    assert hook.seen == [None, JobState.RUNNING]  # each poll knows what the previous one saw


def test_first_poll_is_jittered(monkeypatch):
    delays = []

    async def fake_sleep(seconds, *args, **kwargs):
        delays.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    for interval in (1.0, 60.0):
        delays.clear()
        trigger = TuningJobTrigger(NAME, "conn", poll_interval=interval)
        run(trigger, ScriptedHook(job(JobState.SUCCEEDED)))
        assert len(delays) == 1 and 0 < delays[0] <= min(interval, tuning.FIRST_POLL_JITTER)


def test_failure_carries_the_service_message(no_sleep):
    failed = job(JobState.FAILED, error_message="Training diverged")
    events = run(make(), ScriptedHook(failed))
    assert events == [
        {
            "status": "failed",
            "job_name": NAME,
            "job_url": URL,
            "job": failed.to_xcom(),
            "message": f"Tuning job {NAME} ended JOB_STATE_FAILED: Training diverged",
        }
    ]


@pytest.mark.parametrize("cancel", [True, False], ids=["owner-cancels", "not-owner-leaves-it"])
def test_timeout(no_sleep, cancel):
    running = job(JobState.RUNNING)
    hook = ScriptedHook(running)
    events = run(make(deadline=time.time() - 1, cancel_on_timeout=cancel), hook)
    note = " The job was cancelled." if cancel else " It was left running (this task does not own it)."
    reported = hook.cancelled if cancel else running
    assert events == [
        {
            "status": "timeout",
            "job_name": NAME,
            "job_url": URL,
            "job": reported.to_xcom(),
            "message": f"Tuning job {NAME} did not finish before its deadline (state JOB_STATE_RUNNING).{note}",
            "cancelled": cancel,
        }
    ]
    assert hook.cancels == (1 if cancel else 0)


def test_timeout_with_a_failed_cancel_is_reported_not_raised(no_sleep):
    hook = ScriptedHook(job(JobState.RUNNING), cancel_error=ServiceError("denied", http_status=403))
    (event,) = run(make(deadline=time.time() - 1, cancel_on_timeout=True), hook)
    assert event["status"] == "timeout" and event["cancelled"] is False
    assert event["message"].endswith("Cancelling it failed: (HTTP 403): denied")


def test_transient_errors_then_success(no_sleep):
    done = job(JobState.SUCCEEDED)
    flaky = TransientServiceError("unavailable", http_status=503, status="UNAVAILABLE")
    events = run(make(max_poll_failures=3), ScriptedHook(flaky, flaky, done))
    assert events == [{"status": "success", "job_name": NAME, "job_url": URL, "job": done.to_xcom()}]
    assert no_sleep == [2.0, 4.0]  # backoff: poll_interval * 2**failures


def test_transient_errors_past_the_limit_end_in_an_error_event(no_sleep):
    flaky = TransientServiceError("unavailable", http_status=503, status="UNAVAILABLE")
    (event,) = run(make(max_poll_failures=1), ScriptedHook(flaky, flaky))
    assert event == {
        "status": "error",
        "job_name": NAME,
        "job_url": URL,
        "message": "unavailable",
        "error_type": "TransientServiceError",
        "http_status": 503,
        "error_status": "UNAVAILABLE",
    }


def test_non_transient_error_is_not_retried(no_sleep):
    denied = ServiceError("Permission denied on the job", http_status=403, status="PERMISSION_DENIED")
    (event,) = run(make(), ScriptedHook(denied))
    assert event["status"] == "error" and event["error_type"] == "ServiceError"
    assert event["message"] == "Permission denied on the job" and event["http_status"] == 403
    assert no_sleep == []


@pytest.mark.parametrize(("cancel_on_kill", "cancels"), [(True, 1), (False, 0)], ids=["owner", "sensor"])
def test_kill_cancels_only_the_job_the_task_owns(cancel_on_kill, cancels):
    hook = ScriptedHook()
    trigger = make(cancel_on_kill=cancel_on_kill)
    trigger._hook = lambda: hook
    asyncio.run(trigger.on_kill())
    assert hook.cancels == cancels


def test_a_trigger_cancels_nothing_unless_told_it_owns_the_job():
    trigger = TuningJobTrigger(NAME)
    assert (trigger.cancel_on_timeout, trigger.cancel_on_kill) == (False, False)
    _, kwargs = trigger.serialize()
    assert TuningJobTrigger(**kwargs).serialize() == trigger.serialize()


def test_an_unexpected_error_is_an_error_event_not_a_crashed_trigger(no_sleep):
    (event,) = run(make(), ScriptedHook(RuntimeError("bad payload")))
    assert event == {
        "status": "error",
        "job_name": NAME,
        "job_url": URL,
        "message": "RuntimeError: bad payload",
        "error_type": "RuntimeError",
        "http_status": None,
        "error_status": None,
    }


def test_timeout_clock_stops_while_waiting_for_quota_but_hard_deadline_does_not(no_sleep, monkeypatch):
    clock = iter(float(t) for t in range(1000, 2000, 10))  # every reading of the clock is 10 s later
    monkeypatch.setattr(time, "time", lambda: next(clock))
    queued = job(JobState.RUNNING, detailed_state="WAITING_FOR_QUOTA")
    # the timeout ends at 1015: without the pause the first poll (at 1010+) would already time out
    paused = make(deadline=1015.0, pause_while_queued=True, hard_deadline=10_000.0)
    events = run(paused, ScriptedHook(queued, queued, queued, job(JobState.SUCCEEDED)))
    assert [e["status"] for e in events] == ["success"]
    hard = make(deadline=1015.0, pause_while_queued=True, hard_deadline=1050.0)
    events = run(hard, ScriptedHook(*[queued] * 10))
    assert [e["status"] for e in events] == ["timeout"]


def test_whole_job_polled_only_until_the_data_stats_are_checked(no_sleep):
    stats = TuningDataStats(example_count=100, dropped_example_count=0)
    hook = ScriptedHook(
        job(JobState.RUNNING), job(JobState.RUNNING, data_stats=stats), job(JobState.RUNNING), job(JobState.SUCCEEDED)
    )
    events = run(make(data_limits={"max_truncated_fraction": None, "max_dropped_examples": 0}), hook)
    assert [e["status"] for e in events] == ["success"]
    assert hook.seen == ["whole", "whole", JobState.RUNNING, JobState.RUNNING]


def test_data_stats_over_the_limits_cancel_the_job(no_sleep):
    stats = TuningDataStats(example_count=100, dropped_example_count=3)
    hook = ScriptedHook(job(JobState.RUNNING, data_stats=stats))
    (event,) = run(make(data_limits={"max_truncated_fraction": None, "max_dropped_examples": 0}), hook)
    assert event["status"] == "data_limit" and event["message"].endswith("The job was cancelled.")
    assert hook.cancels == 1


@pytest.fixture
def freezes(monkeypatch):
    """Count ``gc.freeze()`` calls instead of freezing the test process; the process starts unfrozen."""
    import gc

    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(True))
    monkeypatch.setattr(tuning, "_frozen_at", set())
    return calls


def test_the_startup_heap_is_frozen_at_the_first_start_and_after_the_first_poll_of_the_process(no_sleep, freezes):
    hook = ScriptedHook(job(JobState.RUNNING), job(JobState.SUCCEEDED), job(JobState.SUCCEEDED))
    assert run(make(), hook)[0]["status"] == "success"
    assert freezes == [True, True]  # at the start, after the first poll, not after the second
    assert run(make(), hook)[0]["status"] == "success"  # another trigger of the same process
    assert freezes == [True, True]


def test_the_startup_heap_is_left_alone_when_configured(no_sleep, freezes, monkeypatch):
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__FREEZE_STARTUP_HEAP", "False")
    assert run(make(), ScriptedHook(job(JobState.SUCCEEDED)))[0]["status"] == "success"
    assert freezes == []
