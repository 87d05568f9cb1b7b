"""A Vertex AI tuning job's training metrics, read from its Experiment's TensorBoard.

The chain (``../shared/reference/vertex-tuning-metrics.md``): ``TuningJob.experiment`` is an ML
Metadata Context whose ``metadata.backing_tensorboard_resource`` names the TensorBoard; the
experiment's runs are child Contexts ``{experiment}-{run}``; the TensorBoard run
``{tensorboard}/experiments/{experiment}/runs/{run}`` holds one scalar time series per metric.
Every request goes through google-genai's transport (:mod:`.genai_private`): same credentials,
base URL and retries as the SDK's own calls. google-cloud-aiplatform is not needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from gemini_tuning.backends.genai_private import rest
from gemini_tuning.models import MetricPoint

if TYPE_CHECKING:
    from google import genai

#: The time series the provider reads (display names without the leading ``/``).
METRICS = (
    "train_total_loss",
    "train_fraction_of_correct_next_step_preds",
    "train_num_predictions",
    "eval_total_loss",
    "eval_fraction_of_correct_next_step_preds",
    "eval_num_predictions",
)


def read_metrics(client: genai.Client, experiment: str) -> dict[str, list[MetricPoint]]:
    """Every known metric of the experiment's runs, by name, points in step order ({} when none yet)."""
    context = rest(client, "get", experiment)
    tensorboard = (context.get("metadata") or {}).get("backing_tensorboard_resource")
    if not tensorboard:
        return {}
    store, experiment_id = experiment.split("/contexts/")
    runs_filter = f'schema_title = "system.ExperimentRun" AND parent_contexts:"{experiment}"'
    series: dict[str, list[MetricPoint]] = {}
    for run in _list(client, f"{store}/contexts", "contexts", runs_filter):
        run_id = run["name"].rsplit("/", 1)[-1].removeprefix(f"{experiment_id}-")
        tb_run = f"{tensorboard}/experiments/{experiment_id}/runs/{run_id}"
        for time_series in _list(client, f"{tb_run}/timeSeries", "tensorboardTimeSeries"):
            metric = time_series.get("displayName", "").lstrip("/")
            if metric in METRICS:
                series.setdefault(metric, []).extend(_read(client, time_series["name"]))
    return {metric: sorted(points, key=lambda p: p.step) for metric, points in series.items()}


def _list(client: genai.Client, path: str, key: str, filter: str | None = None) -> list[dict]:
    """All items of a paged list."""
    items, token = [], None
    while True:
        query = f"{path}?pageSize=100" + (f"&filter={quote(filter)}" if filter else "")
        page = rest(client, "get", query + (f"&pageToken={quote(token)}" if token else ""))
        items += page.get(key) or []
        token = page.get("nextPageToken")
        if not token:
            return items


def _read(client: genai.Client, time_series: str) -> list[MetricPoint]:
    """Every point of a scalar time series (``maxDataPoints=-1``: none thinned out)."""
    data = rest(client, "get", f"{time_series}:read?maxDataPoints=-1").get("timeSeriesData") or {}
    return [
        MetricPoint(step=int(point["step"]), value=float(point["scalar"]["value"]))
        for point in data.get("values") or []
        if "scalar" in point and "step" in point
    ]
