"""``operations/{id}``: GetOperation for the long-running operations of undeploy and delete."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gemini_tuning.emulator.deps import get_state
from gemini_tuning.emulator.errors import not_found
from gemini_tuning.emulator.vertex_ai.common import LOCATION, parent_of

router = APIRouter(prefix=LOCATION + "/operations")


@router.get("/{operation_id}")
async def get_operation(request: Request, project: str, location: str, operation_id: str):
    state = get_state(request)
    name = f"{parent_of(project, location)}/operations/{operation_id}"
    with state.lock:
        operation = state.operations.get(name)
        if operation is None:
            raise not_found(f"Operation {name} not found.")
        return operation
