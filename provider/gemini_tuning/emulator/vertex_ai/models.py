"""``models``: the tuned Models and their versions (get, list, listVersions, patch, delete).

``models/{id}`` means the default version; ``@{version}`` or ``@default`` pick one (also
``%40``-encoded). PATCH follows what google-genai's ``models.update`` sends: ``displayName``,
``description`` and ``defaultCheckpointId`` in the body, ``updateMask`` optional (without it,
the fields present are updated).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from gemini_tuning.emulator.deps import camel, camel_keys, get_state, read_json
from gemini_tuning.emulator.errors import failed_precondition, invalid
from gemini_tuning.emulator.filters import ListQuery
from gemini_tuning.emulator.state import EmulatorState
from gemini_tuning.emulator.vertex_ai.common import LOCATION, done_operation, resource_name
from gemini_tuning.emulator.vertex_ai.registry import (
    ModelRecord,
    checkpoint,
    deployments_of,
    find_version,
    live_versions,
    render_model,
)

router = APIRouter(prefix=LOCATION + "/models")
FILTER_FIELDS = ("name", "display_name", "labels", "create_time", "update_time")
MUTABLE = ("displayName", "description", "defaultCheckpointId")


def _render_versions(state: EmulatorState, record: ModelRecord, now: float, only_default: bool) -> list[dict]:
    versions = live_versions(state, record, now)
    return [render_model(state, record, v, job, now) for v, job in (versions[-1:] if only_default else versions)]


@router.get("")
async def list_models(request: Request, query: ListQuery = Depends()):
    state = get_state(request)
    parent = resource_name(request, "models")
    with state.lock:
        now = state.now()
        records = [r for name, r in state.models.items() if name.startswith(f"{parent}/models/")]
        models = [m for r in records for m in _render_versions(state, r, now, only_default=True)]
    return query.page(models, FILTER_FIELDS, key="models", default=100)


@router.get("/{model_id}:listVersions")
async def list_versions(request: Request, query: ListQuery = Depends()):
    state = get_state(request)
    with state.lock:
        now = state.now()
        record, _, _ = find_version(state, resource_name(request).partition("@")[0], now)
        versions = _render_versions(state, record, now, only_default=False)
    return query.page(versions, FILTER_FIELDS, key="models", default=100)


@router.get("/{model_id}")
async def get_model(request: Request):
    state = get_state(request)
    with state.lock:
        now = state.now()
        return render_model(state, *find_version(state, resource_name(request), now), now)


@router.patch("/{model_id}")
async def update_model(request: Request, updateMask: str | None = None):
    state = get_state(request)
    body = camel_keys(await read_json(request))
    paths = [camel(p.strip()) for p in updateMask.split(",")] if updateMask else [k for k in MUTABLE if k in body]
    if not paths or any(p not in MUTABLE for p in paths):
        raise invalid(f"updateMask: update one or more of {list(MUTABLE)}; got {paths or 'nothing'}.")
    with state.lock:
        now = state.now()
        record, version, job = find_version(state, resource_name(request), now)
        wanted = body.get("defaultCheckpointId")
        if "defaultCheckpointId" in paths and checkpoint(job, str(wanted)) is None:
            known = [c.checkpoint_id for c in job.extra["checkpoints"]]
            raise invalid(f"defaultCheckpointId: {wanted!r} is not a checkpoint of {record.name}@{version}; {known=}.")
        if "displayName" in paths and not body.get("displayName"):
            raise invalid("displayName must not be empty.")
        if "displayName" in paths:
            record.display_name = body["displayName"]
        if "description" in paths:
            record.description = body.get("description") or None
        if "defaultCheckpointId" in paths:
            job.extra["default_checkpoint"] = str(wanted)
        record.updated = now
        return render_model(state, record, version, job, now)


@router.delete("/{model_id}")
async def delete_model(request: Request):
    """Delete one version (``@N``/``@default``) or, without a version, the model and all its versions."""
    state = get_state(request)
    name = resource_name(request)
    with state.lock:
        now = state.now()
        record, version, job = find_version(state, name, now)
        jobs = [job] if "@" in name else [j for _, j in live_versions(state, record, now)]
        deployed = [d.name for j in jobs for d in deployments_of(state, j, now)]
        if deployed:
            raise failed_precondition(
                f'The Model "{record.name}" is deployed or being deployed at the following Endpoint(s): '
                f"{', '.join(deployed)}. Please undeploy the Model first."
            )
        for j in jobs:
            j.extra["version_deleted_at"] = now
        state.deletes["vertex_ai"] += 1
        return done_operation(state, request, record.name.split("/models/", 1)[0], "DeleteOperationMetadata")
