"""Vertex AI (``aiplatform.googleapis.com``) routes: tuningJobs, the tuned models and endpoints
they produce, long-running operations, and generateContent.

The same handlers serve ``/v1beta1`` and ``/v1``. The TuningJob resource follows
``tuning_job.proto``: int64 fields are JSON strings, as proto3 JSON renders them; there is
no per-step loss on the wire (the loss curve only shows on the emulator's job page).

A succeeded tuning job owns one Model (version 1) deployed to one Endpoint. Both exist from
the job's end time on (computed lazily, like the job state). As on the real service, a deployed
model cannot be deleted and an endpoint with deployed models cannot be deleted: undeploy first.
Undeploy and delete return ``google.longrunning.Operation`` resources that are already done.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
from typing import Any

from fastapi import APIRouter, Depends, Request

from gemini_tuning.emulator.deps import api_gate, get_state, page, read_json, require_bearer
from gemini_tuning.emulator.errors import failed_precondition, invalid, not_found
from gemini_tuning.emulator.gcs import local_path
from gemini_tuning.emulator.responder import (
    base_answer,
    best_match,
    content_text,
    count_tokens,
    generate_response,
    prompt_of,
)
from gemini_tuning.emulator.state import Job, rfc3339

TUNABLE_BASE_MODELS = (
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash-001",
    "gemini-2.0-flash-lite-001",
    "gemini-1.5-pro-002",
    "gemini-1.5-flash-002",
)
ADAPTER_SIZES = (
    "ADAPTER_SIZE_UNSPECIFIED",
    "ADAPTER_SIZE_ONE",
    "ADAPTER_SIZE_TWO",
    "ADAPTER_SIZE_FOUR",
    "ADAPTER_SIZE_EIGHT",
    "ADAPTER_SIZE_SIXTEEN",
    "ADAPTER_SIZE_THIRTY_TWO",
)
DEFAULT_EPOCHS = 3
DEFAULT_BATCH_SIZE = 4  # emulator assumption; only echoed when the request sets it
DEFAULT_LR_MULTIPLIER = 1.0
DEFAULT_ADAPTER_SIZE = "ADAPTER_SIZE_FOUR"
PHASE_STATES = {
    "queued": "JOB_STATE_QUEUED",
    "pending": "JOB_STATE_PENDING",
    "running": "JOB_STATE_RUNNING",
    "succeeded": "JOB_STATE_SUCCEEDED",
    "failed": "JOB_STATE_FAILED",
    "cancelling": "JOB_STATE_CANCELLING",
    "cancelled": "JOB_STATE_CANCELLED",
}
FILTER_TERM = re.compile(r'^labels\.([A-Za-z0-9_\-]+)\s*=\s*(?:"([^"]*)"|([^\s"]+))$')


def _camel_keys(obj: Any, skip: frozenset[str] = frozenset({"labels"})) -> Any:
    """snake_case -> lowerCamelCase keys, recursively (proto JSON accepts both); map values are kept."""
    if isinstance(obj, list):
        return [_camel_keys(x, skip) for x in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        head, *rest = key.split("_")
        camel = head + "".join(p[:1].upper() + p[1:] for p in rest)
        out[camel] = value if camel in skip else _camel_keys(value, skip)
    return out


def _base_model_id(base: str) -> str:
    return base.rsplit("/", 1)[-1] if base.startswith(("publishers/", "projects/")) else base


def read_dataset(gcs_root: str | None, uri: str, field: str) -> list[dict[str, Any]]:
    """Read and check a Vertex JSONL dataset; 400 INVALID_ARGUMENT naming the URI on problems."""
    if not isinstance(uri, str) or not uri.startswith("gs://"):
        raise invalid(f"{field}: {uri!r} is not a Cloud Storage URI (gs://bucket/path).")
    if not gcs_root:
        raise invalid(f"{field}: cannot read {uri}: the emulator was started without --gcs-root.")
    try:
        path = local_path(gcs_root, uri)
    except ValueError:
        raise invalid(f"{field}: invalid Cloud Storage URI {uri!r}.") from None
    if not os.path.isfile(path):
        raise invalid(f"{field}: the dataset file {uri} does not exist or is not readable.")
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise invalid(f"{field}: {uri} line {lineno} is not valid JSON: {exc}") from None
            contents = row.get("contents") if isinstance(row, dict) else None
            if not isinstance(contents, list) or not contents:
                raise invalid(f"{field}: {uri} line {lineno}: 'contents' must be a non-empty list.")
            roles = [c.get("role") if isinstance(c, dict) else None for c in contents]
            if any(r not in ("user", "model") for r in roles):
                raise invalid(f"{field}: {uri} line {lineno}: each content needs role 'user' or 'model'.")
            if "user" not in roles or roles[-1] != "model":
                raise invalid(
                    f"{field}: {uri} line {lineno}: an example needs a user turn and must end with a model turn."
                )
            rows.append(row)
    if not rows:
        raise invalid(f"{field}: the dataset file {uri} has no examples.")
    return rows


def example_pairs(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(last user text before the final model turn, final model text) per example."""
    pairs = []
    for row in rows:
        contents = row["contents"]
        user = next(content_text(c) for c in reversed(contents[:-1]) if c.get("role") == "user")
        pairs.append((user, content_text(contents[-1])))
    return pairs


