"""``TuningSummary``: what ``CreateTuningJobOperator`` and ``TuningJobSensor`` return (docs/xcom.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from gemini_tuning.contracts.base import XComContract
from gemini_tuning.loss import PLATEAU_THRESHOLD, epoch_means, recommended_epoch_count, step_points
from gemini_tuning.models import Checkpoint, MetricPoint, TrainingMetrics, TuningDataStats, TuningJob


class LossPoint(BaseModel):
    """One epoch of the loss curve: the mean of that epoch's snapshots."""

    epoch: int
    mean_loss: float


class StepPoint(BaseModel):
    """One step of a metric curve."""

    step: int
    epoch: int | None = None
    value: float


class TuningSummary(XComContract):
    """A finished tuning job: what evaluation, promotion and next week's run need."""

    kind: ClassVar[str] = "tuning summary"
    SCHEMA_VERSION: ClassVar[int] = 1

    job_name: str
    backend: str
    state: str
    #: what to call for inference: the endpoint on Vertex AI, ``tunedModels/...`` on the Gemini API
    model: str | None = None
    tuned_model: str | None = None
    endpoint: str | None = None
    base_model: str | None = None
    #: hyperparameters the job used (service defaults filled in)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    example_count: int | None = None
    #: the tuned model's exported checkpoints (Vertex AI) and the one inference uses by default
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    default_checkpoint_id: str | None = None
    #: the service's statistics of the training data (Vertex AI), see docs/xcom.md
    data_stats: TuningDataStats | None = None
    #: epochs the job completed (Vertex AI's ``completedEpochCount``; on success, every requested one)
    completed_epoch_count: int | None = None
    training_dataset_uri: str | None = None
    validation_dataset_uri: str | None = None
    duration_seconds: float | None = None
    #: training loss per epoch (mean of the epoch's steps) and per step
    loss_curve: list[LossPoint] = Field(default_factory=list)
    step_loss: list[StepPoint] = Field(default_factory=list)
    #: validation loss per epoch and per step (Vertex AI with a validation dataset)
    eval_loss_curve: list[LossPoint] = Field(default_factory=list)
    eval_step_loss: list[StepPoint] = Field(default_factory=list)
    #: the last step's fraction of correctly predicted next tokens, on the training / validation data
    token_accuracy: float | None = None
    eval_token_accuracy: float | None = None
    recommended_epoch_count: int | None = None
    #: which curve ``recommended_epoch_count`` comes from: ``eval_loss`` or ``train_loss``
    recommended_epoch_source: str | None = None
    plateau_threshold: float = PLATEAU_THRESHOLD
    #: why there are no metrics (e.g. not published yet); ``None`` when there are
    metrics_missing: str | None = None
    prompt_template: str | None = None
    console_url: str | None = None
    loss_curve_uri: str | None = None

    @classmethod
    def from_job(
        cls,
        job: TuningJob,
        *,
        training_dataset_uri: str | None = None,
        validation_dataset_uri: str | None = None,
        example_count: int | None = None,
        prompt_template: str | None = None,
        metrics: TrainingMetrics | None = None,
    ) -> TuningSummary:
        """Summarize a finished ``job``; the dataset fields come from the task that knows them.

        ``metrics`` are the job's training metrics (the hook's ``get_training_metrics``); without
        them the loss snapshots on the job are used.
        """
        metrics = metrics or TrainingMetrics.from_snapshots(job)
        spe = metrics.steps_per_epoch
        steps = step_points(metrics.points("train_total_loss"), spe)
        eval_steps = step_points(metrics.points("eval_total_loss"), spe)
        curve, eval_curve = epoch_means(steps), epoch_means(eval_steps)
        source = "eval_loss" if eval_curve else "train_loss" if curve else None
        return cls(
            job_name=job.name,
            backend=job.backend,
            state=job.state.value,
            model=job.endpoint or job.tuned_model,
            tuned_model=job.tuned_model,
            endpoint=job.endpoint,
            base_model=job.base_model,
            hyperparameters=job.hyperparameters.model_dump(exclude_none=True),
            example_count=job.example_count or example_count,
            completed_epoch_count=_completed_epochs(job, curve),
            data_stats=job.data_stats,
            checkpoints=job.checkpoints,
            default_checkpoint_id=_default_checkpoint(job),
            training_dataset_uri=training_dataset_uri,
            validation_dataset_uri=validation_dataset_uri,
            duration_seconds=_seconds_between(job.start_time or job.create_time, job.end_time),
            loss_curve=curve,
            step_loss=steps,
            eval_loss_curve=eval_curve,
            eval_step_loss=eval_steps,
            token_accuracy=_last(metrics.points("train_fraction_of_correct_next_step_preds")),
            eval_token_accuracy=_last(metrics.points("eval_fraction_of_correct_next_step_preds")),
            recommended_epoch_count=recommended_epoch_count(eval_curve or curve),
            recommended_epoch_source=source,
            metrics_missing=metrics.missing,
            prompt_template=prompt_template,
            console_url=job.console_url,
        )


def _completed_epochs(job: TuningJob, curve: list[dict]) -> int | None:
    """Vertex AI counts them; a succeeded job did every requested epoch; else the curve's last epoch."""
    if job.completed_epoch_count is not None:
        return job.completed_epoch_count
    if job.state.value == "JOB_STATE_SUCCEEDED" and job.hyperparameters.epoch_count:
        return job.hyperparameters.epoch_count
    return curve[-1]["epoch"] if curve else None


def _default_checkpoint(job: TuningJob) -> str | None:
    """The checkpoint whose endpoint is the tuned model's endpoint."""
    return next((c.checkpoint_id for c in job.checkpoints if c.endpoint and c.endpoint == job.endpoint), None)


def _last(points: list[MetricPoint]) -> float | None:
    return points[-1].value if points else None


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((_parse_time(end) - _parse_time(start)).total_seconds(), 3)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class CheckpointChoice(XComContract):
    """The checkpoint a downstream task picked: an ``EvaluationSummary``'s ``best_checkpoint``
    (evaluated with ``checkpoints="all"``), or one checkpoint entry (``{"checkpoint_id": ...}``).

    Only those fields are read, so any evaluation summary version with them parses.
    """

    kind: ClassVar[str] = "checkpoint id or evaluation summary"
    SCHEMA_VERSION: ClassVar[int] = 1

    checkpoint_id: str | None = None
    best_checkpoint: Checkpoint | None = None

    @classmethod
    def checkpoint_id_of(cls, value: Any, *, argument: str = "checkpoint_id") -> str:
        """``value`` as a checkpoint id: an id (``2``, ``"2"``), or the chosen checkpoint of a summary."""
        from gemini_tuning.exceptions import InvalidInputError

        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and not value.lstrip().startswith("{") and value.strip():
            return value.strip()
        if value in (None, ""):
            raise InvalidInputError(f"`{argument}` is empty: name one of the tuned model's checkpoints.")
        choice = cls.parse(value, argument=argument)
        chosen = choice.best_checkpoint.checkpoint_id if choice.best_checkpoint else choice.checkpoint_id
        if not chosen:
            raise InvalidInputError(
                f"`{argument}` is an evaluation summary without a `best_checkpoint`: evaluate with "
                'checkpoints="all" to rank the checkpoints, or name one.'
            )
        return chosen
