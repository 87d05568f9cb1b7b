"""``TuningJobTrigger``: waits for a tuning job in the triggerer, holding no worker slot."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from gemini_tuning import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from gemini_tuning.models import JobState

FIRST_POLL_JITTER = 10.0  # seconds at most; spreads a restarted triggerer's first polls


class TuningJobTrigger(BaseTrigger):
    """Poll ``job_name`` until it is terminal, the ``deadline`` passes, or the task is killed.

    Only the connection id travels in the kwargs, never a credential. The deadline (epoch
    seconds) lives here, so a deferred task that runs out of time cancels the remote job before
    failing. Transient errors (HTTP 408/429/5xx, transport errors) that outlast the client's own
    retries are retried here with backoff, up to ``max_poll_failures`` polls in a row.

    Events: ``{"status": "success" | "failed" | "timeout" | "error", "job": {...}, "message": ...}``.
    """

    def __init__(
        self,
        job_name: str,
        gemini_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
        max_poll_failures: int = 5,
        cancel_on_timeout: bool = True,
    ) -> None:
        super().__init__()
        self.job_name = job_name
        self.gemini_conn_id = gemini_conn_id
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_poll_failures = max_poll_failures
        self.cancel_on_timeout = cancel_on_timeout

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
            },
        )

    def _hook(self):
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        return GeminiTuningHook(gemini_conn_id=self.gemini_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from gemini_tuning.exceptions import GeminiTuningError, TransientServiceError

        hook = self._hook()
        # After a triggerer restart every trigger starts at once: spread the first polls.
        await asyncio.sleep(random.uniform(0, min(self.poll_interval, FIRST_POLL_JITTER)))
        failures, last_state = 0, None
        while True:
            try:
                event, last_state = await self._poll(hook, last_state)
                failures = 0
            except GeminiTuningError as exc:
                transient = isinstance(exc, TransientServiceError)
                if not transient or failures >= self.max_poll_failures:
                    yield TriggerEvent({"status": "error", "job_name": self.job_name, "message": str(exc)})
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
            if event is not None:
                yield event
                return
            remaining = self.deadline - time.time() if self.deadline else None
            await asyncio.sleep(min(self.poll_interval, remaining) if remaining is not None else self.poll_interval)

    async def _poll(self, hook, last_state: JobState | None) -> tuple[TriggerEvent | None, JobState]:
        """Poll once, within the process's cap on polls in flight: the event to fire (if any) and the state seen.

        The job lives only here: only its state stays with the trigger while it sleeps.
        """
        from gemini_tuning.exceptions import GeminiTuningError
        from gemini_tuning.hooks.clients import poll_slots

        async with poll_slots():
            job = await hook.apoll_tuning_job(self.job_name, last_state)
        self.log.info("%s", job.progress())
        if job.done:
            status = "failed" if job.state.is_failure else "success"
            return TriggerEvent({"status": status, "job_name": self.job_name, "job": job.to_xcom()}), job.state
        if self.deadline is None or time.time() < self.deadline:
            return None, job.state
        message = f"Tuning job {self.job_name} did not finish before its deadline (state {job.state.value})."
        if self.cancel_on_timeout:
            try:
                job = await self._cancel(hook)
                message += " The job was cancelled."
            except GeminiTuningError as exc:
                message += f" Cancelling it failed: {exc}"
        event = {"status": "timeout", "job_name": self.job_name, "job": job.to_xcom(), "message": message}
        return TriggerEvent(event), job.state

    async def _cancel(self, hook):
        self.log.warning("Cancelling tuning job %s", self.job_name)
        return await hook.acancel_tuning_job(self.job_name)

    async def on_kill(self) -> None:
        """The user killed the deferred task (mark failed / clear): stop the remote job too."""
        await self._cancel(self._hook())
