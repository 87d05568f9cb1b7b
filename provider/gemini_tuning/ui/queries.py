"""The metadata-DB reads behind each view: one bounded statement per page, no query per row.

Tuning jobs are the task instances with a ``tuning_job_name`` XCom (indexed by key). Everything a
page shows about them (URL, return value, the connection id the task rendered, the run's
evaluation) comes in the same statement through outer joins on the XCom table's task-instance
index. Rows are turned into models by :mod:`gemini_tuning.ui.records`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from gemini_tuning.links import JOB_NAME_KEY, JOB_URL_KEY
from gemini_tuning.ui import records
from gemini_tuning.ui.models import DatasetStats, Evaluation, Job, TaskRef

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Task-instance states per filter of the jobs page.
STATE_FILTERS: dict[str, tuple[str, ...]] = {
    "running": ("running", "deferred", "queued", "scheduled", "up_for_retry", "up_for_reschedule", "restarting"),
    "success": ("success",),
    "failed": ("failed", "upstream_failed"),
}
HISTORY_RUNS = 52


def _models():
    from airflow.models.dagrun import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    return DagRun, RenderedTaskInstanceFields, TaskInstance, XComModel


def _same_ti(left, right) -> Any:
    return and_(
        left.dag_id == right.dag_id,
        left.run_id == right.run_id,
        left.task_id == right.task_id,
        left.map_index == right.map_index,
    )


def _ti_columns(TI, XCom) -> tuple:
    """A task instance's columns and one of its XComs (key, value, time): the rows the tabs read."""
    ti = (TI.dag_id, TI.task_id, TI.map_index, TI.state, TI.start_date, TI.end_date, TI.operator)
    return (*ti, XCom.key, XCom.value, XCom.timestamp)


