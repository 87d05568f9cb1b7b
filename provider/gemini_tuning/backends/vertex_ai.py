"""Vertex AI: ``tuningJobs`` on aiplatform through google-genai's ``tunings`` module."""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any

from gemini_tuning.backends.base import Capabilities, Limits, TuningBackend, iso
from gemini_tuning.backends.genai_private import arest, rest
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.models import (
    ADAPTER_SIZE_WORDS,
    Checkpoint,
    DroppedExample,
    Hyperparameters,
    JobState,
    TokenDistribution,
    TrainingMetrics,
    TuningDataStats,
    TuningJob,
)
from gemini_tuning.tuning_config import check_tuning_job_config

if TYPE_CHECKING:
    from google import genai

    from gemini_tuning.models import TuningJobSpec

CAPABILITIES = Capabilities(
    name="vertex_ai",
    label="Vertex AI",
    default_url="https://aiplatform.googleapis.com",
    default_api_version="v1beta1",
    hyperparameters=frozenset({"epoch_count", "learning_rate_multiplier", "adapter_size"}),
    adapter_sizes=tuple(ADAPTER_SIZE_WORDS),
    # Vertex AI supervised tuning: 1 GB training file, 1M examples, 5,000 validation examples;
    # a tuned model keeps its base model's input/output limits.
    limits=Limits(max_examples=1_000_000, max_validation_examples=5_000, max_training_bytes=1_000_000_000),
    dataset_format="contents",
    staging="gcs",
    validation_dataset=True,
    system_instruction=True,
    multi_turn=True,
    json_mode=True,
    cancel="cancel",
    failed_job_holds_id=False,
    display_name_max=128,
    labels=True,
    base_model_example="gemini-2.0-flash-001",
    checkpoints=True,
    continuous_tuning=True,
    enterprise_fields=True,
    default_base_model="gemini-2.0-flash-001",
    data_stats=True,
)

_SERVICE_ACCOUNT = re.compile(
    r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9-]+\.iam\.gserviceaccount\.com|\d+-compute@developer\.gserviceaccount\.com"
)
_KMS_KEY = re.compile(r"projects/[^/]+/locations/(?P<location>[^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+")
#: ``tuning_mode`` as users write it -> Vertex's enum
TUNING_MODES = {
    "full": "TUNING_MODE_FULL",
    "adapter": "TUNING_MODE_PEFT_ADAPTER",
    "tuning_mode_full": "TUNING_MODE_FULL",
    "tuning_mode_peft_adapter": "TUNING_MODE_PEFT_ADAPTER",
}
_TUNED_MODEL = re.compile(r"projects/[^/]+/locations/[^/]+/models/[^/@]+(@[^/]+)?")

#: The label that carries the provider's retry-safe job id (``job_id_for``) on Vertex AI jobs.
AIRFLOW_JOB_ID_LABEL = "airflow-job-id"


