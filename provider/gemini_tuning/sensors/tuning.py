"""``TuningJobSensor``: wait for a tuning job submitted elsewhere (poke, reschedule or deferrable)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf

from gemini_tuning import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Context

    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
    from gemini_tuning.models import TuningJob


class TuningJobSensor(BaseSensorOperator):
    """Succeeds when ``job_name`` succeeds; fails with the service's message when it fails.

    Returns (XCom) the job as a JSON-safe dict. ``deferrable=True`` waits in the triggerer, with
    the sensor's ``timeout`` as the trigger's deadline (the job is not cancelled by a sensor).
    """

    template_fields: Sequence[str] = ("job_name", "gemini_conn_id")

    def __init__(
        self,
        *,
        job_name: str,
        gemini_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.gemini_conn_id = gemini_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> GeminiTuningHook:
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        return GeminiTuningHook(gemini_conn_id=self.gemini_conn_id)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        job = self.hook.get_tuning_job(self.job_name)
        if job.done:
            return self._outcome(job)
        from gemini_tuning.triggers.tuning import TuningJobTrigger

        self.defer(
            trigger=TuningJobTrigger(
                job_name=self.job_name,
                gemini_conn_id=self.gemini_conn_id,
                poll_interval=self.poke_interval,
                deadline=time.time() + self.timeout if self.timeout else None,
                cancel_on_timeout=False,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Context) -> PokeReturnValue:
        job = self.hook.get_tuning_job(self.job_name)
        self.log.info("%s", job.progress())
        if not job.done:
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=self._outcome(job))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        from airflow.exceptions import AirflowSensorTimeout

        from gemini_tuning.exceptions import GeminiTuningError
        from gemini_tuning.models import TuningJob

        if event["status"] == "error":
            raise GeminiTuningError(event["message"])
        if event["status"] == "timeout":
            raise AirflowSensorTimeout(event["message"])
        return self._outcome(TuningJob.model_validate(event["job"]))

    def _outcome(self, job: TuningJob) -> dict[str, Any]:
        from gemini_tuning.exceptions import TuningJobFailed

        if job.state.is_failure:
            raise TuningJobFailed(
                f"Tuning job {job.name} ended {job.state.value}: {job.error_message or 'no message'}",
            )
        return job.to_xcom()
