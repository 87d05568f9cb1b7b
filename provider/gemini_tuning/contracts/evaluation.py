"""The evaluation summary: what ``EvaluateTunedModelOperator`` returns (XCom) and the UI plugin reads."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel

from gemini_tuning.contracts.base import XComContract

GateKind = Literal["min_score", "improvement_over_baseline", "max_failed_fraction"]


class MetricComparison(BaseModel):
    """One metric's mean for the tuned model and the baseline; ``None`` when that model answered nothing."""

    tuned: float | None = None
    baseline: float | None = None
    delta: float | None = None  # tuned - baseline


class GateCheck(BaseModel):
    """One gate, checked: what was measured against which bound, and the verdict."""

    gate: GateKind
    metric: str | None = None  # None for max_failed_fraction
    value: float | None = None  # the tuned mean, or the failed fraction
    threshold: float | None = None  # the min score, the baseline's mean, or max_failed_fraction
    passed: bool
    message: str


class GateResults(BaseModel):
    passed: bool
    reasons: list[str] = []  # the message of every failed check
    checks: list[GateCheck] = []


class FailedRequests(BaseModel):
    """Requests that failed after the client's retries, per model."""

    tuned: int = 0
    baseline: int = 0


class CheckpointResult(BaseModel):
    """One checkpoint of the tuned model, evaluated on the same examples."""

    checkpoint_id: str
    epoch: int | None = None
    step: int | None = None
    endpoint: str
    is_default: bool = False  # the endpoint the summary's ``model`` calls
    failed: int = 0  # examples whose request to this checkpoint failed
    metrics: dict[str, float | None] = {}  # mean per metric


class EvaluationSummary(XComContract):
    """The result of one evaluation (see docs/xcom.md)."""

    kind: ClassVar[str] = "evaluation summary"
    SCHEMA_VERSION: ClassVar[int] = 1

    model: str
    baseline_model: str | None = None
    job_name: str | None = None  # the tuning job, when ``model`` was a tuning summary
    dataset: str  # the URI evaluated, or "<inline>"
    prompt_template: str | None = None
    examples: int
    succeeded: int
    failed: int
    failed_fraction: float
    failed_requests: FailedRequests = FailedRequests()
    metrics: dict[str, MetricComparison]
    primary_metric: str  # the gate metric: ranks checkpoints and the report's worst examples
    gates: GateResults
    checkpoints: list[CheckpointResult] = []
    best_checkpoint: CheckpointResult | None = None
    results_uri: str | None = None
    report_uri: str | None = None
