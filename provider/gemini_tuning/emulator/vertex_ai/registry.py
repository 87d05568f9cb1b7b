"""Tuned Models, their versions and checkpoints, and the Endpoint each checkpoint is deployed to.

A succeeded tuning job is one version of a Model (a new Model, or the next version of the
model it continued from). The version exports checkpoints (one per epoch, or only the last),
each deployed to its own Endpoint. All of it exists from the job's end time on (computed
lazily, like the job state). Version ids follow the order in which jobs succeed; the newest
live version carries the ``default`` alias. As on the real service, a deployed model cannot be
deleted and an endpoint with deployed models cannot be deleted: undeploy first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gemini_tuning.emulator.curves import best_epoch
from gemini_tuning.emulator.errors import ApiError, invalid, not_found
from gemini_tuning.emulator.jobs import Job, rfc3339
from gemini_tuning.emulator.responder import Skill
from gemini_tuning.emulator.state import EmulatorState
from gemini_tuning.emulator.vertex_ai.common import base_model_id

BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
JOB_ID_LABEL = "google-vertex-llm-tuning-job-id"


@dataclass
class Checkpoint:
    """``TunedModelCheckpoint``: a snapshot at the end of an epoch, served by its own Endpoint."""

    checkpoint_id: str
    epoch: int
    step: int
    endpoint: str


@dataclass
class Deployment:
    """An Endpoint and the one checkpoint of one model version deployed to it."""

    name: str
    job: str  # the tuning job that produced the version
    checkpoint_id: str
    deployed_model_id: str
    undeployed_at: float | None = None
    deleted_at: float | None = None


@dataclass
class ModelRecord:
    """A tuned Model: the jobs that produce its versions, in creation order."""

    name: str  # projects/{p}/locations/{l}/models/{id}
    display_name: str
    jobs: list[str] = field(default_factory=list)
    description: str | None = None
    updated: float | None = None


def reserve(state: EmulatorState, job: Job, model: str | None, export_last_only: bool) -> None:
    """Name the Model (new unless ``model``) and the checkpoint Endpoints of a new job (under the lock)."""
    parent = job.name.split("/tuningJobs/", 1)[0]
    if model is None:
        model = f"{parent}/models/{state.numeric_id()}"
        state.models[model] = ModelRecord(
            model, _default_display_name(job), description=job.resource.get("description")
        )
    state.models[model].jobs.append(job.name)
    epochs = [job.epoch_count] if export_last_only else range(1, job.epoch_count + 1)
    checkpoints = []
    for number, epoch in enumerate(epochs, 1):
        endpoint = f"{parent}/endpoints/{state.numeric_id()}"
        checkpoints.append(Checkpoint(str(number), epoch, epoch * job.steps_per_epoch, endpoint))
        state.endpoints[endpoint] = Deployment(endpoint, job.name, str(number), state.numeric_id())
    job.extra.update(model=model, checkpoints=checkpoints, default_checkpoint=checkpoints[-1].checkpoint_id)


def _default_display_name(job: Job) -> str:
    return job.resource.get("tunedModelDisplayName") or (
        f"{base_model_id(job.extra['base_model'])}-tuned-{job.name.rsplit('/', 1)[-1]}"
    )


def _produced(state: EmulatorState, record: ModelRecord, now: float) -> list[Job]:
    """The jobs that produced a version by ``now``, in version order (deleted versions included)."""
    jobs = [state.jobs[name] for name in record.jobs]
    return sorted((j for j in jobs if j.phase(now) == "succeeded"), key=lambda j: j.natural_end_time)


def version_id(state: EmulatorState, job: Job, now: float) -> str:
    """The version a succeeded job produced (1-based, in the order the jobs succeeded)."""
    return str(_produced(state, state.models[job.extra["model"]], now).index(job) + 1)


def live_versions(state: EmulatorState, record: ModelRecord, now: float) -> list[tuple[str, Job]]:
    """(version id, job) of the versions not deleted; the last one is the default."""
    produced = _produced(state, record, now)
    return [(str(i), j) for i, j in enumerate(produced, 1) if j.extra.get("version_deleted_at") is None]


def find_version(state: EmulatorState, name: str, now: float) -> tuple[ModelRecord, str, Job]:
    """``models/{id}[@version|@default]`` -> (model, version id, job); 404 unless that version is live."""
    base, _, wanted = name.partition("@")
    record = state.models.get(base)
    live = live_versions(state, record, now) if record else []
    for version, job in live:
        if wanted == version or (wanted in ("", "default") and (version, job) == live[-1]):
            return record, version, job
    raise not_found(f"Model {name} not found.")


def continued_from(state: EmulatorState, parent: str, pre: dict[str, str], now: float) -> tuple[ModelRecord, Job]:
    """The model version a ``preTunedModel`` names (404 if missing, 400 for a bad location or checkpoint)."""
    name = pre["tunedModelName"]
    if not name.startswith(f"{parent}/models/"):
        raise invalid(f"preTunedModel.tunedModelName: {name!r} is not a Model in {parent}.")
    try:
        record, _, job = find_version(state, name, now)
    except ApiError:
        raise not_found(f"preTunedModel.tunedModelName: Model {name} not found.") from None
    wanted = pre.get("checkpointId")
    if wanted and checkpoint(job, wanted) is None:
        known = [c.checkpoint_id for c in job.extra["checkpoints"]]
        raise invalid(f"preTunedModel.checkpointId: {wanted!r} is not a checkpoint of {name}; {known=}.")
    return record, job


def checkpoint(job: Job, checkpoint_id: str) -> Checkpoint | None:
    return next((c for c in job.extra["checkpoints"] if c.checkpoint_id == checkpoint_id), None)


def default_endpoint(job: Job) -> str:
    return checkpoint(job, job.extra["default_checkpoint"]).endpoint  # type: ignore[union-attr]


def endpoint_live(state: EmulatorState, deployment: Deployment, now: float) -> bool:
    """Whether the Endpoint exists: its job succeeded and it was not deleted."""
    return deployment.deleted_at is None and state.jobs[deployment.job].phase(now) == "succeeded"


def find_endpoint(state: EmulatorState, name: str, now: float) -> Deployment:
    deployment = state.endpoints.get(name)
    if deployment is None or not endpoint_live(state, deployment, now):
        raise not_found(f"Endpoint {name} not found.")
    return deployment


def is_deployed(state: EmulatorState, deployment: Deployment, now: float) -> bool:
    """Whether the checkpoint is (still) deployed to its live endpoint (its version not deleted)."""
    job = state.jobs[deployment.job]
    live = endpoint_live(state, deployment, now) and deployment.undeployed_at is None
    return live and job.extra.get("version_deleted_at") is None


def deployments_of(state: EmulatorState, job: Job, now: float) -> list[Deployment]:
    """The deployments of a version's checkpoints that are still deployed."""
    found = [state.endpoints[c.endpoint] for c in job.extra["checkpoints"]]
    return [d for d in found if is_deployed(state, d, now)]


