"""What the UI shows, read from the XCom values this provider's tasks write.

This is the one module that knows those shapes: the XCom keys, the operators' names and the fields
of the tuning summary, the tuning job, the evaluation summary and the validation report
(``docs/xcom.md``). A change to an XCom contract touches this module only; the queries, the pages
and the JSON work on the models of :mod:`gemini_tuning.ui.models`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

from gemini_tuning.contracts.base import XComContract
from gemini_tuning.contracts.dataset import ValidationReport
from gemini_tuning.contracts.evaluation import EvaluationSummary
from gemini_tuning.contracts.tuning import TuningSummary
from gemini_tuning.exceptions import GeminiTuningError
from gemini_tuning.links import JOB_NAME_KEY, JOB_URL_KEY
from gemini_tuning.ui.models import DatasetStats, Evaluation, Job, LossPoint, Metric, TaskRef

RETURN_KEY = "return_value"
XCOM_KEYS = (JOB_NAME_KEY, JOB_URL_KEY, RETURN_KEY)

# Airflow records each task instance's operator class name; these are this provider's.
C = TypeVar("C", bound=XComContract)

CREATE_OPERATOR = "CreateTuningJobOperator"
SENSOR_OPERATOR = "TuningJobSensor"
EVALUATE_OPERATOR = "EvaluateTunedModelOperator"
VALIDATE_OPERATOR = "ValidateTuningDatasetOperator"
UPLOAD_OPERATOR = "UploadTuningDatasetOperator"
PROVIDER_OPERATORS = (CREATE_OPERATOR, SENSOR_OPERATOR, EVALUATE_OPERATOR, VALIDATE_OPERATOR, UPLOAD_OPERATOR)


def decode(value: Any) -> Any:
    """An XCom value as stored: JSON text (``XCom.serialize_value``) or already-decoded JSON."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _mapping(value: Any) -> dict[str, Any] | None:
    value = decode(value)
    return value if isinstance(value, dict) else None


def _contract(cls: type[C], returned: Any) -> C | None:
    """A task's return value read as the XCom contract ``cls``; ``None`` when it is not one."""
    value = _mapping(returned)
    if value is None:
        return None
    try:
        return cls.parse(value, argument="return_value")
    except GeminiTuningError:
        return None


def _text(value: Any) -> str | None:
    value = decode(value)
    return value if isinstance(value, str) and value else None


def job_from(
    task: TaskRef,
    *,
    name: Any = None,
    url: Any = None,
    returned: Any = None,
    submitted_at: datetime | None = None,
    conn_id: str | None = None,
    sensor_job_name: str | None = None,
) -> Job:
    """A job from a create task's (or a sensor's) XComs; ``returned`` is its return value, if any."""
    job = Job(
        task=task,
        job_name=_text(name) or sensor_job_name,
        job_url=_text(url),
        submitted_at=submitted_at,
        conn_id=conn_id,
    )
    value = _mapping(returned)
    if value is None:
        return job
    if "job_name" in value:  # a TuningSummary: the create operator's and the sensor's result
        try:
            return _with_summary(job, TuningSummary.parse(value, argument="return_value"))
        except GeminiTuningError as exc:
            return job.model_copy(update={"note": f"The task's result could not be read: {exc}"})
    if "name" in value:  # a sensor of provider 0.1 returned the job itself
        return apply_service_job(job, value, checked_at=task.end_date, source="summary")
    return job


def _with_summary(job: Job, summary: TuningSummary) -> Job:
    curve = [LossPoint(epoch=point.epoch, mean_loss=point.mean_loss) for point in summary.loss_curve]
    return job.model_copy(
        update={
            "job_name": summary.job_name,
            "job_url": job.job_url or summary.console_url,
            "backend": summary.backend,
            "state": summary.state,
            "base_model": summary.base_model,
            "tuned_model": summary.tuned_model,
            "model": summary.model or summary.tuned_model,
            "hyperparameters": summary.hyperparameters,
            "epoch_count": summary.hyperparameters.get("epoch_count"),
            "epoch": curve[-1].epoch if curve else None,
            "example_count": summary.example_count,
            "training_dataset_uri": summary.training_dataset_uri,
            "validation_dataset_uri": summary.validation_dataset_uri,
            "prompt_template": summary.prompt_template,
            "loss_curve": curve,
            "recommended_epoch_count": summary.recommended_epoch_count,
            "finished_at": job.task.end_date,
            "source": "summary",
        }
    )


