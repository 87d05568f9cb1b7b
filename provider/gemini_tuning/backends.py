"""Everything that differs between the Gemini Developer API and Vertex AI lives here.

Each backend turns a :class:`TuningJobSpec` into remote calls and the service's answers into a
:class:`~gemini_tuning.models.TuningJob`. The hook picks the backend from the connection and owns
the client, error translation and logging; operators never see a backend difference.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from pydantic import BaseModel, Field

from gemini_tuning.exceptions import InvalidInputError, NotFoundError, ServiceError, translate_errors
from gemini_tuning.models import Hyperparameters, JobState, Snapshot, TuningJob

if TYPE_CHECKING:
    from google import genai

    from gemini_tuning.connection import ConnectionSettings

JOB_ID_LABEL = "airflow-job-id"
ADAPTER_SIZES = {1: "ONE", 2: "TWO", 4: "FOUR", 8: "EIGHT", 16: "SIXTEEN", 32: "THIRTY_TWO"}


class TuningJobSpec(BaseModel):
    """What to tune. ``job_id`` makes submission idempotent (see the tuning operator)."""

    base_model: str
    training_examples: list[dict[str, str]] | None = None
    training_dataset_uri: str | None = None
    validation_dataset_uri: str | None = None
    display_name: str | None = None
    description: str | None = None
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    job_id: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class _Backend:
    name: ClassVar[str]
    supported: ClassVar[frozenset[str]]
    other: ClassVar[str]

    def __init__(self, settings: ConnectionSettings):
        self.settings = settings

    def check_hyperparameters(self, hp: Hyperparameters) -> None:
        """Reject what this backend does not take, before anything is sent."""
        given = {k for k, v in hp.model_dump().items() if v is not None}
        for field in sorted(given - self.supported):
            raise InvalidInputError(
                f"Hyperparameter `{field}` is not supported by the {self.name} backend "
                f"(it takes {', '.join(sorted(self.supported))}); `{field}` is a {self.other} parameter."
            )
        if hp.epoch_count is not None and hp.epoch_count < 1:
            raise InvalidInputError(f"`epoch_count` must be >= 1, got {hp.epoch_count}.")
        if hp.batch_size is not None and hp.batch_size < 1:
            raise InvalidInputError(f"`batch_size` must be >= 1, got {hp.batch_size}.")
        for field in ("learning_rate", "learning_rate_multiplier"):
            value = getattr(hp, field)
            if value is not None and value <= 0:
                raise InvalidInputError(f"`{field}` must be > 0, got {value}.")

    def check_spec(self, spec: TuningJobSpec) -> None:
        self.check_hyperparameters(spec.hyperparameters)

    @property
    def _emulated(self) -> bool:
        return bool(self.settings.base_url) and "googleapis.com" not in (self.settings.base_url or "")

    def _emulator_url(self, name: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/_emulator/jobs/{name}"


class GeminiApiBackend(_Backend):
    """``tunedModels`` on generativelanguage v1beta, sent through the client's own transport.

    google-genai's ``tunings.tune`` drops the examples and ``learningRateMultiplier`` and its default
    ``v1`` has no tunedModels CRUD, so create/get/list/cancel go as raw v1beta requests through the
    client's API client: same base URL, key header, timeout and retry policy as every SDK call.
    """

    name = "gemini_api"
    other = "Vertex AI"
    supported = frozenset({"epoch_count", "batch_size", "learning_rate", "learning_rate_multiplier"})

    def check_spec(self, spec: TuningJobSpec) -> None:
        super().check_spec(spec)
        hp = spec.hyperparameters
        if hp.learning_rate is not None and hp.learning_rate_multiplier is not None:
            raise InvalidInputError(
                "Give either `learning_rate` or `learning_rate_multiplier` on the Gemini API, not both."
            )
        if not spec.training_examples:
            raise InvalidInputError("The Gemini API takes the training examples inline; none were given.")
        if spec.validation_dataset_uri:
            raise InvalidInputError(
                "`validation_dataset` is not supported by the gemini_api backend; it is a Vertex AI parameter."
            )

    # tunedModels CRUD exists only in v1beta, whatever version the connection uses for the rest.
    @staticmethod
    def _request(client: genai.Client, method: str, path: str, body: dict | None = None) -> dict:
        return _rest(client, method, path, body, {"api_version": "v1beta"})

    @staticmethod
    async def _arequest(client: genai.Client, method: str, path: str, body: dict | None = None) -> dict:
        return await _arest(client, method, path, body, {"api_version": "v1beta"})

    def create(self, client: genai.Client, spec: TuningJobSpec) -> TuningJob:
        hp = spec.hyperparameters
        hyperparameters = {
            "epochCount": hp.epoch_count,
            "batchSize": hp.batch_size,
            "learningRate": hp.learning_rate,
            "learningRateMultiplier": hp.learning_rate_multiplier,
        }
        body = {
            "baseModel": spec.base_model if spec.base_model.startswith("models/") else f"models/{spec.base_model}",
            "displayName": spec.display_name,
            "description": spec.description,
            "tuningTask": {
                "hyperparameters": {k: v for k, v in hyperparameters.items() if v is not None},
                "trainingData": {
                    "examples": {
                        "examples": [
                            {"textInput": ex["text_input"], "output": ex["output"]} for ex in spec.training_examples
                        ]
                    }
                },
            },
        }
        body = {k: v for k, v in body.items() if v is not None}
        path = "tunedModels" + (f"?tunedModelId={quote(spec.job_id)}" if spec.job_id else "")
        operation = self._request(client, "post", path, body)
        return self.get(client, operation["name"].split("/operations/")[0])

    def get(self, client: genai.Client, name: str) -> TuningJob:
        model = self._request(client, "get", name)
        operations = self._request(client, "get", f"{name}/operations").get("operations") or []
        return self.parse(model, operations[-1] if operations else None)

    async def aget(self, client: genai.Client, name: str) -> TuningJob:
        model = await self._arequest(client, "get", name)
        operations = (await self._arequest(client, "get", f"{name}/operations")).get("operations") or []
        return self.parse(model, operations[-1] if operations else None)

    def find(self, client: genai.Client, job_id: str) -> TuningJob | None:
        try:
            with translate_errors():
                return self.get(client, f"tunedModels/{job_id}")
        except NotFoundError:
            return None

    def list(
        self, client: genai.Client, *, filter: str | None, page_size: int, limit: int | None = None
    ) -> list[TuningJob]:
        jobs, token = [], None
        while limit is None or len(jobs) < limit:
            query = f"tunedModels?pageSize={page_size}" + (f"&filter={quote(filter)}" if filter else "")
            page = self._request(client, "get", query + (f"&pageToken={quote(token)}" if token else ""))
            jobs += [self.parse(model, None) for model in page.get("tunedModels") or []]
            token = page.get("nextPageToken")
            if not token:
                break
        return jobs[:limit]

    def cancel(self, client: genai.Client, name: str) -> TuningJob:
        """No cancel binding exists for tuned-model operations: deleting a CREATING model stops it."""
        job = self.get(client, name)
        if job.done:
            return job
        self._request(client, "delete", name)
        return job.model_copy(update={"state": JobState.CANCELLED})

    async def acancel(self, client: genai.Client, name: str) -> TuningJob:
        job = await self.aget(client, name)
        if job.done:
            return job
        await self._arequest(client, "delete", name)
        return job.model_copy(update={"state": JobState.CANCELLED})

    def discard_failed(self, client: genai.Client, job: TuningJob) -> None:
        """A failed model keeps its id; free the id so a resubmission can use it."""
        self._request(client, "delete", job.name)

    def delete_model(self, client: genai.Client, name: str) -> bool:
        """Delete ``tunedModels/...``; ``False`` when it is already gone."""
        try:
            with translate_errors():
                client.models.delete(model=name)
        except NotFoundError:
            return False
        return True

    def parse(self, model: dict[str, Any], operation: dict[str, Any] | None) -> TuningJob:
        task = model.get("tuningTask") or {}
        hp = task.get("hyperparameters") or {}
        metadata = (operation or {}).get("metadata") or {}
        error = (operation or {}).get("error") or {}
        snapshots = max(task.get("snapshots") or [], metadata.get("snapshots") or [], key=len)
        remote_state = model.get("state", "STATE_UNSPECIFIED")
        state = {
            "ACTIVE": JobState.SUCCEEDED,
            "FAILED": JobState.FAILED,
            "CREATING": JobState.RUNNING
            if task.get("startTime") or metadata.get("completedSteps")
            else JobState.PENDING,
        }.get(remote_state, JobState.UNSPECIFIED)
        percent = metadata.get("completedPercent")
        return TuningJob(
            name=model["name"],
            backend="gemini_api",
            state=state,
            display_name=model.get("displayName"),
            base_model=model.get("baseModel") or (model.get("tunedModelSource") or {}).get("baseModel"),
            completed_percent=100.0 if state is JobState.SUCCEEDED else percent,
            completed_steps=metadata.get("completedSteps"),
            total_steps=metadata.get("totalSteps"),
            snapshots=[
                Snapshot(
                    step=s.get("step"),
                    epoch=s.get("epoch"),
                    mean_loss=s.get("meanLoss"),
                    compute_time=s.get("computeTime"),
                )
                for s in snapshots
            ],
            tuned_model=model["name"] if state is JobState.SUCCEEDED else None,
            hyperparameters=Hyperparameters(
                epoch_count=hp.get("epochCount"),
                batch_size=hp.get("batchSize"),
                learning_rate=hp.get("learningRate"),
                learning_rate_multiplier=hp.get("learningRateMultiplier"),
            ),
            error_message=error.get("message"),
            error_code=error.get("code"),
            create_time=model.get("createTime"),
            start_time=task.get("startTime"),
            end_time=task.get("completeTime"),
            console_url=self._emulator_url(model["name"])
            if self._emulated
            else "https://aistudio.google.com/app/library",
        )


class VertexAIBackend(_Backend):
    """``tuningJobs`` on aiplatform, entirely through google-genai's ``tunings`` module."""

    name = "vertex_ai"
    other = "Gemini API"
    supported = frozenset({"epoch_count", "learning_rate_multiplier", "adapter_size"})

    def check_hyperparameters(self, hp: Hyperparameters) -> None:
        super().check_hyperparameters(hp)
        if hp.adapter_size is not None and hp.adapter_size not in ADAPTER_SIZES:
            raise InvalidInputError(
                f"`adapter_size` must be one of {sorted(ADAPTER_SIZES)} on Vertex AI, got {hp.adapter_size}."
            )

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
            labels[JOB_ID_LABEL] = spec.job_id
        config = types.CreateTuningJobConfig(
            tuned_model_display_name=spec.display_name,
            description=spec.description,
            epoch_count=hp.epoch_count,
            learning_rate_multiplier=hp.learning_rate_multiplier,
            adapter_size=f"ADAPTER_SIZE_{ADAPTER_SIZES[hp.adapter_size]}" if hp.adapter_size else None,
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
        jobs = self.list(client, filter=f'labels.{JOB_ID_LABEL}="{job_id}"', page_size=100)
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

    def discard_failed(self, client: genai.Client, job: TuningJob) -> None:
        """Failed Vertex jobs stay as history; a new job with the same label supersedes them."""

    def delete_model(self, client: genai.Client, name: str) -> bool:
        """Delete a tuned model given its endpoint or model name; ``False`` when it is already gone.

        Vertex AI refuses to delete a deployed model or an endpoint with models on it, so this
        undeploys the model from its endpoint, deletes the (tuning-created) endpoint once it is
        empty, then deletes the model, waiting for each long-running operation.
        """
        try:
            with translate_errors():
                if "/endpoints/" in name:
                    endpoint = self._request(client, "get", name)
                    models = {d["model"].split("@")[0] for d in endpoint.get("deployedModels") or []}
                    self._undeploy(client, endpoint)
                    self._wait(client, self._request(client, "delete", name))
                else:
                    model = self._request(client, "get", name.split("@")[0])
                    models = {model["name"]}
                    for endpoint_name in {d["endpoint"] for d in model.get("deployedModels") or []}:
                        endpoint = self._request(client, "get", endpoint_name)
                        left = self._undeploy(client, endpoint, only=model["name"])
                        if not left:
                            self._wait(client, self._request(client, "delete", endpoint_name))
        except NotFoundError:
            return False
        with translate_errors():
            for model_name in sorted(models):
                try:
                    self._wait(client, self._request(client, "delete", model_name))
                except NotFoundError:
                    pass
        return True

    def _undeploy(self, client: genai.Client, endpoint: dict, only: str | None = None) -> list[dict]:
        """Undeploy models (all, or only versions of ``only``) from ``endpoint``; return those left."""
        left = []
        for deployed in endpoint.get("deployedModels") or []:
            if only and deployed["model"].split("@")[0] != only:
                left.append(deployed)
                continue
            operation = self._request(
                client, "post", f"{endpoint['name']}:undeployModel", {"deployedModelId": deployed["id"]}
            )
            self._wait(client, operation)
        return left

    def _wait(self, client: genai.Client, operation: dict, timeout: float = 600.0) -> None:
        """Poll a Vertex long-running operation until done; raise its error if it failed."""
        import time

        deadline = time.monotonic() + timeout
        while not operation.get("done"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Operation {operation.get('name')} did not finish within {timeout}s.")
            time.sleep(1.0)
            operation = self._request(client, "get", operation["name"])
        if operation.get("error"):
            error = operation["error"]
            raise ServiceError(error.get("message", "operation failed"))

    @staticmethod
    def _request(client: genai.Client, method: str, path: str, body: dict | None = None) -> dict:
        return _rest(client, method, path, body)

    def parse(self, job: Any) -> TuningJob:
        spec = job.supervised_tuning_spec
        hp = spec.hyper_parameters if spec and spec.hyper_parameters else None
        stats = job.tuning_data_stats.supervised_tuning_data_stats if job.tuning_data_stats else None
        adapter = hp.adapter_size.value.removeprefix("ADAPTER_SIZE_") if hp and hp.adapter_size else None
        state = JobState(job.state.value) if job.state else JobState.UNSPECIFIED
        _, project, _, location, _, job_id = (job.name or "//////").split("/")[:6]
        console = (
            self._emulator_url(job.name)
            if self._emulated
            else f"https://console.cloud.google.com/vertex-ai/generative/language/locations/{location}"
            f"/tuning/tuningJob/{job_id}/monitor?project={project}"
        )
        return TuningJob(
            name=job.name,
            backend="vertex_ai",
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
                adapter_size={v: k for k, v in ADAPTER_SIZES.items()}.get(adapter),
            ),
            example_count=stats.tuning_dataset_example_count if stats else None,
            error_message=job.error.message if job.error else None,
            error_code=job.error.code if job.error else None,
            create_time=_iso(job.create_time),
            start_time=_iso(job.start_time),
            end_time=_iso(job.end_time),
            labels=dict(job.labels or {}),
            console_url=console,
        )


def _rest(client: genai.Client, method: str, path: str, body: dict | None = None, options: dict | None = None) -> dict:
    """A REST call the SDK has no (working) method for, sent through the client's own transport:
    same base URL, credentials, timeout and retry policy as every SDK call."""
    response = client._api_client.request(method, path, dict(body or {}), options)
    return json.loads(response.body) if response.body else {}


async def _arest(
    client: genai.Client, method: str, path: str, body: dict | None = None, options: dict | None = None
) -> dict:
    response = await client._api_client.async_request(method, path, dict(body or {}), options)
    return json.loads(response.body) if response.body else {}


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def backend_for(settings: ConnectionSettings) -> GeminiApiBackend | VertexAIBackend:
    return {"gemini_api": GeminiApiBackend, "vertex_ai": VertexAIBackend}[settings.backend](settings)
