"""Pass/fail gates over an evaluation. Checked for sanity before any request, applied after scoring."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from gemini_tuning.contracts.evaluation import GateCheck, GateResults, MetricComparison
from gemini_tuning.exceptions import InvalidInputError


@dataclass(frozen=True, slots=True)
class GateSpec:
    """The gates of one evaluation, checked against the evaluated metrics."""

    min_scores: dict[str, float]
    improve: tuple[str, ...]  # metrics whose tuned mean must beat the baseline's
    max_failed_fraction: float

    @property
    def primary_metric(self) -> str | None:
        """The gate metric: the first ``min_scores`` metric, else the first that must improve."""
        return next(iter(self.min_scores), None) or next(iter(self.improve), None)


def check_gate_arguments(
    metric_names: Collection[str],
    *,
    min_scores: Mapping[str, Any] | None,
    require_improvement: bool | str | Collection[str],
    baseline_model: str | None,
    max_failed_fraction: float,
) -> GateSpec:
    """Validate the gate arguments (an :class:`InvalidInputError` naming the first problem)."""
    for name, threshold in (min_scores or {}).items():
        if name not in metric_names:
            raise InvalidInputError(
                f"min_scores names {name!r}, which is not evaluated (metrics: {', '.join(metric_names)})"
            )
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise InvalidInputError(f"min_scores[{name!r}] must be a number, got {threshold!r}")
    if isinstance(max_failed_fraction, bool) or not isinstance(max_failed_fraction, (int, float)):
        raise InvalidInputError(f"max_failed_fraction must be a number between 0 and 1, got {max_failed_fraction!r}")
    if not 0.0 <= float(max_failed_fraction) <= 1.0:
        raise InvalidInputError(f"max_failed_fraction must be between 0 and 1, got {max_failed_fraction}")
    spec = dict(
        min_scores={k: float(v) for k, v in (min_scores or {}).items()}, max_failed_fraction=max_failed_fraction
    )
    if not require_improvement:
        return GateSpec(improve=(), **spec)
    if not baseline_model:
        raise InvalidInputError("require_improvement_over_baseline needs a baseline_model to compare with")
    if require_improvement is True:
        return GateSpec(improve=tuple(metric_names), **spec)
    improve = (require_improvement,) if isinstance(require_improvement, str) else tuple(require_improvement)
    unknown = [m for m in improve if m not in metric_names]
    if unknown:
        raise InvalidInputError(f"require_improvement_over_baseline names {unknown}, which are not evaluated")
    return GateSpec(improve=improve, **spec)


def apply_gates(spec: GateSpec, metrics: Mapping[str, MetricComparison], *, examples: int, failed: int) -> GateResults:
    """Every gate checked, in order: failed fraction, then min scores, then improvements."""
    fraction = failed / examples if examples else 0.0
    checks = [
        GateCheck(
            gate="max_failed_fraction",
            value=round(fraction, 6),
            threshold=spec.max_failed_fraction,
            passed=fraction <= spec.max_failed_fraction,
            message=f"{failed} of {examples} examples failed "
            f"(fraction {fraction:.4f} {'<=' if fraction <= spec.max_failed_fraction else '>'} "
            f"max_failed_fraction {spec.max_failed_fraction})",
        )
    ]
    for name, threshold in spec.min_scores.items():
        tuned = metrics[name].tuned
        if tuned is None:
            message, passed = f"{name}: no successful tuned-model answer to score (min_scores {threshold})", False
        else:
            passed = tuned >= threshold
            message = f"{name}: tuned score {tuned:.4f} {'>=' if passed else '<'} min_scores {threshold}"
        checks.append(
            GateCheck(gate="min_score", metric=name, value=tuned, threshold=threshold, passed=passed, message=message)
        )
    for name in spec.improve:
        tuned, baseline = metrics[name].tuned, metrics[name].baseline
        if tuned is None or baseline is None:
            message, passed = f"{name}: cannot compare with the baseline (tuned {tuned}, baseline {baseline})", False
        else:
            passed = tuned > baseline
            verb = "improves on" if passed else "does not improve on"
            message = f"{name}: tuned {tuned:.4f} {verb} baseline {baseline:.4f}"
        checks.append(
            GateCheck(
                gate="improvement_over_baseline",
                metric=name,
                value=tuned,
                threshold=baseline,
                passed=passed,
                message=message,
            )
        )
    reasons = [check.message for check in checks if not check.passed]
    return GateResults(passed=not reasons, reasons=reasons, checks=checks)
