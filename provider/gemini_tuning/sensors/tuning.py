"""``TuningJobSensor``: wait for a tuning job submitted elsewhere (poke, reschedule or deferrable)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowSensorTimeout

from gemini_tuning import DEFAULT_CONN_ID
from gemini_tuning.exceptions import ServiceError, TuningJobSensorTimeout
from gemini_tuning.waiting import TuningJobWaitMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
    from gemini_tuning.models import TuningJob


class TuningJobSensor(TuningJobWaitMixin, BaseSensorOperator):
    """Succeeds when ``job_name`` succeeds; fails with the service's message when it fails.

    Returns the same :class:`~gemini_tuning.contracts.tuning.TuningSummary` as
    ``CreateTuningJobOperator`` (so it can feed ``EvaluateTunedModelOperator``), without the dataset
    fields it cannot know. ``deferrable=True`` waits in the triggerer with the sensor's ``timeout``
    as the deadline. A sensor never cancels the job it watches: not at its timeout, not when killed.
    """

    template_fields: Sequence[str] = ("job_name", "gemini_conn_id")
    owns_job = False
    timeout_error = TuningJobSensorTimeout

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
            try:
                return super().execute(context)
            except TuningJobSensorTimeout:
                raise
            except AirflowSensorTimeout as exc:
                raise TuningJobSensorTimeout(
                    f"{exc} The tuning job {self.job_name} may still be running; this sensor does not cancel it."
                ) from None
        job = self.hook.get_tuning_job(self.job_name)
        if job.done:
            return self._summary(self.finished(job))
        self.defer_until_done(self.job_name, context, self.poke_interval)

    def poke(self, context: Context) -> PokeReturnValue:
        try:
            job = self.hook.get_tuning_job(self.job_name)
        except ServiceError as exc:
            self.fail_while_running(exc, self.job_name, context)
        if not job.done:
            self.log.info("%s", job.progress())
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=self._summary(self.finished(job)))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        return self._summary(self.job_from_event(event, context))

    def _summary(self, job: TuningJob) -> dict[str, Any]:
        from gemini_tuning.contracts.tuning import TuningSummary

        return TuningSummary.from_job(job, metrics=self.hook.get_training_metrics(job)).to_xcom()
