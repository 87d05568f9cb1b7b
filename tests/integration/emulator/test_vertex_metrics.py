"""Vertex training metrics: TuningJob.experiment -> Context -> TensorBoard -> run -> time series.

The job is driven by the real google-genai client; the metadata and TensorBoard services have
no google-genai methods, so the chain is read with raw httpx, exactly as the reference page
describes it (``../shared/reference/vertex-tuning-metrics.md``).
"""

from __future__ import annotations

import statistics

import pytest
from google.genai import types

from gemini_tuning.emulator.curves import best_epoch, eval_curves, loss_curve
from tests.integration.emulator.conftest import STARTUP, STEP

TRAIN = "gs://bucket/train.jsonl"
VALIDATION = "gs://bucket/validation.jsonl"
LOC = "projects/p/locations/us-central1"
TRAIN_METRICS = {"/train_total_loss", "/train_fraction_of_correct_next_step_preds", "/train_num_predictions"}
EVAL_METRICS = {"/eval_total_loss", "/eval_fraction_of_correct_next_step_preds", "/eval_num_predictions"}
SPE = 3  # 12 training examples, batch size 4


def _tune(vertex, epochs: int, validation: bool = True):
    config = types.CreateTuningJobConfig(
        epoch_count=epochs,
        tuned_model_display_name="adder",
        validation_dataset=types.TuningValidationDataset(gcs_uri=VALIDATION) if validation else None,
    )
    return vertex.tunings.tune(
        base_model="gemini-2.0-flash-001", training_dataset=types.TuningDataset(gcs_uri=TRAIN), config=config
    )


def _run_of(vhttp, experiment: str) -> tuple[str, str]:
    """(backing TensorBoard, TensorBoard run) of an Experiment, following the documented chain."""
    context = vhttp.get(f"/v1beta1/{experiment}").json()
    assert context["schemaTitle"] == "system.Experiment"
    tensorboard = context["metadata"]["backing_tensorboard_resource"]
    runs_filter = f'schema_title = "system.ExperimentRun" AND parent_contexts:"{experiment}"'
    runs = vhttp.get(f"/v1beta1/{LOC}/metadataStores/default/contexts", params={"filter": runs_filter}).json()
    [run_context] = runs["contexts"]
    assert run_context["parentContexts"] == [experiment]
    experiment_id = experiment.rsplit("/", 1)[1]
    run_id = run_context["name"].rsplit("/", 1)[1].removeprefix(f"{experiment_id}-")
    return tensorboard, f"{tensorboard}/experiments/{experiment_id}/runs/{run_id}"


def _metrics(vhttp, experiment: str) -> dict[str, list[tuple[int, float]]]:
    """Every time series of the job's run, read with one :batchRead: {displayName: [(step, value)]}."""
    tensorboard, run = _run_of(vhttp, experiment)
    listed = vhttp.get(f"/v1beta1/{run}/timeSeries").json().get("tensorboardTimeSeries", [])
    if not listed:
        return {}
    ids = {ts["name"].rsplit("/", 1)[1]: ts["displayName"] for ts in listed}
    r = vhttp.get(f"/v1beta1/{tensorboard}:batchRead", params={"timeSeries": [ts["name"] for ts in listed]})
    assert r.status_code == 200, r.text
    return {
        ids[data["tensorboardTimeSeriesId"]]: [(int(p["step"]), p["scalar"]["value"]) for p in data.get("values", [])]
        for data in r.json()["timeSeriesData"]
    }


