"""The Gemini Developer API: ``tunedModels`` on generativelanguage v1beta.

google-genai's ``tunings.tune`` drops the examples and ``learningRateMultiplier`` and its default
``v1`` has no tunedModels CRUD, so create/get/list/cancel go as raw v1beta requests through the
client's own transport (:mod:`gemini_tuning.backends.genai_private`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gemini_tuning.backends.base import Capabilities, Limits, TuningBackend
from gemini_tuning.backends.genai_private import arest, rest
from gemini_tuning.exceptions import InvalidInputError, NotFoundError, translate_errors
from gemini_tuning.models import Hyperparameters, JobState, Snapshot, TuningJob

if TYPE_CHECKING:
    from google import genai

    from gemini_tuning.models import TuningJobSpec

CAPABILITIES = Capabilities(
    name="gemini_api",
    label="Gemini API",
    default_url="https://generativelanguage.googleapis.com",
    default_api_version="v1beta",
    hyperparameters=frozenset({"epoch_count", "batch_size", "learning_rate", "learning_rate_multiplier"}),
    adapter_sizes=(),
    # ai.google.dev/gemini-api/docs/model-tuning: 40,000 / 5,000 characters, 20 examples minimum,
    # 100-500 recommended, "File size limit is 4 MB" (decimal MB, the conservative reading)
    limits=Limits(
        max_input_chars=40_000,
        max_output_chars=5_000,
        min_examples=20,
        recommended_examples=(100, 500),
        max_training_bytes=4_000_000,
    ),
    dataset_format="text_pair",
    staging="inline",
    validation_dataset=False,
    system_instruction=False,
    multi_turn=False,
    json_mode=False,
    cancel="delete",
    failed_job_holds_id=True,
    display_name_max=40,
    labels=False,
    base_model_example="models/gemini-1.5-flash-001-tuning",
    default_base_model="models/gemini-1.5-flash-001-tuning",
    data_stats=False,
)

#: tunedModels CRUD exists only in v1beta, whatever version the connection uses for the rest.
_V1BETA = {"api_version": "v1beta"}
_MODEL_STATES = {"ACTIVE": JobState.SUCCEEDED, "FAILED": JobState.FAILED}


class GeminiApiBackend(TuningBackend):
    """Tuned models on the Gemini API: the examples go inline, cancelling deletes the model."""

    capabilities = CAPABILITIES

    def build_client(self) -> genai.Client:
        from google import genai

        if not self.settings.api_key:
            raise InvalidInputError("The Gemini API backend needs an API key in the connection's password field.")
        return genai.Client(api_key=self.settings.api_key.get_secret_value(), http_options=self.settings.http_options())

    def check_spec(self, spec: TuningJobSpec) -> None:
        super().check_spec(spec)
        hp = spec.hyperparameters
        if hp.learning_rate is not None and hp.learning_rate_multiplier is not None:
            raise InvalidInputError(
                "Give either `learning_rate` or `learning_rate_multiplier` on the Gemini API, not both."
            )
        if "/" in spec.base_model.removeprefix("models/"):
            raise InvalidInputError(
                f"`base_model` {spec.base_model!r} is not a Gemini API model name: the Gemini API tunes "
                f"`models/...` names such as {CAPABILITIES.base_model_example!r} "
                "(`publishers/google/models/...` names are Vertex AI's)."
            )
        if not spec.training_examples:
            raise InvalidInputError("The Gemini API takes the training examples inline; none were given.")

    def create(self, client: genai.Client, spec: TuningJobSpec) -> TuningJob:
        hp = spec.hyperparameters
        hyperparameters = {
            "epochCount": hp.epoch_count,
            "batchSize": hp.batch_size,
            "learningRate": hp.learning_rate,
            "learningRateMultiplier": hp.learning_rate_multiplier,
        }
        examples = [{"textInput": ex["text_input"], "output": ex["output"]} for ex in spec.training_examples or []]
        body = {
            "baseModel": spec.base_model if spec.base_model.startswith("models/") else f"models/{spec.base_model}",
            "displayName": spec.display_name,
            "description": spec.description,
            "tuningTask": {
                "hyperparameters": {k: v for k, v in hyperparameters.items() if v is not None},
                "trainingData": {"examples": {"examples": examples}},
            },
        }
        body = {k: v for k, v in body.items() if v is not None}
        path = "tunedModels" + (f"?tunedModelId={quote(spec.job_id)}" if spec.job_id else "")
        operation = rest(client, "post", path, body, _V1BETA)
        return self.get(client, operation["name"].split("/operations/")[0])

    def get(self, client: genai.Client, name: str) -> TuningJob:
        model = rest(client, "get", name, options=_V1BETA)
        operations = rest(client, "get", f"{name}/operations", options=_V1BETA).get("operations") or []
        return self.parse(model, operations[-1] if operations else None)

    async def aget(self, client: genai.Client, name: str) -> TuningJob:
        model = await arest(client, "get", name, options=_V1BETA)
        operations = (await arest(client, "get", f"{name}/operations", options=_V1BETA)).get("operations") or []
        return self.parse(model, operations[-1] if operations else None)

    async def apoll(self, client: genai.Client, name: str, last_state: JobState | None = None) -> TuningJob:
        """The model alone answers "still running?": its latest operation (progress, error) is fetched
        only when the state changed or is terminal, and the loss history is read whole only once done."""
        model = await arest(client, "get", name, options=_V1BETA)
        state = _state(model, {})
        operation = None
        if state != last_state or state.is_terminal:
            operations = (await arest(client, "get", f"{name}/operations", options=_V1BETA)).get("operations") or []
            operation = operations[-1] if operations else None
        return self.parse(model, operation, history=state.is_terminal)

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
            page = rest(client, "get", query + (f"&pageToken={quote(token)}" if token else ""), options=_V1BETA)
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
        rest(client, "delete", name, options=_V1BETA)
        return job.model_copy(update={"state": JobState.CANCELLED})

    async def acancel(self, client: genai.Client, name: str) -> TuningJob:
        job = await self.aget(client, name)
        if job.done:
            return job
        await arest(client, "delete", name, options=_V1BETA)
        return job.model_copy(update={"state": JobState.CANCELLED})

    def free_job_id(self, client: genai.Client, job: TuningJob) -> None:
        """A failed model keeps its id: delete it so a resubmission can use the id."""
        rest(client, "delete", job.name, options=_V1BETA)

    def delete_model(self, client: genai.Client, name: str) -> bool:
        try:
            with translate_errors():
                client.models.delete(model=name)
        except NotFoundError:
            return False
        return True

    def parse(self, model: dict[str, Any], operation: dict[str, Any] | None, history: bool = True) -> TuningJob:
        """A ``tunedModels`` resource and its latest operation as a :class:`TuningJob`.

        ``history=False`` keeps only the latest loss snapshot (enough for a progress line).
        """
        task = model.get("tuningTask") or {}
        hp = task.get("hyperparameters") or {}
        metadata = (operation or {}).get("metadata") or {}
        error = (operation or {}).get("error") or {}
        snapshots = max(task.get("snapshots") or [], metadata.get("snapshots") or [], key=len)
        if not history:
            snapshots = snapshots[-1:]
        state = _state(model, metadata)
        return TuningJob(
            name=model["name"],
            backend=CAPABILITIES.name,
            state=state,
            display_name=model.get("displayName"),
            base_model=model.get("baseModel") or (model.get("tunedModelSource") or {}).get("baseModel"),
            completed_percent=100.0 if state is JobState.SUCCEEDED else metadata.get("completedPercent"),
            completed_steps=metadata.get("completedSteps", snapshots[-1].get("step") if snapshots else None),
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
            console_url=self.console_url(model["name"], "https://aistudio.google.com/app/library"),
        )


def _state(model: dict[str, Any], metadata: dict[str, Any]) -> JobState:
    """The job's state from the model (CREATING is RUNNING once training started), metadata helping."""
    task = model.get("tuningTask") or {}
    remote_state = model.get("state", "STATE_UNSPECIFIED")
    if remote_state == "CREATING":
        return JobState.RUNNING if task.get("startTime") or metadata.get("completedSteps") else JobState.PENDING
    return _MODEL_STATES.get(remote_state, JobState.UNSPECIFIED)
