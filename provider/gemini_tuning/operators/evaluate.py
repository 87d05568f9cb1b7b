"""``EvaluateTunedModelOperator``: score a tuned model (and optionally a baseline) on held-out examples, then gate.

A thin wrapper over :mod:`gemini_tuning.evaluation`; nothing heavy (google-genai, rouge-score, sacrebleu,
numpy) is imported at module import. See ``docs/evaluation.md``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from gemini_tuning import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Context

    from gemini_tuning.contracts.evaluation import EvaluationSummary
    from gemini_tuning.evaluation.plan import EvaluationPlan
    from gemini_tuning.evaluation.runner import Outcome
    from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

DEFAULT_METRICS = ("exact_match", "normalized_exact_match", "rouge_l", "chrf")
#: Failed requests logged one by one; the rest are counted in the summary and listed in results.jsonl.
FAILURES_LOGGED = 5


class EvaluateTunedModelOperator(BaseOperator):
    """Ask the tuned model (and ``baseline_model``) about every held-out example, score, report and gate.

    :param model: the model to call (``tunedModels/...`` or a Vertex endpoint), or the tuning summary of
        ``CreateTuningJobOperator`` / ``TuningJobSensor`` (its ``model`` is called; its ``prompt_template``
        is the default template).
    :param dataset: validation data: the validate report or upload result (``validation_dataset_uri``) --
        staged, already templated -- or a raw URI / inline list.
    :param prompt_template: applied to raw inputs only (defaults to the template recorded with the job);
        staged inputs already carry it. See the prompt-template rule in ``docs/evaluation.md``.
    :param metrics: built-in metric names: ``exact_match``, ``normalized_exact_match``, ``rouge_l``, ``chrf``.
    :param custom_metrics: ``{name: callable(prediction, reference) -> float}``, higher is better.
    :param baseline_model: a model to compare with, e.g. the base model.
    :param min_scores: gate: ``{metric: minimum tuned mean}``.
    :param require_improvement_over_baseline: gate: ``True`` (every metric) or a list of metric names whose
        tuned mean must be strictly above the baseline's.
    :param max_failed_fraction: gate: the largest allowed share of examples with a failed request.
    :param checkpoints: ``"all"`` (or a list of checkpoint ids) evaluates each checkpoint the tuning summary
        lists too, and reports the best under the gate metric (``best_checkpoint``). Vertex AI.
    :param max_concurrency: requests in flight at once (tuned, baseline and checkpoints together).
    :param generation_config: google-genai ``GenerateContentConfig`` fields, e.g. ``{"temperature": 0}``.
    :param max_examples: evaluate only the first N examples.
    :param output_uri: folder for ``results.jsonl`` and ``report.md`` (default: under the staging location,
        ``{[gemini_tuning] staging_uri}/evaluations/{dag_id}/{run_id}/{task_id}``).
    :param gemini_conn_id: a ``gemini_tuning`` connection.
    :return: the :class:`~gemini_tuning.contracts.evaluation.EvaluationSummary` (XCom), pushed even when a
        gate fails.
    """

    template_fields: Sequence[str] = (
        "model",
        "dataset",
        "prompt_template",
        "baseline_model",
        "min_scores",
        "generation_config",
        "checkpoints",
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
        checkpoints: str | Collection[str] | None = None,
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
        self.checkpoints = checkpoints
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
        from gemini_tuning.evaluation.scoring import build_summary, score_rows

        plan = self._plan()
        outcomes = asyncio.run(self._ask_models(plan))
        rows = score_rows(plan, outcomes)
        summary = build_summary(plan, rows)
        self._write_outputs(context, plan, summary, rows)
        self._log_summary(summary)
        self._enforce_gates(context, summary)
        return summary.to_xcom()

    def _plan(self) -> EvaluationPlan:
        """Everything checked before the first request (see :mod:`gemini_tuning.evaluation.plan`)."""
        from gemini_tuning.evaluation.plan import plan_evaluation

        plan = plan_evaluation(
            model=self.model,
            dataset=self.dataset,
            capabilities=self.hook.capabilities,
            prompt_template=self.prompt_template,
            metrics=self.metrics,
            custom_metrics=self.custom_metrics,
            baseline_model=self.baseline_model,
            min_scores=self.min_scores,
            require_improvement=self.require_improvement_over_baseline,
            max_failed_fraction=self.max_failed_fraction,
            generation_config=self.generation_config,
            max_examples=self.max_examples,
            checkpoints=self.checkpoints,
        )
        self.log.info(
            "Evaluating %s on %d of %d examples from %s (template %r, %s) with up to %d requests in flight",
            ", ".join(f"{role} {name}" for role, name in plan.requests().items()),
            len(plan.data.examples),
            plan.data.total,
            plan.data.source,
            plan.data.prompt_template,
            "applied here" if plan.data.template_applied else "already in the data",
            self.max_concurrency,
        )
        return plan

    async def _ask_models(self, plan: EvaluationPlan) -> dict[str, list[Outcome]]:
        from gemini_tuning.evaluation.runner import generate_all

        models = plan.requests()
        total = len(plan.data.examples) * len(models)
        step = max(1, total // 10)
        done = {"n": 0, "failed": 0}

        def progress(role: str, index: int, outcome: Outcome) -> None:
            done["n"] += 1
            if not outcome.ok:
                done["failed"] += 1
                if done["failed"] <= FAILURES_LOGGED:
                    line = plan.data.examples[index].line
                    self.log.warning("%s request for example %d failed after retries: %s", role, line, outcome.error)
                if done["failed"] == FAILURES_LOGGED:
                    self.log.warning("Failed requests after these %d are counted, not logged", FAILURES_LOGGED)
            if done["n"] % step == 0 or done["n"] == total:
                self.log.info("%d/%d requests done (%d failed)", done["n"], total, done["failed"])

        return await generate_all(
            self.hook,
            models,
            plan.data.examples,
            config=plan.config,
            max_concurrency=self.max_concurrency,
            on_done=progress,
        )

    def _write_outputs(
        self, context: Context, plan: EvaluationPlan, summary: EvaluationSummary, rows: list[dict[str, Any]]
    ) -> None:
        """``results.jsonl`` and ``report.md`` under ``output_uri`` or the staging location; URIs into ``summary``."""
        from gemini_tuning.datasets.storage import uri_of
        from gemini_tuning.evaluation.report import render_markdown
        from gemini_tuning.outputs import output_folder, task_output_uri

        folder = output_folder(self.output_uri or task_output_uri(context, "evaluations"))
        results, report = folder / "results.jsonl", folder / "report.md"
        summary.results_uri, summary.report_uri = uri_of(results), uri_of(report)
        encode = json.JSONEncoder(ensure_ascii=False).encode
        with results.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(encode(row) + "\n")
        report.write_text(render_markdown(summary, rows, min_scores=plan.gates.min_scores), encoding="utf-8")

    def _log_summary(self, summary: EvaluationSummary) -> None:
        self.log.info(
            "%d examples: %d succeeded, %d failed (%.2f%%)",
            summary.examples,
            summary.succeeded,
            summary.failed,
            100 * summary.failed_fraction,
        )
        for name, values in summary.metrics.items():
            self.log.info("%-24s tuned %s  baseline %s  delta %s", name, values.tuned, values.baseline, values.delta)
        if summary.best_checkpoint is not None:
            best = summary.best_checkpoint
            self.log.info(
                "Best checkpoint by %s: %s (epoch %s, step %s) %s",
                summary.primary_metric,
                best.checkpoint_id,
                best.epoch,
                best.step,
                best.metrics[summary.primary_metric],
            )
        self.log.info(
            "Gates %s. Results: %s  Report: %s",
            "passed" if summary.gates.passed else "FAILED",
            summary.results_uri,
            summary.report_uri,
        )

    def _enforce_gates(self, context: Context, summary: EvaluationSummary) -> None:
        """Fail the task (not retried) when a gate failed; the summary is pushed first, so it stays visible."""
        if summary.gates.passed:
            return
        from gemini_tuning.exceptions import GateFailed

        context["ti"].xcom_push(key="return_value", value=summary.to_xcom())
        raise GateFailed(
            f"Evaluation of {summary.model} failed {len(summary.gates.reasons)} gate(s):\n"
            + "\n".join(f"  - {reason}" for reason in summary.gates.reasons)
            + f"\nReport: {summary.report_uri}"
        )
