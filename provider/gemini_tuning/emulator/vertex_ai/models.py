"""``models/{id}[@version]``: the tuned Model of a succeeded tuning job (get, delete)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gemini_tuning.emulator.deps import get_state
from gemini_tuning.emulator.errors import failed_precondition
from gemini_tuning.emulator.vertex_ai.common import LOCATION, done_operation, parent_of
from gemini_tuning.emulator.vertex_ai.registry import find_model, is_deployed, model_name, render_model

router = APIRouter(prefix=LOCATION + "/models")


@router.get("/{model_id}")
async def get_model(request: Request, project: str, location: str, model_id: str):
    state = get_state(request)
    with state.lock:
        return render_model(find_model(state, project, location, model_id), state.now())


@router.delete("/{model_id}")
async def delete_model(request: Request, project: str, location: str, model_id: str):
    state = get_state(request)
    with state.lock:
        job = find_model(state, project, location, model_id)
        now = state.now()
        if is_deployed(job, now):
            raise failed_precondition(
                f'The Model "{model_name(job)}" is deployed or being deployed at the following Endpoint(s): '
                f"{job.extra['endpoint']}. Please undeploy the Model first."
            )
        job.extra["model_deleted_at"] = now
        state.deletes["vertex_ai"] += 1
        return done_operation(state, request, parent_of(project, location), "DeleteOperationMetadata")
