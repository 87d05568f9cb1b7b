"""What each view shows, assembled from the queries, the live status and the per-example file.

The HTML pages and the JSON endpoints are both built from these objects, so they always agree.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gemini_tuning import DEFAULT_CONN_ID
from gemini_tuning.ui import charts, models, queries, records
from gemini_tuning.ui.live import StatusBoard, with_status
from gemini_tuning.ui.results import PAGE_SIZE, ResultsPage, read_page

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass
class JobsView:
    jobs: list[models.Job]
    total: int
    page: int
    page_size: int
    dag_id: str | None
    state: str | None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "pages": self.pages,
            "filters": {"dag_id": self.dag_id, "state": self.state},
            "jobs": [job.model_dump(mode="json") for job in self.jobs],
        }


def jobs_view(
    session: Session,
    board: StatusBoard,
    dag_ids: set[str],
    *,
    dag_id: str | None,
    state: str | None,
    page: int,
    page_size: int,
) -> JobsView:
    found = queries.jobs_page(
        session, dag_ids=dag_ids, dag_id=dag_id, state=state, limit=page_size, offset=(page - 1) * page_size
    )
    jobs = with_status(found.jobs, board, DEFAULT_CONN_ID)
    return JobsView(jobs, found.total, page, page_size, dag_id, state)


@dataclass
class TaskView:
    task: models.TaskRef | None
    job: models.Job | None = None
    evaluation: models.Evaluation | None = None
    dataset: models.DatasetStats | None = None
    results: ResultsPage | None = None
    message: str | None = None

    @property
    def kind(self) -> str:
        if self.job is not None:
            return "job"
        return "evaluation" if self.evaluation is not None else "none"

    @property
    def loss_chart(self) -> charts.Chart | None:
        if self.job is None or not (self.job.loss_curve or self.job.step_losses):
            return None
        job = self.job
        curve = job.loss_curve if job.terminal or not job.step_losses else job.loss_curve[:-1]  # epoch in progress
        return charts.loss_chart(curve, job.step_losses, job.recommended_epoch_count)

    def to_json(self) -> dict[str, Any]:
        dump = lambda model: None if model is None else model.model_dump(mode="json")  # noqa: E731
        return {
            "kind": self.kind,
            "task": dump(self.task),
            "message": self.message,
            "job": dump(self.job),
            "evaluation": dump(self.evaluation),
            "dataset": dump(self.dataset),
            "results": None
            if self.results is None
            else {
                "offset": self.results.offset,
                "limit": self.results.limit,
                "only_disagreements": self.results.only_disagreements,
                "metric": self.results.metric,
                "has_more": self.results.has_more,
                "error": self.results.error,
                "rows": [row.to_dict() for row in self.results.rows],
            },
        }


def task_view(
    session: Session,
    board: StatusBoard,
    ref: tuple[str, str, str, int],
    *,
    results_offset: int = 0,
    only_disagreements: bool = False,
) -> TaskView:
    found = queries.task_records(session, *ref)
    view = TaskView(task=found.task)
    if found.task is None:
        view.message = "There is no such task instance."
        return view
    if found.job is not None:
        view.job = with_status([found.job], board, DEFAULT_CONN_ID)[0]
        view.evaluation = found.evaluation
        view.dataset = records.dataset_for(view.job, found.datasets)
        return view
    if found.evaluation is not None:
        view.evaluation = found.evaluation
        view.dataset = records.dataset_for(records.job_for(found.evaluation, found.jobs_in_run), found.datasets)
        view.results = read_page(
            found.evaluation.results_uri,
            offset=results_offset,
            limit=PAGE_SIZE,
            only_disagreements=only_disagreements,
            metric=found.evaluation.headline,
        )
        return view
    view.message = _nothing_to_show(found.task)
    return view


def _nothing_to_show(task: models.TaskRef) -> str:
    if task.operator not in records.PROVIDER_OPERATORS:
        return (
            f"Nothing to show: {task.task_id} is not a Gemini tuning task. This tab shows the jobs and "
            "evaluations of this provider's create, sensor and evaluate tasks."
        )
    if task.operator in (records.VALIDATE_OPERATOR, records.UPLOAD_OPERATOR):
        return f"Nothing to show: {task.task_id} prepares a dataset; open the tuning or evaluation task of this run."
    return (
        f"Nothing to show yet: {task.task_id} ({task.state or 'not started'}) has not recorded a tuning job or an "
        "evaluation. A task that ran before this plugin was installed, or that failed before it submitted, has none."
    )


@dataclass
class HistoryRow:
    run_id: str
    run_after: datetime | None
    state: str | None
    job: models.Job | None
    evaluation: models.Evaluation | None

    @property
    def final_loss(self) -> float | None:
        return self.job.loss_curve[-1].mean_loss if self.job and self.job.loss_curve else None

    @property
    def epochs(self) -> int | None:
        if self.job is None:
            return None
        return self.job.epoch_count or (len(self.job.loss_curve) or None)

    @property
    def promoted(self) -> bool:
        """The evaluation's gates passed: the run's model is the one its DAG promotes."""
        return bool(self.evaluation and self.evaluation.passed)

    def to_json(self, metric: str | None) -> dict[str, Any]:
        score = self.evaluation.metrics.get(metric) if self.evaluation and metric else None
        return {
            "run_id": self.run_id,
            "run_after": self.run_after.isoformat() if self.run_after else None,
            "state": self.state,
            "job_name": self.job.job_name if self.job else None,
            "job_state": self.job.state if self.job else None,
            "model": (self.job.model if self.job else None) or (self.evaluation.model if self.evaluation else None),
            "tuned_score": score.tuned if score else None,
            "baseline_score": score.baseline if score else None,
            "final_loss": self.final_loss,
            "epochs": self.epochs,
            "recommended_epoch_count": self.job.recommended_epoch_count if self.job else None,
            "gates_passed": self.evaluation.passed if self.evaluation else None,
            "promoted": self.promoted,
        }


@dataclass
class HistoryView:
    dag_id: str
    rows: list[HistoryRow] = field(default_factory=list)

    @property
    def metric(self) -> str | None:
        """The headline metric most runs report."""
        names = Counter(row.evaluation.headline for row in self.rows if row.evaluation and row.evaluation.headline)
        return names.most_common(1)[0][0] if names else None

    @property
    def charts(self) -> list[charts.Chart]:
        return history_charts(self.rows, self.metric)

    def to_json(self) -> dict[str, Any]:
        metric = self.metric
        return {"dag_id": self.dag_id, "metric": metric, "runs": [row.to_json(metric) for row in self.rows]}


def history_view(session: Session, dag_id: str) -> HistoryView:
    view = HistoryView(dag_id)
    for run in queries.dag_history(session, dag_id):
        for job in run.jobs or [None]:
            evaluation = records.evaluation_for(job, run.evaluations) if job else (run.evaluations or [None])[0]
            view.rows.append(HistoryRow(run.run_id, run.run_after, run.state, job, evaluation))
    return view


def history_charts(rows: list[HistoryRow], metric: str | None) -> list[charts.Chart]:
    """Scores (tuned vs baseline, promoted runs marked), final loss and epochs, one x position per run."""
    days = {row.run_after.date() for row in rows if row.run_after}
    fmt = "%b %d" if len(days) == len(rows) else ("%H:%M" if len(days) == 1 else "%m-%d %H:%M")
    labels = {float(i): row.run_after.strftime(fmt) if row.run_after else f"#{i + 1}" for i, row in enumerate(rows)}

    def series(name: str, css: str, value, tip) -> charts.Series:
        values = [(float(i), value(row), tip(row)) for i, row in enumerate(rows) if value(row) is not None]
        return charts.Series(name, css, values)

    def score(role: str):
        def value(row: HistoryRow) -> float | None:
            metric_scores = row.evaluation.metrics.get(metric) if row.evaluation and metric else None
            return getattr(metric_scores, role) if metric_scores else None

        return value

    run = lambda row: row.run_id  # noqa: E731
    promoted = [(float(i), "promoted", "promoted") for i, row in enumerate(rows) if row.promoted]
    return [
        charts.line_chart(
            "history-scores",
            f"{metric or 'score'}: tuned vs baseline",
            [series("tuned", "tuned", score("tuned"), run), series("baseline", "baseline", score("baseline"), run)],
            x_labels=labels,
            vlines=promoted,
            y_floor=0,
            y_title=metric or "",
        ),
        *(
            charts.line_chart(css, title, [series(name, name, value, run)], x_labels=labels, y_floor=0)
            for css, title, name, value in (
                ("history-loss", "final training loss", "loss", lambda row: row.final_loss),
                ("history-epochs", "epochs used", "epochs", lambda row: row.epochs),
            )
        ),
    ]