def _distribution(values: list[int], int_sum: bool = True) -> dict[str, Any]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return float(ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))])

    lo, hi = ordered[0], ordered[-1]
    width = (hi - lo) / 5 or 1
    buckets = []
    for i in range(5):
        left, right = lo + i * width, lo + (i + 1) * width
        count = sum(1 for v in ordered if left <= v < right or (i == 4 and v == right))
        if count:
            buckets.append({"count": float(count), "left": float(left), "right": float(right)})
        if hi == lo:
            break
    total = sum(ordered)
    return {
        "sum": str(total),
        "billableSum": str(total),
        "min": float(lo),
        "max": float(hi),
        "mean": statistics.fmean(ordered),
        "median": float(statistics.median(ordered)),
        "p5": pct(0.05),
        "p95": pct(0.95),
        "buckets": buckets,
    }


def data_stats(rows: list[dict[str, Any]], step_count: int) -> dict[str, Any]:
    """TuningDataStats.supervisedTuningDataStats computed from the training rows."""
    user_tokens, model_tokens, messages, chars = [], [], [], 0
    for row in rows:
        contents = row["contents"]
        system = (
            content_text(row.get("systemInstruction") or {}) if isinstance(row.get("systemInstruction"), dict) else ""
        )
        chars += len(system) + sum(len(content_text(c)) for c in contents)
        user_tokens.append(count_tokens(system + "".join(content_text(c) for c in contents if c.get("role") == "user")))
        model_tokens.append(count_tokens("".join(content_text(c) for c in contents if c.get("role") == "model")))
        messages.append(len(contents))
    return {
        "supervisedTuningDataStats": {
            "tuningDatasetExampleCount": str(len(rows)),
            "totalTuningCharacterCount": str(chars),
            "totalBillableTokenCount": str(sum(user_tokens) + sum(model_tokens)),
            "tuningStepCount": str(step_count),
            "userInputTokenDistribution": _distribution(user_tokens),
            "userOutputTokenDistribution": _distribution(model_tokens),
            "userMessagePerExampleDistribution": _distribution(messages),
            "userDatasetExamples": [c for row in rows[:3] for c in row["contents"]][:10],
        }
    }


