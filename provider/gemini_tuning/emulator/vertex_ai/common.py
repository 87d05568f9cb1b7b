"""Names, lookups and long-running operations shared by the Vertex AI routers."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from gemini_tuning.emulator.errors import not_found
from gemini_tuning.emulator.jobs import Job, rfc3339
from gemini_tuning.emulator.state import EmulatorState

#: Route prefix of location-scoped resources (the app mounts the routers under /v1beta1 and /v1).
LOCATION = "/projects/{project}/locations/{location}"
EMPTY = "type.googleapis.com/google.protobuf.Empty"


def parent_of(project: str, location: str) -> str:
    return f"projects/{project}/locations/{location}"


def api_version(request: Request) -> str:
    """``v1beta1`` or ``v1``: the prefix the request came in under (used in ``@type`` URLs)."""
    return request.url.path.split("/", 2)[1]


def base_model_id(base: str) -> str:
    """``publishers/google/models/gemini-x`` -> ``gemini-x``."""
    return base.rsplit("/", 1)[-1] if base.startswith(("publishers/", "projects/")) else base


def find_job(state: EmulatorState, project: str, location: str, job_id: str) -> Job:
    name = f"{parent_of(project, location)}/tuningJobs/{job_id}"
    job = state.jobs.get(name)
    if job is None:
        raise not_found(f"TuningJob {name} is not found.")
    return job


def done_operation(
    state: EmulatorState, request: Request, parent: str, metadata_type: str, response_type: str = EMPTY
) -> dict[str, Any]:
    """Record and return a long-running Operation that is already done (call under the lock).

    ``{version}`` in ``response_type`` becomes the request's API version.
    """
    version = api_version(request)
    stamp = rfc3339(state.now())
    operation = {
        "name": f"{parent}/operations/{state.numeric_id()}",
        "metadata": {
            "@type": f"type.googleapis.com/google.cloud.aiplatform.{version}.{metadata_type}",
            "genericMetadata": {"createTime": stamp, "updateTime": stamp},
        },
        "done": True,
        "response": {"@type": response_type.replace("{version}", version)},
    }
    state.operations[operation["name"]] = operation
    return operation


def resource_name(request: Request, collection: str | None = None) -> str:
    """The resource a request addresses: its path without the API version, any ``:verb`` and,
    for a List call, the trailing ``/{collection}``."""
    name = request.url.path.split("/", 2)[2].split(":", 1)[0]
    return name.removesuffix(f"/{collection}") if collection else name
