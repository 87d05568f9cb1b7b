"""``tuningJobs``: create, list, get and cancel (``genai_tuning_service.proto``).

The TuningJob resource follows ``tuning_job.proto``: int64 fields are JSON strings, as proto3
JSON renders them; there is no per-step loss on the wire.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from gemini_tuning.emulator.deps import camel_keys, get_state, read_json
from gemini_tuning.emulator.errors import failed_precondition
from gemini_tuning.emulator.filters import ListQuery
from gemini_tuning.emulator.jobs import Job, rfc3339
from gemini_tuning.emulator.state import EmulatorState
from gemini_tuning.emulator.vertex_ai.common import LOCATION, find_job, parent_of
from gemini_tuning.emulator.vertex_ai.datasets import data_stats
from gemini_tuning.emulator.vertex_ai.metrics import chain_of, new_chain
from gemini_tuning.emulator.vertex_ai.registry import continued_from, examples_of, reserve, tuned_model
from gemini_tuning.emulator.vertex_ai.spec import TuningRequest, parse_tuning_job

router = APIRouter(prefix=LOCATION + "/tuningJobs")
PHASE_STATES = {
    "queued": "JOB_STATE_QUEUED",
    "pending": "JOB_STATE_PENDING",
    "running": "JOB_STATE_RUNNING",
    "succeeded": "JOB_STATE_SUCCEEDED",
    "failed": "JOB_STATE_FAILED",
    "cancelling": "JOB_STATE_CANCELLING",
    "cancelled": "JOB_STATE_CANCELLED",
}
FILTER_FIELDS = ("labels", "state", "base_model", "tuned_model_display_name", "create_time", "update_time")


def render_job(state: EmulatorState, job: Job, now: float) -> dict[str, Any]:
    """The TuningJob wire resource at time ``now``."""
    phase = job.phase(now)
    out = {"name": job.name, **job.resource, "state": PHASE_STATES[phase], "createTime": rfc3339(job.created)}
    stage = job.stage(now)
    if stage:
        out["tuningJobState"] = f"TUNING_JOB_STATE_{stage.upper()}"
    if job.started(now):
        out["startTime"] = rfc3339(job.start_time)
        out["experiment"] = chain_of(job).experiment_context
        epochs = job.completed_epochs(now)  # proto3 JSON leaves a zero count out
        out["tuningJobMetadata"] = {"completedEpochCount": str(epochs)} if epochs else {}
    if job.dataset_processed(now):
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
        out["tunedModel"] = tuned_model(state, job, now)
    return out


def _new_job(state: EmulatorState, parent: str, request: TuningRequest) -> Job:
    """A Vertex job with its Model and Endpoint names reserved (call under the lock)."""
    settings = state.settings
    job = Job(
        backend="vertex_ai",
        name=f"{parent}/tuningJobs/{state.numeric_id()}",
        created=state.now(),
        examples=request.train.pairs(),
        epoch_count=request.epochs,
        batch_size=request.batch_size,
        resource=request.resource,
        startup_seconds=settings.startup_seconds,
        step_seconds=settings.step_seconds,
        queue_seconds=settings.queue_seconds,
        cancel_seconds=settings.startup_seconds if settings.cancel_seconds is None else settings.cancel_seconds,
        quota_seconds=state.faults.hold_quota_seconds,
        dataset_seconds=settings.dataset_seconds,
        capacity_seconds=state.faults.hold_capacity_seconds,
        post_seconds=settings.post_processing_seconds,
        fail_message=state.faults.fail_message if state.faults.fail_jobs else None,
    )
    job.extra["base_model"] = request.resource.get("baseModel")
    model = None
    if request.pre_tuned:
        record, source = continued_from(state, parent, request.pre_tuned, job.created)
        job.extra["base_model"] = request.resource["preTunedModel"]["baseModel"] = source.extra["base_model"]
        job.extra["inherited"] = examples_of(state, source)
        if not request.resource.get("tunedModelDisplayName"):  # a new version keeps the model's name
            model = record.name
            request.resource["tunedModelDisplayName"] = record.display_name
    reserve(state, job, model, request.export_last_checkpoint_only)
    job.extra["stats"] = data_stats(request.train, job.total_steps)
    validation = request.validation.kept if request.validation else []
    job.extra["validation_tokens"] = sum(example.output_tokens for example in validation)
    job.extra["metrics"] = chain = new_chain(state, parent, job.name.rsplit("/", 1)[1], bool(validation))
    state.metric_index.update(dict.fromkeys(chain.names(), job.name))
    return job


@router.post("")
async def create_tuning_job(request: Request, project: str, location: str):
    state = get_state(request)
    tuning = parse_tuning_job(camel_keys(await read_json(request)), state.settings, location)
    with state.lock:
        job = _new_job(state, parent_of(project, location), tuning)
        state.add_job(job)
        return render_job(state, job, job.created)


@router.get("")
async def list_tuning_jobs(request: Request, project: str, location: str, query: ListQuery = Depends()):
    state = get_state(request)
    prefix = f"{parent_of(project, location)}/tuningJobs/"
    with state.lock:
        now = state.now()
        jobs = sorted((j for j in state.jobs.values() if j.name.startswith(prefix)), key=lambda j: -j.created)
        rendered = [render_job(state, j, now) for j in jobs]
    return query.page(rendered, FILTER_FIELDS, key="tuningJobs", default=50)


@router.get("/{job_id}")
async def get_tuning_job(request: Request, project: str, location: str, job_id: str):
    state = get_state(request)
    with state.lock:
        return render_job(state, find_job(state, project, location, job_id), state.now())


@router.post("/{job_id}:cancel")
async def cancel_tuning_job(request: Request, project: str, location: str, job_id: str):
    state = get_state(request)
    await read_json(request)
    with state.lock:
        job = find_job(state, project, location, job_id)
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
