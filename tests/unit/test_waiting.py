"""The waiting path shared by the create operator and the sensor: events, deadlines, kills, last tries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gemini_tuning.exceptions import (
    GeminiTuningError,
    NotFoundError,
    TransientServiceError,
    TuningJobFailed,
    TuningJobSensorTimeout,
    TuningJobTimeout,
)
from gemini_tuning.models import JobState, TuningJob
from gemini_tuning.operators.tuning import CreateTuningJobOperator
from gemini_tuning.sensors.tuning import TuningJobSensor
from gemini_tuning.waiting import is_last_try, killed_by_user

NAME = "tunedModels/t-1"
URL = "https://example.test/jobs/t-1"


class TI:
    def __init__(self, state="running", try_number=1, max_tries=0, start_date=None):
        self.dag_id, self.task_id, self.run_id, self.map_index = "d", "tune", "r", -1
        self.state, self.try_number, self.max_tries, self.start_date = state, try_number, max_tries, start_date

    def get_task_states(self, dag_id, task_ids, run_ids, map_index):
        if self.state == "unreadable":
            raise RuntimeError("no supervisor")
        return {self.run_id: {self.task_id: self.state}}


class FakeHook:
    def __init__(self):
        self.cancelled = []

    def cancel_tuning_job(self, name):
        self.cancelled.append(name)
        return TuningJob(name=name, backend="gemini_api", state=JobState.CANCELLED)


def operator(**kwargs):
    op = CreateTuningJobOperator(task_id="tune", base_model="m", training_dataset="gs://b/t.jsonl", **kwargs)
    op.__dict__["hook"] = FakeHook()
    return op


def sensor(**kwargs):
    op = TuningJobSensor(task_id="wait", job_name=NAME, **kwargs)
    op.__dict__["hook"] = FakeHook()
    return op


def event(status, **fields):
    base = {"status": status, "job_name": NAME, "job_url": URL}
    if status in ("success", "failed", "timeout"):
        state = {"success": JobState.SUCCEEDED, "failed": JobState.FAILED, "timeout": JobState.RUNNING}[status]
        base["job"] = TuningJob(name=NAME, backend="gemini_api", state=state, error_message="boom").to_xcom()
    return {**base, **fields}


# -- kill: user vs worker shutdown ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("server_state", "user"),
    [("failed", True), ("success", True), ("restarting", True), ("running", False), ("unreadable", False)],
)
def test_kill_decision_reads_the_task_state_on_the_server(server_state, user):
    assert killed_by_user(TI(server_state)) is user


def test_mapped_task_reads_its_own_state():
    ti = TI("failed")
    ti.map_index = 3
    ti.get_task_states = lambda **kw: {"r": {"tune_3": "failed"}} if kw["map_index"] == 3 else {}
    assert killed_by_user(ti) is True


@pytest.mark.parametrize(("server_state", "cancelled"), [("failed", [NAME]), ("running", [])])
def test_operator_on_kill(server_state, cancelled):
    op = operator()
    op._ti, op._job_name = TI(server_state), NAME
    op.on_kill()
    assert op.hook.cancelled == cancelled


# -- last try ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("try_number", "max_tries", "last"), [(1, 0, True), (1, 2, False), (3, 2, True)])
def test_is_last_try(try_number, max_tries, last):
    assert is_last_try(TI(try_number=try_number, max_tries=max_tries)) is last


def test_error_on_the_last_try_cancels_the_job_the_operator_owns():
    op = operator()
    with pytest.raises(TransientServiceError) as info:
        op.job_from_event(event("error", message="unavailable", error_type="TransientServiceError"), {"ti": TI()})
    assert op.hook.cancelled == [NAME]
    assert str(info.value) == (
        f"unavailable No retry is left, so the tuning job {NAME} ({URL}) was cancelled (state JOB_STATE_CANCELLED)."
    )


def test_error_with_retries_left_says_the_next_try_reattaches():
    op = operator()
    with pytest.raises(TransientServiceError, match="may still be running; the next try reattaches to it"):
        op.job_from_event(
            event("error", message="unavailable", error_type="TransientServiceError"), {"ti": TI(max_tries=2)}
        )
    assert op.hook.cancelled == []


def test_sensor_never_cancels_even_on_its_last_try():
    op = sensor()
    with pytest.raises(TransientServiceError, match="may still be running; this sensor does not cancel it"):
        op.job_from_event(event("error", message="unavailable", error_type="TransientServiceError"), {"ti": TI()})
    assert op.hook.cancelled == []


def test_a_job_gone_while_waiting_is_a_failed_job():
    with pytest.raises(TuningJobFailed, match="no longer exists"):
        operator().job_from_event(event("error", message="gone", error_type=NotFoundError.__name__), {"ti": TI()})


# -- events --------------------------------------------------------------------------------------
def test_unknown_status_is_a_clear_error():
    with pytest.raises(
        GeminiTuningError, match="status 'paused' \\(expected one of success, failed, timeout, data_limit, error\\)"
    ):
        operator().job_from_event({"status": "paused"}, {"ti": TI()})


def test_data_limit_event_fails_with_the_gate_message():
    from gemini_tuning.exceptions import GateFailed
    from gemini_tuning.models import JobState, TuningJob

    job = TuningJob(name=NAME, backend="vertex_ai", state=JobState.CANCELLED).to_xcom()
    event = {"status": "data_limit", "job_name": NAME, "job": job, "message": "3 examples were dropped"}
    with pytest.raises(GateFailed, match="^3 examples were dropped$"):
        operator().job_from_event(event, {"ti": TI()})


def test_missing_keys_are_a_clear_error():
    with pytest.raises(GeminiTuningError, match="The tuning trigger's 'success' event lacks job"):
        operator().job_from_event({"status": "success", "job_name": NAME}, {"ti": TI()})


def test_failed_event_raises_the_service_message():
    with pytest.raises(TuningJobFailed, match="ended JOB_STATE_FAILED: boom"):
        operator().job_from_event(event("failed"), {"ti": TI()})


def test_timeout_events_raise_the_task_kinds_timeout():
    with pytest.raises(TuningJobTimeout) as info:
        operator().job_from_event(event("timeout", message="late"), {"ti": TI()})
    assert type(info.value) is TuningJobTimeout
    with pytest.raises(TuningJobSensorTimeout):  # also AirflowSensorTimeout: not retried
        sensor().job_from_event(event("timeout", message="late"), {"ti": TI()})


# -- deadline ------------------------------------------------------------------------------------
def test_deadline_is_the_earlier_of_timeout_and_execution_timeout():
    start = datetime.now(UTC)
    op = operator(timeout=3600, execution_timeout=timedelta(seconds=60))
    assert op.wait_deadline({"ti": TI(start_date=start)}) == pytest.approx(start.timestamp() + 60, abs=1)
    assert operator().wait_deadline({"ti": TI(start_date=start)}) is None


# -- the extra link ------------------------------------------------------------------------------
def test_extra_link_reads_no_xcom(monkeypatch):
    """A task that failed before submitting has no URL: the link is empty and nothing is looked up."""
    from airflow.sdk.bases.xcom import BaseXCom

    from gemini_tuning.links import TuningJobLink

    monkeypatch.setattr(BaseXCom, "get_value", lambda **kw: pytest.fail("the link looked up an XCom"))
    op = operator()
    assert TuningJobLink().get_link(op, ti_key=None) == ""
    op._job_url = URL
    assert TuningJobLink().get_link(op, ti_key=None) == URL


def test_sensor_poke_timeout_says_the_job_may_still_run(monkeypatch):
    from airflow.sdk import BaseSensorOperator
    from airflow.sdk.exceptions import AirflowSensorTimeout

    def timed_out(self, context):
        raise AirflowSensorTimeout("Sensor has timed out.")

    monkeypatch.setattr(BaseSensorOperator, "execute", timed_out)
    with pytest.raises(TuningJobSensorTimeout) as info:
        sensor(mode="poke").execute({"ti": TI()})
    assert str(info.value) == (
        f"Sensor has timed out. The tuning job {NAME} may still be running; this sensor does not cancel it."
    )


def test_sensor_poke_error_never_cancels():
    op = sensor()
    op.hook.get_tuning_job = lambda name: (_ for _ in ()).throw(TransientServiceError("unavailable"))
    with pytest.raises(TransientServiceError, match="this sensor does not cancel it"):
        op.poke({"ti": TI()})
    assert op.hook.cancelled == []
