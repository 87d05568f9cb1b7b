"""A Vertex tuning job's training metrics: the Experiment/TensorBoard chain and its time series.

Each job gets (see ``../shared/reference/vertex-tuning-metrics.md``):

* the Experiment, a metadata Context ``tuning-experiment-{job id}`` whose ``metadata`` holds
  ``backing_tensorboard_resource``;
* one run: the run Context ``{experiment}-{run}`` (``system.ExperimentRun``, parent: the
  Experiment) and the TensorBoard run ``tensorboards/T/experiments/{experiment}/runs/{run}``;
* scalar time series per metric: ``/train_*`` at every training step, ``/eval_*`` at the end
  of every epoch when the job has a validation dataset.

Everything exists from the job's start on; a series shows the steps completed so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gemini_tuning.emulator.curves import accuracy_curve, eval_curves
from gemini_tuning.emulator.errors import not_found
from gemini_tuning.emulator.jobs import Job
from gemini_tuning.emulator.responder import count_tokens
from gemini_tuning.emulator.state import EmulatorState

TRAIN_METRICS = ("/train_total_loss", "/train_fraction_of_correct_next_step_preds", "/train_num_predictions")
EVAL_METRICS = ("/eval_total_loss", "/eval_fraction_of_correct_next_step_preds", "/eval_num_predictions")
METADATA_STORE = "default"


@dataclass
class MetricsChain:
    """The names of one job's Experiment, run and time series."""

    parent: str  # projects/{p}/locations/{l}
    tensorboard: str  # projects/{p}/locations/{l}/tensorboards/{t}
    experiment_id: str
    run_id: str
    series_ids: dict[str, str]  # metric display name -> time series id

    @property
    def store(self) -> str:
        return f"{self.parent}/metadataStores/{METADATA_STORE}"

    @property
    def experiment_context(self) -> str:
        return f"{self.store}/contexts/{self.experiment_id}"

    @property
    def run_context(self) -> str:
        return f"{self.store}/contexts/{self.experiment_id}-{self.run_id}"

    @property
    def tb_experiment(self) -> str:
        return f"{self.tensorboard}/experiments/{self.experiment_id}"

    @property
    def tb_run(self) -> str:
        return f"{self.tb_experiment}/runs/{self.run_id}"

    def series_name(self, metric: str) -> str:
        return f"{self.tb_run}/timeSeries/{self.series_ids[metric]}"

    def names(self) -> list[str]:
        """Every resource name of the chain (for the state's index)."""
        series = [self.series_name(m) for m in self.series_ids]
        return [self.experiment_context, self.run_context, self.tb_experiment, self.tb_run, *series]


def new_chain(state: EmulatorState, parent: str, job_id: str, with_eval: bool) -> MetricsChain:
    """Reserve the chain of a new job, creating the location's TensorBoard if needed (under the lock)."""
    tensorboard = state.tensorboards.get(parent)
    if tensorboard is None:
        tensorboard = state.tensorboards[parent] = f"{parent}/tensorboards/{state.numeric_id()}"
        state.tensorboard_created[tensorboard] = state.now()
    metrics = TRAIN_METRICS + (EVAL_METRICS if with_eval else ())
    series_ids = {metric: state.numeric_id() for metric in metrics}
    return MetricsChain(parent, tensorboard, f"tuning-experiment-{job_id}", f"tuning-job-{job_id}", series_ids)


def chain_of(job: Job) -> MetricsChain:
    return job.extra["metrics"]


def find_chain_job(state: EmulatorState, name: str, kind: str) -> Job:
    """The started job owning a chain resource ``name``; 404 naming ``kind`` otherwise."""
    job = state.jobs.get(state.metric_index.get(name, ""))
    if job is None or not job.started(state.now()):
        raise not_found(f"{kind} {name} not found.")
    return job


def full_series(job: Job) -> dict[str, list[tuple[int, float]]]:
    """Every point each metric will have once the job completes: {metric: [(step, value)]}."""
    cached = job.extra.get("series")
    if cached is not None:
        return cached
    spe, total = job.steps_per_epoch, job.total_steps
    batches = [job.examples[i : i + job.batch_size] for i in range(0, len(job.examples), job.batch_size)]
    predicted = [sum(count_tokens(output) for _, output in batch) for batch in batches]
    steps = range(1, total + 1)
    series = {
        "/train_total_loss": list(zip(steps, job.losses(), strict=True)),
        "/train_fraction_of_correct_next_step_preds": list(
            zip(steps, accuracy_curve(job.name, total, spe), strict=True)
        ),
        "/train_num_predictions": [(s, float(predicted[(s - 1) % spe])) for s in steps],
    }
    if "/eval_total_loss" in chain_of(job).series_ids:
        losses, accuracies = eval_curves(job.name, job.epoch_count, spe)
        eval_steps = [spe * epoch for epoch in range(1, job.epoch_count + 1)]
        series["/eval_total_loss"] = list(zip(eval_steps, losses, strict=True))
        series["/eval_fraction_of_correct_next_step_preds"] = list(zip(eval_steps, accuracies, strict=True))
        tokens = float(job.extra["validation_tokens"])
        series["/eval_num_predictions"] = [(s, tokens) for s in eval_steps]
    job.extra["series"] = series
    return series


def points(job: Job, metric: str, now: float) -> list[tuple[int, float]]:
    """The points of ``metric`` written so far (steps completed by ``now``)."""
    done = job.completed_steps(now)
    return [(step, value) for step, value in full_series(job)[metric] if step <= done]


def visible_metrics(job: Job, now: float) -> list[str]:
    """The metrics that have at least one point (a time series exists once written to)."""
    return [m for m in chain_of(job).series_ids if points(job, m, now)]


def run_state(job: Job, now: float) -> str:
    """The ExperimentRun state (an ``Execution.State`` name) of the job's run."""
    phase = job.phase(now)
    return {"succeeded": "COMPLETE", "failed": "FAILED", "cancelled": "CANCELLED"}.get(phase, "RUNNING")


def last_update(job: Job, now: float) -> float:
    """When the run last received a point (its start before the first)."""
    done = job.completed_steps(now)
    return job.step_time(done) if done else job.start_time


def summary(job: Job, now: float) -> dict[str, Any]:
    """The run's latest value per visible metric (used for the run context's ``_metrics``)."""
    return {m.lstrip("/"): points(job, m, now)[-1][1] for m in visible_metrics(job, now)}
