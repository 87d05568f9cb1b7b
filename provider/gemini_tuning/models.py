"""Backend-neutral, JSON-safe views of tuning jobs (what the hook returns and XCom carries)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Backend = Literal["gemini_api", "vertex_ai"]


class JobState(StrEnum):
    """Vertex AI's JobState names, used for both backends."""

    UNSPECIFIED = "JOB_STATE_UNSPECIFIED"
    QUEUED = "JOB_STATE_QUEUED"
    PENDING = "JOB_STATE_PENDING"
    RUNNING = "JOB_STATE_RUNNING"
    SUCCEEDED = "JOB_STATE_SUCCEEDED"
    FAILED = "JOB_STATE_FAILED"
    CANCELLING = "JOB_STATE_CANCELLING"
    CANCELLED = "JOB_STATE_CANCELLED"
    PAUSED = "JOB_STATE_PAUSED"
    EXPIRED = "JOB_STATE_EXPIRED"
    UPDATING = "JOB_STATE_UPDATING"
    PARTIALLY_SUCCEEDED = "JOB_STATE_PARTIALLY_SUCCEEDED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def is_failure(self) -> bool:
        return self in FAILURE_STATES


TERMINAL_STATES = frozenset(
    {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED, JobState.PARTIALLY_SUCCEEDED}
)
FAILURE_STATES = frozenset({JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED})


class Snapshot(BaseModel):
    """One point of the loss curve."""

    step: int | None = None
    epoch: int | None = None
    mean_loss: float | None = None
    compute_time: str | None = None


class Hyperparameters(BaseModel):
    epoch_count: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    learning_rate_multiplier: float | None = None
    adapter_size: int | None = None


class TuningJob(BaseModel):
    """A tuning job as the provider sees it, whatever the backend."""

    model_config = ConfigDict(use_enum_values=False)

    name: str
    backend: Backend
    state: JobState = JobState.UNSPECIFIED
    display_name: str | None = None
    base_model: str | None = None
    completed_percent: float | None = None
    completed_steps: int | None = None
    total_steps: int | None = None
    snapshots: list[Snapshot] = Field(default_factory=list)
    tuned_model: str | None = None
    endpoint: str | None = None
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    example_count: int | None = None
    error_message: str | None = None
    error_code: int | None = None
    create_time: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    console_url: str | None = None

    @property
    def done(self) -> bool:
        return self.state.is_terminal

    def progress(self) -> str:
        """One log line: state, percent, epoch and the latest mean loss."""
        parts = [self.state.value.removeprefix("JOB_STATE_")]
        if self.completed_percent is not None:
            parts.append(f"{self.completed_percent:.1f}% complete")
        if self.completed_steps is not None and self.total_steps:
            parts.append(f"step {self.completed_steps}/{self.total_steps}")
        if self.snapshots:
            last = self.snapshots[-1]
            epochs = f"/{self.hyperparameters.epoch_count}" if self.hyperparameters.epoch_count else ""
            parts.append(f"epoch {last.epoch}{epochs}")
            if last.mean_loss is not None:
                parts.append(f"mean loss {last.mean_loss:.4f}")
        return f"{self.name}: " + ", ".join(parts)

    def to_xcom(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
