"""The one waiting path shared by ``CreateTuningJobOperator`` and ``TuningJobSensor``.

:class:`TuningJobWaitMixin` owns the deadline, deferring to :class:`TuningJobTrigger`, validating
the trigger's event, turning a finished job into a result or an exception, and what happens to a
still-running job when the task fails or is killed. Whether a task may cancel the job depends on
``owns_job``: the task that submitted it does; a sensor watching someone else's job never does.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from gemini_tuning.exceptions import (
    GateFailed,
    GeminiTuningError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    TransientServiceError,
    TuningJobFailed,
    TuningJobTimeout,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
    from gemini_tuning.models import TuningJob

#: Keys every trigger event carries, by status (see ``TuningJobTrigger``).
EVENT_KEYS = {
    "success": ("job_name", "job"),
    "failed": ("job_name", "job"),
    "timeout": ("job_name", "job", "message"),
    "data_limit": ("job_name", "job", "message"),
    "error": ("job_name", "message"),
}
#: Error classes a trigger event may name; anything else is rebuilt as :class:`ServiceError`.
EVENT_ERRORS: dict[str, type[GeminiTuningError]] = {
    cls.__name__: cls for cls in (ServiceError, NotFoundError, TransientServiceError, InvalidInputError)
}


def job_failure(job: TuningJob) -> TuningJobFailed | None:
    """The error of a job that ended FAILED, CANCELLED or EXPIRED; ``None`` when it did not fail."""
    if not job.state.is_failure:
        return None
    reason = job.error_message or "the service gave no message"
    return TuningJobFailed(f"Tuning job {job.name} ended {job.state.value}: {reason}")


def is_last_try(ti: Any) -> bool:
    """No retry is left after this try (``max_tries`` grows when a task is cleared)."""
    max_tries = getattr(ti, "max_tries", None)
    if max_tries is None:
        max_tries = getattr(getattr(ti, "task", None), "retries", 0) or 0
    return (getattr(ti, "try_number", 1) or 1) > max_tries


def server_state(ti: Any) -> str | None:
    """This task instance's state as the API server sees it; ``None`` when it cannot be read.

    A user who marks the task failed or success, or clears it, changes that state before the
    supervisor sends SIGTERM; a worker or pod shutting down does not (the server still says
    ``running``).
    """
    try:
        states = ti.get_task_states(
            dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
        )
    except Exception:  # the supervisor is gone or this is not a task-SDK task instance
        return None
    found = list((states or {}).get(ti.run_id, {}).values())
    return str(found[0]) if len(found) == 1 and found[0] is not None else None


def killed_by_user(ti: Any) -> bool:
    """``True`` when the task was killed by a user (its server state left ``running``).

    ``False`` for a worker shutdown (still ``running`` on the server: the retry reattaches) and
    when the state cannot be read (the job is left running rather than thrown away).
    """
    state = server_state(ti)
    return state is not None and state != "running"


class TuningJobWaitMixin:
    """Deadline, deferral, trigger events and outcomes for tasks that wait on a tuning job.

    The host class provides ``hook``, ``gemini_conn_id``, ``timeout`` (seconds or ``None``),
    ``execution_timeout``, ``log`` and ``defer``, and sets ``owns_job``.
    """

    #: The task submitted the job: it cancels the job at its deadline, on a user's kill
    #: (``cancel_on_kill``) and when its last try fails with the job still running.
    owns_job: ClassVar[bool] = False
    #: What a deadline raises.
    timeout_error: ClassVar[type[TuningJobTimeout]] = TuningJobTimeout

    hook: GeminiTuningHook
    gemini_conn_id: str
    timeout: float | None
    cancel_on_kill: bool = False
    #: the ``timeout`` clock stops while the job waits for quota or capacity (``execution_timeout`` never does)
    pause_timeout_while_queued: bool = False

    # -- deadline and deferral ------------------------------------------------------------
    def wait_deadline(self, context: Context) -> float | None:
        """Epoch seconds: the earlier of ``timeout`` from now and the end of ``execution_timeout``."""
        return min(filter(None, self._deadlines(context)), default=None)

    def _deadlines(self, context: Context) -> tuple[float | None, float | None]:
        """Epoch seconds: ``timeout`` from now, and the end of ``execution_timeout``."""
        timeout_end = time.time() + float(self.timeout) if self.timeout else None
        execution_timeout = getattr(self, "execution_timeout", None)
        if not execution_timeout:
            return timeout_end, None
        start = getattr(context.get("ti"), "start_date", None)
        begun = start.timestamp() if start else time.time()
        return timeout_end, begun + execution_timeout.total_seconds()

    def defer_until_done(
        self, job_name: str, context: Context, poll_interval: float, job_url: str | None = None
    ) -> NoReturn:
        """Hand the wait to :class:`TuningJobTrigger`; ``execute_complete(context, event)`` resumes."""
        from gemini_tuning.triggers.tuning import TuningJobTrigger

        pause = self.pause_timeout_while_queued and bool(self.timeout)
        timeout_end, execution_end = self._deadlines(context)
        self.defer(
            trigger=TuningJobTrigger(
                job_name=job_name,
                gemini_conn_id=self.gemini_conn_id,
                poll_interval=poll_interval,
                deadline=timeout_end if pause else self.wait_deadline(context),
                hard_deadline=execution_end if pause else None,
                pause_while_queued=pause,
                data_limits=getattr(self, "data_limits", None),
                cancel_on_timeout=self.owns_job,
                cancel_on_kill=self.owns_job and self.cancel_on_kill,
                job_url=job_url,
            ),
            method_name="execute_complete",
        )

    # -- outcomes -------------------------------------------------------------------------
    def job_from_event(self, event: Any, context: Context) -> TuningJob:
        """The finished job an event reports, or the exception it stands for."""
        from gemini_tuning.models import TuningJob

        status = event.get("status") if isinstance(event, dict) else None
        if status not in EVENT_KEYS:
            raise GeminiTuningError(
                f"The tuning trigger sent an event this provider does not know: status {status!r} "
                f"(expected one of {', '.join(EVENT_KEYS)}). Is the triggerer running another provider version?"
            )
        missing = [key for key in EVENT_KEYS[status] if key not in event]
        if missing:
            raise GeminiTuningError(f"The tuning trigger's {status!r} event lacks {', '.join(missing)}.")
        self._job_name, self._job_url = event["job_name"], event.get("job_url")
        if status == "timeout":
            raise self.timeout_error(event["message"])
        if status == "data_limit":
            raise GateFailed(event["message"])
        if status == "error":
            cls = EVENT_ERRORS.get(event.get("error_type") or "", ServiceError)
            error = cls(event["message"], http_status=event.get("http_status"), status=event.get("error_status"))
            self.fail_while_running(error, event["job_name"], context)
        return self.finished(TuningJob.model_validate(event["job"]))

    def finished(self, job: TuningJob) -> TuningJob:
        """``job`` when it succeeded; raise :class:`TuningJobFailed` when it failed."""
        self.log.info("%s", job.progress())
        if failure := job_failure(job):
            raise failure
        return job

    def fail_while_running(self, error: GeminiTuningError, job_name: str, context: Context) -> NoReturn:
        """Fail the task while the job may still run: no orphan on the last try (see docs/tuning-jobs.md).

        The owner cancels the job when no retry is left; otherwise the message says where the job
        runs and that the next try reattaches. A sensor never cancels: it says where the job runs.
        """
        if isinstance(error, NotFoundError):
            raise TuningJobFailed(
                f"Tuning job {job_name} no longer exists: it was cancelled or deleted while running.",
                http_status=error.http_status,
                status=error.status,
            ) from error
        url = getattr(self, "_job_url", None)
        where = f"{job_name} ({url})" if url else job_name
        if not self.owns_job:
            note = f"The tuning job {where} may still be running; this sensor does not cancel it."
        elif is_last_try(context["ti"]):
            note = self._cancel_on_last_try(job_name, where)
        else:
            note = f"The tuning job {where} may still be running; the next try reattaches to it."
        raise type(error)(f"{error.message} {note}", http_status=error.http_status, status=error.status) from error

    def _cancel_on_last_try(self, job_name: str, where: str) -> str:
        try:
            job = self.hook.cancel_tuning_job(job_name)
        except GeminiTuningError as exc:
            return f"No retry is left and cancelling the tuning job {where} failed ({exc}): it may still be running."
        return f"No retry is left, so the tuning job {where} was cancelled (state {job.state.value})."
