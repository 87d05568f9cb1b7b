"""Backend-neutral, JSON-safe views of tuning jobs (what the hook returns and XCom carries)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gemini_tuning.exceptions import InvalidInputError

#: ``adapter_size`` as google-genai's ``AdapterSize`` enum spells it (``ADAPTER_SIZE_FOUR``).
ADAPTER_SIZE_WORDS = {1: "ONE", 2: "TWO", 4: "FOUR", 8: "EIGHT", 16: "SIXTEEN", 32: "THIRTY_TWO"}


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
    """Tuning hyperparameters; build them with :meth:`parse` to get a one-line error on bad values."""

    model_config = ConfigDict(extra="forbid")

    epoch_count: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    learning_rate: float | None = Field(default=None, gt=0)
    learning_rate_multiplier: float | None = Field(default=None, gt=0)
    adapter_size: int | None = None

    @field_validator("adapter_size", mode="before")
    @classmethod
    def _adapter_size(cls, value: Any) -> Any:
        """Accept 4, "4", "FOUR" and google-genai's enum (``ADAPTER_SIZE_FOUR`` or the member)."""
        value = getattr(value, "value", value)
        if isinstance(value, str):
            word = value.strip().upper().removeprefix("ADAPTER_SIZE_")
            sizes = {name: size for size, name in ADAPTER_SIZE_WORDS.items()}
            return sizes.get(word, int(word) if word.isdigit() else value)
        return value

    @classmethod
    def parse(cls, **values: Any) -> Hyperparameters:
        """Build from operator arguments; :class:`InvalidInputError` names each bad one on one line."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise InvalidInputError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    """``ValidationError`` as one line per field: "`epoch_count` must be a whole number, got 2.5"."""
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        bound = err.get("ctx") or {}
        message = {
            "int_from_float": "must be a whole number",
            "int_parsing": "must be a whole number",
            "float_parsing": "must be a number",
            "greater_than_equal": f"must be >= {bound.get('ge')}",
            "greater_than": f"must be > {bound.get('gt')}",
            "extra_forbidden": "is not a hyperparameter",
        }.get(err["type"], err["msg"].replace("Input should be", "must be"))
        problems.append(f"`{field}` {message}, got {err.get('input')!r}")
    return "; ".join(problems) + "."


class TuningJob(BaseModel):
    """A tuning job as the provider sees it, whatever the backend."""

    model_config = ConfigDict(use_enum_values=False)

    name: str
    backend: str
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


class TuningJobSpec(BaseModel):
    """What to tune. ``job_id`` makes submission idempotent (see the tuning operator)."""

    base_model: str
    training_examples: list[dict[str, str]] | None = None
    training_dataset_uri: str | None = None
    validation_dataset_uri: str | None = None
    #: training examples, when known without reading the data (checks ``batch_size`` against it)
    example_count: int | None = None
    display_name: str | None = None
    description: str | None = None
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    job_id: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    #: further google-genai ``CreateTuningJobConfig`` fields (Vertex AI; see tuning_config.py)
    tuning_job_config: dict[str, Any] = Field(default_factory=dict)
