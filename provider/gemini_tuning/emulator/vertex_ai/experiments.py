"""``metadataStores/default`` and its Contexts: each tuning job's Experiment and run (``metadata_service.proto``).

ListContexts filters on ``name``, ``display_name``, ``schema_title``, ``create_time``,
``update_time``, ``metadata.KEY.string_value``, ``parent_contexts:"NAME"`` and
``child_contexts:"NAME"`` (see :mod:`gemini_tuning.emulator.filters`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from gemini_tuning.emulator.deps import get_state
from gemini_tuning.emulator.errors import not_found
from gemini_tuning.emulator.filters import ListQuery
from gemini_tuning.emulator.jobs import Job, rfc3339
from gemini_tuning.emulator.state import EmulatorState
from gemini_tuning.emulator.vertex_ai.common import LOCATION, parent_of
from gemini_tuning.emulator.vertex_ai.metrics import (
    METADATA_STORE,
    chain_of,
    find_chain_job,
    last_update,
    run_state,
    summary,
)

router = APIRouter(prefix=LOCATION + "/metadataStores/{store}")
CONTEXT_FILTER_FIELDS = (
    "name",
    "display_name",
    "schema_title",
    "create_time",
    "update_time",
    "metadata",
    "parent_contexts",
    "child_contexts",
)


def render_experiment(job: Job) -> dict[str, Any]:
    """The Experiment: a ``system.Experiment`` Context naming its backing TensorBoard."""
    chain = chain_of(job)
    return {
        "name": chain.experiment_context,
        "displayName": chain.experiment_id,
        "createTime": rfc3339(job.start_time),
        "updateTime": rfc3339(job.start_time),
        "schemaTitle": "system.Experiment",
        "schemaVersion": "0.0.1",
        "metadata": {"experiment_deleted": False, "backing_tensorboard_resource": chain.tensorboard},
        "description": f"Training metrics of tuning job {job.name}",
    }


def render_run(job: Job, now: float) -> dict[str, Any]:
    """The run: a ``system.ExperimentRun`` Context, child of the Experiment."""
    chain = chain_of(job)
    hyper = job.resource.get("supervisedTuningSpec", {}).get("hyperParameters", {})
    return {
        "name": chain.run_context,
        "displayName": chain.run_id,
        "createTime": rfc3339(job.start_time),
        "updateTime": rfc3339(max(last_update(job, now), job.end_time(now) or 0.0)),
        "parentContexts": [chain.experiment_context],
        "schemaTitle": "system.ExperimentRun",
        "schemaVersion": "0.0.1",
        "metadata": {"state": run_state(job, now), "_params": dict(hyper), "_metrics": summary(job, now)},
    }


def _store_name(project: str, location: str, store: str) -> str:
    name = f"{parent_of(project, location)}/metadataStores/{store}"
    if store != METADATA_STORE:
        raise not_found(f"MetadataStore {name} not found.")
    return name


def _contexts(state: EmulatorState, parent: str, now: float) -> list[dict[str, Any]]:
    """Every context in the location, each experiment with a ``childContexts`` list for filtering."""
    out = []
    jobs = [j for j in state.jobs.values() if "metrics" in j.extra and j.name.startswith(parent + "/")]
    for job in sorted((j for j in jobs if j.started(now)), key=lambda j: j.start_time):
        out.append({**render_experiment(job), "childContexts": [chain_of(job).run_context]})
        out.append(render_run(job, now))
    return out


@router.get("")
async def get_metadata_store(request: Request, project: str, location: str, store: str):
    state = get_state(request)
    name = _store_name(project, location, store)
    created = rfc3339(min(state.tensorboard_created.values(), default=state.now()))
    return {"name": name, "createTime": created, "updateTime": created, "description": "Default metadata store."}


@router.get("/contexts")
async def list_contexts(request: Request, project: str, location: str, store: str, query: ListQuery = Depends()):
    state = get_state(request)
    _store_name(project, location, store)
    with state.lock:
        contexts = _contexts(state, parent_of(project, location), state.now())
    listing = query.page(contexts, CONTEXT_FILTER_FIELDS, key="contexts", default=100)
    for context in listing.get("contexts", []):
        context.pop("childContexts", None)
    return listing


@router.get("/contexts/{context_id}")
async def get_context(request: Request, project: str, location: str, store: str, context_id: str):
    state = get_state(request)
    name = f"{_store_name(project, location, store)}/contexts/{context_id}"
    with state.lock:
        job = find_chain_job(state, name, "Context")
        now = state.now()
        return render_experiment(job) if name == chain_of(job).experiment_context else render_run(job, now)