def render_job(job: Job, now: float) -> dict[str, Any]:
    """The TuningJob wire resource at time ``now``."""
    phase = job.phase(now)
    out = {"name": job.name, **job.resource, "state": PHASE_STATES[phase], "createTime": rfc3339(job.created)}
    if now >= job.start_time or (job.cancelled_at is not None and job.cancelled_at >= job.start_time):
        out["startTime"] = rfc3339(job.start_time)
        out["tuningDataStats"] = job.extra["stats"]
    end = job.end_time(now)
    if end is not None:
        out["endTime"] = rfc3339(end)
    out["updateTime"] = rfc3339(job.update_time(now))
    if phase == "failed":
        out["error"] = {"code": 13, "message": job.fail_message}
    elif phase == "cancelled":
        out["error"] = {"code": 1, "message": "CANCELED"}
    elif phase == "succeeded":
        out["tunedModel"] = {"model": job.extra["model"], "endpoint": job.extra["endpoint"]}
    return out


def parse_filter(expr: str | None) -> dict[str, str]:
    """``labels.k="v" AND labels.k2=v2`` -> {k: v, k2: v2}; anything else is INVALID_ARGUMENT."""
    if not expr or not expr.strip():
        return {}
    wanted = {}
    for term in re.split(r"\s+AND\s+", expr.strip()):
        match = FILTER_TERM.match(term.strip())
        if not match:
            raise invalid(f'Unsupported filter term {term!r}: the emulator supports labels.KEY="VALUE" joined by AND.')
        wanted[match.group(1)] = match.group(2) if match.group(2) is not None else match.group(3)
    return wanted


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


def _display_name(job: Job) -> str:
    return (
        job.resource.get("tunedModelDisplayName")
        or f"{_base_model_id(job.resource['baseModel'])}-tuned-{job.name.rsplit('/', 1)[-1]}"
    )