def _epoch_means(series: list[tuple[int, float]]) -> list[float]:
    epochs: dict[int, list[float]] = {}
    for step, value in series:
        epochs.setdefault((step - 1) // SPE + 1, []).append(value)
    return [statistics.fmean(values) for _, values in sorted(epochs.items())]


def test_chain_from_job_to_time_series(vertex, vhttp, clock):
    job = _tune(vertex, epochs=3)
    assert job.experiment is None  # the Experiment appears when the job starts running
    clock.advance(60)
    done = vertex.tunings.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.experiment.startswith(f"{LOC}/metadataStores/default/contexts/")
    context = vhttp.get(f"/v1beta1/{done.experiment}").json()
    assert context["metadata"]["backing_tensorboard_resource"].startswith(f"{LOC}/tensorboards/")
    metrics = _metrics(vhttp, done.experiment)
    assert set(metrics) == TRAIN_METRICS | EVAL_METRICS
    total = SPE * 3
    for name in TRAIN_METRICS:
        assert [step for step, _ in metrics[name]] == list(range(1, total + 1)), name
    for name in EVAL_METRICS:
        assert [step for step, _ in metrics[name]] == [SPE, 2 * SPE, 3 * SPE], name  # one point per epoch
    assert [v for _, v in metrics["/train_total_loss"]] == loss_curve(job.name, total, SPE)
    assert all(0.0 < v < 1.0 for _, v in metrics["/train_fraction_of_correct_next_step_preds"])
    # 4 examples per batch; each answer ("1" .. "12") is one token: 4, 4, 4 predictions per step.
    assert {v for _, v in metrics["/train_num_predictions"]} == {4.0}
    assert {v for _, v in metrics["/eval_num_predictions"]} == {4.0}  # 4 held-out answers of one token
    run = vhttp.get(
        f"/v1beta1/{LOC}/metadataStores/default/contexts", params={"filter": 'schema_title = "system.ExperimentRun"'}
    ).json()
    [run_context] = run["contexts"]
    assert run_context["metadata"]["state"] == "COMPLETE"
    assert run_context["metadata"]["_metrics"]["train_total_loss"] == metrics["/train_total_loss"][-1][1]


def test_training_loss_falls_then_plateaus_and_accuracy_rises(vertex, vhttp, clock):
    job = _tune(vertex, epochs=8, validation=False)
    clock.advance(60)
    metrics = _metrics(vhttp, vertex.tunings.get(name=job.name).experiment)
    assert set(metrics) == TRAIN_METRICS  # no validation dataset: no /eval_* series
    loss = _epoch_means(metrics["/train_total_loss"])
    assert loss[0] > loss[1] > loss[2] > loss[3]
    assert max(loss[4:]) - min(loss[4:]) < 0.05
    accuracy = _epoch_means(metrics["/train_fraction_of_correct_next_step_preds"])
    assert accuracy[0] < accuracy[1] < accuracy[2] and accuracy[-1] > 0.85


def test_eval_loss_turns_up_when_over_trained(vertex, vhttp, clock):
    best = best_epoch(SPE)
    assert best == 6  # 12 examples support 6 epochs
    fitting = _tune(vertex, epochs=best)
    over = _tune(vertex, epochs=best + 4)
    clock.advance(60)
    fit_eval = [v for _, v in _metrics(vhttp, vertex.tunings.get(name=fitting.name).experiment)["/eval_total_loss"]]
    over_metrics = _metrics(vhttp, vertex.tunings.get(name=over.name).experiment)
    over_eval = [v for _, v in over_metrics["/eval_total_loss"]]
    assert len(fit_eval) == best and len(over_eval) == best + 4
    assert fit_eval[-1] < fit_eval[0] and min(fit_eval) < fit_eval[0] / 2
    assert over_eval[-1] > min(over_eval) + 0.3  # turns up after the best epoch
    assert over_eval.index(min(over_eval)) < best
    assert over_eval[best:] == sorted(over_eval[best:])  # and keeps rising
    accuracy = [v for _, v in over_metrics["/eval_fraction_of_correct_next_step_preds"]]
    assert accuracy[-1] < max(accuracy)
    # Train loss keeps falling (or plateaus) meanwhile: the gap is over-fitting.
    assert _epoch_means(over_metrics["/train_total_loss"])[-1] < 0.2
    assert over_eval == eval_curves(over.name, best + 4, SPE)[0]  # deterministic per job


def test_points_appear_as_the_job_progresses(vertex, vhttp, clock):
    job = _tune(vertex, epochs=4)
    clock.advance(STARTUP + 4.5 * STEP)  # 4 of 12 steps done
    running = vertex.tunings.get(name=job.name)
    assert running.state == types.JobState.JOB_STATE_RUNNING
    partial = _metrics(vhttp, running.experiment)
    assert [s for s, _ in partial["/train_total_loss"]] == [1, 2, 3, 4]
    assert [s for s, _ in partial["/eval_total_loss"]] == [3]
    tensorboard, run = _run_of(vhttp, running.experiment)
    listed = vhttp.get(f"/v1beta1/{run}/timeSeries").json()["tensorboardTimeSeries"]
    assert {ts["metadata"]["maxStep"] for ts in listed} == {"4", "3"}
    run_filter = f'parent_contexts:"{running.experiment}"'
    contexts = vhttp.get(f"/v1beta1/{LOC}/metadataStores/default/contexts", params={"filter": run_filter}).json()
    assert contexts["contexts"][0]["metadata"]["state"] == "RUNNING"
    clock.advance(60)
    complete = _metrics(vhttp, running.experiment)
    assert [s for s, _ in complete["/train_total_loss"]] == list(range(1, 13))
    assert complete["/train_total_loss"][:4] == partial["/train_total_loss"]


def test_series_exist_only_once_written(vertex, vhttp, clock):
    job = _tune(vertex, epochs=2)
    clock.advance(STARTUP + 0.5 * STEP)  # running, no step done yet
    running = vertex.tunings.get(name=job.name)
    assert running.state == types.JobState.JOB_STATE_RUNNING
    tensorboard, run = _run_of(vhttp, running.experiment)
    assert vhttp.get(f"/v1beta1/{run}/timeSeries").json() == {}
    assert vhttp.get(f"/v1beta1/{run}").status_code == 200


def test_read_one_series_and_thin_it(vertex, vhttp, clock):
    job = _tune(vertex, epochs=10, validation=False)
    clock.advance(60)
    tensorboard, run = _run_of(vhttp, vertex.tunings.get(name=job.name).experiment)
    listed = vhttp.get(f"/v1beta1/{run}/timeSeries", params={"filter": 'display_name = "/train_total_loss"'}).json()
    [series] = listed["tensorboardTimeSeries"]
    assert series["valueType"] == "SCALAR" and series["metadata"]["maxStep"] == "30"
    assert vhttp.get(f"/v1beta1/{series['name']}").json() == series
    full = vhttp.get(f"/v1beta1/{series['name']}:read", params={"maxDataPoints": -1}).json()["timeSeriesData"]
    assert full["tensorboardTimeSeriesId"] == series["name"].rsplit("/", 1)[1] and len(full["values"]) == 30
    assert full["values"][0]["wallTime"].endswith("Z") and full["values"][0]["step"] == "1"
    thin = vhttp.get(f"/v1beta1/{series['name']}:read", params={"maxDataPoints": 5}).json()["timeSeriesData"]
    assert [p["step"] for p in thin["values"]] == ["6", "12", "18", "24", "30"]
    default = vhttp.get(f"/v1beta1/{series['name']}:read").json()["timeSeriesData"]
    assert default == full  # fewer than 1000 points: all of them


def test_lists_and_filters(vertex, vhttp, clock):
    first, second = _tune(vertex, epochs=1), _tune(vertex, epochs=1, validation=False)
    clock.advance(60)
    experiments = [vertex.tunings.get(name=j.name).experiment for j in (first, second)]
    tensorboard, _ = _run_of(vhttp, experiments[0])
    assert _run_of(vhttp, experiments[1])[0] == tensorboard  # one TensorBoard per location backs all
    boards = vhttp.get(f"/v1beta1/{LOC}/tensorboards").json()["tensorboards"]
    assert [b["name"] for b in boards] == [tensorboard] and boards[0]["runCount"] == 2
    tb_experiments = vhttp.get(f"/v1beta1/{tensorboard}/experiments").json()["tensorboardExperiments"]
    assert [e["name"].rsplit("/", 1)[1] for e in tb_experiments] == [e.rsplit("/", 1)[1] for e in experiments]
    contexts = vhttp.get(f"/v1beta1/{LOC}/metadataStores/default/contexts").json()["contexts"]
    assert [c["schemaTitle"] for c in contexts] == ["system.Experiment", "system.ExperimentRun"] * 2
    only = f'schema_title = "system.Experiment" AND display_name = "{experiments[1].rsplit("/", 1)[1]}"'
    listed = vhttp.get(f"/v1beta1/{LOC}/metadataStores/default/contexts", params={"filter": only}).json()
    assert [c["name"] for c in listed["contexts"]] == [experiments[1]]
    by_board = f'metadata.backing_tensorboard_resource.string_value = "{tensorboard}"'
    listed = vhttp.get(f"/v1beta1/{LOC}/metadataStores/default/contexts", params={"filter": by_board}).json()
    assert [c["name"] for c in listed["contexts"]] == experiments
    page = vhttp.get(f"/v1beta1/{LOC}/metadataStores/default/contexts", params={"pageSize": 3}).json()
    assert len(page["contexts"]) == 3 and page["nextPageToken"]


@pytest.mark.parametrize(
    "path, params",
    [
        ("metadataStores/default/contexts", {"filter": 'schema_title = "a" OR schema_title = "b"'}),
        ("metadataStores/default/contexts", {"filter": 'owner = "me"'}),
        ("tuningJobs", {"filter": "labels.team"}),
    ],
)
def test_bad_filters_are_invalid_argument(vhttp, path, params):
    r = vhttp.get(f"/v1beta1/{LOC}/{path}", params=params)
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_unknown_chain_resources_are_404(vertex, vhttp, clock):
    job = _tune(vertex, epochs=1)
    clock.advance(60)
    tensorboard, run = _run_of(vhttp, vertex.tunings.get(name=job.name).experiment)
    for path in (
        f"{LOC}/metadataStores/default/contexts/nope",
        f"{LOC}/metadataStores/other",
        f"{LOC}/tensorboards/123",
        f"{tensorboard}/experiments/nope",
        f"{run}/timeSeries/123",
        f"{run}/timeSeries/123:read",
    ):
        r = vhttp.get(f"/v1beta1/{path}")
        assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND", path
    r = vhttp.get(f"/v1beta1/{tensorboard}:batchRead", params={"timeSeries": f"{LOC}/tensorboards/9/experiments/e"})
    assert r.status_code == 400 and "does not belong" in r.json()["error"]["message"]
    assert vhttp.get(f"/v1beta1/{tensorboard}:batchRead").status_code == 400


def test_job_cancelled_before_it_runs_has_no_experiment(vertex, vhttp, clock):
    job = _tune(vertex, epochs=1)
    vertex.tunings.cancel(name=job.name)
    clock.advance(60)
    done = vertex.tunings.get(name=job.name)
    assert done.state == types.JobState.JOB_STATE_CANCELLED and done.experiment is None and done.start_time is None
    assert vhttp.get(f"/v1beta1/{LOC}/metadataStores/default/contexts").json() == {}
