"""Helpers for the UI plugin's tests and ``benchmarks/ui.py``: an auth manager that hides some DAGs,
and a writer of tuning records (DAG, run, task instance, XComs) straight into Airflow's metadata DB.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

BUNDLE = "ui-test-bundle"
LIMITED_USER = "limited"
HIDDEN_PREFIX = "secret"


class DagLimitedAuthManager(SimpleAuthManager):
    """Airflow's simple auth manager, except that the user ``limited`` may not touch DAGs named ``secret*``."""

    def is_authorized_dag(self, *, method, user, access_entity=None, details=None) -> bool:
        if user.username == LIMITED_USER and details is not None and (details.id or "").startswith(HIDDEN_PREFIX):
            return False
        return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)


def token(username: str, role: str = "viewer") -> str:
    """A JWT for ``username`` signed by the running auth manager."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=username, role=role))


# -- records ----------------------------------------------------------------------------------


@dataclass
class TaskRecord:
    """One task instance and the XComs it pushed."""

    dag_id: str
    run_id: str
    task_id: str
    operator: str = "CreateTuningJobOperator"
    state: str = "success"
    map_index: int = -1
    xcoms: dict[str, Any] = field(default_factory=dict)
    rendered: dict[str, Any] | None = None
    start: datetime | None = None
    minutes: float = 5.0


def summary(job_name: str, **overrides: Any) -> dict[str, Any]:
    """A tuning summary as ``CreateTuningJobOperator`` returns it."""
    value = {
        "job_name": job_name,
        "backend": "gemini_api",
        "state": "JOB_STATE_SUCCEEDED",
        "tuned_model": job_name,
        "endpoint": None,
        "model": job_name,
        "base_model": "models/gemini-1.5-flash-001-tuning",
        "hyperparameters": {"epoch_count": 5, "batch_size": 4, "learning_rate": 0.001},
        "example_count": 197,
        "training_dataset_uri": "file:///staging/abc/train.jsonl",
        "validation_dataset_uri": "file:///staging/abc/validation.jsonl",
        "duration_seconds": 300.0,
        "loss_curve": [{"epoch": e, "mean_loss": round(1.2 * 0.45**e + 0.05, 4)} for e in range(1, 6)],
        "recommended_epoch_count": 3,
        "plateau_threshold": 0.05,
        "prompt_template": "Classify: {ticket}",
        "console_url": f"https://aistudio.example/{job_name}",
        "loss_curve_uri": None,
    }
    value.update(overrides)
    return value


def evaluation(model: str, tuned: float = 0.9, baseline: float = 0.2, **overrides: Any) -> dict[str, Any]:
    """An evaluation summary as ``EvaluateTunedModelOperator`` returns it."""
    value = {
        "model": model,
        "baseline_model": "models/gemini-1.5-flash-001-tuning",
        "examples": 40,
        "succeeded": 40,
        "failed": 0,
        "failed_fraction": 0.0,
        "failed_requests": {"tuned": 0, "baseline": 0},
        "metrics": {
            "exact_match": {"tuned": tuned, "baseline": baseline, "delta": round(tuned - baseline, 6)},
            "rouge_l": {"tuned": tuned, "baseline": baseline + 0.1, "delta": round(tuned - baseline - 0.1, 6)},
        },
        "dataset": "file:///staging/abc/validation.jsonl",
        "prompt_template": "Classify: {ticket}",
        "gates": {"passed": tuned >= 0.8, "reasons": [] if tuned >= 0.8 else [f"exact_match: tuned {tuned} < 0.8"]},
        "results_uri": None,
        "report_uri": None,
    }
    value.update(overrides)
    return value


def validation_report(**overrides: Any) -> dict[str, Any]:
    """A validation report as ``ValidateTuningDatasetOperator`` returns it."""
    value = {
        "backend": "gemini_api",
        "ok": True,
        "format": "jsonl",
        "source": "s3://bucket/tickets.jsonl",
        "total": 240,
        "valid": 236,
        "rejected": 4,
        "duplicates": 2,
        "train_count": 190,
        "validation_count": 46,
        "training_dataset_uri": "file:///staging/abc/train.jsonl",
        "validation_dataset_uri": "file:///staging/abc/validation.jsonl",
        "max_rejected_fraction": 0.05,
        "warnings": ["2 duplicate example(s)"],
    }
    value.update(overrides)
    return value


def write_records(session, records: list[TaskRecord], *, base: datetime | None = None) -> None:
    """Insert DAGs, runs, task instances, rendered fields and XComs for ``records`` (core inserts, fast)."""
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.dagrun import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import insert, select

    base = base or datetime(2026, 1, 1, tzinfo=UTC)
    if session.scalar(select(DagBundleModel.name).where(DagBundleModel.name == BUNDLE)) is None:
        session.execute(insert(DagBundleModel.__table__), [{"name": BUNDLE, "active": True}])
    known = set(session.scalars(select(DagModel.dag_id)))
    dags = sorted({r.dag_id for r in records} - known)
    if dags:
        session.execute(
            insert(DagModel.__table__),
            [
                {
                    "dag_id": d,
                    "bundle_name": BUNDLE,
                    "is_paused": False,
                    "is_stale": False,
                    "timetable_type": "",
                    "max_active_tasks": 16,
                    "max_consecutive_failed_dag_runs": 0,
                    "has_task_concurrency_limits": False,
                }
                for d in dags
            ],
        )
    runs = sorted({(r.dag_id, r.run_id) for r in records})
    existing = {(d, r) for d, r in session.execute(select(DagRun.dag_id, DagRun.run_id))}
    new_runs = [(d, r) for d, r in runs if (d, r) not in existing]
    if new_runs:
        session.execute(
            insert(DagRun.__table__),
            [
                {"dag_id": d, "run_id": r, "run_type": "manual", "state": "success", "run_after": base + timedelta(i)}
                for i, (d, r) in enumerate(new_runs)
            ],
        )
    run_ids = {(d, r): i for i, d, r in session.execute(select(DagRun.id, DagRun.dag_id, DagRun.run_id))}
    tis, xcoms, rendered = [], [], []
    for i, r in enumerate(records):
        start = r.start or base + timedelta(minutes=i)
        end = start + timedelta(minutes=r.minutes) if r.state in ("success", "failed") else None
        tis.append(
            {
                "id": uuid.uuid4(),
                "dag_id": r.dag_id,
                "run_id": r.run_id,
                "task_id": r.task_id,
                "map_index": r.map_index,
                "state": r.state,
                "operator": r.operator,
                "custom_operator_name": r.operator,
                "start_date": start,
                "end_date": end,
                "try_number": 1,
                "pool": "default_pool",
                "pool_slots": 1,
            }
        )
        for key, value in r.xcoms.items():
            xcoms.append(
                {
                    "dag_run_id": run_ids[(r.dag_id, r.run_id)],
                    "dag_id": r.dag_id,
                    "run_id": r.run_id,
                    "task_id": r.task_id,
                    "map_index": r.map_index,
                    "key": key,
                    "value": json.dumps(value),
                    "timestamp": start + timedelta(seconds=1),
                }
            )
        if r.rendered is not None:
            rendered.append(
                {k: getattr(r, k) for k in ("dag_id", "run_id", "task_id", "map_index")}
                | {"rendered_fields": r.rendered}
            )
    session.execute(insert(TaskInstance.__table__), tis)
    if xcoms:
        session.execute(insert(XComModel.__table__), xcoms)
    if rendered:
        session.execute(insert(RenderedTaskInstanceFields.__table__), rendered)
    session.commit()


def clear_records(session) -> None:
    """Remove what :func:`write_records` wrote (every row of the test bundle's DAGs)."""
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import delete, select

    dags = select(DagModel.dag_id).where(DagModel.bundle_name == BUNDLE).scalar_subquery()
    for model in (XComModel, RenderedTaskInstanceFields, TaskInstance, DagRun, DagModel):
        session.execute(delete(model).where(model.dag_id.in_(dags)))
    session.commit()