class VertexAIBackend(TuningBackend):
    """Tuning jobs on Vertex AI: datasets read from ``gs://``, jobs found again by label."""

    capabilities = CAPABILITIES

    def build_client(self) -> genai.Client:
        from google import genai

        if not self.settings.project:
            raise InvalidInputError("The Vertex AI backend needs `project` in the connection extra.")
        return genai.Client(
            vertexai=True,
            project=self.settings.project,
            location=self.settings.location,
            credentials=self._credentials(),
            http_options=self.settings.http_options(),
        )

    def _credentials(self) -> Any:
        if self.settings.access_token:
            from google.oauth2.credentials import Credentials

            return Credentials(token=self.settings.access_token.get_secret_value())
        if self.settings.google_cloud:  # a key (this connection's or a google_cloud_platform one's), impersonation
            return self.settings.google_cloud.credentials(self.settings.impersonation_chain)
        return None  # google-genai falls back to application-default credentials

    @property
    def url(self) -> str:
        return self.settings.base_url or f"https://{self.settings.location}-aiplatform.googleapis.com"

    def check_spec(self, spec: TuningJobSpec) -> None:
        super().check_spec(spec)
        if spec.pre_tuned_model and not _TUNED_MODEL.fullmatch(spec.pre_tuned_model):
            raise InvalidInputError(
                f"`pre_tuned_model` {spec.pre_tuned_model!r} is not a Vertex AI tuned model: expected "
                "projects/PROJECT/locations/LOCATION/models/ID (optionally @VERSION), e.g. a TuningSummary's `tuned_model`."
            )
        region = spec.pre_tuned_model.split("/")[3] if spec.pre_tuned_model else self.settings.location
        if region != self.settings.location:
            raise InvalidInputError(
                f"`pre_tuned_model` is a model in {region!r}, but the connection tunes in "
                f"{self.settings.location!r}: a job continues a tuned model of its own region."
            )
        self._check_enterprise_fields(spec)
        if not spec.training_dataset_uri:
            raise InvalidInputError("Vertex AI reads the training data from a gs:// URI; none was given.")
        for uri in filter(None, (spec.training_dataset_uri, spec.validation_dataset_uri)):
            if not uri.startswith("gs://"):
                raise InvalidInputError(f"Vertex AI reads datasets from Cloud Storage; `{uri}` is not a gs:// URI.")

    def _check_enterprise_fields(self, spec: TuningJobSpec) -> None:
        if spec.service_account and not _SERVICE_ACCOUNT.fullmatch(spec.service_account):
            raise InvalidInputError(
                f"`service_account` {spec.service_account!r} is not a service account email "
                "(NAME@PROJECT.iam.gserviceaccount.com or PROJECT_NUMBER-compute@developer.gserviceaccount.com)."
            )
        if spec.kms_key_name:
            key = _KMS_KEY.fullmatch(spec.kms_key_name)
            if not key:
                raise InvalidInputError(
                    f"`kms_key_name` {spec.kms_key_name!r} is not a Cloud KMS key "
                    "(projects/P/locations/L/keyRings/R/cryptoKeys/K)."
                )
            if key["location"] != self.settings.location:
                raise InvalidInputError(
                    f"`kms_key_name` is in {key['location']}, but the job runs in {self.settings.location}: "
                    "Vertex AI needs a key in the job's own region."
                )
        if spec.tuning_mode and spec.tuning_mode.lower() not in TUNING_MODES:
            raise InvalidInputError(f"`tuning_mode` must be `full` or `adapter`, got {spec.tuning_mode!r}.")
        if (
            spec.tuning_mode
            and TUNING_MODES[spec.tuning_mode.lower()] == "TUNING_MODE_FULL"
            and spec.hyperparameters.adapter_size
        ):
            raise InvalidInputError(
                "`adapter_size` is for adapter tuning; full tuning (`tuning_mode='full'`) takes none."
            )

    def create(self, client: genai.Client, spec: TuningJobSpec) -> TuningJob:
        from google.genai import types

        hp = spec.hyperparameters
        labels = dict(spec.labels)
        if spec.job_id:
            labels[AIRFLOW_JOB_ID_LABEL] = spec.job_id
        config = types.CreateTuningJobConfig(
            **check_tuning_job_config(spec.tuning_job_config, self.capabilities.name),
            tuned_model_display_name=spec.display_name,
            description=spec.description,
            epoch_count=hp.epoch_count,
            learning_rate_multiplier=hp.learning_rate_multiplier,
            adapter_size=f"ADAPTER_SIZE_{ADAPTER_SIZE_WORDS[hp.adapter_size]}" if hp.adapter_size else None,
            export_last_checkpoint_only=spec.export_last_checkpoint_only,
            tuning_mode=TUNING_MODES[spec.tuning_mode.lower()] if spec.tuning_mode else None,
            encryption_spec=types.EncryptionSpec(kms_key_name=spec.kms_key_name) if spec.kms_key_name else None,
            # google-genai's config has no service account: it goes in the request body
            http_options=types.HttpOptions(extra_body={"serviceAccount": spec.service_account})
            if spec.service_account
            else None,
            labels=labels or None,
            validation_dataset=(
                types.TuningValidationDataset(gcs_uri=spec.validation_dataset_uri)
                if spec.validation_dataset_uri
                else None
            ),
        )
        if spec.pre_tuned_model:  # google-genai sends a projects/... base model as preTunedModel
            config.pre_tuned_model_checkpoint_id = spec.pre_tuned_checkpoint_id
        job = client.tunings.tune(
            base_model=spec.pre_tuned_model or spec.base_model,
            training_dataset=types.TuningDataset(gcs_uri=spec.training_dataset_uri),
            config=config,
        )
        return self.parse(job)

    def get(self, client: genai.Client, name: str) -> TuningJob:
        return self.parse(client.tunings.get(name=name))

    async def aget(self, client: genai.Client, name: str) -> TuningJob:
        return self.parse(await client.aio.tunings.get(name=name))

    async def apoll(self, client: genai.Client, name: str, last_state: JobState | None = None) -> TuningJob:
        """A running job needs only what its progress line shows: the resource is read as JSON, without
        building the SDK's model of it; a finished job is read again through the SDK and comes back whole."""
        resource = await arest(client, "get", name)
        state = resource.get("state")
        state = JobState(state) if state in JobState._value2member_map_ else JobState.UNSPECIFIED
        if state.is_terminal:
            return await self.aget(client, name)
        epochs = ((resource.get("supervisedTuningSpec") or {}).get("hyperParameters") or {}).get("epochCount")
        done = (resource.get("tuningJobMetadata") or {}).get("completedEpochCount")
        detail = resource.get("tuningJobState") if state is JobState.RUNNING else None
        return TuningJob(
            name=resource["name"],
            backend=CAPABILITIES.name,
            state=state,
            display_name=resource.get("tunedModelDisplayName"),
            base_model=resource.get("baseModel"),
            hyperparameters=Hyperparameters(epoch_count=int(epochs) if epochs else None),
            create_time=resource.get("createTime"),
            start_time=resource.get("startTime"),
            labels=resource.get("labels") or {},
            console_url=self._console_url(resource["name"]),
            detailed_state=detail.removeprefix("TUNING_JOB_STATE_") if detail else None,
            completed_epoch_count=int(done) if done else (0 if resource.get("startTime") else None),
            experiment=resource.get("experiment"),
        )

    def find(self, client: genai.Client, job_id: str) -> TuningJob | None:
        jobs = self.list(client, filter=f'labels.{AIRFLOW_JOB_ID_LABEL}="{job_id}"', page_size=100)
        return max(jobs, key=lambda job: job.create_time or "", default=None)

    def list(
        self, client: genai.Client, *, filter: str | None, page_size: int, limit: int | None = None
    ) -> list[TuningJob]:
        config = {"page_size": page_size, **({"filter": filter} if filter else {})}
        return [self.parse(job) for job in itertools.islice(client.tunings.list(config=config), limit)]

    def cancel(self, client: genai.Client, name: str) -> TuningJob:
        job = self.get(client, name)
        if not job.done:
            client.tunings.cancel(name=name)
            job = self.get(client, name)
        return job

    async def acancel(self, client: genai.Client, name: str) -> TuningJob:
        job = await self.aget(client, name)
        if not job.done:
            await client.aio.tunings.cancel(name=name)
            job = await self.aget(client, name)
        return job

    def free_job_id(self, client: genai.Client, job: TuningJob) -> None:
        """Failed Vertex jobs stay as history; a new job with the same label supersedes them."""

    def delete_model(self, client: genai.Client, name: str) -> bool:
        """Delete a tuned model (endpoint, ``ID@N`` version or whole ``ID``) and every checkpoint
        endpoint it has; ``False`` when it is already gone (see :mod:`.vertex_cleanup`)."""
        from gemini_tuning.backends.vertex_cleanup import delete_tuned_model

        return delete_tuned_model(client, name)

    def parse(self, job: Any) -> TuningJob:
        """A google-genai ``TuningJob`` as a :class:`TuningJob`."""
        spec = job.supervised_tuning_spec
        hp = spec.hyper_parameters if spec and spec.hyper_parameters else None
        stats = job.tuning_data_stats.supervised_tuning_data_stats if job.tuning_data_stats else None
        adapter = hp.adapter_size.value.removeprefix("ADAPTER_SIZE_") if hp and hp.adapter_size else None
        state = JobState(job.state.value) if job.state else JobState.UNSPECIFIED
        return TuningJob(
            name=job.name,
            backend=CAPABILITIES.name,
            state=state,
            display_name=job.tuned_model_display_name,
            base_model=job.base_model or (job.pre_tuned_model.base_model if job.pre_tuned_model else None),
            completed_percent=100.0 if state is JobState.SUCCEEDED else None,
            total_steps=stats.tuning_step_count if stats else None,
            tuned_model=job.tuned_model.model if job.tuned_model else None,
            endpoint=job.tuned_model.endpoint if job.tuned_model else None,
            hyperparameters=Hyperparameters(
                epoch_count=hp.epoch_count if hp else None,
                learning_rate_multiplier=hp.learning_rate_multiplier if hp else None,
                adapter_size=adapter,
            ),
            example_count=stats.tuning_dataset_example_count if stats else None,
            error_message=job.error.message if job.error else None,
            error_code=job.error.code if job.error else None,
            create_time=iso(job.create_time),
            start_time=iso(job.start_time),
            end_time=iso(job.end_time),
            labels=dict(job.labels or {}),
            console_url=self._console_url(job.name),
            detailed_state=(
                job.tuning_job_state.value.removeprefix("TUNING_JOB_STATE_")
                if job.tuning_job_state and state is JobState.RUNNING
                else None
            ),
            completed_epoch_count=_completed_epochs(job, state),
            data_stats=_data_stats(stats) if stats else None,
            checkpoints=[
                Checkpoint(checkpoint_id=c.checkpoint_id, epoch=c.epoch, step=c.step, endpoint=c.endpoint)
                for c in (job.tuned_model.checkpoints or [] if job.tuned_model else [])
            ],
            experiment=job.experiment,
            pre_tuned_model=job.pre_tuned_model.tuned_model_name if job.pre_tuned_model else None,
            pre_tuned_checkpoint_id=job.pre_tuned_model.checkpoint_id if job.pre_tuned_model else None,
            service_account=job.service_account,
            kms_key_name=job.encryption_spec.kms_key_name if job.encryption_spec else None,
            tuning_mode=_tuning_mode(job),
        )

    def _console_url(self, name: str | None) -> str:
        _, project, _, location, _, job_id = (name or "//////").split("/")[:6]
        return self.console_url(
            name,
            f"https://console.cloud.google.com/vertex-ai/generative/language/locations/{location}"
            f"/tuning/tuningJob/{job_id}/monitor?project={project}",
        )

    def set_default_checkpoint(self, client: genai.Client, tuned_model: str, checkpoint_id: str) -> dict[str, Any]:
        """``models.update(default_checkpoint_id=...)``: google-genai's PATCH on the model version."""
        from google.genai import types

        client.models.update(model=tuned_model, config=types.UpdateModelConfig(default_checkpoint_id=checkpoint_id))
        return rest(client, "get", tuned_model)

    def training_metrics(self, client: genai.Client, job: TuningJob) -> TrainingMetrics:
        """The job's TensorBoard time series (see :mod:`.vertex_metrics`)."""
        from gemini_tuning.backends.vertex_metrics import read_metrics

        if not job.experiment:
            return TrainingMetrics(missing=f"{job.name} names no experiment (it never started training)")
        series = read_metrics(client, job.experiment)
        epochs = job.hyperparameters.epoch_count
        total = job.data_stats.tuning_step_count if job.data_stats else None
        if not total and series.get("train_total_loss"):
            total = series["train_total_loss"][-1].step
        steps_per_epoch = -(-total // epochs) if total and epochs else None
        missing = None if series else f"the TensorBoard of {job.experiment} has no time series yet"
        return TrainingMetrics(series=series, steps_per_epoch=steps_per_epoch, missing=missing)


def _tuning_mode(job: Any) -> str | None:
    mode = job.supervised_tuning_spec.tuning_mode if job.supervised_tuning_spec else None
    return {"TUNING_MODE_FULL": "full", "TUNING_MODE_PEFT_ADAPTER": "adapter"}.get(mode.value) if mode else None


def _completed_epochs(job: Any, state: JobState) -> int | None:
    """Epochs done: proto3 JSON leaves a zero count out, so a started job without one has done 0."""
    metadata = job.tuning_job_metadata
    if metadata and metadata.completed_epoch_count is not None:
        return int(metadata.completed_epoch_count)
    return 0 if job.start_time and not state.is_terminal else None


def _data_stats(stats: Any) -> TuningDataStats:
    """google-genai's ``SupervisedTuningDataStats`` as :class:`TuningDataStats`."""
    indices = [int(i) for i in stats.truncated_example_indices or []]
    reasons = list(stats.dropped_example_reasons or [])
    return TuningDataStats(
        example_count=stats.tuning_dataset_example_count,
        billable_token_count=stats.total_billable_token_count,
        billable_character_count=stats.total_billable_character_count,
        tuning_character_count=stats.total_tuning_character_count,
        tuning_step_count=stats.tuning_step_count,
        truncated_example_count=stats.total_truncated_example_count or 0,
        truncated_example_indices=indices,
        dropped_example_count=(stats.total_truncated_example_count or len(reasons)) if reasons else 0,
        dropped_examples=[
            DroppedExample(index=index, reason=reasons[i] if i < len(reasons) else None)
            for i, index in enumerate(indices)
        ],
        input_token_distribution=_distribution(stats.user_input_token_distribution),
        output_token_distribution=_distribution(stats.user_output_token_distribution),
    )


def _distribution(dist: Any) -> TokenDistribution | None:
    if dist is None:
        return None
    fields = ("sum", "min", "max", "mean", "median", "p5", "p95")
    return TokenDistribution(**{field: getattr(dist, field, None) for field in fields})
