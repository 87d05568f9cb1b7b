"""Pass/fail gates over an evaluation summary. Checked for sanity before any request, applied after scoring."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from airflow.exceptions import AirflowException


class EvaluationGateFailed(AirflowException):
    """At least one gate failed; the message lists each one."""


def check_gate_arguments(
    metric_names: Collection[str],
    *,
    min_scores: Mapping[str, Any] | None,
    require_improvement: bool | Collection[str],
    baseline_model: str | None,
    max_failed_fraction: float,
) -> list[str]:
    """Validate the gate arguments; return the metrics that must improve over the baseline."""
    for name, threshold in (min_scores or {}).items():
        if name not in metric_names:
            raise ValueError(f"min_scores names {name!r}, which is not evaluated (metrics: {', '.join(metric_names)})")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValueError(f"min_scores[{name!r}] must be a number, got {threshold!r}")
    if not 0.0 <= float(max_failed_fraction) <= 1.0:
        raise ValueError(f"max_failed_fraction must be between 0 and 1, got {max_failed_fraction}")
    if not require_improvement:
        return []
    if not baseline_model:
        raise ValueError("require_improvement_over_baseline needs a baseline_model to compare with")
    if require_improvement is True:
        return list(metric_names)
    if isinstance(require_improvement, str):
        require_improvement = [require_improvement]
    unknown = [m for m in require_improvement if m not in metric_names]
    if unknown:
        raise ValueError(f"require_improvement_over_baseline names {unknown}, which are not evaluated")
    return list(require_improvement)


def apply_gates(
    summary: Mapping[str, Any],
    *,
    min_scores: Mapping[str, float] | None,
    improve: Collection[str],
    max_failed_fraction: float,
) -> dict[str, Any]:
    """``{"passed": bool, "reasons": [one message per failed gate]}``."""
    reasons = []
    if summary["failed_fraction"] > max_failed_fraction:
        reasons.append(
            f"{summary['failed']} of {summary['examples']} examples failed "
            f"(fraction {summary['failed_fraction']:.4f} > max_failed_fraction {max_failed_fraction})"
        )
    metrics = summary["metrics"]
    for name, threshold in (min_scores or {}).items():
        tuned = metrics[name]["tuned"]
        if tuned is None:
            reasons.append(f"{name}: no successful tuned-model answer to score (min_scores {threshold})")
        elif tuned < threshold:
            reasons.append(f"{name}: tuned score {tuned:.4f} < min_scores {threshold}")
    for name in improve:
        tuned, baseline = metrics[name]["tuned"], metrics[name]["baseline"]
        if tuned is None or baseline is None:
            reasons.append(f"{name}: cannot compare with the baseline (tuned {tuned}, baseline {baseline})")
        elif tuned <= baseline:
            reasons.append(f"{name}: tuned {tuned:.4f} does not improve on baseline {baseline:.4f}")
    return {"passed": not reasons, "reasons": reasons}