def apply_service_job(job: Job, remote: Any, *, checked_at: datetime | None, source: str = "service") -> Job:
    """``job`` updated with what the service says (a hook ``TuningJob`` or its JSON form)."""
    from gemini_tuning.loss import per_epoch_loss
    from gemini_tuning.models import TuningJob

    remote = remote if isinstance(remote, TuningJob) else TuningJob.model_validate(remote)
    steps = [
        LossPoint(epoch=s.epoch, step=s.step, mean_loss=s.mean_loss)
        for s in remote.snapshots
        if s.mean_loss is not None
    ]
    curve = [LossPoint.model_validate(point) for point in per_epoch_loss(remote.snapshots)]
    completed = remote.completed_percent
    if completed is None and remote.completed_steps is not None and remote.total_steps:
        completed = 100.0 * remote.completed_steps / remote.total_steps
    hyperparameters = remote.hyperparameters.model_dump(exclude_none=True)
    return job.model_copy(
        update={
            "job_name": remote.name,
            "job_url": job.job_url or remote.console_url,
            "backend": remote.backend,
            "display_name": remote.display_name,
            "state": remote.state.value,
            "base_model": remote.base_model or job.base_model,
            "tuned_model": remote.tuned_model or job.tuned_model,
            "model": remote.endpoint or remote.tuned_model or job.model,
            "completed_percent": completed,
            "hyperparameters": hyperparameters or job.hyperparameters,
            "epoch_count": remote.hyperparameters.epoch_count or job.epoch_count,
            "epoch": steps[-1].epoch if steps else job.epoch,
            "example_count": remote.example_count or job.example_count,
            "step_losses": steps,
            "loss_curve": curve or job.loss_curve,
            "error": remote.error_message,
            "submitted_at": job.submitted_at or _time(remote.create_time),
            "finished_at": _time(remote.end_time) or job.finished_at,
            "source": source,
            "checked_at": checked_at,
        }
    )


def _time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def evaluation_from(task: TaskRef, returned: Any) -> Evaluation | None:
    """An evaluate task's ``EvaluationSummary``; ``None`` when there is none this provider can read."""
    summary = _contract(EvaluationSummary, returned)
    if summary is None:
        return None
    metrics = {name: Metric.model_validate(scores.model_dump()) for name, scores in summary.metrics.items()}
    return Evaluation(
        task=task,
        model=summary.model,
        baseline_model=summary.baseline_model,
        job_name=summary.job_name,
        examples=summary.examples,
        succeeded=summary.succeeded,
        failed=summary.failed,
        metrics=metrics,
        headline=summary.primary_metric if summary.primary_metric in metrics else next(iter(metrics), None),
        passed=summary.gates.passed,
        reasons=summary.gates.reasons,
        dataset=summary.dataset,
        prompt_template=summary.prompt_template,
        results_uri=summary.results_uri,
        report_uri=summary.report_uri,
    )


def dataset_from(task: TaskRef, returned: Any) -> DatasetStats | None:
    """A validate task's ``ValidationReport``; ``None`` when there is none this provider can read."""
    report = _contract(ValidationReport, returned)
    if report is None:
        return None
    return DatasetStats(
        task=task,
        source=report.source,
        total=report.total,
        valid=report.valid,
        rejected=report.rejected,
        duplicates=report.duplicates,
        train_count=report.train_count,
        validation_count=report.validation_count,
        training_dataset_uri=report.training_dataset_uri,
        rejects_uri=report.rejects_uri,
        prompt_template=report.prompt_template,
        warnings=report.warnings,
    )


def evaluation_for(job: Job, evaluations: list[Evaluation]) -> Evaluation | None:
    """The evaluation of ``job``'s model in the same run; the only one when the run has just one."""
    names = {job.model, job.tuned_model} - {None}
    for evaluation in evaluations:
        if (evaluation.job_name and evaluation.job_name == job.job_name) or evaluation.model in names:
            return evaluation
    return evaluations[0] if len(evaluations) == 1 else None


def job_for(evaluation: Evaluation, jobs: list[Job]) -> Job | None:
    """The job whose model ``evaluation`` scored; the only one when the run has just one."""
    for job in jobs:
        if (evaluation.job_name and evaluation.job_name == job.job_name) or evaluation.model in {
            job.model,
            job.tuned_model,
        } - {None}:
            return job
    return jobs[0] if len(jobs) == 1 else None


def dataset_for(job: Job | None, reports: list[DatasetStats]) -> DatasetStats | None:
    """The validation report whose staged training file the job tuned on; the only one otherwise."""
    if job is not None and job.training_dataset_uri:
        for report in reports:
            if report.training_dataset_uri == job.training_dataset_uri:
                return report
    return reports[0] if len(reports) == 1 else None
