"""``/v1beta/tunedModels``: create, list, get, patch and delete tuned models.

Deleting a model that is still CREATING is how a tuning is stopped (there is no cancel).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from gemini_tuning.emulator.deps import camel, get_state, paged, read_json
from gemini_tuning.emulator.errors import ApiError, invalid
from gemini_tuning.emulator.gemini_api.resources import (
    MAX_DISPLAY_NAME,
    MUTABLE_FIELDS,
    TUNED_MODEL_FIELDS,
    TUNED_MODEL_ID,
    fields,
    live_model,
    parse_tuned_model,
    render_model,
    render_operation,
    slug,
)
from gemini_tuning.emulator.jobs import Job
from gemini_tuning.emulator.state import EmulatorState

router = APIRouter(prefix="/v1beta/tunedModels")


def _free_id(state: EmulatorState, display_name: str | None) -> str:
    while True:
        model_id = f"{slug(display_name)}-{state.random_id(10)}"
        if f"tunedModels/{model_id}" not in state.jobs:
            return model_id


@router.post("")
async def create_tuned_model(request: Request, tunedModelId: str | None = None):
    state = get_state(request)
    body = await read_json(request)
    if tunedModelId is not None and not TUNED_MODEL_ID.match(tunedModelId):
        raise invalid(
            f"tunedModelId {tunedModelId!r} is invalid: it must match ^[a-z]([a-z0-9-]{{0,38}}[a-z0-9])?$ "
            "(lowercase letters, digits and hyphens, at most 40 characters)."
        )
    resource, examples = parse_tuned_model(body)
    with state.lock:
        name = f"tunedModels/{tunedModelId or _free_id(state, resource.get('displayName'))}"
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
            fail_message=state.faults.fail_message if state.faults.fail_jobs else None,
            operation_name=f"{name}/operations/{state.random_id(12)}",
        )
        state.add_job(job)
        return render_operation(job, job.created)


@router.get("")
async def list_tuned_models(request: Request, pageSize: str | None = None, pageToken: str | None = None):
    state = get_state(request)
    with state.lock:
        now = state.now()
        jobs = [j for j in state.jobs.values() if j.backend == "gemini_api" and not j.deleted]
        return paged(jobs, pageSize, pageToken, key="tunedModels", default=10, render=lambda j: render_model(j, now))


@router.get("/{model_id}")
async def get_tuned_model(request: Request, model_id: str):
    state = get_state(request)
    with state.lock:
        return render_model(live_model(request, model_id), state.now())


@router.patch("/{model_id}")
async def update_tuned_model(request: Request, model_id: str, updateMask: str | None = None):
    state = get_state(request)
    body = fields(await read_json(request), TUNED_MODEL_FIELDS, "tuned_model")
    if not updateMask:
        raise invalid("updateMask is required: list the fields to update (e.g. displayName,description).")
    paths = [camel(p.strip()) for p in updateMask.split(",") if p.strip()]
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


@router.delete("/{model_id}")
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
