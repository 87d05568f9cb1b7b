"""What the UI shows: a task instance, a tuning job, an evaluation and a dataset's counts.

:mod:`gemini_tuning.ui.records` builds these from XComs; the queries, pages and JSON use them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, computed_field

SUCCEEDED = "JOB_STATE_SUCCEEDED"
TERMINAL_STATES = frozenset(
    {SUCCEEDED, "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED", "JOB_STATE_PARTIALLY_SUCCEEDED"}
)


class TaskRef(BaseModel):
    """A task instance, as Airflow records it."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    state: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    operator: str | None = None


class LossPoint(BaseModel):
    epoch: int | None = None
    step: int | None = None
    mean_loss: float


class Metric(BaseModel):
    tuned: float | None = None
    baseline: float | None = None
    delta: float | None = None


class Evaluation(BaseModel):
    """An ``EvaluateTunedModelOperator`` summary (pushed also when a gate fails)."""

    task: TaskRef
    model: str | None = None
    baseline_model: str | None = None
    examples: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    metrics: dict[str, Metric] = Field(default_factory=dict)
    headline: str | None = None
    passed: bool | None = None
    reasons: list[str] = Field(default_factory=list)
    dataset: str | None = None
    prompt_template: str | None = None
    results_uri: str | None = None
    report_uri: str | None = None

    @property
    def headline_metric(self) -> Metric | None:
        return self.metrics.get(self.headline) if self.headline else None


class Job(BaseModel):
    """A tuning job: from the task's XComs, then, while it runs, from the service."""

    task: TaskRef
    job_name: str | None = None
    job_url: str | None = None
    backend: str | None = None
    display_name: str | None = None
    base_model: str | None = None
    tuned_model: str | None = None
    model: str | None = None
    state: str | None = None
    completed_percent: float | None = None
    epoch: int | None = None
    epoch_count: int | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    example_count: int | None = None
    training_dataset_uri: str | None = None
    validation_dataset_uri: str | None = None
    prompt_template: str | None = None
    loss_curve: list[LossPoint] = Field(default_factory=list)
    step_losses: list[LossPoint] = Field(default_factory=list)
    recommended_epoch_count: int | None = None
    error: str | None = None
    submitted_at: datetime | None = None
    finished_at: datetime | None = None
    source: str = "task"  # "summary" (the task's return value), "service" (asked live) or "task" (name only)
    checked_at: datetime | None = None
    note: str | None = None  # why the state shown may be out of date
    evaluation: Evaluation | None = None
    conn_id: str | None = Field(default=None, exclude=True)

    @computed_field
    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @computed_field
    @property
    def progress(self) -> float | None:
        """Percent done: the service's figure, else epochs done, else 100 for a finished job."""
        if self.state == SUCCEEDED:
            return 100.0
        if self.completed_percent is not None:
            return max(0.0, min(100.0, self.completed_percent))
        if self.epoch and self.epoch_count:
            return min(100.0, 100.0 * self.epoch / self.epoch_count)
        return None

    @property
    def needs_service(self) -> bool:
        """Only a job whose end the task's records don't hold is asked about."""
        return bool(self.job_name) and self.source != "summary" and not self.terminal


class DatasetStats(BaseModel):
    """The validation report's counts."""

    task: TaskRef
    source: str | None = None
    total: int | None = None
    valid: int | None = None
    rejected: int | None = None
    duplicates: int | None = None
    train_count: int | None = None
    validation_count: int | None = None
    training_dataset_uri: str | None = None
    rejects_uri: str | None = None
    prompt_template: str | None = None
    warnings: list[str] = Field(default_factory=list)
