"""Score every answer and put an evaluation's numbers together: per-example rows and the summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gemini_tuning.contracts.evaluation import EvaluationSummary, FailedRequests, MetricComparison
from gemini_tuning.evaluation.checkpoints import best_checkpoint, checkpoint_result, checkpoint_role
from gemini_tuning.evaluation.gates import apply_gates
from gemini_tuning.evaluation.metrics import Metric, mean, rounded, score

#: The compared models whose answers are columns of every row (``tuned_output``, ``baseline_scores``...).
COMPARED_MODELS = ("tuned", "baseline")


def score_rows(plan: Any, outcomes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """One JSON-safe row per example, in input order. Failed requests get no scores (``None``), never a zero."""
    rows = []
    for example in plan.data.examples:
        row: dict[str, Any] = {
            "index": example.index,
            "line": example.line,
            "input": example.input,
            "expected": example.expected,
        }
        errors = []
        for role in COMPARED_MODELS:
            answer = _answer(outcomes.get(role), example, plan.metrics, role)
            row.update({f"{role}_{key}": value for key, value in answer.items()})
            if answer["error"] is not None:
                errors.append(f"{role}: {answer['error']}")
        row["failed"] = bool(errors)
        row["error"] = "; ".join(errors) or None
        if plan.checkpoints:
            row["checkpoints"] = {
                c.checkpoint_id: _answer(
                    outcomes[checkpoint_role(c, plan.model.name)], example, plan.metrics, c.checkpoint_id
                )
                for c in plan.checkpoints
            }
        rows.append(row)
    return rows


def _answer(outcomes: Sequence[Any] | None, example: Any, metrics: Mapping[str, Metric], who: str) -> dict[str, Any]:
    if outcomes is None:  # that model was not asked
        return {"output": None, "scores": None, "error": None}
    outcome = outcomes[example.index]
    scores = None
    if outcome.ok:
        scores = score(metrics, outcome.output, example.expected, where=f"example {example.line} ({who} answer)")
    return {"output": outcome.output, "scores": scores, "error": outcome.error}


def build_summary(plan: Any, rows: Sequence[Mapping[str, Any]]) -> EvaluationSummary:
    """Counts, per-metric means (over the examples each model answered), gates and checkpoints."""
    names = list(plan.metrics)
    examples = len(rows)
    failed = sum(1 for row in rows if row["failed"])
    metrics = {name: _compare(rows, name, with_baseline=plan.baseline_model is not None) for name in names}
    checkpoints = [checkpoint_result(c, rows, names, plan.model.name) for c in plan.checkpoints]
    return EvaluationSummary(
        model=plan.model.name,
        baseline_model=plan.baseline_model,
        job_name=plan.model.job_name,
        dataset=plan.data.source,
        prompt_template=plan.data.prompt_template,
        examples=examples,
        succeeded=examples - failed,
        failed=failed,
        failed_fraction=round(failed / examples, 6) if examples else 0.0,
        failed_requests=FailedRequests(
            **{role: sum(1 for row in rows if row[f"{role}_error"] is not None) for role in COMPARED_MODELS}
        ),
        metrics=metrics,
        primary_metric=plan.primary_metric,
        gates=apply_gates(plan.gates, metrics, examples=examples, failed=failed),
        checkpoints=checkpoints,
        best_checkpoint=best_checkpoint(checkpoints, plan.primary_metric),
    )


def _compare(rows: Sequence[Mapping[str, Any]], name: str, *, with_baseline: bool) -> MetricComparison:
    tuned = mean(row["tuned_scores"][name] for row in rows if row["tuned_scores"] is not None)
    baseline = None
    if with_baseline:
        baseline = mean(row["baseline_scores"][name] for row in rows if row["baseline_scores"] is not None)
    delta = tuned - baseline if tuned is not None and baseline is not None else None
    return MetricComparison(tuned=rounded(tuned), baseline=rounded(baseline), delta=rounded(delta))