def render_model(job: Job, now: float) -> dict[str, Any]:
    """The Model resource (``model.proto``) of a succeeded tuning job."""
    created = job.natural_end_time
    updated = max(created, job.extra.get("undeployed_at") or created)
    out: dict[str, Any] = {
        "name": model_name(job),
        "displayName": _display_name(job),
        "versionId": MODEL_VERSION,
        "versionAliases": ["default"],
        "createTime": rfc3339(created),
        "updateTime": rfc3339(updated),
        "versionCreateTime": rfc3339(created),
        "versionUpdateTime": rfc3339(updated),
        "labels": {
            BASE_MODEL_LABEL: _base_model_id(job.resource["baseModel"]).replace(".", "_"),
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
    out: dict[str, Any] = {"name": job.extra["endpoint"], "displayName": _display_name(job)}
    if is_deployed(job, now):
        dm_id = job.extra["deployed_model_id"]
        out["deployedModels"] = [
            {
                "id": dm_id,
                "model": job.extra["model"],
                "modelVersionId": MODEL_VERSION,
                "displayName": _display_name(job),
                "createTime": rfc3339(created),
            }
        ]
        out["trafficSplit"] = {dm_id: 100}
    out["createTime"] = rfc3339(created)
    out["updateTime"] = rfc3339(max(created, job.extra.get("undeployed_at") or created))
    return out


def _api_version(request: Request) -> str:
    """``v1beta1`` or ``v1``: the prefix the request came in under (used in ``@type`` URLs)."""
    return request.url.path.split("/", 2)[1]


def build_router() -> APIRouter:
    """Routes relative to ``/{version}``; the app mounts them under ``/v1beta1`` and ``/v1``."""
    router = APIRouter(dependencies=[Depends(api_gate), Depends(require_bearer)])
    parent_path = "/projects/{project}/locations/{location}"

    def find_job(request: Request, project: str, location: str, job_id: str) -> Job:
        name = f"projects/{project}/locations/{location}/tuningJobs/{job_id}"
        job = get_state(request).jobs.get(name)
        if job is None:
            raise not_found(f"TuningJob {name} is not found.")
        return job

    def find_model(request: Request, project: str, location: str, model_id: str) -> Job:
        """The job owning ``models/{id}[@version]``; 404 unless its model exists (version 1 / default)."""
        state = get_state(request)
        base_id, _, version = model_id.partition("@")
        name = f"projects/{project}/locations/{location}/models/{base_id}"
        job = state.jobs.get(state.models.get(name, ""))
        if job is None or not model_exists(job, state.now()) or (version and version not in MODEL_VERSION_ALIASES):
            raise not_found(f"Model projects/{project}/locations/{location}/models/{model_id} not found.")
        return job

    def find_endpoint(request: Request, project: str, location: str, endpoint_id: str) -> Job:
        state = get_state(request)
        name = f"projects/{project}/locations/{location}/endpoints/{endpoint_id}"
        job = state.jobs.get(state.endpoints.get(name, ""))
        if job is None or not endpoint_exists(job, state.now()):
            raise not_found(f"Endpoint {name} not found.")
        return job

    def new_operation(
        request: Request, project: str, location: str, metadata_type: str, response_type: str
    ) -> dict[str, Any]:
        """Record and return a long-running Operation that is already done (call under the lock)."""
        state = get_state(request)
        version = _api_version(request)
        stamp = rfc3339(state.now())
        operation = {
            "name": f"projects/{project}/locations/{location}/operations/{state.numeric_id()}",
            "metadata": {
                "@type": f"type.googleapis.com/google.cloud.aiplatform.{version}.{metadata_type}",
                "genericMetadata": {"createTime": stamp, "updateTime": stamp},
            },
            "done": True,
            "response": {"@type": response_type.replace("{version}", version)},
        }
        state.operations[operation["name"]] = operation
        return operation

    @router.post(parent_path + "/tuningJobs")
    async def create_tuning_job(request: Request, project: str, location: str):
        state = get_state(request)
        body = _camel_keys(await read_json(request))
        base = body.get("baseModel")
        if not base or not isinstance(base, str):
            raise invalid("baseModel is required.")
        if _base_model_id(base) not in TUNABLE_BASE_MODELS:
            raise invalid(
                f"baseModel: {base!r} is not supported for supervised tuning; use one of {list(TUNABLE_BASE_MODELS)}."
            )
        spec = body.get("supervisedTuningSpec")
        if not isinstance(spec, dict):
            raise invalid("supervisedTuningSpec is required (the emulator supports supervised tuning only).")
        train_uri = spec.get("trainingDatasetUri")
        if not train_uri:
            raise invalid("supervisedTuningSpec.trainingDatasetUri is required.")
        rows = read_dataset(state.settings.gcs_root, train_uri, "supervisedTuningSpec.trainingDatasetUri")
        if spec.get("validationDatasetUri"):
            read_dataset(
                state.settings.gcs_root, spec["validationDatasetUri"], "supervisedTuningSpec.validationDatasetUri"
            )
        hp = dict(spec.get("hyperParameters") or {})
        effective: dict[str, Any] = {}
        try:
            epochs = int(hp.get("epochCount", DEFAULT_EPOCHS))
            batch = int(hp.get("batchSize", DEFAULT_BATCH_SIZE))
        except (TypeError, ValueError):
            raise invalid("supervisedTuningSpec.hyperParameters.epochCount/batchSize must be integers.") from None
        if epochs <= 0 or batch <= 0:
            raise invalid("supervisedTuningSpec.hyperParameters.epochCount and batchSize must be positive.")
        effective["epochCount"] = str(epochs)
        if "learningRate" in hp:
            effective["learningRate"] = float(hp["learningRate"])
        else:
            lrm = float(hp.get("learningRateMultiplier", DEFAULT_LR_MULTIPLIER))
            if lrm <= 0:
                raise invalid("supervisedTuningSpec.hyperParameters.learningRateMultiplier must be positive.")
            effective["learningRateMultiplier"] = lrm
        adapter = hp.get("adapterSize", DEFAULT_ADAPTER_SIZE)
        if adapter not in ADAPTER_SIZES:
            raise invalid(
                f"supervisedTuningSpec.hyperParameters.adapterSize: {adapter!r} is not one of {list(ADAPTER_SIZES)}."
            )
        effective["adapterSize"] = adapter
        if "batchSize" in hp:
            effective["batchSize"] = str(batch)
        labels = body.get("labels") or {}
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            raise invalid("labels must be a map of string keys to string values.")
        resource: dict[str, Any] = {"baseModel": base}
        for key in ("tunedModelDisplayName", "description"):
            if body.get(key):
                resource[key] = body[key]
        if labels:
            resource["labels"] = labels
        resource["supervisedTuningSpec"] = {
            "trainingDatasetUri": train_uri,
            **({"validationDatasetUri": spec["validationDatasetUri"]} if spec.get("validationDatasetUri") else {}),
            "hyperParameters": effective,
        }
        settings = state.settings
        with state.lock:
            parent = f"projects/{project}/locations/{location}"
            job = Job(
                backend="vertex_ai",
                name=f"{parent}/tuningJobs/{state.numeric_id()}",
                created=state.now(),
                examples=example_pairs(rows),
                epoch_count=epochs,
                batch_size=batch,
                resource=resource,
                startup_seconds=settings.startup_seconds,
                step_seconds=settings.step_seconds,
                queue_seconds=settings.queue_seconds,
                cancel_seconds=settings.startup_seconds if settings.cancel_seconds is None else settings.cancel_seconds,
                fail_message=state.faults.fail_message if state.faults.fail_jobs else None,
            )
            model_id, endpoint_id = state.numeric_id(), state.numeric_id()
            job.extra["model"] = f"{parent}/models/{model_id}@1"
            job.extra["endpoint"] = f"{parent}/endpoints/{endpoint_id}"
            job.extra["deployed_model_id"] = state.numeric_id()
            job.extra["stats"] = data_stats(rows, job.total_steps)
            state.endpoints[job.extra["endpoint"]] = job.name
            state.models[model_name(job)] = job.name
            state.add_job(job)
            return render_job(job, job.created)

    @router.get(parent_path + "/tuningJobs")
    async def list_tuning_jobs(
        request: Request,
        project: str,
        location: str,
        filter: str | None = None,
        pageSize: str | None = None,
        pageToken: str | None = None,
    ):
        state = get_state(request)
        wanted = parse_filter(filter)
        prefix = f"projects/{project}/locations/{location}/tuningJobs/"
        with state.lock:
            now = state.now()
            jobs = [
                j
                for j in state.jobs.values()
                if j.name.startswith(prefix)
                and all(j.resource.get("labels", {}).get(k) == v for k, v in wanted.items())
            ]
            jobs.sort(key=lambda j: j.created, reverse=True)
            chunk, token = page(jobs, pageSize, pageToken, default=50)
            out: dict[str, Any] = {}
            if chunk:
                out["tuningJobs"] = [render_job(j, now) for j in chunk]
            if token:
                out["nextPageToken"] = token
            return out

    @router.get(parent_path + "/tuningJobs/{job_id}")
    async def get_tuning_job(request: Request, project: str, location: str, job_id: str):
        state = get_state(request)
        with state.lock:
            return render_job(find_job(request, project, location, job_id), state.now())

    @router.post(parent_path + "/tuningJobs/{job_id}:cancel")
    async def cancel_tuning_job(request: Request, project: str, location: str, job_id: str):
        state = get_state(request)
        await read_json(request)
        with state.lock:
            job = find_job(request, project, location, job_id)
            now = state.now()
            phase = job.phase(now)
            if phase in ("succeeded", "failed", "cancelled"):
                raise failed_precondition(
                    f"Cannot cancel tuning job {job.name} in state {PHASE_STATES[phase]}: the job is already finished."
                )
            if job.cancelled_at is None:
                job.cancelled_at = now
                state.cancels["vertex_ai"] += 1
            return {}

    @router.post(parent_path + "/endpoints/{endpoint_id}:generateContent")
    async def generate_endpoint(request: Request, project: str, location: str, endpoint_id: str):
        state = get_state(request)
        body = _camel_keys(await read_json(request))
        name = f"projects/{project}/locations/{location}/endpoints/{endpoint_id}"
        with state.lock:
            job = find_endpoint(request, project, location, endpoint_id)
            if not is_deployed(job, state.now()):
                raise failed_precondition(f"Endpoint {name} does not have any deployed model to serve the request.")
        prompt, chars = prompt_of(body)
        return generate_response(best_match(prompt, job.examples), chars, job.extra["model"])

    @router.get(parent_path + "/models/{model_id}")
    async def get_model(request: Request, project: str, location: str, model_id: str):
        state = get_state(request)
        with state.lock:
            return render_model(find_model(request, project, location, model_id), state.now())

    @router.delete(parent_path + "/models/{model_id}")
    async def delete_model(request: Request, project: str, location: str, model_id: str):
        state = get_state(request)
        with state.lock:
            job = find_model(request, project, location, model_id)
            now = state.now()
            if is_deployed(job, now):
                raise failed_precondition(
                    f'The Model "{model_name(job)}" is deployed or being deployed at the following Endpoint(s): '
                    f"{job.extra['endpoint']}. Please undeploy the Model first."
                )
            job.extra["model_deleted_at"] = now
            state.deletes["vertex_ai"] += 1
            return new_operation(
                request, project, location, "DeleteOperationMetadata", "type.googleapis.com/google.protobuf.Empty"
            )

    @router.get(parent_path + "/endpoints/{endpoint_id}")
    async def get_endpoint(request: Request, project: str, location: str, endpoint_id: str):
        state = get_state(request)
        with state.lock:
            return render_endpoint(find_endpoint(request, project, location, endpoint_id), state.now())

    @router.post(parent_path + "/endpoints/{endpoint_id}:undeployModel")
    async def undeploy_model(request: Request, project: str, location: str, endpoint_id: str):
        state = get_state(request)
        body = _camel_keys(await read_json(request))
        wanted = body.get("deployedModelId")
        if not wanted or not isinstance(wanted, str):
            raise invalid("deployedModelId is required.")
        with state.lock:
            job = find_endpoint(request, project, location, endpoint_id)
            now = state.now()
            if not is_deployed(job, now) or wanted != job.extra["deployed_model_id"]:
                raise not_found(f"DeployedModel with ID {wanted} does not exist in Endpoint {job.extra['endpoint']}.")
            job.extra["undeployed_at"] = now
            return new_operation(
                request,
                project,
                location,
                "UndeployModelOperationMetadata",
                "type.googleapis.com/google.cloud.aiplatform.{version}.UndeployModelResponse",
            )

    @router.delete(parent_path + "/endpoints/{endpoint_id}")
    async def delete_endpoint(request: Request, project: str, location: str, endpoint_id: str):
        state = get_state(request)
        with state.lock:
            job = find_endpoint(request, project, location, endpoint_id)
            now = state.now()
            if is_deployed(job, now):
                raise failed_precondition(
                    f"Endpoint {job.extra['endpoint']} has deployed models (DeployedModel IDs: "
                    f"{job.extra['deployed_model_id']}). Please undeploy them first."
                )
            job.extra["endpoint_deleted_at"] = now
            state.deletes["vertex_ai_endpoints"] += 1
            return new_operation(
                request, project, location, "DeleteOperationMetadata", "type.googleapis.com/google.protobuf.Empty"
            )

    @router.get(parent_path + "/operations/{operation_id}")
    async def get_operation(request: Request, project: str, location: str, operation_id: str):
        state = get_state(request)
        name = f"projects/{project}/locations/{location}/operations/{operation_id}"
        with state.lock:
            operation = state.operations.get(name)
            if operation is None:
                raise not_found(f"Operation {name} not found.")
            return operation

    @router.post(parent_path + "/publishers/google/models/{model}:generateContent")
    async def generate_publisher(request: Request, project: str, location: str, model: str):
        if not model.startswith("gemini-"):
            raise not_found(
                f"Publisher Model `projects/{project}/locations/{location}/publishers/google/models/{model}` not found."
            )
        body = _camel_keys(await read_json(request))
        prompt, chars = prompt_of(body)
        return generate_response(base_answer(model, prompt), chars, model)

    return router
