"""``endpoints/{id}`` (get, undeployModel, delete, generateContent) and the publishers' base models."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gemini_tuning.emulator.deps import camel_keys, get_state, read_json
from gemini_tuning.emulator.errors import failed_precondition, invalid, not_found
from gemini_tuning.emulator.responder import answer_base, answer_tuned
from gemini_tuning.emulator.vertex_ai.common import LOCATION, done_operation, parent_of
from gemini_tuning.emulator.vertex_ai.registry import find_endpoint, is_deployed, render_endpoint

router = APIRouter(prefix=LOCATION)
UNDEPLOY_RESPONSE = "type.googleapis.com/google.cloud.aiplatform.{version}.UndeployModelResponse"


@router.get("/endpoints/{endpoint_id}")
async def get_endpoint(request: Request, project: str, location: str, endpoint_id: str):
    state = get_state(request)
    with state.lock:
        return render_endpoint(find_endpoint(state, project, location, endpoint_id), state.now())


@router.post("/endpoints/{endpoint_id}:undeployModel")
async def undeploy_model(request: Request, project: str, location: str, endpoint_id: str):
    state = get_state(request)
    wanted = camel_keys(await read_json(request)).get("deployedModelId")
    if not wanted or not isinstance(wanted, str):
        raise invalid("deployedModelId is required.")
    with state.lock:
        job = find_endpoint(state, project, location, endpoint_id)
        now = state.now()
        if not is_deployed(job, now) or wanted != job.extra["deployed_model_id"]:
            raise not_found(f"DeployedModel with ID {wanted} does not exist in Endpoint {job.extra['endpoint']}.")
        job.extra["undeployed_at"] = now
        parent = parent_of(project, location)
        return done_operation(state, request, parent, "UndeployModelOperationMetadata", UNDEPLOY_RESPONSE)


@router.delete("/endpoints/{endpoint_id}")
async def delete_endpoint(request: Request, project: str, location: str, endpoint_id: str):
    state = get_state(request)
    with state.lock:
        job = find_endpoint(state, project, location, endpoint_id)
        now = state.now()
        if is_deployed(job, now):
            raise failed_precondition(
                f"Endpoint {job.extra['endpoint']} has deployed models (DeployedModel IDs: "
                f"{job.extra['deployed_model_id']}). Please undeploy them first."
            )
        job.extra["endpoint_deleted_at"] = now
        state.deletes["vertex_ai_endpoints"] += 1
        return done_operation(state, request, parent_of(project, location), "DeleteOperationMetadata")


@router.post("/endpoints/{endpoint_id}:generateContent")
async def generate_endpoint(request: Request, project: str, location: str, endpoint_id: str):
    state = get_state(request)
    body = camel_keys(await read_json(request))
    with state.lock:
        job = find_endpoint(state, project, location, endpoint_id)
        if not is_deployed(job, state.now()):
            raise failed_precondition(
                f"Endpoint {job.extra['endpoint']} does not have any deployed model to serve the request."
            )
    return answer_tuned(body, job.examples, job.extra["model"])


@router.post("/publishers/google/models/{model}:generateContent")
async def generate_publisher(request: Request, project: str, location: str, model: str):
    if not model.startswith("gemini-"):
        raise not_found(f"Publisher Model `{parent_of(project, location)}/publishers/google/models/{model}` not found.")
    return answer_base(camel_keys(await read_json(request)), model, model)
