"""What every backend provides: a :class:`Capabilities` record and the :class:`TuningBackend` calls.

The rest of the provider asks these questions (``capabilities.staging == "inline"``,
``capabilities.labels``...) instead of comparing backend names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from gemini_tuning.exceptions import InvalidInputError

if TYPE_CHECKING:
    from google import genai

    from gemini_tuning.connection import ConnectionSettings
    from gemini_tuning.models import Hyperparameters, JobState, TrainingMetrics, TuningJob, TuningJobSpec


@dataclass(frozen=True)
class Limits:
    """Documented dataset and request limits; ``None`` means the service sets none we check."""

    #: characters of one example's input / output (the Gemini API's 40,000 / 5,000)
    max_input_chars: int | None = None
    max_output_chars: int | None = None
    #: training examples: the minimum, the recommended range, the maximum
    min_examples: int = 1
    recommended_examples: tuple[int, int] | None = None
    max_examples: int | None = None
    max_validation_examples: int | None = None
    #: bytes of the training data as sent (inline body) or read (the training file)
    max_training_bytes: int | None = None


@dataclass(frozen=True)
class Capabilities:
    """Everything that differs between backends, as data."""

    #: the connection's ``backend`` value, e.g. ``gemini_api``
    name: str
    #: the service's name for people, e.g. ``Gemini API``
    label: str
    #: the service's host when the connection sets no ``base_url``
    default_url: str
    default_api_version: str
    #: hyperparameters the service takes (fields of :class:`~gemini_tuning.models.Hyperparameters`)
    hyperparameters: frozenset[str]
    #: adapter sizes the service takes (empty: no ``adapter_size``)
    adapter_sizes: tuple[int, ...]
    limits: Limits
    #: example shape the service reads: ``text_pair`` (``text_input``/``output``) or ``contents`` (chat turns)
    dataset_format: Literal["text_pair", "contents"]
    #: how training data reaches the service: sent ``inline`` in the request, or read from ``gs://``
    staging: Literal["inline", "gcs"]
    #: the service takes a validation dataset while tuning
    validation_dataset: bool
    #: examples (and tuned-model requests) may carry a system instruction
    system_instruction: bool
    #: examples may have more than one user/model exchange
    multi_turn: bool
    #: tuned models answer in JSON mode (``response_mime_type``/schemas)
    json_mode: bool
    #: ``cancel``: the job goes CANCELLED and stays; ``delete``: cancelling deletes the model being tuned
    cancel: Literal["cancel", "delete"]
    #: a failed job keeps its id, which must be freed (the job deleted) before resubmitting under it
    failed_job_holds_id: bool
    #: longest display name the service accepts
    display_name_max: int
    #: jobs carry labels (and lists filter on them)
    labels: bool
    #: ``base_model`` must look like this, for the error message
    base_model_example: str
    #: jobs take ``service_account``, ``kms_key_name`` (CMEK) and ``tuning_mode``
    enterprise_fields: bool = False
    #: what ``CreateTuningJobOperator`` tunes when no ``base_model`` is given (DAGs stay backend-neutral)
    default_base_model: str = ""
    #: tuned models have checkpoints (one per epoch, or the last only), one of them the default
    checkpoints: bool = False
    #: a job can continue from a tuned model (``pre_tuned_model``)
    continuous_tuning: bool = False
    #: the service reports statistics of the training data (examples, tokens, truncated/dropped)
    data_stats: bool = False


class TuningBackend(ABC):
    """One service's tuning calls. Built per connection by :func:`gemini_tuning.backends.backend_for`."""

    capabilities: ClassVar[Capabilities]

    def __init__(self, settings: ConnectionSettings):
        self.settings = settings

    @property
    def name(self) -> str:
        return self.capabilities.name

    # -- client ------------------------------------------------------------------------
    @abstractmethod
    def build_client(self) -> genai.Client:
        """A google-genai client for this service (raises :class:`InvalidInputError` when settings lack)."""

    @property
    def url(self) -> str:
        """Where requests go: the connection's ``base_url`` or the service's host."""
        return self.settings.base_url or self.capabilities.default_url

    def console_url(self, job_name: str, default: str) -> str:
        """The job's page: the emulator's when the connection says ``emulator: true``, else ``default``."""
        if self.settings.emulator and self.settings.base_url:
            return f"{self.settings.base_url.rstrip('/')}/_emulator/jobs/{job_name}"
        return default

    # -- checks (before any request) ---------------------------------------------------
    def check_hyperparameters(self, hp: Hyperparameters, example_count: int | None = None) -> None:
        """Reject what this backend does not take, before anything is sent."""
        caps = self.capabilities
        given = {k for k, v in hp.model_dump().items() if v is not None}
        for field in sorted(given - caps.hyperparameters):
            elsewhere = [c.label for c in _others(caps) if field in c.hyperparameters]
            where = f"; `{field}` is a {' and '.join(elsewhere)} parameter" if elsewhere else ""
            raise InvalidInputError(
                f"Hyperparameter `{field}` is not supported by the {caps.name} backend "
                f"(it takes {', '.join(sorted(caps.hyperparameters))}){where}."
            )
        if hp.adapter_size is not None and hp.adapter_size not in caps.adapter_sizes:
            raise InvalidInputError(
                f"`adapter_size` must be one of {list(caps.adapter_sizes)} on {caps.label}, got {hp.adapter_size}."
            )
        if hp.batch_size is not None and example_count is not None and hp.batch_size > example_count:
            raise InvalidInputError(
                f"`batch_size` is {hp.batch_size} but the training set has only {example_count} examples; "
                "use a batch size no larger than the training set."
            )

    def check_spec(self, spec: TuningJobSpec) -> None:
        """Everything that can be checked locally about ``spec``; raises :class:`InvalidInputError`."""
        caps = self.capabilities
        self.check_hyperparameters(spec.hyperparameters, spec.example_count)
        if spec.display_name and len(spec.display_name) > caps.display_name_max:
            raise InvalidInputError(
                f"`display_name` is {len(spec.display_name)} characters; {caps.label} accepts at most "
                f"{caps.display_name_max}."
            )
        if spec.labels and not caps.labels:
            raise InvalidInputError(f"`labels` are not supported by {caps.label}; tuned models there have none.")
        for field in ("service_account", "kms_key_name", "tuning_mode"):
            if getattr(spec, field) and not caps.enterprise_fields:
                raise InvalidInputError(f"`{field}` is not supported by {caps.label}; it is a Vertex AI field.")
        if spec.pre_tuned_model and not caps.continuous_tuning:
            raise InvalidInputError(
                f"`pre_tuned_model` is not supported by {caps.label}: it cannot continue a tuned model."
            )
        if spec.pre_tuned_checkpoint_id and not spec.pre_tuned_model:
            raise InvalidInputError("`checkpoint_id` needs `pre_tuned_model`: it names a checkpoint of that model.")
        if spec.export_last_checkpoint_only is not None and not caps.checkpoints:
            raise InvalidInputError(
                f"`export_last_checkpoint_only` is not supported by {caps.label}: tuned models there have no checkpoints."
            )
        if spec.validation_dataset_uri and not caps.validation_dataset:
            raise InvalidInputError(
                f"`validation_dataset` is not supported by the {caps.name} backend: {caps.label} tunes on the "
                "training set only (keep the held-out split for evaluation)."
            )

    # -- remote calls ------------------------------------------------------------------
    @abstractmethod
    def create(self, client: genai.Client, spec: TuningJobSpec) -> TuningJob: ...

    @abstractmethod
    def get(self, client: genai.Client, name: str) -> TuningJob: ...

    @abstractmethod
    async def aget(self, client: genai.Client, name: str) -> TuningJob: ...

    async def apoll(self, client: genai.Client, name: str, last_state: JobState | None = None) -> TuningJob:
        """One poll of a job being waited for; ``last_state`` is what the previous poll saw.

        A backend may answer a running job more cheaply than :meth:`aget` (fewer requests, only the
        latest loss snapshot); a finished job always comes back whole.
        """
        return await self.aget(client, name)

    @abstractmethod
    def find(self, client: genai.Client, job_id: str) -> TuningJob | None:
        """The job submitted under ``job_id`` (the newest), or ``None``."""

    @abstractmethod
    def list(
        self, client: genai.Client, *, filter: str | None, page_size: int, limit: int | None = None
    ) -> list[TuningJob]: ...

    @abstractmethod
    def cancel(self, client: genai.Client, name: str) -> TuningJob: ...

    @abstractmethod
    async def acancel(self, client: genai.Client, name: str) -> TuningJob: ...

    @abstractmethod
    def free_job_id(self, client: genai.Client, job: TuningJob) -> None:
        """Make the failed ``job``'s id usable again by a new submission."""

    @abstractmethod
    def delete_model(self, client: genai.Client, name: str) -> bool:
        """Delete a tuned model; ``False`` when it is already gone."""

    def set_default_checkpoint(self, client: genai.Client, tuned_model: str, checkpoint_id: str) -> dict[str, Any]:
        """Make ``checkpoint_id`` the tuned model's default; the model resource after the change."""
        raise InvalidInputError(f"{self.capabilities.label} tuned models have no checkpoints.")

    def training_metrics(self, client: genai.Client, job: TuningJob) -> TrainingMetrics:
        """The job's per-step metrics; by default its loss snapshots as ``train_total_loss``."""
        from gemini_tuning.models import TrainingMetrics

        return TrainingMetrics.from_snapshots(job)


def _others(caps: Capabilities) -> list[Capabilities]:
    from gemini_tuning.backends import CAPABILITIES

    return [c for c in CAPABILITIES.values() if c.name != caps.name]


def iso(value: Any) -> str | None:
    """A datetime as RFC 3339 text with ``Z`` (what the REST surfaces return)."""
    return value.isoformat().replace("+00:00", "Z") if value else None
