"""``tensorboards``: the TensorBoard behind the tuning Experiments, its experiments, runs and
scalar time series, ``timeSeries/*:read`` and ``tensorboards/*:batchRead`` (``tensorboard_service.proto``).

List calls filter on ``name``, ``display_name``, ``create_time``, ``update_time`` and ``labels``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from gemini_tuning.emulator.deps import get_state
from gemini_tuning.emulator.errors import invalid, not_found
from gemini_tuning.emulator.filters import ListQuery
from gemini_tuning.emulator.jobs import Job, rfc3339
from gemini_tuning.emulator.state import EmulatorState
from gemini_tuning.emulator.vertex_ai.common import LOCATION, resource_name
from gemini_tuning.emulator.vertex_ai.metrics import chain_of, find_chain_job, last_update, points, visible_metrics

router = APIRouter(prefix=LOCATION + "/tensorboards")
FILTER_FIELDS = ("name", "display_name", "create_time", "update_time", "labels")
EXPERIMENT = "/{tensorboard_id}/experiments/{experiment_id}"
RUN = EXPERIMENT + "/runs/{run_id}"
SERIES = RUN + "/timeSeries/{series_id}"
DEFAULT_MAX_POINTS = 1000


def _jobs_of(state: EmulatorState, tensorboard: str, now: float) -> list[Job]:
    jobs = [j for j in state.jobs.values() if "metrics" in j.extra and chain_of(j).tensorboard == tensorboard]
    return sorted((j for j in jobs if j.started(now)), key=lambda j: j.start_time)


def _find_tensorboard(state: EmulatorState, name: str) -> str:
    if name not in state.tensorboard_created:
        raise not_found(f"Tensorboard {name} not found.")
    return name


def render_tensorboard(state: EmulatorState, name: str, now: float) -> dict[str, Any]:
    created = rfc3339(state.tensorboard_created[name])
    return {
        "name": name,
        "displayName": "Default Tensorboard",
        "createTime": created,
        "updateTime": created,
        "blobStoragePathPrefix": f"cloud-ai-platform-{name.rsplit('/', 1)[-1]}",
        "runCount": len(_jobs_of(state, name, now)),
        "isDefault": True,
    }


def render_experiment(job: Job) -> dict[str, Any]:
    chain = chain_of(job)
    stamp = rfc3339(job.start_time)
    return {"name": chain.tb_experiment, "displayName": chain.experiment_id, "createTime": stamp, "updateTime": stamp}


def render_run(job: Job, now: float) -> dict[str, Any]:
    chain = chain_of(job)
    return {
        "name": chain.tb_run,
        "displayName": chain.run_id,
        "createTime": rfc3339(job.start_time),
        "updateTime": rfc3339(last_update(job, now)),
    }


def render_series(job: Job, metric: str, now: float) -> dict[str, Any]:
    written = points(job, metric, now)
    last_step = written[-1][0]
    return {
        "name": chain_of(job).series_name(metric),
        "displayName": metric,
        "valueType": "SCALAR",
        "createTime": rfc3339(job.step_time(written[0][0])),
        "updateTime": rfc3339(job.step_time(last_step)),
        "pluginName": "scalars",
        "metadata": {"maxStep": str(last_step), "maxWallTime": rfc3339(job.step_time(last_step))},
    }


def series_data(job: Job, metric: str, now: float, max_points: int = -1) -> dict[str, Any]:
    """``TimeSeriesData`` of one metric; more than ``max_points`` points are thinned evenly (last kept)."""
    written = points(job, metric, now)
    if 0 < max_points < len(written):
        stride = len(written) / max_points
        written = [written[min(len(written) - 1, round((i + 1) * stride) - 1)] for i in range(max_points)]
    values = [{"wallTime": rfc3339(job.step_time(s)), "step": str(s), "scalar": {"value": v}} for s, v in written]
    out: dict[str, Any] = {"tensorboardTimeSeriesId": chain_of(job).series_ids[metric], "valueType": "SCALAR"}
    if values:
        out["values"] = values
    return out


def _find_series(state: EmulatorState, name: str) -> tuple[Job, str]:
    """(job, metric) of a time series that has been written to; 404 otherwise."""
    job = find_chain_job(state, name, "TensorboardTimeSeries")
    now = state.now()
    for metric in visible_metrics(job, now):
        if chain_of(job).series_name(metric) == name:
            return job, metric
    raise not_found(f"TensorboardTimeSeries {name} not found.")


@router.get("")
async def list_tensorboards(request: Request, query: ListQuery = Depends()):
    state = get_state(request)
    with state.lock:
        name = state.tensorboards.get(resource_name(request, "tensorboards"))
        boards = [render_tensorboard(state, name, state.now())] if name else []
    return query.page(boards, FILTER_FIELDS, key="tensorboards", default=100, maximum=100)


@router.get("/{tensorboard_id}:batchRead")
async def batch_read(request: Request):
    state = get_state(request)
    wanted = request.query_params.getlist("timeSeries") + request.query_params.getlist("time_series")
    if not wanted:
        raise invalid("timeSeries is required: name at least one TensorboardTimeSeries to read.")
    with state.lock:
        tensorboard = _find_tensorboard(state, resource_name(request))
        data = []
        for name in wanted:
            if not name.startswith(tensorboard + "/experiments/"):
                raise invalid(f"TensorboardTimeSeries {name} does not belong to Tensorboard {tensorboard}.")
            job, metric = _find_series(state, name)
            data.append(series_data(job, metric, state.now()))
    return {"timeSeriesData": data}


@router.get("/{tensorboard_id}")
async def get_tensorboard(request: Request):
    state = get_state(request)
    with state.lock:
        name = _find_tensorboard(state, resource_name(request))
        return render_tensorboard(state, name, state.now())


@router.get("/{tensorboard_id}/experiments")
async def list_experiments(request: Request, query: ListQuery = Depends()):
    state = get_state(request)
    with state.lock:
        tensorboard = _find_tensorboard(state, resource_name(request, "experiments"))
        experiments = [render_experiment(job) for job in _jobs_of(state, tensorboard, state.now())]
    return query.page(experiments, FILTER_FIELDS, key="tensorboardExperiments", default=50)


@router.get(EXPERIMENT)
async def get_experiment(request: Request):
    state = get_state(request)
    with state.lock:
        return render_experiment(find_chain_job(state, resource_name(request), "TensorboardExperiment"))


@router.get(EXPERIMENT + "/runs")
async def list_runs(request: Request, query: ListQuery = Depends()):
    state = get_state(request)
    with state.lock:
        job = find_chain_job(state, resource_name(request, "runs"), "TensorboardExperiment")
        runs = [render_run(job, state.now())]
    return query.page(runs, FILTER_FIELDS, key="tensorboardRuns", default=50)


@router.get(RUN)
async def get_run(request: Request):
    state = get_state(request)
    with state.lock:
        return render_run(find_chain_job(state, resource_name(request), "TensorboardRun"), state.now())


@router.get(RUN + "/timeSeries")
async def list_time_series(request: Request, query: ListQuery = Depends()):
    state = get_state(request)
    with state.lock:
        job, now = find_chain_job(state, resource_name(request, "timeSeries"), "TensorboardRun"), state.now()
        series = [render_series(job, metric, now) for metric in visible_metrics(job, now)]
    return query.page(series, FILTER_FIELDS, key="tensorboardTimeSeries", default=50)


@router.get(SERIES + ":read")
async def read_time_series(request: Request, maxDataPoints: int | None = None, filter: str | None = None):
    state = get_state(request)
    if filter:
        raise invalid("filter: the emulator reads whole time series; leave the filter empty.")
    if maxDataPoints is not None and maxDataPoints < -1:
        raise invalid("maxDataPoints must be a positive integer, or -1 to return all data.")
    with state.lock:
        job, metric = _find_series(state, resource_name(request))
        limit = maxDataPoints or DEFAULT_MAX_POINTS
        return {"timeSeriesData": series_data(job, metric, state.now(), limit)}


@router.get(SERIES)
async def get_time_series(request: Request):
    state = get_state(request)
    with state.lock:
        job, metric = _find_series(state, resource_name(request))
        return render_series(job, metric, state.now())