def examples_of(state: EmulatorState, job: Job) -> list[tuple[str, str]]:
    """What a version answers from: its own training examples, after those of the model it continued."""
    return job.examples + job.extra.get("inherited", [])


def skill(state: EmulatorState, deployment: Deployment) -> Skill:
    """How well a checkpoint answers: it learns with each epoch, over-trained ones generalise worse."""
    job = state.jobs[deployment.job]
    epoch = checkpoint(job, deployment.checkpoint_id).epoch  # type: ignore[union-attr]
    best = best_epoch(job.steps_per_epoch)
    learned = min(1.0, epoch / min(job.epoch_count, best))
    return Skill(seed=job.name, learned=learned, overfit=min(0.6, 0.2 * max(0, epoch - best)))


def live_counts(state: EmulatorState, now: float) -> dict[str, int]:
    """How many tuned model versions, endpoints and deployed checkpoints exist (for ``/_emulator/stats``)."""
    versions = sum(len(live_versions(state, record, now)) for record in state.models.values())
    endpoints = [d for d in state.endpoints.values() if endpoint_live(state, d, now)]
    deployed = [d for d in endpoints if is_deployed(state, d, now)]
    return {"model_versions": versions, "endpoints": len(endpoints), "deployed_models": len(deployed)}


def tuned_model(state: EmulatorState, job: Job, now: float) -> dict[str, Any]:
    """``TunedModel`` of a succeeded job: the version, its default checkpoint's endpoint, every checkpoint."""
    return {
        "model": f"{job.extra['model']}@{version_id(state, job, now)}",
        "endpoint": default_endpoint(job),
        "checkpoints": [
            {"checkpointId": c.checkpoint_id, "epoch": str(c.epoch), "step": str(c.step), "endpoint": c.endpoint}
            for c in job.extra["checkpoints"]
        ],
    }


