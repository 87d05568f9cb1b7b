"""The Model and Endpoint a succeeded tuning job produces: existence, lookups and renderers.

Both exist from the job's end time on (computed lazily, like the job state). As on the real
service, a deployed model cannot be deleted and an endpoint with deployed models cannot be
deleted: undeploy first.
"""

from __future__ import annotations

from typing import Any

from gemini_tuning.emulator.errors import not_found
from gemini_tuning.emulator.jobs import Job, rfc3339
from gemini_tuning.emulator.state import EmulatorState
from gemini_tuning.emulator.vertex_ai.common import base_model_id, parent_of

MODEL_VERSION = "1"
MODEL_VERSION_ALIASES = (MODEL_VERSION, "default")
BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
JOB_ID_LABEL = "google-vertex-llm-tuning-job-id"


def model_name(job: Job) -> str:
    """The tuned Model's resource name without its ``@version`` suffix."""
    return job.extra["model"].split("@", 1)[0]


def model_exists(job: Job, now: float) -> bool:
    return job.phase(now) == "succeeded" and job.extra.get("model_deleted_at") is None


def endpoint_exists(job: Job, now: float) -> bool:
    return job.phase(now) == "succeeded" and job.extra.get("endpoint_deleted_at") is None


def is_deployed(job: Job, now: float) -> bool:
    """Whether the tuned model is (still) deployed to the job's endpoint."""
    return endpoint_exists(job, now) and job.extra.get("undeployed_at") is None


def find_model(state: EmulatorState, project: str, location: str, model_id: str) -> Job:
    """The job owning ``models/{id}[@version]``; 404 unless its model exists (version 1 / default)."""
    base_id, _, version = model_id.partition("@")
    name = f"{parent_of(project, location)}/models/{base_id}"
    job = state.jobs.get(state.models.get(name, ""))
    if job is None or not model_exists(job, state.now()) or (version and version not in MODEL_VERSION_ALIASES):
        raise not_found(f"Model {parent_of(project, location)}/models/{model_id} not found.")
    return job


def find_endpoint(state: EmulatorState, project: str, location: str, endpoint_id: str) -> Job:
    name = f"{parent_of(project, location)}/endpoints/{endpoint_id}"
    job = state.jobs.get(state.endpoints.get(name, ""))
    if job is None or not endpoint_exists(job, state.now()):
        raise not_found(f"Endpoint {name} not found.")
    return job


def display_name(job: Job) -> str:
    return (
        job.resource.get("tunedModelDisplayName")
        or f"{base_model_id(job.resource['baseModel'])}-tuned-{job.name.rsplit('/', 1)[-1]}"
    )


def render_model(job: Job, now: float) -> dict[str, Any]:
    """The Model resource (``model.proto``) of a succeeded tuning job."""
    created = job.natural_end_time
    updated = max(created, job.extra.get("undeployed_at") or created)
    out: dict[str, Any] = {
        "name": model_name(job),
        "displayName": display_name(job),
        "versionId": MODEL_VERSION,
        "versionAliases": ["default"],
        "createTime": rfc3339(created),
        "updateTime": rfc3339(updated),
        "versionCreateTime": rfc3339(created),
        "versionUpdateTime": rfc3339(updated),
        "labels": {
            BASE_MODEL_LABEL: base_model_id(job.resource["baseModel"]).replace(".", "_"),
            JOB_ID_LABEL: job.name.rsplit("/", 1)[-1],
        },
    }
    if job.resource.get("description"):
        out["description"] = job.resource["description"]
    if is_deployed(job, now):
        out["deployedModels"] = [{"endpoint": job.extra["endpoint"], "deployedModelId": job.extra["deployed_model_id"]}]
    return out


def render_endpoint(job: Job, now: float) -> dict[str, Any]:
    """The Endpoint resource (``endpoint.proto``); empty repeated/map fields are omitted, as in proto3 JSON."""
    created = job.natural_end_time
    out: dict[str, Any] = {"name": job.extra["endpoint"], "displayName": display_name(job)}
    if is_deployed(job, now):
        dm_id = job.extra["deployed_model_id"]
        out["deployedModels"] = [
            {
                "id": dm_id,
                "model": job.extra["model"],
                "modelVersionId": MODEL_VERSION,
                "displayName": display_name(job),
                "createTime": rfc3339(created),
            }
        ]
        out["trafficSplit"] = {dm_id: 100}
    out["createTime"] = rfc3339(created)
    out["updateTime"] = rfc3339(max(created, job.extra.get("undeployed_at") or created))
    return out
