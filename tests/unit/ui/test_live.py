"""The live-status board: one request per job per TTL, bounded concurrency, a deadline, failures remembered."""

from __future__ import annotations

import threading
import time

from gemini_tuning.models import JobState, TuningJob
from gemini_tuning.ui.live import StatusBoard, with_status
from gemini_tuning.ui.models import Job, TaskRef

TASK = TaskRef(dag_id="d", run_id="r", task_id="t", state="deferred")


def job(name: str, state: JobState = JobState.RUNNING, percent: float = 10.0) -> TuningJob:
    return TuningJob(name=name, backend="gemini_api", state=state, completed_percent=percent)


class Service:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.error: str | None = None
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        self.state = JobState.RUNNING

    def __call__(self, conn_id: str, name: str, timeout: float) -> TuningJob:
        with self.lock:
            self.calls.append(name)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if self.error:
                raise RuntimeError(self.error)
            return job(name, self.state, 50.0)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_a_job_is_asked_about_once_per_ttl():
    service = Service()
    board = StatusBoard(ttl=3600, timeout=5, concurrency=2, fetch=service)
    for _ in range(3):
        assert board.lookup([("c", "a")])[("c", "a")].job.completed_percent == 50.0
    assert service.calls == ["a"]
    board.ttl = 0
    board.lookup([("c", "a")])
    assert service.calls == ["a", "a"]


def test_a_finished_job_is_never_asked_about_again():
    service = Service()
    service.state = JobState.SUCCEEDED
    board = StatusBoard(ttl=0, timeout=5, concurrency=1, fetch=service)
    board.lookup([("c", "a")])
    board.lookup([("c", "a")])
    assert service.calls == ["a"]


def test_requests_are_bounded_and_the_page_does_not_wait_past_the_timeout():
    service = Service(delay=0.3)
    board = StatusBoard(ttl=3600, timeout=0.05, concurrency=2, fetch=service)
    keys = [("c", f"job-{i}") for i in range(6)]
    assert board.lookup(keys) == {}  # nothing answered within the deadline: the page goes on without
    deadline = time.monotonic() + 30
    while len(board.lookup(keys)) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.most_in_flight == 2
    assert sorted(service.calls) == sorted(name for _, name in keys)  # each asked once, answers kept


def test_a_failure_keeps_the_last_good_answer_and_is_not_retried_within_the_ttl():
    service = Service()
    board = StatusBoard(ttl=3600, timeout=5, concurrency=1, fetch=service)
    board.lookup([("c", "a")])
    board.ttl, service.error = 0, "503 UNAVAILABLE"
    status = board.lookup([("c", "a")])[("c", "a")]
    assert (status.error, status.job.completed_percent) == ("503 UNAVAILABLE", 50.0)
    board.ttl = 3600
    board.lookup([("c", "a")])
    assert service.calls == ["a", "a"]


def test_with_status_asks_only_about_jobs_airflow_has_not_seen_finish():
    service = Service()
    board = StatusBoard(ttl=3600, timeout=5, concurrency=1, fetch=service)
    finished = Job(task=TASK, job_name="done", state="JOB_STATE_SUCCEEDED", source="summary")
    running = Job(task=TASK, job_name="run", conn_id="my_conn")
    unnamed = Job(task=TASK)
    updated = with_status([finished, running, unnamed], board, "default_conn")
    assert service.calls == ["run"]
    assert (updated[1].state, updated[1].progress, updated[1].source) == ("JOB_STATE_RUNNING", 50.0, "service")
    assert updated[0] == finished and updated[2] == unnamed


def test_with_status_notes_an_unreachable_service():
    service = Service()
    service.error = "ConnectError: connection refused"
    board = StatusBoard(ttl=3600, timeout=5, concurrency=1, fetch=service)
    (job_view,) = with_status([Job(task=TASK, job_name="run")], board, "default_conn")
    assert job_view.note == (
        "Could not reach the service (ConnectError: connection refused); showing what Airflow recorded."
    )
    slow = StatusBoard(ttl=3600, timeout=0.01, concurrency=1, fetch=Service(delay=0.5))
    (job_view,) = with_status([Job(task=TASK, job_name="run")], slow, "default_conn")
    assert job_view.note == "The service has not answered within 0.01 s; showing what Airflow recorded."
