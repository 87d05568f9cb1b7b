"""``TuningJobTrigger``: waits for a tuning job in the triggerer, holding no worker slot."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from gemini_tuning import DEFAULT_CONN_ID

#: Cancel requests that must finish even if the awaiting ``on_kill`` is cancelled.
_IN_FLIGHT: set[asyncio.Future] = set()

if TYPE_CHECKING:
    from gemini_tuning.models import JobState

FIRST_POLL_JITTER = 10.0  # seconds at most; spreads a restarted triggerer's first polls
#: When start-up's heap is frozen, once each per process: the first trigger's start (Airflow's heap)
#: and the end of the first poll (google-genai's and the hook's modules, the client).
FREEZE_POINTS = ("first start", "first poll")
_frozen_at: set[str] = set()


def freeze_startup_heap(point: str) -> bool:
    """``gc.freeze()`` what start-up left on the heap, at each of :data:`FREEZE_POINTS` once per process.

    A triggerer's heap holds about 250,000 long-lived objects (Airflow's and google-genai's modules)
    that every full garbage collection walks, 150-300 ms during which no trigger of the process
    runs. Frozen, they are left out of collections (reference counting still frees them).
    ``[gemini_tuning] freeze_startup_heap = False`` turns it off. Returns whether it froze now.
    """
    if point in _frozen_at:
        return False
    _frozen_at.add(point)
    from airflow.sdk import conf

    if not conf.getboolean("gemini_tuning", "freeze_startup_heap", fallback=True):
        return False
    import gc

    gc.freeze()
    return True


@dataclass(slots=True)
class _Seen:
    """What a sleeping trigger keeps of its polls: all the next one needs, never the job itself."""

    state: JobState | None = None  # the job's state at the last poll
    data_checked: bool = False  # the data stats were read and are within ``data_limits``
    at: float = 0.0  # when the last poll ended (or the trigger started)


class TuningJobTrigger(BaseTrigger):
    """Poll ``job_name`` until it is terminal or the ``deadline`` (epoch seconds) passes.

    With ``pause_while_queued`` the ``deadline`` (the task's ``timeout``) moves on by the time the
    job waits for quota or capacity; ``hard_deadline`` (``execution_timeout``) never moves. A
    triggerer restart starts again from the deadline the task gave.

    Only the connection id travels in the kwargs, never a credential. Transient errors
    (:class:`~gemini_tuning.exceptions.TransientServiceError`) that outlast the client's own retries
    are retried here with backoff, up to ``max_poll_failures`` polls in a row. The trigger cancels the
    job only when told it owns it: at the deadline with ``cancel_on_timeout``, and when a user kills
    the deferred task with ``cancel_on_kill``. A triggerer restart never cancels.

    Events (``job`` is a :class:`~gemini_tuning.models.TuningJob` dict; every event also carries
    ``job_name`` and ``job_url``, the job's page the task gave the trigger):

    - ``{"status": "success", "job"}``
    - ``{"status": "failed", "job", "message"}``
    - ``{"status": "timeout", "job", "message", "cancelled"}``
    - ``{"status": "data_limit", "job", "message"}``: the data stats break ``data_limits`` (the job is cancelled)
    - ``{"status": "error", "message", "error_type", "http_status", "error_status"}``
    """

    def __init__(
        self,
        job_name: str,
        gemini_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
        max_poll_failures: int = 5,
        cancel_on_timeout: bool = False,
        cancel_on_kill: bool = False,
        job_url: str | None = None,
        impersonation_chain: str | list[str] | None = None,
        hard_deadline: float | None = None,
        pause_while_queued: bool = False,
        data_limits: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.job_name = job_name
        self.gemini_conn_id = gemini_conn_id
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_poll_failures = max_poll_failures
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_kill = cancel_on_kill
        self.job_url = job_url
        self.impersonation_chain = impersonation_chain  # account names, not credentials
        self.hard_deadline = hard_deadline
        self.pause_while_queued = pause_while_queued
        self.data_limits = data_limits

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_name": self.job_name,
                "gemini_conn_id": self.gemini_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_poll_failures": self.max_poll_failures,
                "cancel_on_timeout": self.cancel_on_timeout,
                "cancel_on_kill": self.cancel_on_kill,
                "job_url": self.job_url,
                "impersonation_chain": self.impersonation_chain,
                "hard_deadline": self.hard_deadline,
                "pause_while_queued": self.pause_while_queued,
                "data_limits": self.data_limits,
            },
        )

    def _hook(self):
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        return GeminiTuningHook(gemini_conn_id=self.gemini_conn_id, impersonation_chain=self.impersonation_chain)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from gemini_tuning.exceptions import TransientServiceError

        freeze_startup_heap("first start")
        hook = self._hook()
        seen = _Seen(at=time.time())
        # After a triggerer restart every trigger starts at once: spread the first polls.
        if jitter := random.uniform(0, min(self.poll_interval, FIRST_POLL_JITTER)):
            await asyncio.sleep(jitter)
        failures = 0
        while True:
            try:
                event = await self._poll(hook, seen)
            except TransientServiceError as exc:
                if failures >= self.max_poll_failures:
                    yield self._error(exc)
                    return
                failures += 1
                delay = min(self.poll_interval * 2**failures, 300)
                self.log.warning(
                    "Polling %s failed (%s); retry %d/%d in %.1fs",
                    self.job_name,
                    exc,
                    failures,
                    self.max_poll_failures,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            except Exception as exc:  # not retried; the task decides what a failure means for the job
                yield self._error(exc)
                return
            failures = 0
            freeze_startup_heap("first poll")  # it imported and built what the process keeps
            if event is not None:
                yield event
                return
            deadline = self._effective_deadline()
            remaining = deadline - seen.at if deadline else None
            await asyncio.sleep(min(self.poll_interval, remaining) if remaining is not None else self.poll_interval)

    async def _poll(self, hook, seen: _Seen) -> TriggerEvent | None:
        """Poll once, within the process's cap on polls in flight: the event to fire, if any.

        The job lives only here; ``seen`` keeps what the next poll needs while the trigger sleeps.
        """
        from gemini_tuning.hooks.clients import poll_slots
        from gemini_tuning.waiting import job_failure

        whole = bool(self.data_limits) and not seen.data_checked  # the data stats come with the whole job
        async with poll_slots():
            if whole:
                job = await hook.aget_tuning_job(self.job_name)
            else:
                job = await hook.apoll_tuning_job(self.job_name, seen.state)
        seen.state = job.state
        self.log.info("%s", job.progress())
        if job.done:
            failure = job_failure(job)
            payload = {"status": "failed", "message": failure.message} if failure else {"status": "success"}
            return self._event(**payload, job=job.to_xcom())
        if whole and job.data_stats:
            if problem := job.data_stats.limit_exceeded(**self.data_limits):
                job = await self._cancel(hook)  # only the task that owns the job sets data_limits
                return self._event(status="data_limit", job=job.to_xcom(), message=f"{problem} The job was cancelled.")
            seen.data_checked = True
        now = time.time()
        if self.pause_while_queued and self.deadline and job.queued:  # the timeout clock stops
            self.deadline += now - seen.at
        seen.at = now
        deadline = self._effective_deadline()
        return await self._timeout(hook, job) if deadline and now >= deadline else None

    def _effective_deadline(self) -> float | None:
        """The earlier of the (queue-paused) ``timeout`` deadline and the wall-clock ``hard_deadline``."""
        return min(filter(None, (self.deadline, self.hard_deadline)), default=None)

    def _error(self, exc: Exception) -> TriggerEvent:
        return self._event(
            status="error",
            message=getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}",
            error_type=type(exc).__name__,
            http_status=getattr(exc, "http_status", None),
            error_status=getattr(exc, "status", None),
        )

    def _event(self, **payload: Any) -> TriggerEvent:
        return TriggerEvent({**payload, "job_name": self.job_name, "job_url": self.job_url})

    async def _timeout(self, hook, job) -> TriggerEvent:
        from gemini_tuning.exceptions import GeminiTuningError

        message = f"Tuning job {self.job_name} did not finish before its deadline (state {job.state.value})."
        cancelled = False
        if not self.cancel_on_timeout:
            message += " It was left running (this task does not own it)."
        else:
            try:
                job = await self._cancel(hook)
                cancelled = True
                message += " The job was cancelled."
            except GeminiTuningError as exc:
                message += f" Cancelling it failed: {exc}"
        return self._event(status="timeout", job=job.to_xcom(), message=message, cancelled=cancelled)

    async def _cancel(self, hook):
        self.log.warning("Cancelling tuning job %s", self.job_name)
        return await hook.acancel_tuning_job(self.job_name)

    async def on_kill(self) -> None:
        """A user killed the deferred task (mark failed/success, clear): cancel the job if this task owns it.

        The triggerer calls this only for a user's action, never on its own shutdown or restart.
        The cancel request is shielded: Airflow 3.3's triggerer cancels the trigger again on every
        sync (about once a second) until it exits, which would abort a request still in flight.
        """
        if not self.cancel_on_kill:
            self.log.info("Task killed; leaving tuning job %s running (this task does not own it)", self.job_name)
            return
        request = asyncio.ensure_future(self._cancel(self._hook()))
        _IN_FLIGHT.add(request)  # the event loop holds tasks weakly
        request.add_done_callback(_IN_FLIGHT.discard)
        await asyncio.shield(request)
