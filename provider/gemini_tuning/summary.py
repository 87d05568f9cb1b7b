"""The JSON-safe summary a successful tuning task returns to XCom."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gemini_tuning.loss import PLATEAU_THRESHOLD, per_epoch_loss, recommended_epoch_count
from gemini_tuning.models import TuningJob
from gemini_tuning.tuning_dataset import ResolvedDataset


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    parse = lambda value: datetime.fromisoformat(value.replace("Z", "+00:00"))  # noqa: E731
    return round((parse(end) - parse(start)).total_seconds(), 3)


def summarize(job: TuningJob, dataset: ResolvedDataset, prompt_template: str | None = None) -> dict[str, Any]:
    """Everything downstream tasks (evaluate, promote, next week's run) need from a finished job."""
    curve = per_epoch_loss(job.snapshots)
    return {
        "job_name": job.name,
        "backend": job.backend,
        "state": job.state.value,
        "tuned_model": job.tuned_model,
        "endpoint": job.endpoint,
        "model": job.endpoint or job.tuned_model,
        "base_model": job.base_model,
        "hyperparameters": job.hyperparameters.model_dump(exclude_none=True),
        "example_count": job.example_count or dataset.train_count,
        "training_dataset_uri": dataset.training_dataset_uri,
        "validation_dataset_uri": dataset.validation_dataset_uri,
        "duration_seconds": _seconds_between(job.start_time or job.create_time, job.end_time),
        "loss_curve": curve,
        "recommended_epoch_count": recommended_epoch_count(curve),
        "plateau_threshold": PLATEAU_THRESHOLD,
        "prompt_template": prompt_template or dataset.prompt_template,
        "console_url": job.console_url,
        "loss_curve_uri": None,
    }
