"""Live status of jobs still running, asked through the hook: cached, bounded, with a deadline.

* each job is asked about at most once per ``ui_status_ttl`` seconds (default 30, the operators'
  default poll interval), however many pages ask for it; a finished job's answer is kept;
* at most ``ui_status_concurrency`` requests run at once, in a small thread pool;
* a page waits at most ``ui_status_timeout`` seconds; what hasn't answered by then is shown with
  its last known state and a note, and its answer is kept for the next page;
* a failure (service down, connection gone) is remembered for the same TTL, with its message
  (secrets redacted): the page says so instead of failing.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gemini_tuning.models import TuningJob
    from gemini_tuning.ui.models import Job

Key = tuple[str, str]  # (connection id, job name)
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Status:
    """The latest answer about one job: the last good one (``job``) and the last error, if newer."""

    job: TuningJob | None = None
    checked_at: datetime | None = None
    error: str | None = None
    asked_at: float = 0.0  # monotonic time of the last attempt

    @property
    def final(self) -> bool:
        return self.error is None and self.job is not None and self.job.done


def fetch_job(conn_id: str, job_name: str, timeout: float) -> TuningJob:
    """One short request through the hook (one attempt, ``timeout`` seconds)."""
    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

    class StatusHook(GeminiTuningHook):
        @property
        def settings(self):
            settings = GeminiTuningHook.settings.fget(self)
            return settings.model_copy(update={"retries": 1, "timeout": min(settings.timeout, timeout)})

    hook = StatusHook(gemini_conn_id=conn_id)
    try:
        return hook.get_tuning_job(job_name)
    except Exception as exc:
        raise RuntimeError(_redact(f"{type(exc).__name__}: {exc}", hook)) from None


def _warm_up() -> None:
    import google.genai  # noqa: F401

    import gemini_tuning.hooks.gemini_tuning  # noqa: F401


def _redact(message: str, hook) -> str:
    try:
        secrets = hook.settings.secrets()
    except Exception:  # the connection itself is unreadable: nothing of it is in the message
        secrets = []
    for secret in secrets:
        message = message.replace(secret, "***")
    return message


class StatusBoard:
    """The per-process cache of live job states, shared by every page of the api-server."""

    def __init__(
        self,
        *,
        ttl: float,
        timeout: float,
        concurrency: int,
        fetch: Callable[[str, str, float], TuningJob] = fetch_job,
    ) -> None:
        self.ttl, self.timeout = ttl, timeout
        self._fetch = fetch
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="gemini-tuning-ui")
        self._lock = threading.Lock()
        self._statuses: OrderedDict[Key, Status] = OrderedDict()
        self._inflight: dict[Key, Future] = {}
        if fetch is fetch_job:
            self._pool.submit(_warm_up)  # the first page must not wait for google-genai to import

    def lookup(self, keys: Iterable[Key]) -> dict[Key, Status]:
        """The status of each job, asking the service about those not fresh in the cache."""
        keys = set(keys)
        now = time.monotonic()
        waiting = []
        with self._lock:
            for key in keys:
                status = self._statuses.get(key)
                if status is not None and (status.final or now - status.asked_at < self.ttl):
                    continue
                future = self._inflight.get(key)
                if future is None:
                    future = self._inflight[key] = self._pool.submit(self._ask, key)
                waiting.append(future)
        if waiting:
            wait(waiting, timeout=self.timeout)
        with self._lock:
            return {key: self._statuses[key] for key in keys if key in self._statuses}

    def _ask(self, key: Key) -> None:
        asked = time.monotonic()
        try:
            job = self._fetch(key[0], key[1], self.timeout)
            status = Status(job=job, checked_at=datetime.now(UTC), asked_at=asked)
        except Exception as exc:
            previous = self._statuses.get(key) or Status()
            status = Status(job=previous.job, checked_at=previous.checked_at, error=str(exc), asked_at=asked)
        with self._lock:
            self._statuses[key] = status
            self._statuses.move_to_end(key)
            while len(self._statuses) > MAX_ENTRIES:
                self._statuses.popitem(last=False)
            self._inflight.pop(key, None)

    def forget(self) -> None:
        with self._lock:
            self._statuses.clear()


def with_status(jobs: list[Job], board: StatusBoard, default_conn_id: str) -> list[Job]:
    """``jobs`` with the service's answer applied to those still running, and a note where it's stale."""
    from gemini_tuning.ui.records import apply_service_job

    keys = {i: (job.conn_id or default_conn_id, job.job_name) for i, job in enumerate(jobs) if job.needs_service}
    statuses = board.lookup(keys.values()) if keys else {}
    updated = list(jobs)
    for i, key in keys.items():
        job, status = jobs[i], statuses.get(key)
        if status is not None and status.job is not None:
            job = apply_service_job(job, status.job, checked_at=status.checked_at)
        if status is None:
            note = f"The service has not answered within {board.timeout:g} s; showing what Airflow recorded."
        elif status.error and status.job is not None:
            note = f"Could not reach the service ({status.error}); showing the last known state."
        elif status.error:
            note = f"Could not reach the service ({status.error}); showing what Airflow recorded."
        else:
            note = None
        updated[i] = job.model_copy(update={"note": note})
    return updated
