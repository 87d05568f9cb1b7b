"""Vertex AI: ``tuningJobs`` on aiplatform through google-genai's ``tunings`` module."""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any

from gemini_tuning.backends.base import Capabilities, Limits, TuningBackend, iso
from gemini_tuning.backends.genai_private import rest
from gemini_tuning.exceptions import InvalidInputError, NotFoundError, TuningJobTimeout, service_error, translate_errors
from gemini_tuning.models import ADAPTER_SIZE_WORDS, Hyperparameters, JobState, TuningJob
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
)

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
        if not spec.training_dataset_uri:
            raise InvalidInputError("Vertex AI reads the training data from a gs:// URI; none was given.")
        for uri in filter(None, (spec.training_dataset_uri, spec.validation_dataset_uri)):
            if not uri.startswith("gs://"):
                raise InvalidInputError(f"Vertex AI reads datasets from Cloud Storage; `{uri}` is not a gs:// URI.")

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
            labels=labels or None,
            validation_dataset=(
                types.TuningValidationDataset(gcs_uri=spec.validation_dataset_uri)
                if spec.validation_dataset_uri
                else None
            ),
        )
        job = client.tunings.tune(
            base_model=spec.base_model,
            training_dataset=types.TuningDataset(gcs_uri=spec.training_dataset_uri),
            config=config,
        )
        return self.parse(job)

    def get(self, client: genai.Client, name: str) -> TuningJob:
        return self.parse(client.tunings.get(name=name))

    async def aget(self, client: genai.Client, name: str) -> TuningJob:
        return self.parse(await client.aio.tunings.get(name=name))

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
        """Delete a tuned model given its endpoint or model name; ``False`` when it is already gone.

        Vertex AI refuses to delete a deployed model or an endpoint with models on it, so this
        undeploys the model from its endpoint, deletes the (tuning-created) endpoint once it is
        empty, then deletes the model, waiting for each long-running operation.
        """
        try:
            with translate_errors():
                models = self._undeploy_for_delete(client, name)
        except NotFoundError:
            return False
        with translate_errors():
            for model_name in sorted(models):
                try:
                    self._wait(client, rest(client, "delete", model_name))
                except NotFoundError:
                    pass
        return True

    def _undeploy_for_delete(self, client: genai.Client, name: str) -> set[str]:
        """Undeploy what stands in the way of deleting ``name``; return the model names to delete."""
        if "/endpoints/" in name:
            endpoint = rest(client, "get", name)
            models = {d["model"].split("@")[0] for d in endpoint.get("deployedModels") or []}
            self._undeploy(client, endpoint)
            self._wait(client, rest(client, "delete", name))
            for model in models:  # the endpoints of the model's other checkpoints
                self._undeploy_for_delete(client, model)
            return models
        model = rest(client, "get", name.split("@")[0])
        for endpoint_name in {d["endpoint"] for d in model.get("deployedModels") or []}:
            endpoint = rest(client, "get", endpoint_name)
            if not self._undeploy(client, endpoint, only=model["name"]):
                self._wait(client, rest(client, "delete", endpoint_name))
        return {model["name"]}

    def _undeploy(self, client: genai.Client, endpoint: dict, only: str | None = None) -> list[dict]:
        """Undeploy models (all, or only versions of ``only``) from ``endpoint``; return those left."""
        left = []
        for deployed in endpoint.get("deployedModels") or []:
            if only and deployed["model"].split("@")[0] != only:
                left.append(deployed)
                continue
            body = {"deployedModelId": deployed["id"]}
            self._wait(client, rest(client, "post", f"{endpoint['name']}:undeployModel", body))
        return left

    def _wait(self, client: genai.Client, operation: dict, timeout: float = 600.0) -> None:
        """Poll a Vertex long-running operation until done; raise its error if it failed."""
        deadline = time.monotonic() + timeout
        while not operation.get("done"):
            if time.monotonic() > deadline:
                raise TuningJobTimeout(f"Operation {operation.get('name')} did not finish within {timeout:g}s.")
            time.sleep(1.0)
            operation = rest(client, "get", operation["name"])
        if operation.get("error"):
            error = operation["error"]
            raise service_error(error.get("message") or "the operation failed", status=_status_name(error))

    def parse(self, job: Any) -> TuningJob:
        """A google-genai ``TuningJob`` as a :class:`TuningJob`."""
        spec = job.supervised_tuning_spec
        hp = spec.hyper_parameters if spec and spec.hyper_parameters else None
        stats = job.tuning_data_stats.supervised_tuning_data_stats if job.tuning_data_stats else None
        adapter = hp.adapter_size.value.removeprefix("ADAPTER_SIZE_") if hp and hp.adapter_size else None
        state = JobState(job.state.value) if job.state else JobState.UNSPECIFIED
        _, project, _, location, _, job_id = (job.name or "//////").split("/")[:6]
        console = (
            f"https://console.cloud.google.com/vertex-ai/generative/language/locations/{location}"
            f"/tuning/tuningJob/{job_id}/monitor?project={project}"
        )
        return TuningJob(
            name=job.name,
            backend=CAPABILITIES.name,
            state=state,
            display_name=job.tuned_model_display_name,
            base_model=job.base_model,
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
            console_url=self.console_url(job.name, console),
        )


def _status_name(error: dict) -> str | None:
    """The google.rpc code of an operation's error as its status name (``9`` -> ``FAILED_PRECONDITION``)."""
    from google.rpc import code_pb2

    code = error.get("code")
    return code_pb2.Code.Name(code) if isinstance(code, int) and code in code_pb2.Code.values() else None
