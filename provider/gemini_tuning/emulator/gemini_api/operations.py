"""``/v1beta/tunedModels/{id}/operations``: the creation operation of a tuned model.

There is deliberately no ``:cancel`` binding (see the service's http rules).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from gemini_tuning.emulator.deps import get_state, paged
from gemini_tuning.emulator.errors import not_found
from gemini_tuning.emulator.gemini_api.resources import render_operation

router = APIRouter(prefix="/v1beta/tunedModels/{model_id}/operations")


@router.get("")
async def list_operations(request: Request, model_id: str, pageSize: str | None = None, pageToken: str | None = None):
    state = get_state(request)
    with state.lock:
        job = state.jobs.get(f"tunedModels/{model_id}")
        if job is None or job.backend != "gemini_api":
            raise not_found(f"Tuned model tunedModels/{model_id} does not exist.")
        now = state.now()
        return paged(
            [job], pageSize, pageToken, key="operations", default=10, render=lambda j: render_operation(j, now)
        )


@router.get("/{operation_id}")
async def get_operation(request: Request, model_id: str, operation_id: str):
    state = get_state(request)
    name = f"tunedModels/{model_id}/operations/{operation_id}"
    with state.lock:
        job = state.jobs.get(f"tunedModels/{model_id}")
        if job is None or job.operation_name != name:
            raise not_found(f"Operation {name} not found.")
        return render_operation(job, state.now())
