"""Gemini Developer API (``generativelanguage.googleapis.com``) routes: tunedModels, operations, models.

Only ``/v1beta`` has tunedModels CRUD; ``/v1`` serves models and generateContent only.
There is deliberately no ``tunedModels/*/operations/*:cancel`` (the service has no such
binding): deleting a model that is still CREATING is how a tuning is stopped.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request

from gemini_tuning.emulator.deps import api_gate, get_state, page, read_json, require_api_key
from gemini_tuning.emulator.errors import ApiError, failed_precondition, invalid, not_found
from gemini_tuning.emulator.responder import base_answer, best_match, generate_response, prompt_of
from gemini_tuning.emulator.state import Job, rfc3339

TYPE_PREFIX = "type.googleapis.com/google.ai.generativelanguage.v1beta."
TUNED_MODEL_ID = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
MAX_INPUT_CHARS = 40_000
MAX_OUTPUT_CHARS = 5_000
MAX_DISPLAY_NAME = 40
DEFAULT_HYPERPARAMETERS = {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}

#: Base models served by ``models.list``; ``tunable`` ones accept createTunedModel.
BASE_MODELS: dict[str, dict[str, Any]] = {
    "models/gemini-1.5-flash-001-tuning": {
        "version": "001",
        "displayName": "Gemini 1.5 Flash 001 Tuning",
        "tunable": True,
        "inputTokenLimit": 16384,
        "outputTokenLimit": 8192,
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 64,
    },
    "models/gemini-2.0-flash-001": {
        "version": "2.0",
        "displayName": "Gemini 2.0 Flash 001",
        "tunable": True,
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 8192,
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 40,
    },
    "models/gemini-2.5-flash": {
        "version": "001",
        "displayName": "Gemini 2.5 Flash",
        "tunable": True,
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 64,
    },
    "models/gemini-2.5-pro": {
        "version": "2.5",
        "displayName": "Gemini 2.5 Pro",
        "tunable": False,
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "temperature": 1.0,
        "topP": 0.95,
        "topK": 64,
    },
}

#: Wire field names accepted on input, per message (proto JSON also accepts snake_case).
TUNED_MODEL_FIELDS = {
    "name",
    "tunedModelSource",
    "baseModel",
    "displayName",
    "description",
    "temperature",
    "topP",
    "topK",
    "state",
    "createTime",
    "updateTime",
    "tuningTask",
    "readerProjectNumbers",
}
TUNING_TASK_FIELDS = {"startTime", "completeTime", "snapshots", "trainingData", "hyperparameters"}
HYPERPARAMETER_FIELDS = {"learningRate", "learningRateMultiplier", "epochCount", "batchSize"}
DATASET_FIELDS = {"examples"}
TUNING_EXAMPLES_FIELDS = {"examples"}
TUNING_EXAMPLE_FIELDS = {"textInput", "output"}
MUTABLE_FIELDS = {"displayName", "description", "temperature", "topP", "topK"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _fields(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    """Normalise a message's keys to lowerCamelCase; reject unknown names like the service does."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise invalid(f"Invalid JSON payload received. Expected an object for '{where}'.")
    out = {}
    for key, value in obj.items():
        camel = _camel(key)
        if camel not in allowed:
            raise invalid(f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.")
        out[camel] = value
    return out


def _number(value: Any, field: str, integer: bool = False) -> float | int:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value) if integer else float(value)
        if integer and float(value) != number:
            raise ValueError
    except (TypeError, ValueError):
        raise invalid(
            f"Invalid value at '{field}': {value!r} is not a valid {'integer' if integer else 'number'}."
        ) from None
    return number


