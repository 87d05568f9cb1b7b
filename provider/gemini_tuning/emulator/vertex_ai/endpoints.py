"""``endpoints`` (list, get, undeployModel, delete, generateContent) and the publishers' base models.

Every checkpoint of a tuned model version has its own Endpoint; a checkpoint answers
``generateContent`` as well as it learned by its epoch (see ``registry.skill``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from gemini_tuning.emulator.deps import camel_keys, get_state, read_json
from gemini_tuning.emulator.errors import failed_precondition, invalid, not_found
from gemini_tuning.emulator.filters import ListQuery
from gemini_tuning.emulator.responder import answer_base, answer_tuned
from gemini_tuning.emulator.vertex_ai.common import LOCATION, done_operation, parent_of, resource_name
from gemini_tuning.emulator.vertex_ai.registry import (
    endpoint_live,
    examples_of,
    find_endpoint,
    is_deployed,
    render_endpoint,
    skill,
)

router = APIRouter(prefix=LOCATION)
FILTER_FIELDS = ("name", "display_name", "labels", "create_time", "update_time")
UNDEPLOY_RESPONSE = "type.googleapis.com/google.cloud.aiplatform.{version}.UndeployModelResponse"


@router.get("/endpoints")
async def list_endpoints(request: Request, query: ListQuery = Depends()):
    state = get_state(request)
    prefix = resource_name(request) + "/"
    with state.lock:
        now = state.now()
        found = [d for name, d in state.endpoints.items() if name.startswith(prefix)]
        live = [render_endpoint(state, d, now) for d in found if endpoint_live(state, d, now)]
    return query.page(live, FILTER_FIELDS, key="endpoints", default=100)


@router.get("/endpoints/{endpoint_id}")
async def get_endpoint(request: Request):
    state = get_state(request)
    with state.lock:
        now = state.now()
        return render_endpoint(state, find_endpoint(state, resource_name(request), now), now)


@router.post("/endpoints/{endpoint_id}:undeployModel")
async def undeploy_model(request: Request, project: str, location: str):
    state = get_state(request)
    wanted = camel_keys(await read_json(request)).get("deployedModelId")
    if not wanted or not isinstance(wanted, str):
        raise invalid("deployedModelId is required.")
    with state.lock:
        now = state.now()
        deployment = find_endpoint(state, resource_name(request), now)
        if not is_deployed(state, deployment, now) or wanted != deployment.deployed_model_id:
            raise not_found(f"DeployedModel with ID {wanted} does not exist in Endpoint {deployment.name}.")
        deployment.undeployed_at = now
        parent = parent_of(project, location)
        return done_operation(state, request, parent, "UndeployModelOperationMetadata", UNDEPLOY_RESPONSE)


@router.delete("/endpoints/{endpoint_id}")
async def delete_endpoint(request: Request, project: str, location: str):
    state = get_state(request)
    with state.lock:
        now = state.now()
        deployment = find_endpoint(state, resource_name(request), now)
        if is_deployed(state, deployment, now):
            raise failed_precondition(
                f"Endpoint {deployment.name} has deployed models (DeployedModel IDs: "
                f"{deployment.deployed_model_id}). Please undeploy them first."
            )
        deployment.deleted_at = now
        state.deletes["vertex_ai_endpoints"] += 1
        return done_operation(state, request, parent_of(project, location), "DeleteOperationMetadata")


@router.post("/endpoints/{endpoint_id}:generateContent")
async def generate_endpoint(request: Request):
    state = get_state(request)
    body = camel_keys(await read_json(request))
    with state.lock:
        now = state.now()
        deployment = find_endpoint(state, resource_name(request), now)
        if not is_deployed(state, deployment, now):
            raise failed_precondition(
                f"Endpoint {deployment.name} does not have any deployed model to serve the request."
            )
        job, served = state.jobs[deployment.job], render_endpoint(state, deployment, now)["deployedModels"][0]["model"]
    return answer_tuned(body, examples_of(state, job), served, skill=skill(state, deployment))


@router.post("/publishers/google/models/{model}:generateContent")
async def generate_publisher(request: Request, project: str, location: str, model: str):
    if not model.startswith("gemini-"):
        raise not_found(f"Publisher Model `{parent_of(project, location)}/publishers/google/models/{model}` not found.")
    return answer_base(camel_keys(await read_json(request)), model, model)
