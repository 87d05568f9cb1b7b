"""Operators that submit, cancel and clean up tuning jobs.

Submission is retry-safe: the job's identity derives from (dag_id, task_id, run_id, map_index),
so a retried task reattaches to the job its earlier try submitted instead of paying for another.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, conf

from gemini_tuning import DEFAULT_CONN_ID
from gemini_tuning.links import JOB_NAME_KEY, JOB_URL_KEY, TuningJobLink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
    from gemini_tuning.models import TuningJob


def job_id_for(dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """A deterministic id, valid as a Gemini ``tunedModelId`` and as a Vertex label value."""
    digest = hashlib.sha256(f"{dag_id}\x00{task_id}\x00{run_id}\x00{map_index}".encode()).hexdigest()[:16]
    slug = re.sub(r"[^a-z0-9]+", "-", task_id.lower()).strip("-")[:20].strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"job-{slug}".strip("-")
    return f"{slug}-{digest}"


class CreateTuningJobOperator(BaseOperator):
    """Submit a supervised tuning job and (by default) wait for it, deferring if asked.

    :param base_model: e.g. ``models/gemini-1.5-flash-001-tuning`` (Gemini API) or
        ``gemini-2.0-flash-001`` (Vertex AI).
    :param training_dataset: the output of ``UploadTuningDatasetOperator`` or
        ``ValidateTuningDatasetOperator``, a URI of staged JSONL, or an inline list of examples
        (Gemini API only).
    :param validation_dataset: a ``gs://`` URI (Vertex AI only); taken from ``training_dataset``
        when that is the upload operator's output.
    :param epoch_count, batch_size, learning_rate, learning_rate_multiplier, adapter_size:
        hyperparameters, checked against the backend before any request.
    :param job_id: override the derived, retry-safe job identity.
    :param resubmit_failed: when the job submitted by an earlier try failed, submit a new one
        (default: fail with that job's error).
    :param wait_for_completion: ``False`` returns right after submission (pair with the sensor).
    :param deferrable: wait in the triggerer. Default ``[operators] default_deferrable``.
    :param timeout: seconds to wait before cancelling the job and failing.
    :param plot_loss_curve: write a PNG of the loss curve next to the staged dataset.
    """

    template_fields: Sequence[str] = (
        "base_model",
        "training_dataset",
        "validation_dataset",
        "display_name",
        "description",
        "epoch_count",
        "batch_size",
        "learning_rate",
        "learning_rate_multiplier",
        "adapter_size",
        "labels",
        "job_id",
        "prompt_template",
        "gemini_conn_id",
    )
    template_fields_renderers = {"training_dataset": "json", "labels": "json"}
    operator_extra_links = (TuningJobLink(),)
    ui_color = "#d2e3fc"

    def __init__(
        self,
        *,
        base_model: str,
        training_dataset: Any,
        validation_dataset: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        epoch_count: int | None = None,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        learning_rate_multiplier: float | None = None,
        adapter_size: int | None = None,
        labels: dict[str, str] | None = None,
        job_id: str | None = None,
        prompt_template: str | None = None,
        resubmit_failed: bool = False,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float | None = None,
        plot_loss_curve: bool = True,
        gemini_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.base_model = base_model
        self.training_dataset = training_dataset
        self.validation_dataset = validation_dataset
        self.display_name = display_name
        self.description = description
        self.epoch_count = epoch_count
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_multiplier = learning_rate_multiplier
        self.adapter_size = adapter_size
        self.labels = labels
        self.job_id = job_id
        self.prompt_template = prompt_template
        self.resubmit_failed = resubmit_failed
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.plot_loss_curve = plot_loss_curve
        self.gemini_conn_id = gemini_conn_id
        self._job_name: str | None = None

    @cached_property
    def hook(self) -> GeminiTuningHook:
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        return GeminiTuningHook(gemini_conn_id=self.gemini_conn_id)

    # -- submit ---------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        from gemini_tuning.exceptions import TuningJobTimeout

        dataset = self._dataset(load_examples=True)
        spec = self._spec(context, dataset)
        self.hook.check_tuning_job(spec)  # everything is checked before the first request
        job = self._submit_or_reattach(spec)
        self._job_name = job.name
        context["ti"].xcom_push(key=JOB_NAME_KEY, value=job.name)
        context["ti"].xcom_push(key=JOB_URL_KEY, value=job.console_url)
        if not self.wait_for_completion:
            return job.to_xcom()
        if not job.done and self.deferrable:
            from gemini_tuning.triggers.tuning import TuningJobTrigger

            self.defer(
                trigger=TuningJobTrigger(
                    job_name=job.name,
                    gemini_conn_id=self.gemini_conn_id,
                    poll_interval=self.poll_interval,
                    deadline=time.time() + self.timeout if self.timeout else None,
                ),
                method_name="execute_complete",
            )
        try:
            job = self.hook.wait_for_tuning_job(
                job.name,
                poll_interval=self.poll_interval,
                timeout=self.timeout,
                on_poll=lambda j: self.log.info("%s", j.progress()),
            )
        except TuningJobTimeout as exc:
            self.hook.cancel_tuning_job(job.name)
            raise TuningJobTimeout(f"{exc.message} The job was cancelled.") from None
        return self._finish(job, dataset)

    def _dataset(self, load_examples: bool):
        from gemini_tuning.tuning_dataset import resolve_training_dataset

        return resolve_training_dataset(
            self.training_dataset,
            self.hook.backend_name,
            validation_dataset=self.validation_dataset,
            load_examples=load_examples,
        )

    def _spec(self, context: Context, dataset):
        from gemini_tuning.models import Hyperparameters, TuningJobSpec

        ti = context["ti"]
        caps = self.hook.capabilities
        return TuningJobSpec(
            base_model=self.base_model,
            training_examples=dataset.examples,
            training_dataset_uri=dataset.training_uri,
            # the held-out split is for evaluation; only a backend that takes one also tunes with it
            validation_dataset_uri=dataset.validation_uri if caps.validation_dataset else None,
            example_count=dataset.example_count,
            display_name=self.display_name or f"{ti.dag_id}.{ti.task_id}"[: caps.display_name_max],
            description=self.description,
            hyperparameters=Hyperparameters.parse(
                epoch_count=self.epoch_count,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                learning_rate_multiplier=self.learning_rate_multiplier,
                adapter_size=self.adapter_size,
            ),
            job_id=self.job_id or job_id_for(ti.dag_id, ti.task_id, ti.run_id, getattr(ti, "map_index", -1)),
            labels=self.labels or {},
        )

    def _submit_or_reattach(self, spec) -> TuningJob:
        from gemini_tuning.exceptions import GeminiTuningError, TuningJobFailed

        existing = self.hook.find_tuning_job(spec.job_id)
        if existing and existing.state.is_failure:
            if not self.resubmit_failed:
                raise TuningJobFailed(
                    f"The tuning job submitted earlier for this task ({existing.name}) ended "
                    f"{existing.state.value}: {existing.error_message or 'no message'}. "
                    "Set resubmit_failed=True to submit a new job.",
                )
            self.log.info("Resubmitting: the earlier job %s ended %s", existing.name, existing.state.value)
            self.hook.free_job_id(existing)
        elif existing:
            self.log.info(
                "Reattaching to %s (submitted by an earlier try), state %s", existing.name, existing.state.value
            )
            return existing
        try:
            return self.hook.create_tuning_job(spec)
        except GeminiTuningError as exc:
            if exc.http_status == 409:  # a concurrent try won the race: attach to its job
                return self.hook.find_tuning_job(spec.job_id) or _raise(exc)
            raise

    # -- finish ---------------------------------------------------------------------------
    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        from gemini_tuning.exceptions import GeminiTuningError, TuningJobTimeout
        from gemini_tuning.models import TuningJob

        self._job_name = event.get("job_name")
        if event["status"] == "error":
            raise GeminiTuningError(event["message"])
        if event["status"] == "timeout":
            raise TuningJobTimeout(event["message"])
        return self._finish(TuningJob.model_validate(event["job"]), self._dataset(load_examples=False))

    def _finish(self, job: TuningJob, dataset) -> dict[str, Any]:
        from gemini_tuning.exceptions import TuningJobFailed
        from gemini_tuning.summary import summarize

        self.log.info("%s", job.progress())
        if job.state.is_failure:
            raise TuningJobFailed(
                f"Tuning job {job.name} ended {job.state.value}: {job.error_message or 'the service gave no message'}",
            )
        summary = summarize(job, dataset, prompt_template=self.prompt_template)
        if self.plot_loss_curve and summary["loss_curve"] and dataset.staging_dir:
            summary["loss_curve_uri"] = self._write_plot(job, summary, dataset.staging_dir)
        self.log.info(
            "Tuned model %s ready; recommended_epoch_count=%s",
            summary["tuned_model"],
            summary["recommended_epoch_count"],
        )
        return summary

    def _write_plot(self, job: TuningJob, summary: dict, staging_dir: str) -> str | None:
        from airflow.sdk import ObjectStoragePath

        from gemini_tuning.loss import plot_loss_curve

        png = plot_loss_curve(
            job.snapshots,
            summary["loss_curve"],
            title=f"Loss: {job.name}",
            recommended=summary["recommended_epoch_count"],
        )
        target = ObjectStoragePath(staging_dir) / f"loss_curve-{job.name.rsplit('/', 1)[-1]}.png"
        target.write_bytes(png)
        self.log.info("Loss curve written to %s", target)
        return str(target)

    def on_kill(self) -> None:
        if self._job_name:
            self.hook.cancel_tuning_job(self._job_name)


def _raise(exc: Exception):
    raise exc


class CancelTuningJobOperator(BaseOperator):
    """Cancel a tuning job (a finished job is left as it is).

    On the Gemini API there is no cancel call: cancelling deletes the tuned model while it is
    still being created, which stops training (see docs/tuning-jobs.md).
    """

    template_fields: Sequence[str] = ("job_name", "gemini_conn_id")

    def __init__(self, *, job_name: str, gemini_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.gemini_conn_id = gemini_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        return GeminiTuningHook(gemini_conn_id=self.gemini_conn_id).cancel_tuning_job(self.job_name).to_xcom()


class DeleteTunedModelOperator(BaseOperator):
    """Delete a tuned model, e.g. the previous week's; a model that is already gone is success."""

    template_fields: Sequence[str] = ("model_name", "gemini_conn_id")

    def __init__(self, *, model_name: str | None, gemini_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.gemini_conn_id = gemini_conn_id

    def execute(self, context: Context) -> bool:
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        if not self.model_name:
            self.log.info("No model to delete.")
            return False
        return GeminiTuningHook(gemini_conn_id=self.gemini_conn_id).delete_tuned_model(self.model_name)