def parse_tuned_model(body: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Validate a CreateTunedModel body; return (stored resource fields, examples)."""
    tm = _fields(body, TUNED_MODEL_FIELDS, "tuned_model")
    if tm.get("tunedModelSource"):
        raise invalid("tunedModel.tunedModelSource: tuning from a tuned model is not supported by the emulator.")
    base = tm.get("baseModel")
    if not base:
        raise invalid("tunedModel.baseModel is required.")
    if not isinstance(base, str) or base not in BASE_MODELS or not BASE_MODELS[base]["tunable"]:
        tunable = sorted(m for m, info in BASE_MODELS.items() if info["tunable"])
        raise invalid(f"tunedModel.baseModel: base model {base!r} is not supported for tuning; use one of {tunable}.")
    display_name = tm.get("displayName")
    if display_name is not None and (not isinstance(display_name, str) or len(display_name) > MAX_DISPLAY_NAME):
        raise invalid(f"tunedModel.displayName must be a string of at most {MAX_DISPLAY_NAME} characters.")
    task = _fields(tm.get("tuningTask"), TUNING_TASK_FIELDS, "tuned_model.tuning_task")
    if not task:
        raise invalid("tunedModel.tuningTask is required.")
    data = _fields(task.get("trainingData"), DATASET_FIELDS, "tuned_model.tuning_task.training_data")
    wrapper = _fields(data.get("examples"), TUNING_EXAMPLES_FIELDS, "tuned_model.tuning_task.training_data.examples")
    raw_examples = wrapper.get("examples")
    if not raw_examples or not isinstance(raw_examples, list):
        raise invalid("tunedModel.tuningTask.trainingData.examples.examples is required and must not be empty.")
    examples = []
    for i, raw in enumerate(raw_examples):
        where = f"tunedModel.tuningTask.trainingData.examples.examples[{i}]"
        ex = _fields(raw, TUNING_EXAMPLE_FIELDS, f"tuned_model.tuning_task.training_data.examples.examples[{i}]")
        text_input, output = ex.get("textInput", ""), ex.get("output")
        if not isinstance(text_input, str):
            raise invalid(f"{where}.textInput must be a string.")
        if not output or not isinstance(output, str):
            raise invalid(f"{where}.output is required.")
        if len(text_input) > MAX_INPUT_CHARS:
            raise invalid(f"{where}.textInput is too long: {len(text_input)} characters (maximum {MAX_INPUT_CHARS}).")
        if len(output) > MAX_OUTPUT_CHARS:
            raise invalid(f"{where}.output is too long: {len(output)} characters (maximum {MAX_OUTPUT_CHARS}).")
        examples.append((text_input, output))
    hp = _fields(task.get("hyperparameters"), HYPERPARAMETER_FIELDS, "tuned_model.tuning_task.hyperparameters")
    if "learningRate" in hp and "learningRateMultiplier" in hp:
        raise invalid(
            "tunedModel.tuningTask.hyperparameters: learningRate and learningRateMultiplier are mutually "
            "exclusive (oneof learning_rate_option); set only one."
        )
    effective: dict[str, Any] = {}
    for key in ("epochCount", "batchSize"):
        value = _number(hp.get(key, DEFAULT_HYPERPARAMETERS[key]), f"tunedModel.tuningTask.hyperparameters.{key}", True)
        if value <= 0:
            raise invalid(f"tunedModel.tuningTask.hyperparameters.{key} must be positive, got {value}.")
        effective[key] = value
    if "learningRateMultiplier" in hp:
        key = "learningRateMultiplier"
    else:
        key = "learningRate"
    value = _number(hp.get(key, DEFAULT_HYPERPARAMETERS.get(key)), f"tunedModel.tuningTask.hyperparameters.{key}")
    if value <= 0:
        raise invalid(f"tunedModel.tuningTask.hyperparameters.{key} must be positive, got {value}.")
    effective[key] = value
    info = BASE_MODELS[base]
    resource = {"baseModel": base}
    for key in ("displayName", "description"):
        if tm.get(key) is not None:
            resource[key] = tm[key]
    for key in ("temperature", "topP", "topK"):
        resource[key] = tm[key] if tm.get(key) is not None else info[key]
    resource["hyperparameters"] = effective
    return resource, examples


def _slug(display_name: str | None) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (display_name or "").lower()).strip("-")
    slug = re.sub(r"^[^a-z]+", "", slug)
    return slug[:28].rstrip("-") or "tuned-model"


def render_model(job: Job, now: float) -> dict[str, Any]:
    """The TunedModel wire resource at time ``now`` (training examples are never echoed)."""
    res = job.resource
    phase = job.phase(now)
    state = {"succeeded": "ACTIVE", "failed": "FAILED"}.get(phase, "CREATING")
    task: dict[str, Any] = {}
    if now >= job.start_time:
        task["startTime"] = rfc3339(job.start_time)
    end = job.end_time(now)
    if end is not None and phase != "cancelled":
        task["completeTime"] = rfc3339(end)
    snapshots = job.snapshots(now)
    if snapshots:
        task["snapshots"] = snapshots
    task["hyperparameters"] = dict(res["hyperparameters"])
    out: dict[str, Any] = {"name": job.name, "baseModel": res["baseModel"]}
    for key in ("displayName", "description", "temperature", "topP", "topK"):
        if key in res:
            out[key] = res[key]
    out["state"] = state
    out["createTime"] = rfc3339(job.created)
    out["updateTime"] = rfc3339(max(job.update_time(now), job.extra.get("updated", 0.0)))
    out["tuningTask"] = task
    return out


def render_operation(job: Job, now: float) -> dict[str, Any]:
    """The google.longrunning.Operation for a tuned model's creation."""
    done_steps = job.completed_steps(now)
    metadata: dict[str, Any] = {
        "@type": TYPE_PREFIX + "CreateTunedModelMetadata",
        "tunedModel": job.name,
        "totalSteps": job.total_steps,
    }
    if done_steps:
        metadata["completedSteps"] = done_steps
        metadata["completedPercent"] = round(100.0 * done_steps / job.total_steps, 4)
        metadata["snapshots"] = job.snapshots(now)
    op: dict[str, Any] = {"name": job.operation_name, "metadata": metadata}
    phase = job.phase(now)
    if phase in ("succeeded", "failed", "cancelled"):
        op["done"] = True
        if phase == "succeeded":
            op["response"] = {"@type": TYPE_PREFIX + "TunedModel", **render_model(job, now)}
        elif phase == "failed":
            op["error"] = {"code": 13, "message": job.fail_message}
        else:
            op["error"] = {"code": 1, "message": f"Tuning of {job.name} was cancelled: the tuned model was deleted."}
    else:
        op["done"] = False
    return op


def render_base_model(name: str) -> dict[str, Any]:
    info = BASE_MODELS[name]
    methods = ["generateContent", "countTokens"] + (["createTunedModel"] if info["tunable"] else [])
    return {
        "name": name,
        "version": info["version"],
        "displayName": info["displayName"],
        "description": f"{info['displayName']} (served by the gemini-tuning emulator).",
        "inputTokenLimit": info["inputTokenLimit"],
        "outputTokenLimit": info["outputTokenLimit"],
        "supportedGenerationMethods": methods,
        "temperature": info["temperature"],
        "topP": info["topP"],
        "topK": info["topK"],
        "maxTemperature": 2.0,
    }


def build_router() -> APIRouter:
    """Routes for ``/v1beta`` (full) and ``/v1`` (models + generateContent only)."""
    router = APIRouter(dependencies=[Depends(api_gate), Depends(require_api_key)])

    def live_model(request: Request, model_id: str) -> Job:
        job = get_state(request).jobs.get(f"tunedModels/{model_id}")
        if job is None or job.deleted or job.backend != "gemini_api":
            raise not_found(f"Tuned model tunedModels/{model_id} does not exist.")
        return job

    @router.post("/v1beta/tunedModels")
    async def create_tuned_model(request: Request, tunedModelId: str | None = None):
        state = get_state(request)
        body = await read_json(request)
        if tunedModelId is not None and not TUNED_MODEL_ID.match(tunedModelId):
            raise invalid(
                f"tunedModelId {tunedModelId!r} is invalid: it must match ^[a-z]([a-z0-9-]{{0,38}}[a-z0-9])?$ "
                "(lowercase letters, digits and hyphens, at most 40 characters)."
            )
        resource, examples = parse_tuned_model(body)
        fail_message = state.faults.fail_message if state.faults.fail_jobs else None
        with state.lock:
            if tunedModelId is None:
                while True:
                    tunedModelId = f"{_slug(resource.get('displayName'))}-{state.random_id(10)}"
                    existing = state.jobs.get(f"tunedModels/{tunedModelId}")
                    if existing is None:
                        break
            name = f"tunedModels/{tunedModelId}"
            existing = state.jobs.get(name)
            if existing is not None and not existing.deleted:
                raise ApiError(409, f"Tuned model {name} already exists.", "ALREADY_EXISTS")
            hp = resource["hyperparameters"]
            job = Job(
                backend="gemini_api",
                name=name,
                created=state.now(),
                examples=examples,
                epoch_count=hp["epochCount"],
                batch_size=hp["batchSize"],
                resource=resource,
                startup_seconds=state.settings.startup_seconds,
                step_seconds=state.settings.step_seconds,
                fail_message=fail_message,
                operation_name=f"{name}/operations/{state.random_id(12)}",
            )
            state.add_job(job)
            return render_operation(job, job.created)

    @router.get("/v1beta/tunedModels")
    async def list_tuned_models(request: Request, pageSize: str | None = None, pageToken: str | None = None):
        state = get_state(request)
        with state.lock:
            now = state.now()
            jobs = [j for j in state.jobs.values() if j.backend == "gemini_api" and not j.deleted]
            chunk, token = page(jobs, pageSize, pageToken, default=10)
            out: dict[str, Any] = {}
            if chunk:
                out["tunedModels"] = [render_model(j, now) for j in chunk]
            if token:
                out["nextPageToken"] = token
            return out

    @router.get("/v1beta/tunedModels/{model_id}")
    async def get_tuned_model(request: Request, model_id: str):
        state = get_state(request)
        with state.lock:
            return render_model(live_model(request, model_id), state.now())

    @router.patch("/v1beta/tunedModels/{model_id}")
    async def update_tuned_model(request: Request, model_id: str, updateMask: str | None = None):
        state = get_state(request)
        body = _fields(await read_json(request), TUNED_MODEL_FIELDS, "tuned_model")
        if not updateMask:
            raise invalid("updateMask is required: list the fields to update (e.g. displayName,description).")
        paths = [_camel(p.strip()) for p in updateMask.split(",") if p.strip()]
        for path in paths:
            if path not in MUTABLE_FIELDS:
                raise invalid(f"updateMask: field {path!r} cannot be updated; updatable: {sorted(MUTABLE_FIELDS)}.")
        if "displayName" in paths and len(str(body.get("displayName") or "")) > MAX_DISPLAY_NAME:
            raise invalid(f"tunedModel.displayName must be at most {MAX_DISPLAY_NAME} characters.")
        with state.lock:
            job = live_model(request, model_id)
            for path in paths:
                if body.get(path) is None:
                    job.resource.pop(path, None)
                else:
                    job.resource[path] = body[path]
            now = state.now()
            job.extra["updated"] = now
            return render_model(job, now)

    @router.delete("/v1beta/tunedModels/{model_id}")
    async def delete_tuned_model(request: Request, model_id: str):
        state = get_state(request)
        with state.lock:
            job = live_model(request, model_id)
            now = state.now()
            if not job.is_terminal(now):
                job.cancelled_at = now  # stops training; the operation ends CANCELLED
                state.cancels["gemini_api"] += 1
            job.deleted = True
            state.deletes["gemini_api"] += 1
            return {}

    @router.get("/v1beta/tunedModels/{model_id}/operations")
    async def list_operations(
        request: Request, model_id: str, pageSize: str | None = None, pageToken: str | None = None
    ):
        state = get_state(request)
        with state.lock:
            job = state.jobs.get(f"tunedModels/{model_id}")
            if job is None or job.backend != "gemini_api":
                raise not_found(f"Tuned model tunedModels/{model_id} does not exist.")
            chunk, token = page([job], pageSize, pageToken, default=10)
            out: dict[str, Any] = {"operations": [render_operation(j, state.now()) for j in chunk]}
            if token:
                out["nextPageToken"] = token
            return out

    @router.get("/v1beta/tunedModels/{model_id}/operations/{operation_id}")
    async def get_operation(request: Request, model_id: str, operation_id: str):
        state = get_state(request)
        name = f"tunedModels/{model_id}/operations/{operation_id}"
        with state.lock:
            job = state.jobs.get(f"tunedModels/{model_id}")
            if job is None or job.operation_name != name:
                raise not_found(f"Operation {name} not found.")
            return render_operation(job, state.now())

    @router.post("/v1beta/tunedModels/{model_id}:generateContent")
    async def generate_tuned(request: Request, model_id: str):
        state = get_state(request)
        body = await read_json(request)
        name = f"tunedModels/{model_id}"
        with state.lock:
            job = live_model(request, model_id)
            phase = job.phase(state.now())
        if phase != "succeeded":
            state_name = "FAILED" if phase == "failed" else "CREATING"
            raise failed_precondition(f"Tuned model {name} is not ready for inference (state {state_name}).")
        if body.get("systemInstruction") or body.get("system_instruction"):
            raise invalid(f"Developer instruction is not enabled for {name}")
        config = body.get("generationConfig") or body.get("generation_config") or {}
        if (config.get("responseMimeType") or config.get("response_mime_type")) == "application/json":
            raise invalid(f"JSON mode is not enabled for {name}")
        prompt, chars = prompt_of(body)
        if chars > MAX_INPUT_CHARS:
            raise invalid(f"Input is too long: {chars} characters; tuned models accept at most {MAX_INPUT_CHARS}.")
        return generate_response(best_match(prompt, job.examples), chars, name)

    for version in ("v1beta", "v1"):
        _add_model_routes(router, version)
    return router


def _add_model_routes(router: APIRouter, version: str) -> None:
    def known(model: str) -> str:
        name = f"models/{model}"
        if name not in BASE_MODELS:
            raise not_found(
                f"models/{model} is not found for API version {version}, or is not supported for generateContent."
            )
        return name

    @router.get(f"/{version}/models", name=f"{version}_list_models")
    async def list_models(pageSize: str | None = None, pageToken: str | None = None):
        chunk, token = page(list(BASE_MODELS), pageSize, pageToken, default=50)
        out: dict[str, Any] = {"models": [render_base_model(m) for m in chunk]}
        if token:
            out["nextPageToken"] = token
        return out

    @router.get(f"/{version}/models/{{model}}", name=f"{version}_get_model")
    async def get_model(model: str):
        return render_base_model(known(model))

    @router.post(f"/{version}/models/{{model}}:generateContent", name=f"{version}_generate_content")
    async def generate_base(request: Request, model: str):
        name = known(model)
        body = await read_json(request)
        prompt, chars = prompt_of(body)
        return generate_response(base_answer(name, prompt), chars, model)
