"""Operators that submit, cancel and clean up tuning jobs.

Submission is retry-safe: the job's identity derives from (dag_id, task_id, run_id, map_index),
so a retried task reattaches to the job its earlier try submitted instead of paying for another.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, conf

from gemini_tuning import DEFAULT_CONN_ID
from gemini_tuning.links import JOB_NAME_KEY, JOB_URL_KEY, TuningJobLink
from gemini_tuning.waiting import TuningJobWaitMixin, killed_by_user

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


class CreateTuningJobOperator(TuningJobWaitMixin, BaseOperator):
    """Submit a supervised tuning job and (by default) wait for it, deferring if asked.

    :param base_model: e.g. ``gemini-2.0-flash-001`` (Vertex AI) or
        ``models/gemini-1.5-flash-001-tuning`` (Gemini API). Empty: the connection's backend's
        default tunable model, so one DAG runs on either backend.
    :param pre_tuned_model: continuous tuning (Vertex AI): the tuned model to continue from, a
        ``projects/.../models/ID[@VERSION]`` name or last run's ``TuningSummary``. ``base_model``
        is then not given. Without ``display_name`` the result is the next version (``@N+1``) of that
        model; with one, a new model.
    :param checkpoint_id: with ``pre_tuned_model``: the checkpoint to continue from (default: its default one).
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
    :param timeout: seconds to wait before cancelling the job and failing; ``execution_timeout``
        also bounds a deferred wait.
    :param pause_timeout_while_queued: the ``timeout`` clock stops while the job waits for quota
        or capacity (Vertex AI), so a busy region does not fail the task; ``execution_timeout``
        stays a wall-clock limit either way. Default ``True``.
    :param cancel_on_kill: cancel the job when a user kills the task (mark failed/success, clear).
        A worker shutting down never cancels: the next try reattaches.
    :param max_truncated_fraction, max_dropped_examples: fail the task (and cancel the job) when the
        service reports that more than this share of the examples was truncated, or more than this
        many examples were dropped (Vertex AI data stats; off by default). Checked on every poll once
        the stats appear, before tuning starts, and once more at the end.
    :param export_last_checkpoint_only: Vertex AI exports one checkpoint per epoch (each with its
        own endpoint) unless this is ``True``; the summary lists them under ``checkpoints``.
    :param service_account, kms_key_name, tuning_mode: Vertex AI enterprise fields: the service
        account the job runs as, the Cloud KMS key (CMEK, in the job's region) that encrypts the job,
        model and endpoints, and ``full`` or ``adapter`` tuning. Checked before any request.
    :param plot_loss_curve: write a PNG of the loss curve next to the staged dataset.
    """

    template_fields: Sequence[str] = (
        "base_model",
        "training_dataset",
        "pre_tuned_model",
        "checkpoint_id",
        "validation_dataset",
        "display_name",
        "description",
        "epoch_count",
        "batch_size",
        "learning_rate",
        "learning_rate_multiplier",
        "adapter_size",
        "labels",
        "service_account",
        "kms_key_name",
        "tuning_mode",
        "job_id",
        "prompt_template",
        "gemini_conn_id",
    )
    template_fields_renderers = {"training_dataset": "json", "labels": "json"}
    operator_extra_links = (TuningJobLink(),)
    ui_color = "#d2e3fc"
    owns_job = True

    def __init__(
        self,
        *,
        base_model: str | None = None,
        training_dataset: Any,
        pre_tuned_model: Any = None,
        checkpoint_id: str | int | None = None,
        validation_dataset: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        epoch_count: int | None = None,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        learning_rate_multiplier: float | None = None,
        adapter_size: int | str | None = None,
        labels: dict[str, str] | None = None,
        job_id: str | None = None,
        prompt_template: str | None = None,
        resubmit_failed: bool = False,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = conf.getfloat("gemini_tuning", "poll_interval", fallback=30.0),
        timeout: float | None = None,
        cancel_on_kill: bool = True,
        pause_timeout_while_queued: bool = True,
        max_truncated_fraction: float | None = None,
        max_dropped_examples: int | None = None,
        export_last_checkpoint_only: bool | None = None,
        service_account: str | None = None,
        kms_key_name: str | None = None,
        tuning_mode: str | None = None,
        plot_loss_curve: bool = True,
        gemini_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.base_model = base_model
        self.training_dataset = training_dataset
        self.pre_tuned_model = pre_tuned_model
        self.checkpoint_id = checkpoint_id
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
        self.cancel_on_kill = cancel_on_kill
        self.pause_timeout_while_queued = pause_timeout_while_queued
        self.max_truncated_fraction = max_truncated_fraction
        self.max_dropped_examples = max_dropped_examples
        self.export_last_checkpoint_only = export_last_checkpoint_only
        self.service_account = service_account
        self.kms_key_name = kms_key_name
        self.tuning_mode = tuning_mode
        self.plot_loss_curve = plot_loss_curve
        self.gemini_conn_id = gemini_conn_id
        self._job_name: str | None = None
        self._job_url: str | None = None
        self._ti: Any = None
        self._cancelled = False

    @cached_property
    def hook(self) -> GeminiTuningHook:
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        return GeminiTuningHook(gemini_conn_id=self.gemini_conn_id)

    # -- submit ---------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        self._ti = context["ti"]
        dataset = self._dataset(load_examples=True)
        spec = self._spec(context, dataset)
        self.hook.check_tuning_job(spec)  # everything is checked before the first request
        self._check_data_limits()
        self._can_plot(warn=True)
        job = self._submit_or_reattach(spec)
        self._job_name, self._job_url = job.name, job.console_url
        context["ti"].xcom_push(key=JOB_NAME_KEY, value=job.name)
        context["ti"].xcom_push(key=JOB_URL_KEY, value=job.console_url)
        if not self.wait_for_completion:
            return job.to_xcom()
        if not job.done and self.deferrable:
            self.defer_until_done(job.name, context, self.poll_interval, job_url=job.console_url)
        return self._result(self._wait(job, context), dataset)

    def _wait(self, job: TuningJob, context: Context) -> TuningJob:
        """Poll in the worker; the owner cancels at ``timeout`` and ``execution_timeout``."""
        from airflow.sdk.exceptions import AirflowTaskTimeout

        from gemini_tuning.exceptions import ServiceError, TuningJobTimeout

        try:
            job = self.hook.wait_for_tuning_job(
                job.name,
                poll_interval=self.poll_interval,
                timeout=self.timeout,
                on_poll=self._on_poll,
                pause_while_queued=self.pause_timeout_while_queued,
            )
        except TuningJobTimeout as exc:
            self._cancel("its timeout passed")
            raise TuningJobTimeout(f"{exc.message} The job was cancelled.") from None
        except AirflowTaskTimeout:
            self._cancel("the task's execution_timeout passed")
            raise
        except ServiceError as exc:
            self.fail_while_running(exc, job.name, context)
        return self.finished(job)

    def _on_poll(self, job: TuningJob) -> None:
        """Log the progress; stop a job whose data stats break the limits before it trains on."""
        from gemini_tuning.exceptions import GateFailed

        self.log.info("%s", job.progress())
        if problem := self.data_limit_exceeded(job):
            if not job.done:
                self._cancel("its training data breaks the limits")
                problem += " The job was cancelled."
            raise GateFailed(problem)

    @property
    def data_limits(self) -> dict[str, Any] | None:
        """``max_truncated_fraction`` / ``max_dropped_examples`` when either is set (for the trigger)."""
        limits = {
            "max_truncated_fraction": self.max_truncated_fraction,
            "max_dropped_examples": self.max_dropped_examples,
        }
        return limits if any(v is not None for v in limits.values()) else None

    def data_limit_exceeded(self, job: TuningJob) -> str | None:
        limits = self.data_limits
        return job.data_stats.limit_exceeded(**limits) if limits and job.data_stats else None

    def _check_data_limits(self) -> None:
        from gemini_tuning.exceptions import InvalidInputError

        fraction, dropped = self.max_truncated_fraction, self.max_dropped_examples
        if fraction is not None and not (isinstance(fraction, int | float) and 0 <= fraction <= 1):
            raise InvalidInputError(f"`max_truncated_fraction` must be a number from 0 to 1, got {fraction!r}.")
        if dropped is not None and not (isinstance(dropped, int) and dropped >= 0):
            raise InvalidInputError(f"`max_dropped_examples` must be a whole number >= 0, got {dropped!r}.")
        if self.data_limits and not self.hook.capabilities.data_stats:
            raise InvalidInputError(
                f"`max_truncated_fraction`/`max_dropped_examples` need the service's data stats, which "
                f"{self.hook.capabilities.label} does not report."
            )

    def _cancel(self, why: str) -> None:
        self.log.warning("Cancelling tuning job %s: %s", self._job_name, why)
        self.hook.cancel_tuning_job(self._job_name)
        self._cancelled = True

    def _dataset(self, load_examples: bool):
        from gemini_tuning.tuning_dataset import resolve_training_dataset

        return resolve_training_dataset(
            self.training_dataset,
            self.hook.backend_name,
            validation_dataset=self.validation_dataset,
            load_examples=load_examples,
        )

    def _spec(self, context: Context, dataset):
        from gemini_tuning.exceptions import InvalidInputError
        from gemini_tuning.models import Hyperparameters, TuningJobSpec

        ti = context["ti"]
        caps = self.hook.capabilities
        pre_tuned = tuned_model_name(self.pre_tuned_model, "pre_tuned_model") if self.pre_tuned_model else None
        if pre_tuned and self.base_model:
            raise InvalidInputError(
                "Give `base_model` or `pre_tuned_model`, not both: a continued model keeps its base."
            )
        # a continued model without a new display name becomes its next version: invent none then
        default_name = None if pre_tuned else f"{ti.dag_id}.{ti.task_id}"[: caps.display_name_max]
        return TuningJobSpec(
            base_model=pre_tuned or self.base_model or caps.default_base_model,
            pre_tuned_model=pre_tuned,
            pre_tuned_checkpoint_id=str(self.checkpoint_id) if self.checkpoint_id not in (None, "") else None,
            training_examples=dataset.examples,
            training_dataset_uri=dataset.training_dataset_uri,
            # the held-out split is for evaluation; only a backend that takes one also tunes with it
            validation_dataset_uri=dataset.validation_dataset_uri if caps.validation_dataset else None,
            example_count=dataset.train_count,
            display_name=self.display_name or default_name,
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
            export_last_checkpoint_only=self.export_last_checkpoint_only,
            service_account=self.service_account or None,
            kms_key_name=self.kms_key_name or None,
            tuning_mode=self.tuning_mode or None,
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
        self._ti = context["ti"]
        job = self.job_from_event(event, context)
        return self._result(job, self._dataset(load_examples=False))

    def _result(self, job: TuningJob, dataset) -> dict[str, Any]:
        from gemini_tuning.contracts.tuning import TuningSummary
        from gemini_tuning.exceptions import GateFailed

        if problem := self.data_limit_exceeded(job):  # a job that finished between two polls
            raise GateFailed(f"{problem} The job had already finished: {job.tuned_model} was tuned on that data.")

        summary = TuningSummary.from_job(
            job,
            training_dataset_uri=dataset.training_dataset_uri,
            validation_dataset_uri=dataset.validation_dataset_uri,
            example_count=dataset.train_count,
            prompt_template=self.prompt_template or dataset.prompt_template,
            metrics=self.hook.get_training_metrics(job),
        )
        if summary.loss_curve and dataset.staging_dir and self._can_plot(warn=False):
            summary.loss_curve_uri = self._write_plot(summary, dataset.staging_dir)
        self.log.info(
            "Tuned model %s ready; recommended_epoch_count=%s (from %s)",
            summary.tuned_model,
            summary.recommended_epoch_count,
            summary.recommended_epoch_source or "no loss curve",
        )
        return summary.to_xcom()

    def _can_plot(self, warn: bool) -> bool:
        """``plot_loss_curve`` and matplotlib installed (checked before submitting, with one warning)."""
        from gemini_tuning.optional import available, missing_message

        if not self.plot_loss_curve:
            return False
        if available("matplotlib"):
            return True
        if warn:
            self.log.warning("%s; skipped", missing_message("matplotlib", "plots", feature="the loss-curve PNG"))
        return False

    def _write_plot(self, summary, staging_dir: str) -> str:
        from airflow.sdk import ObjectStoragePath

        from gemini_tuning.loss import plot_loss_curve

        png = plot_loss_curve(
            [point.model_dump() for point in summary.step_loss],
            [point.model_dump() for point in summary.loss_curve],
            title=f"Loss: {summary.job_name}",
            recommended=summary.recommended_epoch_count,
            eval_curve=[point.model_dump() for point in summary.eval_loss_curve],
        )
        target = ObjectStoragePath(staging_dir) / f"loss_curve-{summary.job_name.rsplit('/', 1)[-1]}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png)
        self.log.info("Loss curve written to %s", target)
        return str(target)

    def on_kill(self) -> None:
        """Cancel the job on a user's kill; leave it for the next try when the worker shuts down.

        The Task SDK sends SIGTERM in both cases; only the task's state on the API server tells
        them apart (see :func:`gemini_tuning.waiting.killed_by_user`).
        """
        if not self._job_name or self._cancelled:
            return
        if not self.cancel_on_kill:
            self.log.info("Task killed; cancel_on_kill=False leaves tuning job %s running", self._job_name)
            return
        if not killed_by_user(self._ti):
            self.log.warning(
                "The worker is stopping while the task still runs on the server: leaving tuning job %s (%s) "
                "running; the next try reattaches to it.",
                self._job_name,
                self._job_url,
            )
            return
        self._cancel("a user killed the task")


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


def tuned_model_name(value: Any, argument: str) -> str:
    """A tuned model resource name, or the ``tuned_model`` of a :class:`TuningSummary` (dict, JSON, repr)."""
    from gemini_tuning.contracts.tuning import TuningSummary
    from gemini_tuning.exceptions import InvalidInputError

    if isinstance(value, str) and not value.lstrip().startswith("{"):
        return value.strip()
    name = TuningSummary.parse(value, argument=argument).tuned_model
    if not name:
        raise InvalidInputError(f"`{argument}` is a tuning summary without a tuned model (the job did not succeed).")
    return name


class SetDefaultCheckpointOperator(BaseOperator):
    """Make one checkpoint the tuned model's default: what its endpoint serves from then on (Vertex AI).

    Uses google-genai's ``models.update(config=UpdateModelConfig(default_checkpoint_id=...))``. To
    promote the best checkpoint of an evaluation run with ``checkpoints="all"``, pass that
    evaluation's output: ``checkpoint_id=evaluate.output``.

    :param tuned_model: the ``TuningSummary`` of the tuning task, or a tuned model resource name.
    :param checkpoint_id: the checkpoint to make the default (see the summary's ``checkpoints``), or
        an ``EvaluationSummary`` whose ``best_checkpoint`` it is.
    :return: ``{"tuned_model", "default_checkpoint_id", "model", "endpoint"}``, ``model`` being the
        endpoint to call (the promoted checkpoint's).
    """

    template_fields: Sequence[str] = ("tuned_model", "checkpoint_id", "gemini_conn_id")
    template_fields_renderers = {"tuned_model": "json", "checkpoint_id": "json"}

    def __init__(
        self,
        *,
        tuned_model: Any,
        checkpoint_id: Any,
        gemini_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tuned_model = tuned_model
        self.checkpoint_id = checkpoint_id
        self.gemini_conn_id = gemini_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from gemini_tuning.contracts.tuning import CheckpointChoice
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        name = tuned_model_name(self.tuned_model, "tuned_model")
        checkpoint_id = CheckpointChoice.checkpoint_id_of(self.checkpoint_id)
        model = GeminiTuningHook(gemini_conn_id=self.gemini_conn_id).set_default_checkpoint(name, checkpoint_id)
        endpoint = next(
            (d.get("endpoint") for d in model.get("deployedModels") or [] if d.get("checkpointId") == checkpoint_id),
            None,
        )
        return {"tuned_model": name, "default_checkpoint_id": checkpoint_id, "model": endpoint, "endpoint": endpoint}