def render_model(state: EmulatorState, record: ModelRecord, version: str, job: Job, now: float) -> dict[str, Any]:
    """A version of the Model resource (``model.proto``)."""
    versions = live_versions(state, record, now)
    created, version_created = _produced(state, record, now)[0].natural_end_time, job.natural_end_time
    undeploys = [d.undeployed_at for d in state.endpoints.values() if d.job == job.name and d.undeployed_at]
    version_updated = max([version_created, *undeploys, record.updated or 0.0])
    out: dict[str, Any] = {"name": record.name, "displayName": record.display_name}
    if record.description:
        out["description"] = record.description
    out["versionId"] = version
    if (version, job) == versions[-1]:
        out["versionAliases"] = ["default"]
    out.update(
        createTime=rfc3339(created),
        updateTime=rfc3339(max(version_updated, versions[-1][1].natural_end_time)),
        versionCreateTime=rfc3339(version_created),
        versionUpdateTime=rfc3339(version_updated),
        labels={
            BASE_MODEL_LABEL: base_model_id(job.extra["base_model"]).replace(".", "_"),
            JOB_ID_LABEL: job.name.rsplit("/", 1)[-1],
            **job.resource.get("labels", {}),
        },
    )
    if job.resource.get("encryptionSpec"):
        out["encryptionSpec"] = dict(job.resource["encryptionSpec"])
    deployed = deployments_of(state, job, now)
    if deployed:
        out["deployedModels"] = [
            {"endpoint": d.name, "deployedModelId": d.deployed_model_id, "checkpointId": d.checkpoint_id}
            for d in deployed
        ]
    out["defaultCheckpointId"] = job.extra["default_checkpoint"]
    out["checkpoints"] = [
        {"checkpointId": c.checkpoint_id, "epoch": str(c.epoch), "step": str(c.step)} for c in job.extra["checkpoints"]
    ]
    return out


def render_endpoint(state: EmulatorState, deployment: Deployment, now: float) -> dict[str, Any]:
    """The Endpoint resource (``endpoint.proto``); empty repeated/map fields are omitted, as in proto3 JSON."""
    job = state.jobs[deployment.job]
    record = state.models[job.extra["model"]]
    created = job.natural_end_time
    last = deployment.checkpoint_id == job.extra["checkpoints"][-1].checkpoint_id
    display = record.display_name if last else f"{record.display_name}-checkpoint-{deployment.checkpoint_id}"
    out: dict[str, Any] = {"name": deployment.name, "displayName": display}
    if is_deployed(state, deployment, now):
        version = version_id(state, job, now)
        dm_id = deployment.deployed_model_id
        out["deployedModels"] = [
            {
                "id": dm_id,
                "model": f"{record.name}@{version}",
                "modelVersionId": version,
                "displayName": display,
                "createTime": rfc3339(created),
                "checkpointId": deployment.checkpoint_id,
            }
        ]
        out["trafficSplit"] = {dm_id: 100}
    if job.resource.get("labels"):
        out["labels"] = dict(job.resource["labels"])
    if job.resource.get("encryptionSpec"):
        out["encryptionSpec"] = dict(job.resource["encryptionSpec"])
    out["createTime"] = rfc3339(created)
    out["updateTime"] = rfc3339(max(created, deployment.undeployed_at or created))
    return out
