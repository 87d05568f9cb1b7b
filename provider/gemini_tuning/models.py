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


class MetricPoint(BaseModel):
    """One point of a training-metric time series."""

    step: int
    value: float


class TrainingMetrics(BaseModel):
    """A job's training metrics by name (``train_total_loss``, ``eval_total_loss``, ...), per step.

    Vertex AI reads them from the job's TensorBoard; the Gemini API's come from its loss snapshots.
    ``steps_per_epoch`` places a step in its epoch. ``missing`` says why there are none.
    """

    series: dict[str, list[MetricPoint]] = Field(default_factory=dict)
    steps_per_epoch: int | None = None
    missing: str | None = None

    def points(self, metric: str) -> list[MetricPoint]:
        return self.series.get(metric) or []

    @classmethod
    def from_snapshots(cls, job: TuningJob) -> TrainingMetrics:
        """The job's loss snapshots (Gemini API) as ``train_total_loss``."""
        snaps = [s for s in job.snapshots if s.step is not None and s.mean_loss is not None]
        per_epoch = max((s.step / s.epoch for s in snaps if s.epoch), default=None)
        return cls(
            series={"train_total_loss": [MetricPoint(step=s.step, value=s.mean_loss) for s in snaps]} if snaps else {},
            steps_per_epoch=round(per_epoch) if per_epoch else None,
            missing=None if snaps else f"{job.name} reported no loss snapshots",
        )


class TokenDistribution(BaseModel):
    """Vertex's ``DatasetDistribution`` of tokens per example (sums, quantiles)."""

    sum: int | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    median: float | None = None
    p5: float | None = None
    p95: float | None = None


class DroppedExample(BaseModel):
    """An example the service did not train on, with its 1-based index in the file and why."""

    index: int
    reason: str | None = None


class TuningDataStats(BaseModel):
    """The service's statistics of the training data (Vertex ``supervisedTuningDataStats``), normalized.

    Vertex's ``totalTruncatedExampleCount``/``truncatedExampleIndices`` count the examples it
    dropped; they are ``truncated_example_count``/``dropped_examples`` here.
    """

    example_count: int | None = None
    billable_token_count: int | None = None
    billable_character_count: int | None = None
    tuning_character_count: int | None = None
    tuning_step_count: int | None = None
    truncated_example_count: int = 0
    truncated_example_indices: list[int] = Field(default_factory=list)
    #: examples the service did not train on (those it gives a reason for); at most 100 listed
    dropped_example_count: int = 0
    dropped_examples: list[DroppedExample] = Field(default_factory=list)
    input_token_distribution: TokenDistribution | None = None
    output_token_distribution: TokenDistribution | None = None

    @property
    def truncated_fraction(self) -> float:
        return self.truncated_example_count / self.example_count if self.example_count else 0.0

    def limit_exceeded(self, max_truncated_fraction: float | None, max_dropped_examples: int | None) -> str | None:
        """What breaks the limits, in one sentence; ``None`` when the data is within them."""
        problems = []
        if max_truncated_fraction is not None and self.truncated_fraction > max_truncated_fraction:
            problems.append(
                f"{self.truncated_example_count} of {self.example_count} examples "
                f"({self.truncated_fraction:.1%}) were truncated, more than "
                f"max_truncated_fraction={max_truncated_fraction:g}"
            )
        if max_dropped_examples is not None and self.dropped_example_count > max_dropped_examples:
            problems.append(
                f"{self.dropped_example_count} examples were dropped, more than max_dropped_examples={max_dropped_examples}"
            )
        if not problems:
            return None
        shown = "; ".join(
            f"line {d.index}: {(d.reason or 'no reason given').rstrip('.')}" for d in self.dropped_examples[:5]
        )
        more = f" (and {len(self.dropped_examples) - 5} more)" if len(self.dropped_examples) > 5 else ""
        listed = f" Examples: {shown}{more}." if shown else ""
        indices = ", ".join(map(str, self.truncated_example_indices[:20]))
        truncated = f" Truncated example indices (1-based): {indices}." if indices and not shown else ""
        return "The tuning service reports that " + " and ".join(problems) + "." + listed + truncated


class Checkpoint(BaseModel):
    """One exported checkpoint of a tuned model (Vertex AI)."""

    checkpoint_id: str
    epoch: int | None = None
    step: int | None = None
    endpoint: str | None = None


#: Vertex's detailed states while a job is RUNNING, in order, and the ones that wait for resources.
DETAILED_STATES = (
    "WAITING_FOR_QUOTA",
    "PROCESSING_DATASET",
    "WAITING_FOR_CAPACITY",
    "TUNING",
    "POST_PROCESSING",
)
QUEUED_STATES = frozenset({"WAITING_FOR_QUOTA", "WAITING_FOR_CAPACITY"})


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
    #: Vertex's stage while RUNNING (one of :data:`DETAILED_STATES`, without ``TUNING_JOB_STATE_``)
    detailed_state: str | None = None
    completed_epoch_count: int | None = None
    data_stats: TuningDataStats | None = None
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    #: Vertex: the ML Metadata context of the job's training metrics
    experiment: str | None = None
    #: continuous tuning: the tuned model (version) and checkpoint the job started from
    pre_tuned_model: str | None = None
    pre_tuned_checkpoint_id: str | None = None
    #: Vertex enterprise fields, as the service echoes them
    service_account: str | None = None
    kms_key_name: str | None = None
    tuning_mode: str | None = None

    @property
    def done(self) -> bool:
        return self.state.is_terminal

    @property
    def queued(self) -> bool:
        """Waiting for quota or capacity (or queued): not yet doing paid work."""
        return self.state is JobState.QUEUED or self.detailed_state in QUEUED_STATES

    def progress(self) -> str:
        """One log line: state, percent, epoch and the latest mean loss."""
        parts = [self.state.value.removeprefix("JOB_STATE_")]
        if self.detailed_state:
            parts[0] += f" ({self.detailed_state.replace('_', ' ').lower()})"
        if self.completed_epoch_count is not None and self.hyperparameters.epoch_count:
            parts.append(f"epoch {self.completed_epoch_count}/{self.hyperparameters.epoch_count} done")
        if self.completed_percent is not None:
            parts.append(f"{self.completed_percent:.1f}% complete")
        if self.completed_steps is not None:
            parts.append(f"step {self.completed_steps}" + (f"/{self.total_steps}" if self.total_steps else ""))
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
    #: Vertex: export only the last epoch's checkpoint (default: one per epoch)
    export_last_checkpoint_only: bool | None = None
    #: Vertex continuous tuning: the tuned model (``projects/.../models/ID[@N]``) to continue from
    pre_tuned_model: str | None = None
    pre_tuned_checkpoint_id: str | None = None
    #: Vertex enterprise fields
    service_account: str | None = None
    kms_key_name: str | None = None
    #: ``full`` or ``adapter`` (Vertex ``TUNING_MODE_FULL`` / ``TUNING_MODE_PEFT_ADAPTER``)
    tuning_mode: str | None = None
