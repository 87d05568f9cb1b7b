"""``TuningSummary``: what ``CreateTuningJobOperator`` and ``TuningJobSensor`` return (docs/xcom.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from gemini_tuning.contracts.base import XComContract
from gemini_tuning.loss import PLATEAU_THRESHOLD, per_epoch_loss, recommended_epoch_count
from gemini_tuning.models import TuningJob


class LossPoint(BaseModel):
    """One epoch of the loss curve: the mean of that epoch's snapshots."""

    epoch: int
    mean_loss: float


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
    training_dataset_uri: str | None = None
    validation_dataset_uri: str | None = None
    duration_seconds: float | None = None
    loss_curve: list[LossPoint] = Field(default_factory=list)
    recommended_epoch_count: int | None = None
    plateau_threshold: float = PLATEAU_THRESHOLD
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
    ) -> TuningSummary:
        """Summarize a finished ``job``; the dataset fields come from the task that knows them."""
        curve = per_epoch_loss(job.snapshots)
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
            training_dataset_uri=training_dataset_uri,
            validation_dataset_uri=validation_dataset_uri,
            duration_seconds=_seconds_between(job.start_time or job.create_time, job.end_time),
            loss_curve=curve,
            recommended_epoch_count=recommended_epoch_count(curve),
            prompt_template=prompt_template,
            console_url=job.console_url,
        )


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((_parse_time(end) - _parse_time(start)).total_seconds(), 3)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