def _by_task(rows: list[Any], key, extras: tuple[str, ...] = ()) -> tuple[dict[tuple, TaskRef], dict[tuple, dict]]:
    """Rows of (task instance, XCom) grouped per task instance: its ref and ``{xcom key: value}``."""
    refs: dict[tuple, TaskRef] = {}
    values: dict[tuple, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        k = key(row)
        refs.setdefault(k, _ref(row))
        for name in extras:
            values[k][name] = values[k].get(name) or getattr(row, name)
        if row.key is not None:
            values[k][row.key] = row.value
            if row.key == JOB_NAME_KEY:
                values[k]["submitted_at"] = row.timestamp
    return refs, values


def _ref(row: Any, prefix: str = "") -> TaskRef:
    get = row._mapping.get
    return TaskRef(
        dag_id=get("dag_id"),
        run_id=get("run_id"),
        task_id=get(f"{prefix}task_id"),
        map_index=get(f"{prefix}map_index"),
        state=get(f"{prefix}state"),
        start_date=get(f"{prefix}start_date"),
        end_date=get(f"{prefix}end_date"),
        operator=get(f"{prefix}operator"),
    )


@dataclass
class JobsPage:
    total: int
    jobs: list[Job] = field(default_factory=list)


def jobs_page(
    session: Session,
    *,
    dag_ids: set[str],
    dag_id: str | None = None,
    state: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> JobsPage:
    """Tuning jobs newest first, only in ``dag_ids`` (the DAGs the user may read), with their run's evaluation."""
    _, Rendered, TI, XCom = _models()
    if dag_id is not None:
        dag_ids = dag_ids & {dag_id}
    if not dag_ids:
        return JobsPage(total=0)
    page = _page_of_jobs(dag_ids, state, limit, offset)
    url, ret, ev, ev_ti = aliased(XCom), aliased(XCom), aliased(XCom), aliased(TI)
    stmt = (
        select(
            page,
            url.value.label("job_url"),
            ret.value.label("returned"),
            Rendered.rendered_fields["gemini_conn_id"].as_string().label("conn_id"),
            *(getattr(ev_ti, c).label(f"ev_{c}") for c in ("task_id", "map_index", "state", "start_date", "end_date")),
            ev_ti.operator.label("ev_operator"),
            ev.value.label("evaluation"),
        )
        .outerjoin(url, and_(_same_ti(url, page.c), url.key == JOB_URL_KEY))
        .outerjoin(ret, and_(_same_ti(ret, page.c), ret.key == records.RETURN_KEY))
        .outerjoin(Rendered, _same_ti(Rendered, page.c))
        .outerjoin(
            ev_ti,
            and_(
                ev_ti.dag_id == page.c.dag_id,
                ev_ti.run_id == page.c.run_id,
                ev_ti.operator == records.EVALUATE_OPERATOR,
            ),
        )
        .outerjoin(ev, and_(_same_ti(ev, ev_ti), ev.key == records.RETURN_KEY))
        .order_by(page.c.submitted_at.desc(), page.c.dag_id, page.c.run_id, page.c.task_id, page.c.map_index)
    )
    return _group_jobs(session.execute(stmt).all())


def _page_of_jobs(dag_ids: set[str], state: str | None, limit: int, offset: int) -> Any:
    """The page's ``tuning_job_name`` XComs and task instances, with the count of all matches."""
    _, _, TI, XCom = _models()
    page = (
        select(
            XCom.dag_id,
            XCom.run_id,
            XCom.task_id,
            XCom.map_index,
            XCom.value.label("job_name"),
            XCom.timestamp.label("submitted_at"),
            TI.state,
            TI.start_date,
            TI.end_date,
            TI.operator,
            func.count().over().label("total"),
        )
        .join(TI, _same_ti(TI, XCom))
        .where(XCom.key == JOB_NAME_KEY, XCom.dag_id.in_(sorted(dag_ids)))
        .order_by(XCom.timestamp.desc(), XCom.dag_id, XCom.run_id, XCom.task_id, XCom.map_index)
        .limit(limit)
        .offset(offset)
    )
    if state in STATE_FILTERS:
        page = page.where(TI.state.in_(STATE_FILTERS[state]))
    return page.subquery("page")


def _group_jobs(rows: list[Any]) -> JobsPage:
    jobs: dict[tuple, Job] = {}
    evaluations: dict[tuple, list[Evaluation]] = defaultdict(list)
    total = 0
    for row in rows:
        total = row.total
        key = (row.dag_id, row.run_id, row.task_id, row.map_index)
        if key not in jobs:
            jobs[key] = records.job_from(
                _ref(row),
                name=row.job_name,
                url=row.job_url,
                returned=row.returned,
                submitted_at=row.submitted_at,
                conn_id=row.conn_id,
            )
        if row.ev_task_id is not None:
            evaluation = records.evaluation_from(_ref(row, "ev_"), row.evaluation)
            if evaluation is not None and evaluation not in evaluations[key]:
                evaluations[key].append(evaluation)
    page = JobsPage(total=total)
    for key, job in jobs.items():
        page.jobs.append(job.model_copy(update={"evaluation": records.evaluation_for(job, evaluations[key])}))
    return page


@dataclass
class TaskRecords:
    """One task instance and the provider's records in its run."""

    task: TaskRef | None
    job: Job | None = None
    evaluation: Evaluation | None = None
    datasets: list[DatasetStats] = field(default_factory=list)
    jobs_in_run: list[Job] = field(default_factory=list)


def task_records(session: Session, dag_id: str, run_id: str, task_id: str, map_index: int) -> TaskRecords:
    """The task instance, its XComs, and those of the provider's other tasks in the same run."""
    _, Rendered, TI, XCom = _models()
    target = and_(TI.task_id == task_id, TI.map_index == map_index)
    stmt = (
        select(
            TI.run_id,
            *_ti_columns(TI, XCom),
            Rendered.rendered_fields["gemini_conn_id"].as_string().label("conn_id"),
            Rendered.rendered_fields["job_name"].as_string().label("sensor_job_name"),
        )
        .outerjoin(XCom, and_(_same_ti(XCom, TI), XCom.key.in_(records.XCOM_KEYS)))
        .outerjoin(Rendered, and_(_same_ti(Rendered, TI), target))
        .where(
            TI.dag_id == dag_id,
            TI.run_id == run_id,
            or_(target, TI.operator.in_(records.PROVIDER_OPERATORS)),
        )
    )
    rows = session.execute(stmt).all()
    refs, by_task = _by_task(rows, lambda row: (row.task_id, row.map_index), ("conn_id", "sensor_job_name"))
    return _assemble_task(refs, by_task, (task_id, map_index))


def _assemble_task(refs: dict[tuple, TaskRef], xcoms: dict[tuple, dict[str, Any]], target: tuple) -> TaskRecords:
    result = TaskRecords(task=refs.get(target))
    evaluations = []
    for key, ref in refs.items():
        values = xcoms[key]
        returned = values.get(records.RETURN_KEY)
        is_sensor = ref.operator == records.SENSOR_OPERATOR
        if JOB_NAME_KEY in values or (is_sensor and (key == target or returned is not None)):
            job = records.job_from(
                ref,
                name=values.get(JOB_NAME_KEY),
                url=values.get(JOB_URL_KEY),
                returned=returned,
                submitted_at=values.get("submitted_at"),
                conn_id=values.get("conn_id"),
                sensor_job_name=values.get("sensor_job_name") if is_sensor else None,
            )
            result.jobs_in_run.append(job)
            if key == target:
                result.job = job
        elif ref.operator == records.EVALUATE_OPERATOR and (evaluation := records.evaluation_from(ref, returned)):
            evaluations.append(evaluation)
            if key == target:
                result.evaluation = evaluation
        elif ref.operator == records.VALIDATE_OPERATOR and (report := records.dataset_from(ref, returned)):
            result.datasets.append(report)
    if result.job is not None and result.evaluation is None:
        result.evaluation = records.evaluation_for(result.job, evaluations)
    return result


@dataclass
class HistoryRun:
    run_id: str
    run_after: Any
    state: str | None
    jobs: list[Job] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)


def dag_history(session: Session, dag_id: str, runs: int = HISTORY_RUNS) -> list[HistoryRun]:
    """The DAG's latest ``runs`` runs, oldest first, with their tuning jobs and evaluations."""
    DagRun, _, TI, XCom = _models()
    latest = (
        select(DagRun.run_id, DagRun.run_after, DagRun.state.label("run_state"))
        .where(DagRun.dag_id == dag_id)
        .order_by(DagRun.run_after.desc())
        .limit(runs)
        .subquery("latest")
    )
    stmt = (
        select(latest, *_ti_columns(TI, XCom))
        .join(TI, and_(TI.dag_id == dag_id, TI.run_id == latest.c.run_id))
        .join(XCom, and_(_same_ti(XCom, TI), XCom.key.in_((JOB_NAME_KEY, records.RETURN_KEY))))
        .where(or_(XCom.key == JOB_NAME_KEY, TI.operator.in_((records.CREATE_OPERATOR, records.EVALUATE_OPERATOR))))
        .order_by(latest.c.run_after, TI.task_id, TI.map_index)
    )
    rows = session.execute(stmt).all()
    history = {row.run_id: HistoryRun(row.run_id, row.run_after, row.run_state) for row in rows}
    refs, xcoms = _by_task(rows, lambda row: (row.run_id, row.task_id, row.map_index))
    for key, ref in refs.items():
        values, run = xcoms[key], history[key[0]]
        if JOB_NAME_KEY in values:
            run.jobs.append(
                records.job_from(
                    ref,
                    name=values[JOB_NAME_KEY],
                    returned=values.get(records.RETURN_KEY),
                    submitted_at=values.get("submitted_at"),
                )
            )
        elif evaluation := records.evaluation_from(ref, values.get(records.RETURN_KEY)):
            run.evaluations.append(evaluation)
    return list(history.values())
