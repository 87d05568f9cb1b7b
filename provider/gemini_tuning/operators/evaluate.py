"""``EvaluateTunedModelOperator``: score a tuned model (and optionally a baseline) on held-out examples, then gate.

A thin wrapper over :mod:`gemini_tuning.evaluation`; nothing heavy (google-genai, rouge-score, sacrebleu,
numpy) is imported at module import. See ``docs/evaluation.md``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Collection, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from gemini_tuning import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Context

    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

DEFAULT_METRICS = ("exact_match", "normalized_exact_match", "rouge_l", "chrf")


class EvaluateTunedModelOperator(BaseOperator):
    """Ask the tuned model (and ``baseline_model``) about every held-out example, score, report and gate.

    :param model: the model to call (``tunedModels/...`` or a Vertex endpoint), or the tuning operator's
        summary dict (its ``model`` is called; its ``prompt_template`` is the default template).
    :param dataset: validation data: the validate report (``validation_uri``), the upload result or tuning
        summary (``validation_dataset_uri``) -- staged, already templated -- or a raw URI / inline list.
    :param prompt_template: applied to raw inputs only (defaults to the template recorded with the job);
        staged inputs already carry it. See the prompt-template rule in ``docs/evaluation.md``.
    :param metrics: built-in metric names: ``exact_match``, ``normalized_exact_match``, ``rouge_l``, ``chrf``.
    :param custom_metrics: ``{name: callable(prediction, reference) -> float}``, higher is better.
    :param baseline_model: a model to compare with, e.g. the base model.
    :param min_scores: gate: ``{metric: minimum tuned mean}``.
    :param require_improvement_over_baseline: gate: ``True`` (every metric) or a list of metric names whose
        tuned mean must be strictly above the baseline's.
    :param max_failed_fraction: gate: the largest allowed share of examples with a failed request.
    :param max_concurrency: requests in flight at once (tuned and baseline together).
    :param generation_config: google-genai ``GenerateContentConfig`` fields, e.g. ``{"temperature": 0}``.
    :param max_examples: evaluate only the first N examples.
    :param output_uri: directory for ``results.jsonl`` and ``report.md`` (default: an ``evaluations/``
        folder next to the dataset's staged file, or under the staging URI for inline data).
    :param gemini_conn_id: a ``gemini_tuning`` connection.
    :return: the summary dict (XCom), pushed even when a gate fails.
    """

    template_fields: Sequence[str] = (
        "model",
        "dataset",
        "prompt_template",
        "baseline_model",
        "min_scores",
        "generation_config",
        "output_uri",
        "gemini_conn_id",
    )
    template_fields_renderers = {"model": "json", "dataset": "json", "min_scores": "json", "generation_config": "json"}
    ui_color = "#fce8e6"

    def __init__(
        self,
        *,
        model: str | dict[str, Any],
        dataset: Any,
        prompt_template: str | None = None,
        metrics: Sequence[str] = DEFAULT_METRICS,
        custom_metrics: dict[str, Callable[[str, str], float]] | None = None,
        baseline_model: str | None = None,
        min_scores: dict[str, float] | None = None,
        require_improvement_over_baseline: bool | Collection[str] = False,
        max_failed_fraction: float = 0.0,
        max_concurrency: int = 16,
        generation_config: dict[str, Any] | None = None,
        max_examples: int | None = None,
        output_uri: str | None = None,
        gemini_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.dataset = dataset
        self.prompt_template = prompt_template
        self.metrics = tuple(metrics)
        self.custom_metrics = custom_metrics
        self.baseline_model = baseline_model
        self.min_scores = min_scores
        self.require_improvement_over_baseline = require_improvement_over_baseline
        self.max_failed_fraction = max_failed_fraction
        self.max_concurrency = max_concurrency
        self.generation_config = generation_config
        self.max_examples = max_examples
        self.output_uri = output_uri
        self.gemini_conn_id = gemini_conn_id

    @cached_property
    def hook(self) -> GeminiTuningHook:
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        return GeminiTuningHook(gemini_conn_id=self.gemini_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        from gemini_tuning.evaluation.examples import resolve_dataset
        from gemini_tuning.evaluation.gates import EvaluationGateFailed, apply_gates, check_gate_arguments
        from gemini_tuning.evaluation.limits import check_tuned_model_request
        from gemini_tuning.evaluation.metrics import resolve_metrics
        from gemini_tuning.evaluation.report import build_rows, render_markdown, summarize

        model_info = _as_dict(self.model)
        model = model_info.get("model") if model_info is not None else self.model
        if not model or not isinstance(model, str):
            raise ValueError(f"model must be a model name or the tuning operator's summary, got {self.model!r}")
        baseline = self.baseline_model or None
        min_scores = _as_dict(self.min_scores) or {}
        config = _as_dict(self.generation_config)

        # Everything is checked before the first request.
        metrics = resolve_metrics(self.metrics, self.custom_metrics)
        improve = check_gate_arguments(
            list(metrics),
            min_scores=min_scores,
            require_improvement=self.require_improvement_over_baseline,
            baseline_model=baseline,
            max_failed_fraction=self.max_failed_fraction,
        )
        data = resolve_dataset(
            self.dataset, prompt_template=self.prompt_template, model_info=model_info, max_examples=self.max_examples
        )
        backend = self.hook.backend_name
        check_tuned_model_request(data.examples, config, backend, model=model, source=data.source)
        self.log.info(
            "Evaluating %s%s on %d examples from %s (template %s, %s) with up to %d requests in flight",
            model,
            f" against {baseline}" if baseline else "",
            len(data.examples),
            data.source,
            repr(data.prompt_template),
            "applied here" if data.template_applied else "already in the data",
            self.max_concurrency,
        )

        models = {"tuned": model, **({"baseline": baseline} if baseline else {})}
        outcomes = asyncio.run(self._generate(models, data.examples, config))
        rows = build_rows(data.examples, outcomes, metrics)
        summary = summarize(rows, list(metrics), model=model, baseline_model=baseline)
        summary["dataset"] = data.source
        summary["prompt_template"] = data.prompt_template
        summary["gates"] = apply_gates(
            summary, min_scores=min_scores, improve=improve, max_failed_fraction=self.max_failed_fraction
        )

        out_dir = self._output_dir(context, data.uri)
        results_path, report_path = out_dir / "results.jsonl", out_dir / "report.md"
        summary["results_uri"], summary["report_uri"] = str(results_path), str(report_path)
        _write_jsonl(results_path, rows)
        report_path.write_text(
            render_markdown(
                summary, rows, dataset=data.source, prompt_template=data.prompt_template, min_scores=min_scores
            )
        )
        self._log_summary(summary)

        if not summary["gates"]["passed"]:
            context["ti"].xcom_push(key="return_value", value=summary)  # visible although the task fails
            raise EvaluationGateFailed(
                f"Evaluation of {model} failed {len(summary['gates']['reasons'])} gate(s):\n"
                + "\n".join(f"  - {reason}" for reason in summary["gates"]["reasons"])
                + f"\nReport: {summary['report_uri']}"
            )
        return summary

    async def _generate(self, models: dict[str, str], examples: list, config: dict | None) -> dict:
        from gemini_tuning.evaluation.runner import generate_all

        total = len(examples) * len(models)
        step = max(1, total // 10)
        done = {"n": 0, "failed": 0}

        def progress(role: str, index: int, outcome: Any) -> None:
            done["n"] += 1
            if not outcome.ok:
                done["failed"] += 1
                self.log.warning("%s request for example %d failed after retries: %s", role, index + 1, outcome.error)
            if done["n"] % step == 0 or done["n"] == total:
                self.log.info("%d/%d requests done (%d failed)", done["n"], total, done["failed"])

        return await generate_all(
            self.hook, models, examples, config=config, max_concurrency=self.max_concurrency, on_done=progress
        )

    def _output_dir(self, context: Context, dataset_uri: str | None) -> Any:
        from airflow.sdk import ObjectStoragePath

        if self.output_uri:
            base = _uri(self.output_uri)
        else:
            if dataset_uri:
                parent = dataset_uri.rstrip("/").rsplit("/", 1)[0]
            else:
                from gemini_tuning.operators.dataset import default_staging_uri

                parent = default_staging_uri().rstrip("/")
            base = _uri(parent) + "/evaluations"
            ti = context.get("ti")
            dag_run = context.get("dag_run")
            parts = [
                getattr(ti, "dag_id", None) or "adhoc",
                getattr(dag_run, "run_id", None) or context.get("run_id") or "run",
                self.task_id + (f"-{ti.map_index}" if ti is not None and getattr(ti, "map_index", -1) >= 0 else ""),
            ]
            base += "/" + "/".join(_slug(part) for part in parts)
        if base.startswith("memory://"):
            from gemini_tuning.datasets.storage import as_path

            as_path(base)  # attaches the memory filesystem
        path = ObjectStoragePath(base)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except Exception:  # object stores without directories
            pass
        return path

    def _log_summary(self, summary: dict[str, Any]) -> None:
        self.log.info(
            "%d examples: %d succeeded, %d failed (%.2f%%)",
            summary["examples"],
            summary["succeeded"],
            summary["failed"],
            100 * summary["failed_fraction"],
        )
        for name, values in summary["metrics"].items():
            self.log.info(
                "%-24s tuned %s  baseline %s  delta %s", name, values["tuned"], values["baseline"], values["delta"]
            )
        self.log.info(
            "Gates %s. Results: %s  Report: %s",
            "passed" if summary["gates"]["passed"] else "FAILED",
            summary["results_uri"],
            summary["report_uri"],
        )


def _as_dict(value: Any) -> dict[str, Any] | None:
    """A dict argument, also when it arrives as JSON text (rendered templates); ``None`` for anything else."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else None
    return None


def _uri(location: str) -> str:
    """``file://`` URI for a plain local path; other URIs unchanged."""
    if "://" in location:
        return location.rstrip("/")
    from pathlib import Path

    return Path(location).expanduser().absolute().as_uri()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "_"


def _write_jsonl(path: Any, rows: list[dict[str, Any]]) -> None:
    encode = json.JSONEncoder(ensure_ascii=False).encode
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(encode(row) + "\n")
