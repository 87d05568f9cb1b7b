"""Gemini API wire resources: base models, the TunedModel request checks and renderers.

Field tables follow ``tuned_model.proto`` (a test compares them with the wire schema).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from gemini_tuning.emulator.deps import camel, get_state
from gemini_tuning.emulator.errors import invalid, not_found
from gemini_tuning.emulator.jobs import Job, rfc3339

TYPE_PREFIX = "type.googleapis.com/google.ai.generativelanguage.v1beta."
TUNED_MODEL_ID = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
MAX_INPUT_CHARS = 40_000
MAX_OUTPUT_CHARS = 5_000
MAX_DISPLAY_NAME = 40
DEFAULT_HYPERPARAMETERS = {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}


def _base_model(version: str, display_name: str, tunable: bool, input_limit: int, output_limit: int, top_k: int):
    return {
        "version": version,
        "displayName": display_name,
        "tunable": tunable,
        "inputTokenLimit": input_limit,
        "outputTokenLimit": output_limit,
        "temperature": 1.0,
        "topP": 0.95,
        "topK": top_k,
    }


#: Base models served by ``models.list``; ``tunable`` ones accept createTunedModel.
BASE_MODELS: dict[str, dict[str, Any]] = {
    "models/gemini-1.5-flash-001-tuning": _base_model("001", "Gemini 1.5 Flash 001 Tuning", True, 16384, 8192, 64),
    "models/gemini-2.0-flash-001": _base_model("2.0", "Gemini 2.0 Flash 001", True, 1048576, 8192, 40),
    "models/gemini-2.5-flash": _base_model("001", "Gemini 2.5 Flash", True, 1048576, 65536, 64),
    "models/gemini-2.5-pro": _base_model("2.5", "Gemini 2.5 Pro", False, 1048576, 65536, 64),
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
EXAMPLES_WHERE = "tuned_model.tuning_task.training_data.examples"


def fields(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    """Normalise a message's keys to lowerCamelCase; reject unknown names like the service does."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise invalid(f"Invalid JSON payload received. Expected an object for '{where}'.")
    out = {}
    for key, value in obj.items():
        name = camel(key)
        if name not in allowed:
            raise invalid(f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.")
        out[name] = value
    return out


def _number(value: Any, field: str, integer: bool = False) -> float | int:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value) if integer else float(value)
        if integer and float(value) != number:
            raise ValueError
    except (TypeError, ValueError):
        kind = "integer" if integer else "number"
        raise invalid(f"Invalid value at '{field}': {value!r} is not a valid {kind}.") from None
    return number


def parse_tuned_model(body: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Validate a CreateTunedModel body; return (stored resource fields, examples)."""
    tm = fields(body, TUNED_MODEL_FIELDS, "tuned_model")
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
    task = fields(tm.get("tuningTask"), TUNING_TASK_FIELDS, "tuned_model.tuning_task")
    if not task:
        raise invalid("tunedModel.tuningTask is required.")
    examples = _parse_examples(task)
    info = BASE_MODELS[base]
    resource = {"baseModel": base}
    for key in ("displayName", "description"):
        if tm.get(key) is not None:
            resource[key] = tm[key]
    for key in ("temperature", "topP", "topK"):
        resource[key] = tm[key] if tm.get(key) is not None else info[key]
    resource["hyperparameters"] = _parse_hyperparameters(task)
    return resource, examples


def _parse_examples(task: dict[str, Any]) -> list[tuple[str, str]]:
    data = fields(task.get("trainingData"), DATASET_FIELDS, "tuned_model.tuning_task.training_data")
    wrapper = fields(data.get("examples"), TUNING_EXAMPLES_FIELDS, EXAMPLES_WHERE)
    raw_examples = wrapper.get("examples")
    if not raw_examples or not isinstance(raw_examples, list):
        raise invalid("tunedModel.tuningTask.trainingData.examples.examples is required and must not be empty.")
    examples = []
    for i, raw in enumerate(raw_examples):
        where = f"tunedModel.tuningTask.trainingData.examples.examples[{i}]"
        ex = fields(raw, TUNING_EXAMPLE_FIELDS, f"{EXAMPLES_WHERE}.examples[{i}]")
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
    return examples


def _parse_hyperparameters(task: dict[str, Any]) -> dict[str, Any]:
    """The effective hyperparameters: the request's values, defaults for the rest."""
    hp = fields(task.get("hyperparameters"), HYPERPARAMETER_FIELDS, "tuned_model.tuning_task.hyperparameters")
    if "learningRate" in hp and "learningRateMultiplier" in hp:
        raise invalid(
            "tunedModel.tuningTask.hyperparameters: learningRate and learningRateMultiplier are mutually "
            "exclusive (oneof learning_rate_option); set only one."
        )
    lr_key = "learningRateMultiplier" if "learningRateMultiplier" in hp else "learningRate"
    effective: dict[str, Any] = {}
    for key in ("epochCount", "batchSize", lr_key):
        integer = key != lr_key
        value = _number(
            hp.get(key, DEFAULT_HYPERPARAMETERS.get(key)), f"tunedModel.tuningTask.hyperparameters.{key}", integer
        )
        if value <= 0:
            raise invalid(f"tunedModel.tuningTask.hyperparameters.{key} must be positive, got {value}.")
        effective[key] = value
    return effective


def slug(display_name: str | None) -> str:
    """The readable start of a generated tuned-model id."""
    text = re.sub(r"[^a-z0-9]+", "-", (display_name or "").lower()).strip("-")
    text = re.sub(r"^[^a-z]+", "", text)
    return text[:28].rstrip("-") or "tuned-model"


def live_model(request: Request, model_id: str) -> Job:
    """The tuned model ``tunedModels/{model_id}`` unless deleted (404)."""
    job = get_state(request).jobs.get(f"tunedModels/{model_id}")
    if job is None or job.deleted or job.backend != "gemini_api":
        raise not_found(f"Tuned model tunedModels/{model_id} does not exist.")
    return job


def render_model(job: Job, now: float) -> dict[str, Any]:
    """The TunedModel wire resource at time ``now`` (training examples are never echoed)."""
    res = job.resource
    phase = job.phase(now)
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
    out["state"] = {"succeeded": "ACTIVE", "failed": "FAILED"}.get(phase, "CREATING")
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
    op["done"] = phase in ("succeeded", "failed", "cancelled")
    if phase == "succeeded":
        op["response"] = {"@type": TYPE_PREFIX + "TunedModel", **render_model(job, now)}
    elif phase == "failed":
        op["error"] = {"code": 13, "message": job.fail_message}
    elif phase == "cancelled":
        op["error"] = {"code": 1, "message": f"Tuning of {job.name} was cancelled: the tuned model was deleted."}
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
